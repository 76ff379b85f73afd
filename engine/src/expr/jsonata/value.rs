//! Runtime values: JSON data plus functions, with JSONata's sequence flags and undefined.

use super::error::{Error, Result};
use super::evaluator::Frame;
use super::parser::{LambdaDef, TransformDef};
use indexmap::IndexMap;
use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;

/// An object: keys in insertion order.
pub type Map = IndexMap<String, Value>;

/// A JSONata value. `Undefined` is JSONata's "no value"; it never appears inside arrays or objects.
#[derive(Clone, Default)]
pub enum Value {
    #[default]
    Undefined,
    Null,
    Bool(bool),
    Number(f64),
    String(Rc<str>),
    Array(Rc<Array>),
    Object(Rc<Obj>),
    Func(Rc<Func>),
}

pub const SEQUENCE: u8 = 1;
pub const KEEP_SINGLETON: u8 = 2;
pub const CONS: u8 = 4;
pub const OUTER_WRAPPER: u8 = 8;
pub const TUPLE_STREAM: u8 = 16;

/// An array with the flags jsonata-js keeps as properties on its arrays.
#[derive(Clone, Default)]
pub struct Array {
    pub items: Vec<Value>,
    pub flags: Cell<u8>,
}

impl Drop for Array {
    fn drop(&mut self) {
        if self.items.iter().any(is_container) {
            drain(std::mem::take(&mut self.items));
        }
    }
}

/// An object's entries; dropped iteratively like [`Array`].
#[derive(Clone, Default)]
pub struct Obj(pub Map);

impl std::ops::Deref for Obj {
    type Target = Map;
    fn deref(&self) -> &Map {
        &self.0
    }
}

impl std::ops::DerefMut for Obj {
    fn deref_mut(&mut self) -> &mut Map {
        &mut self.0
    }
}

impl Drop for Obj {
    fn drop(&mut self) {
        if self.0.values().any(is_container) {
            drain(std::mem::take(&mut self.0).into_values().collect());
        }
    }
}

fn is_container(v: &Value) -> bool {
    matches!(v, Value::Array(_) | Value::Object(_))
}

/// Drops nested containers with an explicit stack so that deep values cannot overflow it.
fn drain(mut stack: Vec<Value>) {
    while let Some(v) = stack.pop() {
        match v {
            Value::Array(a) => {
                if let Ok(mut inner) = Rc::try_unwrap(a) {
                    stack.append(&mut inner.items);
                }
            }
            Value::Object(o) => {
                if let Ok(mut inner) = Rc::try_unwrap(o) {
                    stack.extend(std::mem::take(&mut inner.0).into_values());
                }
            }
            _ => {}
        }
    }
}

impl Array {
    pub fn has(&self, f: u8) -> bool {
        self.flags.get() & f != 0
    }
    pub fn set(&self, f: u8) {
        self.flags.set(self.flags.get() | f)
    }
    pub fn is_sequence(&self) -> bool {
        self.has(SEQUENCE)
    }
}

/// A user-defined function (lambda) closed over its environment and input.
pub struct Lambda {
    pub def: Arc<LambdaDef>,
    pub input: Value,
    pub env: Rc<Frame>,
}

/// A compiled regular expression value (`/.../flags`).
pub struct RegexVal {
    pub re: regex::Regex,
    pub source: String,
}

/// Function values.
pub enum Func {
    Lambda(Lambda),
    Builtin(&'static super::functions::Builtin),
    Host(super::HostFunction),
    /// Partial application: `None` marks a `?` placeholder.
    Partial {
        target: Value,
        args: Vec<Option<Value>>,
    },
    /// `$f ~> $g`: apply f, then g.
    Chain(Value, Value),
    Regex(Rc<RegexVal>),
    Transform {
        def: Arc<TransformDef>,
        env: Rc<Frame>,
    },
}

impl Func {
    /// The number of arguments a higher-order function passes to this function.
    pub fn arity(&self) -> usize {
        match self {
            Func::Lambda(l) => l.def.params.len(),
            Func::Builtin(b) => b.arity,
            Func::Host(h) => h.arity,
            Func::Partial { args, .. } => args.iter().filter(|a| a.is_none()).count(),
            Func::Chain(..) | Func::Regex(_) | Func::Transform { .. } => 1,
        }
    }
}

impl Value {
    pub fn str(s: &str) -> Value {
        Value::String(Rc::from(s))
    }
    pub fn string(s: String) -> Value {
        Value::String(Rc::from(s))
    }
    pub fn array(items: Vec<Value>) -> Value {
        Value::Array(Rc::new(Array {
            items,
            flags: Cell::new(0),
        }))
    }
    pub fn array_flags(items: Vec<Value>, flags: u8) -> Value {
        Value::Array(Rc::new(Array {
            items,
            flags: Cell::new(flags),
        }))
    }
    pub fn seq(items: Vec<Value>) -> Value {
        Value::array_flags(items, SEQUENCE)
    }
    pub fn object(m: Map) -> Value {
        Value::Object(Rc::new(Obj(m)))
    }
    pub fn func(f: Func) -> Value {
        Value::Func(Rc::new(f))
    }

