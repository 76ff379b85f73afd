//! Object functions: $keys, $lookup, $spread, $merge, $error, $assert, $type, $clone, and the
//! transform operator `| pattern | update, delete |`.

use super::super::error::{Error, Result};
use super::super::evaluator::{self, Evaluator, Frame};
use super::super::parser::TransformDef;
use super::super::value::*;
use super::{arg, str_arg};
use std::collections::HashMap;
use std::rc::Rc;

fn keys_of(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Array(a) => {
            for item in a.items.iter() {
                let mut ks = Vec::new();
                keys_of(item, &mut ks);
                for k in ks {
                    if !out.contains(&k) {
                        out.push(k);
                    }
                }
            }
        }
        Value::Object(o) => out.extend(o.keys().cloned()),
        _ => {}
    }
}

pub fn keys(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let mut ks = Vec::new();
    keys_of(&arg(&args, 0), &mut ks);
    Ok(Value::seq(ks.into_iter().map(Value::string).collect()))
}

pub fn lookup(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let key = str_arg(&args, 1).unwrap_or("");
    Ok(evaluator::lookup(&arg(&args, 0), key))
}

fn spread_value(v: &Value) -> Value {
    match v {
        Value::Array(a) => {
            let mut result = Value::seq(Vec::new());
            for item in a.items.iter() {
                result = evaluator::append(result, spread_value(item));
            }
            result
        }
        Value::Object(o) => Value::seq(
            o.iter()
                .map(|(k, v)| {
                    let mut m = Map::new();
                    m.insert(k.clone(), v.clone());
                    Value::object(m)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

pub fn spread(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    Ok(spread_value(&arg(&args, 0)))
}

pub fn merge(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let v = arg(&args, 0);
    if v.is_undefined() {
        return Ok(Value::Undefined);
    }
    let mut m = Map::new();
    for item in v.members() {
        if let Value::Object(o) = item {
            for (k, x) in o.iter() {
                m.insert(k.clone(), x.clone());
            }
        }
    }
    Ok(Value::object(m))
}

pub fn error(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let msg = str_arg(&args, 0).unwrap_or("$error() function evaluated");
    Err(Error::msg("D3137", msg))
}

pub fn assert(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    if !matches!(arg(&args, 0), Value::Bool(true)) {
        let msg = str_arg(&args, 1).unwrap_or("$assert() statement failed");
        return Err(Error::msg("D3141", msg));
    }
    Ok(Value::Undefined)
}

pub fn type_(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    Ok(arg(&args, 0)
        .type_name()
        .map(Value::str)
        .unwrap_or_default())
}

pub fn clone(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    Ok(arg(&args, 0))
}

struct Update {
    set: Option<Rc<Obj>>,
    delete: Vec<String>,
}

/// Applies a transform to a copy of `obj`: matched objects get the update merged and the
/// deletions removed.
pub fn transform(
    ev: &mut Evaluator<'_>,
    def: &TransformDef,
    env: &Rc<Frame>,
    obj: Value,
) -> Result<Value> {
    let matches = ev.eval(&def.pattern, &obj, env)?;
    let mut updates: HashMap<*const Obj, Vec<Update>> = HashMap::new();
    for m in matches.members().to_vec() {
        let upd = ev.eval(&def.update, &m, env)?;
        let set = match upd {
            Value::Undefined => None,
            Value::Object(o) => Some(o),
            other => return Err(Error::new("T2011").val(describe(&other)).at(def.update.pos)),
        };
        let mut delete = Vec::new();
        if let Some(d) = &def.delete {
            let dels = ev.eval(d, &m, env)?;
            if dels.is_defined() {
                for x in dels.members() {
                    match x {
                        Value::String(s) => delete.push(s.to_string()),
                        _ => return Err(Error::new("T2012").val(describe(&dels)).at(d.pos)),
                    }
                }
            }
        }
        if let Value::Object(o) = &m {
            updates
                .entry(Rc::as_ptr(o))
                .or_default()
                .push(Update { set, delete });
        }
    }
    if updates.is_empty() {
        return Ok(obj);
    }
    let mut memo = HashMap::new();
    Ok(rebuild(&obj, &updates, &mut memo).0)
}

fn rebuild(
    v: &Value,
    updates: &HashMap<*const Obj, Vec<Update>>,
    memo: &mut HashMap<*const Obj, Value>,
) -> (Value, bool) {
    stacker::maybe_grow(32 * 1024, 1024 * 1024, || match v {
        Value::Object(o) => {
            let ptr = Rc::as_ptr(o);
            if let Some(done) = memo.get(&ptr) {
                return (done.clone(), true);
            }
            let mut changed = false;
            let mut new = Map::with_capacity(o.len());
            for (k, child) in o.iter() {
                let (c, ch) = rebuild(child, updates, memo);
                changed |= ch;
                new.insert(k.clone(), c);
            }
            if let Some(list) = updates.get(&ptr) {
                changed = true;
                for u in list {
                    if let Some(set) = &u.set {
                        for (k, val) in set.iter() {
                            let (c, _) = rebuild(val, updates, memo);
                            new.insert(k.clone(), c);
                        }
                    }
                    for d in &u.delete {
                        new.shift_remove(d);
                    }
                }
            }
            if !changed {
                return (v.clone(), false);
            }
            let out = Value::object(new);
            memo.insert(ptr, out.clone());
            (out, true)
        }
        Value::Array(a) => {
            let mut changed = false;
            let mut items = Vec::with_capacity(a.items.len());
            for item in a.items.iter() {
                let (c, ch) = rebuild(item, updates, memo);
                changed |= ch;
                items.push(c);
            }
            if !changed {
                return (v.clone(), false);
            }
            (Value::array_flags(items, a.flags.get()), true)
        }
        other => (other.clone(), false),
    })
}
