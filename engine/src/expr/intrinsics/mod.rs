//! Intrinsic functions of the JSONPath query language (`States.Format(...)` and the rest): parsed once, evaluated per state.
//!
//! Argument failures surface as AWS shows them: error `States.Runtime`, cause
//! `Invalid arguments in States.<Name>`. Wrong arity and wrong argument types are runtime
//! failures too (AWS accepts such definitions and fails the execution); only malformed syntax,
//! bad escapes and unknown function names are rejected by [`Call::parse`].

mod array;
mod encoding;
mod func;
mod hash;
mod hashset;
mod java;
mod json;
mod math;
mod parse;
mod string;
mod uuid;

use crate::expr::path::Path;
use crate::expr::{Env, EvalError};
use crate::failure::{names, Failure};
use func::Func;
use serde_json::Value;
use std::borrow::Cow;

/// One argument of an intrinsic call.
#[derive(Debug, Clone)]
pub enum Arg {
    /// A string, number, `true`, `false` or `null` written in the call.
    Literal(Value),
    /// `$...` (state input) or `$$...` (context object).
    Path(Path),
    /// A nested intrinsic call.
    Call(Box<Call>),
}

/// A parsed intrinsic call: the function and its arguments.
#[derive(Debug, Clone)]
pub struct Call {
    func: Func,
    args: Vec<Arg>,
    /// For `States.Format` with a literal template: the template as written, escapes resolved.
    template: Option<string::Template>,
}

impl Call {
    /// Parses `States.Format('{}', $.a)` etc. The error is a short human message for definition
    /// validation, e.g. `unknown intrinsic function "States.Foo"`.
    pub fn parse(src: &str) -> Result<Call, String> {
        let call = parse::parse(src)?;
        // "You can nest up to 10 intrinsic functions within a field in your workflows."
        let depth = call.depth();
        if depth > 10 {
            return Err(format!(
                "intrinsic functions nest at most 10 deep in a field; this one nests {depth}"
            ));
        }
        Ok(call)
    }

    /// How many calls deep this call goes (1: no call among its arguments).
    fn depth(&self) -> usize {
        1 + self
            .args
            .iter()
            .map(|a| match a {
                Arg::Call(c) => c.depth(),
                _ => 0,
            })
            .max()
            .unwrap_or(0)
    }

    /// Evaluates against the env. A path argument that selects nothing returns
    /// `Err(EvalError::PathNotFound { path })`; every other failure is
    /// `Err(EvalError::Failure(..))` with AWS's error name and cause.
    pub fn eval(&self, env: &Env) -> Result<Value, EvalError> {
        let mut values = Vec::with_capacity(self.args.len());
        for arg in &self.args {
            values.push(arg.eval(env)?);
        }
        self.func.apply(&values, self.template.as_ref())
    }

    /// The function's full name, e.g. `States.Format`.
    pub fn name(&self) -> &'static str {
        self.func.name()
    }

    pub fn args(&self) -> &[Arg] {
        &self.args
    }
}

impl Arg {
    fn eval<'v>(&'v self, env: &Env<'v>) -> Result<Cow<'v, Value>, EvalError> {
        match self {
            Arg::Literal(v) => Ok(Cow::Borrowed(v)),
            Arg::Path(p) => p.eval(env),
            Arg::Call(c) => c.eval(env).map(Cow::Owned),
        }
    }
}

/// True when a string value of a `.$` field is an intrinsic call (starts with `States.` + name + `(`).
pub fn looks_like_call(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("States.") else {
        return false;
    };
    let name_len = rest
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    name_len > 0 && rest.as_bytes().get(name_len) == Some(&b'(')
}

/// AWS's failure for arguments a function cannot take (wrong count, type or range).
fn invalid(func: Func) -> EvalError {
    EvalError::Failure(Failure::new(
        names::RUNTIME,
        format!("Invalid arguments in {}", func.name()),
    ))
}

