//! Prometheus metrics: the registry, the handles handlers record into, and
//! `GET /metrics` (text format 0.0.4).
//!
//! Counters and histograms are recorded as requests happen; the gauges that
//! come from the database (active sessions, outbox depth) and the pool are
//! read at scrape time, on the blocking pool. Every label value comes from a
//! bounded set: route *patterns* (never raw paths), a fixed list of methods,
//! status codes, and the names the code passes in.

use std::net::SocketAddr;
use std::sync::OnceLock;

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse};
use core_auth::mail::outbox;
use core_auth::secret::{ct_eq, sha256_hex};
use core_auth::{admin_stats, CoreResult};
use prometheus_client::encoding::{prometheus_text, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

use crate::context::AppContext;
use crate::errors::PageError;

/// The path metrics are served at.
pub const PATH: &str = "/metrics";

/// Route label of a request that matched no route (404s, scanners): one
/// series for all of them.
pub const UNMATCHED: &str = "unmatched";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GrantLabels {
    grant_type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    event: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TableLabels {
    table: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GroupLabels {
    group: String,
}

/// Latency buckets: 1 ms to about 16 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// The registry and every series Portcullis exports.
pub struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Family<RouteLabels, Histogram>,
    sign_ins: Family<OutcomeLabels, Counter>,
    tokens_issued: Family<GrantLabels, Counter>,
    rate_limited: Family<GroupLabels, Counter>,
    audit_write_failures: Family<EventLabels, Counter>,
    rows_pruned: Family<TableLabels, Counter>,
    active_sessions: Gauge,
    pool_connections: Gauge,
    pool_idle: Gauge,
    pool_max: Gauge,
    outbox_backlog: Gauge,
    database_up: Gauge,
    group_commit_batches: Gauge,
    group_commit_writes: Gauge,
    group_commit_failed: Gauge,
    /// The address of the separate metrics listener, once bound.
    listener: OnceLock<SocketAddr>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("listener", &self.listener.get())
            .finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("portcullis");
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route pattern, method and status",
            http_requests.clone(),
        );
        let http_duration =
            Family::<RouteLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> _);
        registry.register_with_unit(
            "http_request_duration",
            "HTTP request latency by route pattern",
            Unit::Seconds,
            http_duration.clone(),
        );
        let sign_ins = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "sign_ins",
            "Sign-in attempts by outcome (success, bad_credentials, disabled, throttled)",
            sign_ins.clone(),
        );
        let tokens_issued = Family::<GrantLabels, Counter>::default();
        registry.register(
            "tokens_issued",
            "Successful token responses by grant type",
            tokens_issued.clone(),
        );
        let rate_limited = Family::<GroupLabels, Counter>::default();
        registry.register(
            "rate_limited_requests",
            "Requests refused by a per-IP rate limit, by route group",
            rate_limited.clone(),
        );
        let audit_write_failures = Family::<EventLabels, Counter>::default();
        registry.register(
            "audit_write_failures",
            "Audit rows that could not be written, by event (only events without a \
             transaction of their own; the others fail with their change)",
            audit_write_failures.clone(),
        );
        let rows_pruned = Family::<TableLabels, Counter>::default();
        registry.register(
            "rows_pruned",
            "Expired rows deleted by the pruning job, by table",
            rows_pruned.clone(),
        );
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let g = Gauge::default();
            registry.register(name, help, g.clone());
            g
        };
        let active_sessions = gauge(
            &mut registry,
            "active_sessions",
            "Signed-in sessions within their idle and absolute timeouts (read at scrape)",
        );
        let pool_connections = gauge(
            &mut registry,
            "db_pool_connections",
            "Open database connections in this node's pool",
        );
        let pool_idle = gauge(
            &mut registry,
            "db_pool_idle_connections",
            "Idle database connections in this node's pool",
        );
        let pool_max = gauge(
            &mut registry,
            "db_pool_max_connections",
            "Largest size of this node's database pool",
        );
        let outbox_backlog = gauge(
            &mut registry,
            "mail_outbox_backlog",
            "Mail messages waiting to be delivered (read at scrape)",
        );
        let database_up = gauge(
            &mut registry,
            "database_up",
            "1 when the scrape-time database queries succeeded, 0 when they failed",
        );
        let group_commit_batches = gauge(
            &mut registry,
            "group_commit_batches",
            "Transactions the token endpoint's group commit ran since start (read at scrape)",
        );
        let group_commit_writes = gauge(
            &mut registry,
            "group_commit_writes",
            "Writes (token requests) those transactions held since start; divided by the \
             batches, the mean batch size (read at scrape)",
        );
        let group_commit_failed = gauge(
            &mut registry,
            "group_commit_failed_batches",
            "Group-commit transactions that did not commit since start (read at scrape)",
        );
        Self {
            registry,
            http_requests,
            http_duration,
            sign_ins,
            tokens_issued,
            rate_limited,
            audit_write_failures,
            rows_pruned,
            active_sessions,
            pool_connections,
            pool_idle,
            pool_max,
            outbox_backlog,
            database_up,
            group_commit_batches,
            group_commit_writes,
            group_commit_failed,
            listener: OnceLock::new(),
        }
    }

    /// Counts one sign-in attempt: `success`, `bad_credentials`,
    /// `disabled` or `throttled`.
    pub fn sign_in(&self, outcome: &str) {
        self.sign_ins
            .get_or_create(&OutcomeLabels {
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// Counts one successful token response for `grant` (the grant type).
    pub fn token_issued(&self, grant: &str) {
        self.tokens_issued
            .get_or_create(&GrantLabels {
                grant_type: grant.to_string(),
            })
            .inc();
    }

    /// Counts one audit row of `event` that could not be written.
    pub fn audit_write_failed(&self, event: &str) {
        self.audit_write_failures
            .get_or_create(&EventLabels {
                event: event.to_string(),
            })
            .inc();
    }

    /// Counts `n` rows deleted from `table` by the pruning job.
    pub fn rows_pruned(&self, table: &str, n: usize) {
        self.rows_pruned
            .get_or_create(&TableLabels {
                table: table.to_string(),
            })
            .inc_by(u64::try_from(n).unwrap_or(u64::MAX));
    }

    /// Counts one request refused by the rate limit of `group`.
    pub fn rate_limited(&self, group: &str) {
        self.rate_limited
            .get_or_create(&GroupLabels {
                group: group.to_string(),
            })
            .inc();
    }

    /// Records one HTTP request. `route` is the matched route pattern, or
    /// `None` for a request no route matched.
    pub fn http_request(&self, route: Option<&str>, method: &Method, status: u16, seconds: f64) {
        let route = route.unwrap_or(UNMATCHED).to_string();
        self.http_requests
            .get_or_create(&HttpLabels {
                route: route.clone(),
                method: method_label(method),
                status,
            })
            .inc();
        self.http_duration
            .get_or_create(&RouteLabels { route })
            .observe(seconds);
    }

    /// Remembers where the separate metrics listener is bound.
    pub fn set_listener(&self, addr: SocketAddr) -> Result<(), SocketAddr> {
        self.listener.set(addr)
    }

    /// The address of the separate metrics listener, when there is one.
    pub fn listener(&self) -> Option<SocketAddr> {
        self.listener.get().copied()
    }

    /// True when `local` (the address a request came in on) is the
    /// separate metrics listener.
    fn is_metrics_listener(&self, local: SocketAddr) -> bool {
        self.listener() == Some(local)
    }

    /// Refreshes the scrape-time gauges and encodes every series.
    pub async fn render(&self, ctx: &AppContext) -> String {
        let state = ctx.pool.state();
        self.pool_connections.set(i64::from(state.connections));
        self.pool_idle.set(i64::from(state.idle_connections));
        self.pool_max.set(i64::from(ctx.pool.max_size()));
        if let Some(commit) = &ctx.commit {
            let st = commit.stats();
            let read = |a: &std::sync::atomic::AtomicU64| {
                i64::try_from(a.load(std::sync::atomic::Ordering::Relaxed)).unwrap_or(i64::MAX)
            };
            self.group_commit_batches.set(read(&st.batches));
            self.group_commit_writes.set(read(&st.writes));
            self.group_commit_failed.set(read(&st.failed_commits));
        }
        let (now, timeouts) = (ctx.now(), ctx.session_timeouts());
        let counts: CoreResult<(i64, i64)> = ctx
            .db(move |c| {
                let sessions = admin_stats::overview(c, now, timeouts)?.active_sessions;
                Ok((sessions, outbox::backlog(c)?))
            })
            .await;
        match counts {
            Ok((sessions, backlog)) => {
                self.active_sessions.set(sessions);
                self.outbox_backlog.set(backlog);
                self.database_up.set(1);
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics: database gauges not refreshed");
                self.database_up.set(0);
            }
        }
        let mut out = String::with_capacity(16 * 1024);
        if let Err(e) = prometheus_text::encode(&mut out, &self.registry) {
            tracing::warn!(error = %e, "metrics: encoding failed");
        }
        out
    }
}

fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// Mounts `GET /metrics`. It answers 404 unless metrics are enabled and the
/// request came in on the right listener.
pub fn mount(t: &mut crate::routes::Table) {
    t.get(PATH, scrape);
}

async fn scrape(req: HttpRequest, ctx: web::Data<AppContext>) -> Result<HttpResponse, PageError> {
    let conf = &ctx.config.metrics;
    let on_metrics_listener = ctx
        .metrics
        .is_metrics_listener(req.app_config().local_addr());
    let separate = !conf.bind.trim().is_empty();
    if !conf.enabled || separate != on_metrics_listener {
        return Err(PageError::NotFound);
    }
    if !conf.bearer_token.is_empty() && !bearer_matches(&req, &conf.bearer_token) {
        return Ok(HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\""))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .content_type("text/plain; charset=utf-8")
            .body("A bearer token is required.\n"));
    }
    let body = ctx.metrics.render(&ctx).await;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type(prometheus_text::CONTENT_TYPE)
        .body(body))
}

