//! The HTTP server: middleware, body limits, error pages, every crate's
//! routes, and the background jobs.

use std::net::TcpListener;
use std::time::Duration;

use actix_session::config::{BrowserSession, CookieContentSecurity};
use actix_session::SessionMiddleware;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use core_auth::keys::store;
use core_auth::secret::random_bytes;
use core_auth::{server_secrets, CoreResult};
use oidc_endpoints::ProtocolState;
use web_kit::metrics::listener_guard;
use web_kit::middleware::{request_log, security_headers};
use web_kit::routes::{CsrfGuarded, RouteInfo};
use web_kit::session_store::DbSessionStore;
use web_kit::{AppContext, PageError};

const COOKIE_KEY_NAME: &str = "session_cookie_key";

/// The key that signs session cookies, shared by every node through the
/// database.
pub fn cookie_key(ctx: &AppContext) -> CoreResult<Key> {
    let mut conn = ctx.pool.get()?;
    let b64 = server_secrets::get_or_create(
        &mut conn,
        COOKIE_KEY_NAME,
        || STANDARD.encode(random_bytes::<64>()),
        ctx.now(),
    )?;
    let bytes = STANDARD
        .decode(b64)
        .map_err(|e| core_auth::CoreError::Crypto(format!("session cookie key: {e}")))?;
    Key::try_from(bytes.as_slice())
        .map_err(|e| core_auth::CoreError::Crypto(format!("session cookie key: {e}")))
}

/// The cookie name: `__Host-` prefixed when the issuer is https, which pins
/// the cookie to this host, path `/`, secure.
pub fn cookie_name(ctx: &AppContext) -> String {
    if ctx.config.is_https() {
        format!("__Host-{}", ctx.config.session.cookie_name)
    } else {
        ctx.config.session.cookie_name.clone()
    }
}

/// Builds the server on `listener` (https when `tls` is configured), plus
/// the separate metrics listener when `metrics.bind` is set; the caller
/// awaits or spawns it, on the runtime that also runs the certificate
/// reloader.
pub fn start(ctx: AppContext, listener: TcpListener) -> CoreResult<Server> {
    let key = cookie_key(&ctx)?;
    let name = cookie_name(&ctx);
    let secure = ctx.config.is_https();
    let limit = ctx.config.max_body_bytes;
    let workers = match ctx.config.workers {
        0 => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2),
        n => n,
    };
    let metrics_listener = bind_metrics(&ctx)?;
    let tls = match ctx.config.tls.enabled() {
        true => Some(crate::tls::server_config(&ctx.config.tls)?),
        false => None,
    };
    if let Some(warning) = crate::tls::unprotected_https_warning(&ctx.config) {
        tracing::warn!("{warning}");
    }
    let reload_every = Duration::from_secs(ctx.config.tls.reload_interval_secs);
    // The protocol endpoints' own state, one per node; the console reaches
    // its upstream cache only as a `ProviderCache`.
    let protocol = ProtocolState::new(&ctx.config);
    let provider_cache = web::Data::from(protocol.provider_cache());
    let protocol = web::Data::new(protocol);
    let data = web::Data::new(ctx);
    let csrf_guarded = web::Data::new(csrf_guarded());
    let server = HttpServer::new(move || {
        let sessions = SessionMiddleware::builder(
            DbSessionStore::new(data.get_ref().clone(), key.master()),
            key.clone(),
        )
        .cookie_name(name.clone())
        .cookie_secure(secure)
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Lax)
        .cookie_path("/".into())
        .cookie_content_security(CookieContentSecurity::Signed)
        .session_lifecycle(BrowserSession::default())
        .build();
        App::new()
            .app_data(data.clone())
            .app_data(protocol.clone())
            .app_data(provider_cache.clone())
            .app_data(csrf_guarded.clone())
            .app_data(
                web::FormConfig::default()
                    .limit(limit)
                    .error_handler(form_error),
            )
            .app_data(web::PayloadConfig::new(limit))
            .app_data(web::JsonConfig::default().limit(limit))
            .app_data(web::QueryConfig::default().error_handler(|e, _| {
                PageError::BadRequest(format!("The address has a malformed parameter ({e})."))
                    .into()
            }))
            .configure(web_kit::configure)
            .configure(oidc_endpoints::configure)
            .configure(admin_ui::configure)
            .default_service(web::to(not_found))
            .wrap(from_fn(web_kit::csrf::guard))
            .wrap(sessions)
            .wrap(from_fn(web_kit::slow_clients::guard))
            .wrap(from_fn(listener_guard))
            .wrap(from_fn(security_headers))
            .wrap(from_fn(request_log))
    })
    .workers(workers)
    .shutdown_timeout(10);
    let bind_err = |e: std::io::Error| core_auth::CoreError::Config(format!("bind: {e}"));
    let mut server = match tls {
        Some((config, reloader)) => {
            crate::tls::spawn_reloader(reloader, reload_every);
            server
                .listen_rustls_0_23(listener, config)
                .map_err(bind_err)?
        }
        None => server.listen(listener).map_err(bind_err)?,
    };
    if let Some(l) = metrics_listener {
        server = server.listen(l).map_err(bind_err)?;
    }
    Ok(server.run())
}

