//! Checking a [`ClientSpec`] before it is stored.

use super::{AuthMethod, ClientSpec, GrantType};
use crate::error::{CoreResult, ValidationErrors};
use crate::keys::Algorithm;

/// Why a redirect URI is not acceptable; `None` when it is. Absolute, no
/// fragment, https, or http on a loopback host (RFC 8252).
/// Whether `uri` uses a private-use URI scheme of the reverse-domain form
/// that RFC 8252 §7.1 asks native apps to use (`com.example.app:/callback`):
/// a scheme with at least one dot, every label non-empty, not http(s).
pub fn is_private_use_scheme(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.split_once(':') else {
        return false;
    };
    !rest.is_empty()
        && scheme.contains('.')
        && scheme.split('.').all(|l| {
            !l.is_empty()
                && l.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
        && scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase())
}

/// What is wrong with a redirect URI of a public (native) client, which may
/// also use a private-use URI scheme (RFC 8252 §7.1).
pub fn native_redirect_uri_problem(uri: &str) -> Option<String> {
    if !is_private_use_scheme(uri) {
        return redirect_uri_problem(uri);
    }
    let u = match url::Url::parse(uri) {
        Ok(u) => u,
        Err(_) => return Some(format!("{uri}: not a valid URI")),
    };
    if u.fragment().is_some() || uri.contains('#') {
        return Some(format!("{uri}: must not contain a fragment"));
    }
    if u.username() != "" || u.password().is_some() {
        return Some(format!("{uri}: must not contain credentials"));
    }
    None
}

pub fn redirect_uri_problem(uri: &str) -> Option<String> {
    let u = match url::Url::parse(uri) {
        Ok(u) => u,
        Err(_) => return Some(format!("{uri}: not an absolute URL")),
    };
    if u.fragment().is_some() || uri.contains('#') {
        return Some(format!("{uri}: must not contain a fragment"));
    }
    if u.username() != "" || u.password().is_some() {
        return Some(format!("{uri}: must not contain credentials"));
    }
    match u.scheme() {
        "https" if u.host_str().is_some() => None,
        "http"
            if matches!(
                u.host_str(),
                Some("127.0.0.1") | Some("[::1]") | Some("localhost")
            ) =>
        {
            None
        }
        "http" => Some(format!(
            "{uri}: http is only allowed on loopback (127.0.0.1, [::1], localhost); use https"
        )),
        _ => Some(format!("{uri}: must be https (or http on loopback)")),
    }
}

pub(super) struct Validated {
    pub name: String,
    pub auth_method: AuthMethod,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub jwks_uri: Option<String>,
    pub jwks: Option<String>,
    pub resource_server_audiences: Vec<String>,
    pub signing_alg: Algorithm,
}

pub(super) fn validate(spec: &ClientSpec) -> CoreResult<Validated> {
    let mut v = ValidationErrors::default();
    let name = spec.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        v.add("name", "Give the client a name of 1 to 200 characters.");
    }
    let auth_method = if spec.auth_method.is_empty() {
        if spec.public {
            AuthMethod::None
        } else {
            AuthMethod::ClientSecretBasic
        }
    } else {
        match AuthMethod::parse(&spec.auth_method) {
            Some(m) => m,
            None => {
                v.add("auth_method", format!("Unknown method {}; use client_secret_basic, client_secret_post, private_key_jwt or none.", spec.auth_method));
                AuthMethod::ClientSecretBasic
            }
        }
    };
    if spec.public && auth_method != AuthMethod::None {
        v.add("auth_method", "A public client authenticates with `none`.");
    }
    if !spec.public && auth_method == AuthMethod::None {
        v.add("auth_method", "`none` is for public clients; add --public.");
    }
    let mut grant_types = Vec::new();
    for g in &spec.grant_types {
        match GrantType::parse(g) {
            Some(g) if !grant_types.contains(&g) => grant_types.push(g),
            Some(_) => {}
            None => v.add("grant_types", format!("Unknown grant type {g}.")),
        }
    }
    if grant_types.is_empty() && spec.grant_types.is_empty() {
        grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
    }
    if spec.public && grant_types.contains(&GrantType::ClientCredentials) {
        v.add(
            "grant_types",
            "A public client cannot use client_credentials.",
        );
    }
    if grant_types.contains(&GrantType::AuthorizationCode) && spec.redirect_uris.is_empty() {
        v.add(
            "redirect_uris",
            "The authorization_code grant needs at least one redirect URI.",
        );
    }
    // A native app (a public client) may use a private-use URI scheme
    // (RFC 8252 §7.1); a confidential client may not.
    let check = |u: &str| match spec.public {
        true => native_redirect_uri_problem(u),
        false if is_private_use_scheme(u) => Some(format!(
            "{u}: a private-use URI scheme is for native apps, which are public clients (--public)"
        )),
        false => redirect_uri_problem(u),
    };
    for u in &spec.redirect_uris {
        if let Some(p) = check(u) {
            v.add("redirect_uris", p);
        }
    }
    for u in &spec.post_logout_redirect_uris {
        if let Some(p) = check(u) {
            v.add("post_logout_redirect_uris", p);
        }
    }
    let mut scopes = Vec::new();
    for s in &spec.scopes {
        if s.is_empty()
            || s.len() > 128
            || !s
                .chars()
                .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
        {
            v.add("scopes", format!("{s:?} is not a valid scope token."));
        } else if !scopes.contains(s) {
            scopes.push(s.clone());
        }
    }
    let jwks_uri = Some(spec.jwks_uri.trim().to_string()).filter(|s| !s.is_empty());
    let jwks = Some(spec.jwks.trim().to_string()).filter(|s| !s.is_empty());
    if let Some(u) = &jwks_uri {
        match url::Url::parse(u) {
            Ok(p) if p.scheme() == "https" || redirect_uri_problem(u).is_none() => {}
            _ => v.add(
                "jwks_uri",
                "The JWKS URI must be an https URL (http only on loopback).",
            ),
        }
    }
    if let Some(j) = &jwks {
        match serde_json::from_str::<serde_json::Value>(j) {
            Ok(doc) if doc.get("keys").is_some_and(|k| k.is_array()) => {}
            _ => v.add(
                "jwks",
                "The JWKS must be a JSON object with a `keys` array.",
            ),
        }
    }
    if auth_method == AuthMethod::PrivateKeyJwt && jwks_uri.is_none() && jwks.is_none() {
        v.add(
            "jwks",
            "private_key_jwt needs the client's public keys: a JWKS URI or a JWKS document.",
        );
    }
    if spec.require_signed_request_object && jwks_uri.is_none() && jwks.is_none() {
        v.add(
            "jwks",
            "Signed request objects are checked with the client's public keys: give a JWKS URI or a JWKS document.",
        );
    }
    if jwks_uri.is_some() && jwks.is_some() {
        v.add(
            "jwks",
            "Give either a JWKS URI or a JWKS document, not both.",
        );
    }
    for (field, value) in [
        (
            "access_token_lifetime_secs",
            spec.access_token_lifetime_secs,
        ),
        ("refresh_token_idle_secs", spec.refresh_token_idle_secs),
        (
            "refresh_token_absolute_secs",
            spec.refresh_token_absolute_secs,
        ),
    ] {
        if value.is_some_and(|x| x <= 0) {
            v.add(field, "Must be a positive number of seconds.");
        }
    }
    let resource_server_audiences = audiences(spec, &mut v);
    let signing_alg = signing_alg(spec, &mut v);
    v.into_result()?;
    Ok(Validated {
        name,
        auth_method,
        grant_types,
        scopes,
        jwks_uri,
        jwks,
        resource_server_audiences,
        signing_alg,
    })
}

