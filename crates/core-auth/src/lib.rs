//! Portcullis identity domain and storage.
//!
//! Everything here is synchronous and knows nothing of HTTP: functions take a
//! database connection and the current time (`now`, Unix seconds) and return
//! domain results. The web crates call them inside `web::block`.

pub mod accounts;
pub mod actor;
pub mod admin;
pub mod admin_stats;
pub mod audit;
pub mod clients;
pub mod clock;
pub mod config;
pub mod db;
pub mod email_tokens;
pub mod error;
pub mod federation;
pub mod keys;
pub mod local_path;
pub mod mail;
pub mod mfa;
pub mod oidc;
pub mod password;
pub mod prune;
pub mod roles;
pub mod sealed_state;
pub mod secret;
pub mod server_secrets;
pub mod service;
pub mod sessions;
pub mod signin;
pub mod throttle;
pub mod users;

pub use actor::Actor;
pub use clock::{Clock, ManualClock, SystemClock, UnixTime};
pub use config::Config;
pub use db::{DbConn, DbPool};
pub use error::{CoreError, CoreResult};
pub use secret::Secret;
pub use service::Core;
