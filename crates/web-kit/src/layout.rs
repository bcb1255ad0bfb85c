//! What every page shares: the layout (`base.html`) and dates for people.

use crate::identity::CurrentUser;

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