/// Every route of the web crates, each mounted through a route table: the
/// server's own (health, static files, metrics), the protocol endpoints and
/// pages, then the admin console and API.
pub fn route_table() -> Vec<RouteInfo> {
    let mut routes = web_kit::route_table();
    routes.extend(oidc_endpoints::route_table());
    routes.extend(admin_ui::route_table());
    routes
}

/// The routes the CSRF guard checks (and, fail closed, any route missing
/// from [`route_table`]).
pub fn csrf_guarded() -> CsrfGuarded {
    CsrfGuarded::new(&[route_table()])
}

/// Binds `metrics.bind` when metrics are on and served separately.
fn bind_metrics(ctx: &AppContext) -> CoreResult<Option<TcpListener>> {
    let m = &ctx.config.metrics;
    let bind = m.bind.trim();
    if !m.enabled || bind.is_empty() {
        return Ok(None);
    }
    let cannot = |e: std::io::Error| {
        core_auth::CoreError::Config(format!("metrics.bind: cannot listen on {bind}: {e}"))
    };
    let listener = TcpListener::bind(bind).map_err(cannot)?;
    let addr = listener.local_addr().map_err(cannot)?;
    if ctx.metrics.set_listener(addr).is_err() {
        return Err(core_auth::CoreError::Config(
            "metrics.bind: this context already has a metrics listener".into(),
        ));
    }
    tracing::info!(%addr, "metrics are served on a separate listener");
    Ok(Some(listener))
}

fn form_error(err: actix_web::error::UrlencodedError, _req: &HttpRequest) -> actix_web::Error {
    use actix_web::error::UrlencodedError as E;
    match err {
        E::Overflow { .. } => PageError::PayloadTooLarge.into(),
        E::ContentType => {
            PageError::BadRequest("Forms must be sent as application/x-www-form-urlencoded.".into())
                .into()
        }
        other => PageError::BadRequest(format!("The form could not be read ({other}).")).into(),
    }
}

async fn not_found() -> Result<HttpResponse, PageError> {
    Err(PageError::NotFound)
}

/// A signal to background workers: `true` means stop after the current pass.
pub type Stop = tokio::sync::watch::Receiver<bool>;

/// Background jobs, each on the blocking pool: prune expired rows in
/// bounded batches (`prune.interval_secs`, `core_auth::prune`), run the key lifecycle (every ten minutes),
/// and re-read the key set (every `keys.refresh_interval_secs`) so that a
/// rotation made by another node or the CLI is picked up.
pub fn spawn_jobs(ctx: AppContext, stop: Stop) -> Vec<tokio::task::JoinHandle<()>> {
    let prune = ctx.clone();
    let mut stop_prune = stop.clone();
    let pruning = tokio::spawn(async move {
        let secs = prune.config.prune.interval_secs.max(1);
        let mut tick = tokio::time::interval(Duration::from_secs(secs));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop_prune.changed() => break,
            }
            prune.limits.prune();
            let horizons = core_auth::prune::Horizons::from_config(&prune.config);
            let limits = core_auth::prune::Limits::from_config(&prune.config);
            let now = prune.now();
            match prune
                .db(move |c| core_auth::prune::run(c, now, horizons, limits))
                .await
            {
                Ok(report) => {
                    for (table, n) in &report.0 {
                        if *n > 0 {
                            prune.metrics.rows_pruned(table, *n);
                        }
                    }
                    if report.total() > 0 {
                        tracing::info!(rows = report.total(), detail = ?report.0, "expired rows pruned");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "pruning failed"),
            }
        }
    });
    let keys = ctx.clone();
    let mut stop_keys = stop;
    let key_refresh = tokio::spawn(async move {
        let secs = u64::try_from(keys.config.keys.refresh_interval_secs)
            .unwrap_or(60)
            .max(1);
        let mut tick = tokio::time::interval(Duration::from_secs(secs));
        let mut last_maintain = keys.now();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop_keys.changed() => break,
            }
            let now = keys.now();
            let maintain = now - last_maintain >= 600;
            if maintain {
                last_maintain = now;
            }
            let r = keys
                .run(move |ctx| -> CoreResult<bool> {
                    if maintain {
                        let system = core_auth::actor::Actor::system();
                        store::maintain(
                            &ctx.pool,
                            ctx.keys.kek(),
                            &ctx.config,
                            &system,
                            now,
                            false,
                        )?;
                    }
                    let mut conn = ctx.pool.get()?;
                    ctx.keys.reload(&mut conn, now)
                })
                .await;
            if let Err(e) = r {
                tracing::warn!(error = %e, "signing key refresh failed");
            }
        }
    });
    vec![pruning, key_refresh]
}
