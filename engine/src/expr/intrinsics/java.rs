//! The Java conventions AWS's interpreter shows through: `toString` of values, `Double.toString`,
//! JSON text with Java doubles, and the integer conversions of numeric arguments.

use serde_json::{Number, Value};

/// Java's `String.valueOf` of the value as a `java.util` object: strings bare, `null`, numbers,
/// lists as `[a, b]`, maps as `{k=v, k2=v2}`.
pub(super) fn to_string(v: &Value) -> String {
    let mut out = String::new();
    write_plain(v, &mut out);
    out
}

fn write_plain(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number_to_string(n)),
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_plain(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push('=');
                write_plain(item, out);
            }
            out.push('}');
        }
    }
}

/// Compact JSON text, doubles written as Java writes them (`1.0E21`), keys in their order.
pub(super) fn to_json(v: &Value) -> String {
    let mut out = String::new();
    write_json(v, &mut out);
    out
}

fn write_json(v: &Value, out: &mut String) {
    match v {
        Value::Number(n) => out.push_str(&number_to_string(n)),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_json(item, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Integers as digits, floating-point numbers as Java's `Double.toString`.
pub(super) fn number_to_string(n: &Number) -> String {
    match n.as_f64() {
        Some(d) if n.is_f64() => double_to_string(d),
        _ => n.to_string(),
    }
}

/// Java's `Double.toString`: plain decimal with at least one fractional digit for magnitudes in
/// `[1e-3, 1e7)`, otherwise `d.dddE±n`; digits are the shortest that round-trip.
pub(super) fn double_to_string(d: f64) -> String {
    if !d.is_finite() {
        return if d.is_nan() {
            "NaN".into()
        } else if d > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let abs = d.abs();
    if (1e-3..1e7).contains(&abs) {
        let s = d.to_string();
        if s.contains('.') {
            s
        } else {
            s + ".0"
        }
    } else {
        let s = format!("{d:e}");
        let (mantissa, exponent) = s.split_once('e').unwrap_or((&s, "0"));
        if mantissa.contains('.') {
            format!("{mantissa}E{exponent}")
        } else {
            format!("{mantissa}.0E{exponent}")
        }
    }
}

/// The number as Java's `(int)` of its value truncated toward zero; `None` for non-numbers and
/// values outside the `int` range.
pub(super) fn truncate_i32(v: &Value) -> Option<i32> {
    let n = v.as_number()?;
    if let Some(i) = n.as_i64() {
        return i32::try_from(i).ok();
    }
    if n.as_u64().is_some() {
        return None;
    }
    let t = n.as_f64()?.trunc();
    (f64::from(i32::MIN)..=f64::from(i32::MAX))
        .contains(&t)
        .then_some(t as i32)
}

/// The number truncated toward zero as a `long`, saturating at the `long` range.
pub(super) fn truncate_i64(v: &Value) -> Option<i64> {
    let n = v.as_number()?;
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    if n.as_u64().is_some() {
        return Some(i64::MAX);
    }
    // `as` saturates, like Java's (long) cast.
    Some(n.as_f64()?.trunc() as i64)
}

/// The number as Java's `Math.round` would give it (half up), within the `int` range.
pub(super) fn round_i32(v: &Value) -> Option<i32> {
    let n = v.as_number()?;
    if n.is_f64() {
        let d = n.as_f64()?;
        let floor = d.floor();
        let r = if d - floor >= 0.5 { floor + 1.0 } else { floor };
        return (f64::from(i32::MIN)..=f64::from(i32::MAX))
            .contains(&r)
            .then_some(r as i32);
    }
    truncate_i32(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn doubles_like_java() {
        for (d, s) in [
            (1.1, "1.1"),
            (100.0, "100.0"),
            (-2.5, "-2.5"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1.5e-7, "1.5E-7"),
            (9999999.0, "9999999.0"),
            (1e7, "1.0E7"),
            (1.234e21, "1.234E21"),
            (-1e300, "-1.0E300"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (f64::MAX, "1.7976931348623157E308"),
        ] {
            assert_eq!(double_to_string(d), s, "{d}");
        }
    }

    #[test]
    fn plain_rendering() {
        assert_eq!(to_string(&json!("x")), "x");
        assert_eq!(to_string(&json!(null)), "null");
        assert_eq!(to_string(&json!([1, [2, 3], {}])), "[1, [2, 3], {}]");
        assert_eq!(to_string(&json!({"b": 1, "a": [null]})), "{b=1, a=[null]}");
        assert_eq!(
            to_string(&json!(18446744073709551615u64)),
            "18446744073709551615"
        );
    }

    #[test]
    fn json_rendering() {
        assert_eq!(
            to_json(&json!({"b": [1, 1.5, 1e21, "q\"\n"], "a": {"x": null, "é": true}})),
            r#"{"b":[1,1.5,1.0E21,"q\"\n"],"a":{"x":null,"é":true}}"#
        );
    }

    #[test]
    fn integer_conversions() {
        assert_eq!(truncate_i32(&json!(5)), Some(5));
        assert_eq!(truncate_i32(&json!(1.9)), Some(1));
        assert_eq!(truncate_i32(&json!(-1.9)), Some(-1));
        assert_eq!(truncate_i32(&json!(-0.4)), Some(0));
        assert_eq!(truncate_i32(&json!(2147483647)), Some(i32::MAX));
        assert_eq!(truncate_i32(&json!(2147483648u64)), None);
        assert_eq!(truncate_i32(&json!(-2147483649i64)), None);
        assert_eq!(truncate_i32(&json!(3e10)), None);
        assert_eq!(truncate_i32(&json!(u64::MAX)), None);
        assert_eq!(truncate_i32(&json!("1")), None);
        assert_eq!(truncate_i32(&json!(null)), None);
        assert_eq!(truncate_i64(&json!(1e300)), Some(i64::MAX));
        assert_eq!(truncate_i64(&json!(-2.7)), Some(-2));
        assert_eq!(truncate_i64(&json!(u64::MAX)), Some(i64::MAX));
        for (d, r) in [
            (1.49, 1),
            (1.5, 2),
            (2.5, 3),
            (-0.5, 0),
            (-1.5, -1),
            (-1.51, -2),
            (-3.5, -3),
            (0.49999999999999994, 0),
        ] {
            assert_eq!(round_i32(&json!(d)), Some(r), "{d}");
        }
        assert_eq!(round_i32(&json!(2147483647.4)), Some(i32::MAX));
        assert_eq!(round_i32(&json!(2147483647.5)), None);
        assert_eq!(round_i32(&json!(7)), Some(7));
        assert_eq!(round_i32(&json!(true)), None);
    }
}
