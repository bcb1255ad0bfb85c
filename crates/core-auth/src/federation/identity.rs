//! Who the upstream says the person is: from validated ID token claims, or
//! from a plain OAuth2 user-info document through the provider's field
//! mapping.

use serde_json::Value;

use super::provider::UpstreamProvider;

const MAX_SUBJECT_LEN: usize = 255;

/// The person as the upstream provider describes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpstreamIdentity {
    /// The provider's stable id for the person (`sub`, GitHub's `id`).
    pub subject: String,
    /// Empty when the provider gave none.
    pub email: String,
    /// Whether the provider says it checked that the person owns `email`.
    pub email_verified: bool,
    pub name: String,
    /// How the person authenticated at the provider (its `amr`), if it says.
    pub amr: Vec<String>,
}

impl UpstreamIdentity {
    /// Checks the subject and tidies the rest.
    pub fn checked(mut self) -> Result<UpstreamIdentity, String> {
        if self.subject.is_empty()
            || self.subject.len() > MAX_SUBJECT_LEN
            || self.subject.chars().any(char::is_control)
        {
            return Err("the provider gave no usable subject identifier".into());
        }
        self.email = self.email.trim().to_string();
        if self.email.len() > 254 || self.email.chars().any(char::is_control) {
            self.email.clear();
            self.email_verified = false;
        }
        if self.email.is_empty() {
            self.email_verified = false;
        }
        self.name = self
            .name
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect::<String>()
            .trim()
            .to_string();
        self.amr.retain(|a| {
            !a.is_empty() && a.len() <= 32 && a.chars().all(|c| c.is_ascii_alphanumeric())
        });
        self.amr.truncate(8);
        Ok(self)
    }

    /// The `amr` of a sign-in through the provider: `fed`, then what the
    /// provider reported.
    pub fn session_amr(&self) -> Vec<String> {
        let mut amr = vec!["fed".to_string()];
        for a in &self.amr {
            if !amr.contains(a) {
                amr.push(a.clone());
            }
        }
        amr
    }
}

/// The value at a dotted path (`data.user.id`).
fn at<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return None;
    }
    path.split('.').try_fold(doc, |v, key| v.get(key))
}

/// A string or integer as text (GitHub's `id` is a number).
fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
        _ => String::new(),
    }
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// The identity in a user-info document, read through `p`'s mapping.
/// `emails` is the answer of the provider's `emails_url`, when it has one:
/// its primary verified address wins over the document's.
pub fn from_userinfo(
    p: &UpstreamProvider,
    doc: &Value,
    emails: Option<&Value>,
) -> Result<UpstreamIdentity, String> {
    if !doc.is_object() {
        return Err("the provider's user info is not a JSON object".into());
    }
    let name = p
        .name_field
        .split(',')
        .map(|f| text(at(doc, f.trim())))
        .find(|n| !n.trim().is_empty())
        .unwrap_or_default();
    let mut id = UpstreamIdentity {
        subject: text(at(doc, &p.subject_field)),
        email: text(at(doc, &p.email_field)),
        email_verified: truthy(at(doc, &p.email_verified_field)),
        name,
        amr: Vec::new(),
    };
    if let Some(Value::Array(list)) = emails {
        let entry = |e: &Value| {
            (
                text(e.get("email")),
                truthy(e.get("primary")),
                truthy(e.get("verified")),
            )
        };
        let entries: Vec<(String, bool, bool)> = list.iter().map(entry).collect();
        let chosen = entries
            .iter()
            .find(|(_, primary, verified)| *primary && *verified)
            .or_else(|| entries.iter().find(|(_, _, verified)| *verified));
        if let Some((email, _, _)) = chosen {
            id.email = email.clone();
            id.email_verified = true;
        } else if let Some((_, _, verified)) = entries
            .iter()
            .find(|(e, _, _)| !id.email.is_empty() && e.eq_ignore_ascii_case(&id.email))
        {
            id.email_verified = *verified;
        }
    }
    id.checked()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::federation::provider::validate;

    fn github() -> UpstreamProvider {
        let mut list = vec![UpstreamProvider {
            id: "github".into(),
            preset: "github".into(),
            client_id: "c".into(),
            client_secret: "s".into(),
            ..UpstreamProvider::default()
        }];
        validate(&mut list).unwrap();
        list.remove(0)
    }

    #[test]
    fn github_user_and_emails_map_to_an_identity() {
        let p = github();
        let user = json!({"id": 583231, "login": "octocat", "name": null, "email": null});
        let emails = json!([
            {"email": "old@example.com", "primary": false, "verified": true},
            {"email": "octo@example.com", "primary": true, "verified": true}
        ]);
        let id = from_userinfo(&p, &user, Some(&emails)).unwrap();
        assert_eq!(id.subject, "583231");
        assert_eq!(id.email, "octo@example.com");
        assert!(id.email_verified);
        assert_eq!(id.name, "octocat", "falls back to the login");
        assert_eq!(id.session_amr(), ["fed"]);
    }

    #[test]
    fn unverified_addresses_stay_unverified() {
        let p = github();
        let user = json!({"id": 1, "name": "Ada", "email": "ada@example.com"});
        let emails = json!([{"email": "ada@example.com", "primary": true, "verified": false}]);
        let id = from_userinfo(&p, &user, Some(&emails)).unwrap();
        assert_eq!(id.email, "ada@example.com");
        assert!(!id.email_verified);
        let id = from_userinfo(&p, &user, None).unwrap();
        assert!(!id.email_verified, "no verified field: not verified");
    }

    #[test]
    fn generic_mapping_reads_nested_fields_and_refuses_missing_subjects() {
        let p = UpstreamProvider {
            subject_field: "data.uid".into(),
            email_field: "data.mail".into(),
            email_verified_field: "data.mail_ok".into(),
            name_field: "data.display".into(),
            ..UpstreamProvider::default()
        };
        let doc = json!({"data": {"uid": "u-1", "mail": "x@example.org", "mail_ok": "true", "display": "X\u{7}Y"}});
        let id = from_userinfo(&p, &doc, None).unwrap();
        assert_eq!(
            (id.subject.as_str(), id.email.as_str(), id.email_verified),
            ("u-1", "x@example.org", true)
        );
        assert_eq!(id.name, "XY");
        assert!(from_userinfo(&p, &json!({"data": {}}), None).is_err());
        assert!(from_userinfo(&p, &json!([1, 2]), None).is_err());
    }

    #[test]
    fn amr_values_are_kept_only_when_plain() {
        let id = UpstreamIdentity {
            subject: "s".into(),
            amr: vec!["pwd".into(), "mfa".into(), "<script>".into(), "fed".into()],
            ..UpstreamIdentity::default()
        }
        .checked()
        .unwrap();
        assert_eq!(id.session_amr(), ["fed", "pwd", "mfa"]);
    }
}
