//! Delivering the outbox: a worker claims due messages, sends each through
//! the configured transport (SMTP or `.eml` files) and marks it sent, or
//! gives it back with backoff when the server is down. Nothing is lost when
//! the process or the mail server dies: an unacknowledged claim expires and
//! the message is tried again. Each message keeps one `Message-ID` across
//! attempts, so the rare duplicate after a crash in mid-send can be
//! recognised by the receiving server.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use core_auth::config::{Config, MailTransport, SmtpTls};
use core_auth::db::files;
use core_auth::mail::outbox::{self, Claimed};
use core_auth::{CoreError, CoreResult};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sha2::{Digest, Sha256};
use web_kit::AppContext;

/// Where mail goes. Build it inside a Tokio runtime (the SMTP pool needs one).
#[derive(Clone)]
pub enum Transport {
    /// `.eml` files in this directory (mode 0700), each created 0600: they
    /// hold live links.
    File(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// The directory of the file transport.
pub fn outbox_dir(cfg: &Config) -> PathBuf {
    cfg.data_dir.join("outbox")
}

pub fn build(cfg: &Config) -> CoreResult<Transport> {
    match cfg.mail.transport {
        MailTransport::File => {
            let dir = outbox_dir(cfg);
            private_outbox(&dir).map_err(|e| {
                CoreError::Config(format!("mail: cannot create {}: {e}", dir.display()))
            })?;
            Ok(Transport::File(dir))
        }
        MailTransport::Smtp => {
            let s = &cfg.mail.smtp;
            let err =
                |e: lettre::transport::smtp::Error| CoreError::Config(format!("mail.smtp: {e}"));
            let builder = match s.tls {
                SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host)
                    .port(if s.port == 0 { 25 } else { s.port }),
                SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host)
                    .map_err(err)?
                    .port(if s.port == 0 { 587 } else { s.port }),
                SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host)
                    .map_err(err)?
                    .port(if s.port == 0 { 465 } else { s.port }),
            };
            let mut builder = builder.timeout(Some(Duration::from_secs(s.timeout_secs)));
            if !s.username.is_empty() {
                builder =
                    builder.credentials(Credentials::new(s.username.clone(), s.password.clone()));
            }
            Ok(Transport::Smtp(builder.build()))
        }
    }
}

/// One line for the start-up log.
pub fn describe(cfg: &Config) -> String {
    match cfg.mail.transport {
        MailTransport::File => format!(
            "mail is written as .eml files to {} (mail.transport = \"file\"); set mail.transport = \"smtp\" to send it",
            outbox_dir(cfg).display()
        ),
        MailTransport::Smtp => format!(
            "mail is sent through {}:{} ({:?})",
            cfg.mail.smtp.host, cfg.mail.smtp.port, cfg.mail.smtp.tls
        ),
    }
}

fn message_id(cfg: &Config, id: i64) -> String {
    let host = url::Url::parse(&cfg.issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "portcullis.invalid".into());
    let digest = Sha256::digest(format!("{}:{id}", cfg.issuer).as_bytes());
    let tag: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("<outbox-{id}.{tag}@{host}>")
}

fn to_lettre(cfg: &Config, c: &Claimed) -> CoreResult<lettre::Message> {
    let bad = |e: String| CoreError::Config(format!("mail message {}: {e}", c.id));
    let from = Mailbox::new(
        Some(cfg.mail.from_name.clone()),
        cfg.mail
            .from_address
            .parse()
            .map_err(|e| bad(format!("from address: {e}")))?,
    );
    let to_name = Some(c.message.to_name.clone()).filter(|n| !n.is_empty());
    let to = Mailbox::new(
        to_name,
        c.message
            .to
            .parse()
            .map_err(|e| bad(format!("recipient: {e}")))?,
    );
    lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(c.message.subject.clone())
        .message_id(Some(message_id(cfg, c.id)))
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(c.message.text.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(c.message.html.clone()),
                ),
        )
        .map_err(|e| bad(e.to_string()))
}

