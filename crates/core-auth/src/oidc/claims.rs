//! User claims: the standard claims of OpenID Connect Core §5.1 that users
//! keep on their account page, which claims each scope releases (§5.4), and
//! the `claims` request parameter (§5.5).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::ValidationErrors;
use crate::oidc::scopes::ScopeSet;
use crate::users::User;

/// Optional profile claims; empty strings mean "not set".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Profile {
    pub given_name: String,
    pub family_name: String,
    pub middle_name: String,
    pub nickname: String,
    pub preferred_username: String,
    pub profile: String,
    pub picture: String,
    pub website: String,
    pub gender: String,
    pub birthdate: String,
    pub zoneinfo: String,
    pub locale: String,
    pub phone_number: String,
    pub phone_number_verified: bool,
    pub address: Address,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Address {
    pub formatted: String,
    pub street_address: String,
    pub locality: String,
    pub region: String,
    pub postal_code: String,
    pub country: String,
}

impl Address {
    fn is_empty(&self) -> bool {
        *self == Address::default()
    }
}

impl Profile {
    pub fn parse(json: &str) -> Profile {
        serde_json::from_str(json).unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// Trims every field and checks the formats the spec gives.
    pub fn normalized(mut self) -> Result<Profile, ValidationErrors> {
        let mut v = ValidationErrors::default();
        for (name, field) in [
            ("given_name", &mut self.given_name),
            ("family_name", &mut self.family_name),
            ("middle_name", &mut self.middle_name),
            ("nickname", &mut self.nickname),
            ("preferred_username", &mut self.preferred_username),
            ("profile", &mut self.profile),
            ("picture", &mut self.picture),
            ("website", &mut self.website),
            ("gender", &mut self.gender),
            ("birthdate", &mut self.birthdate),
            ("zoneinfo", &mut self.zoneinfo),
            ("locale", &mut self.locale),
            ("phone_number", &mut self.phone_number),
            ("formatted", &mut self.address.formatted),
            ("street_address", &mut self.address.street_address),
            ("locality", &mut self.address.locality),
            ("region", &mut self.address.region),
            ("postal_code", &mut self.address.postal_code),
            ("country", &mut self.address.country),
        ] {
            *field = field.trim().to_string();
            let limit = if name == "street_address" || name == "formatted" {
                500
            } else {
                200
            };
            if field.chars().count() > limit {
                v.add(name, format!("Use at most {limit} characters."));
            }
            if field
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\r')
            {
                v.add(name, "Remove the control characters.");
            }
        }
        for (name, value) in [
            ("profile", &self.profile),
            ("picture", &self.picture),
            ("website", &self.website),
        ] {
            if !value.is_empty()
                && !url::Url::parse(value).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
            {
                v.add(name, "Enter a full web address starting with https://.");
            }
        }
        if !self.birthdate.is_empty() && !valid_birthdate(&self.birthdate) {
            v.add(
                "birthdate",
                "Use the form YYYY-MM-DD (or YYYY, or 0000-MM-DD).",
            );
        }
        if !self.phone_number.is_empty() && !valid_phone(&self.phone_number) {
            v.add(
                "phone_number",
                "Use the international form, e.g. +1 425 555 1212.",
            );
        }
        if !self.locale.is_empty()
            && !self
                .locale
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            v.add("locale", "Use a language tag such as en-US.");
        }
        if !self.zoneinfo.is_empty()
            && !self
                .zoneinfo
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_-+".contains(c))
        {
            v.add("zoneinfo", "Use a time zone name such as Europe/Paris.");
        }
        if v.is_empty() {
            Ok(self)
        } else {
            Err(v)
        }
    }
}

/// E.164-like: a leading `+`, digits with optional spaces or dashes, at
/// least six digits.
fn valid_phone(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('+') else {
        return false;
    };
    rest.chars()
        .all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
        && rest.chars().filter(char::is_ascii_digit).count() >= 6
}

