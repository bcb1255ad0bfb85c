//! Strict form parsing for every page and endpoint: the body is read up to
//! the configured limit (413 beyond), must be
//! `application/x-www-form-urlencoded`, must decode to valid UTF-8 (no
//! silent replacement characters in a password), and may not repeat a
//! parameter (RFC 6749 §3.1 forbids it for OAuth; for pages it is a sign of
//! tampering).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::context::AppContext;
use crate::errors::PageError;

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("the request body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the body must be application/x-www-form-urlencoded")]
    ContentType,
    #[error("the body is not valid UTF-8")]
    Utf8,
    #[error("the parameter `{0}` is given more than once")]
    Duplicate(String),
    #[error("the body could not be read: {0}")]
    Read(String),
    #[error("the form is malformed: {0}")]
    Malformed(String),
    #[error("a parameter contains a NUL character")]
    Nul,
}

impl From<BodyError> for PageError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge(_) => PageError::PayloadTooLarge,
            other => PageError::BadRequest(format!("The form could not be read: {other}.")),
        }
    }
}

/// Reads the whole body, refusing more than `limit` bytes.
pub async fn read_body<S>(
    req: &HttpRequest,
    payload: &mut S,
    limit: usize,
) -> Result<web::BytesMut, BodyError>
where
    S: futures_util::Stream<Item = Result<web::Bytes, actix_web::error::PayloadError>> + Unpin,
{
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
    {
        if len > limit {
            return Err(BodyError::TooLarge(limit));
        }
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| BodyError::Read(e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Decodes `a=1&b=2` into pairs, strictly (see the module documentation).
pub fn parse_pairs(body: &[u8]) -> Result<Vec<(String, String)>, BodyError> {
    let pairs = parse_pairs_allowing_nul(body)?;
    // No database stores NUL in text (PostgreSQL refuses it outright).
    if pairs
        .iter()
        .any(|(k, v)| k.contains('\0') || v.contains('\0'))
    {
        return Err(BodyError::Nul);
    }
    Ok(pairs)
}

/// As [`parse_pairs`], but NUL characters pass: for the authorization
/// endpoint, which must report them to the client once it has checked the
/// client and redirect URI.
pub fn parse_pairs_allowing_nul(body: &[u8]) -> Result<Vec<(String, String)>, BodyError> {
    if std::str::from_utf8(body).is_err() {
        return Err(BodyError::Utf8);
    }
    let mut out: Vec<(String, String)> = Vec::new();
    for part in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (k, v) = match part.iter().position(|b| *b == b'=') {
            Some(i) => (&part[..i], &part[i + 1..]),
            None => (part, &b""[..]),
        };
        let key = decode(k)?;
        let value = decode(v)?;
        if out.iter().any(|(existing, _)| *existing == key) {
            return Err(BodyError::Duplicate(key));
        }
        out.push((key, value));
    }
    Ok(out)
}

fn decode(raw: &[u8]) -> Result<String, BodyError> {
    let plus: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    percent_encoding::percent_decode(&plus)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| BodyError::Utf8)
}

/// True when the request declares a urlencoded form body.
pub fn is_form(req: &HttpRequest) -> bool {
    req.content_type()
        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
}

/// Reads and checks a form body into pairs.
pub async fn read_pairs<S>(
    req: &HttpRequest,
    payload: &mut S,
    limit: usize,
) -> Result<Vec<(String, String)>, BodyError>
where
    S: futures_util::Stream<Item = Result<web::Bytes, actix_web::error::PayloadError>> + Unpin,
{
    let body = read_body(req, payload, limit).await?;
    if !is_form(req) {
        return Err(BodyError::ContentType);
    }
    parse_pairs(&body)
}

/// A page form: strictly parsed, then deserialized into `T`. Failures render
/// the friendly error page (400, or 413 for an oversized body).
#[derive(Debug)]
pub struct Form<T>(pub T);

impl<T> Form<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Form<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Form<T> {
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
            let pairs = read_pairs(&req, &mut payload, limit).await?;
            let encoded = serde_urlencoded::to_string(&pairs)
                .map_err(|e| BodyError::Malformed(e.to_string()))?;
            let value = serde_urlencoded::from_str::<T>(&encoded)
                .map_err(|e| BodyError::Malformed(e.to_string()))?;
            Ok(Form(value))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_decode_plus_and_percent() {
        let p = parse_pairs(b"a=1+2&b=%C3%A9&c&d=").unwrap();
        assert_eq!(
            p,
            vec![
                ("a".into(), "1 2".into()),
                ("b".into(), "é".into()),
                ("c".into(), "".into()),
                ("d".into(), "".into())
            ]
        );
    }

    #[test]
    fn invalid_utf8_and_duplicates_are_refused() {
        assert_eq!(parse_pairs(b"a=%FF"), Err(BodyError::Utf8));
        assert_eq!(parse_pairs(&[b'a', b'=', 0xff]), Err(BodyError::Utf8));
        assert_eq!(
            parse_pairs(b"a=1&a=2"),
            Err(BodyError::Duplicate("a".into()))
        );
        assert_eq!(parse_pairs(b"a=x%00y"), Err(BodyError::Nul));
    }
}
