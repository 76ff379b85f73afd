//! The array intrinsics: `States.ArrayPartition`, `ArrayContains`, `ArrayRange`, `ArrayGetItem`,
//! `ArrayLength` and `ArrayUnique` (`States.Array` itself just collects its arguments).

use super::func::Func;
use super::{exact, hashset, invalid, java};
use crate::expr::EvalError;
use serde_json::Value;
use std::borrow::Cow;

/// AWS's cap on the length of a `States.ArrayRange` result.
const MAX_RANGE_ITEMS: i64 = 1000;

/// `States.ArrayPartition(array, size)`: chunks of `size` items (size truncated toward zero,
/// at least 1); the last chunk holds what is left.
pub(super) fn partition(args: &[Cow<'_, Value>]) -> Result<Value, EvalError> {
    let [Value::Array(items), size] = exact(Func::ArrayPartition, args)? else {
        return Err(invalid(Func::ArrayPartition));
    };
    let size = java::truncate_i64(size)
        .filter(|s| *s > 0)
        .ok_or_else(|| invalid(Func::ArrayPartition))?;
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    Ok(Value::Array(
        items
            .chunks(size)
            .map(|c| Value::Array(c.to_vec()))
            .collect(),
    ))
}

/// `States.ArrayContains(array, value)`: AWS compares the Java string renderings, so `true`
/// matches `"true"` and objects match only with their keys in the same order.
pub(super) fn contains(args: &[Cow<'_, Value>]) -> Result<Value, EvalError> {
    let [Value::Array(items), needle] = exact(Func::ArrayContains, args)? else {
        return Err(invalid(Func::ArrayContains));
    };
    let needle = java::to_string(needle);
    Ok(Value::Bool(
        items.iter().any(|item| java::to_string(item) == needle),
    ))
}

/// `States.ArrayRange(first, last, step)`: `first`, `first + step`, ... up to `last` inclusive,
/// arguments truncated to integers; step 0 and results over 1000 items fail.
pub(super) fn range(args: &[Cow<'_, Value>]) -> Result<Value, EvalError> {
    let [first, last, step] = exact(Func::ArrayRange, args)?;
    let (Some(first), Some(last), Some(step)) = (
        java::truncate_i32(first),
        java::truncate_i32(last),
        java::truncate_i32(step),
    ) else {
        return Err(invalid(Func::ArrayRange));
    };
    let (first, last, step) = (i64::from(first), i64::from(last), i64::from(step));
    if step == 0 {
        return Err(invalid(Func::ArrayRange));
    }
    let span = last - first;
    let count = if span == 0 || (span > 0) == (step > 0) {
        span / step + 1
    } else {
        0
    };
    if count > MAX_RANGE_ITEMS {
        return Err(invalid(Func::ArrayRange));
    }
    Ok(Value::Array(
        (0..count).map(|i| Value::from(first + i * step)).collect(),
    ))
}

/// `States.ArrayGetItem(array, index)`: the index is truncated toward zero; an index outside a
/// non-empty array fails, while AWS answers `null` for any index into an empty array.
pub(super) fn get_item(args: &[Cow<'_, Value>]) -> Result<Value, EvalError> {
    let [Value::Array(items), index] = exact(Func::ArrayGetItem, args)? else {
        return Err(invalid(Func::ArrayGetItem));
    };
    let index = java::truncate_i64(index).ok_or_else(|| invalid(Func::ArrayGetItem))?;
    if items.is_empty() {
        return Ok(Value::Null);
    }
    usize::try_from(index)
        .ok()
        .and_then(|i| items.get(i))
        .cloned()
        .ok_or_else(|| invalid(Func::ArrayGetItem))
}

/// `States.ArrayLength(array)`.
pub(super) fn length(args: &[Cow<'_, Value>]) -> Result<Value, EvalError> {
    match exact(Func::ArrayLength, args)? {
        [Value::Array(items)] => Ok(Value::from(items.len())),
        _ => Err(invalid(Func::ArrayLength)),
    }
}

/// `States.ArrayUnique(array)`: distinct items (Java `equals`) in the iteration order of the
/// `java.util.HashSet` AWS collects them in, which is not first-seen order.
pub(super) fn unique(args: &[Cow<'_, Value>]) -> Result<Value, EvalError> {
    match exact(Func::ArrayUnique, args)? {
        [Value::Array(items)] => Ok(Value::Array(
            hashset::hash_set_order(items)
                .into_iter()
                .cloned()
                .collect(),
        )),
        _ => Err(invalid(Func::ArrayUnique)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{check, check_invalid, run};
    use serde_json::{json, Value};

    #[test]
    fn array_collects_arguments() {
        check("States.Array()", json!({}), json!([]));
        let f = "States.Array($.FunctionInput.fst, $.FunctionInput.snd)";
        for v in [
            json!(" "),
            json!(null),
            json!(1),
            json!(1.1),
            json!("{\"Arg1\": 1, \"Arg2\": []}"),
            json!({"Arg1": 1, "Arg2": []}),
        ] {
            check(
                f,
                json!({"FunctionInput": {"fst": v, "snd": v}}),
                json!([v, v]),
            );
        }
        check(
            "States.Array('Foo', 2020, $.someJson, null)",
            json!({"someJson": {"random": "abcdefg"}}),
            json!(["Foo", 2020, {"random": "abcdefg"}, null]),
        );
    }

    #[test]
    fn partition() {
        let f = "States.ArrayPartition($.a, $.n)";
        for (a, n, out) in [
            (json!([0, 1]), 1, json!([[0], [1]])),
            (json!([0, 1]), 3, json!([[0, 1]])),
            (json!([0, 1, 2]), 2, json!([[0, 1], [2]])),
            (json!([0, 1, 2, 3]), 3, json!([[0, 1, 2], [3]])),
            (json!([0, 1, 2, 3]), 2, json!([[0, 1], [2, 3]])),
            (json!([]), 3, json!([])),
            (json!([0]), 5, json!([[0]])),
            (
                json!([1, 2, 3, 4, 5, 6, 7, 8, 9]),
                4,
                json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]]),
            ),
            (json!([1, 2, 3]), 2147483647, json!([[1, 2, 3]])),
        ] {
            check(f, json!({"a": a, "n": n}), out);
        }
        check(
            f,
            json!({"a": [1, 2, 3, 4, 5], "n": 2.6}),
            json!([[1, 2], [3, 4], [5]]),
        );
        check(
            f,
            json!({"a": [[1], {"b": 2}], "n": 1}),
            json!([[[1]], [{"b": 2}]]),
        );
        check(
            "States.ArrayPartition(States.Array(1,2,3,4,5), 2)",
            json!({}),
            json!([[1, 2], [3, 4], [5]]),
        );
        check(f, json!({"a": [1], "n": 1e300}), json!([[1]]));
        for n in [
            json!(0),
            json!(-1),
            json!(0.49),
            json!(-0.4),
            json!(0.6),
            json!("2"),
            json!(null),
        ] {
            check_invalid(
                "States.ArrayPartition($.a, $.n)",
                json!({"a": [1, 2, 3], "n": n}),
            );
        }
        check_invalid("States.ArrayPartition('not-array', 2)", json!({}));
        check_invalid("States.ArrayPartition($.a)", json!({"a": [1]}));
        check_invalid("States.ArrayPartition($.a, 2, 999)", json!({"a": [1]}));
    }

    #[test]
    fn contains() {
        let f = "States.ArrayContains($.FunctionInput.fst, $.FunctionInput.snd)";
        for (arr, v, out) in [
            (json!([]), json!(null), false),
            (json!([]), json!(1), false),
            (json!([[1, 2, 3], 2]), json!(null), false),
            (json!([[1, 2, 3], 2]), json!([1, 2, 3]), true),
            (json!([true, false]), json!(true), true),
            (json!([1, null, 3]), json!(null), true),
            (json!([{"a": 1}, {"b": 2}]), json!({"a": 1}), true),
            (json!([{"a": 1, "b": 2}]), json!({"b": 2, "a": 1}), false),
            (json!([{"a": 1}]), json!({"a": 1, "extra": null}), false),
            (json!([0, 1, -1, -1.5]), json!(false), false),
            (json!(["true", "false"]), json!(true), true),
            (
                json!(["9007199254740991"]),
                json!(9007199254740991i64),
                true,
            ),
            (
                json!([null, "", " ", 0, 1, true, false, [0, 1, false]]),
                json!([0, 1, false]),
                true,
            ),
            (json!([1]), json!(1.0), false),
        ] {
            let input = json!({"FunctionInput": {"fst": arr, "snd": v}});
            check(f, input, json!(out));
        }
        check(
            "States.ArrayContains($.a, 5)",
            json!({"a": [1, 5]}),
            json!(true),
        );
        check(
            "States.ArrayContains(States.Array(1, 2, 3), 2)",
            json!({}),
            json!(true),
        );
        check_invalid("States.ArrayContains('not-array', 'x')", json!({}));
        check_invalid("States.ArrayContains($.a)", json!({"a": [1]}));
        check_invalid("States.ArrayContains($.a, 2, 999)", json!({"a": [1]}));
    }

    #[test]
    fn range() {
        let f = "States.ArrayRange($.FunctionInput.fst, $.FunctionInput.snd, $.FunctionInput.trd)";
        for (a, b, c, out) in [
            (0, 9, 3, json!([0, 3, 6, 9])),
            (0, 10, 3, json!([0, 3, 6, 9])),
            (1, 9, 2, json!([1, 3, 5, 7, 9])),
            (-2, 2, 2, json!([-2, 0, 2])),
            (3, 3, 1, json!([3])),
            (3, 3, -1, json!([3])),
            (5, 1, -2, json!([5, 3, 1])),
            (5, 1, 1, json!([])),
            (1, 5, -1, json!([])),
        ] {
            check(
                f,
                json!({"FunctionInput": {"fst": a, "snd": b, "trd": c}}),
                out,
            );
        }
        check("States.ArrayRange(0, 3, 1)", json!({}), json!([0, 1, 2, 3]));
        check(
            "States.ArrayRange(1.4, 5.6, 2.2)",
            json!({}),
            json!([1, 3, 5]),
        );
        check("States.ArrayRange(1.6, 1.4, 1)", json!({}), json!([1]));
        check(
            "States.ArrayRange(5.4, -0.6, -2.4)",
            json!({}),
            json!([5, 3, 1]),
        );
        check(
            "States.ArrayRange(States.MathAdd($.base, 1), States.MathAdd($.base, 5), 2)",
            json!({"base": 0}),
            json!([1, 3, 5]),
        );
        let long = run("States.ArrayRange(1, 1000, 1)", json!({})).unwrap();
        assert_eq!(long.as_array().map(Vec::len), Some(1000));
        assert_eq!(long[999], json!(1000));
        let down = run("States.ArrayRange(1000, 1, -1)", json!({})).unwrap();
        assert_eq!(down.as_array().map(Vec::len), Some(1000));
        check(
            "States.ArrayRange(-2147483648, 2147483647, 2147483647)",
            json!({}),
            json!([-2147483648i64, -1, 2147483646]),
        );
        check(
            "States.ArrayRange(2147483647, -2147483648, 1)",
            json!({}),
            json!([]),
        );
        for expr in [
            "States.ArrayRange(1, 1001, 1)",
            "States.ArrayRange(1001, 1, -1)",
            "States.ArrayRange(1, 10, 0)",
            "States.ArrayRange(1, 10, 0.49)",
            "States.ArrayRange('a', 5, 1)",
            "States.ArrayRange(1, 'b', 1)",
            "States.ArrayRange(1, 5, 'c')",
            "States.ArrayRange(1, 5, null)",
            "States.ArrayRange(1, 5)",
            "States.ArrayRange(1, 5, 1, 99)",
            "States.ArrayRange(0, 3000000000, 1)",
            "States.ArrayRange(-2147483648, 2147483647, 1)",
        ] {
            check_invalid(expr, json!({}));
        }
    }

    #[test]
    fn get_item() {
        check(
            "States.ArrayGetItem($.FunctionInput.fst, $.FunctionInput.snd)",
            json!({"FunctionInput": {"fst": [1, 2, 3, 4, 5, 6, 7, 8, 9], "snd": 5}}),
            json!(6),
        );
        check(
            "States.ArrayGetItem($.arr, 0)",
            json!({"arr": [null]}),
            Value::Null,
        );
        check(
            "States.ArrayGetItem($.arr, 1)",
            json!({"arr": [{"a": 1}, {"b": 2}]}),
            json!({"b": 2}),
        );
        check(
            "States.ArrayGetItem(States.Array('x', 'y', 'z'), 1)",
            json!({}),
            json!("y"),
        );
        check(
            "States.ArrayGetItem($.arr, 1.2)",
            json!({"arr": [10, 20, 30]}),
            json!(20),
        );
        check(
            "States.ArrayGetItem($.arr, 999)",
            json!({"arr": []}),
            Value::Null,
        );
        check(
            "States.ArrayGetItem($.arr, -1)",
            json!({"arr": []}),
            Value::Null,
        );
        for expr in [
            "States.ArrayGetItem($.arr, 3)",
            "States.ArrayGetItem($.arr, -1)",
            "States.ArrayGetItem($.arr, 1e300)",
            "States.ArrayGetItem($.arr, '1')",
            "States.ArrayGetItem($.arr, null)",
            "States.ArrayGetItem($.arr)",
            "States.ArrayGetItem($.arr, 1, 999)",
            "States.ArrayGetItem('not-array', 0)",
        ] {
            check_invalid(expr, json!({"arr": [10, 20, 30]}));
        }
    }

    #[test]
    fn length() {
        check(
            "States.ArrayLength($.FunctionInput)",
            json!({"FunctionInput": [1, 2, 3, 4, 5, 6, 7, 8, 9]}),
            json!(9),
        );
        check("States.ArrayLength($.a)", json!({"a": []}), json!(0));
        check(
            "States.ArrayLength(States.Array(1, 2, 3))",
            json!({}),
            json!(3),
        );
        check(
            "States.ArrayLength($$.Execution.Input.items)",
            json!({"items": [[1], [2]]}),
            json!(2),
        );
        check(
            "States.ArrayLength($.FunctionInput)",
            json!({"FunctionInput": [null, null, true, true, false, false, 1, 1, 1.1, 0, 0, "HelloWorld", "HelloWorld", [], [], [null], [null], {"a": 1, "b": 2}, {"a": 1, "b": 2}, {"a": 1, "b": 1}]}),
            json!(20),
        );
        check_invalid("States.ArrayLength('not-array')", json!({}));
        check_invalid("States.ArrayLength($.o)", json!({"o": {"k": 1}}));
        check_invalid("States.ArrayLength()", json!({}));
        check_invalid("States.ArrayLength($.a, 999)", json!({"a": []}));
    }

    #[test]
    fn unique() {
        let f = "States.ArrayUnique($.arr)";
        check(
            f,
            json!({"arr": [1, 2, 3, 3, 3, 3, 3, 3, 4]}),
            json!([1, 2, 3, 4]),
        );
        check(f, json!({"arr": [1, 2, 2, 3, 3, 4]}), json!([1, 2, 3, 4]));
        check(
            f,
            json!({"arr": ["a", "b", "a", "c", "b"]}),
            json!(["a", "b", "c"]),
        );
        check(f, json!({"arr": []}), json!([]));
        check(
            f,
            json!({"arr": [true, false, true, false]}),
            json!([false, true]),
        );
        check(f, json!({"arr": [null, null, 1, null]}), json!([null, 1]));
        check(f, json!({"arr": [1, "1", 1, "01"]}), json!([1, "1", "01"]));
        check(
            f,
            json!({"arr": [{"a": 1, "b": 2}, {"b": 2, "a": 1}]}),
            json!([{"a": 1, "b": 2}]),
        );
        check(
            f,
            json!({"arr": [[1, 2], [1, 2], [2, 1]]}),
            json!([[2, 1], [1, 2]]),
        );
        check(
            f,
            json!({"arr": [{"nested": {"x": 1}}, {"nested": {"x": 1}}]}),
            json!([{"nested": {"x": 1}}]),
        );
        check(
            "States.ArrayUnique(States.Array(1,1,2,2,3))",
            json!({}),
            json!([1, 2, 3]),
        );
        check_invalid("States.ArrayUnique('not-array')", json!({}));
        check_invalid("States.ArrayUnique($.o)", json!({"o": {"a": 1}}));
        check_invalid("States.ArrayUnique()", json!({}));
        check_invalid("States.ArrayUnique($.arr, $.arr)", json!({"arr": [1]}));
    }
}
