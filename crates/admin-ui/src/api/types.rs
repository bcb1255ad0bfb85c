//! The admin API's documents (their schemas are in the OpenAPI document).
//! Times are Unix seconds.

use core_auth::admin::dashboard::Bucket;
use core_auth::admin::directory::GroupDetail;
use core_auth::admin::sessions::SessionInfo;
use core_auth::admin::users::UserDetail;
use core_auth::clients::{Client, ClientSpec};
use core_auth::keys::store::KeyInfo;
use core_auth::roles::{GroupInfo, Role};
use core_auth::users::UserWithRoles;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    pub email_verified: bool,
    pub disabled: bool,
    /// False for an invited account whose owner has not chosen a password.
    pub has_password: bool,
    /// Effective roles (own and through groups) on the user's page; own roles in lists.
    pub roles: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<UserWithRoles> for User {
    fn from(u: UserWithRoles) -> Self {
        User {
            has_password: u.user.password_hash.is_some(),
            id: u.user.id,
            email: u.user.email,
            name: u.user.name,
            email_verified: u.user.email_verified,
            disabled: u.user.disabled,
            roles: u.roles,
            created_at: u.user.created_at,
            updated_at: u.user.updated_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserList {
    pub items: Vec<User>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupRef {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Consent {
    pub client_id: String,
    pub client_name: String,
    pub scopes: Vec<String>,
    pub granted_at: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Identity {
    pub provider: String,
    pub subject: String,
    pub email: String,
    pub created_at: i64,
    pub last_used_at: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserDetails {
    #[serde(flatten)]
    pub user: User,
    pub direct_roles: Vec<String>,
    pub groups: Vec<GroupRef>,
    pub sessions: Vec<Session>,
    pub consents: Vec<Consent>,
    pub identities: Vec<Identity>,
    /// Seconds until the address may sign in again, while throttled.
    pub throttled_for: Option<i64>,
    /// The account must have a second factor (same as `mfa.required`).
    pub mfa_required: bool,
    pub mfa: super::mfa::MfaSummary,
}

impl From<UserDetail> for UserDetails {
    fn from(d: UserDetail) -> Self {
        let mut user = User::from(d.user);
        user.has_password = d.has_password;
        UserDetails {
            user,
            direct_roles: d.direct_roles,
            groups: d
                .groups
                .into_iter()
                .map(|g| GroupRef {
                    id: g.id,
                    name: g.name,
                })
                .collect(),
            sessions: d.sessions.into_iter().map(Session::from).collect(),
            consents: d
                .consents
                .into_iter()
                .map(|c| Consent {
                    client_id: c.client_id,
                    client_name: c.client_name,
                    scopes: c.scopes,
                    granted_at: c.granted_at,
                })
                .collect(),
            identities: d
                .identities
                .into_iter()
                .map(|i| Identity {
                    provider: i.provider,
                    subject: i.subject,
                    email: i.email,
                    created_at: i.created_at,
                    last_used_at: i.last_used_at,
                })
                .collect(),
            throttled_for: d.throttled_for,
            mfa_required: false,
            mfa: Default::default(),
        }
    }
}

/// A new account: mailed an invitation with a link to choose a password.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    #[serde(default)]
    pub roles: Vec<String>,
    /// Group ids.
    #[serde(default)]
    pub groups: Vec<String>,
}

/// A partial update: absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub name: Option<String>,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    /// The user's own roles (replaces them; `user` is always kept).
    pub roles: Option<Vec<String>>,
    /// Group ids (replaces the memberships).
    pub groups: Option<Vec<String>>,
    pub disabled: Option<bool>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Revoked {
    /// Sessions ended.
    pub sessions: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Cleared {
    /// Whether a throttle was in place.
    pub cleared: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Accepted {
    pub status: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClientOut {
    pub client_id: String,
    pub name: String,
    /// client_secret_basic, client_secret_post, private_key_jwt or none.
    pub auth_method: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub skip_consent: bool,
    pub always_issue_refresh: bool,
    pub jwks_uri: Option<String>,
    pub access_token_lifetime_secs: Option<i64>,
    pub refresh_token_idle_secs: Option<i64>,
    pub refresh_token_absolute_secs: Option<i64>,
    /// The audiences this client serves as a resource server: introspection
    /// answers it about access tokens for them (besides its own tokens).
    pub resource_server_audiences: Vec<String>,
    /// RS256, PS256, ES256 or EdDSA: its ID, access and refresh tokens.
    pub id_token_signed_response_alg: String,
    /// Authorization requests only through PAR (RFC 9126).
    pub require_pushed_authorization_requests: bool,
    /// Authorization requests only as signed request objects (RFC 9101).
    pub require_signed_request_object: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<Client> for ClientOut {
    fn from(c: Client) -> Self {
        ClientOut {
            auth_method: c.auth_method.as_str().to_string(),
            grant_types: c
                .grant_types
                .iter()
                .map(|g| g.as_str().to_string())
                .collect(),
            client_id: c.client_id,
            name: c.name,
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            scopes: c.scopes,
            skip_consent: c.skip_consent,
            always_issue_refresh: c.always_issue_refresh,
            jwks_uri: c.jwks_uri,
            access_token_lifetime_secs: c.access_token_lifetime_secs,
            refresh_token_idle_secs: c.refresh_token_idle_secs,
            refresh_token_absolute_secs: c.refresh_token_absolute_secs,
            resource_server_audiences: c.resource_server_audiences,
            id_token_signed_response_alg: c.id_token_signed_response_alg.as_str().into(),
            require_pushed_authorization_requests: c.require_pushed_authorization_requests,
            require_signed_request_object: c.require_signed_request_object,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClientList {
    pub items: Vec<ClientOut>,
}

/// A client and, once (at creation, rotation, or a switch to a
/// secret-based method), its secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClientWithSecret {
    #[serde(flatten)]
    pub client: ClientOut,
    pub client_secret: Option<String>,
}

/// A client's settings (create, or replace all of them).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ClientIn {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// A public client (browser or native app): no secret, PKCE required.
    pub public: bool,
    /// Empty: authorization_code and refresh_token.
    pub grant_types: Vec<String>,
    /// Extra scopes the client may ask for (`admin` opens this API to its client_credentials tokens).
    pub scopes: Vec<String>,
    pub skip_consent: bool,
    pub always_issue_refresh: bool,
    /// Empty: `none` for public clients, else client_secret_basic.
    pub auth_method: String,
    pub jwks_uri: String,
    pub jwks: String,
    pub access_token_lifetime_secs: Option<i64>,
    pub refresh_token_idle_secs: Option<i64>,
    pub refresh_token_absolute_secs: Option<i64>,
    /// The audiences (`aud` of access tokens: today the client_id they were
    /// issued to) this client serves as a resource server; it may introspect
    /// their access tokens. Empty: only its own tokens.
    pub resource_server_audiences: Vec<String>,
    /// RS256 (empty), PS256, ES256 or EdDSA, among the server's `keys.algorithms`.
    pub id_token_signed_response_alg: String,
    /// Accept authorization requests only through PAR (RFC 9126).
    pub require_pushed_authorization_requests: bool,
    /// Accept authorization requests only as request objects signed with
    /// the client's keys (RFC 9101); needs `jwks` or `jwks_uri`.
    pub require_signed_request_object: bool,
}

impl From<ClientIn> for ClientSpec {
    fn from(c: ClientIn) -> Self {
        ClientSpec {
            name: c.name,
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            public: c.public,
            grant_types: c.grant_types,
            scopes: c.scopes,
            skip_consent: c.skip_consent,
            always_issue_refresh: c.always_issue_refresh,
            auth_method: c.auth_method,
            jwks_uri: c.jwks_uri,
            jwks: c.jwks,
            access_token_lifetime_secs: c.access_token_lifetime_secs,
            refresh_token_idle_secs: c.refresh_token_idle_secs,
            refresh_token_absolute_secs: c.refresh_token_absolute_secs,
            resource_server_audiences: c.resource_server_audiences,
            id_token_signed_response_alg: c.id_token_signed_response_alg,
            require_pushed_authorization_requests: c.require_pushed_authorization_requests,
            require_signed_request_object: c.require_signed_request_object,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SecretOut {
    pub client_secret: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoleOut {
    pub name: String,
    pub description: String,
    pub builtin: bool,
    pub created_at: i64,
}

impl From<Role> for RoleOut {
    fn from(r: Role) -> Self {
        RoleOut {
            name: r.name,
            description: r.description,
            builtin: r.builtin,
            created_at: r.created_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoleList {
    pub items: Vec<RoleOut>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleIn {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleRename {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupOut {
    pub id: String,
    pub name: String,
    pub description: String,
    pub roles: Vec<String>,
    pub members: i64,
    pub created_at: i64,
}

impl From<GroupInfo> for GroupOut {
    fn from(g: GroupInfo) -> Self {
        GroupOut {
            id: g.group.id,
            name: g.group.name,
            description: g.group.description,
            roles: g.roles,
            members: g.members,
            created_at: g.group.created_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupList {
    pub items: Vec<GroupOut>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Member {
    pub id: String,
    pub email: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupDetails {
    #[serde(flatten)]
    pub group: GroupOut,
    /// Up to 500 members, by email.
    pub member_list: Vec<Member>,
}

impl From<GroupDetail> for GroupDetails {
    fn from(g: GroupDetail) -> Self {
        GroupDetails {
            group: GroupOut::from(g.info),
            member_list: g
                .member_list
                .into_iter()
                .map(|m| Member {
                    id: m.id,
                    email: m.email,
                    name: m.name,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupIn {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupPatch {
    pub name: Option<String>,
    /// Replaces the group's roles.
    pub roles: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Key {
    pub kid: String,
    pub alg: String,
    /// next, active or retired.
    pub state: String,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    pub retired_at: Option<i64>,
    /// Active key: when rotation is due. Retired key: when it leaves the JWKS.
    pub until: Option<i64>,
}

impl From<KeyInfo> for Key {
    fn from(k: KeyInfo) -> Self {
        Key {
            state: k.state.as_str().to_string(),
            kid: k.kid,
            alg: k.alg,
            created_at: k.created_at,
            activated_at: k.activated_at,
            retired_at: k.retired_at,
            until: k.until,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KeyList {
    pub items: Vec<Key>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Rotation {
    pub activated: Vec<String>,
    pub retired: Vec<String>,
    pub created: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Session {
    pub sid: String,
    pub user_id: String,
    pub user_email: String,
    pub user_name: String,
    pub ip: String,
    pub user_agent: String,
    pub auth_time: Option<i64>,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// Applications that received tokens in this session.
    pub clients: Vec<String>,
}

impl From<SessionInfo> for Session {
    fn from(s: SessionInfo) -> Self {
        Session {
            sid: s.sid,
            user_id: s.user_id,
            user_email: s.user_email,
            user_name: s.user_name,
            ip: s.ip,
            user_agent: s.user_agent,
            auth_time: s.auth_time,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            clients: s.clients,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionList {
    pub items: Vec<Session>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEvent {
    pub id: i64,
    pub at: i64,
    /// `at` in RFC 3339.
    pub time: String,
    pub event: String,
    /// success, failure or denied.
    pub outcome: String,
    pub actor_user_id: Option<String>,
    pub subject_user_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: String,
    pub user_agent: String,
    pub session_id: Option<String>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<core_auth::audit::Row> for AuditEvent {
    fn from(r: core_auth::audit::Row) -> Self {
        AuditEvent {
            time: crate::audit::rfc3339(r.at),
            detail: serde_json::from_str(&r.detail).unwrap_or(serde_json::Value::Null),
            id: r.id,
            at: r.at,
            event: r.event,
            outcome: r.outcome,
            actor_user_id: r.actor_user_id,
            subject_user_id: r.subject_user_id,
            client_id: r.client_id,
            ip: r.ip,
            user_agent: r.user_agent,
            session_id: r.session_id,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditList {
    pub items: Vec<AuditEvent>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Throttle {
    /// sign_in or reset.
    pub kind: String,
    /// The key to clear it with (SHA-256 of the address).
    pub key: String,
    /// The address, masked.
    pub label: String,
    pub count: i32,
    pub window_start: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ThrottleList {
    pub items: Vec<Throttle>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SignInBucket {
    pub start: i64,
    pub success: i64,
    pub failure: i64,
}

impl From<Bucket> for SignInBucket {
    fn from(b: Bucket) -> Self {
        SignInBucket {
            start: b.start,
            success: b.success,
            failure: b.failure,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Stats {
    pub users: i64,
    pub admins: i64,
    pub active_sessions: i64,
    pub outbox_backlog: i64,
    pub throttled: i64,
    /// When the active key is due for rotation.
    pub rotation_due_at: Option<i64>,
    /// 24 hourly buckets, oldest first.
    pub sign_ins_last_day: Vec<SignInBucket>,
    /// 30 daily buckets, oldest first.
    pub sign_ins_last_month: Vec<SignInBucket>,
}
