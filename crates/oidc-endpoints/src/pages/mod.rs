//! The HTML pages people use: sign in, register, account, sign out.

mod account;
pub mod email;
mod login;
pub mod mfa;
mod profile;
mod register;
mod security;

use actix_web::HttpResponse;
use web_kit::identity::MaybeUser;
use web_kit::ratelimit::Group;
use web_kit::util::see_other;

pub fn mount(t: &mut web_kit::routes::Table) {
    use actix_web::http::Method;
    use web_kit::routes::Opts;
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
