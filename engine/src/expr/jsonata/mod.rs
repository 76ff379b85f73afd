//! JSONata 2.0.6 as AWS Step Functions runs it: compile once, evaluate many times.
//!
//! [`Expression::parse`] compiles the text; [`Expression::evaluate`] runs it against an input
//! with variable bindings. Host functions (such as the Step Functions additions in
//! [`stepfunctions`]) are supplied through a [`Functions`] registry.

mod error;
mod evaluator;
mod fast;
mod functions;
mod lexer;
mod parser;
mod signature;
pub mod stepfunctions;
mod value;

pub use error::Error;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Variables bound in the outermost scope, named without the `$`.
pub type Bindings = HashMap<String, serde_json::Value>;

/// Evaluation guards: nesting depth of expression evaluation and wall-clock time (U1001).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    pub max_depth: Option<usize>,
    pub time_limit: Option<Duration>,
}

/// Bindings for several evaluations (a state's `Arguments`, `Output` and `Assign` share
/// them): read as JSON by the shortcut for simple expressions, converted to the evaluator's
/// values once, on first need, for the others.
pub struct Prepared {
    json: Bindings,
    values: std::sync::OnceLock<Vec<(Arc<str>, value::Value)>>,
}

impl Prepared {
    pub fn new(bindings: Bindings) -> Prepared {
        Prepared {
            json: bindings,
            values: std::sync::OnceLock::new(),
        }
    }

    /// The bindings as given.
    pub fn json(&self) -> &Bindings {
        &self.json
    }

    /// The bindings back, to change them for another round of evaluations.
    pub fn into_json(self) -> Bindings {
        self.json
    }

    fn values(&self) -> &[(Arc<str>, value::Value)] {
        self.values.get_or_init(|| {
            self.json
                .iter()
                .map(|(k, v)| (Arc::from(k.as_str()), value::from_json(v)))
                .collect()
        })
    }
}

/// A native function body: JSON arguments (`None` = undefined) to a JSON result.
pub type NativeFn =
    dyn Fn(&[Option<serde_json::Value>]) -> Result<Option<serde_json::Value>, Error> + Send + Sync;

/// A host-provided function, with an optional JSONata signature validated before each call.
#[derive(Clone)]
pub struct HostFunction {
    signature: Option<Arc<signature::Signature>>,
    arity: usize,
    f: Arc<NativeFn>,
}

impl std::fmt::Debug for HostFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "HostFunction({:?})",
            self.signature.as_ref().map(|s| s.definition.as_str())
        )
    }
}

/// A registry of host functions, looked up by name (without `$`) after variables and before
/// the built-in library (so a host function may replace a built-in, as `$random` does).
#[derive(Clone, Default, Debug)]
pub struct Functions {
    map: HashMap<String, HostFunction>,
}

impl Functions {
    pub fn new() -> Functions {
        Functions::default()
    }

    /// Registers `name` (without `$`). `signature` uses JSONata's syntax, e.g. `"<a<j>n:a>"`.
    pub fn register<F>(&mut self, name: &str, signature: Option<&str>, f: F) -> Result<(), Error>
    where
        F: Fn(&[Option<serde_json::Value>]) -> Result<Option<serde_json::Value>, Error>
            + Send
            + Sync
            + 'static,
    {
        let sig = match signature {
            Some(s) => Some(Arc::new(signature::Signature::parse(s)?)),
            None => None,
        };
        let arity = sig.as_ref().map(|s| s.param_count()).unwrap_or(1);
        self.map.insert(
            name.to_string(),
            HostFunction {
                signature: sig,
                arity,
                f: Arc::new(f),
            },
        );
        Ok(())
    }

    /// A registry holding the six functions AWS Step Functions adds.
    pub fn step_functions() -> Functions {
        let mut f = Functions::new();
        stepfunctions::register(&mut f);
        f
    }

    fn get(&self, name: &str) -> Option<&HostFunction> {
        self.map.get(name)
    }
}

