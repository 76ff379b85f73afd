//! The built-in function library, one file per family, and its lookup table.

pub mod aggregate;
pub mod array;
pub mod boolean;
pub mod datetime;
pub mod hof;
pub mod integer;
pub mod numeric;
pub mod object;
pub mod regex;
pub mod string;

use super::error::{Error, Result};
use super::evaluator::Evaluator;
use super::signature::Signature;
use super::value::Value;
use std::collections::HashMap;
use std::sync::OnceLock;

pub type BuiltinFn = fn(&mut Evaluator<'_>, Vec<Value>, &Value) -> Result<Value>;

/// A native function: name, signature, the arity a higher-order function sees, implementation.
pub struct Builtin {
    pub name: &'static str,
    pub arity: usize,
    pub f: BuiltinFn,
    sig: Signature,
}

impl Builtin {
    pub fn signature(&self) -> &Signature {
        &self.sig
    }
}

impl std::fmt::Debug for Builtin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "${}", self.name)
    }
}

const TABLE: &[(&str, &str, usize, BuiltinFn)] = &[
    ("sum", "<a<n>:n>", 1, aggregate::sum),
    ("count", "<a:n>", 1, aggregate::count),
    ("max", "<a<n>:n>", 1, aggregate::max),
    ("min", "<a<n>:n>", 1, aggregate::min),
    ("average", "<a<n>:n>", 1, aggregate::average),
    ("string", "<x-b?:s>", 1, string::string),
    ("substring", "<s-nn?:s>", 3, string::substring),
    ("substringBefore", "<s-s:s>", 2, string::substring_before),
    ("substringAfter", "<s-s:s>", 2, string::substring_after),
    ("lowercase", "<s-:s>", 1, string::lowercase),
    ("uppercase", "<s-:s>", 1, string::uppercase),
    ("length", "<s-:n>", 1, string::length),
    ("trim", "<s-:s>", 1, string::trim),
    ("pad", "<s-ns?:s>", 3, string::pad),
    ("match", "<s-f<s:o>n?:a<o>>", 3, string::match_),
    ("contains", "<s-(sf):b>", 2, string::contains),
    ("replace", "<s-(sf)(sf)n?:s>", 4, string::replace),
    ("split", "<s-(sf)n?:a<s>>", 3, string::split),
    ("join", "<a<s>s?:s>", 2, string::join),
    ("formatNumber", "<n-so?:s>", 3, numeric::format_number),
    ("formatBase", "<n-n?:s>", 2, numeric::format_base),
    ("formatInteger", "<n-s:s>", 2, integer::format_integer_fn),
    ("parseInteger", "<s-s:n>", 2, integer::parse_integer_fn),
    ("number", "<(nsb)-:n>", 1, numeric::number),
    ("floor", "<n-:n>", 1, numeric::floor),
    ("ceil", "<n-:n>", 1, numeric::ceil),
    ("round", "<n-n?:n>", 2, numeric::round),
    ("abs", "<n-:n>", 1, numeric::abs),
    ("sqrt", "<n-:n>", 1, numeric::sqrt),
    ("power", "<n-n:n>", 2, numeric::power),
    ("random", "<:n>", 0, numeric::random),
    ("boolean", "<x-:b>", 1, boolean::boolean),
    ("not", "<x-:b>", 1, boolean::not),
    ("exists", "<x:b>", 1, boolean::exists),
    ("map", "<af>", 2, hof::map),
    ("zip", "<a+>", 0, array::zip),
    ("filter", "<af>", 2, hof::filter),
    ("single", "<af?>", 2, hof::single),
    ("reduce", "<afj?:j>", 3, hof::reduce),
    ("sift", "<o-f?:o>", 2, hof::sift),
    ("each", "<o-f:a>", 2, hof::each),
    ("keys", "<x-:a<s>>", 1, object::keys),
    ("lookup", "<x-s:x>", 2, object::lookup),
    ("append", "<xx:a>", 2, array::append),
    ("spread", "<x-:a<o>>", 1, object::spread),
    ("merge", "<a<o>:o>", 1, object::merge),
    ("reverse", "<a:a>", 1, array::reverse),
    ("error", "<s?:x>", 1, object::error),
    ("assert", "<bs?:x>", 2, object::assert),
    ("type", "<x:s>", 1, object::type_),
    ("sort", "<af?:a>", 2, array::sort),
    ("shuffle", "<a:a>", 1, array::shuffle),
    ("distinct", "<x:x>", 1, array::distinct),
    ("base64encode", "<s-:s>", 1, string::base64encode),
    ("base64decode", "<s-:s>", 1, string::base64decode),
    (
        "encodeUrlComponent",
        "<s-:s>",
        1,
        string::encode_url_component,
    ),
    ("encodeUrl", "<s-:s>", 1, string::encode_url),
    (
        "decodeUrlComponent",
        "<s-:s>",
        1,
        string::decode_url_component,
    ),
    ("decodeUrl", "<s-:s>", 1, string::decode_url),
    ("eval", "<sx?:x>", 2, eval_unsupported),
    ("toMillis", "<s-s?:n>", 2, datetime::to_millis),
    ("fromMillis", "<n-s?s?:s>", 3, datetime::from_millis),
    ("now", "<s?s?:s>", 2, datetime::now),
    ("millis", "<:n>", 0, datetime::millis),
    ("clone", "<(oa)-:o>", 1, object::clone),
];

fn table() -> &'static HashMap<&'static str, Builtin> {
    static T: OnceLock<HashMap<&'static str, Builtin>> = OnceLock::new();
    T.get_or_init(|| {
        TABLE
            .iter()
            .map(|(name, sig, arity, f)| {
                let sig = Signature::parse(sig)
                    .unwrap_or_else(|_| Signature::parse("<x*>").expect("fallback signature"));
                (
                    *name,
                    Builtin {
                        name,
                        arity: *arity,
                        f: *f,
                        sig,
                    },
                )
            })
            .collect()
    })
}

/// The built-in function of this name (without `$`).
pub fn builtin(name: &str) -> Option<&'static Builtin> {
    table().get(name)
}

/// `$eval` is disabled in AWS Step Functions: calling it fails as a call of a non-function.
fn eval_unsupported(_: &mut Evaluator<'_>, _: Vec<Value>, _: &Value) -> Result<Value> {
    Err(Error::msg(
        "T1006",
        "Attempted to invoke a non-function: $eval is not available in AWS Step Functions",
    ))
}

/// Argument helpers.
pub(crate) fn arg(args: &[Value], i: usize) -> Value {
    args.get(i).cloned().unwrap_or_default()
}

pub(crate) fn num_arg(args: &[Value], i: usize) -> Option<f64> {
    args.get(i).and_then(|v| v.as_num())
}

pub(crate) fn str_arg(args: &[Value], i: usize) -> Option<&str> {
    args.get(i).and_then(|v| v.as_str())
}
