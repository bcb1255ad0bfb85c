//! Strict form and query parsing (`web_kit::form`,
//! `protocol::params`): no panic; a repeated parameter is always refused;
//! NUL passes only where allowed; what the strict parser accepts reaches a
//! `Form<T>` unchanged (it re-encodes the pairs for serde_urlencoded).
#![no_main]

use libfuzzer_sys::fuzz_target;
use oidc_endpoints::protocol::params::{from_query, from_query_allowing_nul};
use web_kit::form::{parse_pairs, parse_pairs_allowing_nul, BodyError};

fuzz_target!(|data: &[u8]| {
    let lenient = parse_pairs_allowing_nul(data);
    let strict = parse_pairs(data);
    match &lenient {
        Ok(pairs) => {
            for (i, (k, _)) in pairs.iter().enumerate() {
                assert!(
                    !pairs[..i].iter().any(|(other, _)| other == k),
                    "duplicate {k:?} accepted"
                );
            }
            let has_nul = pairs
                .iter()
                .any(|(k, v)| k.contains('\0') || v.contains('\0'));
            if has_nul {
                assert_eq!(strict, Err(BodyError::Nul));
            } else {
                assert_eq!(strict.as_ref(), Ok(pairs));
            }
            // `Form<T>` re-encodes the pairs and hands them to
            // serde_urlencoded: it must read back exactly what was checked.
            let encoded = serde_urlencoded::to_string(pairs).expect("pairs encode");
            let back: Vec<(String, String)> =
                serde_urlencoded::from_str(&encoded).expect("encoded pairs decode");
            assert_eq!(&back, pairs, "re-encoding changed the form");
            assert_eq!(
                parse_pairs_allowing_nul(encoded.as_bytes()).as_ref(),
                Ok(pairs)
            );
        }
        Err(e) => assert_eq!(strict.as_ref(), Err(e)),
    }
    if let Ok(query) = std::str::from_utf8(data) {
        let n = lenient.as_ref().map(Vec::len).ok();
        assert_eq!(from_query_allowing_nul(query).ok().map(|p| p.len()), n);
        if let Ok(p) = from_query(query) {
            assert_eq!(Some(p.len()), n);
        }
    }
});
