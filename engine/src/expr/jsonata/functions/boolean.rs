//! Boolean functions: $boolean, $not, $exists.

use super::super::error::Result;
use super::super::evaluator::Evaluator;
use super::super::value::*;

pub fn boolean(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    Ok(truthy(&super::arg(&args, 0))
        .map(Value::Bool)
        .unwrap_or_default())
}

pub fn not(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    Ok(truthy(&super::arg(&args, 0))
        .map(|b| Value::Bool(!b))
        .unwrap_or_default())
}

pub fn exists(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    Ok(Value::Bool(super::arg(&args, 0).is_defined()))
}
