//! Admin forms: read strictly (size, type, UTF-8, no repeated field) by
//! `web_kit::form`, kept as pairs so that a form can be shown again
//! as it was sent (password confirmation) and checkbox groups can be read
//! by prefix (`role.admin`, `group.<id>`).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use web_kit::form::read_pairs;
use web_kit::{AppContext, PageError};

#[derive(Debug, Clone, Default)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// The value of `name`, or "" when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// A trimmed value, `None` when absent or blank.
    pub fn opt(&self, name: &str) -> Option<String> {
        Some(self.get(name).trim().to_string()).filter(|s| !s.is_empty())
    }

    /// A ticked checkbox.
    pub fn checked(&self, name: &str) -> bool {
        !matches!(self.get(name), "" | "off" | "false" | "0")
    }

    /// The names after `prefix` of the ticked checkboxes `prefix<name>`.
    pub fn ticked(&self, prefix: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k.starts_with(prefix) && !matches!(v.as_str(), "" | "off"))
            .map(|(k, _)| k[prefix.len()..].to_string())
            .collect()
    }

    /// A textarea, one entry per line (blank lines skipped).
    pub fn lines(&self, name: &str) -> Vec<String> {
        self.get(name)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect()
    }

    /// An optional whole number; `Err` with the field's message.
    pub fn number(&self, name: &str) -> Result<Option<i64>, String> {
        match self.opt(name) {
            None => Ok(None),
            Some(s) => s
                .parse::<i64>()
                .map(Some)
                .map_err(|_| "Enter a whole number of seconds, or leave it empty.".to_string()),
        }
    }
}

impl FromRequest for Fields {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let limit = req
                .app_data::<web::Data<AppContext>>()
                .map(|c| c.config.max_body_bytes)
                .unwrap_or(64 * 1024);
            Ok(Fields(read_pairs(&req, &mut payload, limit).await?))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_checkboxes_lines_and_numbers() {
        let f = Fields(vec![
            ("role.admin".into(), "on".into()),
            ("role.editor".into(), "off".into()),
            (
                "uris".into(),
                " https://a.example/cb \r\n\r\nhttps://b.example/cb".into(),
            ),
            ("ttl".into(), "60".into()),
            ("bad".into(), "6o".into()),
        ]);
        assert_eq!(f.ticked("role."), vec!["admin"]);
        assert_eq!(
            f.lines("uris"),
            vec!["https://a.example/cb", "https://b.example/cb"]
        );
        assert_eq!(f.number("ttl"), Ok(Some(60)));
        assert_eq!(f.number("none"), Ok(None));
        assert!(f.number("bad").is_err());
        assert!(f.checked("role.admin") && !f.checked("role.editor") && !f.checked("x"));
        assert_eq!(f.get("x"), "");
    }
}
