//! The OpenAPI 3 document of the admin API, generated from the handlers'
//! annotations and the documents' types, served at
//! `/admin/api/v1/openapi.json` (no token needed: it describes, it grants
//! nothing).

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{clients, directory, mfa, problem, providers, system, types, users};

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from this server's /token endpoint with the `admin` scope: client_credentials for a client allowed that scope, or a user's token when the user has the admin role.",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Portcullis admin API",
        version = "1",
        description = "Manage users, clients, upstream sign-in providers, roles and groups, signing keys, sessions and the audit log. Errors are RFC 7807 problem documents; lists are paged with opaque cursors (`next_cursor`)."
    ),
    modifiers(&Bearer),
    paths(
        users::list_users, users::create_user, users::get_user, users::update_user, users::delete_user,
        users::password_reset, users::revoke_sessions, users::clear_user_throttle,
        mfa::set_requirement, mfa::reset, mfa::remove_app, mfa::remove_passkey,
        clients::list_clients, clients::create_client, clients::get_client, clients::update_client, clients::rotate_secret, clients::delete_client,
        providers::list_upstream_providers, providers::create_upstream_provider, providers::get_upstream_provider,
        providers::update_upstream_provider, providers::delete_upstream_provider,
        directory::list_roles, directory::create_role, directory::rename_role, directory::delete_role,
        directory::list_groups, directory::create_group, directory::get_group, directory::update_group,
        directory::delete_group, directory::add_member, directory::remove_member,
        system::list_keys, system::rotate_keys, system::list_sessions, system::revoke_session,
        system::list_audit, system::export_audit, system::list_throttles, system::clear_throttle, system::stats,
    ),
    components(schemas(
        problem::Problem, problem::FieldProblem,
        types::User, types::UserList, types::UserDetails, types::NewUser, types::UserPatch,
        types::GroupRef, types::Consent, types::Identity, types::Revoked, types::Cleared, types::Accepted,
        mfa::MfaSummary, mfa::AppFactor, mfa::PasskeyFactor, mfa::MfaRequirement, mfa::MfaReset,
        types::ClientOut, types::ClientList, types::ClientWithSecret, types::ClientIn, types::SecretOut,
        providers::ProviderSettings, providers::ProviderOut, providers::ProviderList, providers::ProviderIn,
        types::RoleOut, types::RoleList, types::RoleIn, types::RoleRename,
        types::GroupOut, types::GroupList, types::GroupDetails, types::GroupIn, types::GroupPatch, types::Member,
        types::Key, types::KeyList, types::Rotation, types::Session, types::SessionList,
        types::AuditEvent, types::AuditList, types::Throttle, types::ThrottleList, types::SignInBucket, types::Stats,
    )),
    tags(
        (name = "users"), (name = "clients"), (name = "upstream-providers"), (name = "roles"), (name = "groups"),
        (name = "keys"), (name = "sessions"), (name = "audit"), (name = "throttles"), (name = "stats"),
    )
)]
pub struct ApiDoc;

/// The document as JSON.
pub fn document() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".into())
}

pub async fn serve() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(document())
}
