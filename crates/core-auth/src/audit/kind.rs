//! The catalogue of audit events: every event Portcullis writes, with its
//! name in the log, what it means and the fields of its detail. The
//! console's filter list, the API's documentation, the export and
//! docs/audit-events.md are made from it (a test keeps the docs in step),
//! and [`super::Event::with`] refuses, in debug builds, a detail field the
//! event does not declare.

use serde::Serialize;

macro_rules! catalogue {
    ($( $variant:ident = $name:literal, $meaning:literal, [$($field:literal),* $(,)?]; )*) => {
        /// One kind of audit event.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[serde(into = "&'static str")]
        pub enum EventKind {
            $( #[doc = $meaning] $variant, )*
        }

        impl EventKind {
            /// Every event, in the catalogue's order.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant),*];

            /// The event's name in the log (`audit_log.event`).
            pub const fn as_str(self) -> &'static str {
                match self { $(EventKind::$variant => $name,)* }
            }

            /// What the event records, in a sentence.
            pub const fn meaning(self) -> &'static str {
                match self { $(EventKind::$variant => $meaning,)* }
            }

            /// The fields its detail may carry.
            pub const fn fields(self) -> &'static [&'static str] {
                match self { $(EventKind::$variant => &[$($field),*],)* }
            }
        }
    };
}