/// Compares the presented bearer token with the configured one in constant
/// time (over their SHA-256, so the length does not leak either).
pub fn bearer_matches(req: &HttpRequest, expected: &str) -> bool {
    let Some(value) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, token)) = value.split_once(' ') else {
        return false;
    };
    scheme.eq_ignore_ascii_case("bearer")
        && ct_eq(
            sha256_hex(token.trim()).as_bytes(),
            sha256_hex(expected).as_bytes(),
        )
}

/// On the separate metrics listener, everything but `/metrics` is 404:
/// that listener never exposes the pages or the protocol endpoints.
pub async fn listener_guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, BoxBody>>, actix_web::Error> {
    let metrics = req
        .app_data::<web::Data<AppContext>>()
        .map(|ctx| ctx.metrics.clone());
    let on_metrics_listener =
        metrics.is_some_and(|m| m.is_metrics_listener(req.app_config().local_addr()));
    if on_metrics_listener && req.path() != PATH {
        let res = HttpResponse::build(StatusCode::NOT_FOUND)
            .content_type("text/plain; charset=utf-8")
            .body("Only /metrics is served here.\n");
        return Ok(req.into_response(res).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_prometheus_text_with_bounded_labels() {
        let m = Metrics::new();
        m.sign_in("success");
        m.sign_in("success");
        m.token_issued("authorization_code");
        m.rate_limited("sign_in");
        m.http_request(Some("/login"), &Method::POST, 303, 0.004);
        m.http_request(None, &Method::from_bytes(b"BREW").unwrap(), 404, 0.0001);
        let mut out = String::new();
        prometheus_text::encode(&mut out, &m.registry).unwrap();
        assert!(
            out.contains("portcullis_sign_ins_total{outcome=\"success\"} 2\n"),
            "{out}"
        );
        assert!(
            out.contains("portcullis_tokens_issued_total{grant_type=\"authorization_code\"} 1\n")
        );
        assert!(out.contains("portcullis_rate_limited_requests_total{group=\"sign_in\"} 1\n"));
        assert!(out.contains(
            "portcullis_http_requests_total{route=\"/login\",method=\"POST\",status=\"303\"} 1\n"
        ));
        assert!(out.contains(
            "portcullis_http_requests_total{route=\"unmatched\",method=\"other\",status=\"404\"} 1\n"
        ));
        assert!(out.contains("# TYPE portcullis_http_request_duration_seconds histogram\n"));
        assert!(out.contains(
            "portcullis_http_request_duration_seconds_bucket{route=\"/login\",le=\"+Inf\"} 1\n"
        ));
        assert!(out.contains("# TYPE portcullis_active_sessions gauge\n"));
    }
}