/// Borrows exactly `N` arguments, or fails as AWS does for a wrong argument count.
fn exact<'a, const N: usize>(
    func: Func,
    args: &'a [Cow<'_, Value>],
) -> Result<[&'a Value; N], EvalError> {
    let fixed: &[Cow<'_, Value>; N] = args.try_into().map_err(|_| invalid(func))?;
    Ok(std::array::from_fn(|i| &*fixed[i]))
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use serde_json::json;

    fn context(input: &Value) -> Value {
        json!({
            "Execution": {"Id": "arn:aws:states:us-east-1:111111111111:execution:sm:ex", "Input": input, "Name": "ex"},
            "StateMachine": {"Id": "arn:aws:states:us-east-1:111111111111:stateMachine:my-state-machine", "Name": "my-state-machine"},
            "State": {"Name": "Pass", "EnteredTime": "2024-01-01T00:00:00Z"}
        })
    }

    pub fn run(expr: &str, input: Value) -> Result<Value, EvalError> {
        let call = Call::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
        let ctx = context(&input);
        call.eval(&Env::new(&input, &ctx))
    }

    /// Evaluates `expr` against `input` and compares with `expected`.
    pub fn check(expr: &str, input: Value, expected: Value) {
        match run(expr, input) {
            Ok(v) => assert_eq!(v, expected, "{expr}"),
            Err(e) => panic!("{expr}: unexpected {e:?}"),
        }
    }

    /// Evaluates `expr` and expects a `States.Runtime` failure with `cause`.
    pub fn check_fails(expr: &str, input: Value, cause: &str) {
        match run(expr, input) {
            Ok(v) => panic!("{expr}: expected failure, got {v}"),
            Err(EvalError::Failure(f)) => {
                assert_eq!(f.error, names::RUNTIME, "{expr}");
                assert_eq!(f.cause, cause, "{expr}");
            }
            Err(e) => panic!("{expr}: unexpected {e:?}"),
        }
    }

    /// Expects `Invalid arguments in <the called function>`.
    pub fn check_invalid(expr: &str, input: Value) {
        let name = expr.split('(').next().unwrap_or_default();
        check_fails(expr, input, &format!("Invalid arguments in {name}"));
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;
    use serde_json::json;

    #[test]
    fn looks_like_call_needs_name_and_parenthesis() {
        assert!(looks_like_call("States.Format('x')"));
        assert!(looks_like_call("States.UUID()"));
        assert!(looks_like_call("States.Foo(1)"));
        assert!(!looks_like_call("States.Format"));
        assert!(!looks_like_call("States.(1)"));
        assert!(!looks_like_call("States.Format ('x')"));
        assert!(!looks_like_call("$.States.Format('x')"));
        assert!(!looks_like_call(" States.Array()"));
        assert!(!looks_like_call("Statés.Array()"));
        assert!(!looks_like_call(""));
    }

    #[test]
    fn missing_path_is_reported_to_the_caller() {
        for expr in [
            "States.Format('{}', $.missing)",
            "States.Array(States.Array($.missing))",
            "States.Hash($.missing, 'SHA-256')",
        ] {
            match run(expr, json!({})) {
                Err(EvalError::PathNotFound { path }) => assert_eq!(path, "$.missing"),
                other => panic!("{expr}: {other:?}"),
            }
        }
        match run("States.Array($$.Execution.Nope)", json!({})) {
            Err(EvalError::PathNotFound { path }) => assert_eq!(path, "$$.Execution.Nope"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn arguments_come_from_input_context_and_nested_calls() {
        check(
            "States.Array($.a, $$.Execution.Input.b, States.Array(1), 'x', null)",
            json!({"a": 1, "b": [true]}),
            json!([1, [true], [1], "x", null]),
        );
        check(
            "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), States.MathAdd(States.ArrayLength(States.StringSplit($$.StateMachine.Name, '-')), -1))",
            json!({"FunctionInput": null}),
            json!("machine"),
        );
    }

    #[test]
    fn documented_nine_level_nesting() {
        // AWS's example has three placeholders for two arguments, which fails; two are used here.
        check_invalid("States.Format('{}.{}.{}', States.Array(1), 2)", json!({}));
        check(
            "States.Format('{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 0), States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 1))",
            json!({"ImageRecipe": {"Arn": "arn:aws:imagebuilder:us-east-1:111:image-recipe/my-recipe/1.2.3"}}),
            json!("1.2"),
        );
    }

    #[test]
    fn at_most_ten_nested_calls() {
        let nest = |n: usize| "States.Array(".repeat(n) + "$.a" + &")".repeat(n);
        assert!(Call::parse(&nest(10)).is_ok());
        let e = Call::parse(&nest(11)).unwrap_err();
        assert!(e.contains("at most 10 deep"), "{e}");
    }

    #[test]
    fn accessors() {
        let call = Call::parse("States.MathAdd($.a, 1)").unwrap();
        assert_eq!(call.name(), "States.MathAdd");
        assert_eq!(call.args().len(), 2);
        assert!(matches!(&call.args()[0], Arg::Path(p) if p.as_str() == "$.a"));
        assert!(matches!(&call.args()[1], Arg::Literal(v) if *v == json!(1)));
    }
}
