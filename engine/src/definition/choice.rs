//! Parsing of Choice rules (`And`, `Or`, `Not` and the comparison operators).

use super::model::{ChoiceRule, Operand, Operator};
use super::parse::{parse_timestamp, Diags};
use crate::expr::path::Path;
use serde_json::{Map, Value};

const OPERATORS: &[(&str, Operator)] = &[
    ("StringEquals", Operator::StringEquals),
    ("StringLessThan", Operator::StringLessThan),
    ("StringGreaterThan", Operator::StringGreaterThan),
    ("StringLessThanEquals", Operator::StringLessThanEquals),
    ("StringGreaterThanEquals", Operator::StringGreaterThanEquals),
    ("StringMatches", Operator::StringMatches),
    ("NumericEquals", Operator::NumericEquals),
    ("NumericLessThan", Operator::NumericLessThan),
    ("NumericGreaterThan", Operator::NumericGreaterThan),
    ("NumericLessThanEquals", Operator::NumericLessThanEquals),
    (
        "NumericGreaterThanEquals",
        Operator::NumericGreaterThanEquals,
    ),
    ("BooleanEquals", Operator::BooleanEquals),
    ("TimestampEquals", Operator::TimestampEquals),
    ("TimestampLessThan", Operator::TimestampLessThan),
    ("TimestampGreaterThan", Operator::TimestampGreaterThan),
    ("TimestampLessThanEquals", Operator::TimestampLessThanEquals),
    (
        "TimestampGreaterThanEquals",
        Operator::TimestampGreaterThanEquals,
    ),
    ("IsNull", Operator::IsNull),
    ("IsPresent", Operator::IsPresent),
    ("IsNumeric", Operator::IsNumeric),
    ("IsString", Operator::IsString),
    ("IsBoolean", Operator::IsBoolean),
    ("IsTimestamp", Operator::IsTimestamp),
];

/// Parses one rule; `top` rules carry `Next`, nested ones must not.
pub(super) fn parse_rule(
    v: &Value,
    ptr: &str,
    top: bool,
    d: &mut Diags,
) -> Option<(ChoiceRule, Option<String>)> {
    let Some(m) = v.as_object() else {
        d.push(ptr, "a choice rule must be an object");
        return None;
    };
    let next = match m.get("Next") {
        Some(Value::String(s)) if top => Some(s.clone()),
        Some(_) if top => {
            d.push(format!("{ptr}/Next"), "Next must be a string");
            None
        }
        Some(_) => {
            d.push(
                format!("{ptr}/Next"),
                "a nested choice rule must not have Next",
            );
            None
        }
        None if top => {
            d.push(ptr, "a choice rule must have Next");
            None
        }
        None => None,
    };
    for k in m.keys() {
        let top_only = top && k == "Assign";
        if k != "Next" && k != "Comment" && k != "Variable" && !top_only && !is_rule_key(k) {
            d.push(
                format!("{ptr}/{k}"),
                format!("{k:?} is not a field of a choice rule"),
            );
        }
    }
    let rule = parse_body(m, ptr, d)?;
    Some((rule, next))
}

fn is_rule_key(k: &str) -> bool {
    matches!(k, "And" | "Or" | "Not")
        || OPERATORS
            .iter()
            .any(|(n, _)| *n == k || k.strip_suffix("Path") == Some(n))
}