/// A compiled JSONata expression.
#[derive(Debug, Clone)]
pub struct Expression {
    root: Arc<parser::Node>,
    source: Arc<str>,
    /// The shortcut, for expressions simple enough to have one.
    fast: Option<Arc<fast::Fast>>,
}

impl Expression {
    /// Compiles an expression; syntax errors carry JSONata's `S0xxx` codes.
    pub fn parse(src: &str) -> Result<Expression, Error> {
        let root = parser::parse(src).map_err(|e| e.finish())?;
        Ok(Expression {
            fast: fast::Fast::compile(&root).map(Arc::new),
            root: Arc::new(root),
            source: Arc::from(src),
        })
    }

    /// Whether the expression is simple enough to be read straight from JSON bindings.
    pub fn has_shortcut(&self) -> bool {
        self.fast.is_some()
    }

    /// The source text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// `input: None` is JSONata's undefined input. `Ok(None)` is an undefined result.
    pub fn evaluate(
        &self,
        input: Option<&serde_json::Value>,
        bindings: &Bindings,
    ) -> Result<Option<serde_json::Value>, Error> {
        self.evaluate_with(input, bindings, &Functions::default(), Limits::default())
    }

    /// The same with limits: max evaluation depth and a time limit (U1001 when exceeded).
    pub fn evaluate_with_limits(
        &self,
        input: Option<&serde_json::Value>,
        bindings: &Bindings,
        limits: Limits,
    ) -> Result<Option<serde_json::Value>, Error> {
        self.evaluate_with(input, bindings, &Functions::default(), limits)
    }

    /// Full form: bindings, host functions and limits.
    /// Evaluates with bindings converted once ([`Prepared`]) and no input.
    pub fn evaluate_prepared(
        &self,
        prepared: &Prepared,
        functions: &Functions,
        limits: Limits,
    ) -> Result<Option<serde_json::Value>, Error> {
        if let Some(f) = &self.fast {
            if let Ok(v) = f.eval(prepared.json()) {
                return Ok(v);
            }
        }
        self.evaluate_general(prepared, functions, limits)
    }

    /// [`Expression::evaluate_prepared`] without the shortcut (to check that both agree).
    pub fn evaluate_general(
        &self,
        prepared: &Prepared,
        functions: &Functions,
        limits: Limits,
    ) -> Result<Option<serde_json::Value>, Error> {
        let root = evaluator::Frame::root();
        for (k, v) in prepared.values() {
            root.bind(k.clone(), v.clone());
        }
        let input = value::Value::default();
        let mut ev = evaluator::Evaluator::new(functions, &limits);
        let result = ev.eval(&self.root, &input, &root).map_err(|e| e.finish())?;
        value::to_json(&result).map_err(|e| e.finish())
    }

    pub fn evaluate_with(
        &self,
        input: Option<&serde_json::Value>,
        bindings: &Bindings,
        functions: &Functions,
        limits: Limits,
    ) -> Result<Option<serde_json::Value>, Error> {
        // The shortcut reads variables only (never `$`), so the input does not matter to it.
        if let Some(f) = &self.fast {
            if let Ok(v) = f.eval(bindings) {
                return Ok(v);
            }
        }
        let root = evaluator::Frame::root();
        for (k, v) in bindings {
            root.bind(Arc::from(k.as_str()), value::from_json(v));
        }
        let input = input.map(value::from_json).unwrap_or_default();
        root.bind(Arc::from("$"), input.clone());
        let input = if input.is_array() {
            value::Value::array_flags(vec![input], value::SEQUENCE | value::OUTER_WRAPPER)
        } else {
            input
        };
        let mut ev = evaluator::Evaluator::new(functions, &limits);
        let result = ev.eval(&self.root, &input, &root).map_err(|e| e.finish())?;
        value::to_json(&result).map_err(|e| e.finish())
    }
}

#[cfg(test)]
mod tests;
