//! Higher-order functions: $map, $filter, $single, $reduce, $sift, $each.

use super::super::error::{Error, Result};
use super::super::evaluator::Evaluator;
use super::super::value::*;
use super::arg;

fn arity(f: &Value) -> usize {
    match f {
        Value::Func(func) => func.arity(),
        _ => 0,
    }
}

/// The arguments a higher-order function passes: value, then index and whole array as the
/// function's arity allows.
fn hof_args(
    f: &Value,
    a: Value,
    b: impl FnOnce() -> Value,
    c: impl FnOnce() -> Value,
) -> Vec<Value> {
    let n = arity(f);
    let mut args = vec![a];
    if n >= 2 {
        args.push(b());
    }
    if n >= 3 {
        args.push(c());
    }
    args
}

pub fn map(ev: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let arr = arg(&args, 0);
    if arr.is_undefined() {
        return Ok(Value::Undefined);
    }
    let f = arg(&args, 1);
    let mut out = Vec::new();
    for (i, item) in arr.members().iter().enumerate() {
        let a = hof_args(&f, item.clone(), || Value::Number(i as f64), || arr.clone());
        let r = ev.apply(&f, a, &Value::Null)?;
        if r.is_defined() {
            out.push(r);
        }
    }
    Ok(Value::seq(out))
}

pub fn filter(ev: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let arr = arg(&args, 0);
    if arr.is_undefined() {
        return Ok(Value::Undefined);
    }
    let f = arg(&args, 1);
    let mut out = Vec::new();
    for (i, item) in arr.members().iter().enumerate() {
        let a = hof_args(&f, item.clone(), || Value::Number(i as f64), || arr.clone());
        let r = ev.apply(&f, a, &Value::Null)?;
        if truthy(&r) == Some(true) {
            out.push(item.clone());
        }
    }
    Ok(Value::seq(out))
}

pub fn single(ev: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let arr = arg(&args, 0);
    if arr.is_undefined() {
        return Ok(Value::Undefined);
    }
    let f = arg(&args, 1);
    let mut found: Option<Value> = None;
    for (i, item) in arr.members().iter().enumerate() {
        let ok = if f.is_undefined() {
            true
        } else {
            let a = hof_args(&f, item.clone(), || Value::Number(i as f64), || arr.clone());
            truthy(&ev.apply(&f, a, &Value::Null)?) == Some(true)
        };
        if ok {
            if found.is_some() {
                return Err(Error::new("D3138"));
            }
            found = Some(item.clone());
        }
    }
    found.ok_or_else(|| Error::new("D3139"))
}

pub fn reduce(ev: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let seq = arg(&args, 0);
    if seq.is_undefined() {
        return Ok(Value::Undefined);
    }
    let f = arg(&args, 1);
    let n = arity(&f);
    if n < 2 {
        return Err(Error::new("D3050").set("index", 1));
    }
    let items = seq.members().to_vec();
    let init = arg(&args, 2);
    let (mut result, mut index) = if init.is_undefined() && !items.is_empty() {
        (items[0].clone(), 1)
    } else {
        (init, 0)
    };
    while index < items.len() {
        let mut a = vec![result, items[index].clone()];
        if n >= 3 {
            a.push(Value::Number(index as f64));
        }
        if n >= 4 {
            a.push(seq.clone());
        }
        result = ev.apply(&f, a, &Value::Null)?;
        index += 1;
    }
    Ok(result)
}

pub fn sift(ev: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let obj = arg(&args, 0);
    let Value::Object(o) = &obj else {
        return Ok(Value::Undefined);
    };
    let f = arg(&args, 1);
    let mut out = Map::new();
    for (k, v) in o.iter() {
        let a = hof_args(&f, v.clone(), || Value::str(k), || obj.clone());
        let r = ev.apply(&f, a, &Value::Null)?;
        if truthy(&r) == Some(true) {
            out.insert(k.clone(), v.clone());
        }
    }
    Ok(if out.is_empty() {
        Value::Undefined
    } else {
        Value::object(out)
    })
}

pub fn each(ev: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let obj = arg(&args, 0);
    let Value::Object(o) = &obj else {
        return Ok(Value::Undefined);
    };
    let f = arg(&args, 1);
    let mut out = Vec::new();
    for (k, v) in o.iter() {
        let a = hof_args(&f, v.clone(), || Value::str(k), || obj.clone());
        let r = ev.apply(&f, a, &Value::Null)?;
        if r.is_defined() {
            out.push(r);
        }
    }
    Ok(Value::seq(out))
}
