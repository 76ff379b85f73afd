//! Map: concurrency and tolerated-failure limits, resolved from literals or paths.

use crate::definition::model::{MapState, Number};
use crate::expr::template::compact;
use crate::expr::Env;
use crate::failure::Failure;
use serde_json::Value;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// 0 means no limit.
    pub max_concurrency: usize,
    pub tolerated_count: Option<u64>,
    pub tolerated_percentage: Option<f64>,
    /// Whether either tolerance was given (then exceeding it is its own error).
    pub configured: bool,
}

impl Limits {
    pub fn resolve(map: &MapState, env: &Env) -> Result<Limits, Failure> {
        let max_concurrency = match &map.max_concurrency {
            None => 0,
            Some(Number::Literal(n)) => *n as usize,
            Some(Number::Jsonata(t)) => {
                number(&env.jsonata(t, "MaxConcurrency")?, "MaxConcurrency")? as usize
            }
            Some(Number::Path(p)) => {
                let v = lookup(p, env, "MaxConcurrencyPath")?;
                // AWS takes an integer written as a string here too (recorded: a variable
                // holding "1").
                let n = v.as_u64().or_else(|| numeric_text(&v));
                match n {
                    Some(n) => n as usize,
                    None => {
                        return Err(Failure::runtime(format!(
                            "The MaxConcurrencyPath field refers to value \"{}\" which is not a valid integer: {}",
                            raw(&v),
                            p.as_str()
                        )))
                    }
                }
            }
        };
        let tolerated_count = match &map.tolerated_failure_count {
            None => None,
            Some(Number::Literal(n)) => Some(*n as u64),
            Some(Number::Jsonata(t)) => Some(number(
                &env.jsonata(t, "ToleratedFailureCount")?,
                "ToleratedFailureCount",
            )? as u64),
            Some(Number::Path(p)) => {
                let v = lookup(p, env, "ToleratedFailureCountPath")?;
                match v.as_i64().or_else(|| numeric_text(&v)) {
                    Some(n) if n < 0 => {
                        return Err(Failure::runtime("ToleratedFailureCount cannot be negative."))
                    }
                    Some(n) => Some(n as u64),
                    None => {
                        return Err(Failure::runtime(format!(
                            "The ToleratedFailureCountPath field refers to value \"{}\" which is not a valid integer: {}",
                            raw(&v),
                            p.as_str()
                        )))
                    }
                }
            }
        };
        let tolerated_percentage = match &map.tolerated_failure_percentage {
            None => None,
            Some(Number::Literal(n)) => Some(*n),
            Some(Number::Jsonata(t)) => Some(number(
                &env.jsonata(t, "ToleratedFailurePercentage")?,
                "ToleratedFailurePercentage",
            )?),
            Some(Number::Path(p)) => {
                let v = lookup(p, env, "ToleratedFailurePercentagePath")?;
                match v.as_f64().or_else(|| numeric_text(&v)) {
                    Some(n) if !(0.0..=100.0).contains(&n) => {
                        return Err(Failure::runtime(
                            "ToleratedFailurePercentage must be between 0 and 100.",
                        ))
                    }
                    Some(n) => Some(n),
                    None => {
                        return Err(Failure::runtime(format!(
                            "The ToleratedFailurePercentagePath field refers to value \"{}\" which is not a valid float: {}",
                            raw(&v),
                            p.as_str()
                        )))
                    }
                }
            }
        };
        Ok(Limits {
            max_concurrency,
            tolerated_count,
            tolerated_percentage,
            configured: tolerated_count.is_some() || tolerated_percentage.is_some(),
        })
    }
}

/// A number written as a string (`"1"`, `"15000"`), which AWS takes in a Map's `*Path` fields
/// (recorded: variables holding strings in ToleratedFailureCountPath, MaxItemsPath...).
pub(crate) fn numeric_text<T: std::str::FromStr>(v: &Value) -> Option<T> {
    v.as_str().and_then(|s| s.trim().parse().ok())
}

fn lookup(p: &crate::expr::path::Path, env: &Env, field: &str) -> Result<Value, Failure> {
    p.eval(env).map(|c| c.into_owned()).map_err(|_| {
        Failure::runtime(format!(
            "The {field} field refers to a path that does not exist: {}",
            p.as_str()
        ))
    })
}

fn raw(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => compact(other),
    }
}

/// A JSONata field's value as a non-negative number.
fn number(v: &Value, field: &str) -> Result<f64, Failure> {
    match v.as_f64() {
        Some(n) if n >= 0.0 => Ok(n),
        _ => Err(crate::expr::jtemplate::query_error(format!(
            "The JSONata expression specified for the field '{field}' returned an unexpected result type. Expected a non-negative number, but was {}",
            compact(v)
        ))),
    }
}