catalogue! {
    SignIn = "sign_in",
        "A sign-in: with a password (`method` `pwd`), through an upstream provider (`upstream`) or by confirming a link with the password (`upstream_link`); failures carry a reason (`bad_credentials`, `disabled`, `throttled`, or the provider's refusal, with its `error` code).",
        ["method", "provider", "reason", "error", "failures_in_window"];
    Throttled = "throttled",
        "An account reached its throttle's limit of failures (`kind` says which throttle).",
        ["kind"];
    Registration = "registration",
        "A new account registered itself, on the page or through an upstream provider; refused when the address is in use.",
        ["reason", "provider", "email_verified"];
    EmailVerified = "email_verified",
        "An address was confirmed with the link that was mailed to it.",
        [];
    PasswordResetRequested = "password_reset_requested",
        "Someone asked for a password reset (denied when the address or IP is throttled).",
        ["reason"];
    PasswordResetMailed = "password_reset_mailed",
        "The mail worker handled a reset request: mailed, or not (unknown address, disabled account).",
        ["reason"];
    PasswordResetCompleted = "password_reset_completed",
        "A password was set with a reset link; the account's sessions end.",
        [];
    PasswordChanged = "password_changed",
        "A signed-in person changed their password; a failure is their current password refused (`bad_credentials`, or `throttled` by the account's sign-in throttle).",
        ["reason", "failures_in_window"];
    EmailChangeRequested = "email_change_requested",
        "A signed-in person asked to change their address; a link goes to the new one. A failure is their password refused (`bad_credentials`, or `throttled` by the account's sign-in throttle).",
        ["reason", "failures_in_window"];
    EmailChanged = "email_changed",
        "An address change was confirmed with the mailed link.",
        [];
    SessionStarted = "session_started",
        "A signed-in session began.",
        [];
    SessionEnded = "session_ended",
        "A session ended (`how`: `sign_out`, `end_session`, `session_limit`, ...).",
        ["how", "session"];
    ConsentGranted = "consent_granted",
        "A person allowed an application the scopes it asked for.",
        ["scope"];
    Consent = "consent",
        "A person refused an application's request (outcome `denied`).",
        ["scope"];
    ConsentWithdrawn = "consent_withdrawn",
        "A person withdrew an application's consent on their account page.",
        [];
    UpstreamLinkCreated = "upstream_link_created",
        "An upstream provider's account was linked to a local one (`how`: `new_account`, `verified_email`, `account_page`, `password`); failures carry the reason.",
        ["provider", "how", "reason"];
    UpstreamLinkRemoved = "upstream_link_removed",
        "A person removed a provider link (denied when it is their last way to sign in).",
        ["provider", "reason"];
    CodeIssued = "code_issued",
        "An authorization code was issued to an application.",
        ["scope"];
    CodeReplayed = "code_replayed",
        "An authorization code was used a second time; the tokens it gave are revoked.",
        ["tokens_revoked"];
    TokenIssued = "token_issued",
        "Tokens were issued at the token endpoint.",
        ["grant_type", "scope", "refresh_token"];
    TokenRefreshed = "token_refreshed",
        "A refresh token was exchanged (rotated) for new tokens.",
        ["scope"];
    TokenRevoked = "token_revoked",
        "A token was revoked at the revocation endpoint.",
        ["token_type"];
    RefreshReuseDetected = "refresh_reuse_detected",
        "A rotated refresh token was used again; its whole family is revoked.",
        ["family_revoked"];
    PermissionDenied = "permission_denied",
        "Someone without the administrator role reached the console or the admin API.",
        ["path", "method", "required_role", "reason"];
    KeyCreated = "key_created",
        "A signing key was created.",
        ["kid", "alg"];
    KeyActivated = "key_activated",
        "A signing key became the active one of its algorithm.",
        ["kid", "alg"];
    KeyRetired = "key_retired",
        "A signing key stopped signing (still published for verification).",
        ["kid", "alg"];
    KeyDeleted = "key_deleted",
        "A signing key was removed from the key set (retired longer than any token lives, or the unused next key of an algorithm taken out of keys.algorithms).",
        ["kid", "alg"];
    KeyRotated = "key_rotated",
        "Signing keys of one algorithm were rotated (by schedule, CLI, console or API).",
        ["alg", "activated", "retired"];
    ClientCreated = "client_created",
        "An administrator registered an application.",
        ["name", "auth_method", "grant_types", "scopes", "resource_server_audiences", "id_token_signed_response_alg"];
    ClientUpdated = "client_updated",
        "An administrator changed an application.",
        ["changed", "new_secret"];
    ClientSecretRotated = "client_secret_rotated",
        "An application's secret was replaced.",
        [];
    ClientDeleted = "client_deleted",
        "An application was deleted.",
        ["name"];
    AdminUserCreated = "admin_user_created",
        "An administrator (or the first-run set-up) created an account.",
        ["email", "roles", "groups", "invitation", "first_admin"];
    AdminUserUpdated = "admin_user_updated",
        "An administrator changed an account (`changes`: the fields and roles).",
        ["changes"];
    AdminUserDisabled = "admin_user_disabled",
        "An administrator disabled an account; its sessions and tokens end.",
        ["email", "reason"];
    AdminUserEnabled = "admin_user_enabled",
        "An administrator enabled an account again.",
        ["email", "reason"];
    AdminUserDeleted = "admin_user_deleted",
        "An administrator deleted an account (refused for their own and the last administrator).",
        ["email", "reason"];
    AdminPasswordResetSent = "admin_password_reset_sent",
        "An administrator sent a password reset (or invitation) link.",
        ["invitation"];
    AdminSessionsRevoked = "admin_sessions_revoked",
        "An administrator ended all sessions and tokens of an account.",
        ["sessions"];
    AdminSessionRevoked = "admin_session_revoked",
        "An administrator ended one session.",
        ["session"];
    AdminThrottleCleared = "admin_throttle_cleared",
        "An administrator cleared a throttle.",
        ["cleared", "kind", "key"];
    AdminReauth = "admin_reauth",
        "An administrator confirmed their password before a sensitive action.",
        ["method", "reason", "failures_in_window"];
    Reauth = "reauth",
        "An administrator confirmed who they are with a fresh sign-in at a linked provider.",
        ["method", "provider", "reason"];
    AdminRoleCreated = "admin_role_created",
        "An administrator created a role.",
        ["role"];
    AdminRoleRenamed = "admin_role_renamed",
        "An administrator renamed a role (`role`: old and new name).",
        ["role"];
    AdminRoleDeleted = "admin_role_deleted",
        "An administrator deleted a role.",
        ["role"];
    AdminGroupCreated = "admin_group_created",
        "An administrator created a group.",
        ["group", "name", "roles"];
    AdminGroupUpdated = "admin_group_updated",
        "An administrator changed a group (name, roles).",
        ["group", "changes"];
    AdminGroupDeleted = "admin_group_deleted",
        "An administrator deleted a group.",
        ["group", "name"];
    AdminGroupMemberAdded = "admin_group_member_added",
        "An administrator added an account to a group.",
        ["group"];
    AdminGroupMemberRemoved = "admin_group_member_removed",
        "An administrator removed an account from a group.",
        ["group"];
    AdminUpstreamProviderCreated = "admin_upstream_provider_created",
        "An administrator added an upstream provider.",
        ["provider", "display_name", "kind", "preset", "enabled"];
    AdminUpstreamProviderUpdated = "admin_upstream_provider_updated",
        "An administrator changed an upstream provider.",
        ["provider", "changed", "new_secret"];
    AdminUpstreamProviderDeleted = "admin_upstream_provider_deleted",
        "An administrator deleted an upstream provider and its links.",
        ["provider", "display_name", "links_removed"];
    SecondFactor = "second_factor",
        "A second factor was asked for after the first (`factor`: `totp`, `passkey`, `recovery_code`; `step`: `sign_in`, `reauth`, `step_up`); failures carry a `reason` (`wrong_code`, `replayed`, `throttled`, `unknown_passkey`, `ceremony`).",
        ["factor", "step", "reason", "failures_in_window", "recovery_codes_left"];
    PasskeySignIn = "passkey_sign_in",
        "A sign-in with a passkey and no password; failures carry a `reason`.",
        ["passkey", "reason"];
    FactorAdded = "mfa_factor_added",
        "A person added a second factor (`factor`: `totp` or `passkey`, with the passkey's `name`).",
        ["factor", "name"];
    FactorRemoved = "mfa_factor_removed",
        "A second factor was removed, by its owner or an administrator (`factor`, `name`).",
        ["factor", "name"];
    PasskeyRenamed = "passkey_renamed",
        "A person renamed one of their passkeys.",
        ["name", "old_name"];
    RecoveryCodesGenerated = "recovery_codes_generated",
        "A new set of recovery codes was made (the old set no longer works).",
        ["count"];
    MfaRequirementSet = "admin_mfa_requirement_set",
        "An administrator required (or stopped requiring) an account to enrol a second factor.",
        ["required"];
}

