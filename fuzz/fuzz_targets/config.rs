//! The configuration file (TOML) and the `PORTCULLIS_*` environment
//! variables laid over it (`core_auth::Config`). Input: the TOML, then
//! optionally a line `#--env--` followed by `NAME=value` lines.
//!
//! Checks: no panic; the file read from disk and the same text parsed
//! directly agree when no variables are set; a valid configuration stays
//! valid when validated again (what `check-config` and start-up each do).
#![no_main]

use std::sync::OnceLock;

use core_auth::Config;
use libfuzzer_sys::fuzz_target;

const ENV_MARK: &str = "\n#--env--\n";

fn scratch() -> &'static std::path::Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("portcullis-fuzz-config-")
            .tempdir()
            .expect("temporary directory")
    })
    .path()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (toml, env) = text.split_once(ENV_MARK).unwrap_or((text, ""));
    let env: Vec<(String, String)> = env
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let direct = Config::from_toml_str(toml);
    let file = scratch().join("portcullis.toml");
    std::fs::write(&file, toml).expect("write the config file");
    let loaded = Config::load(Some(&file), env.clone());
    if env.is_empty() {
        assert_eq!(
            direct.is_ok(),
            loaded.is_ok(),
            "from_toml_str: {:?}, load: {:?}",
            direct.as_ref().err(),
            loaded.as_ref().err()
        );
    }
    for cfg in [direct, loaded].into_iter().flatten() {
        let again = cfg.clone().validated();
        assert!(
            again.is_ok(),
            "a valid configuration was refused: {:?}",
            again.err()
        );
    }
});
