//! Payload templates: `Parameters`, `ResultSelector` and `ItemSelector`, whose `.$` keys take
//! their values from a path or an intrinsic function call.

use super::intrinsics::{self, Call};
use super::path::Path;
use super::{Env, EvalError};
use crate::failure::Failure;
use serde_json::{Map, Value};

/// A compiled payload template.
#[derive(Debug, Clone)]
pub enum Template {
    /// A subtree with no `.$` key anywhere: copied as it is.
    Literal(Value),
    Object(Vec<(String, Entry)>),
    Array(Vec<Template>),
}

#[derive(Debug, Clone)]
pub enum Entry {
    Static(Template),
    /// `"key.$": "$.path"`; `field` is the key as written, for error causes.
    Path {
        field: String,
        path: Path,
    },
    Call {
        field: String,
        call: Box<Call>,
    },
}

/// A problem found while compiling a template: the JSON pointer below the template, and what.
#[derive(Debug, Clone, PartialEq)]
pub struct CompileError {
    pub pointer: String,
    pub message: String,
}

impl Template {
    pub fn compile(value: &Value) -> Result<Template, Vec<CompileError>> {
        let mut errors = Vec::new();
        let t = compile(value, "", &mut errors);
        if errors.is_empty() {
            Ok(t)
        } else {
            Err(errors)
        }
    }

    /// Whether anything in the template reads the context object.
    pub fn uses_context(&self) -> bool {
        match self {
            Template::Literal(_) => false,
            Template::Array(items) => items.iter().any(Template::uses_context),
            Template::Object(entries) => entries.iter().any(|(_, e)| match e {
                Entry::Static(t) => t.uses_context(),
                Entry::Path { path, .. } => path.is_context(),
                Entry::Call { .. } => true,
            }),
        }
    }

    /// Builds the payload. A path that selects nothing is a `States.Runtime` failure worded
    /// as AWS words it.
    pub fn eval(&self, env: &Env) -> Result<Value, Failure> {
        match self {
            Template::Literal(v) => Ok(v.clone()),
            Template::Array(items) => items
                .iter()
                .map(|t| t.eval(env))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Template::Object(entries) => {
                let mut out = Map::with_capacity(entries.len());
                for (key, entry) in entries {
                    let v = match entry {
                        Entry::Static(t) => t.eval(env)?,
                        Entry::Path { field, path } => path
                            .eval(env)
                            .map(|c| c.into_owned())
                            .map_err(|e| field_error(e, field, env))?,
                        Entry::Call { field, call } => {
                            call.eval(env).map_err(|e| field_error(e, field, env))?
                        }
                    };
                    out.insert(key.clone(), v);
                }
                Ok(Value::Object(out))
            }
        }
    }
}

/// The cause AWS gives when a `.$` field's path selects nothing.
pub fn field_error(e: EvalError, field: &str, env: &Env) -> Failure {
    match e {
        EvalError::PathNotFound { path } => Failure::runtime(format!(
            "The JSONPath '{path}' specified for the field '{field}' could not be found in the input '{}'",
            compact(env.input)
        )),
        EvalError::Failure(f) => f,
    }
}

/// Compact JSON text, as AWS embeds values in causes.
pub fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn has_dynamic(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, v)| k.ends_with(".$") || has_dynamic(v)),
        Value::Array(a) => a.iter().any(has_dynamic),
        _ => false,
    }
}

fn compile(value: &Value, pointer: &str, errors: &mut Vec<CompileError>) -> Template {
    if !has_dynamic(value) {
        return Template::Literal(value.clone());
    }
    match value {
        Value::Array(items) => Template::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| compile(v, &format!("{pointer}/{i}"), errors))
                .collect(),
        ),
        Value::Object(m) => {
            let mut entries = Vec::with_capacity(m.len());
            for (k, v) in m {
                let ptr = format!("{pointer}/{}", escape_pointer(k));
                if let Some(name) = k.strip_suffix(".$") {
                    let Some(s) = v.as_str() else {
                        errors.push(CompileError {
                            pointer: ptr,
                            message: format!(
                                "the value of \"{k}\" must be a string holding a path or an intrinsic function"
                            ),
                        });
                        continue;
                    };
                    let entry = if intrinsics::looks_like_call(s) {
                        match Call::parse(s) {
                            Ok(call) => Entry::Call {
                                field: k.clone(),
                                call: Box::new(call),
                            },
                            Err(message) => {
                                errors.push(CompileError {
                                    pointer: ptr,
                                    message,
                                });
                                continue;
                            }
                        }
                    } else {
                        match Path::parse(s) {
                            Ok(path) => Entry::Path {
                                field: k.clone(),
                                path,
                            },
                            Err(message) => {
                                errors.push(CompileError {
                                    pointer: ptr,
                                    message,
                                });
                                continue;
                            }
                        }
                    };
                    entries.push((name.to_string(), entry));
                } else {
                    entries.push((k.clone(), Entry::Static(compile(v, &ptr, errors))));
                }
            }
            Template::Object(entries)
        }
        other => Template::Literal(other.clone()),
    }
}

/// Escapes a key for use in a JSON pointer (RFC 6901).
pub fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(template: Value, input: Value, expected: Value) {
        let t = Template::compile(&template).unwrap();
        let ctx = json!({"Execution": {"Name": "e1"}});
        let env = Env::new(&input, &ctx);
        assert_eq!(t.eval(&env).unwrap(), expected);
    }

    #[test]
    fn templates() {
        check(json!({"a": 1}), json!({}), json!({"a": 1}));
        check(json!({"a.$": "$.x"}), json!({"x": [1]}), json!({"a": [1]}));
        check(
            json!({"n": {"b.$": "$$.Execution.Name"}, "l": [{"c.$": "$.x"}]}),
            json!({"x": 2}),
            json!({"n": {"b": "e1"}, "l": [{"c": 2}]}),
        );
    }

    #[test]
    fn missing_path_is_a_runtime_failure() {
        let t = Template::compile(&json!({"value.$": "$.nope"})).unwrap();
        let input = json!({"a": 1});
        let env = Env::new(&input, &Value::Null);
        let f = t.eval(&env).unwrap_err();
        assert_eq!(f.error, "States.Runtime");
        assert_eq!(
            f.cause,
            "The JSONPath '$.nope' specified for the field 'value.$' could not be found in the input '{\"a\":1}'"
        );
    }

    #[test]
    fn compile_errors_are_located() {
        let e = Template::compile(&json!({"a": {"b.$": 3}, "c.$": "nope"})).unwrap_err();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].pointer, "/a/b.$");
        assert_eq!(e[1].pointer, "/c.$");
    }
}
