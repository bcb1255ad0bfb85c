//! Small helpers shared by the test modules.

use diesel::prelude::*;
use testkit::TestServer;

pub const PASSWORD: &str = "correct horse battery staple";

pub async fn user_count(srv: &TestServer) -> i64 {
    srv.with_db(|c| {
        core_auth::db::schema::users::table
            .count()
            .get_result::<i64>(c)
            .unwrap()
    })
    .await
}

/// The value of the session cookie `client` would send.
pub fn session_cookie(resp: &reqwest::Response) -> Option<String> {
    resp.cookies()
        .find(|c| c.name() == "portcullis_session")
        .map(|c| c.value().to_string())
}

/// A client without a cookie store that sends exactly `cookie`.
pub fn client_with_cookie() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}
