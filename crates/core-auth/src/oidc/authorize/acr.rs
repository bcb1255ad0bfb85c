//! Authentication context classes (`acr`): how strongly the person proved
//! who they are, as a level an application can ask for.
//!
//! | `acr` | Meaning | Reached by |
//! |---|---|---|
//! | `0` | An existing session was reused; no `acr` asked for | (single sign-on) |
//! | `1` | One factor | a password, or an upstream provider |
//! | `2` | Multi-factor | a second factor: an app code, a recovery code, a passkey, or an upstream provider trusted for its own MFA |
//! | `3` | Phishing-resistant | a passkey (WebAuthn) |
//!
//! An application asks with `acr_values` (voluntary: the best the person
//! can do is given) or the `claims` parameter with `acr` essential (then
//! a level the account cannot reach fails with
//! `unmet_authentication_requirements`). A session below the asked level
//! is stepped up: the person is asked for the factor, not for a new
//! sign-in.

use super::AuthzRequest;

/// What discovery lists (`acr_values_supported`).
pub const SUPPORTED: [&str; 4] = ["0", "1", "2", "3"];

/// The level a session's methods (`amr`) reach.
pub fn level_of(amr: &[String]) -> u8 {
    let has = |m: &str| amr.iter().any(|a| a == m);
    if has("hwk") || has("swk") {
        3
    } else if has("mfa") {
        2
    } else {
        1
    }
}

/// A level asked for by the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wanted {
    /// The lowest asked-for level this server knows (any of them would do).
    pub level: u8,
    /// Asked as an essential claim: not reaching it is an error.
    pub essential: bool,
}

fn parse_level(v: &str) -> Option<u8> {
    match v {
        "1" => Some(1),
        "2" => Some(2),
        "3" | "phr" | "phrh" => Some(3),
        _ => None,
    }
}

/// The level the request asks for, if any (values this server does not
/// know are ignored, as OpenID Connect Core §3.1.2.1 lets it).
pub fn wanted(req: &AuthzRequest) -> Option<Wanted> {
    let mut levels: Vec<u8> = req
        .acr_values
        .iter()
        .filter_map(|v| parse_level(v))
        .collect();
    let mut essential = false;
    if let Some(acr) = req
        .claims_value()
        .as_ref()
        .and_then(|c| c.get("id_token"))
        .and_then(|t| t.get("acr"))
    {
        let mut from_claim: Vec<u8> = Vec::new();
        if let Some(v) = acr.get("value").and_then(|v| v.as_str()) {
            from_claim.extend(parse_level(v));
        }
        if let Some(vs) = acr.get("values").and_then(|v| v.as_array()) {
            from_claim.extend(vs.iter().filter_map(|v| v.as_str()).filter_map(parse_level));
        }
        if !from_claim.is_empty() {
            essential = acr.get("essential").and_then(|e| e.as_bool()) == Some(true);
            levels = from_claim;
        }
    }
    levels
        .into_iter()
        .min()
        .map(|level| Wanted { level, essential })
}

/// Space-separated `acr_values`, kept as given (bounded).
pub fn parse_acr_values(v: Option<&str>) -> Vec<String> {
    v.map(|s| {
        s.split(' ')
            .filter(|x| !x.is_empty())
            .take(16)
            .map(|x| x.chars().take(64).collect())
            .collect()
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amr(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn levels_follow_the_methods() {
        assert_eq!(level_of(&amr(&["pwd"])), 1);
        assert_eq!(level_of(&amr(&["pwd", "otp", "mfa"])), 2);
        assert_eq!(level_of(&amr(&["pwd", "hwk", "mfa"])), 3);
        assert_eq!(level_of(&amr(&["swk", "mfa"])), 3);
        assert_eq!(level_of(&amr(&["fed"])), 1);
    }

    #[test]
    fn unknown_values_are_ignored_and_the_lowest_known_one_counts() {
        assert_eq!(parse_level("urn:example:gold"), None);
        assert_eq!(parse_acr_values(Some("  2 3 x ")), vec!["2", "3", "x"]);
    }
}
