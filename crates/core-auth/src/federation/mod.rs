//! Sign-in through upstream identity providers (Google, GitHub, Microsoft,
//! GitLab, any OpenID Connect or OAuth2 provider): provider settings and
//! presets, federated identities linked to local users, the decision a
//! validated upstream identity leads to, and the state of sign-ins in
//! progress. The HTTP side (redirects, code exchange, ID token validation)
//! is `oidc_endpoints::upstream`.

pub mod check;
pub mod confirm;
pub mod finish;
pub mod identity;
pub mod links;
pub mod login;
pub mod pending;
pub mod presets;
pub mod provider;
pub mod store;

pub use identity::UpstreamIdentity;
pub use links::FederatedIdentity;
pub use provider::{Kind, TokenAuth, UpstreamProvider};
