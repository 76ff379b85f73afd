//! Numeric functions: $number, $abs, $floor, $ceil, $round, $power, $sqrt, $random,
//! $formatNumber (XPath picture strings) and $formatBase.

use super::super::error::{Error, Result};
use super::super::evaluator::Evaluator;
use super::super::value::*;
use super::{arg, num_arg, str_arg};

pub fn number(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    Ok(match arg(&args, 0) {
        Value::Undefined => Value::Undefined,
        Value::Number(n) => Value::Number(n),
        Value::Bool(b) => Value::Number(if b { 1.0 } else { 0.0 }),
        Value::String(s) => match parse_js_number(&s) {
            Some(n) => Value::Number(n),
            None => return Err(Error::new("D3030").val(describe(&Value::String(s)))),
        },
        other => return Err(Error::new("D3030").val(describe(&other))),
    })
}

/// The string forms `$number` accepts: decimal JSON-like numbers and 0x/0o/0b integers.
pub fn parse_js_number(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut i = 0;
    if b.first() == Some(&b'-') {
        i += 1;
    }
    let ds = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let decimal_ok = (|| {
        if i == ds {
            return false;
        }
        let mut j = i;
        if j < b.len() && b[j] == b'.' {
            j += 1;
            let fs = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            if j == fs {
                return false;
            }
        }
        if j < b.len() && (b[j] == b'e' || b[j] == b'E') {
            j += 1;
            if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
                j += 1;
            }
            let es = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            if j == es {
                return false;
            }
        }
        j == b.len()
    })();
    if decimal_ok {
        let n: f64 = s.parse().ok()?;
        return if n.is_finite() { Some(n) } else { None };
    }
    if s.len() > 2 && s.starts_with('0') {
        let radix = match s.as_bytes()[1] {
            b'x' | b'X' => 16,
            b'o' | b'O' => 8,
            b'b' | b'B' => 2,
            _ => return None,
        };
        // The second byte is ASCII, so the digits start on a character boundary.
        let digits = &s[2..];
        if digits.chars().all(|c| c.is_digit(radix)) {
            let mut v = 0f64;
            for c in digits.chars() {
                v = v * radix as f64 + c.to_digit(radix)? as f64;
            }
            return Some(v);
        }
    }
    None
}

fn unary(args: &[Value], f: impl Fn(f64) -> f64) -> Result<Value> {
    Ok(match num_arg(args, 0) {
        Some(n) => Value::Number(f(n)),
        None => Value::Undefined,
    })
}

pub fn abs(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    unary(&args, f64::abs)
}
pub fn floor(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    unary(&args, f64::floor)
}
pub fn ceil(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    unary(&args, f64::ceil)
}

fn shift(x: f64, p: i32) -> f64 {
    // shift the decimal point through the string form, as jsonata does
    let s = js_number(x);
    let (m, e) = match s.split_once('e') {
        Some((m, e)) => (m.to_string(), e.parse::<i32>().unwrap_or(0)),
        None => (s, 0),
    };
    format!("{m}e{}", e + p).parse().unwrap_or(x)
}

/// Round half to even at `precision` decimal places.
pub fn round_half_even(x: f64, precision: i32) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let mut arg = x;
    if precision != 0 {
        arg = shift(arg, precision);
    }
    let mut result = (arg + 0.5).floor();
    let diff = result - arg;
    if diff.abs() == 0.5 && (result % 2.0).abs() == 1.0 {
        result -= 1.0;
    }
    if precision != 0 {
        result = shift(result, -precision);
    }
    if result == 0.0 {
        result = 0.0;
    }
    result
}

pub fn round(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let Some(x) = num_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let p = num_arg(&args, 1).unwrap_or(0.0);
    Ok(Value::Number(round_half_even(x, p.trunc() as i32)))
}

pub fn sqrt(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let Some(x) = num_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    if x < 0.0 {
        return Err(Error::new("D3060").val(js_number(x)));
    }
    Ok(Value::Number(x.sqrt()))
}

pub fn power(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let Some(x) = num_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let e = num_arg(&args, 1).unwrap_or(f64::NAN);
    let r = x.powf(e);
    if !r.is_finite() {
        return Err(Error::new("D3061")
            .val(js_number(x))
            .set("exp", js_number(e)));
    }
    Ok(Value::Number(r))
}

pub fn random(_: &mut Evaluator<'_>, _: Vec<Value>, _: &Value) -> Result<Value> {
    Ok(Value::Number(rand::random::<f64>()))
}

