//! Aggregation functions: $sum, $count, $max, $min, $average.

use super::super::error::Result;
use super::super::evaluator::Evaluator;
use super::super::value::*;

fn numbers(v: &Value) -> Option<Vec<f64>> {
    match v {
        Value::Undefined => None,
        other => Some(other.members().iter().filter_map(|x| x.as_num()).collect()),
    }
}

pub fn sum(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    Ok(match numbers(&super::arg(&args, 0)) {
        None => Value::Undefined,
        Some(ns) => Value::Number(ns.iter().sum()),
    })
}

pub fn count(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    Ok(Value::Number(match super::arg(&args, 0) {
        Value::Undefined => 0.0,
        v => v.members().len() as f64,
    }))
}

pub fn max(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    Ok(match numbers(&super::arg(&args, 0)) {
        Some(ns) if !ns.is_empty() => {
            Value::Number(ns.iter().copied().fold(f64::NEG_INFINITY, f64::max))
        }
        _ => Value::Undefined,
    })
}

pub fn min(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    Ok(match numbers(&super::arg(&args, 0)) {
        Some(ns) if !ns.is_empty() => {
            Value::Number(ns.iter().copied().fold(f64::INFINITY, f64::min))
        }
        _ => Value::Undefined,
    })
}

pub fn average(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    Ok(match numbers(&super::arg(&args, 0)) {
        Some(ns) if !ns.is_empty() => Value::Number(ns.iter().sum::<f64>() / ns.len() as f64),
        _ => Value::Undefined,
    })
}
