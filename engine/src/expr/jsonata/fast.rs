//! A shortcut for the expressions most states hold: a variable path such as
//! `$states.input.order.id`, literals, and arithmetic, comparisons and `and`/`or` over them.
//! They are read straight from the JSON bindings, without converting those to the evaluator's
//! values. Any case whose answer is not plain (an array on the path, a type error, a
//! non-finite number, deep structures) is handed back, and the general evaluator gives the
//! answer, so that both ways agree on every input.

use super::parser::{BinOp, Kind, Node};
use super::value::number_to_json;
use super::Bindings;
use serde_json::Value;

#[derive(Debug)]
pub enum Fast {
    /// `$name.a.b`: the variable, then object fields.
    Path(String, Vec<String>),
    Num(f64),
    /// A string literal, kept as a JSON string so that it can be lent out.
    Str(Value),
    Bool(bool),
    Null,
    Neg(Box<Fast>),
    Binary(BinOp, Box<Fast>, Box<Fast>),
}

/// Not answered here: ask the general evaluator.
pub struct Fallback;

/// An intermediate value: undefined, a borrowed JSON value, or a computed scalar.
enum V<'a> {
    Undefined,
    Json(&'a Value),
    Num(f64),
    Bool(bool),
}

static NULL: Value = Value::Null;

/// Deepest value copied out here; deeper ones go through the evaluator (and its limit).
const MAX_DEPTH: usize = 64;

impl Fast {
    /// The shortcut for `node`, when it has one.
    pub fn compile(node: &Node) -> Option<Fast> {
        if !plain(node) {
            return None;
        }
        Some(match &node.kind {
            Kind::Variable(v) if !v.is_empty() => Fast::Path(v.to_string(), Vec::new()),
            Kind::Path(steps) => {
                let (first, rest) = steps.split_first()?;
                let Kind::Variable(v) = &first.kind else {
                    return None;
                };
                if v.is_empty() || !plain(first) {
                    return None;
                }
                let mut fields = Vec::with_capacity(rest.len());
                for s in rest {
                    match &s.kind {
                        Kind::Name(n) if plain(s) => fields.push(n.to_string()),
                        _ => return None,
                    }
                }
                Fast::Path(v.to_string(), fields)
            }
            Kind::Num(n) => Fast::Num(*n),
            Kind::Str(s) => Fast::Str(Value::String(s.to_string())),
            Kind::Bool(b) => Fast::Bool(*b),
            Kind::Null => Fast::Null,
            Kind::Neg(x) => Fast::Neg(Box::new(Fast::compile(x)?)),
            Kind::Binary(op, l, r) => match op {
                BinOp::Add
                | BinOp::Sub
                | BinOp::Mul
                | BinOp::Div
                | BinOp::Mod
                | BinOp::Eq
                | BinOp::Ne
                | BinOp::Lt
                | BinOp::Le
                | BinOp::Gt
                | BinOp::Ge
                | BinOp::And
                | BinOp::Or => Fast::Binary(
                    *op,
                    Box::new(Fast::compile(l)?),
                    Box::new(Fast::compile(r)?),
                ),
                _ => return None,
            },
            _ => return None,
        })
    }

    /// The result (`None`: undefined), or [`Fallback`].
    pub fn eval(&self, b: &Bindings) -> Result<Option<Value>, Fallback> {
        match self.value(b)? {
            V::Undefined => Ok(None),
            V::Num(n) => number_to_json(n).map(Some).map_err(|_| Fallback),
            V::Bool(x) => Ok(Some(Value::Bool(x))),
            V::Json(v) => normalized(v, 0).map(Some),
        }
    }

    fn value<'a>(&'a self, b: &'a Bindings) -> Result<V<'a>, Fallback> {
        Ok(match self {
            Fast::Path(var, fields) => {
                let Some(mut v) = b.get(var.as_str()) else {
                    return Err(Fallback);
                };
                for f in fields {
                    match v {
                        Value::Object(m) => match m.get(f.as_str()) {
                            Some(x) => v = x,
                            None => return Ok(V::Undefined),
                        },
                        // Paths map over arrays, and steps on scalars have their own rules.
                        _ => return Err(Fallback),
                    }
                }
                if v.is_array() {
                    return Err(Fallback);
                }
                V::Json(v)
            }
            Fast::Num(n) => V::Num(*n),
            Fast::Str(s) => V::Json(s),
            Fast::Bool(x) => V::Bool(*x),
            Fast::Null => V::Json(&NULL),
            Fast::Neg(x) => match x.value(b)? {
                V::Undefined => V::Undefined,
                v => V::Num(-number(&v).ok_or(Fallback)?),
            },
            Fast::Binary(op, l, r) => binary(*op, l, r, b)?,
        })
    }
}

