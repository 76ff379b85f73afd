//! String functions: $string, $length, $substring*, case, $trim, $pad, $contains, $split,
//! $join, $match, $replace, base64 and URL encoding.

use super::super::error::{Error, Result};
use super::super::evaluator::Evaluator;
use super::super::lexer::SURROGATE_BASE;
use super::super::value::*;
use super::regex::{all_matches, first_match, MatchRes};
use super::{num_arg, str_arg};
use base64::Engine;

/// `$string` conversion (without prettify).
pub fn to_string(v: &Value) -> Result<String> {
    to_string_pretty(v, false)
}

pub fn to_string_pretty(v: &Value, pretty: bool) -> Result<String> {
    match v {
        Value::String(s) => Ok(s.to_string()),
        Value::Func(_) => Ok(String::new()),
        Value::Number(n) if !n.is_finite() => Err(Error::new("D3001").val(js_number(*n))),
        Value::Array(a) if a.has(OUTER_WRAPPER) && !a.items.is_empty() => {
            stringify(&a.items[0], pretty)
        }
        other => stringify(other, pretty),
    }
}

pub fn string(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let v = args.first().cloned().unwrap_or_default();
    if v.is_undefined() {
        return Ok(Value::Undefined);
    }
    let pretty = matches!(args.get(1), Some(Value::Bool(true)));
    Ok(Value::string(to_string_pretty(&v, pretty)?))
}

pub fn length(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    Ok(match str_arg(&args, 0) {
        Some(s) => Value::Number(s.chars().count() as f64),
        None => Value::Undefined,
    })
}

/// JavaScript's relative index conversion used by `slice`.
fn slice_index(x: f64, len: usize) -> usize {
    let x = if x.is_nan() { 0.0 } else { x.trunc() };
    if x < 0.0 {
        (len as f64 + x).max(0.0) as usize
    } else {
        x.min(len as f64) as usize
    }
}

pub fn substr_chars(s: &str, start: f64, length: Option<f64>) -> String {
    let chars: Vec<char> = s.chars().collect();
    let len = chars.len();
    let mut start = start;
    if len as f64 + start < 0.0 {
        start = 0.0;
    }
    let (b, e) = match length {
        Some(l) => {
            if l <= 0.0 || l.is_nan() {
                return String::new();
            }
            let end = if start >= 0.0 {
                start + l
            } else {
                len as f64 + start + l
            };
            (slice_index(start, len), slice_index(end, len))
        }
        None => (slice_index(start, len), len),
    };
    if b >= e {
        return String::new();
    }
    chars[b..e].iter().collect()
}

pub fn substring(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let Some(s) = str_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let start = num_arg(&args, 1).unwrap_or(0.0);
    Ok(Value::string(substr_chars(s, start, num_arg(&args, 2))))
}

pub fn substring_before(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let Some(s) = str_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let Some(c) = str_arg(&args, 1) else {
        return Ok(Value::str(s));
    };
    Ok(match s.find(c) {
        Some(i) => Value::str(&s[..i]),
        None => Value::str(s),
    })
}

pub fn substring_after(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let Some(s) = str_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let Some(c) = str_arg(&args, 1) else {
        return Ok(Value::str(s));
    };
    Ok(match s.find(c) {
        Some(i) => Value::str(&s[i + c.len()..]),
        None => Value::str(s),
    })
}

pub fn lowercase(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    Ok(str_arg(&args, 0)
        .map(|s| Value::string(s.to_lowercase()))
        .unwrap_or_default())
}

pub fn uppercase(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    Ok(str_arg(&args, 0)
        .map(|s| Value::string(s.to_uppercase()))
        .unwrap_or_default())
}

pub fn trim(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let Some(s) = str_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let mut out = String::with_capacity(s.len());
    let mut in_ws = false;
    for c in s.chars() {
        if matches!(c, ' ' | '\t' | '\n' | '\r') {
            if !in_ws {
                out.push(' ');
            }
            in_ws = true;
        } else {
            out.push(c);
            in_ws = false;
        }
    }
    let out = out.strip_prefix(' ').unwrap_or(&out);
    let out = out.strip_suffix(' ').unwrap_or(out);
    Ok(Value::str(out))
}

