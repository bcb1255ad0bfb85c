//! Slow clients cannot hold the server: a request body must arrive in full
//! within `body_read_timeout_secs` of the handler starting to read it
//! (else `408 Request Timeout`, connection closed), and one client address
//! may have at most `max_requests_per_ip` requests in progress on a node
//! (more answer `429` at once, before anything is read).
//!
//! The in-progress count is per node by nature (it counts this node's
//! connections); the per-IP rate limits and throttles that must hold
//! across nodes are elsewhere.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::{HttpMessage, HttpResponse};
use futures_util::Stream;

use crate::context::AppContext;

/// Requests in progress per client address.
#[derive(Debug)]
pub struct InFlight {
    max: u32,
    per_ip: Mutex<HashMap<IpAddr, u32>>,
}

/// One request's place in [`InFlight`]; given back when dropped.
pub struct Slot {
    owner: Arc<InFlight>,
    ip: IpAddr,
}

impl InFlight {
    pub fn new(max: u32) -> Self {
        Self {
            max: max.max(1),
            per_ip: Mutex::new(HashMap::new()),
        }
    }

    /// A place for a request from `ip`, or `None` when it has `max`.
    pub fn enter(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let mut m = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(ip).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(Slot {
            owner: self.clone(),
            ip,
        })
    }

    /// Requests in progress from `ip`.
    pub fn count(&self, ip: IpAddr) -> u32 {
        let m = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        m.get(&ip).copied().unwrap_or(0)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut m = self.owner.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

/// The request body with a deadline: once it passes, the stream ends with
/// an error and `fired` is set (the response becomes 408).
struct Deadline {
    inner: Payload,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    after: Duration,
    fired: Arc<AtomicBool>,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Poll::Ready(item) = Pin::new(&mut this.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        // The clock starts when someone first waits for the body.
        let after = this.after;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(after)));
        if sleep.as_mut().poll(cx).is_ready() {
            this.fired.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "request body too slow",
            )))));
        }
        Poll::Pending
    }
}

/// The middleware: the per-address cap, then the body deadline.
pub async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(ctx) = req.app_data::<web::Data<AppContext>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let ip = crate::util::client_addr(req.request());
    let _slot = match ip {
        Some(ip) => match ctx.in_flight.enter(ip) {
            Some(slot) => Some(slot),
            None => {
                ctx.metrics.rate_limited("in_flight");
                let resp = HttpResponse::TooManyRequests()
                    .insert_header((header::RETRY_AFTER, "1"))
                    .insert_header((header::CONNECTION, "close"))
                    .content_type("text/plain; charset=utf-8")
                    .body("Too many requests from your address are in progress.");
                return Ok(req.into_response(resp));
            }
        },
        None => None,
    };
    let fired = Arc::new(AtomicBool::new(false));
    let body = Deadline {
        inner: req.take_payload(),
        sleep: None,
        after: Duration::from_secs(ctx.config.body_read_timeout_secs.max(1)),
        fired: fired.clone(),
    };
    req.set_payload(Payload::Stream {
        payload: Box::pin(body),
    });
    let res = next.call(req).await?;
    if fired.load(Ordering::Relaxed) {
        let resp = HttpResponse::RequestTimeout()
            .insert_header((header::CONNECTION, "close"))
            .content_type("text/plain; charset=utf-8")
            .body("The request body did not arrive in time.");
        return Ok(res.into_response(resp));
    }
    Ok(res.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_at_most_max_places_and_gets_them_back() {
        let f = Arc::new(InFlight::new(2));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let one = f.enter(a).unwrap();
        let two = f.enter(a).unwrap();
        assert!(f.enter(a).is_none());
        assert!(f.enter(b).is_some(), "another address is not affected");
        drop(one);
        assert_eq!(f.count(a), 1);
        assert!(f.enter(a).is_some());
        drop(two);
        assert_eq!(f.count(a), 0);
    }
}