/// The field of the signing algorithm in every face (the API's and the
/// console's name; the CLI's `--id-token-alg`).
pub const SIGNING_ALG_FIELD: &str = "id_token_signed_response_alg";

/// The algorithm asked for: empty means RS256; otherwise one of the JOSE
/// names Portcullis can sign with, exactly (whether this server has keys
/// for it is [`super::offered`]'s to say).
fn signing_alg(spec: &ClientSpec, v: &mut ValidationErrors) -> Algorithm {
    let asked = spec.id_token_signed_response_alg.trim();
    if asked.is_empty() {
        return Algorithm::DEFAULT;
    }
    Algorithm::parse(asked).unwrap_or_else(|| {
        v.add(
            SIGNING_ALG_FIELD,
            format!(
                "Unknown signing algorithm {asked:?}; use {}.",
                Algorithm::names(&Algorithm::ALL)
            ),
        );
        Algorithm::DEFAULT
    })
}

/// At most this many audiences per client.
const MAX_AUDIENCES: usize = 50;

/// The audiences a client serves as a resource server: printable ASCII
/// tokens (a client_id or a URI), up to 255 characters, duplicates dropped.
/// A public client cannot authenticate to the introspection endpoint, so it
/// serves none.
fn audiences(spec: &ClientSpec, v: &mut ValidationErrors) -> Vec<String> {
    const FIELD: &str = "resource_server_audiences";
    let mut out: Vec<String> = Vec::new();
    for a in &spec.resource_server_audiences {
        let a = a.trim();
        if a.is_empty() || a.len() > 255 || !a.chars().all(|c| c.is_ascii_graphic()) {
            v.add(
                FIELD,
                format!("{a:?} is not a valid audience: use a client id or a URI of 1 to 255 printable characters without spaces."),
            );
        } else if !out.iter().any(|o| o == a) {
            out.push(a.to_string());
        }
    }
    if out.len() > MAX_AUDIENCES {
        v.add(FIELD, format!("List at most {MAX_AUDIENCES} audiences."));
    }
    if spec.public && !out.is_empty() {
        v.add(
            FIELD,
            "A public client cannot introspect tokens, so it cannot serve audiences.",
        );
    }
    out
}