/// The longest string an expression may build: far past any payload a state may hold
/// (256 KiB), so that `$pad('x', 1e18)` or a doubling loop fails instead of exhausting memory.
pub const MAX_STRING_BYTES: usize = 64 << 20;

/// The error for a string past [`MAX_STRING_BYTES`].
pub fn too_long() -> Error {
    Error::msg(
        "D3200",
        format!("The string would be longer than {MAX_STRING_BYTES} bytes"),
    )
}

pub fn pad(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let Some(s) = str_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let width = num_arg(&args, 1).unwrap_or(0.0).trunc();
    let ch = match str_arg(&args, 2) {
        Some(c) if !c.is_empty() => c.to_string(),
        _ => " ".to_string(),
    };
    let pad_len = width.abs() - s.chars().count() as f64;
    if pad_len <= 0.0 || !pad_len.is_finite() {
        return Ok(Value::str(s));
    }
    let n = pad_len as usize;
    if pad_len > MAX_STRING_BYTES as f64 || s.len() + n * ch.len() > MAX_STRING_BYTES {
        return Err(too_long());
    }
    let padding: String = ch.chars().cycle().take(n).collect();
    Ok(Value::string(if width > 0.0 {
        format!("{s}{padding}")
    } else {
        format!("{padding}{s}")
    }))
}

pub fn contains(ev: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let Some(s) = str_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    Ok(match args.get(1) {
        Some(Value::String(t)) => Value::Bool(s.contains(&**t)),
        Some(m @ Value::Func(_)) => Value::Bool(first_match(ev, m, s)?.is_some()),
        _ => Value::Undefined,
    })
}

pub fn split(ev: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let Some(s) = str_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let limit = num_arg(&args, 2);
    if let Some(l) = limit {
        if l < 0.0 {
            return Err(Error::new("D3020").val(js_number(l)));
        }
    }
    let limit = limit.map(|l| {
        if l.is_finite() {
            l.floor() as usize
        } else {
            usize::MAX
        }
    });
    let mut result: Vec<Value> = Vec::new();
    if limit == Some(0) {
        return Ok(Value::array(result));
    }
    match args.get(1) {
        Some(Value::String(sep)) => {
            let parts: Vec<&str> = if sep.is_empty() {
                s.char_indices()
                    .map(|(i, c)| &s[i..i + c.len_utf8()])
                    .collect()
            } else {
                s.split(&**sep).collect()
            };
            for p in parts.into_iter().take(limit.unwrap_or(usize::MAX)) {
                result.push(Value::str(p));
            }
        }
        Some(m @ Value::Func(_)) => {
            let matches = all_matches(ev, m, s, limit)?;
            if matches.is_empty() {
                result.push(Value::str(s));
            } else {
                let mut start = 0;
                for mm in matches.iter() {
                    result.push(Value::str(s.get(start..mm.start).unwrap_or("")));
                    start = mm.end;
                }
                if limit.is_none_or(|l| matches.len() < l) {
                    result.push(Value::str(s.get(start..).unwrap_or("")));
                }
            }
        }
        _ => {}
    }
    Ok(Value::array(result))
}

pub fn join(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let strs = match args.first() {
        Some(Value::Undefined) | None => return Ok(Value::Undefined),
        Some(v) => v.clone(),
    };
    let sep = str_arg(&args, 1).unwrap_or("");
    let parts: Vec<&str> = strs.members().iter().filter_map(|v| v.as_str()).collect();
    Ok(Value::string(parts.join(sep)))
}

/// Index in UTF-16 code units of a byte offset.
pub fn utf16_index(s: &str, byte: usize) -> usize {
    s.get(..byte)
        .map(|p| p.chars().map(|c| c.len_utf16()).sum())
        .unwrap_or(0)
}

fn groups_value(m: &MatchRes) -> Value {
    Value::array(
        m.groups
            .iter()
            .map(|g| g.as_ref().map(|s| Value::str(s)).unwrap_or_default())
            .collect(),
    )
}

