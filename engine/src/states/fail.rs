//! Fail: the error and cause, literal or from `ErrorPath`/`CausePath` (paths or intrinsics).

use crate::definition::model::Text;
use crate::expr::template::compact;
use crate::expr::{Env, EvalError};
use crate::failure::Failure;
use serde_json::Value;

/// Resolves `Error`/`Cause`; `field` is `ErrorPath` or `CausePath` for error causes.
pub fn text(t: Option<&Text>, field: &str, env: &Env) -> Result<String, Failure> {
    let v = match t {
        None => return Ok(String::new()),
        Some(Text::Literal(s)) => return Ok(s.clone()),
        Some(Text::Path(p)) => p.eval(env).map(|c| c.into_owned()),
        Some(Text::Call(c)) => c.eval(env),
        Some(Text::Jsonata(t)) => {
            return env.jsonata(t, field).map(|v| match v {
                Value::String(s) => s,
                other => compact(&other),
            })
        }
    };
    match v {
        Ok(Value::String(s)) => Ok(s),
        Ok(other) => Ok(compact(&other)),
        Err(EvalError::PathNotFound { path }) => Err(Failure::runtime(format!(
            "The JSONPath '{path}' specified for the field '{field}' could not be found in the input '{}'",
            compact(env.input)
        ))),
        Err(EvalError::Failure(f)) => Err(f),
    }
}
