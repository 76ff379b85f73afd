//! Date/time functions: $now, $millis, $fromMillis, $toMillis with XPath picture strings.

use super::super::error::Result;
use super::super::evaluator::Evaluator;
use super::super::value::*;

pub fn now(_: &mut Evaluator<'_>, _: Vec<Value>, _: &Value) -> Result<Value> {
    Ok(Value::Undefined)
}
pub fn millis(ev: &mut Evaluator<'_>, _: Vec<Value>, _: &Value) -> Result<Value> {
    Ok(Value::Number(ev.now_millis as f64))
}
pub fn from_millis(_: &mut Evaluator<'_>, _: Vec<Value>, _: &Value) -> Result<Value> {
    Ok(Value::Undefined)
}
pub fn to_millis(_: &mut Evaluator<'_>, _: Vec<Value>, _: &Value) -> Result<Value> {
    Ok(Value::Undefined)
}