pub fn match_(ev: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let Some(s) = str_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let limit = num_arg(&args, 2);
    if let Some(l) = limit {
        if l < 0.0 {
            return Err(Error::new("D3040").val(js_number(l)));
        }
    }
    let limit = limit.map(|l| {
        if l.is_finite() {
            l.ceil() as usize
        } else {
            usize::MAX
        }
    });
    let mut result = Vec::new();
    if limit != Some(0) {
        let matcher = super::arg(&args, 1);
        for m in all_matches(ev, &matcher, s, limit)? {
            let mut o = Map::new();
            o.insert("match".into(), Value::str(&m.text));
            o.insert(
                "index".into(),
                Value::Number(utf16_index(s, m.start) as f64),
            );
            o.insert("groups".into(), groups_value(&m));
            result.push(Value::object(o));
        }
    }
    Ok(Value::seq(result))
}

fn substitute(replacement: &str, m: &MatchRes) -> String {
    let mut out = String::new();
    let chars: Vec<char> = replacement.chars().collect();
    let mut pos = 0;
    while pos < chars.len() {
        let c = chars[pos];
        if c != '$' {
            out.push(c);
            pos += 1;
            continue;
        }
        pos += 1;
        match chars.get(pos) {
            Some('$') => {
                out.push('$');
                pos += 1;
            }
            Some('0') => {
                out.push_str(&m.text);
                pos += 1;
            }
            _ => {
                let ng = m.groups.len();
                let max_digits = if ng == 0 {
                    1
                } else {
                    (ng as f64).log10().floor() as usize + 1
                };
                let digits: String = chars[pos..]
                    .iter()
                    .take(max_digits)
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                let mut parsed: Option<usize> = digits.parse().ok();
                if let Some(ix) = parsed {
                    if max_digits > 1 && ix > ng {
                        let shorter: String = digits.chars().take(max_digits - 1).collect();
                        parsed = shorter.parse().ok();
                    }
                }
                match parsed {
                    Some(ix) => {
                        if ng > 0 && ix >= 1 {
                            if let Some(Some(g)) = m.groups.get(ix - 1) {
                                out.push_str(g);
                            }
                        }
                        pos += ix.to_string().len();
                    }
                    None => out.push('$'),
                }
            }
        }
    }
    out
}

pub fn replace(ev: &mut Evaluator<'_>, args: Vec<Value>, input: &Value) -> Result<Value> {
    let Some(s) = str_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let pattern = super::arg(&args, 1);
    let replacement = super::arg(&args, 2);
    if matches!(&pattern, Value::String(p) if p.is_empty()) {
        return Err(Error::new("D3010").val("\"\""));
    }
    let limit = num_arg(&args, 3);
    if let Some(l) = limit {
        if l < 0.0 {
            return Err(Error::new("D3011").val(js_number(l)));
        }
    }
    let limit = limit.map(|l| {
        if l.is_finite() {
            l.ceil() as usize
        } else {
            usize::MAX
        }
    });
    if limit == Some(0) {
        return Ok(Value::str(s));
    }
    match &pattern {
        Value::String(p) => {
            let rep = match &replacement {
                Value::String(r) => r.to_string(),
                other => super::string::to_string(other).unwrap_or_default(),
            };
            let mut out = String::new();
            let mut pos = 0;
            let mut count = 0;
            while let Some(i) = s[pos..].find(&**p) {
                if limit.is_some_and(|l| count >= l) {
                    break;
                }
                out.push_str(&s[pos..pos + i]);
                out.push_str(&rep);
                pos += i + p.len();
                count += 1;
            }
            out.push_str(&s[pos..]);
            Ok(Value::string(out))
        }
        Value::Func(_) => {
            let matches = all_matches(ev, &pattern, s, limit)?;
            if matches.is_empty() {
                return Ok(Value::str(s));
            }
            let mut out = String::new();
            let mut pos = 0;
            for m in matches.iter() {
                out.push_str(s.get(pos..m.start).unwrap_or(""));
                match &replacement {
                    Value::String(r) => out.push_str(&substitute(r, m)),
                    f @ Value::Func(_) => {
                        let mut o = Map::new();
                        o.insert("match".into(), Value::str(&m.text));
                        o.insert(
                            "start".into(),
                            Value::Number(utf16_index(s, m.start) as f64),
                        );
                        o.insert("end".into(), Value::Number(utf16_index(s, m.end) as f64));
                        o.insert("groups".into(), groups_value(m));
                        let r = ev.apply(f, vec![Value::object(o)], input)?;
                        match r {
                            Value::String(rs) => out.push_str(&rs),
                            other => return Err(Error::new("D3012").val(describe(&other))),
                        }
                    }
                    _ => {}
                }
                pos = m.end;
            }
            out.push_str(s.get(pos..).unwrap_or(""));
            Ok(Value::string(out))
        }
        _ => Ok(Value::str(s)),
    }
}

