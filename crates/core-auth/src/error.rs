//! The domain error. Each variant carries a stable, searchable code
//! (`PC-xxnn`) that appears in logs and in the admin API's problem documents.
//! HTTP mapping happens once per web crate, never here.

use std::fmt;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("PC-DB01 database error: {0}")]
    Database(diesel::result::Error),
    #[error("PC-DB02 database unavailable: {0}")]
    Unavailable(String),
    #[error("PC-DB03 migration failed: {0}")]
    Migration(String),
    #[error("PC-CF01 configuration error: {0}")]
    Config(String),
    #[error("PC-VA01 invalid input: {0}")]
    Validation(ValidationErrors),
    #[error("PC-US01 an account with this email already exists")]
    EmailTaken,
    #[error("PC-US02 invalid email or password")]
    InvalidCredentials,
    #[error("PC-US03 account disabled")]
    AccountDisabled,
    #[error("PC-NF01 {0} not found")]
    NotFound(&'static str),
    #[error("PC-CR01 cryptographic failure: {0}")]
    Crypto(String),
    /// A sensitive action by someone who signed in (or whose token was
    /// issued) longer ago than `admin.reauth_window_secs`.
    #[error("PC-AU01 confirm who you are again for this action (within {max_age} s)")]
    ReauthRequired { max_age: i64 },
}

pub type CoreResult<T> = Result<T, CoreError>;

impl CoreError {
    /// The stable code, e.g. `PC-US02`.
    pub fn code(&self) -> &'static str {
        match self {
            CoreError::Database(_) => "PC-DB01",
            CoreError::Unavailable(_) => "PC-DB02",
            CoreError::Migration(_) => "PC-DB03",
            CoreError::Config(_) => "PC-CF01",
            CoreError::Validation(_) => "PC-VA01",
            CoreError::EmailTaken => "PC-US01",
            CoreError::InvalidCredentials => "PC-US02",
            CoreError::AccountDisabled => "PC-US03",
            CoreError::NotFound(_) => "PC-NF01",
            CoreError::Crypto(_) => "PC-CR01",
            CoreError::ReauthRequired { .. } => "PC-AU01",
        }
    }

    /// True for failures of the server rather than of the request.
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            CoreError::Database(_)
                | CoreError::Unavailable(_)
                | CoreError::Migration(_)
                | CoreError::Config(_)
                | CoreError::Crypto(_)
        )
    }
}

impl From<diesel::result::Error> for CoreError {
    /// A lost connection (the database restarted, the network failed) is
    /// "unavailable" (503, retry), not an internal error; r2d2 discards the
    /// broken connection and the next request gets a fresh one.
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match &e {
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            )
            | Error::BrokenTransactionManager => CoreError::Unavailable(e.to_string()),
            Error::DatabaseError(_, info) if is_connection_failure(info.message()) => {
                CoreError::Unavailable(e.to_string())
            }
            _ => CoreError::Database(e),
        }
    }
}

fn is_connection_failure(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "server closed the connection",
        "terminating connection",
        "connection refused",
        "no connection to the server",
        "could not receive data",
        "could not send data",
        "the database system is shutting down",
        "the database system is starting up",
    ]
    .iter()
    .any(|p| m.contains(p))
}

impl From<r2d2::Error> for CoreError {
    fn from(e: r2d2::Error) -> Self {
        CoreError::Unavailable(e.to_string())
    }
}

/// Field-level validation messages, in the order the form shows its fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<FieldError>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl ValidationErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push(FieldError {
            field,
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first message for `field`, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    /// `Ok(())` when empty, else the errors as a [`CoreError`].
    pub fn into_result(self) -> CoreResult<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(CoreError::Validation(self))
        }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        f.write_str(&parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_collect_per_field() {
        let mut v = ValidationErrors::default();
        assert!(v.clone().into_result().is_ok());
        v.add("email", "Enter a valid email address.");
        v.add("password", "Too short.");
        assert_eq!(v.get("email"), Some("Enter a valid email address."));
        assert_eq!(v.get("name"), None);
        let err = v.into_result().unwrap_err();
        assert_eq!(err.code(), "PC-VA01");
        assert!(err
            .to_string()
            .contains("email: Enter a valid email address."));
    }

    #[test]
    fn codes_are_in_the_message() {
        for e in [
            CoreError::EmailTaken,
            CoreError::InvalidCredentials,
            CoreError::AccountDisabled,
            CoreError::NotFound("user"),
            CoreError::Config("x".into()),
        ] {
            assert!(e.to_string().starts_with(e.code()), "{e}");
        }
    }
}
