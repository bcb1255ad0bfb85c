//! Scope strings (`ScopeSet`) and the `claims` request parameter
//! (`oidc::claims`): parsing, what each asks for, what is released.
//! Input: a scope line, a stored profile (JSON) line, then the `claims`
//! parameter.
//!
//! Checks: a parsed scope has no empty, spaced or repeated token and
//! reads back from its own string; a well-formed one is printable ASCII;
//! an accepted `claims` value is an object; only user claims are released,
//! and the claims that need explicit consent are ones that were asked for
//! and that the scopes do not release.
#![no_main]

use core_auth::oidc::claims::{
    beyond_scopes, claims_of_scope, parse_claims_request, release, requested, Profile, Target,
};
use core_auth::oidc::scopes::ScopeSet;
use core_auth::users::User;
use libfuzzer_sys::fuzz_target;
use portcullis_fuzz::{Fields, NOW};

const USER_SCOPES: &[&str] = &["profile", "email", "address", "phone"];

fn is_user_claim(c: &str) -> bool {
    USER_SCOPES.iter().any(|s| claims_of_scope(s).contains(&c))
}

fn check_scope(s: &str) -> ScopeSet {
    let set = ScopeSet::parse(s);
    for (i, t) in set.iter().enumerate() {
        assert!(!t.is_empty() && !t.contains(' '), "{t:?}");
        assert!(!set.0[..i].iter().any(|x| x == t), "{t:?} repeated");
    }
    assert_eq!(ScopeSet::parse(&set.to_string()), set);
    assert!(set.is_subset_of(&set));
    assert_eq!(set.union(&set), set);
    if ScopeSet::is_well_formed(s) {
        for t in set.iter() {
            assert!(t
                .chars()
                .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\'));
        }
    }
    set
}

fuzz_target!(|data: &[u8]| {
    let f = Fields::new(data, 3);
    let scopes = check_scope(&f.text(0));
    let profile = Profile::parse(&f.text(1));
    let _ = profile.clone().normalized();
    let user = User {
        id: "user-1".into(),
        email: "ada@example.com".into(),
        email_key: "ada@example.com".into(),
        email_verified: true,
        name: "Ada".into(),
        password_hash: None,
        disabled: false,
        created_at: NOW,
        updated_at: NOW,
        profile: profile.to_json(),
    };
    let Ok(request) = parse_claims_request(&f.text(2)) else {
        return;
    };
    assert!(request.is_object());
    let mut asked = Vec::new();
    for target in [Target::IdToken, Target::Userinfo] {
        asked.extend(
            requested(Some(&request), target)
                .into_iter()
                .map(|(k, _)| k),
        );
        for (k, _) in release(&user, &scopes, Some(&request), target) {
            assert!(is_user_claim(&k), "released {k:?}");
        }
    }
    let released_by_scope: Vec<&str> = scopes.iter().flat_map(claims_of_scope).copied().collect();
    for c in beyond_scopes(&scopes, Some(&request)) {
        assert!(is_user_claim(&c) && asked.contains(&c), "{c:?}");
        assert!(!released_by_scope.contains(&c.as_str()), "{c:?}");
    }
});