    pub fn is_undefined(&self) -> bool {
        matches!(self, Value::Undefined)
    }
    pub fn is_defined(&self) -> bool {
        !self.is_undefined()
    }
    pub fn is_array(&self) -> bool {
        matches!(self, Value::Array(_))
    }
    pub fn is_func(&self) -> bool {
        matches!(self, Value::Func(_))
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_num(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }
    pub fn has_flag(&self, f: u8) -> bool {
        matches!(self, Value::Array(a) if a.has(f))
    }
    /// A number that is not NaN; infinite numbers are an error (D1001), as in jsonata's isNumeric.
    pub fn is_numeric(&self) -> Result<bool> {
        match self {
            Value::Number(n) if n.is_nan() => Ok(false),
            Value::Number(n) if n.is_infinite() => Err(Error::new("D1001").val(js_number(*n))),
            Value::Number(_) => Ok(true),
            _ => Ok(false),
        }
    }
    /// The items of an array, or the value itself as a one-item slice (nothing for undefined).
    pub fn members(&self) -> &[Value] {
        match self {
            Value::Array(a) => &a.items,
            Value::Undefined => &[],
            v => std::slice::from_ref(v),
        }
    }
    /// The type symbol used by function signatures.
    pub fn sig_symbol(&self) -> char {
        match self {
            Value::Undefined => 'm',
            Value::Null => 'l',
            Value::Bool(_) => 'b',
            Value::Number(_) => 'n',
            Value::String(_) => 's',
            Value::Array(_) => 'a',
            Value::Object(_) => 'o',
            Value::Func(_) => 'f',
        }
    }
    pub fn type_name(&self) -> Option<&'static str> {
        Some(match self {
            Value::Undefined => return None,
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
            Value::Func(_) => "function",
        })
    }
}

/// JSONata's `$boolean` casting rules; `None` for undefined.
pub fn truthy(v: &Value) -> Option<bool> {
    Some(match v {
        Value::Undefined => return None,
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => *n != 0.0 && !n.is_nan(),
        Value::String(s) => !s.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Func(_) => false,
        Value::Array(a) => {
            if a.items.len() == 1 {
                truthy(&a.items[0]).unwrap_or(false)
            } else {
                a.items.iter().any(|x| truthy(x).unwrap_or(false))
            }
        }
    })
}

/// JavaScript truthiness (used where jsonata-js tests a raw result).
pub fn js_truthy(v: &Value) -> bool {
    match v {
        Value::Undefined | Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => *n != 0.0 && !n.is_nan(),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

/// Deep equality as jsonata's isDeepEqual.
pub fn deep_equal(a: &Value, b: &Value) -> bool {
    stacker::maybe_grow(32 * 1024, 1024 * 1024, || match (a, b) {
        (Value::Undefined, Value::Undefined) | (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => {
            x.items.len() == y.items.len()
                && x.items
                    .iter()
                    .zip(y.items.iter())
                    .all(|(p, q)| deep_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        (Value::Func(x), Value::Func(y)) => Rc::ptr_eq(x, y),
        _ => false,
    })
}

/// JavaScript's Number.prototype.toString() for a double.
pub fn js_number(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if x == 0.0 {
        return "0".into();
    }
    let neg = x < 0.0;
    let s = format!("{:e}", x.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let k = digits.len() as i32;
    let n = exp + 1;
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if k <= n && n <= 21 {
        out.push_str(&digits);
        for _ in 0..(n - k) {
            out.push('0');
        }
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        for _ in 0..(-n) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if n >= 1 { '+' } else { '-' });
        out.push_str(&(n - 1).abs().to_string());
    }
    out
}

/// `Number(x.toPrecision(15))`: rounds to 15 significant digits.
pub fn to_precision_15(x: f64) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    format!("{:.14e}", x).parse().unwrap_or(x)
}

/// Writes `s` as a JSON string literal the way JSON.stringify does.
pub fn json_quote(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// JSON.stringify as used by `$string`: numbers rounded to 15 significant digits, functions as "".
pub fn stringify(v: &Value, pretty: bool) -> Result<String> {
    let mut out = String::new();
    write_json(v, pretty, 0, &mut out)?;
    Ok(out)
}

fn write_json(v: &Value, pretty: bool, indent: usize, out: &mut String) -> Result<()> {
    stacker::maybe_grow(32 * 1024, 1024 * 1024, || {
        match v {
            Value::Undefined => out.push_str("null"),
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => {
                if n.is_infinite() {
                    return Err(Error::new("D1001").val(js_number(*n)));
                }
                if n.is_nan() {
                    out.push_str("null")
                } else {
                    out.push_str(&js_number(to_precision_15(*n)))
                }
            }
            Value::String(s) => json_quote(s, out),
            Value::Func(_) => out.push_str("\"\""),
            Value::Array(a) => {
                if a.items.is_empty() {
                    out.push_str("[]");
                    return Ok(());
                }
                out.push('[');
                for (i, item) in a.items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    if pretty {
                        newline(out, indent + 1);
                    }
                    write_json(item, pretty, indent + 1, out)?;
                }
                if pretty {
                    newline(out, indent);
                }
                out.push(']');
            }
            Value::Object(o) => {
                let entries: Vec<_> = o.iter().filter(|(_, v)| v.is_defined()).collect();
                if entries.is_empty() {
                    out.push_str("{}");
                    return Ok(());
                }
                out.push('{');
                for (i, (k, item)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    if pretty {
                        newline(out, indent + 1);
                    }
                    json_quote(k, out);
                    out.push(':');
                    if pretty {
                        out.push(' ');
                    }
                    write_json(item, pretty, indent + 1, out)?;
                }
                if pretty {
                    newline(out, indent);
                }
                out.push('}');
            }
        }
        Ok(())
    })
}

fn newline(out: &mut String, indent: usize) {
    out.push('\n');
    for _ in 0..indent {
        out.push_str("  ");
    }
}

/// Converts JSON input into a runtime value.
pub fn from_json(v: &serde_json::Value) -> Value {
    stacker::maybe_grow(32 * 1024, 1024 * 1024, || match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => Value::str(s),
        serde_json::Value::Array(a) => Value::array(a.iter().map(from_json).collect()),
        serde_json::Value::Object(o) => {
            let mut m = Map::with_capacity(o.len());
            for (k, v) in o {
                m.insert(k.clone(), from_json(v));
            }
            Value::object(m)
        }
    })
}

/// A double as a JSON number: integral values within ±2^53 become integers.
pub fn number_to_json(n: f64) -> Result<serde_json::Value> {
    if !n.is_finite() {
        return Err(Error::new("D1001").val(js_number(n)));
    }
    if n.fract() == 0.0 && n.abs() <= 9007199254740992.0 {
        return Ok(serde_json::Value::from(n as i64));
    }
    Ok(serde_json::Number::from_f64(n)
        .map(serde_json::Value::Number)
        .unwrap_or(serde_json::Value::Null))
}

/// Converts a runtime value into JSON. Functions become `None` (dropped from objects, null in arrays).
pub fn to_json(v: &Value) -> Result<Option<serde_json::Value>> {
    to_json_at(v, 0)
}

/// Deepest result nesting handed to the host (whose serializers recurse).
const MAX_JSON_DEPTH: usize = 2000;

fn to_json_at(v: &Value, depth: usize) -> Result<Option<serde_json::Value>> {
    if depth > MAX_JSON_DEPTH {
        return Err(Error::msg(
            "U1001",
            "The result is nested too deeply to be represented as JSON",
        ));
    }
    stacker::maybe_grow(32 * 1024, 1024 * 1024, || {
        Ok(Some(match v {
            Value::Undefined | Value::Func(_) => return Ok(None),
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => number_to_json(*n)?,
            Value::String(s) => serde_json::Value::String(s.to_string()),
            Value::Array(a) => {
                let mut out = Vec::with_capacity(a.items.len());
                for item in &a.items {
                    out.push(to_json_at(item, depth + 1)?.unwrap_or(serde_json::Value::Null));
                }
                serde_json::Value::Array(out)
            }
            Value::Object(o) => {
                let mut m = serde_json::Map::new();
                for (k, item) in o.iter() {
                    if let Some(j) = to_json_at(item, depth + 1)? {
                        m.insert(k.clone(), j);
                    }
                }
                serde_json::Value::Object(m)
            }
        }))
    })
}

/// A short rendering of a value for error messages.
pub fn describe(v: &Value) -> String {
    match v {
        Value::Undefined => "undefined".into(),
        Value::String(s) => format!("\"{s}\""),
        Value::Func(_) => "function".into(),
        Value::Number(n) => js_number(*n),
        other => stringify(other, false).unwrap_or_default(),
    }
}