pub fn format_base(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let Some(x) = num_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let x = round_half_even(x, 0);
    let radix = num_arg(&args, 1).unwrap_or(10.0);
    if !(2.0..=36.0).contains(&radix) {
        return Err(Error::new("D3100").val(js_number(radix)));
    }
    let radix = radix as u32;
    let neg = x < 0.0;
    let mut n = x.abs();
    let mut digits = Vec::new();
    if n == 0.0 {
        digits.push('0');
    }
    while n >= 1.0 {
        let d = (n % radix as f64) as u32;
        digits.push(std::char::from_digit(d, radix).unwrap_or('0'));
        n = (n / radix as f64).floor();
    }
    let mut s: String = digits.into_iter().rev().collect();
    if neg {
        s.insert(0, '-');
    }
    Ok(Value::string(s))
}

// ----- $formatNumber ------------------------------------------------------------------

struct Props {
    decimal: char,
    grouping: char,
    exponent: char,
    minus: String,
    percent: char,
    permille: char,
    zero: char,
    digit: char,
    pattern: char,
}

struct Parts {
    prefix: Vec<char>,
    suffix: Vec<char>,
    active: Vec<char>,
    mantissa: Vec<char>,
    exponent: Option<Vec<char>>,
    integer: Vec<char>,
    fractional: Vec<char>,
    sub: Vec<char>,
}

#[derive(Clone)]
struct Pic {
    int_groups: Vec<usize>,
    regular: usize,
    min_int: usize,
    scaling: usize,
    prefix: String,
    frac_groups: Vec<usize>,
    min_frac: usize,
    max_frac: usize,
    min_exp: usize,
    suffix: String,
    picture: Vec<char>,
}

fn index_of(v: &[char], c: char) -> Option<usize> {
    v.iter().position(|x| *x == c)
}
fn last_index_of(v: &[char], c: char) -> Option<usize> {
    v.iter().rposition(|x| *x == c)
}