fn parse_body(m: &Map<String, Value>, ptr: &str, d: &mut Diags) -> Option<ChoiceRule> {
    let combos: Vec<&str> = ["And", "Or", "Not"]
        .into_iter()
        .filter(|k| m.contains_key(*k))
        .collect();
    let comparisons: Vec<(&String, &Value)> = m
        .iter()
        .filter(|(k, _)| is_rule_key(k) && !matches!(k.as_str(), "And" | "Or" | "Not"))
        .collect();
    if combos.len() + comparisons.len() != 1 {
        d.push(
            ptr,
            "a choice rule must have exactly one of And, Or, Not or a comparison operator",
        );
        return None;
    }
    if let Some(&combo) = combos.first() {
        if m.contains_key("Variable") {
            d.push(
                format!("{ptr}/Variable"),
                format!("a rule with {combo} must not have Variable"),
            );
        }
        let p = format!("{ptr}/{combo}");
        return match combo {
            "Not" => parse_rule(&m[combo], &p, false, d).map(|(r, _)| ChoiceRule::Not(Box::new(r))),
            _ => {
                let Some(list) = m[combo].as_array().filter(|a| !a.is_empty()) else {
                    d.push(p, format!("{combo} must be a non-empty array of rules"));
                    return None;
                };
                let mut rules = Vec::new();
                for (i, r) in list.iter().enumerate() {
                    if let Some((r, _)) = parse_rule(r, &format!("{p}/{i}"), false, d) {
                        rules.push(r);
                    }
                }
                if rules.len() != list.len() {
                    return None;
                }
                Some(if combo == "And" {
                    ChoiceRule::And(rules)
                } else {
                    ChoiceRule::Or(rules)
                })
            }
        };
    }
    let (key, value) = comparisons[0];
    let variable = match m.get("Variable") {
        Some(Value::String(s)) => match Path::parse(s) {
            Ok(p) => p,
            Err(e) => {
                d.push(format!("{ptr}/Variable"), e);
                return None;
            }
        },
        Some(_) => {
            d.push(format!("{ptr}/Variable"), "Variable must be a string");
            return None;
        }
        None => {
            d.push(ptr, format!("a rule with {key} must have Variable"));
            return None;
        }
    };
    let p = format!("{ptr}/{key}");
    let (name, by_path) = match OPERATORS.iter().find(|(n, _)| *n == key) {
        Some(_) => (key.as_str(), false),
        None => (key.strip_suffix("Path").unwrap_or(key), true),
    };
    let op = OPERATORS.iter().find(|(n, _)| *n == name)?.1;
    let operand = if by_path {
        if op == Operator::StringMatches || is_type_test(op) {
            d.push(&p, format!("{key} is not an operator"));
            return None;
        }
        match value.as_str().map(Path::parse) {
            Some(Ok(path)) => Operand::Path(path),
            Some(Err(e)) => {
                d.push(&p, e);
                return None;
            }
            None => {
                d.push(&p, format!("{key} must be a string holding a path"));
                return None;
            }
        }
    } else {
        literal_operand(op, value, &p, d)?
    };
    Some(ChoiceRule::Compare {
        variable,
        op,
        operand,
    })
}

fn is_type_test(op: Operator) -> bool {
    matches!(
        op,
        Operator::IsNull
            | Operator::IsPresent
            | Operator::IsNumeric
            | Operator::IsString
            | Operator::IsBoolean
            | Operator::IsTimestamp
    )
}

fn literal_operand(op: Operator, v: &Value, p: &str, d: &mut Diags) -> Option<Operand> {
    use Operator::*;
    let ok = match op {
        StringEquals
        | StringLessThan
        | StringGreaterThan
        | StringLessThanEquals
        | StringGreaterThanEquals
        | StringMatches => v.is_string(),
        NumericEquals
        | NumericLessThan
        | NumericGreaterThan
        | NumericLessThanEquals
        | NumericGreaterThanEquals => v.is_number(),
        TimestampEquals
        | TimestampLessThan
        | TimestampGreaterThan
        | TimestampLessThanEquals
        | TimestampGreaterThanEquals => v.is_string(),
        _ => v.is_boolean(),
    };
    if !ok {
        let want = match op {
            NumericEquals
            | NumericLessThan
            | NumericGreaterThan
            | NumericLessThanEquals
            | NumericGreaterThanEquals => "a number",
            StringEquals
            | StringLessThan
            | StringGreaterThan
            | StringLessThanEquals
            | StringGreaterThanEquals
            | StringMatches => "a string",
            TimestampEquals
            | TimestampLessThan
            | TimestampGreaterThan
            | TimestampLessThanEquals
            | TimestampGreaterThanEquals => "a timestamp string",
            _ => "true or false",
        };
        d.push(p, format!("{op:?} takes {want}"));
        return None;
    }
    match op {
        StringMatches => Some(Operand::Pattern(split_pattern(v.as_str().unwrap_or("")))),
        TimestampEquals
        | TimestampLessThan
        | TimestampGreaterThan
        | TimestampLessThanEquals
        | TimestampGreaterThanEquals => match parse_timestamp(v.as_str().unwrap_or("")) {
            Some(t) => Some(Operand::Timestamp(t)),
            None => {
                d.push(
                    p,
                    format!("{v} is not an ISO-8601 timestamp such as 2016-08-18T17:33:00Z"),
                );
                None
            }
        },
        _ => Some(Operand::Literal(v.clone())),
    }
}

/// Splits a `StringMatches` pattern on unescaped `*`; `\*` and `\\` are literal.
pub(crate) fn split_pattern(p: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) => parts.last_mut().expect("non-empty").push(n),
                None => parts.last_mut().expect("non-empty").push('\\'),
            },
            '*' => parts.push(String::new()),
            c => parts.last_mut().expect("non-empty").push(c),
        }
    }
    parts
}
