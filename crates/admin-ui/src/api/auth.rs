//! Who may call the admin API: the bearer of an access token issued by this
//! server, unexpired and not revoked, granted the `admin` scope, for either
//! a user who (still) holds the `admin` role or a client (client
//! credentials) that is (still) allowed the `admin` scope. Requiring the
//! scope means a token an ordinary application received for an
//! administrator cannot be replayed against the API.
//!
//! [`require_admin`] runs on the whole API scope, before any handler's
//! extractors: a caller who may not use the API is answered 401 or 403
//! without its body being read, whatever the route. [`ApiAdmin`] only reads
//! what it stored.

use core_auth::audit::EventKind;
use std::future::{ready, Ready};

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, ResponseError};
use core_auth::actor::{Actor, Via};
use core_auth::audit::{Event, Outcome};
use core_auth::oidc::scopes::ScopeSet;
use core_auth::oidc::tokens;
use core_auth::{clients, users, CoreError};
use web_kit::util::{client_ip, user_agent};
use web_kit::{auditing, AppContext};

use super::problem::ApiError;

pub const ADMIN_SCOPE: &str = "admin";

/// An authenticated admin API caller.
#[derive(Debug, Clone)]
pub struct ApiAdmin {
    /// Who calls, for the use cases and their audit rows. A token's age
    /// stands in for a session's: `authenticated_at` is a user token's
    /// `auth_time` (the sign-in it came from, refreshed or not) and a
    /// client token's issue time (when the client presented its secret).
    pub actor: Actor,
}

enum Caller {
    Admin(Actor),
    Denied {
        meta: Actor,
        subject: Option<String>,
        reason: &'static str,
    },
}

/// The token of `Authorization: Bearer <token>`, trimmed; `None` without one.
pub fn bearer(req: &HttpRequest) -> Option<String> {
    let v = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
        .then(|| token.trim().to_string())
}

async fn authenticate(req: &HttpRequest) -> Result<ApiAdmin, ApiError> {
    let ctx = req
        .app_data::<web::Data<AppContext>>()
        .ok_or_else(|| ApiError::Core(CoreError::Config("no context".into())))?
        .clone();
    let token = bearer(req).ok_or_else(|| {
        ApiError::Unauthorized("no bearer token: send Authorization: Bearer <access token>".into())
    })?;
    let now = ctx.now();
    let claims = tokens::verify_access_jwt(&ctx.keys, &ctx.config, &token, now)
        .map_err(|e| ApiError::Unauthorized(format!("the access token is not valid: {e}")))?;
    let int = |k: &str| claims.get(k).and_then(|v| v.as_i64());
    let issued_at = int("iat");
    let auth_time = int("auth_time").or(issued_at);
    let base = Actor {
        via: Via::Token,
        ..Actor::anonymous(client_ip(req), user_agent(req))
    };
    let caller = ctx
        .db(move |c| {
            let Some(row) = tokens::access_record(c, &claims, now)? else {
                return Ok(None);
            };
            if row.revoked_at.is_some() || row.expires_at <= now {
                return Ok(None);
            }
            let scoped = ScopeSet::parse(&row.scope).contains(ADMIN_SCOPE);
            let caller = match &row.user_id {
                Some(uid) => {
                    let meta = Actor {
                        actor_user_id: Some(uid.clone()),
                        authenticated_at: auth_time,
                        ..base
                    };
                    let user = users::find_by_id(c, uid)?.filter(|u| !u.disabled);
                    match user {
                        None => return Ok(None),
                        Some(u) if !users::has_role(c, &u.id, users::ROLE_ADMIN)? => {
                            Caller::Denied {
                                meta,
                                subject: Some(u.id),
                                reason: "not_admin",
                            }
                        }
                        Some(_) if !scoped => Caller::Denied {
                            meta,
                            subject: Some(uid.clone()),
                            reason: "no_admin_scope",
                        },
                        Some(_) => Caller::Admin(meta),
                    }
                }
                None => {
                    let meta = Actor {
                        actor_client_id: Some(row.client_id.clone()),
                        authenticated_at: issued_at,
                        ..base
                    };
                    let allowed = clients::find(c, &row.client_id)?
                        .is_some_and(|cl| cl.scopes.iter().any(|s| s == ADMIN_SCOPE));
                    if scoped && allowed {
                        Caller::Admin(meta)
                    } else {
                        Caller::Denied {
                            meta,
                            subject: None,
                            reason: "no_admin_scope",
                        }
                    }
                }
            };
            Ok(Some(caller))
        })
        .await?;
    match caller {
        None => Err(ApiError::Unauthorized(
            "the access token is revoked, expired or unknown".into(),
        )),
        Some(Caller::Admin(actor)) => Ok(ApiAdmin { actor }),
        Some(Caller::Denied {
            meta,
            subject,
            reason,
        }) => {
            let mut e = Event::new(EventKind::PermissionDenied, Outcome::Denied)
                .with("path", req.path().to_string())
                .with("method", req.method().to_string())
                .with("required_role", "admin")
                .with("reason", reason);
            if let Some(s) = subject {
                e = e.subject(s);
            }
            auditing::record(&ctx, meta, e).await;
            Err(ApiError::Forbidden(
                "this token may not use the admin API: it needs the admin scope, and a user needs the admin role".into(),
            ))
        }
    }
}

/// Middleware on the API scope (`api::configure`): authenticates the
/// bearer token before the route's handler and its extractors run, answers
/// 401 (no or bad token) or 403 (not an admin; audited) itself, and keeps
/// the caller in the request's extensions for [`ApiAdmin`].
pub async fn require_admin(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, BoxBody>>, actix_web::Error> {
    match authenticate(req.request()).await {
        Ok(admin) => {
            req.extensions_mut().insert(admin);
            Ok(next.call(req).await?.map_into_left_body())
        }
        Err(e) => Ok(req.into_response(e.error_response()).map_into_right_body()),
    }
}

/// The caller [`require_admin`] authenticated. A handler outside its scope
/// gets 500, never an unauthenticated pass.
impl FromRequest for ApiAdmin {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(req.extensions().get::<ApiAdmin>().cloned().ok_or_else(|| {
            ApiError::Core(CoreError::Config(
                "an admin API route outside the authenticated scope".into(),
            ))
        }))
    }
}
