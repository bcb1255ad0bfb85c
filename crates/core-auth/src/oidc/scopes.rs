//! Scopes: the standard OpenID ones, and what each means to a person.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Scopes every client may ask for in an authorization request.
pub const STANDARD: &[&str] = &[
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "offline_access",
    "roles",
];

/// An ordered set of scope tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeSet(pub Vec<String>);

impl ScopeSet {
    /// Splits a space-delimited scope string (RFC 6749 §3.3), dropping
    /// repeats and empty tokens.
    pub fn parse(s: &str) -> ScopeSet {
        let mut out: Vec<String> = Vec::new();
        for t in s.split(' ').filter(|t| !t.is_empty()) {
            if !out.iter().any(|x| x == t) {
                out.push(t.to_string());
            }
        }
        ScopeSet(out)
    }

    /// True when every token is printable ASCII other than `"` and `\`.
    pub fn is_well_formed(s: &str) -> bool {
        s.chars()
            .all(|c| c == ' ' || (c.is_ascii_graphic() && c != '"' && c != '\\'))
    }

    pub fn contains(&self, s: &str) -> bool {
        self.0.iter().any(|x| x == s)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_subset_of(&self, other: &ScopeSet) -> bool {
        self.0.iter().all(|s| other.contains(s))
    }

    pub fn union(&self, other: &ScopeSet) -> ScopeSet {
        let mut out = self.0.clone();
        for s in &other.0 {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
        ScopeSet(out)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

/// What granting `scope` lets the application do, in words for the consent
/// page.
pub fn describe(scope: &str) -> String {
    match scope {
        "openid" => "Confirm who you are (your account identifier)".into(),
        "profile" => "See your name and basic profile details".into(),
        "email" => "See your email address".into(),
        "address" => "See your postal address".into(),
        "phone" => "See your phone number".into(),
        "offline_access" => "Stay connected when you are not using it".into(),
        "roles" => "See the roles and groups you belong to".into(),
        other => format!("Access: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_dedups_and_keeps_order() {
        let s = ScopeSet::parse("openid  email openid profile");
        assert_eq!(s.to_string(), "openid email profile");
        assert!(ScopeSet::parse("email").is_subset_of(&s));
        assert!(!ScopeSet::parse("email phone").is_subset_of(&s));
        assert!(ScopeSet::is_well_formed("openid api:read"));
        assert!(!ScopeSet::is_well_formed("openid \"x\""));
    }
}
