//! The route table. Every route of the web crates is mounted through a
//! [`Table`], which registers it with actix-web and also records it, so the
//! application can list its own routes: the CSRF guard ([`crate::csrf::guard`])
//! checks every state-changing route except those marked exempt (protocol
//! endpoints that authenticate a client or a bearer token, never a cookie),
//! and a test walks the whole table to prove every other POST refuses a
//! missing token.

use std::collections::HashSet;

use actix_web::http::Method;
use actix_web::{web, FromRequest, Handler, Responder};

use crate::protocol::cors;
use crate::ratelimit::{Group, RateLimit};

/// Whether the CSRF guard checks a state-changing route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Csrf {
    Guarded,
    /// Not a cookie-authenticated form; the reason, for the reader.
    Exempt(&'static str),
}

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
        let unsafe_method = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
        let csrf = match (unsafe_method, o.exempt) {
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

/// The routes the CSRF guard checks: every state-changing route of the
/// route tables that is not exempt. (A method a path does not have is not
/// checked: the router answers it 405.)
#[derive(Debug, Clone, Default)]
pub struct CsrfGuarded {
    routes: HashSet<(Method, String)>,
}

impl CsrfGuarded {
    pub fn new(tables: &[Vec<RouteInfo>]) -> Self {
        let routes = tables
            .iter()
            .flatten()
            .filter(|r| r.csrf == Csrf::Guarded)
            .map(|r| (r.method.clone(), r.path.to_string()))
            .collect();
        CsrfGuarded { routes }
    }

    /// Whether a request for the route `pattern` with `method` is checked.
    pub fn guards(&self, method: &Method, pattern: &str) -> bool {
        self.routes.contains(&(method.clone(), pattern.to_string()))
    }
}
