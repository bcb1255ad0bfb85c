//! Validation and decisions of authorization requests.

use super::*;
use crate::clients::AuthMethod;

fn client(public: bool) -> Client {
    Client {
        client_id: "app".into(),
        name: "App".into(),
        secret_hash: None,
        auth_method: if public {
            AuthMethod::None
        } else {
            AuthMethod::ClientSecretBasic
        },
        redirect_uris: vec!["https://app.example.com/cb".into()],
        post_logout_redirect_uris: vec![],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scopes: vec!["api".into()],
        skip_consent: false,
        always_issue_refresh: false,
        jwks_uri: None,
        jwks: None,
        access_token_lifetime_secs: None,
        refresh_token_idle_secs: None,
        refresh_token_absolute_secs: None,
        resource_server_audiences: vec![],
        id_token_signed_response_alg: crate::keys::Algorithm::DEFAULT,
        tokens_not_before: 0,
        require_pushed_authorization_requests: false,
        require_signed_request_object: false,
        created_at: 0,
        updated_at: 0,
    }
}

fn params(pairs: &[(&str, &str)]) -> Params {
    let mut p: Params = [
        ("client_id", "app"),
        ("response_type", "code"),
        ("scope", "openid"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in pairs {
        p.insert(k.to_string(), v.to_string());
    }
    p
}

fn err_code(r: Result<AuthzRequest, AuthzError>) -> ErrorCode {
    match r {
        Err(AuthzError::Redirect { error, .. }) => error.code,
        other => panic!("expected a redirect error, got {other:?}"),
    }
}

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

#[test]
fn minimal_request_is_valid_and_unknown_scopes_are_ignored() {
    let r = validate(
        &params(&[("scope", "openid email api other")]),
        &client(false),
        None,
        10,
    )
    .unwrap();
    assert_eq!(r.scope.to_string(), "openid email api");
    assert_eq!(r.redirect_uri, "https://app.example.com/cb");
    assert!(!r.redirect_uri_given);
    assert_eq!(r.response_mode, ResponseMode::Query);
}

#[test]
fn pkce_rules() {
    let c = client(true);
    assert_eq!(
        err_code(validate(&params(&[]), &c, None, 0)),
        ErrorCode::InvalidRequest,
        "public needs PKCE"
    );
    let r = validate(
        &params(&[
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]),
        &c,
        None,
        0,
    )
    .unwrap();
    assert_eq!(r.code_challenge.as_deref(), Some(CHALLENGE));
    assert_eq!(
        err_code(validate(
            &params(&[
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "plain")
            ]),
            &c,
            None,
            0
        )),
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        err_code(validate(
            &params(&[("code_challenge", CHALLENGE)]),
            &c,
            None,
            0
        )),
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        err_code(validate(
            &params(&[
                ("code_challenge", "short"),
                ("code_challenge_method", "S256")
            ]),
            &c,
            None,
            0
        )),
        ErrorCode::InvalidRequest
    );
}

#[test]
fn unsupported_things_get_their_error_codes() {
    let c = client(false);
    assert_eq!(
        err_code(validate(
            &params(&[("response_type", "token")]),
            &c,
            None,
            0
        )),
        ErrorCode::UnsupportedResponseType
    );
    assert_eq!(
        err_code(validate(&params(&[("request", "x.y.z")]), &c, None, 0)),
        ErrorCode::RequestNotSupported
    );
    assert_eq!(
        err_code(validate(
            &params(&[("request_uri", "https://x")]),
            &c,
            None,
            0
        )),
        ErrorCode::RequestUriNotSupported
    );
    assert_eq!(
        err_code(validate(&params(&[("scope", "nope")]), &c, None, 0)),
        ErrorCode::InvalidScope
    );
    assert_eq!(
        err_code(validate(&params(&[("prompt", "none login")]), &c, None, 0)),
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        err_code(validate(&params(&[("max_age", "-1")]), &c, None, 0)),
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        err_code(validate(&params(&[("claims", "nope")]), &c, None, 0)),
        ErrorCode::InvalidRequest
    );
    // Parameters we accept and ignore.
    assert!(validate(
        &params(&[
            ("display", "page"),
            ("ui_locales", "fr"),
            ("acr_values", "1"),
            ("foo", "bar")
        ]),
        &c,
        None,
        0
    )
    .is_ok());
}

#[test]
fn redirect_uri_problems_are_pages() {
    let c = client(false);
    let r = validate(
        &params(&[("redirect_uri", "https://app.example.com/cb/extra")]),
        &c,
        None,
        0,
    );
    assert!(matches!(r, Err(AuthzError::Page(_))));
    let r = validate(
        &params(&[("redirect_uri", "https://app.example.com/cb?x=1")]),
        &c,
        None,
        0,
    );
    assert!(matches!(r, Err(AuthzError::Page(_))));
    let mut two = client(false);
    two.redirect_uris
        .push("https://app.example.com/other".into());
    assert!(matches!(
        validate(&params(&[]), &two, None, 0),
        Err(AuthzError::Page(_))
    ));
    assert!(matches!(
        resolve_redirect(&params(&[]), None),
        Err(AuthzError::Page(_))
    ));
}

#[test]
fn decisions() {
    let c = client(false);
    let mut r = validate(&params(&[]), &c, None, 100).unwrap();
    r.session_at_start = Some("sid-1".into());
    let s = SessionInfo {
        user_id: "u".into(),
        auth_time: 50,
        sid: "sid-1".into(),
        amr: vec!["pwd".into()],
        reachable: 1,
    };
    assert_eq!(decide(&r, &c, None, false, 100), Next::SignIn);
    assert_eq!(decide(&r, &c, Some(&s), false, 100), Next::Consent);
    assert_eq!(decide(&r, &c, Some(&s), true, 100), Next::Issue);
    r.prompt.login = true;
    assert_eq!(decide(&r, &c, Some(&s), true, 100), Next::SignIn);
    let fresh = SessionInfo {
        user_id: "u".into(),
        auth_time: 100,
        sid: "sid-2".into(),
        amr: vec!["pwd".into()],
        reachable: 1,
    };
    assert_eq!(acr_for(&r, &fresh), "1");
    assert_eq!(acr_for(&r, &s), "0");
    assert_eq!(decide(&r, &c, Some(&fresh), true, 101), Next::Issue);
    r.prompt = Prompt {
        none: true,
        ..Prompt::default()
    };
    assert!(
        matches!(decide(&r, &c, None, true, 100), Next::Fail(e) if e.code == ErrorCode::LoginRequired)
    );
    assert!(
        matches!(decide(&r, &c, Some(&s), false, 100), Next::Fail(e) if e.code == ErrorCode::ConsentRequired)
    );
    r.prompt = Prompt::default();
    r.max_age = Some(10);
    assert_eq!(
        decide(&r, &c, Some(&s), true, 100),
        Next::SignIn,
        "auth_time 50 is older than max_age"
    );
    r.max_age = None;
    r.hint_sub = Some("someone-else".into());
    assert_eq!(decide(&r, &c, Some(&s), true, 100), Next::SignIn);
}

fn session(amr: &[&str], reachable: u8) -> SessionInfo {
    SessionInfo {
        user_id: "u".into(),
        auth_time: 100,
        sid: "sid-1".into(),
        amr: amr.iter().map(|s| s.to_string()).collect(),
        reachable,
    }
}

#[test]
fn acr_values_step_up_a_weaker_session_instead_of_a_new_sign_in() {
    let c = client(false);
    let mut r = validate(&params(&[("acr_values", "2")]), &c, None, 100).unwrap();
    r.session_at_start = Some("sid-1".into());
    let pwd = session(&["pwd"], 2);
    assert_eq!(decide(&r, &c, Some(&pwd), true, 100), Next::StepUp(2));
    let mfa = session(&["pwd", "otp", "mfa"], 2);
    assert_eq!(decide(&r, &c, Some(&mfa), true, 100), Next::Issue);
    // Asked for, so reported even on a reused session.
    assert_eq!(acr_for(&r, &mfa), "2");
    // Voluntary and out of reach: the best there is, and acr says so.
    let weak = session(&["pwd"], 1);
    assert_eq!(decide(&r, &c, Some(&weak), true, 100), Next::Issue);
    assert_eq!(acr_for(&r, &weak), "1");
    // A passkey is level 3; "phr" names it too.
    let r3 = validate(&params(&[("acr_values", "x phr")]), &c, None, 100).unwrap();
    assert_eq!(decide(&r3, &c, Some(&mfa), true, 100), Next::Issue);
    let with_key = session(&["pwd", "otp", "mfa"], 3);
    assert_eq!(decide(&r3, &c, Some(&with_key), true, 100), Next::StepUp(3));
    let used_key = session(&["pwd", "hwk", "mfa"], 3);
    assert_eq!(acr_for(&r3, &used_key), "3");
}

#[test]
fn an_essential_acr_out_of_reach_is_an_error_and_prompt_none_never_steps_up() {
    let c = client(false);
    let claims = r#"{"id_token":{"acr":{"essential":true,"values":["3"]}}}"#;
    let r = validate(&params(&[("claims", claims)]), &c, None, 100).unwrap();
    let mfa = session(&["pwd", "otp", "mfa"], 2);
    assert!(matches!(
        decide(&r, &c, Some(&mfa), true, 100),
        Next::Fail(e) if e.code == ErrorCode::UnmetAuthenticationRequirements
    ));
    let with_key = session(&["pwd", "otp", "mfa"], 3);
    assert_eq!(decide(&r, &c, Some(&with_key), true, 100), Next::StepUp(3));
    let mut none = r.clone();
    none.prompt.none = true;
    assert!(matches!(
        decide(&none, &c, Some(&with_key), true, 100),
        Next::Fail(e) if e.code == ErrorCode::InteractionRequired
    ));
    // max_age still forces a fresh sign-in, whatever the level.
    let mut aged = r.clone();
    aged.max_age = Some(10);
    let old = SessionInfo {
        auth_time: 10,
        ..with_key
    };
    assert_eq!(decide(&aged, &c, Some(&old), true, 100), Next::SignIn);
}
