//! The environment overlay (`PORTCULLIS_<KEY>`, `__` between nested keys)
//! and readable configuration errors.

use figment::value::{Dict, Value};

use super::{ENV_ONLY, ENV_TEST_PREFIX};
use crate::error::{CoreError, CoreResult};

/// Turns `PORTCULLIS_A__B=v` into `{a: {b: v}}`. Values are parsed like TOML
/// scalars (numbers, booleans), else kept as strings.
pub(super) fn env_overlay(env: impl IntoIterator<Item = (String, String)>) -> CoreResult<Dict> {
    let mut root = Dict::new();
    for (key, value) in env {
        let Some(rest) = key.strip_prefix("PORTCULLIS_") else {
            continue;
        };
        if rest.is_empty()
            || ENV_ONLY.contains(&rest)
            || rest.starts_with(ENV_TEST_PREFIX)
            || crate::federation::provider::is_env_key(rest)
        {
            continue;
        }
        let path: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
        if path.iter().any(|p| p.is_empty()) {
            return Err(CoreError::Config(format!(
                "environment variable {key}: empty key segment"
            )));
        }
        insert_path(&mut root, &path, parse_env_value(&value), &key)?;
    }
    Ok(root)
}

fn insert_path(dict: &mut Dict, path: &[String], value: Value, var: &str) -> CoreResult<()> {
    match path {
        [] => Ok(()),
        [last] => {
            dict.insert(last.clone(), value);
            Ok(())
        }
        [first, rest @ ..] => {
            let entry = dict
                .entry(first.clone())
                .or_insert_with(|| Value::from(Dict::new()));
            match entry {
                Value::Dict(_, inner) => insert_path(inner, rest, value, var),
                _ => Err(CoreError::Config(format!(
                    "environment variable {var}: {first} is not a section"
                ))),
            }
        }
    }
}

fn parse_env_value(v: &str) -> Value {
    let t = v.trim();
    if let Ok(b) = t.parse::<bool>() {
        return Value::from(b);
    }
    if let Ok(n) = t.parse::<i64>() {
        return Value::from(n);
    }
    Value::from(v.to_string())
}

pub(super) fn describe_figment_error(e: figment::Error) -> String {
    e.into_iter()
        .map(|err| {
            let path = err.path.join(".");
            if path.is_empty() {
                err.kind.to_string()
            } else {
                format!("{path}: {}", err.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}
