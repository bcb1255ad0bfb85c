//! Checking providers' settings: the rules of every `[[upstream]]` key,
//! with the preset and the defaults filled in. [`validate`] stops at the
//! first problem (the configuration names it with its provider and key);
//! [`check`] reports every problem by key (forms that show each message at
//! its field).

use crate::error::{CoreError, CoreResult};

use super::presets::{apply_preset, fill};
use super::provider::{UpstreamProvider, BUILTIN_ICONS};

const MAX_ID_LEN: usize = 40;

fn check_url(p: &UpstreamProvider, value: &str) -> Result<(), String> {
    let u = url::Url::parse(value).map_err(|e| format!("not a URL ({e})"))?;
    match u.scheme() {
        "https" => {}
        "http" if p.dangerous_allow_http => {}
        "http" => {
            return Err(
                "must be https (dangerous_allow_http = true permits http for local testing)".into(),
            )
        }
        _ => return Err("must be an https URL".into()),
    }
    if u.host_str().is_none() || u.fragment().is_some() {
        return Err("needs a host and no fragment".into());
    }
    Ok(())
}

/// A problem with one key of a provider's settings.
pub type Problem = (&'static str, String);

/// The problem with an id, if any.
pub fn id_problem(id: &str) -> Option<String> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    (!ok).then(|| format!("1-{MAX_ID_LEN} lowercase letters, digits, '-' or '_'"))
}

/// Fills in the preset and the defaults of `p` and returns every problem
/// of its settings (not its id), in the order of the keys' documentation.
fn problems(p: &mut UpstreamProvider) -> Vec<Problem> {
    let mut out: Vec<Problem> = Vec::new();
    if let Err(m) = apply_preset(p) {
        out.push(("preset", m));
    }
    if p.kind.is_empty() {
        p.kind = "oidc".into();
    }
    match p.kind.as_str() {
        "oidc" => {
            p.issuer = p.issuer.trim_end_matches('/').to_string();
            if p.issuer.is_empty() {
                out.push(("issuer", "required for kind = \"oidc\"".into()));
            } else if let Err(m) = check_url(p, &p.issuer) {
                out.push(("issuer", m));
            }
            if p.scopes.is_empty() {
                p.scopes = vec!["openid".into(), "email".into(), "profile".into()];
            }
            if !p.scopes.iter().any(|s| s == "openid") {
                p.scopes.insert(0, "openid".into());
            }
        }
        "oauth2" => {
            for (key, value) in [
                ("authorization_url", &p.authorization_url),
                ("token_url", &p.token_url),
                ("userinfo_url", &p.userinfo_url),
            ] {
                if value.is_empty() {
                    out.push((key, "required for kind = \"oauth2\"".into()));
                } else if let Err(m) = check_url(p, value) {
                    out.push((key, m));
                }
            }
            if !p.emails_url.is_empty() {
                if let Err(m) = check_url(p, &p.emails_url) {
                    out.push(("emails_url", m));
                }
            }
            fill(&mut p.subject_field, "sub");
            fill(&mut p.email_field, "email");
            fill(&mut p.name_field, "name");
        }
        other => out.push(("kind", format!("`{other}` is not \"oidc\" or \"oauth2\""))),
    }
    if !matches!(
        p.token_auth_method.as_str(),
        "" | "client_secret_basic" | "client_secret_post"
    ) {
        out.push((
            "token_auth_method",
            "use client_secret_basic or client_secret_post".into(),
        ));
    }
    if p.client_id.trim().is_empty() {
        out.push(("client_id", "required".into()));
    }
    if p.enabled && p.client_secret.is_empty() {
        out.push((
            "client_secret",
            format!(
                "required (or set PORTCULLIS_UPSTREAM__{}__CLIENT_SECRET)",
                p.id.to_ascii_uppercase()
            ),
        ));
    }
    if p.scopes
        .iter()
        .any(|s| s.is_empty() || s.contains(char::is_whitespace))
    {
        out.push(("scopes", "each scope is one word".into()));
    }
    fill(&mut p.display_name, &p.id.clone());
    if p.display_name.chars().count() > 60 || p.display_name.chars().any(char::is_control) {
        out.push(("display_name", "at most 60 characters of plain text".into()));
    }
    fill(&mut p.icon, if p.kind == "oidc" { "openid" } else { "key" });
    let icon_ok = BUILTIN_ICONS.contains(&p.icon.as_str())
        || (p.icon.len() <= 32 * 1024
            && ["png", "svg+xml", "jpeg", "gif", "webp"]
                .iter()
                .any(|t| p.icon.starts_with(&format!("data:image/{t};base64,")))
            && p.icon.chars().all(|c| c.is_ascii_graphic()));
    if !icon_ok {
        out.push((
            "icon",
            format!(
                "one of {} or a data:image/...;base64, URL of at most 32 KiB",
                BUILTIN_ICONS.join(", ")
            ),
        ));
    }
    let mut domains = Vec::new();
    for d in &p.allowed_email_domains {
        let d = d.trim().trim_start_matches('@').to_ascii_lowercase();
        if d.is_empty() || !d.contains('.') || d.contains(['@', '/', ' ']) {
            out.push(("allowed_email_domains", format!("`{d}` is not a domain")));
        }
        domains.push(d);
    }
    p.allowed_email_domains = domains;
    out
}

/// Checks one provider, id included, as [`validate`] does and fills in its
/// preset and defaults, but reports every problem by key rather than the
/// first (for forms that show each message at its field).
pub fn check(p: &mut UpstreamProvider) -> Vec<Problem> {
    let mut out = Vec::new();
    if let Some(m) = id_problem(&p.id) {
        out.push(("id", m));
    }
    out.extend(problems(p));
    out
}

/// Validates every provider and fills in preset values and defaults. The
/// error names the provider and the key.
pub fn validate(providers: &mut [UpstreamProvider]) -> CoreResult<()> {
    let mut seen: Vec<String> = Vec::new();
    for (i, p) in providers.iter_mut().enumerate() {
        if let Some(m) = id_problem(&p.id) {
            return Err(CoreError::Config(format!("upstream[{i}].id: {m}")));
        }
        if seen.contains(&p.id) {
            return Err(CoreError::Config(format!(
                "upstream[{i}].id: `{}` is used twice",
                p.id
            )));
        }
        seen.push(p.id.clone());
        if let Some((key, m)) = problems(p).into_iter().next() {
            return Err(CoreError::Config(format!("upstream.{}.{key}: {m}", p.id)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_reports_every_problem_by_key() {
        let mut p = UpstreamProvider {
            id: "Not Valid".into(),
            kind: "oauth2".into(),
            authorization_url: "ftp://a.example/auth".into(),
            userinfo_url: "http://a.example/me".into(),
            display_name: "x".repeat(61),
            allowed_email_domains: vec!["nodot".into()],
            ..UpstreamProvider::default()
        };
        let keys: Vec<&str> = check(&mut p).iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            [
                "id",
                "authorization_url",
                "token_url",
                "userinfo_url",
                "client_id",
                "client_secret",
                "display_name",
                "allowed_email_domains"
            ]
        );
        let mut ok = UpstreamProvider {
            id: "corp".into(),
            preset: "gitlab".into(),
            client_id: "c".into(),
            client_secret: "s".into(),
            ..UpstreamProvider::default()
        };
        assert!(check(&mut ok).is_empty());
        assert_eq!(ok.issuer, "https://gitlab.com", "the preset is applied");
        assert!(id_problem("corp-1_a").is_none() && id_problem(&"a".repeat(41)).is_some());
    }
}