/// The outbox directory, 0700; messages already in it (written by an
/// older version) are tightened to 0600.
fn private_outbox(dir: &Path) -> std::io::Result<()> {
    files::private_dir(dir)?;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "eml") {
            files::tighten(&path)?;
        }
    }
    Ok(())
}

/// Writes `m` as `<dir>/<random>.eml`, created with mode 0600 (on the
/// blocking pool).
async fn write_eml(dir: &Path, m: &lettre::Message) -> Result<(), String> {
    let name: String = core_auth::secret::random_bytes::<16>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let path = dir.join(format!("{name}.eml"));
    let bytes = m.formatted();
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let mut f = files::create_private(&path)?;
        f.write_all(&bytes)?;
        f.sync_all()
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())
}

async fn send(t: &Transport, m: lettre::Message) -> Result<(), String> {
    match t {
        Transport::File(dir) => write_eml(dir, &m).await,
        Transport::Smtp(s) => s.send(m).await.map(|_| ()).map_err(|e| e.to_string()),
    }
}

/// One pass: resolves queued password-reset requests into mail (or
/// nothing), then claims due messages, delivers them, records the outcome.
/// Returns how many were delivered.
pub async fn deliver_due(
    ctx: &AppContext,
    transport: &Transport,
    worker: &str,
) -> CoreResult<usize> {
    let now = ctx.now();
    let resolved = ctx
        .run(move |ctx| {
            core_auth::accounts::resolve_reset_requests(&ctx.pool, ctx.mailer(), now, 20)
        })
        .await;
    if let Err(e) = resolved {
        // Mail already queued still goes out.
        tracing::warn!(error = %e, "password-reset requests not resolved; will retry");
    }
    let w = worker.to_string();
    let claimed = ctx
        .run(move |ctx| {
            let mut conn = ctx.pool.get()?;
            outbox::claim_due(&mut conn, ctx.keys.kek(), &w, now, 20)
        })
        .await?;
    let mut delivered = 0;
    for c in claimed {
        let outcome = match to_lettre(&ctx.config, &c) {
            Ok(m) => send(transport, m).await,
            Err(e) => Err(e.to_string()),
        };
        let (w, now, id, attempts, kind) = (
            worker.to_string(),
            ctx.now(),
            c.id,
            c.attempts,
            c.message.kind.clone(),
        );
        let max = ctx.config.mail.max_retry_interval_secs;
        match outcome {
            Ok(()) => {
                ctx.db(move |conn| outbox::mark_sent(conn, id, &w, now))
                    .await?;
                delivered += 1;
                tracing::info!(message_id = id, kind = %kind, "mail delivered");
            }
            Err(e) => {
                tracing::warn!(message_id = id, kind = %kind, attempt = attempts + 1, error = %e, "mail delivery failed; will retry");
                ctx.db(move |conn| outbox::mark_failed(conn, id, &w, &e, now, max))
                    .await?;
            }
        }
    }
    Ok(delivered)
}

/// A name for this worker, unique among the nodes.
pub fn worker_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "node".into());
    format!(
        "{host}-{}-{}",
        std::process::id(),
        &core_auth::secret::random_token().expose()[..8]
    )
}

/// Runs the delivery loop until `stop` says so; a pass in progress
/// finishes first (a message is never abandoned mid-send by a shutdown).
pub fn spawn(
    ctx: AppContext,
    transport: Transport,
    mut stop: crate::server::Stop,
) -> tokio::task::JoinHandle<()> {
    let worker = worker_name();
    tokio::spawn(async move {
        let mut tick =
            tokio::time::interval(Duration::from_secs(ctx.config.mail.poll_interval_secs));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => break,
            }
            if let Err(e) = deliver_due(&ctx, &transport, &worker).await {
                tracing::warn!(error = %e, "outbox pass failed");
            }
        }
    })
}
