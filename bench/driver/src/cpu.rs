//! Who used the CPU during a measurement: the server, the load generator
//! (this process), and everything else on the machine. The same split
//! `bench/run` records around wrk; from /proc, in clock ticks (100 per
//! second on Linux).

use std::time::Instant;

use serde_json::{json, Value};

const HZ: f64 = 100.0;

pub struct Snapshot {
    busy: f64,
    steal: f64,
    server: f64,
    own: f64,
    at: Instant,
}

/// user + system ticks of a process, from its stat line.
fn process_ticks(path: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(path).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?)
}

/// (user + nice + system, steal) ticks of the whole machine.
fn machine_ticks() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    Some((v.first()? + v.get(1)? + v.get(2)?, *v.get(7)?))
}

impl Snapshot {
    pub fn take(server_pid: Option<u32>) -> Option<Snapshot> {
        let (busy, steal) = machine_ticks()?;
        let server = match server_pid {
            Some(pid) => process_ticks(&format!("/proc/{pid}/stat"))?,
            None => 0.0,
        };
        Some(Snapshot {
            busy,
            steal,
            server,
            own: process_ticks("/proc/self/stat")?,
            at: Instant::now(),
        })
    }

    /// Cores used since `self` by each party, as `bench/run` writes them.
    pub fn since(&self, server_pid: Option<u32>) -> Value {
        let Some(now) = Snapshot::take(server_pid) else {
            return Value::Null;
        };
        let t = now.at.duration_since(self.at).as_secs_f64();
        let cores = |ticks: f64| ((ticks / HZ / t) * 100.0).round() / 100.0;
        let server = cores(now.server - self.server);
        let own = cores(now.own - self.own);
        let busy = cores(now.busy - self.busy);
        json!({
            "seconds": (t * 100.0).round() / 100.0,
            "server_cores": server,
            "loadgen_cores": own,
            "other_cores": ((busy - server - own).max(0.0) * 100.0).round() / 100.0,
            "steal_cores": cores(now.steal - self.steal),
        })
    }
}
