//! Expressions of the JSONPath query language: paths, payload templates and intrinsic functions.
//!
//! Everything here is compiled once when a definition loads and evaluated against an [`Env`].

pub mod intrinsics;
pub mod jsonata;
pub mod jtemplate;
pub mod path;
pub mod template;

use crate::failure::Failure;
use serde_json::Value;

/// Where expressions read from: the state's effective input (`$`) and the context object (`$$`).
pub struct Env<'a> {
    pub input: &'a Value,
    pub context: &'a dyn ContextProvider,
    /// The variables (`$name` paths), when the state can see any.
    pub vars: Option<&'a serde_json::Map<String, Value>>,
    /// A JSONata state's bindings (`$states`, variables), for its `{% %}` fields.
    pub bindings: Option<&'a jsonata::Prepared>,
}

/// Supplies the context object, built only when an expression reads `$$`.
pub trait ContextProvider {
    fn context(&self) -> &Value;
}

impl ContextProvider for Value {
    fn context(&self) -> &Value {
        self
    }
}

impl<'a> Env<'a> {
    pub fn new(input: &'a Value, context: &'a dyn ContextProvider) -> Self {
        Env {
            input,
            context,
            vars: None,
            bindings: None,
        }
    }

    pub fn with_bindings(mut self, bindings: &'a jsonata::Prepared) -> Self {
        self.bindings = Some(bindings);
        self
    }

    /// Evaluates a JSONata field of a JSONata state.
    pub fn jsonata(&self, t: &jtemplate::JTemplate, field: &str) -> Result<Value, Failure> {
        match self.bindings {
            Some(b) => t.eval(b, field),
            None => Err(Failure::runtime(format!(
                "the JSONata expression of field '{field}' has no JSONata state around it"
            ))),
        }
    }

    pub fn with_vars(mut self, vars: &'a serde_json::Map<String, Value>) -> Self {
        self.vars = Some(vars);
        self
    }
}

/// Why an expression produced no value.
#[derive(Debug, Clone, PartialEq)]
pub enum EvalError {
    /// A path selected nothing; the caller words the `States.Runtime` cause for its field.
    PathNotFound { path: String },
    /// A failure that is already complete (for example `States.IntrinsicFailure`).
    Failure(Failure),
}

impl From<Failure> for EvalError {
    fn from(f: Failure) -> Self {
        EvalError::Failure(f)
    }
}
