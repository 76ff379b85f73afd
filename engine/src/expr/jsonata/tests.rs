//! Unit tests: one or more small cases per language feature and function.

use super::*;
use serde_json::json;

fn run(expr: &str, input: Option<serde_json::Value>) -> Result<Option<serde_json::Value>, Error> {
    Expression::parse(expr)?.evaluate_with(
        input.as_ref(),
        &Bindings::new(),
        &Functions::step_functions(),
        Limits::default(),
    )
}

fn check(expr: &str, input: serde_json::Value, expected: serde_json::Value) {
    match run(expr, Some(input)) {
        Ok(Some(v)) => assert_eq!(v, expected, "{expr}"),
        other => panic!("{expr}: expected {expected}, got {other:?}"),
    }
}

fn check_err(expr: &str, input: serde_json::Value, code: &str) {
    match run(expr, Some(input)) {
        Err(e) => assert_eq!(e.code, code, "{expr}: {e}"),
        other => panic!("{expr}: expected error {code}, got {other:?}"),
    }
}

fn check_undefined(expr: &str, input: serde_json::Value) {
    match run(expr, Some(input)) {
        Ok(None) => {}
        other => panic!("{expr}: expected undefined, got {other:?}"),
    }
}

#[test]
fn paths() {
    check("a.b", json!({"a": {"b": 1}}), json!(1));
    check("a.b", json!({"a": [{"b": 1}, {"b": 2}]}), json!([1, 2]));
    check_undefined("a.c", json!({"a": {"b": 1}}));
    check("a[0].b", json!({"a": [{"b": 1}, {"b": 2}]}), json!(1));
    check("a.b[]", json!({"a": {"b": 1}}), json!([1]));
}

#[test]
fn operators() {
    check("1 + 2 * 3", json!(null), json!(7));
    check("'a' & 1", json!(null), json!("a1"));
    check_err("'a' + 1", json!(null), "T2001");
    check("[1..3]", json!(null), json!([1, 2, 3]));
}