pub fn base64encode(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let Some(s) = str_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let bytes: Vec<u8> = s.chars().map(|c| (c as u32 & 0xFF) as u8).collect();
    Ok(Value::string(
        base64::engine::general_purpose::STANDARD.encode(bytes),
    ))
}

pub fn base64decode(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let Some(s) = str_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let clean: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '+' || *c == '/')
        .collect();
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let mut trimmed = clean;
    while trimmed.len() % 4 == 1 {
        trimmed.pop();
    }
    let bytes = engine.decode(trimmed.as_bytes()).unwrap_or_default();
    Ok(Value::string(
        bytes.into_iter().map(|b| b as char).collect(),
    ))
}

fn is_lone_surrogate(c: char) -> bool {
    (SURROGATE_BASE..SURROGATE_BASE + 0x800).contains(&(c as u32))
}

fn encode_with(s: &str, keep: &str, name: &str) -> Result<Value> {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_lone_surrogate(c) {
            return Err(Error::new("D3140")
                .tok(name)
                .val(s)
                .set("functionName", name));
        }
        if c.is_ascii_alphanumeric() || keep.contains(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    Ok(Value::string(out))
}

pub fn encode_url_component(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let Some(s) = str_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    encode_with(s, "-_.!~*'()", "encodeUrlComponent")
}

pub fn encode_url(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let Some(s) = str_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    encode_with(s, "-_.!~*'();/?:@&=+$,#", "encodeUrl")
}

fn decode_with(s: &str, reserved: &str, name: &str) -> Result<Value> {
    let err = || {
        Error::msg(
            "D3140",
            format!("Malformed URL passed to ${name}(): \"{s}\""),
        )
        .tok(name)
    };
    let bytes = s.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    let hex = |i: usize| -> Option<u8> {
        let h = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
        u8::from_str_radix(h, 16).ok()
    };
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let b = hex(i).ok_or_else(err)?;
            if b < 0x80 {
                if reserved.as_bytes().contains(&b) {
                    out.extend_from_slice(&bytes[i..i + 3]);
                } else {
                    out.push(b);
                }
                i += 3;
                continue;
            }
            // multi-byte sequence: all continuation bytes must be escaped too
            let n = if b & 0xE0 == 0xC0 {
                2
            } else if b & 0xF0 == 0xE0 {
                3
            } else if b & 0xF8 == 0xF0 {
                4
            } else {
                return Err(err());
            };
            let mut seq = vec![b];
            for k in 1..n {
                let j = i + 3 * k;
                if bytes.get(j) != Some(&b'%') {
                    return Err(err());
                }
                let c = hex(j).ok_or_else(err)?;
                if c & 0xC0 != 0x80 {
                    return Err(err());
                }
                seq.push(c);
            }
            if std::str::from_utf8(&seq).is_err() {
                return Err(err());
            }
            out.extend_from_slice(&seq);
            i += 3 * n;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map(Value::string).map_err(|_| err())
}

pub fn decode_url_component(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let Some(s) = str_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    decode_with(s, "", "decodeUrlComponent")
}

pub fn decode_url(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let Some(s) = str_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    decode_with(s, ";/?:@&=+$,#", "decodeUrl")
}