fn valid_birthdate(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let digits = |p: &str, n: usize| p.len() == n && p.chars().all(|c| c.is_ascii_digit());
    match parts.as_slice() {
        [y] => digits(y, 4),
        [y, m, d] => {
            digits(y, 4)
                && digits(m, 2)
                && digits(d, 2)
                && (1..=12).contains(&m.parse::<u32>().unwrap_or(0))
                && (1..=31).contains(&d.parse::<u32>().unwrap_or(0))
        }
        _ => false,
    }
}

/// Claims each scope releases.
pub fn claims_of_scope(scope: &str) -> &'static [&'static str] {
    match scope {
        "profile" => &[
            "name",
            "family_name",
            "given_name",
            "middle_name",
            "nickname",
            "preferred_username",
            "profile",
            "picture",
            "website",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "updated_at",
        ],
        "email" => &["email", "email_verified"],
        "address" => &["address"],
        "phone" => &["phone_number", "phone_number_verified"],
        _ => &[],
    }
}

/// Every claim Portcullis can release (for discovery).
pub fn supported_claims() -> Vec<&'static str> {
    let mut v = vec![
        "sub",
        "iss",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "acr",
        "amr",
        "azp",
        "sid",
        "at_hash",
    ];
    for s in ["profile", "email", "address", "phone"] {
        v.extend_from_slice(claims_of_scope(s));
    }
    v
}

/// The value of one user claim, if the user has it.
pub fn user_claim(user: &User, p: &Profile, claim: &str) -> Option<Value> {
    let s = |v: &str| (!v.is_empty()).then(|| Value::String(v.to_string()));
    match claim {
        "name" => s(&user.name),
        "email" => s(&user.email),
        "email_verified" => Some(Value::Bool(user.email_verified)),
        "updated_at" => Some(Value::from(user.updated_at)),
        "given_name" => s(&p.given_name),
        "family_name" => s(&p.family_name),
        "middle_name" => s(&p.middle_name),
        "nickname" => s(&p.nickname),
        "preferred_username" => s(&p.preferred_username),
        "profile" => s(&p.profile),
        "picture" => s(&p.picture),
        "website" => s(&p.website),
        "gender" => s(&p.gender),
        "birthdate" => s(&p.birthdate),
        "zoneinfo" => s(&p.zoneinfo),
        "locale" => s(&p.locale),
        "phone_number" => s(&p.phone_number),
        "phone_number_verified" => {
            (!p.phone_number.is_empty()).then_some(Value::Bool(p.phone_number_verified))
        }
        "address" => (!p.address.is_empty()).then(|| {
            let mut m = Map::new();
            for (k, v) in [
                ("formatted", &p.address.formatted),
                ("street_address", &p.address.street_address),
                ("locality", &p.address.locality),
                ("region", &p.address.region),
                ("postal_code", &p.address.postal_code),
                ("country", &p.address.country),
            ] {
                if !v.is_empty() {
                    m.insert(k.into(), Value::String(v.clone()));
                }
            }
            Value::Object(m)
        }),
        _ => None,
    }
}

/// Where requested claims go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    IdToken,
    Userinfo,
}

/// Validates a `claims` request parameter: a JSON object whose `userinfo`
/// and `id_token` members, when present, are objects of claim requests
/// (`null` or an object).
pub fn parse_claims_request(s: &str) -> Result<Value, String> {
    let v: Value = serde_json::from_str(s)
        .map_err(|_| "the claims parameter is not valid JSON".to_string())?;
    let obj = v
        .as_object()
        .ok_or("the claims parameter must be a JSON object")?;
    for (k, member) in obj {
        if k != "userinfo" && k != "id_token" {
            continue;
        }
        let m = member
            .as_object()
            .ok_or(format!("claims.{k} must be an object"))?;
        for (claim, req) in m {
            if !(req.is_null() || req.is_object()) {
                return Err(format!("claims.{k}.{claim} must be null or an object"));
            }
        }
    }
    Ok(v)
}

