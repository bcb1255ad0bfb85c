//! What only the protocol endpoints keep between requests, one per node
//! beside the shared [`web_kit::AppContext`]: the discovery documents, the
//! key sets of `private_key_jwt` clients, and the upstream providers'
//! HTTP client and discovery cache. The binary builds it once and
//! registers it as `web::Data<ProtocolState>`, and its upstream cache as
//! `web::Data<dyn web_kit::context::ProviderCache>` for the console.

use std::sync::Arc;

use core_auth::Config;
use web_kit::context::ProviderCache;

use crate::discovery::Discovery;
use crate::jwks_fetch::JwksCache;
use crate::upstream::Upstreams;

#[derive(Clone, Debug)]
pub struct ProtocolState {
    /// Discovery documents, serialized once.
    pub discovery: Arc<Discovery>,
    /// Client key sets fetched from `jwks_uri` (private_key_jwt).
    pub client_jwks: Arc<JwksCache>,
    /// Upstream identity providers: HTTP client and discovery cache.
    pub upstream: Arc<Upstreams>,
}

impl ProtocolState {
    pub fn new(config: &Config) -> Self {
        Self {
            discovery: Arc::new(Discovery::build(config)),
            client_jwks: Arc::new(JwksCache::default()),
            upstream: Arc::new(Upstreams::default()),
        }
    }

    /// The upstream discovery cache, as the console sees it.
    pub fn provider_cache(&self) -> Arc<dyn ProviderCache> {
        self.upstream.clone()
    }
}
