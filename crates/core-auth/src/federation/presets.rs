//! The presets: Google, GitHub, Microsoft and GitLab, so that an
//! administrator supplies only the id and the client's id and secret. A
//! preset fills only the settings left empty; any key overrides it.

use super::provider::UpstreamProvider;

/// Presets by name.
pub const PRESETS: &[&str] = &["google", "github", "microsoft", "gitlab"];

pub(super) fn fill(field: &mut String, value: &str) {
    if field.is_empty() {
        *field = value.to_string();
    }
}

/// Fills the empty settings of `p` from its preset.
pub(super) fn apply_preset(p: &mut UpstreamProvider) -> Result<(), String> {
    let scopes: &[&str] = match p.preset.as_str() {
        "" => return Ok(()),
        "google" => {
            fill(&mut p.kind, "oidc");
            fill(&mut p.display_name, "Google");
            fill(&mut p.issuer, "https://accounts.google.com");
            &["openid", "email", "profile"]
        }
        "microsoft" => {
            fill(&mut p.kind, "oidc");
            fill(&mut p.display_name, "Microsoft");
            fill(&mut p.tenant, "common");
            let issuer = format!("https://login.microsoftonline.com/{}/v2.0", p.tenant);
            fill(&mut p.issuer, &issuer);
            &["openid", "email", "profile"]
        }
        "gitlab" => {
            fill(&mut p.kind, "oidc");
            fill(&mut p.display_name, "GitLab");
            fill(&mut p.issuer, "https://gitlab.com");
            &["openid", "email", "profile"]
        }
        "github" => {
            fill(&mut p.kind, "oauth2");
            fill(&mut p.display_name, "GitHub");
            fill(
                &mut p.authorization_url,
                "https://github.com/login/oauth/authorize",
            );
            fill(
                &mut p.token_url,
                "https://github.com/login/oauth/access_token",
            );
            fill(&mut p.userinfo_url, "https://api.github.com/user");
            fill(&mut p.emails_url, "https://api.github.com/user/emails");
            fill(&mut p.subject_field, "id");
            fill(&mut p.email_field, "email");
            fill(&mut p.name_field, "name,login");
            fill(&mut p.token_auth_method, "client_secret_post");
            &["read:user", "user:email"]
        }
        other => {
            return Err(format!(
                "unknown preset `{other}` (use {})",
                PRESETS.join(", ")
            ))
        }
    };
    fill(&mut p.icon, &p.preset.clone());
    if p.scopes.is_empty() {
        p.scopes = scopes.iter().map(|s| s.to_string()).collect();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::federation::provider::{validate, Kind, TokenAuth, UpstreamProvider};

    fn provider(id: &str, preset: &str) -> UpstreamProvider {
        UpstreamProvider {
            id: id.into(),
            preset: preset.into(),
            client_id: "cid".into(),
            client_secret: "secret".into(),
            ..UpstreamProvider::default()
        }
    }

    #[test]
    fn presets_need_only_id_and_secret() {
        let mut list = vec![
            provider("google", "google"),
            provider("github", "github"),
            provider("microsoft", "microsoft"),
            provider("gitlab", "gitlab"),
        ];
        validate(&mut list).unwrap();
        assert_eq!(list[0].kind(), Kind::Oidc);
        assert_eq!(list[0].issuer, "https://accounts.google.com");
        assert_eq!(list[0].scopes, ["openid", "email", "profile"]);
        assert_eq!(list[1].kind(), Kind::Oauth2);
        assert_eq!(list[1].subject_field, "id");
        assert_eq!(list[1].token_auth(), TokenAuth::Post);
        assert_eq!(list[1].icon, "github");
        assert_eq!(
            list[2].issuer,
            "https://login.microsoftonline.com/common/v2.0"
        );
        assert!(list[2].multi_tenant());
        assert_eq!(list[3].display_name, "GitLab");
        assert_eq!(
            list[0].redirect_uri("https://id.example.com/"),
            "https://id.example.com/login/upstream/google/callback"
        );
        // A preset value can be overridden (self-managed GitLab).
        let mut own = vec![UpstreamProvider {
            issuer: "https://gitlab.example.com/".into(),
            ..provider("gitlab", "gitlab")
        }];
        validate(&mut own).unwrap();
        assert_eq!(own[0].issuer, "https://gitlab.example.com");
    }

    #[test]
    fn microsoft_issuers_follow_the_tenant() {
        let mut list = vec![provider("ms", "microsoft")];
        validate(&mut list).unwrap();
        let p = &list[0];
        let tid = "9188040d-6c67-4c5b-b112-36a304b66dad";
        assert!(p.issuer_matches(
            &format!("https://login.microsoftonline.com/{tid}/v2.0"),
            Some(tid)
        ));
        assert!(!p.issuer_matches(
            &format!("https://login.microsoftonline.com/{tid}/v2.0"),
            Some("other")
        ));
        assert!(!p.issuer_matches("https://evil.example/v2.0", None));
        let mut one = vec![UpstreamProvider {
            tenant: "contoso.onmicrosoft.com".into(),
            ..provider("ms", "microsoft")
        }];
        validate(&mut one).unwrap();
        assert!(!one[0].multi_tenant());
        assert!(one[0].issuer_matches(&one[0].issuer.clone(), None));
    }
}
