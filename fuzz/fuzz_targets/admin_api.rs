//! The admin API's inputs: its JSON bodies (deserialized strictly, then
//! checked as the handlers do: client registrations by
//! `clients::validate_spec`, upstream providers by `federation::check`),
//! its query strings, the opaque cursors and the audit log's time bounds.
//!
//! The first byte picks the type: 0 NewUser, 1 UserPatch, 2 ClientIn,
//! 3 RoleIn, 4 RoleRename, 5 GroupIn, 6 GroupPatch, 7 ProviderIn (JSON);
//! 8 users, 9 sessions, 10 audit, 11 audit export (query strings).
#![no_main]

use admin_ui::api::extract::{decode_cursor, encode_cursor, limit};
use admin_ui::api::providers::ProviderIn;
use admin_ui::api::system::{AuditParams, ExportParams, SessionParams};
use admin_ui::api::types::{ClientIn, GroupIn, GroupPatch, NewUser, RoleIn, RoleRename, UserPatch};
use admin_ui::api::users::ListParams;
use admin_ui::audit::parse_time;
use core_auth::clients::{
    is_private_use_scheme, native_redirect_uri_problem, redirect_uri_problem, validate_spec,
    ClientSpec,
};
use core_auth::federation::provider::UpstreamProvider;
use libfuzzer_sys::fuzz_target;
use portcullis_fuzz::mode;
use serde::de::DeserializeOwned;

fn json<T: DeserializeOwned>(b: &[u8]) -> Option<T> {
    serde_json::from_slice(b).ok()
}

fn query<T: DeserializeOwned>(b: &[u8]) -> Option<T> {
    serde_urlencoded::from_str(std::str::from_utf8(b).ok()?).ok()
}

fn cursor(c: Option<&str>) {
    if let Ok(Some(position)) = decode_cursor(c) {
        let again = decode_cursor(Some(&encode_cursor(&position)));
        assert_eq!(again.ok().flatten().as_deref(), Some(position.as_str()));
    }
}

fn page_size(l: Option<i64>) {
    if let Ok(n) = limit(l) {
        assert!((1..=200).contains(&n));
    }
}

fn times(from: Option<&str>, to: Option<&str>) {
    for (t, end) in [(from, false), (to, true)] {
        let _ = parse_time(t.unwrap_or_default(), end);
    }
}

fn client(c: ClientIn) {
    let spec = ClientSpec::from(c);
    if validate_spec(&spec).is_ok() {
        for u in spec
            .redirect_uris
            .iter()
            .chain(&spec.post_logout_redirect_uris)
        {
            // A native app (public client) may also use a private-use
            // scheme (RFC 8252); a confidential client only the web rules.
            let problem = match spec.public {
                true => native_redirect_uri_problem(u),
                false => redirect_uri_problem(u),
            };
            assert_eq!(problem, None, "{u:?}");
            if !spec.public {
                assert!(!is_private_use_scheme(u), "{u:?}");
            }
        }
        for s in &spec.scopes {
            assert!(
                !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic()),
                "{s:?}"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let (m, rest) = mode(data, 12);
    cursor(std::str::from_utf8(rest).ok());
    match m {
        0 => drop(json::<NewUser>(rest)),
        1 => drop(json::<UserPatch>(rest)),
        2 => {
            if let Some(c) = json::<ClientIn>(rest) {
                client(c);
            }
        }
        3 => drop(json::<RoleIn>(rest)),
        4 => drop(json::<RoleRename>(rest)),
        5 => drop(json::<GroupIn>(rest)),
        6 => drop(json::<GroupPatch>(rest)),
        7 => {
            if let Some(p) = json::<ProviderIn>(rest) {
                let mut p = UpstreamProvider::from(p);
                let _ = core_auth::federation::check::check(&mut p);
            }
        }
        8 => {
            if let Some(p) = query::<ListParams>(rest) {
                cursor(p.cursor.as_deref());
                page_size(p.limit);
            }
        }
        9 => {
            if let Some(p) = query::<SessionParams>(rest) {
                cursor(p.cursor.as_deref());
                page_size(p.limit);
            }
        }
        10 => {
            if let Some(p) = query::<AuditParams>(rest) {
                cursor(p.cursor.as_deref());
                page_size(p.limit);
                times(p.from.as_deref(), p.to.as_deref());
            }
        }
        _ => {
            if let Some(p) = query::<ExportParams>(rest) {
                times(p.from.as_deref(), p.to.as_deref());
            }
        }
    }
});
