//! Per-client-IP rate limits, per route group (governor, in memory: each
//! node counts its own). Over quota: 429 with `Retry-After`, RFC 6749-style
//! JSON on protocol endpoints and a friendly page on HTML routes.

use std::future::{ready, Future, Ready};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::rc::Rc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::{header, Method};
use actix_web::{web, HttpResponse, ResponseError};
use core_auth::config::{Quota, RateLimitsConfig};
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::RateLimiter;

use crate::context::AppContext;
use crate::errors::PageError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    SignIn,
    Register,
    ForgotPassword,
    VerifyResend,
    Token,
    Introspect,
    Revoke,
    Authorize,
    AdminApi,
}

impl Group {
    pub const ALL: [Group; 9] = [
        Group::SignIn,
        Group::Register,
        Group::ForgotPassword,
        Group::VerifyResend,
        Group::Token,
        Group::Introspect,
        Group::Revoke,
        Group::Authorize,
        Group::AdminApi,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Group::SignIn => "sign_in",
            Group::Register => "register",
            Group::ForgotPassword => "forgot_password",
            Group::VerifyResend => "verify_resend",
            Group::Token => "token",
            Group::Introspect => "introspect",
            Group::Revoke => "revoke",
            Group::Authorize => "authorize",
            Group::AdminApi => "admin_api",
        }
    }

    /// Protocol and API endpoints answer JSON; pages answer a page.
    fn json(self) -> bool {
        matches!(
            self,
            Group::Token | Group::Introspect | Group::Revoke | Group::AdminApi
        )
    }

    /// Form pages are limited on submission only.
    fn post_only(self) -> bool {
        matches!(
            self,
            Group::SignIn | Group::Register | Group::ForgotPassword | Group::VerifyResend
        )
    }

    fn quota(self, c: &RateLimitsConfig) -> Quota {
        match self {
            Group::SignIn => c.sign_in,
            Group::Register => c.register,
            Group::ForgotPassword => c.forgot_password,
            Group::VerifyResend => c.verify_resend,
            Group::Token => c.token,
            Group::Introspect => c.introspect,
            Group::Revoke => c.revoke,
            Group::Authorize => c.authorize,
            Group::AdminApi => c.admin_api,
        }
    }
}

type Limiter = RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock>;

/// One limiter per group.
pub struct RateLimits {
    enabled: bool,
    limiters: Vec<(Group, Limiter)>,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

impl RateLimits {
    pub fn new(cfg: &RateLimitsConfig) -> Self {
        let limiters = Group::ALL
            .iter()
            .map(|g| {
                let q = g.quota(cfg);
                let per_minute = NonZeroU32::new(q.per_minute).unwrap_or(NonZeroU32::MIN);
                let burst = NonZeroU32::new(q.burst).unwrap_or(NonZeroU32::MIN);
                (
                    *g,
                    RateLimiter::keyed(governor::Quota::per_minute(per_minute).allow_burst(burst)),
                )
            })
            .collect();
        RateLimits {
            enabled: cfg.enabled,
            limiters,
        }
    }

    /// `Err(seconds)` when `ip` is over the group's quota.
    pub fn check(&self, group: Group, ip: IpAddr) -> Result<(), u64> {
        if !self.enabled {
            return Ok(());
        }
        let Some((_, limiter)) = self.limiters.iter().find(|(g, _)| *g == group) else {
            return Ok(());
        };
        limiter.check_key(&ip).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }

    /// Forgets addresses whose quota has fully recovered (a periodic job).
    pub fn prune(&self) {
        for (_, l) in &self.limiters {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

/// The 429 answer.
pub fn too_many(group: Group, retry_after: u64) -> HttpResponse {
    let secs = retry_after.max(1);
    if group.json() {
        HttpResponse::TooManyRequests()
            .insert_header((header::RETRY_AFTER, secs.to_string()))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({
                "error": "temporarily_unavailable",
                "error_description": format!("too many requests; retry after {secs} seconds"),
            }))
    } else {
        PageError::TooManyRequests { retry_after: secs }.error_response()
    }
}

/// Middleware limiting one route group.
#[derive(Clone, Copy)]
pub struct RateLimit(pub Group);

impl<S, B> Transform<S, ServiceRequest> for RateLimit
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = actix_web::Error;
    type Transform = RateLimitMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RateLimitMiddleware {
            service: Rc::new(service),
            group: self.0,
        }))
    }
}

pub struct RateLimitMiddleware<S> {
    service: Rc<S>,
    group: Group,
}

impl<S, B> Service<ServiceRequest> for RateLimitMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let group = self.group;
        let limited = if group.post_only() && req.method() != Method::POST {
            None
        } else {
            req.app_data::<web::Data<AppContext>>().and_then(|ctx| {
                let ip = crate::util::client_addr(req.request())?;
                ctx.limits
                    .check(group, ip)
                    .err()
                    .map(|wait| (ctx.clone(), wait, ip))
            })
        };
        if let Some((ctx, wait, ip)) = limited {
            tracing::warn!(group = group.name(), %ip, retry_after = wait, "rate limited");
            ctx.metrics.rate_limited(group.name());
            let resp = too_many(group, wait);
            return Box::pin(async move { Ok(req.into_response(resp)) });
        }
        let svc = self.service.clone();
        Box::pin(async move { Ok(svc.call(req).await?.map_into_boxed_body()) })
    }
}
