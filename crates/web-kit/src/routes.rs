//! The route table. Every route of the web crates is mounted through a
//! [`Table`], which registers it with actix-web and also records it, so the
//! application can list its own routes: the CSRF guard ([`crate::csrf::guard`])
//! checks every state-changing route except those marked exempt (protocol
//! endpoints that authenticate a client or a bearer token, never a cookie),
//! and a test walks the whole table to prove every other POST refuses a
//! missing token.
//!
//! The guard fails closed ([`CsrfGuarded::guards`]): a state-changing
//! request whose route is not in any table is checked too. The only way
//! out is a visible exemption with its reason: a route mounted with
//! [`Opts::csrf_exempt`], or a whole scope mounted with
//! [`Table::exempt_scope`] (the admin JSON API under `/admin/api/v1`,
//! which authenticates by bearer token only). An exempt scope is listed in
//! the table as one [`Csrf::ExemptScope`] entry per state-changing method,
//! its `path` the scope's prefix.

use std::collections::{HashMap, HashSet};

use actix_cors::Cors;
use actix_web::http::Method;
use actix_web::{web, FromRequest, Handler, Responder};

use crate::ratelimit::{Group, RateLimit};

/// CORS for endpoints browsers call directly (single-page apps), mounted
/// with [`Opts::cors`]: any origin, no credentials (no cookies are ever
/// used by these endpoints).
fn cors() -> Cors {
    Cors::default()
        .allow_any_origin()
        .send_wildcard()
        .allowed_methods(vec!["GET", "POST", "OPTIONS"])
        .allowed_headers(vec!["authorization", "content-type", "accept"])
        .max_age(3600)
}

/// Whether the CSRF guard checks a state-changing route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Csrf {
    Guarded,
    /// Not a cookie-authenticated form; the reason, for the reader.
    Exempt(&'static str),
    /// Every route under the prefix `path` with this method is exempt (a
    /// scope mounted with [`Table::exempt_scope`]); the reason.
    ExemptScope(&'static str),
}

/// The methods that change nothing, never CSRF-checked.
pub fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The state-changing methods an exempt scope is listed with.
const UNSAFE_METHODS: [Method; 4] = [Method::POST, Method::PUT, Method::PATCH, Method::DELETE];

/// One mounted route.
#[derive(Debug, Clone)]
pub struct RouteInfo {
    pub method: Method,
    pub path: &'static str,
    pub csrf: Csrf,
}

/// How a route is mounted: its per-IP limit, CORS, CSRF exemption.
#[derive(Debug, Clone, Copy, Default)]
pub struct Opts {
    limit: Option<Group>,
    cors: bool,
    exempt: Option<&'static str>,
}

impl Opts {
    pub fn limit(g: Group) -> Opts {
        Opts {
            limit: Some(g),
            ..Opts::default()
        }
    }

    /// Callable from any origin's scripts (protocol endpoints).
    pub fn cors(self) -> Opts {
        Opts { cors: true, ..self }
    }

    /// Not a cookie-authenticated form, so not CSRF-checked: `why`.
    pub fn csrf_exempt(self, why: &'static str) -> Opts {
        Opts {
            exempt: Some(why),
            ..self
        }
    }
}

/// One path's routes, mounted together as one resource (so that a wrong
/// method answers 405 and CORS preflights reach the CORS middleware).
struct Pending {
    path: &'static str,
    opts: Opts,
    routes: Vec<actix_web::Route>,
}

/// Mounts routes (or only lists them). Call [`Table::finish`] at the end.
pub struct Table<'a> {
    cfg: Option<&'a mut web::ServiceConfig>,
    pending: Vec<Pending>,
    routes: Vec<RouteInfo>,
}

impl<'a> Table<'a> {
    pub fn new(cfg: &'a mut web::ServiceConfig) -> Self {
        Table {
            cfg: Some(cfg),
            pending: Vec::new(),
            routes: Vec::new(),
        }
    }

    /// A table that records routes without mounting them.
    pub fn listing() -> Table<'static> {
        Table {
            cfg: None,
            pending: Vec::new(),
            routes: Vec::new(),
        }
    }

    pub fn get<F, Args>(&mut self, path: &'static str, h: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add(Method::GET, path, Opts::default(), h)
    }

    pub fn post<F, Args>(&mut self, path: &'static str, h: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add(Method::POST, path, Opts::default(), h)
    }

    /// Adds `h` for `method` on `path`. The methods of one path share one
    /// resource, with the limit and CORS of the path's first route.
    pub fn add<F, Args>(&mut self, method: Method, path: &'static str, o: Opts, h: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let csrf = match (!is_safe(&method), o.exempt) {
            (true, Some(why)) => Csrf::Exempt(why),
            (true, None) => Csrf::Guarded,
            (false, _) => Csrf::Exempt("a safe method changes nothing"),
        };
        self.routes.push(RouteInfo {
            method: method.clone(),
            path,
            csrf,
        });
        if self.cfg.is_none() {
            return self;
        }
        let route = web::method(method).to(h);
        match self.pending.iter_mut().find(|p| p.path == path) {
            Some(p) => p.routes.push(route),
            None => self.pending.push(Pending {
                path,
                opts: o,
                routes: vec![route],
            }),
        }
        self
    }

    /// Mounts what `f` mounts, all under `prefix` (a `web::scope(prefix)`
    /// with its own middleware), as not CSRF-checked: `why`. For a whole
    /// API that authenticates by bearer token only, never by cookie. Listed
    /// as [`Csrf::ExemptScope`] for each state-changing method.
    pub fn exempt_scope<F>(&mut self, prefix: &'static str, why: &'static str, f: F) -> &mut Self
    where
        F: FnOnce(&mut web::ServiceConfig),
    {
        for method in UNSAFE_METHODS {
            self.routes.push(RouteInfo {
                method,
                path: prefix,
                csrf: Csrf::ExemptScope(why),
            });
        }
        if let Some(cfg) = self.cfg.as_deref_mut() {
            cfg.configure(f);
        }
        self
    }

    /// Mounts what was added; returns the table.
    pub fn finish(self) -> Vec<RouteInfo> {
        if let Some(cfg) = self.cfg {
            for p in self.pending {
                let mut r = web::resource(p.path);
                for route in p.routes {
                    r = r.route(route);
                }
                match (p.opts.limit, p.opts.cors) {
                    (None, false) => cfg.service(r),
                    (Some(g), false) => cfg.service(r.wrap(RateLimit(g))),
                    (None, true) => cfg.service(r.wrap(cors())),
                    (Some(g), true) => cfg.service(r.wrap(RateLimit(g)).wrap(cors())),
                };
            }
        }
        self.routes
    }
}

