//! The HTML pages people use: sign in, register, account, sign out.

mod account;
pub mod email;
mod login;
pub mod mfa;
mod profile;
mod register;
mod security;

use actix_web::HttpResponse;

use crate::ratelimit::Group;

use crate::identity::{CurrentUser, MaybeUser};
use crate::util::see_other;

/// What the shared layout (`base.html`) needs on every page.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    pub title: String,
    pub user_name: Option<String>,
    pub is_admin: bool,
    /// For the sign-out form in the header; empty when nobody is signed in.
    pub csrf: String,
}

impl Layout {
    pub fn anonymous(title: &str) -> Self {
        Self {
            title: title.to_string(),
            ..Self::default()
        }
    }

    pub fn for_user(title: &str, user: &CurrentUser, csrf: &str) -> Self {
        Self {
            title: title.to_string(),
            user_name: Some(user.user.user.name.clone()),
            is_admin: user.is_admin(),
            csrf: csrf.to_string(),
        }
    }
}

pub fn mount(t: &mut crate::routes::Table) {
    use crate::routes::Opts;
    use actix_web::http::Method;
    let sign_in = Opts::limit(Group::SignIn);
    let register = Opts::limit(Group::Register);
    let resend = Opts::limit(Group::VerifyResend);
    let forgot = Opts::limit(Group::ForgotPassword);
    t.get("/", home)
        .add(Method::GET, "/login", sign_in, login::show)
        .add(Method::POST, "/login", sign_in, login::submit)
        .add(Method::GET, "/register", register, register::show)
        .add(Method::POST, "/register", register, register::submit)
        .get("/account", account::show)
        .get("/account/profile", profile::show)
        .post("/account/profile", profile::submit)
        .get("/account/security", security::show)
        // Password checks: the per-IP limit of sign-in, as on /login.
        .add(
            Method::POST,
            "/account/password",
            sign_in,
            security::change_password,
        )
        .add(
            Method::POST,
            "/account/email",
            sign_in,
            security::change_email,
        )
        .get("/verify-email", email::verify)
        .add(Method::POST, "/verify-email/resend", resend, email::resend)
        .add(Method::GET, "/forgot-password", forgot, email::forgot_show)
        .add(
            Method::POST,
            "/forgot-password",
            forgot,
            email::forgot_submit,
        )
        .get("/reset-password", email::reset_show)
        .post("/reset-password", email::reset_submit)
        .post("/account/consents/withdraw", account::withdraw_consent)
        .post("/logout", account::logout);
    mfa::mount(t);
}

async fn home(user: MaybeUser) -> HttpResponse {
    if user.0.is_some() {
        see_other("/account")
    } else {
        see_other("/login")
    }
}

/// Formats a Unix time as a date for people, e.g. `27 November 2026`.
pub fn human_date(t: i64) -> String {
    let fmt = time::macros::format_description!("[day padding:none] [month repr:long] [year]");
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&fmt).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn human_date_formats_utc_days() {
        assert_eq!(super::human_date(1_795_780_800), "27 November 2026");
    }
}
