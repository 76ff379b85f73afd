//! State machine definitions: parsing the ASL JSON and validating it into the typed [`model`],
//! reporting every problem at once, each at its JSON pointer.

mod choice;
pub mod model;
mod parse;

pub use model::*;
use std::sync::Arc;

/// One problem in a definition.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// JSON pointer into the definition (`/States/Fetch/Next`); empty for the whole document.
    pub pointer: String,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.pointer.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.pointer, self.message)
        }
    }
}

/// Why a definition could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{} problem(s) in the definition", .0.len())]
    Invalid(Vec<Diagnostic>),
}

impl Error {
    /// Every problem on one line (`/States/A/Next: ...; /States/B: ...`), for a message that
    /// must be one string (an API error, a task's cause).
    pub fn detail(&self) -> String {
        match self {
            Error::Invalid(d) => d
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        }
    }
}

/// A loaded, validated definition.
#[derive(Debug, Clone)]
pub struct Definition {
    pub machine: Arc<StateMachine>,
    pub source: Arc<serde_json::Value>,
}

impl Definition {
    /// Parses and validates a definition given as JSON text.
    pub fn from_json(text: &str) -> Result<Definition, Error> {
        // CreateStateMachine's `definition` is at most 1 MiB.
        const MAX_BYTES: usize = 1_048_576;
        if text.len() > MAX_BYTES {
            return Err(Error::Invalid(vec![Diagnostic {
                pointer: String::new(),
                message: format!(
                    "the definition is {} bytes; AWS takes at most {MAX_BYTES} (1 MiB)",
                    text.len()
                ),
            }]));
        }
        let value: serde_json::Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) if e.to_string().contains("recursion limit") => {
                return Err(Error::Invalid(vec![Diagnostic {
                    pointer: String::new(),
                    message: format!(
                        "the definition nests JSON more than 128 levels deep (line {}, column {})",
                        e.line(),
                        e.column()
                    ),
                }]))
            }
            Err(e) => return Err(e.into()),
        };
        Definition::from_value(value)
    }

    pub fn from_value(value: serde_json::Value) -> Result<Definition, Error> {
        let machine = parse::parse_definition(&value).map_err(Error::Invalid)?;
        Ok(Definition {
            machine: Arc::new(machine),
            source: Arc::new(value),
        })
    }
}

/// Replaces `${KEY}` placeholders, as SAM's DefinitionSubstitutions do.
pub fn substitute(text: &str, subs: &[(String, String)]) -> String {
    let mut out = text.to_string();
    for (k, v) in subs {
        out = out.replace(&format!("${{{k}}}"), v);
    }
    out
}

/// Parses an ASL timestamp (RFC 3339 with an uppercase `T` and an explicit offset or `Z`).
pub fn parse_timestamp_pub(s: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    parse::parse_timestamp(s)
}

/// Splits a `StringMatches` pattern on its unescaped `*`.
pub fn split_pattern_pub(p: &str) -> Vec<String> {
    choice::split_pattern(p)
}

/// Whether `name` may name a variable: "The first character ... Unicode ID_Start ...
/// subsequent characters ... Unicode ID_Continue ... maximum length of 80" (AWS), and `_` first
/// as in JavaScript.
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| unicode_ident::is_xid_start(c) || c == '_')
        && chars.all(unicode_ident::is_xid_continue)
        && name.chars().count() <= 80
}

/// The Task resources an EXPRESS state machine refuses (`.sync`, `.sync:2`,
/// `.waitForTaskToken`, activities), with their JSON pointers, anywhere in the definition.
pub fn express_refusals(def: &serde_json::Value) -> Vec<(String, String)> {
    fn walk(v: &serde_json::Value, ptr: &str, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(serde_json::Value::String(r)) = m.get("Resource") {
                    if m.get("Type").and_then(|t| t.as_str()) == Some("Task")
                        && (r.ends_with(".sync")
                            || r.ends_with(".sync:2")
                            || r.ends_with(".waitForTaskToken")
                            || crate::history::activities::activity_name(r).is_some())
                    {
                        out.push((format!("{ptr}/Resource"), r.clone()));
                    }
                }
                for (k, x) in m {
                    let key = k.replace('~', "~0").replace('/', "~1");
                    walk(x, &format!("{ptr}/{key}"), out);
                }
            }
            serde_json::Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    walk(x, &format!("{ptr}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(def, "", &mut out);
    out
}
