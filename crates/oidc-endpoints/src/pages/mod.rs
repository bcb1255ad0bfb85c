//! The HTML pages people use: sign in, register, account, sign out.

mod account;
pub mod email;
mod login;
mod profile;
mod register;
mod security;

use actix_web::{web, HttpResponse};

use crate::ratelimit::{Group, RateLimit};

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

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .service(
            web::resource("/login")
                .wrap(RateLimit(Group::SignIn))
                .route(web::get().to(login::show))
                .route(web::post().to(login::submit)),
        )
        .service(
            web::resource("/register")
                .wrap(RateLimit(Group::Register))
                .route(web::get().to(register::show))
                .route(web::post().to(register::submit)),
        )
        .route("/account", web::get().to(account::show))
        .service(
            web::resource("/account/profile")
                .route(web::get().to(profile::show))
                .route(web::post().to(profile::submit)),
        )
        .service(web::resource("/account/security").route(web::get().to(security::show)))
        .route(
            "/account/password",
            web::post().to(security::change_password),
        )
        .route("/account/email", web::post().to(security::change_email))
        .route("/verify-email", web::get().to(email::verify))
        .service(
            web::resource("/verify-email/resend")
                .wrap(RateLimit(Group::VerifyResend))
                .route(web::post().to(email::resend)),
        )
        .service(
            web::resource("/forgot-password")
                .wrap(RateLimit(Group::ForgotPassword))
                .route(web::get().to(email::forgot_show))
                .route(web::post().to(email::forgot_submit)),
        )
        .service(
            web::resource("/reset-password")
                .route(web::get().to(email::reset_show))
                .route(web::post().to(email::reset_submit)),
        )
        .route(
            "/account/consents/withdraw",
            web::post().to(account::withdraw_consent),
        )
        .route("/logout", web::post().to(account::logout));
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
