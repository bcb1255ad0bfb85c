//! The results: one JSON document and one markdown table from the pieces
//! `bench/run` left in its work directory.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use serde_json::{json, Map, Value};

use crate::stats::round1;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The run's work directory (meta.json, wrk-*.json, ...).
    #[arg(long)]
    dir: PathBuf,
    #[arg(long)]
    out_json: PathBuf,
    #[arg(long)]
    out_md: PathBuf,
}

/// The wrk scenarios, in table order: (file stem, label).
const WRK: &[(&str, &str)] = &[
    ("discovery", "GET /.well-known/openid-configuration"),
    ("jwks", "GET /jwks"),
    (
        "client_credentials",
        "POST /token client_credentials (1 RS256 signature)",
    ),
    (
        "client_credentials_es256",
        "POST /token client_credentials, ES256 client (1 ES256 signature)",
    ),
    (
        "refresh",
        "POST /token refresh_token, rotating (3 RS256 signatures)",
    ),
    ("userinfo", "GET /userinfo"),
    ("introspect", "POST /introspect (access token)"),
];

fn read(dir: &Path, name: &str) -> Value {
    std::fs::read_to_string(dir.join(name))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null)
}

fn read_kb(dir: &Path, name: &str) -> Option<f64> {
    std::fs::read_to_string(dir.join(name))
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
}

fn f(v: &Value, path: &[&str]) -> Option<f64> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_f64()
}

/// Successful requests per second and latency of a wrk run.
fn wrk_summary(raw: &Value) -> Value {
    let requests = f(raw, &["requests"]).unwrap_or(0.0);
    let non2xx = f(raw, &["errors", "status"]).unwrap_or(0.0);
    let secs = f(raw, &["duration_us"]).unwrap_or(0.0) / 1e6;
    let rps = if secs > 0.0 {
        (requests - non2xx) / secs
    } else {
        0.0
    };
    let ms = |k: &str| f(raw, &["latency", k]).map(|us| (us / 10.0).round() / 100.0);
    json!({
        "requests_per_sec": round1(rps),
        "requests": requests,
        "errors": raw.get("errors").cloned().unwrap_or(Value::Null),
        "seconds": round1(secs),
        "connections": raw.get("connections").cloned().unwrap_or(Value::Null),
        "threads": raw.get("threads").cloned().unwrap_or(Value::Null),
        "latency_ms": {
            "mean": ms("mean_us"), "p50": ms("p50_us"), "p90": ms("p90_us"),
            "p99": ms("p99_us"), "max": ms("max_us"),
        },
    })
}

fn fmt_num(x: Option<f64>) -> String {
    match x {
        None => "—".into(),
        Some(v) if v >= 100.0 => {
            let s = format!("{:.0}", v);
            // Thousands separators.
            let mut out = String::new();
            for (i, c) in s.chars().enumerate() {
                if i > 0 && (s.len() - i) % 3 == 0 {
                    out.push(',');
                }
                out.push(c);
            }
            out
        }
        Some(v) if v >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.2}"),
    }
}

fn fmt_ms(x: Option<f64>) -> String {
    match x {
        None => "—".into(),
        Some(v) if v >= 100.0 => format!("{v:.0}"),
        Some(v) if v >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.2}"),
    }
}

struct Target {
    name: &'static str,
    target: String,
    result: String,
    met: Option<bool>,
    /// The CPU-bound estimate for a machine running nothing else.
    estimate: String,
    est_met: Option<bool>,
}