/// Names of the claims `request` asks for `target`.
pub fn requested(request: Option<&Value>, target: Target) -> Vec<(String, Value)> {
    let key = match target {
        Target::IdToken => "id_token",
        Target::Userinfo => "userinfo",
    };
    request
        .and_then(|r| r.get(key))
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// Claims the `claims` parameter asks for that the requested scopes do not
/// release: the person must consent to them explicitly, every time.
pub fn beyond_scopes(scopes: &ScopeSet, claims_request: Option<&Value>) -> Vec<String> {
    let by_scope: Vec<&str> = scopes.iter().flat_map(claims_of_scope).copied().collect();
    let mut out: Vec<String> = Vec::new();
    for target in [Target::IdToken, Target::Userinfo] {
        for (claim, _) in requested(claims_request, target) {
            let is_user_claim = ["profile", "email", "address", "phone"]
                .iter()
                .any(|s| claims_of_scope(s).contains(&claim.as_str()));
            if is_user_claim && !by_scope.contains(&claim.as_str()) && !out.contains(&claim) {
                out.push(claim);
            }
        }
    }
    out
}

/// The user claims released for `target`: those of the granted scopes plus
/// those the `claims` parameter asked for (essential or voluntary).
pub fn release(
    user: &User,
    scopes: &ScopeSet,
    claims_request: Option<&Value>,
    target: Target,
) -> Map<String, Value> {
    let profile = Profile::parse(&user.profile);
    let mut out = Map::new();
    for scope in scopes.iter() {
        for claim in claims_of_scope(scope) {
            if let Some(v) = user_claim(user, &profile, claim) {
                out.insert((*claim).to_string(), v);
            }
        }
    }
    for (claim, _) in requested(claims_request, target) {
        if let Some(v) = user_claim(user, &profile, &claim) {
            out.insert(claim, v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        User {
            id: "u1".into(),
            email: "ada@example.com".into(),
            email_key: "ada@example.com".into(),
            email_verified: true,
            name: "Ada".into(),
            password_hash: None,
            disabled: false,
            created_at: 1,
            updated_at: 2,
            profile: Profile {
                given_name: "Ada".into(),
                phone_number: "+44 20 7946 0000".into(),
                ..Profile::default()
            }
            .to_json(),
        }
    }

    #[test]
    fn scopes_release_their_claims_only() {
        let c = release(
            &user(),
            &ScopeSet::parse("openid email"),
            None,
            Target::Userinfo,
        );
        assert_eq!(c.get("email").unwrap(), "ada@example.com");
        assert_eq!(c.get("email_verified").unwrap(), true);
        assert!(c.get("name").is_none());
        let c = release(
            &user(),
            &ScopeSet::parse("openid profile phone"),
            None,
            Target::Userinfo,
        );
        assert_eq!(c.get("given_name").unwrap(), "Ada");
        assert_eq!(c.get("phone_number").unwrap(), "+44 20 7946 0000");
        assert!(c.get("family_name").is_none(), "unset claims are left out");
    }

    #[test]
    fn claims_parameter_adds_claims_per_target() {
        let req = parse_claims_request(
            r#"{"userinfo":{"name":{"essential":true}},"id_token":{"email":null}}"#,
        )
        .unwrap();
        let u = release(
            &user(),
            &ScopeSet::parse("openid"),
            Some(&req),
            Target::Userinfo,
        );
        assert_eq!(u.get("name").unwrap(), "Ada");
        assert!(u.get("email").is_none());
        let i = release(
            &user(),
            &ScopeSet::parse("openid"),
            Some(&req),
            Target::IdToken,
        );
        assert_eq!(i.get("email").unwrap(), "ada@example.com");
        assert!(parse_claims_request("[1]").is_err());
        assert!(parse_claims_request(r#"{"userinfo":{"name":3}}"#).is_err());
        assert!(parse_claims_request("{").is_err());
    }

    #[test]
    fn profile_validation() {
        let p = Profile {
            website: "ftp://x".into(),
            birthdate: "1815-12-10".into(),
            phone_number: "12345".into(),
            ..Profile::default()
        };
        let e = p.normalized().unwrap_err();
        assert!(e.get("website").is_some());
        assert!(e.get("phone_number").is_some());
        assert!(e.get("birthdate").is_none());
        assert!(Profile {
            birthdate: "1815-13-10".into(),
            ..Profile::default()
        }
        .normalized()
        .is_err());
    }
}