pub fn format_number(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let Some(value) = num_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let picture = str_arg(&args, 1).unwrap_or("");
    let mut p = Props {
        decimal: '.',
        grouping: ',',
        exponent: 'e',
        minus: "-".into(),
        percent: '%',
        permille: '\u{2030}',
        zero: '0',
        digit: '#',
        pattern: ';',
    };
    if let Value::Object(o) = arg(&args, 2) {
        for (k, v) in o.iter() {
            let Some(s) = v.as_str() else { continue };
            let c = s.chars().next().unwrap_or(' ');
            match k.as_str() {
                "decimal-separator" => p.decimal = c,
                "grouping-separator" => p.grouping = c,
                "exponent-separator" => p.exponent = c,
                "minus-sign" => p.minus = s.to_string(),
                "percent" => p.percent = c,
                "per-mille" => p.permille = c,
                "zero-digit" => p.zero = c,
                "digit" => p.digit = c,
                "pattern-separator" => p.pattern = c,
                _ => {}
            }
        }
    }
    let family: Vec<char> = (0..10)
        .filter_map(|i| char::from_u32(p.zero as u32 + i))
        .collect();
    let is_digit = |c: char| family.contains(&c);
    let mut active: Vec<char> = family.clone();
    active.extend([p.decimal, p.exponent, p.grouping, p.digit, p.pattern]);
    let pic_chars: Vec<char> = picture.chars().collect();
    let subs: Vec<Vec<char>> = pic_chars
        .split(|c| *c == p.pattern)
        .map(|s| s.to_vec())
        .collect();
    if subs.len() > 2 {
        return Err(Error::new("D3080"));
    }
    let split_parts = |sub: &Vec<char>| -> Parts {
        let is_active = |c: char| active.contains(&c) && c != p.exponent;
        let prefix_len = sub.iter().position(|c| is_active(*c)).unwrap_or(sub.len());
        let suffix_start = sub
            .iter()
            .rposition(|c| is_active(*c))
            .map(|i| i + 1)
            .unwrap_or(sub.len());
        let prefix = sub[..prefix_len].to_vec();
        let suffix = if suffix_start >= prefix_len {
            sub[suffix_start..].to_vec()
        } else {
            Vec::new()
        };
        let active_part: Vec<char> = if suffix_start >= prefix_len {
            sub[prefix_len..suffix_start].to_vec()
        } else {
            Vec::new()
        };
        let exp_pos = sub
            .iter()
            .skip(prefix_len)
            .position(|c| *c == p.exponent)
            .map(|i| i + prefix_len);
        let (mantissa, exponent) = match exp_pos {
            Some(e) if e <= sub.len() - suffix.len() => {
                let rel = e - prefix_len;
                (
                    active_part[..rel.min(active_part.len())].to_vec(),
                    Some(active_part[(rel + 1).min(active_part.len())..].to_vec()),
                )
            }
            _ => (active_part.clone(), None),
        };
        let (integer, fractional) = match index_of(&mantissa, p.decimal) {
            None => (mantissa.clone(), suffix.clone()),
            Some(d) => (mantissa[..d].to_vec(), mantissa[d + 1..].to_vec()),
        };
        Parts {
            prefix,
            suffix,
            active: active_part,
            mantissa,
            exponent,
            integer,
            fractional,
            sub: sub.clone(),
        }
    };
    let parts: Vec<Parts> = subs.iter().map(split_parts).collect();
    for part in &parts {
        let sub = &part.sub;
        if !sub.iter().any(|c| active.contains(c) && *c != p.exponent) {
            // nothing but passive characters (jsonata 2.0.6 fails here internally)
            return Err(Error::new("D3086"));
        }
        let mut error = None;
        let dpos = index_of(sub, p.decimal);
        if dpos != last_index_of(sub, p.decimal) {
            error = Some("D3081");
        }
        if index_of(sub, p.percent) != last_index_of(sub, p.percent) {
            error = Some("D3082");
        }
        if index_of(sub, p.permille) != last_index_of(sub, p.permille) {
            error = Some("D3083");
        }
        if index_of(sub, p.percent).is_some() && index_of(sub, p.permille).is_some() {
            error = Some("D3084");
        }
        if !part.mantissa.iter().any(|c| is_digit(*c) || *c == p.digit) {
            error = Some("D3085");
        }
        if part.active.iter().any(|c| !active.contains(c)) {
            error = Some("D3086");
        }
        if let Some(d) = dpos {
            if (d > 0 && sub.get(d - 1) == Some(&p.grouping)) || sub.get(d + 1) == Some(&p.grouping)
            {
                error = Some("D3087");
            }
        } else if part.integer.last() == Some(&p.grouping) {
            error = Some("D3088");
        }
        if sub
            .windows(2)
            .any(|w| w[0] == p.grouping && w[1] == p.grouping)
        {
            error = Some("D3089");
        }
        if let Some(od) = index_of(&part.integer, p.digit) {
            if part.integer[..od].iter().any(|c| is_digit(*c)) {
                error = Some("D3090");
            }
        }
        if let Some(od) = last_index_of(&part.fractional, p.digit) {
            if part.fractional[od..].iter().any(|c| is_digit(*c)) {
                error = Some("D3091");
            }
        }
        if let Some(e) = &part.exponent {
            if !e.is_empty()
                && (index_of(sub, p.percent).is_some() || index_of(sub, p.permille).is_some())
            {
                error = Some("D3092");
            }
            if e.is_empty() || e.iter().any(|c| !is_digit(*c)) {
                error = Some("D3093");
            }
        }
        if let Some(code) = error {
            return Err(Error::new(code));
        }
    }
    let analyse = |part: &Parts| -> Pic {
        let grouping_positions = |v: &[char], to_left: bool| -> Vec<usize> {
            let mut out = Vec::new();
            let mut gp = index_of(v, p.grouping);
            while let Some(g) = gp {
                let slice = if to_left { &v[..g] } else { &v[g..] };
                out.push(
                    slice
                        .iter()
                        .filter(|c| is_digit(**c) || **c == p.digit)
                        .count(),
                );
                gp = part
                    .integer
                    .iter()
                    .skip(g + 1)
                    .position(|c| *c == p.grouping)
                    .map(|i| i + g + 1);
            }
            out
        };
        let int_groups = grouping_positions(&part.integer, false);
        let regular = regular_factor(&int_groups);
        let frac_groups = grouping_positions(&part.fractional, true);
        let mut min_int = part.integer.iter().filter(|c| is_digit(**c)).count();
        let scaling = min_int;
        let mut min_frac = part.fractional.iter().filter(|c| is_digit(**c)).count();
        let mut max_frac = part
            .fractional
            .iter()
            .filter(|c| is_digit(**c) || **c == p.digit)
            .count();
        let exponent_present = part.exponent.is_some();
        if min_int == 0 && max_frac == 0 {
            if exponent_present {
                min_frac = 1;
                max_frac = 1;
            } else {
                min_int = 1;
            }
        }
        if exponent_present && min_int == 0 && index_of(&part.integer, p.digit).is_some() {
            min_int = 1;
        }
        if min_int == 0 && min_frac == 0 {
            min_frac = 1;
        }
        let min_exp = part
            .exponent
            .as_ref()
            .map(|e| e.iter().filter(|c| is_digit(**c)).count())
            .unwrap_or(0);
        Pic {
            int_groups,
            regular,
            min_int,
            scaling,
            prefix: part.prefix.iter().collect(),
            frac_groups,
            min_frac,
            max_frac,
            min_exp,
            suffix: part.suffix.iter().collect(),
            picture: part.sub.clone(),
        }
    };
    let mut pics: Vec<Pic> = parts.iter().map(analyse).collect();
    if pics.len() == 1 {
        let mut neg = pics[0].clone();
        neg.prefix = format!("{}{}", p.minus, neg.prefix);
        pics.push(neg);
    }
    let pic = if value >= 0.0 { &pics[0] } else { &pics[1] };
    let adjusted = if index_of(&pic.picture, p.percent).is_some() {
        value * 100.0
    } else if index_of(&pic.picture, p.permille).is_some() {
        value * 1000.0
    } else {
        value
    };
    let mut mantissa = adjusted;
    let mut exponent: Option<i32> = None;
    if pic.min_exp > 0 {
        let max_m = 10f64.powi(pic.scaling as i32);
        let min_m = 10f64.powi(pic.scaling as i32 - 1);
        let mut e = 0;
        if mantissa != 0.0 && mantissa.is_finite() {
            while mantissa.abs() < min_m {
                mantissa *= 10.0;
                e -= 1;
            }
            while mantissa.abs() > max_m {
                mantissa /= 10.0;
                e += 1;
            }
        }
        exponent = Some(e);
    }
    let rounded = round_half_even(mantissa, pic.max_frac as i32);
    let make_string = |v: f64, dp: usize| -> String {
        let s = format!("{:.*}", dp, v.abs());
        if p.zero != '0' {
            s.chars()
                .map(|c| {
                    if c.is_ascii_digit() {
                        family[(c as u8 - b'0') as usize]
                    } else {
                        c
                    }
                })
                .collect()
        } else {
            s
        }
    };
    let mut sv: Vec<char> = make_string(rounded, pic.max_frac).chars().collect();
    match index_of(&sv, '.') {
        None => sv.push(p.decimal),
        Some(i) => sv[i] = p.decimal,
    }
    while sv.first() == Some(&p.zero) {
        sv.remove(0);
    }
    while sv.last() == Some(&p.zero) {
        sv.pop();
    }
    let dpos = index_of(&sv, p.decimal).unwrap_or(sv.len());
    let pad_left = pic.min_int as i64 - dpos as i64;
    let pad_right = pic.min_frac as i64 - (sv.len() as i64 - dpos as i64 - 1);
    if pad_left > 0 {
        let mut v: Vec<char> = std::iter::repeat_n(p.zero, pad_left as usize).collect();
        v.extend(sv);
        sv = v;
    }
    if pad_right > 0 {
        sv.extend(std::iter::repeat_n(p.zero, pad_right as usize));
    }
    let mut dpos = index_of(&sv, p.decimal).unwrap_or(sv.len());
    if let Some(group_count) = dpos.saturating_sub(1).checked_div(pic.regular) {
        for g in 1..=group_count {
            let at = dpos - g * pic.regular;
            sv.insert(at, p.grouping);
        }
    } else {
        for pos in pic.int_groups.iter() {
            if *pos <= dpos {
                sv.insert(dpos - pos, p.grouping);
                dpos += 1;
            }
        }
    }
    let dpos = index_of(&sv, p.decimal).unwrap_or(sv.len());
    for pos in pic.frac_groups.iter() {
        let at = pos + dpos + 1;
        if at <= sv.len() {
            sv.insert(at, p.grouping);
        }
    }
    let dpos = index_of(&sv, p.decimal);
    if dpos.is_some_and(|d| d + 1 == sv.len()) {
        sv.pop();
    }
    let mut out: String = sv.into_iter().collect();
    if let Some(e) = exponent {
        let mut es = make_string(e as f64, 0);
        let pad = pic.min_exp as i64 - es.chars().count() as i64;
        if pad > 0 {
            es = std::iter::repeat_n(p.zero, pad as usize).collect::<String>() + &es;
        }
        out.push(p.exponent);
        if e < 0 {
            out.push_str(&p.minus);
        }
        out.push_str(&es);
    }
    Ok(Value::string(format!(
        "{}{}{}",
        pic.prefix, out, pic.suffix
    )))
}

/// The regular grouping interval of positions, or 0.
pub fn regular_factor(positions: &[usize]) -> usize {
    if positions.is_empty() {
        return 0;
    }
    fn gcd(a: usize, b: usize) -> usize {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    let factor = positions.iter().copied().reduce(gcd).unwrap_or(0);
    if factor == 0 {
        return 0;
    }
    for i in 1..=positions.len() {
        if !positions.contains(&(i * factor)) {
            return 0;
        }
    }
    factor
}
