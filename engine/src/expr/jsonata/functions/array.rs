//! Array functions: $append, $reverse, $shuffle, $distinct, $zip, $sort.

use super::super::error::{Error, Result};
use super::super::evaluator::{self, js_str_less, merge_sort, Evaluator};
use super::super::value::*;
use super::arg;
use rand::seq::SliceRandom;

pub fn append(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let mut it = args.into_iter();
    let a = it.next().unwrap_or_default();
    let b = it.next().unwrap_or_default();
    Ok(evaluator::append(a, b))
}

pub fn reverse(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let v = arg(&args, 0);
    match &v {
        Value::Array(a) if a.items.len() > 1 => {
            Ok(Value::array(a.items.iter().rev().cloned().collect()))
        }
        _ => Ok(v),
    }
}

pub fn shuffle(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let v = arg(&args, 0);
    match &v {
        Value::Array(a) if a.items.len() > 1 => {
            let mut items = a.items.clone();
            items.shuffle(&mut rand::thread_rng());
            Ok(Value::array(items))
        }
        _ => Ok(v),
    }
}

pub fn distinct(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let v = arg(&args, 0);
    let a = match &v {
        Value::Array(a) if a.items.len() > 1 => a,
        _ => return Ok(v),
    };
    let mut out: Vec<Value> = Vec::new();
    for item in a.items.iter() {
        let dup = match item {
            Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null => {
                out.iter().any(|o| deep_equal(o, item))
            }
            _ => out.iter().any(|o| deep_equal(o, item)),
        };
        if !dup {
            out.push(item.clone());
        }
    }
    Ok(if a.is_sequence() {
        Value::seq(out)
    } else {
        Value::array(out)
    })
}

pub fn zip(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let len = args
        .iter()
        .map(|a| {
            if let Value::Array(x) = a {
                x.items.len()
            } else {
                0
            }
        })
        .min()
        .unwrap_or(0);
    let mut out = Vec::with_capacity(len);
    for i in 0..len {
        out.push(Value::array(
            args.iter().map(|a| a.members()[i].clone()).collect(),
        ));
    }
    Ok(Value::array(out))
}

pub fn sort(ev: &mut Evaluator<'_>, args: Vec<Value>, input: &Value) -> Result<Value> {
    let v = arg(&args, 0);
    let a = match &v {
        Value::Undefined => return Ok(Value::Undefined),
        Value::Array(a) if a.items.len() > 1 => a.clone(),
        _ => return Ok(v),
    };
    let items = a.items.clone();
    let comparator = arg(&args, 1);
    let sorted = if comparator.is_undefined() {
        let all_num = items.iter().all(|x| matches!(x, Value::Number(_)));
        let all_str = items.iter().all(|x| matches!(x, Value::String(_)));
        if !all_num && !all_str {
            return Err(Error::new("D3070"));
        }
        merge_sort(items, &mut |x, y| {
            Ok(match (&x, &y) {
                (Value::Number(p), Value::Number(q)) => p > q,
                (Value::String(p), Value::String(q)) => js_str_less(q, p),
                _ => false,
            })
        })?
    } else {
        merge_sort(items, &mut |x, y| {
            let r = ev.apply(&comparator, vec![x, y], input)?;
            Ok(js_truthy(&r))
        })?
    };
    Ok(Value::array(sorted))
}
