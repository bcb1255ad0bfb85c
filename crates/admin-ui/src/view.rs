//! What every console page shares: the admin navigation, a one-time notice
//! after an action (kept in the session), times for people.

use std::fmt;

use actix_session::Session;
use web_kit::identity::CurrentUser;
use web_kit::layout::Layout;
use web_kit::{csrf, PageError};

const FLASH: &str = "admin_flash";

/// A Unix time shown as `2026-11-27 14:05 UTC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time(pub i64);

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
        let s = time::OffsetDateTime::from_unix_timestamp(self.0)
            .ok()
            .and_then(|d| d.format(&fmt).ok())
            .unwrap_or_default();
        f.write_str(&s)
    }
}

/// An optional time; a dash when absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaybeTime(pub Option<i64>);

impl fmt::Display for MaybeTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(t) => Time(t).fmt(f),
            None => f.write_str("—"),
        }
    }
}

/// The console's frame around a page.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// Which navigation entry is current.
    pub nav: &'static str,
    pub csrf: String,
    /// The notice left by the last action, shown once.
    pub flash: Option<String>,
}

/// The layout and chrome of a console page (takes the one-time notice).
pub fn frame(
    session: &Session,
    admin: &CurrentUser,
    title: &str,
    nav: &'static str,
) -> Result<(Layout, Chrome), PageError> {
    let csrf = csrf::token(session)?;
    let flash = session.remove_as::<String>(FLASH).and_then(Result::ok);
    Ok((
        Layout::for_user(title, admin, &csrf),
        Chrome { nav, csrf, flash },
    ))
}

/// Leaves a notice for the next page.
pub fn flash(session: &Session, msg: impl Into<String>) {
    let _ = session.insert(FLASH, msg.into());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_minutes() {
        assert_eq!(Time(1_795_780_800).to_string(), "2026-11-27 12:00 UTC");
        assert_eq!(MaybeTime(None).to_string(), "—");
    }
}
