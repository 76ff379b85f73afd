//! $formatInteger and $parseInteger: XPath integer pictures (decimal digit patterns with
//! grouping, ordinals, letters, roman numerals, words), shared with the date/time pictures.

use super::super::error::{Error, Result};
use super::super::evaluator::Evaluator;
use super::super::value::*;
use super::numeric::regular_factor;
use super::{num_arg, str_arg};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Primary {
    Decimal,
    Letters,
    Roman,
    Words,
    Sequence,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Case {
    Upper,
    Lower,
    Title,
}

#[derive(Debug, Clone)]
pub struct IntFormat {
    pub primary: Primary,
    pub case: Case,
    pub ordinal: bool,
    pub zero_code: u32,
    pub mandatory_digits: usize,
    pub optional_digits: usize,
    pub regular: Option<(usize, char)>,
    pub separators: Vec<(usize, char)>,
    pub token: String,
}

const DECIMAL_GROUPS: &[u32] = &[
    0x30, 0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6,
    0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80,
    0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0,
    0xFF10,
];

pub fn analyse(picture: &str) -> Result<IntFormat> {
    let mut f = IntFormat {
        primary: Primary::Decimal,
        case: Case::Lower,
        ordinal: false,
        zero_code: 0x30,
        mandatory_digits: 0,
        optional_digits: 0,
        regular: None,
        separators: Vec::new(),
        token: String::new(),
    };
    let primary = match picture.rfind(';') {
        None => picture,
        Some(i) => {
            if picture[i + 1..].starts_with('o') {
                f.ordinal = true;
            }
            &picture[..i]
        }
    };
    match primary {
        "A" => {
            f.case = Case::Upper;
            f.primary = Primary::Letters;
        }
        "a" => f.primary = Primary::Letters,
        "I" => {
            f.case = Case::Upper;
            f.primary = Primary::Roman;
        }
        "i" => f.primary = Primary::Roman,
        "W" => {
            f.case = Case::Upper;
            f.primary = Primary::Words;
        }
        "Ww" => {
            f.case = Case::Title;
            f.primary = Primary::Words;
        }
        "w" => f.primary = Primary::Words,
        _ => {
            let mut zero: Option<u32> = None;
            let mut sep_pos = 0;
            let mut seps = Vec::new();
            for c in primary.chars().rev() {
                let cp = c as u32;
                if let Some(g) = DECIMAL_GROUPS.iter().find(|g| cp >= **g && cp <= **g + 9) {
                    f.mandatory_digits += 1;
                    sep_pos += 1;
                    match zero {
                        None => zero = Some(*g),
                        Some(z) if z != *g => return Err(Error::new("D3131")),
                        _ => {}
                    }
                } else if c == '#' {
                    sep_pos += 1;
                    f.optional_digits += 1;
                } else {
                    seps.push((sep_pos, c));
                }
            }
            if f.mandatory_digits > 0 {
                f.zero_code = zero.unwrap_or(0x30);
                let same = seps
                    .iter()
                    .all(|s| s.1 == seps.first().map(|x| x.1).unwrap_or(' '));
                let positions: Vec<usize> = seps.iter().map(|s| s.0).collect();
                let factor = if same { regular_factor(&positions) } else { 0 };
                if factor > 0 {
                    f.regular = Some((factor, seps[0].1));
                } else {
                    f.separators = seps;
                }
            } else {
                f.primary = Primary::Sequence;
                f.token = primary.to_string();
            }
        }
    }
    Ok(f)
}

const FEW: [&str; 20] = [
    "Zero",
    "One",
    "Two",
    "Three",
    "Four",
    "Five",
    "Six",
    "Seven",
    "Eight",
    "Nine",
    "Ten",
    "Eleven",
    "Twelve",
    "Thirteen",
    "Fourteen",
    "Fifteen",
    "Sixteen",
    "Seventeen",
    "Eighteen",
    "Nineteen",
];
const ORDINALS: [&str; 20] = [
    "Zeroth",
    "First",
    "Second",
    "Third",
    "Fourth",
    "Fifth",
    "Sixth",
    "Seventh",
    "Eighth",
    "Ninth",
    "Tenth",
    "Eleventh",
    "Twelfth",
    "Thirteenth",
    "Fourteenth",
    "Fifteenth",
    "Sixteenth",
    "Seventeenth",
    "Eighteenth",
    "Nineteenth",
];
const DECADES: [&str; 9] = [
    "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety", "Hundred",
];
const MAGNITUDES: [&str; 4] = ["Thousand", "Million", "Billion", "Trillion"];

fn words(num: f64, prev: bool, ord: bool) -> String {
    let mut w = String::new();
    if num <= 19.0 {
        if prev {
            w.push_str(" and ");
        }
        let i = num as usize;
        w.push_str(if ord { ORDINALS[i] } else { FEW[i] });
    } else if num < 100.0 {
        let tens = (num / 10.0).floor() as usize;
        let rem = num % 10.0;
        if prev {
            w.push_str(" and ");
        }
        w.push_str(DECADES[tens - 2]);
        if rem > 0.0 {
            w.push('-');
            w.push_str(&words(rem, false, ord));
        } else if ord {
            w.pop();
            w.push_str("ieth");
        }
    } else if num < 1000.0 {
        let hundreds = (num / 100.0).floor() as usize;
        let rem = num % 100.0;
        if prev {
            w.push_str(", ");
        }
        w.push_str(FEW[hundreds]);
        w.push_str(" Hundred");
        if rem > 0.0 {
            w.push_str(&words(rem, true, ord));
        } else if ord {
            w.push_str("th");
        }
    } else {
        let mut mag = (num.log10() / 3.0).floor() as usize;
        if mag > MAGNITUDES.len() {
            mag = MAGNITUDES.len();
        }
        let factor = 10f64.powi(mag as i32 * 3);
        let mant = (num / factor).floor();
        let rem = num - mant * factor;
        if prev {
            w.push_str(", ");
        }
        w.push_str(&stacker::maybe_grow(32 * 1024, 1024 * 1024, || {
            words(mant, false, false)
        }));
        w.push(' ');
        w.push_str(MAGNITUDES[mag - 1]);
        if rem > 0.0 {
            w.push_str(&words(rem, true, ord));
        } else if ord {
            w.push_str("th");
        }
    }
    w
}

fn to_roman(mut v: f64) -> String {
    const R: [(f64, &str); 13] = [
        (1000.0, "m"),
        (900.0, "cm"),
        (500.0, "d"),
        (400.0, "cd"),
        (100.0, "c"),
        (90.0, "xc"),
        (50.0, "l"),
        (40.0, "xl"),
        (10.0, "x"),
        (9.0, "ix"),
        (5.0, "v"),
        (4.0, "iv"),
        (1.0, "i"),
    ];
    let mut out = String::new();
    if v > 1e7 {
        return out;
    }
    for (n, s) in R.iter() {
        while v >= *n {
            out.push_str(s);
            v -= n;
        }
    }
    out
}

fn to_letters(mut v: f64, a: char) -> String {
    let mut letters = Vec::new();
    while v > 0.0 {
        let d = ((v - 1.0) % 26.0) as u32;
        letters.push(char::from_u32(a as u32 + d).unwrap_or('?'));
        v = ((v - 1.0) / 26.0).floor();
    }
    letters.into_iter().rev().collect()
}

/// Formats an integer with an analysed picture.
pub fn format_int(value: f64, f: &IntFormat) -> Result<String> {
    let neg = value < 0.0;
    let value = value.abs();
    let mut s = match f.primary {
        Primary::Letters => to_letters(value, if f.case == Case::Upper { 'A' } else { 'a' }),
        Primary::Roman => {
            let r = to_roman(value);
            if f.case == Case::Upper {
                r.to_uppercase()
            } else {
                r
            }
        }
        Primary::Words => {
            let w = words(value, false, f.ordinal);
            match f.case {
                Case::Upper => w.to_uppercase(),
                Case::Lower => w.to_lowercase(),
                Case::Title => w,
            }
        }
        Primary::Decimal => {
            let mut s = js_number(value);
            let pad = f.mandatory_digits as i64 - s.chars().count() as i64;
            if pad > 0 {
                s = "0".repeat(pad as usize) + &s;
            }
            if f.zero_code != 0x30 {
                s = s
                    .chars()
                    .map(|c| {
                        if c.is_ascii_digit() {
                            char::from_u32(c as u32 + f.zero_code - 0x30).unwrap_or(c)
                        } else {
                            c
                        }
                    })
                    .collect();
            }
            let mut chars: Vec<char> = s.chars().collect();
            if let Some((every, ch)) = f.regular {
                let n = if chars.is_empty() {
                    0
                } else {
                    (chars.len() - 1) / every
                };
                for ii in (1..=n).rev() {
                    let pos = chars.len() - ii * every;
                    chars.insert(pos, ch);
                }
            } else {
                for (pos, ch) in f.separators.iter().rev() {
                    let at = chars.len().saturating_sub(*pos);
                    chars.insert(at, *ch);
                }
            }
            let mut s: String = chars.into_iter().collect();
            if f.ordinal {
                let last = s.chars().last();
                let prev = s.chars().rev().nth(1);
                let suffix = match last {
                    Some('1') => "st",
                    Some('2') => "nd",
                    Some('3') => "rd",
                    _ => "th",
                };
                let suffix = if prev == Some('1') { "th" } else { suffix };
                s.push_str(suffix);
            }
            s
        }
        Primary::Sequence => return Err(Error::new("D3130").val(&f.token)),
    };
    if neg {
        s.insert(0, '-');
    }
    Ok(s)
}

pub fn format_integer_fn(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let Some(v) = num_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let f = analyse(str_arg(&args, 1).unwrap_or(""))?;
    Ok(Value::string(format_int(v.floor(), &f)?))
}

fn word_value(w: &str) -> Option<f64> {
    for (i, x) in FEW.iter().enumerate() {
        if x.eq_ignore_ascii_case(w) {
            return Some(i as f64);
        }
    }
    for (i, x) in ORDINALS.iter().enumerate() {
        if x.eq_ignore_ascii_case(w) {
            return Some(i as f64);
        }
    }
    for (i, x) in DECADES.iter().enumerate() {
        let v = (i as f64 + 2.0) * 10.0;
        let lw = x.to_lowercase();
        if lw == w {
            return Some(v);
        }
        if format!("{}ieth", &lw[..lw.len() - 1]) == w {
            return Some(v);
        }
    }
    if w == "hundredth" {
        return Some(100.0);
    }
    for (i, x) in MAGNITUDES.iter().enumerate() {
        let v = 10f64.powi((i as i32 + 1) * 3);
        let lw = x.to_lowercase();
        if lw == w || format!("{lw}th") == w {
            return Some(v);
        }
    }
    None
}

pub fn words_to_number(text: &str) -> f64 {
    let text = text.to_lowercase();
    let text = text.replace(", ", " ").replace(" and ", " ");
    let parts: Vec<&str> = text
        .split([' ', '-', '\\'])
        .filter(|p| !p.is_empty())
        .collect();
    let mut segs: Vec<f64> = vec![0.0];
    for p in parts {
        let v = word_value(p).unwrap_or(f64::NAN);
        if v < 100.0 || v.is_nan() {
            let mut top = segs.pop().unwrap_or(0.0);
            if top >= 1000.0 {
                segs.push(top);
                top = 0.0;
            }
            segs.push(top + v);
        } else {
            let top = segs.pop().unwrap_or(0.0);
            segs.push(top * v);
        }
    }
    segs.iter().sum()
}

pub fn roman_to_decimal(s: &str) -> f64 {
    let mut dec = 0.0;
    let mut max = 1.0;
    for c in s.chars().rev() {
        let v = match c {
            'M' => 1000.0,
            'D' => 500.0,
            'C' => 100.0,
            'L' => 50.0,
            'X' => 10.0,
            'V' => 5.0,
            'I' => 1.0,
            _ => f64::NAN,
        };
        if v < max {
            dec -= v;
        } else {
            max = v;
            dec += v;
        }
    }
    dec
}

pub fn letters_to_decimal(s: &str, a: char) -> f64 {
    let mut dec = 0.0;
    for (i, c) in s.chars().rev().enumerate() {
        dec += (c as i64 - a as i64 + 1) as f64 * 26f64.powi(i as i32);
    }
    dec
}

/// Parses text produced by an integer picture.
pub fn parse_int(value: &str, f: &IntFormat) -> Result<f64> {
    Ok(match f.primary {
        Primary::Letters => {
            letters_to_decimal(value, if f.case == Case::Upper { 'A' } else { 'a' })
        }
        Primary::Roman => roman_to_decimal(&value.to_uppercase()),
        Primary::Words => words_to_number(value),
        Primary::Decimal => {
            let mut digits: String = value.to_string();
            if f.ordinal {
                let n = digits.chars().count();
                digits = digits.chars().take(n.saturating_sub(2)).collect();
            }
            if f.regular.is_some() {
                digits = digits.replace(',', "");
            } else {
                for (_, c) in f.separators.iter() {
                    digits = digits.replace(*c, "");
                }
            }
            if f.zero_code != 0x30 {
                digits = digits
                    .chars()
                    .map(|c| {
                        char::from_u32((c as u32).wrapping_sub(f.zero_code).wrapping_add(0x30))
                            .unwrap_or(c)
                    })
                    .collect();
            }
            parse_int_prefix(&digits)
        }
        Primary::Sequence => return Err(Error::new("D3130").val(&f.token)),
    })
}

/// JavaScript parseInt(s, 10).
pub fn parse_int_prefix(s: &str) -> f64 {
    let t = s.trim_start();
    let (neg, body) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let digits: String = body.chars().take_while(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() {
        return f64::NAN;
    }
    let v: f64 = digits.parse().unwrap_or(f64::NAN);
    if neg {
        -v
    } else {
        v
    }
}

pub fn parse_integer_fn(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let Some(s) = str_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let f = analyse(str_arg(&args, 1).unwrap_or(""))?;
    let v = parse_int(s, &f)?;
    Ok(if v.is_nan() {
        Value::Undefined
    } else {
        Value::Number(v)
    })
}