pub fn run(a: ReportArgs) -> anyhow::Result<()> {
    let dir = &a.dir;
    let meta = read(dir, "meta.json");
    let crypto = read(dir, "crypto.json");
    let cores = meta.get("cores").and_then(Value::as_f64).unwrap_or(2.0);
    let mut authcode = read(dir, "authcode.json");
    let mut signin = read(dir, "signin.json");
    for (v, units) in [(&mut authcode, "flows"), (&mut signin, "signins")] {
        let n = f(v, &[units]).unwrap_or(0.0);
        let c = cost(&v["cpu"], n, cores);
        if let Some(o) = v.as_object_mut() {
            o.insert("cost".into(), c);
        }
    }
    let startup = read(dir, "startup.json");
    let backend = meta
        .get("backend")
        .and_then(Value::as_str)
        .unwrap_or("sqlite")
        .to_string();

    let mut scenarios = Map::new();
    let mut rss_under_load: Option<f64> = None;
    for (stem, label) in WRK {
        let raw = read(dir, &format!("wrk-{stem}.json"));
        if raw.is_null() {
            continue;
        }
        let mut s = wrk_summary(&raw);
        s["label"] = json!(label);
        s["cpu"] = read(dir, &format!("cpu-{stem}.json"));
        let ok =
            f(&raw, &["requests"]).unwrap_or(0.0) - f(&raw, &["errors", "status"]).unwrap_or(0.0);
        s["cost"] = cost(&s["cpu"], ok, cores);
        if let Some(kb) = read_kb(dir, &format!("rss-{stem}.kb")) {
            s["rss_mb"] = json!(round1(kb / 1024.0));
            rss_under_load = Some(rss_under_load.map_or(kb, |m: f64| m.max(kb)));
        }
        scenarios.insert((*stem).to_string(), s);
    }
    for stem in ["authcode", "signin"] {
        if let Some(kb) = read_kb(dir, &format!("rss-{stem}.kb")) {
            rss_under_load = Some(rss_under_load.map_or(kb, |m: f64| m.max(kb)));
        }
    }
    let mb = |name: &str| read_kb(dir, name).map(|kb| round1(kb / 1024.0));
    let memory = json!({
        "idle_after_start_mb": mb("rss-idle-start.kb"),
        "under_load_max_mb": rss_under_load.map(|kb| round1(kb / 1024.0)),
        "peak_vmhwm_mb": mb("rss-peak.kb"),
        "idle_after_load_mb": mb("rss-idle-end.kb"),
    });

    let sc = Value::Object(scenarios.clone());
    let rps = |k: &str| f(&sc, &[k, "requests_per_sec"]);
    let est = |k: &str| f(&sc, &[k, "cost", "cpu_bound_estimate_per_sec"]);
    // The core's signing rate: per second of the measuring thread's CPU
    // time (the same as per wall second on a quiet machine).
    let rsa = f(&crypto, &["rsa2048_sign_per_cpu_sec"]).or(f(&crypto, &["rsa2048_sign_per_sec"]));
    let jwks_flood_p99 = f(&signin, &["probes_during_flood", "jwks", "p99_ms"]);
    let ready_fresh = f(&startup, &["fresh_ready_ms"]);
    let ready_restart = f(&startup, &["restart_ready_ms"]);
    let idle_mb = f(&memory, &["idle_after_start_mb"]);

    let at_least = |name, k: &str, want: f64| Target {
        name,
        target: format!("≥ {} req/s", fmt_num(Some(want))),
        result: format!("{} req/s", fmt_num(rps(k))),
        met: rps(k).map(|g| g >= want),
        estimate: format!("{} req/s", fmt_num(est(k))),
        est_met: est(k).map(|g| g >= want),
    };
    let ratio = |x: Option<f64>| match (x, rsa) {
        (Some(c), Some(r)) if r > 0.0 => format!("{:.2}×", c / r),
        _ => "—".into(),
    };
    let cc = rps("client_credentials");
    let cc_est = est("client_credentials");
    let mut targets = vec![
        at_least("discovery", "discovery", 25_000.0),
        at_least("jwks", "jwks", 25_000.0),
        Target {
            name: "client_credentials",
            target: format!(
                "≥ 1.5 × RSA-2048 signing rate = {} req/s",
                fmt_num(rsa.map(|r| r * 1.5))
            ),
            result: format!("{} req/s ({})", fmt_num(cc), ratio(cc)),
            met: match (cc, rsa) {
                (Some(c), Some(r)) => Some(c >= 1.5 * r),
                _ => None,
            },
            estimate: format!("{} req/s ({})", fmt_num(cc_est), ratio(cc_est)),
            est_met: match (cc_est, rsa) {
                (Some(c), Some(r)) => Some(c >= 1.5 * r),
                _ => None,
            },
        },
    ];
    let mut es256 = at_least(
        "client_credentials, ES256 (SQLite)",
        "client_credentials_es256",
        12_000.0,
    );
    if backend != "sqlite" {
        es256.name = "client_credentials, ES256 (target is for SQLite)";
        es256.met = None;
        es256.est_met = None;
    }
    targets.push(es256);
    let mut refresh = at_least("refresh (SQLite)", "refresh", 1_000.0);
    if backend != "sqlite" {
        refresh.name = "refresh (target is for SQLite)";
        refresh.met = None;
        refresh.est_met = None;
    }
    targets.push(refresh);
    targets.push(at_least("userinfo", "userinfo", 8_000.0));
    targets.push(Target {
        name: "GET /jwks p99 during the sign-in flood",
        target: "< 20 ms".into(),
        result: format!("{} ms", fmt_ms(jwks_flood_p99)),
        met: jwks_flood_p99.map(|p| p < 20.0),
        estimate: String::new(),
        est_met: None,
    });
    targets.push(Target {
        name: "idle resident memory",
        target: "< 30 MB".into(),
        result: format!("{} MB", fmt_ms(idle_mb)),
        met: idle_mb.map(|m| m < 30.0),
        estimate: String::new(),
        est_met: None,
    });
    targets.push(Target {
        name: "start to ready /readyz",
        target: "< 1 s".into(),
        result: format!(
            "{} ms (fresh database), {} ms (restart)",
            fmt_ms(ready_fresh),
            fmt_ms(ready_restart)
        ),
        met: match (ready_fresh, ready_restart) {
            (Some(x), Some(y)) => Some(x < 1000.0 && y < 1000.0),
            _ => None,
        },
        estimate: String::new(),
        est_met: None,
    });

    let targets_json: Vec<Value> = targets
        .iter()
        .map(|t| {
            json!({"name": t.name, "target": t.target, "result": t.result, "met": t.met,
                   "idle_machine_estimate": t.estimate, "estimate_met": t.est_met})
        })
        .collect();
    let doc = json!({
        "meta": meta,
        "crypto": crypto,
        "startup": startup,
        "memory": memory,
        "scenarios": scenarios,
        "authcode": authcode,
        "signin": signin,
        "targets": targets_json,
    });
    std::fs::write(&a.out_json, serde_json::to_string_pretty(&doc)? + "\n")
        .with_context(|| a.out_json.display().to_string())?;
    std::fs::write(&a.out_md, markdown(&doc, &targets))
        .with_context(|| a.out_md.display().to_string())?;
    Ok(())
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("?")
}

