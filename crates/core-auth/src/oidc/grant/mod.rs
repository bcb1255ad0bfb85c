//! The token endpoint's grants, one file each.

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;

use std::collections::HashMap;

/// Token request parameters (a repeated parameter was already refused).
pub type Params = HashMap<String, String>;

pub(crate) fn param<'a>(p: &'a Params, k: &str) -> Option<&'a str> {
    p.get(k).map(String::as_str).filter(|v| !v.is_empty())
}
