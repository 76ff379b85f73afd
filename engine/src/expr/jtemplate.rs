//! JSONata templates: the values of `Arguments`, `Output`, `Assign`, `Items` and the rest in
//! JSONata states — JSON in which a string `{% expr %}` is an expression, compiled once.

use super::jsonata::{Expression, Functions, Limits, Prepared};
use crate::failure::{names, Failure};
use serde_json::{Map, Value};
use std::sync::OnceLock;

#[derive(Debug, Clone)]
pub enum JTemplate {
    Literal(Value),
    Expr {
        source: String,
        expr: Box<Expression>,
    },
    Object(Vec<(String, JTemplate)>),
    Array(Vec<JTemplate>),
}

/// The text inside `{% ... %}`, if `s` is an expression.
pub fn expression_text(s: &str) -> Option<&str> {
    let t = s.strip_prefix("{%")?.strip_suffix("%}")?;
    Some(t.trim())
}

/// How long one JSONata expression may run: an expression that loops for ever (a recursive
/// function in tail position) fails the state with `States.QueryEvaluationError` (JSONata's
/// U1001) instead of holding the execution, whose `TimeoutSeconds` cannot interrupt an
/// evaluation in progress. 10 s, or `ASL_JSONATA_TIME_LIMIT_MS`.
fn limits() -> Limits {
    static L: OnceLock<Limits> = OnceLock::new();
    *L.get_or_init(|| Limits {
        max_depth: None,
        time_limit: Some(default_time_limit()),
    })
}

/// How long one expression may run: 10 s, or `ASL_JSONATA_TIME_LIMIT_MS`.
pub fn default_time_limit() -> std::time::Duration {
    let ms = std::env::var("ASL_JSONATA_TIME_LIMIT_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .unwrap_or(10_000);
    std::time::Duration::from_millis(ms)
}

fn functions() -> &'static Functions {
    static F: OnceLock<Functions> = OnceLock::new();
    F.get_or_init(Functions::step_functions)
}

impl JTemplate {
    /// Compiles a template; the error names the JSON pointer below it and what is wrong.
    /// Every problem is reported, each as (JSON pointer below the template, message).
    pub fn compile(v: &Value) -> Result<JTemplate, Vec<(String, String)>> {
        let mut errors = Vec::new();
        let t = compile(v, "", &mut errors);
        if errors.is_empty() {
            Ok(t)
        } else {
            Err(errors)
        }
    }

    /// Whether any expression in the template contains `needle` (to build only what is read).
    pub fn mentions(&self, needle: &str) -> bool {
        match self {
            JTemplate::Literal(_) => false,
            JTemplate::Expr { source, .. } => source.contains(needle),
            JTemplate::Object(e) => e.iter().any(|(_, t)| t.mentions(needle)),
            JTemplate::Array(a) => a.iter().any(|t| t.mentions(needle)),
        }
    }

    /// Whether an expression reads the context object: `$states.context`, or `$states` as a
    /// whole (`$keys($states)`), which holds it.
    pub fn reads_context(&self) -> bool {
        match self {
            JTemplate::Literal(_) => false,
            JTemplate::Expr { source, .. } => {
                source.contains("context")
                    || source.match_indices("$states").any(|(i, m)| {
                        !source[i + m.len()..]
                            .starts_with(|c: char| c == '.' || c.is_alphanumeric() || c == '_')
                    })
            }
            JTemplate::Object(e) => e.iter().any(|(_, t)| t.reads_context()),
            JTemplate::Array(a) => a.iter().any(|t| t.reads_context()),
        }
    }

    /// Whether the template is one expression (so that `Items` may be an expression).
    pub fn is_expr(&self) -> bool {
        matches!(self, JTemplate::Expr { .. })
    }

    /// Evaluates against the bindings (`states`, variables). `field` names the field for
    /// error causes (`Output`, `Arguments`, ...); undefined results are errors, as in AWS.
    pub fn eval(&self, bindings: &Prepared, field: &str) -> Result<Value, Failure> {
        match self {
            JTemplate::Literal(v) => Ok(v.clone()),
            JTemplate::Expr { source, expr } => {
                match expr.evaluate_prepared(bindings, functions(), limits()) {
                    Ok(Some(v)) => Ok(v),
                    Ok(None) => Err(query_error_at(format!(
                        "The JSONata expression '{source}' specified for the field '{field}' returned nothing (undefined)."
                    ), field)),
                    Err(e) => Err(query_error_at(format!(
                        "The JSONata expression '{source}' specified for the field '{field}' threw an error during evaluation. {}: {}",
                        e.code, e.message
                    ), field)),
                }
            }
            JTemplate::Object(entries) => {
                let mut m = Map::with_capacity(entries.len());
                for (k, t) in entries {
                    m.insert(k.clone(), t.eval(bindings, &format!("{field}/{k}"))?);
                }
                Ok(Value::Object(m))
            }
            JTemplate::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, t)| t.eval(bindings, &format!("{field}/{i}")))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
        }
    }
}

pub fn query_error(cause: String) -> Failure {
    Failure::new(names::QUERY_EVALUATION_ERROR, cause)
}

/// A `States.QueryEvaluationError` of the expression in field `field` (its location).
pub fn query_error_at(cause: String, field: &str) -> Failure {
    Failure {
        location: Some(field.to_string()),
        ..query_error(cause)
    }
}

fn compile(v: &Value, ptr: &str, errors: &mut Vec<(String, String)>) -> JTemplate {
    match v {
        Value::String(s) => match expression_text(s) {
            Some(text) => {
                if text == "$" || text == "$$" {
                    errors.push((
                        ptr.to_string(),
                        format!(
                            "{s:?}: use $states.input (and $states.context), not a bare {text}"
                        ),
                    ));
                    return JTemplate::Literal(Value::Null);
                }
                match Expression::parse(text) {
                    Ok(expr) => JTemplate::Expr {
                        source: text.to_string(),
                        expr: Box::new(expr),
                    },
                    Err(e) => {
                        errors.push((
                            ptr.to_string(),
                            format!(
                                "{s:?} is not a valid JSONata expression: {}: {}",
                                e.code, e.message
                            ),
                        ));
                        JTemplate::Literal(Value::Null)
                    }
                }
            }
            // "Improperly opening or closing the expression will result in a validation
            // error": one that opens `{%` must end with `%}`, no trailing spaces.
            None if s.starts_with("{%") => {
                errors.push((
                    ptr.to_string(),
                    format!("{s:?} opens a JSONata expression with {{% but does not end with %}} (with no trailing spaces)"),
                ));
                JTemplate::Literal(Value::Null)
            }
            None => JTemplate::Literal(v.clone()),
        },
        Value::Object(m) => {
            let entries: Vec<(String, JTemplate)> = m
                .iter()
                .map(|(k, x)| (k.clone(), compile(x, &format!("{ptr}/{k}"), errors)))
                .collect();
            if entries
                .iter()
                .all(|(_, t)| matches!(t, JTemplate::Literal(_)))
            {
                JTemplate::Literal(v.clone())
            } else {
                JTemplate::Object(entries)
            }
        }
        Value::Array(a) => {
            let items: Vec<JTemplate> = a
                .iter()
                .enumerate()
                .map(|(i, x)| compile(x, &format!("{ptr}/{i}"), errors))
                .collect();
            if items.iter().all(|t| matches!(t, JTemplate::Literal(_))) {
                JTemplate::Literal(v.clone())
            } else {
                JTemplate::Array(items)
            }
        }
        other => JTemplate::Literal(other.clone()),
    }
}
