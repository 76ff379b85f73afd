//! Choice rules evaluated against a state's input.

use crate::definition::model::{Choice, ChoiceRule, Operand, Operator};
use crate::definition::parse_timestamp_pub as parse_timestamp;
use crate::expr::Env;
use crate::failure::Failure;
use serde_json::Value;
use std::cmp::Ordering;

/// The index of the first choice whose rule matches.
pub fn choose(choices: &[Choice], env: &Env) -> Result<Option<usize>, Failure> {
    for (i, c) in choices.iter().enumerate() {
        if eval(&c.rule, env)? {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

pub fn eval(rule: &ChoiceRule, env: &Env) -> Result<bool, Failure> {
    match rule {
        // JSONata conditions are evaluated by the scheduler, which holds the variables.
        ChoiceRule::Condition(_) => Err(Failure::runtime(
            "a JSONata Condition cannot be evaluated as a JSONPath rule",
        )),
        ChoiceRule::And(rules) => {
            for r in rules {
                if !eval(r, env)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        ChoiceRule::Or(rules) => {
            for r in rules {
                if eval(r, env)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        ChoiceRule::Not(r) => Ok(!eval(r, env)?),
        ChoiceRule::Compare {
            variable,
            op,
            operand,
        } => {
            let value = variable.eval(env).ok();
            if *op == Operator::IsPresent {
                let want = matches!(operand, Operand::Literal(Value::Bool(true)));
                return Ok(value.is_some() == want);
            }
            let Some(value) = value else {
                if is_type_test(*op) {
                    return Ok(false);
                }
                return Err(Failure::runtime(format!(
                    "Invalid path '{}': The choice state's condition path references an invalid value.",
                    variable.as_str()
                )));
            };
            let resolved;
            let operand_value: Option<&Value> = match operand {
                Operand::Path(p) => {
                    resolved = p.eval(env).map_err(|_| {
                        Failure::runtime(format!(
                            "Invalid path '{}': The choice state's condition path references an invalid value.",
                            p.as_str()
                        ))
                    })?;
                    Some(&*resolved)
                }
                Operand::Literal(v) => Some(v),
                _ => None,
            };
            Ok(compare(*op, &value, operand, operand_value))
        }
    }
}

fn is_type_test(op: Operator) -> bool {
    matches!(
        op,
        Operator::IsNull
            | Operator::IsNumeric
            | Operator::IsString
            | Operator::IsBoolean
            | Operator::IsTimestamp
    )
}

fn compare(op: Operator, v: &Value, operand: &Operand, rhs: Option<&Value>) -> bool {
    use Operator::*;
    let flag = || matches!(rhs, Some(Value::Bool(true)));
    match op {
        IsNull => v.is_null() == flag(),
        IsNumeric => v.is_number() == flag(),
        IsString => v.is_string() == flag(),
        IsBoolean => v.is_boolean() == flag(),
        IsTimestamp => v.as_str().and_then(parse_timestamp).is_some() == flag(),
        IsPresent => true,
        StringMatches => match (v.as_str(), operand) {
            (Some(s), Operand::Pattern(parts)) => glob_match(s, parts),
            _ => false,
        },
        StringEquals
        | StringLessThan
        | StringGreaterThan
        | StringLessThanEquals
        | StringGreaterThanEquals => match (v.as_str(), rhs.and_then(|r| r.as_str())) {
            (Some(a), Some(b)) => ordering_holds(op, a.cmp(b)),
            _ => false,
        },
        NumericEquals
        | NumericLessThan
        | NumericGreaterThan
        | NumericLessThanEquals
        | NumericGreaterThanEquals => match (v, rhs) {
            (Value::Number(a), Some(Value::Number(b))) => {
                num_cmp(a, b).is_some_and(|o| ordering_holds(op, o))
            }
            _ => false,
        },
        BooleanEquals => match (v, rhs) {
            (Value::Bool(a), Some(Value::Bool(b))) => a == b,
            _ => false,
        },
        TimestampEquals
        | TimestampLessThan
        | TimestampGreaterThan
        | TimestampLessThanEquals
        | TimestampGreaterThanEquals => {
            let Some(a) = v.as_str().and_then(parse_timestamp) else {
                return false;
            };
            let b = match (operand, rhs) {
                (Operand::Timestamp(t), _) => *t,
                (_, Some(Value::String(s))) => match parse_timestamp(s) {
                    Some(t) => t,
                    None => return false,
                },
                _ => return false,
            };
            ordering_holds(op, a.cmp(&b))
        }
    }
}

fn num_cmp(a: &serde_json::Number, b: &serde_json::Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

fn ordering_holds(op: Operator, o: Ordering) -> bool {
    use Operator::*;
    match op {
        StringEquals | NumericEquals | TimestampEquals => o == Ordering::Equal,
        StringLessThan | NumericLessThan | TimestampLessThan => o == Ordering::Less,
        StringGreaterThan | NumericGreaterThan | TimestampGreaterThan => o == Ordering::Greater,
        StringLessThanEquals | NumericLessThanEquals | TimestampLessThanEquals => {
            o != Ordering::Greater
        }
        StringGreaterThanEquals | NumericGreaterThanEquals | TimestampGreaterThanEquals => {
            o != Ordering::Less
        }
        _ => false,
    }
}

/// Matches `s` against a pattern already split on its unescaped `*`.
pub fn glob_match(s: &str, parts: &[String]) -> bool {
    if parts.len() == 1 {
        return s == parts[0];
    }
    let (first, rest) = parts.split_first().expect("non-empty");
    let (last, middle) = rest.split_last().expect("at least two parts");
    let Some(mut remaining) = s.strip_prefix(first.as_str()) else {
        return false;
    };
    for part in middle {
        match remaining.find(part.as_str()) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::Definition;
    use serde_json::json;

    /// Runs the Choice of a one-rule definition and tells whether the rule matched.
    fn check(rule: Value, input: Value, expected: bool) {
        let mut rule = rule;
        rule["Next"] = json!("Yes");
        let def = json!({"StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [rule], "Default": "No"},
            "Yes": {"Type": "Succeed"}, "No": {"Type": "Succeed"}}});
        let d = Definition::from_value(def).unwrap();
        let crate::definition::Kind::Choice { choices, .. } = &d.machine.states[0].kind else {
            panic!("not a choice")
        };
        let env = Env::new(&input, &Value::Null);
        assert_eq!(
            choose(choices, &env).unwrap().is_some(),
            expected,
            "{input}"
        );
    }

    #[test]
    fn comparisons() {
        check(
            json!({"Variable": "$.n", "NumericLessThanPath": "$.m"}),
            json!({"n": 1, "m": 2}),
            true,
        );
        check(
            json!({"Variable": "$.n", "NumericEquals": 1}),
            json!({"n": 1.0}),
            true,
        );
        check(
            json!({"Variable": "$.n", "NumericEquals": 1}),
            json!({"n": "1"}),
            false,
        );
        check(
            json!({"Variable": "$.s", "StringGreaterThan": "a"}),
            json!({"s": "b"}),
            true,
        );
        check(
            json!({"Variable": "$.b", "BooleanEquals": false}),
            json!({"b": false}),
            true,
        );
        check(
            json!({"Variable": "$.t", "TimestampLessThan": "2020-01-01T00:00:00Z"}),
            json!({"t": "2019-12-31T23:59:59+00:00"}),
            true,
        );
        check(
            json!({"Variable": "$.x", "IsPresent": false}),
            json!({}),
            true,
        );
        check(
            json!({"Variable": "$.x", "IsNull": true}),
            json!({"x": null}),
            true,
        );
        check(
            json!({"And": [{"Variable": "$", "NumericGreaterThanEquals": 1}, {"Not": {"Variable": "$", "NumericEquals": 3}}]}),
            json!(2),
            true,
        );
        check(
            json!({"Or": [{"Variable": "$", "NumericEquals": 5}, {"Variable": "$", "NumericEquals": 3}]}),
            json!(3),
            true,
        );
    }

    #[test]
    fn string_matches() {
        let p = |s: &str| crate::definition::split_pattern_pub(s);
        assert!(glob_match("log-2020.txt", &p("log-*.txt")));
        assert!(!glob_match("log-2020.txt", &p("log-*.csv")));
        assert!(glob_match("a*b", &p("a\\*b")));
        assert!(!glob_match("axb", &p("a\\*b")));
        assert!(glob_match("abc", &p("*")));
        assert!(glob_match("aXbYc", &p("a*b*c")));
        assert!(!glob_match("ab", &p("ab*b")));
    }
}