fn markdown(doc: &Value, targets: &[Target]) -> String {
    let meta = &doc["meta"];
    let crypto = &doc["crypto"];
    let mut m = String::new();
    m.push_str(&format!(
        "# Portcullis benchmark: {} on {}, commit {}\n\n",
        s(meta, "date"),
        s(meta, "backend"),
        s(meta, "commit_short"),
    ));
    m.push_str(&format!(
        "Machine: {} cores, {}; {}. Release build; load generator (wrk {} thread(s), {} connections; the driver for flows) on the same machine. bcrypt cost {}. {} s per scenario. Load average (1, 5, 15 min) before the measurements: {}, after them: {}{}.\n\n",
        meta.get("cores").and_then(Value::as_u64).unwrap_or(0),
        s(meta, "cpu_model"),
        s(meta, "kernel"),
        meta.get("wrk_threads").and_then(Value::as_u64).unwrap_or(0),
        meta.get("wrk_connections").and_then(Value::as_u64).unwrap_or(0),
        meta.get("bcrypt_cost").and_then(Value::as_u64).unwrap_or(0),
        meta.get("duration_s").and_then(Value::as_u64).unwrap_or(0),
        s(meta, "load_before"),
        s(meta, "load_after_measurements"),
        if meta.get("quiet").and_then(Value::as_bool) == Some(false) {
            " (NOT a quiet machine: the load average did not drop below 0.6 within 10 minutes)"
        } else {
            ""
        },
    ));
    m.push_str(
        "| Scenario | Result | p50 | p99 | CPU used: server / load generator / other processes (cores) | Server CPU per unit | CPU-bound estimate, idle machine |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    if let Some(sc) = doc["scenarios"].as_object() {
        for (stem, label) in WRK {
            let Some(v) = sc.get(*stem) else { continue };
            let errs = &v["errors"];
            let bad: f64 = ["connect", "read", "write", "status", "timeout"]
                .iter()
                .filter_map(|k| errs.get(k).and_then(Value::as_f64))
                .sum();
            m.push_str(&format!(
                "| {label} | {} req/s{} | {} ms | {} ms | {} |\n",
                fmt_num(f(v, &["requests_per_sec"])),
                if bad > 0.0 {
                    format!(" ({bad:.0} errors)")
                } else {
                    String::new()
                },
                fmt_ms(f(v, &["latency_ms", "p50"])),
                fmt_ms(f(v, &["latency_ms", "p99"])),
                cpu_cells(&v["cpu"], &v["cost"], "req/s"),
            ));
        }
    }
    let ac = &doc["authcode"];
    if !ac.is_null() {
        m.push_str(&format!(
            "| Authorization-code flow, signed-in user (authorize → code → token; 2 RS256 signatures), {} browsers | {} flows/s{} | {} ms | {} ms | {} |\n",
            ac.get("concurrency").and_then(Value::as_u64).unwrap_or(0),
            fmt_num(f(ac, &["flows_per_sec"])),
            errors_note(ac),
            fmt_ms(f(ac, &["latency", "p50_ms"])),
            fmt_ms(f(ac, &["latency", "p99_ms"])),
            cpu_cells(&ac["cpu"], &ac["cost"], "flows/s"),
        ));
    }
    let si = &doc["signin"];
    if !si.is_null() {
        m.push_str(&format!(
            "| Sign-ins (GET /login + POST /login, bcrypt cost {}), {} concurrent | {} sign-ins/s{} | {} ms | {} ms | {} |\n",
            meta.get("bcrypt_cost").and_then(Value::as_u64).unwrap_or(0),
            si.get("concurrency").and_then(Value::as_u64).unwrap_or(0),
            fmt_num(f(si, &["signins_per_sec"])),
            errors_note(si),
            fmt_ms(f(si, &["latency", "p50_ms"])),
            fmt_ms(f(si, &["latency", "p99_ms"])),
            cpu_cells(&si["cpu"], &si["cost"], "sign-ins/s"),
        ));
        for (k, label) in [
            ("jwks", "GET /jwks"),
            ("client_credentials", "POST /token client_credentials"),
        ] {
            m.push_str(&format!(
                "| {label}, one every {} ms: idle → during the sign-in flood | {} | {} → {} ms | {} → {} ms | | | |\n",
                si.get("probe_interval_ms").and_then(Value::as_u64).unwrap_or(0),
                "latency",
                fmt_ms(f(si, &["probes_baseline", k, "p50_ms"])),
                fmt_ms(f(si, &["probes_during_flood", k, "p50_ms"])),
                fmt_ms(f(si, &["probes_baseline", k, "p99_ms"])),
                fmt_ms(f(si, &["probes_during_flood", k, "p99_ms"])),
            ));
        }
    }
    m.push_str(&format!(
        "| RSA-2048 RS256 signing, one thread, in-process (`openssl speed rsa2048`: {} /s) | {} /s | {} ms each | | | | |\n",
        fmt_num(f(crypto, &["openssl_speed_rsa2048_sign_per_sec"])),
        fmt_num(f(crypto, &["rsa2048_sign_per_sec"])),
        fmt_ms(f(crypto, &["rsa2048_sign_ms"])),
    ));
    for (k, label) in [("es256", "P-256 ES256"), ("eddsa", "Ed25519 EdDSA")] {
        m.push_str(&format!(
            "| {label} signing, one thread, in-process | {} /s | {} ms each | | | | |\n",
            fmt_num(f(crypto, &[&format!("{k}_sign_per_sec")])),
            fmt_ms(f(crypto, &[&format!("{k}_sign_ms")])),
        ));
    }
    m.push_str(&format!(
        "| bcrypt verify, cost {}, one thread, in-process | {} /s | {} ms each | | | | |\n",
        crypto
            .get("bcrypt_cost")
            .and_then(Value::as_u64)
            .unwrap_or(0),
        fmt_num(f(crypto, &["bcrypt_verify_per_sec"])),
        fmt_ms(f(crypto, &["bcrypt_verify_ms"])),
    ));
    let mem = &doc["memory"];
    m.push_str(&format!(
        "| Resident memory (VmRSS): idle after start / under load (max) / peak (VmHWM) / idle after load | {} / {} / {} / {} MB | | | | | |\n",
        fmt_ms(f(mem, &["idle_after_start_mb"])),
        fmt_ms(f(mem, &["under_load_max_mb"])),
        fmt_ms(f(mem, &["peak_vmhwm_mb"])),
        fmt_ms(f(mem, &["idle_after_load_mb"])),
    ));
    let st = &doc["startup"];
    m.push_str(&format!(
        "| Process start → 200 on /readyz: fresh database (migrations; keys generated: 2 RSA, 2 P-256, 2 Ed25519) / restart | {} / {} ms | | | | | |\n",
        fmt_ms(f(st, &["fresh_ready_ms"])),
        fmt_ms(f(st, &["restart_ready_ms"])),
    ));

    m.push_str("\n## Targets\n\n| Target | Wanted | Measured | Met | CPU-bound estimate, idle machine | Met (estimate) |\n|---|---|---|---|---|---|\n");
    let yes_no = |b: Option<bool>| match b {
        Some(true) => "yes",
        Some(false) => "**no**",
        None => "—",
    };
    for t in targets {
        m.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            t.name,
            t.target,
            t.result,
            yes_no(t.met),
            t.estimate,
            if t.estimate.is_empty() {
                ""
            } else {
                yes_no(t.est_met)
            },
        ));
    }
    m.push_str(
        "\nCPU-bound estimate: the machine's cores divided by the CPU time one unit took in the server and in the load generator, as measured; what the scenario would reach on this machine with nothing else running, if CPU were its only bound (it ignores lock waits and idle time, so it is an upper bound). The client_credentials target uses the RSA rate per second of CPU time of the measuring thread.\n",
    );
    m
}