impl EventKind {
    /// The event named `name` in the log.
    pub fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL.iter().copied().find(|k| k.as_str() == name)
    }

    /// Every event's name, in the catalogue's order.
    pub fn names() -> Vec<&'static str> {
        EventKind::ALL.iter().map(|k| k.as_str()).collect()
    }

    /// The catalogue as a Markdown table (docs/audit-events.md).
    pub fn markdown_table() -> String {
        let mut out = String::from("| Event | Meaning | Detail fields |\n|---|---|---|\n");
        for k in EventKind::ALL {
            let fields = if k.fields().is_empty() {
                "—".to_string()
            } else {
                k.fields()
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            out.push_str(&format!(
                "| `{}` | {} | {} |\n",
                k.as_str(),
                k.meaning(),
                fields
            ));
        }
        out
    }
}

impl From<EventKind> for &'static str {
    fn from(k: EventKind) -> &'static str {
        k.as_str()
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for k in EventKind::ALL {
            assert!(seen.insert(k.as_str()), "{} twice", k.as_str());
            assert_eq!(EventKind::parse(k.as_str()), Some(*k));
            assert!(!k.meaning().is_empty());
        }
        assert_eq!(EventKind::parse("no_such_event"), None);
    }

    /// docs/audit-events.md shows the catalogue as it is. Run with
    /// `PORTCULLIS_UPDATE_DOCS=1` to rewrite the table after a change.
    #[test]
    fn the_docs_table_is_the_catalogue() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/audit-events.md");
        let doc = std::fs::read_to_string(path).unwrap();
        let (begin, end) = ("<!-- events:begin -->\n", "<!-- events:end -->");
        let start = doc.find(begin).unwrap() + begin.len();
        let stop = doc.find(end).unwrap();
        let table = EventKind::markdown_table();
        if std::env::var_os("PORTCULLIS_UPDATE_DOCS").is_some() {
            let updated = format!("{}{}{}", &doc[..start], table, &doc[stop..]);
            std::fs::write(path, updated).unwrap();
            return;
        }
        assert_eq!(
            &doc[start..stop],
            table,
            "docs/audit-events.md is stale: run the test with PORTCULLIS_UPDATE_DOCS=1"
        );
    }
}
