//! `States.StringToJson`, `States.JsonToString` and `States.JsonMerge`.

use super::func::Func;
use super::{exact, invalid, java};
use crate::expr::EvalError;
use serde_json::Value;
use std::borrow::Cow;

/// `States.StringToJson(string)`: the parsed JSON; blank text gives `null`, as on AWS.
pub(super) fn string_to_json(args: &[Cow<'_, Value>]) -> Result<Value, EvalError> {
    let [Value::String(text)] = exact(Func::StringToJson, args)? else {
        return Err(invalid(Func::StringToJson));
    };
    let text = text.trim();
    if text.is_empty() {
        return Ok(Value::Null);
    }
    if text == "-0" {
        // An integer zero, not the double -0.0 serde_json would make of it.
        return Ok(Value::from(0));
    }
    serde_json::from_str(text).map_err(|_| invalid(Func::StringToJson))
}

/// `States.JsonToString(value)`: compact JSON text, keys in their order.
pub(super) fn json_to_string(args: &[Cow<'_, Value>]) -> Result<Value, EvalError> {
    let [value] = exact(Func::JsonToString, args)?;
    Ok(Value::String(java::to_json(value)))
}

/// `States.JsonMerge(left, right, deep)`: a shallow merge where `right`'s keys win. Only shallow
/// mode exists: `deep` = `true` fails; AWS takes any other third argument as `false`.
pub(super) fn merge(args: &[Cow<'_, Value>]) -> Result<Value, EvalError> {
    let [Value::Object(left), Value::Object(right), deep] = exact(Func::JsonMerge, args)? else {
        return Err(invalid(Func::JsonMerge));
    };
    if *deep == Value::Bool(true) {
        return Err(invalid(Func::JsonMerge));
    }
    let mut merged = left.clone();
    for (k, v) in right {
        merged.insert(k.clone(), v.clone());
    }
    Ok(Value::Object(merged))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{check, check_invalid};
    use serde_json::{json, Value};

    #[test]
    fn string_to_json() {
        let f = "States.StringToJson($.FunctionInput)";
        for (text, out) in [
            (" ", Value::Null),
            ("", Value::Null),
            ("\n\t", Value::Null),
            ("null", Value::Null),
            ("true", json!(true)),
            ("\"HelloWorld\"", json!("HelloWorld")),
            ("[1, 2, \"HelloWorld\"]", json!([1, 2, "HelloWorld"])),
            (
                "{\"Arg1\": 1, \"Arg2\": []}",
                json!({"Arg1": 1, "Arg2": []}),
            ),
            (" {\"a\":1} ", json!({"a": 1})),
            ("{\"a\":\"it's\"}", json!({"a": "it's"})),
            ("123", json!(123)),
            ("1.5e3", json!(1500.0)),
        ] {
            check(f, json!({"FunctionInput": text}), out);
        }
        check(f, json!({"FunctionInput": "-0"}), json!(0));
        check(f, json!({"FunctionInput": "-0.0"}), json!(-0.0));
        check(
            "States.StringToJson('{\"number\": 20}')",
            json!({}),
            json!({"number": 20}),
        );
        check(
            "States.StringToJson(States.JsonToString($.obj))",
            json!({"obj": {"a": 1, "nested": {"ok": true}}}),
            json!({"a": 1, "nested": {"ok": true}}),
        );
        for bad in [
            json!("{bad json}"),
            json!("{\"a\":1"),
            json!("undefined"),
            json!(123),
            json!({"a": 1}),
            json!([1]),
            json!(null),
        ] {
            check_invalid("States.StringToJson($.j)", json!({"j": bad}));
        }
        check_invalid("States.StringToJson()", json!({}));
        check_invalid("States.StringToJson('1', '2')", json!({}));
    }

    #[test]
    fn json_to_string() {
        let f = "States.JsonToString($.FunctionInput)";
        for (v, out) in [
            (json!(0), "0"),
            (json!(1), "1"),
            (json!(1.1), "1.1"),
            (json!(null), "null"),
            (json!("HelloWorld"), "\"HelloWorld\""),
            (json!([1, 2, "HelloWorld"]), "[1,2,\"HelloWorld\"]"),
            (json!({"Arg1": 1, "Arg2": []}), "{\"Arg1\":1,\"Arg2\":[]}"),
            (
                json!({"z": 1, "a": {"y": [true, null]}}),
                "{\"z\":1,\"a\":{\"y\":[true,null]}}",
            ),
            (json!({"q": "a\"b\\c\n"}), "{\"q\":\"a\\\"b\\\\c\\n\"}"),
        ] {
            check(f, json!({"FunctionInput": v}), json!(out));
        }
        check(
            "States.JsonToString($.probe)",
            json!({"probe": [null, "", " ", 0, 1, true, false, [0, 1, false]]}),
            json!("[null,\"\",\" \",0,1,true,false,[0,1,false]]"),
        );
        check(
            "States.JsonToString(States.Array(1, 'a'))",
            json!({}),
            json!("[1,\"a\"]"),
        );
        check_invalid("States.JsonToString()", json!({}));
        check_invalid("States.JsonToString($.a, $.a)", json!({"a": 1}));
    }

    #[test]
    fn merge() {
        check(
            "States.JsonMerge($.FunctionInput.fst, $.FunctionInput.snd, false)",
            json!({"FunctionInput": {"fst": {"a": {"a1": 1, "a2": 2}, "b": 2, "d": 3}, "snd": {"a": {"a3": 1, "a4": 2}, "c": 3, "d": 4}}}),
            json!({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3, "d": 4}),
        );
        check(
            "States.JsonMerge(States.StringToJson('{\"constant_in_literal\": \"false\"}'), $$.Execution.Input.input_field, false)",
            json!({"input_field": {"constant_input_field": "constant_value"}}),
            json!({"constant_input_field": "constant_value", "constant_in_literal": "false"}),
        );
        let f = "States.JsonMerge($.a, $.b, false)";
        check(f, json!({"a": {}, "b": {"x": 1}}), json!({"x": 1}));
        check(f, json!({"a": {"x": 1}, "b": {}}), json!({"x": 1}));
        check(
            f,
            json!({"a": {"n": {"l": true}, "k": 1}, "b": {"n": null}}),
            json!({"n": null, "k": 1}),
        );
        check(
            f,
            json!({"a": {"l": [1, 2]}, "b": {"l": [3]}}),
            json!({"l": [3]}),
        );
        let merged = super::super::test_support::run(
            f,
            json!({"a": {"x": 1, "y": 2}, "b": {"y": 3, "z": 4}}),
        )
        .unwrap();
        let keys: Vec<&String> = merged
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys, ["x", "y", "z"]);
        check(
            "States.JsonMerge($.a, $.b, $.d)",
            json!({"a": {}, "b": {"k": 1}, "d": "false"}),
            json!({"k": 1}),
        );
        check_invalid(
            "States.JsonMerge($.a, $.b, true)",
            json!({"a": {"n": {"l": 1}}, "b": {"n": {"r": 2}}}),
        );
        for (a, b) in [
            (json!(null), json!({})),
            (json!({}), json!(null)),
            (json!([]), json!({})),
            (json!({}), json!("x")),
        ] {
            check_invalid(f, json!({"a": a, "b": b}));
        }
        check_invalid("States.JsonMerge($.a, $.a)", json!({"a": {}}));
        check_invalid("States.JsonMerge($.a, $.a, false, 1)", json!({"a": {}}));
        check_invalid("States.JsonMerge()", json!({}));
    }
}