/// What one unit (request, flow, sign-in) costs in CPU: the server's and
/// the load generator's microseconds, and the rate a machine of `cores`
/// cores running nothing else could reach if it were bound by CPU alone
/// (`cores / (server + load generator)`): an estimate that removes the
/// other processes a shared machine ran during the measurement, not a
/// measurement.
fn cost(cpu: &Value, units: f64, cores: f64) -> Value {
    let (Some(secs), Some(server), Some(gen)) = (
        f(cpu, &["seconds"]),
        f(cpu, &["server_cores"]),
        f(cpu, &["loadgen_cores"]),
    ) else {
        return Value::Null;
    };
    if units <= 0.0 {
        return Value::Null;
    }
    let server_us = server * secs / units * 1e6;
    let gen_us = gen * secs / units * 1e6;
    let switches =
        f(cpu, &["server_context_switches"]).map(|n| (n / units * 100.0).round() / 100.0);
    json!({
        "server_cpu_us": round1(server_us),
        "loadgen_cpu_us": round1(gen_us),
        "cpu_bound_estimate_per_sec": round1(cores * 1e6 / (server_us + gen_us)),
        "server_context_switches_per_unit": switches,
    })
}

/// The CPU columns of a scenario row: "server / load generator / others"
/// cores, the server's CPU per unit, the idle-machine estimate.
fn cpu_cells(cpu: &Value, cost: &Value, unit: &str) -> String {
    let split = match (
        f(cpu, &["server_cores"]),
        f(cpu, &["loadgen_cores"]),
        f(cpu, &["other_cores"]),
    ) {
        (Some(s), Some(g), Some(o)) => format!("{s:.2} / {g:.2} / {o:.2}"),
        _ => String::new(),
    };
    let switches = f(cost, &["server_context_switches_per_unit"])
        .map(|n| format!(", {n:.1} context switches"))
        .unwrap_or_default();
    let per_unit = f(cost, &["server_cpu_us"])
        .map(|us| format!("{} µs{switches}", fmt_ms(Some(us))))
        .unwrap_or_default();
    let estimate = f(cost, &["cpu_bound_estimate_per_sec"])
        .map(|r| format!("{} {unit}", fmt_num(Some(r))))
        .unwrap_or_default();
    format!("{split} | {per_unit} | {estimate}")
}

fn errors_note(v: &Value) -> String {
    match v.get("errors").and_then(Value::as_u64) {
        Some(n) if n > 0 => format!(" ({n} errors)"),
        _ => String::new(),
    }
}
