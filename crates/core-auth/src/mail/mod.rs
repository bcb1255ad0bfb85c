//! Mail: what each message says (rendered from one text and one HTML
//! template in `templates/email/`, in the look of the pages) and the durable
//! outbox it waits in until a worker delivers it.

pub mod outbox;

use askama::Template;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::{CoreError, CoreResult};

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub kind: String,
    pub to: String,
    pub to_name: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub struct Action {
    pub label: String,
    pub url: String,
}

#[derive(Template)]
#[template(path = "email/message.txt", escape = "none")]
struct TextBody<'a> {
    greeting: &'a str,
    paragraphs: &'a [String],
    action: &'a Option<Action>,
    after: &'a [String],
    product: &'a str,
    issuer: &'a str,
}

#[derive(Template)]
#[template(path = "email/message.html")]
struct HtmlBody<'a> {
    subject: &'a str,
    greeting: &'a str,
    paragraphs: &'a [String],
    action: &'a Option<Action>,
    after: &'a [String],
    product: &'a str,
    issuer: &'a str,
}

/// What a message says, before rendering.
pub struct Content {
    pub kind: &'static str,
    pub subject: String,
    pub greeting: String,
    pub paragraphs: Vec<String>,
    pub action: Option<Action>,
    pub after: Vec<String>,
}

pub fn render(cfg: &Config, to: &str, to_name: &str, c: Content) -> CoreResult<Message> {
    let product = cfg.mail.from_name.as_str();
    let err = |e: askama::Error| CoreError::Config(format!("mail template: {e}"));
    let text = TextBody {
        greeting: &c.greeting,
        paragraphs: &c.paragraphs,
        action: &c.action,
        after: &c.after,
        product,
        issuer: &cfg.issuer,
    }
    .render()
    .map_err(err)?;
    let html = HtmlBody {
        subject: &c.subject,
        greeting: &c.greeting,
        paragraphs: &c.paragraphs,
        action: &c.action,
        after: &c.after,
        product,
        issuer: &cfg.issuer,
    }
    .render()
    .map_err(err)?;
    Ok(Message {
        kind: c.kind.to_string(),
        to: to.to_string(),
        to_name: to_name.to_string(),
        subject: c.subject,
        text,
        html,
    })
}

fn hello(name: &str) -> String {
    if name.is_empty() {
        "Hello,".into()
    } else {
        format!("Hello {name},")
    }
}

fn hours(secs: i64) -> String {
    match secs {
        s if s % 3600 == 0 && s >= 3600 => {
            let h = s / 3600;
            if h == 1 {
                "1 hour".into()
            } else {
                format!("{h} hours")
            }
        }
        s => format!("{} minutes", (s + 59) / 60),
    }
}

/// The link a new account's owner follows to verify the address.
pub fn verify_email(cfg: &Config, to: &str, name: &str, link: &str) -> CoreResult<Message> {
    render(cfg, to, name, Content {
        kind: "verify_email",
        subject: "Confirm your email address".into(),
        greeting: hello(name),
        paragraphs: vec![format!("Please confirm that {to} is your email address.")],
        action: Some(Action { label: "Confirm email address".into(), url: link.to_string() }),
        after: vec![format!(
            "The link works once and for {}. If you did not create an account, you can ignore this message.",
            hours(cfg.accounts.verification_link_lifetime_secs)
        )],
    })
}

/// Sent instead of creating anything when someone registers an address
/// that already has an account.
pub fn already_registered(cfg: &Config, to: &str, name: &str) -> CoreResult<Message> {
    render(cfg, to, name, Content {
        kind: "already_registered",
        subject: "You already have an account".into(),
        greeting: hello(name),
        paragraphs: vec![format!(
            "Someone, perhaps you, tried to create a new account with {to}. An account with this address already exists, so nothing was changed."
        )],
        action: Some(Action { label: "Sign in".into(), url: format!("{}/login", cfg.issuer) }),
        after: vec![format!(
            "Forgot your password? Set a new one at {}/forgot-password. If this was not you, you can ignore this message.",
            cfg.issuer
        )],
    })
}

