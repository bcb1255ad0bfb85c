//! What the fuzz targets share: a small world (a migrated SQLite database
//! in a temporary directory, the signing keys, a configuration, a few
//! clients), built once per process, and helpers to cut an input into
//! fields.
//!
//! Time is fixed at [`NOW`], so that seeds with an `exp` stay valid.

use std::sync::OnceLock;

use core_auth::actor::Actor;
use core_auth::clients::{self, Client, ClientSpec};
use core_auth::db::{self, migrate, DbPool};
use core_auth::keys::{store, Kek, KeyRing};
use core_auth::oidc::Oidc;
use core_auth::Config;

/// The fuzz world's clock.
pub const NOW: i64 = 1_800_000_000;
/// The fuzz world's issuer.
pub const ISSUER: &str = "https://idp.example";

pub struct World {
    pub config: Config,
    pub pool: DbPool,
    pub keys: KeyRing,
    _dir: tempfile::TempDir,
}

impl World {
    pub fn oidc(&self) -> Oidc<'_> {
        Oidc {
            pool: &self.pool,
            keys: &self.keys,
            config: &self.config,
        }
    }
}

/// The world, built on first use. Panics if it cannot be built: a fuzz
/// target without its world finds nothing.
pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| build().unwrap_or_else(|e| panic!("fuzz world: {e}")))
}

fn build() -> Result<World, String> {
    let dir = tempfile::Builder::new()
        .prefix("portcullis-fuzz-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let config = Config {
        issuer: ISSUER.into(),
        data_dir: dir.path().to_path_buf(),
        database_url: format!("sqlite://{}", dir.path().join("fuzz.db").display()),
        ..Config::default()
    }
    .validated()
    .map_err(|e| e.to_string())?;
    let pool = db::connect_pool(&config).map_err(|e| e.to_string())?;
    {
        let mut c = pool.get().map_err(|e| e.to_string())?;
        migrate::run_pending(&mut c).map_err(|e| e.to_string())?;
    }
    let kek = Kek::from_bytes([7; 32]);
    store::maintain(&pool, &kek, &config, &Actor::system(), NOW, false)
        .map_err(|e| e.to_string())?;
    let keys = {
        let mut c = pool.get().map_err(|e| e.to_string())?;
        KeyRing::load(&mut c, kek, NOW).map_err(|e| e.to_string())?
    };
    Ok(World {
        config,
        pool,
        keys,
        _dir: dir,
    })
}

/// A client registered in the world's database under the id `id` (the
/// store makes ids up; the targets want names they can put in inputs).
pub fn register(id: &str, spec: &ClientSpec) -> Client {
    use core_auth::db::schema::clients as t;
    use diesel::prelude::*;
    let w = world();
    let mut c = w.pool.get().expect("connection");
    if let Some(found) = clients::find(&mut c, id).expect("find client") {
        return found;
    }
    let (made, _) =
        clients::create(&mut c, spec, NOW).unwrap_or_else(|e| panic!("client {id}: {e}"));
    diesel::update(t::table.find(&made.client_id))
        .set(t::id.eq(id))
        .execute(&mut c)
        .expect("rename client");
    clients::find(&mut c, id)
        .expect("find client")
        .expect("the client")
}

/// `web`: a confidential client with [`REDIRECT_URIS`], the extra scope
/// `api:read`, authorization_code and refresh_token.
pub fn web_client() -> &'static Client {
    static C: OnceLock<Client> = OnceLock::new();
    C.get_or_init(|| {
        register(
            "web",
            &ClientSpec {
                name: "web".into(),
                redirect_uris: REDIRECT_URIS.iter().map(|s| s.to_string()).collect(),
                post_logout_redirect_uris: vec!["https://app.example.com/bye".into()],
                scopes: vec!["api:read".into()],
                ..ClientSpec::default()
            },
        )
    })
}

/// `spa`: a public client (PKCE required) with one redirect URI.
pub fn spa_client() -> &'static Client {
    static C: OnceLock<Client> = OnceLock::new();
    C.get_or_init(|| {
        register(
            "spa",
            &ClientSpec {
                name: "spa".into(),
                public: true,
                redirect_uris: vec!["https://spa.example/cb".into()],
                ..ClientSpec::default()
            },
        )
    })
}

/// The redirect URIs of the test clients.
pub const REDIRECT_URIS: &[&str] = &[
    "https://app.example.com/cb",
    "https://app.example.com/cb?tenant=1",
    "http://127.0.0.1/cb",
    "http://[::1]/native",
    "http://localhost:3000/cb",
];

/// An input cut into fields at newlines: `field(i)` is the i-th line
/// (the last field takes the rest, newlines and all).
pub struct Fields<'a> {
    parts: Vec<&'a [u8]>,
}

impl<'a> Fields<'a> {
    /// Cuts `data` into at most `n` fields.
    pub fn new(data: &'a [u8], n: usize) -> Self {
        let parts = data.splitn(n.max(1), |b| *b == b'\n').collect();
        Fields { parts }
    }

    pub fn bytes(&self, i: usize) -> &'a [u8] {
        self.parts.get(i).copied().unwrap_or_default()
    }

    /// The field as text, invalid UTF-8 replaced.
    pub fn text(&self, i: usize) -> String {
        String::from_utf8_lossy(self.bytes(i)).into_owned()
    }
}

/// The first byte picks a mode out of `n`; the rest is the input.
pub fn mode(data: &[u8], n: u8) -> (u8, &[u8]) {
    match data.split_first() {
        Some((m, rest)) => (m % n, rest),
        None => (0, data),
    }
}
