//! Fetching and caching the key sets of `private_key_jwt` clients that
//! registered a `jwks_uri`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const TTL: Duration = Duration::from_secs(300);
const MAX_BYTES: usize = 64 * 1024;

#[derive(Debug, Default)]
pub struct JwksCache {
    entries: Mutex<HashMap<String, (Instant, String)>>,
}

impl JwksCache {
    /// The key set at `uri`, from the cache when younger than five minutes
    /// (unless `fresh`), else fetched.
    pub async fn get(&self, uri: &str, fresh: bool) -> Option<String> {
        if !fresh {
            if let Ok(map) = self.entries.lock() {
                if let Some((at, doc)) = map.get(uri) {
                    if at.elapsed() < TTL {
                        return Some(doc.clone());
                    }
                }
            }
        }
        let doc = fetch(uri).await?;
        if let Ok(mut map) = self.entries.lock() {
            map.insert(uri.to_string(), (Instant::now(), doc.clone()));
        }
        Some(doc)
    }
}

async fn fetch(uri: &str) -> Option<String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .ok()?;
    let resp = client.get(uri).send().await.ok()?;
    if !resp.status().is_success() {
        tracing::warn!(%uri, status = resp.status().as_u16(), "client JWKS fetch failed");
        return None;
    }
    let bytes = resp.bytes().await.ok()?;
    if bytes.len() > MAX_BYTES {
        tracing::warn!(%uri, "client JWKS is too large");
        return None;
    }
    String::from_utf8(bytes.to_vec()).ok()
}
