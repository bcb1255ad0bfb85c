//! A small bar chart of sign-ins and failures, rendered on the server as
//! SVG: no script, no CDN, styled by the stylesheet (the pages' CSP allows
//! no inline styles).

use std::fmt::Write as _;

use core_auth::admin::dashboard::Bucket;

const W: i64 = 720;
const H: i64 = 150;
const TOP: i64 = 14;
const BOTTOM: i64 = 20;

fn label(t: i64, hourly: bool) -> String {
    let fmt = if hourly {
        time::macros::format_description!("[hour]:00")
    } else {
        time::macros::format_description!("[day] [month repr:short]")
    };
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&fmt).ok())
        .unwrap_or_default()
}

/// Stacked bars (successes under failures), one per bucket, with the
/// largest total and a few time labels. `hourly` picks the label format.
pub fn svg(buckets: &[Bucket], hourly: bool, title: &str) -> String {
    let n = buckets.len().max(1) as i64;
    let max = buckets
        .iter()
        .map(|b| b.success + b.failure)
        .max()
        .unwrap_or(0)
        .max(1);
    let plot = H - TOP - BOTTOM;
    let slot = W / n;
    let bar = (slot * 3 / 4).max(1);
    let (ok, bad) = buckets
        .iter()
        .fold((0, 0), |(o, b), x| (o + x.success, b + x.failure));
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{title}: {ok} sign-ins, {bad} failures" xmlns="http://www.w3.org/2000/svg">"#
    );
    let _ = write!(s, r#"<text x="0" y="10">{max}</text>"#);
    let _ = write!(
        s,
        r#"<line class="axis" x1="0" y1="{y}" x2="{W}" y2="{y}"/>"#,
        y = H - BOTTOM
    );
    for (i, b) in buckets.iter().enumerate() {
        let i = i as i64;
        let x = i * slot + (slot - bar) / 2;
        let h_ok = b.success * plot / max;
        let h_bad = b.failure * plot / max;
        let base = H - BOTTOM;
        let when = label(b.start, hourly);
        let _ = write!(
            s,
            r#"<g><title>{when}: {} sign-ins, {} failures</title>"#,
            b.success, b.failure
        );
        if h_ok > 0 {
            let _ = write!(
                s,
                r#"<rect class="ok" x="{x}" y="{}" width="{bar}" height="{h_ok}"/>"#,
                base - h_ok
            );
        }
        if h_bad > 0 {
            let _ = write!(
                s,
                r#"<rect class="bad" x="{x}" y="{}" width="{bar}" height="{h_bad}"/>"#,
                base - h_ok - h_bad
            );
        }
        s.push_str("</g>");
        let every = if hourly { 6 } else { 7 };
        if i % every == 0 || i == n - 1 {
            let _ = write!(s, r#"<text x="{x}" y="{}">{when}</text>"#, H - 5);
        }
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_bucket() {
        let b = vec![
            Bucket {
                start: 0,
                success: 4,
                failure: 0,
            },
            Bucket {
                start: 3600,
                success: 1,
                failure: 3,
            },
            Bucket {
                start: 7200,
                success: 0,
                failure: 0,
            },
        ];
        let s = svg(&b, true, "Last 24 hours");
        assert!(s.starts_with("<svg"));
        assert!(s.contains("5 sign-ins, 3 failures"));
        assert_eq!(s.matches("<rect class=\"ok\"").count(), 2);
        assert_eq!(s.matches("<rect class=\"bad\"").count(), 1);
        assert!(
            s.contains(&format!("height=\"{}\"", H - TOP - BOTTOM)),
            "the tallest bar fills the plot"
        );
        assert!(s.contains("01:00: 1 sign-ins, 3 failures"));
    }
}