/// The routes the CSRF guard checks: every state-changing request, unless
/// its route is listed as exempt, lies under an exempt scope, or is a
/// method its path does not have (the path's one resource answers 405
/// before any handler runs). A route missing from the tables is checked:
/// the guard fails closed.
#[derive(Debug, Clone, Default)]
pub struct CsrfGuarded {
    /// Every listed (method, pattern): whether it is checked.
    routes: HashMap<(Method, String), bool>,
    /// Every listed pattern, whatever its methods.
    paths: HashSet<String>,
    /// The exempt scopes: (method, prefix).
    scopes: Vec<(Method, &'static str)>,
}

impl CsrfGuarded {
    pub fn new(tables: &[Vec<RouteInfo>]) -> Self {
        let mut g = CsrfGuarded::default();
        for r in tables.iter().flatten() {
            match r.csrf {
                Csrf::ExemptScope(_) => g.scopes.push((r.method.clone(), r.path)),
                Csrf::Guarded | Csrf::Exempt(_) => {
                    let checked = r.csrf == Csrf::Guarded;
                    g.routes
                        .insert((r.method.clone(), r.path.to_string()), checked);
                    g.paths.insert(r.path.to_string());
                }
            }
        }
        g
    }

    /// Whether a request for the route `pattern` with `method` is checked.
    pub fn guards(&self, method: &Method, pattern: &str) -> bool {
        if is_safe(method) {
            return false;
        }
        if let Some(checked) = self.routes.get(&(method.clone(), pattern.to_string())) {
            return *checked;
        }
        if self
            .scopes
            .iter()
            .any(|(m, prefix)| m == method && under(pattern, prefix))
        {
            return false;
        }
        // A listed path without this method answers 405; anything else is
        // not in the tables, and checked.
        !self.paths.contains(pattern)
    }
}

/// Whether `pattern` is `prefix` or below it (`/a/b` is under `/a`, `/ab` is not).
fn under(pattern: &str, prefix: &str) -> bool {
    pattern
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || prefix.ends_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn h() -> &'static str {
        ""
    }

    fn guarded() -> CsrfGuarded {
        let mut t = Table::listing();
        t.get("/page", h)
            .post("/page", h)
            .get("/only-get", h)
            .add(
                Method::POST,
                "/token",
                Opts::default().csrf_exempt("client auth"),
                h,
            )
            .exempt_scope("/api/v1", "bearer tokens only", |_| {});
        CsrfGuarded::new(&[t.finish()])
    }

    #[test]
    fn listed_routes_are_checked_unless_exempt() {
        let g = guarded();
        assert!(g.guards(&Method::POST, "/page"));
        assert!(!g.guards(&Method::GET, "/page"));
        assert!(!g.guards(&Method::POST, "/token"));
    }

    #[test]
    fn an_unlisted_route_is_checked() {
        let g = guarded();
        for m in UNSAFE_METHODS {
            assert!(g.guards(&m, "/elsewhere/{id}"), "{m}");
            assert!(g.guards(&m, "/api/v1x"), "{m}: not under the scope");
            assert!(g.guards(&m, "/api"), "{m}: above the scope");
        }
        assert!(!g.guards(&Method::GET, "/elsewhere"));
        assert!(!g.guards(&Method::HEAD, "/elsewhere"));
        assert!(!g.guards(&Method::OPTIONS, "/elsewhere"));
        // Unconfigured, everything state-changing is checked.
        assert!(CsrfGuarded::default().guards(&Method::POST, "/page"));
        assert!(CsrfGuarded::default().guards(&Method::DELETE, "/api/v1/x"));
    }

    #[test]
    fn an_exempt_scope_is_not_checked() {
        let g = guarded();
        for m in UNSAFE_METHODS {
            assert!(!g.guards(&m, "/api/v1"), "{m}");
            assert!(!g.guards(&m, "/api/v1/users/{id}"), "{m}");
        }
    }

    #[test]
    fn a_listed_path_without_the_method_is_left_to_its_405() {
        let g = guarded();
        assert!(!g.guards(&Method::POST, "/only-get"));
        assert!(!g.guards(&Method::PUT, "/token"));
    }

    #[test]
    fn the_table_lists_an_exempt_scope_with_its_reason() {
        let mut t = Table::listing();
        t.exempt_scope("/api/v1", "bearer tokens only", |_| {});
        let routes = t.finish();
        assert_eq!(routes.len(), UNSAFE_METHODS.len());
        assert!(routes
            .iter()
            .all(|r| r.path == "/api/v1" && r.csrf == Csrf::ExemptScope("bearer tokens only")));
    }
}
