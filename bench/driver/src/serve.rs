//! Start the server and time it to a ready `/readyz`.

use std::fs::File;
use std::io::Read as _;
use std::io::Write as _;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Args;
use serde_json::json;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// host:port the server listens on.
    #[arg(long)]
    addr: String,
    /// The server's standard output and error go here.
    #[arg(long)]
    log: PathBuf,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Write the JSON here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    /// The server command line.
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

pub fn run(a: ServeArgs) -> anyhow::Result<()> {
    let log = File::create(&a.log).with_context(|| format!("{}", a.log.display()))?;
    let (program, args) = a.command.split_first().context("no server command given")?;
    let start = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {program}"))?;
    let deadline = start + Duration::from_secs(a.timeout);
    loop {
        if let Some(status) = child.try_wait()? {
            bail!(
                "the server exited during start-up ({status}); see {}",
                a.log.display()
            );
        }
        if readyz(&a.addr) {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            bail!("not ready after {} s; see {}", a.timeout, a.log.display());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let ready_ms = start.elapsed().as_secs_f64() * 1000.0;
    crate::write_json(
        a.out.as_ref(),
        &json!({ "pid": child.id(), "ready_ms": (ready_ms * 10.0).round() / 10.0 }),
    )
}

/// One `GET /readyz` over a fresh connection; true on a 200.
fn readyz(addr: &str) -> bool {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = format!("GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    let mut got = 0;
    while got < buf.len() {
        match s.read(&mut buf[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    buf[..got].starts_with(b"HTTP/1.1 200")
}
