//! `asl jsonata`: evaluates one JSONata expression with Step Functions' functions. The result
//! is printed as JSON (nothing for undefined); an error is printed as a JSON object with its
//! JSONata code and the exit status is 1 — the contract of the JSONata suite's runner.

use crate::args::JsonataArgs;
use anyhow::Context;
use asl::expr::jsonata::{Bindings, Expression, Functions, Limits};
use std::time::Duration;

pub fn run(a: JsonataArgs) -> anyhow::Result<i32> {
    let expr = match (&a.expr, &a.expr_file) {
        (Some(e), _) => e.clone(),
        (None, Some(f)) => crate::load::read(f)?,
        (None, None) => anyhow::bail!("give the expression with --expr or --expr-file"),
    };
    let input = match &a.data_file {
        None => None,
        Some(f) => {
            let text = crate::load::read(f)?;
            if text.trim().is_empty() {
                None
            } else {
                Some(
                    serde_json::from_str(&text)
                        .with_context(|| format!("{} is not valid JSON", f.display()))?,
                )
            }
        }
    };
    let bindings: Bindings = match &a.bindings_file {
        None => Bindings::default(),
        Some(f) => {
            let text = crate::load::read(f)?;
            serde_json::from_str::<Option<Bindings>>(&text)
                .with_context(|| format!("{} is not a JSON object of variables", f.display()))?
                .unwrap_or_default()
        }
    };
    let limits = Limits {
        max_depth: a.max_depth.filter(|d| *d > 0),
        // As in a state: 10 s (or ASL_JSONATA_TIME_LIMIT_MS) unless --time-limit-ms says.
        time_limit: Some(
            a.time_limit_ms
                .filter(|t| *t > 0)
                .map(Duration::from_millis)
                .unwrap_or_else(asl::expr::jtemplate::default_time_limit),
        ),
    };
    let result = Expression::parse(&expr).and_then(|e| {
        e.evaluate_with(
            input.as_ref(),
            &bindings,
            &Functions::step_functions(),
            limits,
        )
    });
    match result {
        Ok(Some(v)) => {
            outln!("{v}");
            Ok(0)
        }
        Ok(None) => Ok(0),
        Err(e) => {
            outln!(
                "{}",
                serde_json::json!({"code": e.code, "message": e.message,
                                   "position": e.position, "token": e.token})
            );
            Ok(1)
        }
    }
}