pub fn reset_password(cfg: &Config, to: &str, name: &str, link: &str) -> CoreResult<Message> {
    render(cfg, to, name, Content {
        kind: "reset_password",
        subject: "Reset your password".into(),
        greeting: hello(name),
        paragraphs: vec!["We received a request to reset the password of your account.".into()],
        action: Some(Action { label: "Choose a new password".into(), url: link.to_string() }),
        after: vec![format!(
            "The link works once and for {}. If you did not ask for it, ignore this message: your password stays as it is.",
            hours(cfg.accounts.reset_link_lifetime_secs)
        )],
    })
}

pub fn password_changed(cfg: &Config, to: &str, name: &str) -> CoreResult<Message> {
    render(cfg, to, name, Content {
        kind: "password_changed",
        subject: "Your password was changed".into(),
        greeting: hello(name),
        paragraphs: vec![
            "The password of your account was just changed, and every other session was signed out.".into(),
        ],
        action: None,
        after: vec![format!(
            "If you did not do this, reset your password now at {}/forgot-password and tell your administrator.",
            cfg.issuer
        )],
    })
}

pub fn confirm_new_email(cfg: &Config, to: &str, name: &str, link: &str) -> CoreResult<Message> {
    render(
        cfg,
        to,
        name,
        Content {
            kind: "confirm_new_email",
            subject: "Confirm your new email address".into(),
            greeting: hello(name),
            paragraphs: vec![format!(
                "You asked to use {to} as the email address of your account."
            )],
            action: Some(Action {
                label: "Confirm new address".into(),
                url: link.to_string(),
            }),
            after: vec![format!(
                "Your address changes only when you follow this link, which works once and for {}.",
                hours(cfg.accounts.verification_link_lifetime_secs)
            )],
        },
    )
}

pub fn email_changed(cfg: &Config, old: &str, name: &str, new: &str) -> CoreResult<Message> {
    render(cfg, old, name, Content {
        kind: "email_changed",
        subject: "Your email address was changed".into(),
        greeting: hello(name),
        paragraphs: vec![format!(
            "The email address of your account was changed from {old} to {new}. Messages now go to the new address."
        )],
        action: None,
        after: vec!["If you did not do this, contact your administrator at once.".into()],
    })
}

/// Sent to an address someone tried to move their account to while it
/// belongs to another account.
pub fn email_in_use(cfg: &Config, to: &str) -> CoreResult<Message> {
    render(cfg, to, "", Content {
        kind: "email_in_use",
        subject: "Your email address is already in use".into(),
        greeting: hello(""),
        paragraphs: vec![format!(
            "Someone asked to use {to} for another account. It already belongs to your account, so nothing was changed."
        )],
        action: None,
        after: vec!["If this was you, sign in with this address instead.".into()],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_have_text_and_html_with_the_link() {
        let cfg = Config::from_toml_str("issuer = \"https://id.example.com\"").unwrap();
        let m = verify_email(
            &cfg,
            "ada@example.com",
            "Ada <b>",
            "https://id.example.com/verify-email?token=T&x=1",
        )
        .unwrap();
        assert_eq!(m.subject, "Confirm your email address");
        assert!(m
            .text
            .contains("https://id.example.com/verify-email?token=T&x=1"));
        assert!(
            m.html
                .contains("href=\"https://id.example.com/verify-email?token=T&#38;x=1\"")
                || m.html
                    .contains("href=\"https://id.example.com/verify-email?token=T&amp;x=1\""),
            "the link, HTML-escaped: {}",
            m.html
        );
        assert!(
            m.html.contains("Ada &#60;b&#62;") || m.html.contains("Ada &lt;b&gt;"),
            "escaped in HTML"
        );
        assert!(!m.html.contains("Ada <b>"));
        assert!(m.text.contains("Hello Ada <b>,"), "plain in text");
        assert!(m.text.contains("24 hours"));
        let r = reset_password(&cfg, "ada@example.com", "Ada", "L").unwrap();
        assert!(r.text.contains("1 hour"));
    }
}