fn binary<'a>(op: BinOp, l: &'a Fast, r: &'a Fast, b: &'a Bindings) -> Result<V<'a>, Fallback> {
    let lhs = l.value(b)?;
    if op == BinOp::And || op == BinOp::Or {
        let lb = boolean(&lhs)?;
        if (op == BinOp::And && !lb) || (op == BinOp::Or && lb) {
            return Ok(V::Bool(lb));
        }
        return Ok(V::Bool(boolean(&r.value(b)?)?));
    }
    let rhs = r.value(b)?;
    Ok(match op {
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => {
            let (x, y) = match (&lhs, &rhs) {
                (V::Undefined, V::Undefined) => return Ok(V::Undefined),
                (V::Undefined, v) | (v, V::Undefined) => {
                    number(v).ok_or(Fallback)?;
                    return Ok(V::Undefined);
                }
                _ => (number(&lhs).ok_or(Fallback)?, number(&rhs).ok_or(Fallback)?),
            };
            let n = match op {
                BinOp::Add => x + y,
                BinOp::Sub => x - y,
                BinOp::Mul => x * y,
                BinOp::Div => x / y,
                _ => x % y,
            };
            // The evaluator rejects infinities and NaN where they are used, not only at the end.
            if !n.is_finite() {
                return Err(Fallback);
            }
            V::Num(n)
        }
        BinOp::Eq | BinOp::Ne => {
            let eq = match (&lhs, &rhs) {
                (V::Undefined, _) | (_, V::Undefined) => return Ok(V::Bool(false)),
                _ => scalar_eq(&lhs, &rhs)?,
            };
            V::Bool(eq == (op == BinOp::Eq))
        }
        _ => {
            let (x, y) = match (&lhs, &rhs) {
                (V::Undefined, v) | (v, V::Undefined) => {
                    return match v {
                        V::Undefined => Ok(V::Undefined),
                        v if number(v).is_some() => Ok(V::Undefined),
                        _ => Err(Fallback),
                    };
                }
                _ => (number(&lhs).ok_or(Fallback)?, number(&rhs).ok_or(Fallback)?),
            };
            V::Bool(match op {
                BinOp::Lt => x < y,
                BinOp::Le => x <= y,
                BinOp::Gt => x > y,
                _ => x >= y,
            })
        }
    })
}

fn number(v: &V<'_>) -> Option<f64> {
    match v {
        V::Num(n) => Some(*n),
        V::Json(Value::Number(n)) => n.as_f64(),
        _ => None,
    }
}

/// `and`/`or` operands: booleans, and undefined as false; anything else is cast elsewhere.
fn boolean(v: &V<'_>) -> Result<bool, Fallback> {
    match v {
        V::Undefined => Ok(false),
        V::Bool(x) | V::Json(Value::Bool(x)) => Ok(*x),
        _ => Err(Fallback),
    }
}

/// Equality of two scalars (numbers, strings, booleans, null); structures fall back.
fn scalar_eq(a: &V<'_>, b: &V<'_>) -> Result<bool, Fallback> {
    if let (Some(x), Some(y)) = (number(a), number(b)) {
        return Ok(x == y);
    }
    let flag = |v: &V<'_>| match v {
        V::Bool(x) | V::Json(Value::Bool(x)) => Some(*x),
        _ => None,
    };
    if let (Some(x), Some(y)) = (flag(a), flag(b)) {
        return Ok(x == y);
    }
    let scalar = |v: &V<'_>| match v {
        V::Json(Value::Array(_) | Value::Object(_)) => Err(Fallback),
        _ => Ok(()),
    };
    scalar(a)?;
    scalar(b)?;
    Ok(match (a, b) {
        (V::Json(Value::String(x)), V::Json(Value::String(y))) => x == y,
        (V::Json(Value::Null), V::Json(Value::Null)) => true,
        _ => false,
    })
}

/// A copy of `v` as the evaluator would hand it back: numbers as doubles (integral ones within
/// ±2^53 as integers).
fn normalized(v: &Value, depth: usize) -> Result<Value, Fallback> {
    if depth > MAX_DEPTH {
        return Err(Fallback);
    }
    Ok(match v {
        Value::Number(n) => number_to_json(n.as_f64().ok_or(Fallback)?).map_err(|_| Fallback)?,
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| normalized(x, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => {
            let mut out = serde_json::Map::with_capacity(m.len());
            for (k, x) in m {
                out.insert(k.clone(), normalized(x, depth + 1)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

/// Whether a node carries none of a path step's extras (predicates, focus, grouping, ...).
fn plain(n: &Node) -> bool {
    !n.keep_array
        && !n.keep_singleton_array
        && !n.consarray
        && !n.tuple
        && n.predicate.is_empty()
        && n.stages.is_empty()
        && n.group.is_none()
        && n.focus.is_none()
        && n.index.is_none()
        && n.ancestor.is_none()
        && n.label.is_none()
}
