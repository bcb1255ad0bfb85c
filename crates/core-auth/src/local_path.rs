//! Where a page may send someone next: the one rule for every `next`
//! parameter (sign-in, registration, the console's forms, upstream
//! sign-ins), so that none of them is an open redirect.
//!
//! The value is normalised the way a browser would read it (dot segments,
//! percent-encoded dots) against a fixed origin; what remains must be a
//! path that starts with exactly one `/`, followed by neither `/` nor `\`
//! (browsers read both `//host` and `/\host` as another host), both as
//! sent and once percent-decoded (proxies and frameworks differ in what
//! they decode). `/.//evil.example`, `/a/..//evil.example`,
//! `/%2e//evil.example` and `/%2F%2Fevil.example` are all refused.

use percent_encoding::percent_decode_str;

/// The longest `next` accepted.
pub const MAX_LEN: usize = 2048;

/// `s` starts with one `/` that is not followed by `/` or `\`.
fn single_slash(s: &str) -> bool {
    s.starts_with('/') && !s[1..].starts_with(['/', '\\'])
}

/// `next` as a path (and query) on this server, normalised, or `None`.
pub fn local_path(next: &str) -> Option<String> {
    let next = next.trim();
    if !single_slash(next)
        || next.contains('\\')
        || next.chars().any(|c| c.is_control() || c.is_whitespace())
        || next.len() > MAX_LEN
    {
        return None;
    }
    // Resolve against a fixed base: dot segments go, and the result must
    // stay on that origin.
    let base = url::Url::parse("http://portcullis.invalid/").ok()?;
    let joined = base.join(next).ok()?;
    if joined.origin() != base.origin() {
        return None;
    }
    let mut out = joined.path().to_string();
    if let Some(q) = joined.query() {
        out.push('?');
        out.push_str(q);
    }
    let decoded = percent_decode_str(joined.path()).decode_utf8_lossy();
    // Normalising percent-encodes what is not ASCII (three bytes become
    // nine): the result must fit the limit too, or it would not pass again.
    if !single_slash(&out)
        || !single_slash(&decoded)
        || decoded.contains('\\')
        || out.len() > MAX_LEN
    {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn local_paths_are_kept_and_normalised() {
        assert_eq!(local_path("/account").as_deref(), Some("/account"));
        assert_eq!(
            local_path("/authorize?client_id=a&x=1").as_deref(),
            Some("/authorize?client_id=a&x=1")
        );
        assert_eq!(local_path("/../../account").as_deref(), Some("/account"));
        assert_eq!(local_path("/a/./b/../c").as_deref(), Some("/a/c"));
        assert_eq!(local_path("/%2e%2e/admin").as_deref(), Some("/admin"));
    }

    #[test]
    fn nothing_that_leaves_the_origin_is_accepted() {
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "\\\\evil.example",
            "javascript:alert(1)",
            "evil.example",
            "/\tevil",
            " //evil.example",
            "",
            // The dot-segment finding: each of these resolved to `//evil.example`.
            "/.//evil.example",
            "/a/..//evil.example",
            "/%2e//evil.example",
            "/%2E//evil.example",
            "/.///evil.example",
            "/./\\evil.example",
            "/%2e%2e//evil.example",
            "/a/b/../..//evil.example",
            // Encoded slashes and backslashes, read by some proxies.
            "/%2F%2Fevil.example",
            "/%2f/evil.example",
            "/%5Cevil.example",
            "/%5c%5cevil.example",
        ] {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
    }

    /// Found by the `redirect` fuzz target: a `next` under the limit whose
    /// normalised form (non-ASCII percent-encoded) is over it was accepted,
    /// and the result then refused when it came back.
    #[test]
    fn the_normalised_path_fits_the_limit_and_passes_again() {
        let cases = [
            format!("/{}", "é".repeat(1000)),
            format!("/a/{}?q={}", "\u{fffd}".repeat(300), "\u{fffd}".repeat(300)),
            format!("/{}", "é".repeat(340)),
        ];
        for next in &cases {
            assert!(next.len() <= MAX_LEN);
            if let Some(out) = local_path(next) {
                assert!(out.len() <= MAX_LEN, "{} bytes", out.len());
                assert_eq!(local_path(&out).as_deref(), Some(out.as_str()));
            }
        }
        assert_eq!(local_path(&cases[0]), None);
        assert!(local_path(&cases[2]).is_some(), "short enough once encoded");
    }

    /// What a browser does with `Location: <v>` on https://idp.example/.
    fn browser_target(v: &str) -> Option<url::Url> {
        url::Url::parse("https://idp.example/login")
            .ok()?
            .join(v)
            .ok()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// Whatever comes in, what comes out stays on the origin, as sent
        /// and once percent-decoded, and is already normal (idempotent).
        #[test]
        fn never_an_off_site_url(
            input in prop_oneof![
                "\\PC{0,40}",
                "(/|\\.|%2e|%2E|%2f|%2F|%5c|%5C|\\\\|a|\\?|#|:|@|evil\\.example){0,14}",
            ]
        ) {
            if let Some(out) = local_path(&input) {
                let target = browser_target(&out).expect("a relative reference");
                prop_assert_eq!(target.host_str(), Some("idp.example"), "{:?} -> {:?}", input, out);
                prop_assert_eq!(target.scheme(), "https");
                let decoded = percent_decode_str(&out).decode_utf8_lossy().to_string();
                let target = browser_target(&decoded);
                prop_assert!(
                    target.is_none_or(|t| t.host_str() == Some("idp.example")),
                    "{:?} -> {:?} decodes off-site", input, out
                );
                prop_assert_eq!(local_path(&out), Some(out.clone()));
            }
        }
    }
}
