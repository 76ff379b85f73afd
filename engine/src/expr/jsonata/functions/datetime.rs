//! Date/time functions: $now, $millis, $fromMillis, $toMillis, with XPath F&O picture
//! strings for formatting and parsing (`[Y0001]-[M01]-[D01]`, names, ordinals, time zones).

use super::super::error::{Error, Result};
use super::super::evaluator::Evaluator;
use super::super::value::*;
use super::integer::{self, Case, IntFormat, Primary};
use super::{num_arg, str_arg};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 8] = [
    "",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const DAY_MS: f64 = 86_400_000.0;

// ----- calendar arithmetic ------------------------------------------------------------

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// JavaScript's Date.UTC with month overflow (month 0-based).
fn date_utc(y: f64, m: f64, d: f64, h: f64, mi: f64, s: f64, ms: f64) -> f64 {
    if ![y, m, d, h, mi, s, ms].iter().all(|v| v.is_finite()) {
        return f64::NAN;
    }
    let tm = y * 12.0 + m;
    let yy = (tm / 12.0).floor();
    let mm = tm - yy * 12.0;
    let days = days_from_civil(yy as i64, mm as i64 + 1, 1) as f64 + d - 1.0;
    days * DAY_MS + h * 3_600_000.0 + mi * 60_000.0 + s * 1000.0 + ms
}

#[derive(Clone, Copy)]
struct Dt {
    ms: f64,
    year: i64,
    month: i64, // 0-based
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    milli: i64,
    dow: i64, // 0 = Sunday
}

fn dt(ms: f64) -> Dt {
    let days = (ms / DAY_MS).floor();
    let rem = ms - days * DAY_MS;
    let (y, m, d) = civil_from_days(days as i64);
    let rem = rem as i64;
    Dt {
        ms,
        year: y,
        month: m - 1,
        day: d,
        hour: rem / 3_600_000,
        minute: rem / 60_000 % 60,
        second: rem / 1000 % 60,
        milli: rem % 1000,
        dow: (days as i64 + 4).rem_euclid(7),
    }
}

fn start_of_first_week(year: i64, month: i64) -> f64 {
    let first = date_utc(year as f64, month as f64, 1.0, 0.0, 0.0, 0.0, 0.0);
    let mut dow = dt(first).dow;
    if dow == 0 {
        dow = 7;
    }
    if dow > 4 {
        first + (8 - dow) as f64 * DAY_MS
    } else {
        first - (dow - 1) as f64 * DAY_MS
    }
}

fn norm_ym(y: i64, m: i64) -> (i64, i64) {
    let t = y * 12 + m;
    (t.div_euclid(12), t.rem_euclid(12))
}

/// (year-or-month, week) for ISO week of year (`month_mode` false) or week of month.
fn week_info(d: &Dt, month_mode: bool) -> ((i64, i64), i64) {
    let mut ym = if month_mode {
        (d.year, d.month)
    } else {
        (d.year, 0)
    };
    let mut start = start_of_first_week(ym.0, ym.1);
    let next = if month_mode {
        norm_ym(ym.0, ym.1 + 1)
    } else {
        (ym.0 + 1, 0)
    };
    let start_next = start_of_first_week(next.0, next.1);
    if d.ms >= start_next {
        ym = next;
        start = start_next;
    } else if d.ms < start {
        ym = if month_mode {
            norm_ym(ym.0, ym.1 - 1)
        } else {
            (ym.0 - 1, 0)
        };
        start = start_of_first_week(ym.0, ym.1);
    }
    let week = ((d.ms - start) / (DAY_MS * 7.0) + 1.0).floor() as i64;
    (ym, week)
}

enum Frag {
    Num(f64),
    Str(String),
}

fn fragment(d: &Dt, c: char) -> Frag {
    Frag::Num(match c {
        'Y' => d.year as f64,
        'M' => (d.month + 1) as f64,
        'D' => d.day as f64,
        'd' => {
            let first = date_utc(d.year as f64, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0);
            ((d.ms - first) / DAY_MS).floor() + 1.0
        }
        'F' => {
            if d.dow == 0 {
                7.0
            } else {
                d.dow as f64
            }
        }
        'W' => week_info(d, false).1 as f64,
        'X' => week_info(d, false).0 .0 as f64,
        'w' => week_info(d, true).1 as f64,
        'x' => (week_info(d, true).0 .1 + 1) as f64,
        'H' => d.hour as f64,
        'h' => {
            let h = d.hour % 12;
            if h == 0 {
                12.0
            } else {
                h as f64
            }
        }
        'P' => return Frag::Str(if d.hour >= 12 { "pm" } else { "am" }.into()),
        'm' => d.minute as f64,
        's' => d.second as f64,
        'f' => d.milli as f64,
        'C' | 'E' => return Frag::Str("ISO".into()),
        _ => f64::NAN,
    })
}

// ----- picture analysis ---------------------------------------------------------------

#[derive(Debug, Clone)]
struct Marker {
    component: char,
    width: Option<(Option<usize>, Option<usize>)>,
    pres2: Option<char>,
    names: Option<Case>,
    int_format: Option<IntFormat>,
    n: i64,
    /// Fixed digit count when parsing (0: any number of digits).
    parse_n: i64,
}

#[derive(Debug, Clone)]
enum Part {
    Literal(String),
    Marker(Marker),
}

fn default_presentation(c: char) -> Option<&'static str> {
    Some(match c {
        'Y' | 'M' | 'D' | 'd' | 'W' | 'w' | 'X' | 'x' | 'H' | 'h' | 'f' => "1",
        'F' | 'P' | 'C' | 'E' => "n",
        'm' | 's' => "01",
        'Z' | 'z' => "01:01",
        _ => return None,
    })
}

fn analyse_picture(picture: &str) -> Result<Vec<Part>> {
    let chars: Vec<char> = picture.chars().collect();
    let mut parts = Vec::new();
    let add_literal = |parts: &mut Vec<Part>, start: usize, end: usize| {
        if end > start {
            let lit: String = chars[start..end].iter().collect();
            parts.push(Part::Literal(lit.replace("]]", "]")));
        }
    };
    let mut start = 0;
    let mut pos = 0;
    while pos < chars.len() {
        if chars[pos] == '[' {
            if chars.get(pos + 1) == Some(&'[') {
                add_literal(&mut parts, start, pos);
                parts.push(Part::Literal("[".into()));
                pos += 2;
                start = pos;
                continue;
            }
            add_literal(&mut parts, start, pos);
            start = pos;
            let close = chars[start..]
                .iter()
                .position(|c| *c == ']')
                .map(|i| i + start);
            let Some(close) = close else {
                return Err(Error::new("D3135"));
            };
            pos = close;
            let marker: String = chars[start + 1..pos]
                .iter()
                .filter(|c| !c.is_whitespace())
                .collect();
            let mchars: Vec<char> = marker.chars().collect();
            let component = mchars.first().copied().unwrap_or('\0');
            let mut width = None;
            let pres: String;
            if let Some(comma) = mchars.iter().rposition(|c| *c == ',') {
                let wm: String = mchars[comma + 1..].iter().collect();
                let parse_w = |s: &str| -> Option<usize> {
                    if s.is_empty() || s == "*" {
                        None
                    } else {
                        let v = integer::parse_int_prefix(s);
                        if v.is_nan() {
                            None
                        } else {
                            Some(v.max(0.0) as usize)
                        }
                    }
                };
                let (min, max) = match wm.find('-') {
                    None => (parse_w(&wm), None),
                    Some(d) => (parse_w(&wm[..d]), parse_w(&wm[d + 1..])),
                };
                width = Some((min, max));
                pres = mchars[1.min(comma)..comma].iter().collect();
            } else {
                pres = mchars.iter().skip(1).collect();
            }
            let pc: Vec<char> = pres.chars().collect();
            let mut pres2 = None;
            let pres1: String = if pc.len() == 1 {
                pres.clone()
            } else if pc.len() > 1 {
                let last = pc[pc.len() - 1];
                if "atco".contains(last) {
                    pres2 = Some(last);
                    pc[..pc.len() - 1].iter().collect()
                } else {
                    pres.clone()
                }
            } else {
                match default_presentation(component) {
                    Some(p) => p.to_string(),
                    None => return Err(Error::new("D3132").val(component)),
                }
            };
            let p1: Vec<char> = pres1.chars().collect();
            let names = match p1.first() {
                Some('n') => Some(Case::Lower),
                Some('N') => Some(if p1.get(1) == Some(&'n') {
                    Case::Title
                } else {
                    Case::Upper
                }),
                _ => None,
            };
            let mut int_format = None;
            let mut n = 0;
            let mut parse_n = 0;
            if "YMDdFWwXxHhmsf".contains(component) {
                let mut pattern = pres1.clone();
                if let Some(p2) = pres2 {
                    pattern.push(';');
                    pattern.push(p2);
                }
                let mut f = integer::analyse(&pattern)?;
                if let Some((Some(min), _)) = width {
                    if f.mandatory_digits < min {
                        f.mandatory_digits = min;
                    }
                }
                let w = f.mandatory_digits + f.optional_digits;
                if w >= 2 && component != 'f' {
                    parse_n = w as i64;
                }
                if "YMD".contains(component) {
                    n = -1;
                    if let Some((_, Some(max))) = width {
                        n = max as i64;
                        parse_n = n;
                        f.mandatory_digits = max;
                    } else {
                        let w = f.mandatory_digits + f.optional_digits;
                        if w >= 2 {
                            n = w as i64;
                        }
                    }
                }
                int_format = Some(f);
            }
            if component == 'Z' || component == 'z' {
                int_format = Some(integer::analyse(&pres1)?);
            }
            parts.push(Part::Marker(Marker {
                component,
                width,
                pres2,
                names,
                int_format,
                n,
                parse_n,
            }));
            start = pos + 1;
        }
        pos += 1;
    }
    add_literal(&mut parts, start, chars.len());
    Ok(parts)
}

// ----- formatting ---------------------------------------------------------------------

fn format_date_time(millis: f64, picture: Option<&str>, timezone: Option<&str>) -> Result<String> {
    let (mut off_h, mut off_m) = (0f64, 0f64);
    if let Some(tz) = timezone {
        let offset = integer::parse_int_prefix(tz);
        if !offset.is_nan() {
            off_h = (offset / 100.0).floor();
            off_m = offset % 100.0;
        }
    }
    let parts = analyse_picture(
        picture.unwrap_or("[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001][Z01:01t]"),
    )?;
    let offset_ms = (60.0 * off_h + off_m) * 60_000.0;
    let d = dt(millis + offset_ms);
    let mut out = String::new();
    for part in &parts {
        match part {
            Part::Literal(s) => out.push_str(s),
            Part::Marker(m) => out.push_str(&format_component(&d, m, off_h, off_m)?),
        }
    }
    Ok(out)
}

fn format_component(d: &Dt, m: &Marker, off_h: f64, off_m: f64) -> Result<String> {
    let c = m.component;
    let frag = fragment(d, c);
    if "YMDdFWwXxHhms".contains(c) {
        let mut v = match frag {
            Frag::Num(n) => n,
            Frag::Str(s) => return Ok(s),
        };
        if c == 'Y' && m.n != -1 {
            v %= 10f64.powi(m.n as i32);
        }
        if let Some(case) = m.names {
            let mut name = match c {
                'M' | 'x' => MONTHS
                    .get((v as usize).wrapping_sub(1))
                    .copied()
                    .unwrap_or("")
                    .to_string(),
                'F' => DAYS.get(v as usize).copied().unwrap_or("").to_string(),
                _ => return Err(Error::new("D3133").val(c)),
            };
            match case {
                Case::Upper => name = name.to_uppercase(),
                Case::Lower => name = name.to_lowercase(),
                Case::Title => {}
            }
            if let Some((_, Some(max))) = m.width {
                if name.chars().count() > max {
                    name = name.chars().take(max).collect();
                }
            }
            return Ok(name);
        }
        let f = m
            .int_format
            .as_ref()
            .ok_or_else(|| Error::new("D3132").val(c))?;
        return integer::format_int(v, f);
    }
    match c {
        'f' => {
            let v = match frag {
                Frag::Num(n) => n,
                Frag::Str(s) => return Ok(s),
            };
            let f = m
                .int_format
                .as_ref()
                .ok_or_else(|| Error::new("D3132").val(c))?;
            integer::format_int(v, f)
        }
        'Z' | 'z' => {
            let offset = off_h * 100.0 + off_m;
            let f = m
                .int_format
                .as_ref()
                .ok_or_else(|| Error::new("D3132").val(c))?;
            let mut s = if f.regular.is_some() {
                integer::format_int(offset, f)?
            } else {
                let nd = f.mandatory_digits;
                if nd == 1 || nd == 2 {
                    let mut s = integer::format_int(off_h, f)?;
                    if off_m != 0.0 {
                        s.push(':');
                        s.push_str(&integer::format_int(off_m, &integer::analyse("00")?)?);
                    }
                    s
                } else if nd == 3 || nd == 4 {
                    integer::format_int(offset, f)?
                } else {
                    return Err(Error::new("D3134").val(nd));
                }
            };
            if offset >= 0.0 {
                s.insert(0, '+');
            }
            if c == 'z' {
                s.insert_str(0, "GMT");
            }
            if offset == 0.0 && m.pres2 == Some('t') {
                s = "Z".into();
            }
            Ok(s)
        }
        'P' => {
            let s = match frag {
                Frag::Str(s) => s,
                Frag::Num(n) => js_number(n),
            };
            Ok(if m.names == Some(Case::Upper) {
                s.to_uppercase()
            } else {
                s
            })
        }
        'C' | 'E' => Ok("ISO".into()),
        other => Err(Error::new("D3132").val(other)),
    }
}

// ----- parsing ------------------------------------------------------------------------

type ParseFn = Box<dyn Fn(&str) -> Option<f64>>;

struct Matcher {
    regex: String,
    parse: ParseFn,
}

fn word_regex() -> String {
    let mut words: Vec<String> = Vec::new();
    for w in [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "zeroth",
        "first",
        "second",
        "third",
        "fourth",
        "fifth",
        "sixth",
        "seventh",
        "eighth",
        "ninth",
        "tenth",
        "eleventh",
        "twelfth",
        "thirteenth",
        "fourteenth",
        "fifteenth",
        "sixteenth",
        "seventeenth",
        "eighteenth",
        "nineteenth",
        "twenty",
        "twentieth",
        "thirty",
        "thirtieth",
        "forty",
        "fortieth",
        "fifty",
        "fiftieth",
        "sixty",
        "sixtieth",
        "seventy",
        "seventieth",
        "eighty",
        "eightieth",
        "ninety",
        "ninetieth",
        "hundred",
        "hundredth",
        "thousand",
        "thousandth",
        "million",
        "millionth",
        "billion",
        "billionth",
        "trillion",
        "trillionth",
    ] {
        words.push(w.to_string());
    }
    words.push("and".into());
    words.push("[\\-, ]".into());
    format!("(?:{})+", words.join("|"))
}

fn int_matcher(f: &IntFormat, n: i64) -> Result<Matcher> {
    let upper = f.case == Case::Upper;
    let occurrences = if n > 0 {
        if f.optional_digits == 0 {
            format!("{{{n}}}")
        } else {
            format!("{{{},{}}}", (n - f.optional_digits as i64).max(0), n)
        }
    } else {
        "+".to_string()
    };
    let fc = f.clone();
    Ok(match f.primary {
        Primary::Letters => Matcher {
            regex: if upper {
                "[A-Z]+".into()
            } else {
                "[a-z]+".into()
            },
            parse: Box::new(move |s| {
                Some(integer::letters_to_decimal(
                    s,
                    if upper { 'A' } else { 'a' },
                ))
            }),
        },
        Primary::Roman => Matcher {
            regex: if upper {
                "[MDCLXVI]+".into()
            } else {
                "[mdclxvi]+".into()
            },
            parse: Box::new(|s| Some(integer::roman_to_decimal(&s.to_uppercase()))),
        },
        Primary::Words => Matcher {
            regex: word_regex(),
            parse: Box::new(|s| Some(integer::words_to_number(s))),
        },
        Primary::Decimal => {
            let mut regex = format!("[0-9]{occurrences}");
            if f.ordinal {
                regex.push_str("(?:th|st|nd|rd)");
            }
            Matcher {
                regex,
                parse: Box::new(move |s| integer::parse_int(s, &fc).ok()),
            }
        }
        Primary::Sequence => return Err(Error::new("D3130").val(&f.token)),
    })
}

fn parse_date_time(ev: &Evaluator<'_>, timestamp: &str, picture: &str) -> Result<Option<f64>> {
    let parts = analyse_picture(picture)?;
    let mut matchers: Vec<(Option<char>, Matcher)> = Vec::new();
    for part in &parts {
        match part {
            Part::Literal(s) => matchers.push((
                None,
                Matcher {
                    regex: regex::escape(s),
                    parse: Box::new(|_| None),
                },
            )),
            Part::Marker(m) => {
                let c = m.component;
                let matcher = if c == 'Z' || c == 'z' {
                    let sep = m.int_format.as_ref().and_then(|f| f.regular.map(|r| r.1));
                    let mut regex = if c == 'z' {
                        "GMT".to_string()
                    } else {
                        String::new()
                    };
                    regex.push_str("[-+][0-9]+");
                    if let Some(s) = sep {
                        regex.push_str(&regex::escape(&s.to_string()));
                        regex.push_str("[0-9]+");
                    }
                    let is_z = c == 'z';
                    Matcher {
                        regex,
                        parse: Box::new(move |v: &str| {
                            let v = if is_z { v.get(3..).unwrap_or("") } else { v };
                            let (h, mi) = if let Some(s) = sep {
                                let i = v.find(s).unwrap_or(v.len());
                                (
                                    integer::parse_int_prefix(&v[..i]),
                                    integer::parse_int_prefix(
                                        v.get(i + s.len_utf8()..).unwrap_or(""),
                                    ),
                                )
                            } else {
                                let nd = v.chars().count().saturating_sub(1);
                                if nd <= 2 {
                                    (integer::parse_int_prefix(v), 0.0)
                                } else {
                                    (
                                        integer::parse_int_prefix(v.get(..3).unwrap_or(v)),
                                        integer::parse_int_prefix(v.get(3..).unwrap_or("")),
                                    )
                                }
                            };
                            Some(h * 60.0 + mi)
                        }),
                    }
                } else if m.names.is_some() || m.int_format.is_none() {
                    let mut lookup: Vec<(String, f64)> = Vec::new();
                    let trunc = |name: &str| -> String {
                        match m.width {
                            Some((_, Some(max))) if max > 0 => name.chars().take(max).collect(),
                            _ => name.to_string(),
                        }
                    };
                    match c {
                        'M' | 'x' => {
                            for (i, n) in MONTHS.iter().enumerate() {
                                lookup.push((trunc(n), i as f64 + 1.0));
                            }
                        }
                        'F' => {
                            for (i, n) in DAYS.iter().skip(1).enumerate() {
                                lookup.push((trunc(n), i as f64 + 1.0));
                            }
                        }
                        'P' => {
                            lookup = vec![
                                ("am".into(), 0.0),
                                ("AM".into(), 0.0),
                                ("pm".into(), 1.0),
                                ("PM".into(), 1.0),
                            ];
                        }
                        other => return Err(Error::new("D3133").val(other)),
                    }
                    Matcher {
                        regex: "[a-zA-Z]+".into(),
                        parse: Box::new(move |v| {
                            lookup.iter().find(|(k, _)| k == v).map(|(_, n)| *n)
                        }),
                    }
                } else if c == 'f'
                    && m.int_format
                        .as_ref()
                        .is_some_and(|f| f.primary == Primary::Decimal)
                {
                    // fractional seconds: more than three digits are truncated to milliseconds
                    Matcher {
                        regex: "[0-9]+".into(),
                        parse: Box::new(|v: &str| {
                            let digits: String = v.chars().take(3).collect();
                            Some(integer::parse_int_prefix(&digits))
                        }),
                    }
                } else {
                    let f = m
                        .int_format
                        .as_ref()
                        .ok_or_else(|| Error::new("D3132").val(c))?;
                    int_matcher(f, m.parse_n)?
                };
                matchers.push((Some(c), matcher));
            }
        }
    }
    let full = format!(
        "(?i)^{}$",
        matchers
            .iter()
            .map(|(_, m)| format!("({})", m.regex))
            .collect::<String>()
    );
    let re = regex::Regex::new(&full).map_err(|e| Error::msg("D3136", e.to_string()))?;
    let Some(caps) = re.captures(timestamp) else {
        return Ok(None);
    };
    let mut comps: std::collections::HashMap<char, f64> = std::collections::HashMap::new();
    let mut any = false;
    for (i, (c, m)) in matchers.iter().enumerate() {
        if let Some(c) = c {
            let text = caps.get(i + 1).map(|g| g.as_str()).unwrap_or("");
            any = true;
            match (m.parse)(text) {
                Some(v) => {
                    comps.insert(*c, v);
                }
                None => {
                    comps.remove(c);
                }
            }
        }
    }
    if !any {
        return Ok(None);
    }
    let bit = |c: char| comps.get(&c).is_some_and(|v| *v != 0.0 && !v.is_nan());
    let mask_of = |s: &str| s.chars().fold(0u32, |m, c| (m << 1) | bit(c) as u32);
    let is_type = |ty: u32, mask: u32| (!ty & mask) == 0 && (ty & mask) != 0;
    let dmask = mask_of("YXMxWwdD");
    let date_a = is_type(161, dmask);
    let date_b = !date_a && is_type(130, dmask);
    let date_c = is_type(84, dmask);
    let date_d = !date_c && is_type(72, dmask);
    let tmask = mask_of("PHhmsf");
    let time_a = is_type(23, tmask);
    let time_b = !time_a && is_type(47, tmask);
    let date_comps = if date_b {
        "YD"
    } else if date_c {
        "XxwF"
    } else if date_d {
        "XWF"
    } else {
        "YMD"
    };
    let time_comps = if time_b { "Phmsf" } else { "Hmsf" };
    let now = dt(ev.now_millis as f64);
    let mut start_specified = false;
    let mut end_specified = false;
    for part in date_comps.chars().chain(time_comps.chars()) {
        if let std::collections::hash_map::Entry::Vacant(slot) = comps.entry(part) {
            if start_specified {
                slot.insert(if "MDd".contains(part) { 1.0 } else { 0.0 });
                end_specified = true;
            } else {
                let v = match fragment(&now, part) {
                    Frag::Num(n) => n,
                    Frag::Str(s) => {
                        if s == "pm" {
                            1.0
                        } else {
                            0.0
                        }
                    }
                };
                slot.insert(v);
            }
        } else {
            start_specified = true;
            if end_specified {
                return Err(Error::new("D3136"));
            }
        }
    }
    let g = |c: char| comps.get(&c).copied().unwrap_or(0.0);
    let mut month = g('M');
    month = if month > 0.0 { month - 1.0 } else { 0.0 };
    let mut day = g('D');
    if date_b {
        let first = date_utc(g('Y'), 0.0, 1.0, 0.0, 0.0, 0.0, 0.0);
        let derived = dt(first + (g('d') - 1.0) * DAY_MS);
        month = derived.month as f64;
        day = derived.day as f64;
    }
    if date_c || date_d {
        return Err(Error::new("D3136"));
    }
    let mut hour = g('H');
    if time_b {
        hour = if g('h') == 12.0 { 0.0 } else { g('h') };
        if g('P') == 1.0 {
            hour += 12.0;
        }
    }
    let mut millis = date_utc(g('Y'), month, day, hour, g('m'), g('s'), g('f'));
    let tz = comps.get(&'Z').or(comps.get(&'z')).copied().unwrap_or(0.0);
    if tz != 0.0 && !tz.is_nan() {
        millis -= tz * 60_000.0;
    }
    Ok(Some(millis))
}

/// Parses the ISO 8601 forms `$toMillis` accepts without a picture (JavaScript Date.parse).
fn parse_iso(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let digits = |from: usize, n: usize| -> Option<i64> {
        let part = s.get(from..from + n)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let year = digits(0, 4)?;
    let mut i = 4;
    let (mut month, mut day) = (1, 1);
    if b.get(i) == Some(&b'-') {
        month = digits(i + 1, 2)?;
        i += 3;
        if b.get(i) == Some(&b'-') {
            day = digits(i + 1, 2)?;
            i += 3;
        }
    }
    let (mut h, mut mi, mut sec, mut ms) = (0, 0, 0f64, 0f64);
    if b.get(i) == Some(&b'T') {
        h = digits(i + 1, 2)?;
        if b.get(i + 3) != Some(&b':') {
            return None;
        }
        mi = digits(i + 4, 2)?;
        i += 6;
        if b.get(i) == Some(&b':') {
            sec = digits(i + 1, 2)? as f64;
            i += 3;
            if b.get(i) == Some(&b'.') {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                if j == start {
                    return None;
                }
                let frac = &s[start..j];
                let three: String = frac.chars().chain("000".chars()).take(3).collect();
                ms = three.parse::<f64>().ok()?;
                i = j;
            }
        }
    }
    let mut offset_min = 0f64;
    if i < b.len() {
        match b[i] {
            b'Z' if i + 1 == b.len() => {}
            b'+' | b'-' => {
                let sign = if b[i] == b'-' { -1.0 } else { 1.0 };
                let oh = digits(i + 1, 2)?;
                let om = if b.get(i + 3) == Some(&b':') {
                    digits(i + 4, 2)?
                } else {
                    digits(i + 3, 2)?
                };
                let end = if b.get(i + 3) == Some(&b':') {
                    i + 6
                } else {
                    i + 5
                };
                if end != b.len() {
                    return None;
                }
                offset_min = sign * (oh * 60 + om) as f64;
            }
            _ => return None,
        }
    }
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 24 || mi > 59 || sec > 59.0 {
        return None;
    }
    let dim = [
        31,
        if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 {
            29
        } else {
            28
        },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if day > dim[(month - 1) as usize] {
        return None;
    }
    let t = date_utc(
        year as f64,
        (month - 1) as f64,
        day as f64,
        h as f64,
        mi as f64,
        sec,
        ms,
    );
    Some(t - offset_min * 60_000.0)
}

fn iso_shape_ok(s: &str) -> bool {
    // ^\d{4}(-[01]\d)*(-[0-3]\d)*(T[0-2]\d:[0-5]\d:[0-5]\d)*(\.\d+)?([+-][0-2]\d:?[0-5]\d|Z)?$
    static RE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"^[0-9]{4}(-[01][0-9])*(-[0-3][0-9])*(T[0-2][0-9]:[0-5][0-9]:[0-5][0-9])*(\.[0-9]+)?([+-][0-2][0-9]:?[0-5][0-9]|Z)?$").ok()
    })
    .as_ref()
    .is_some_and(|re| re.is_match(s))
}

// ----- the functions ------------------------------------------------------------------

pub fn millis(ev: &mut Evaluator<'_>, _: Vec<Value>, _: &Value) -> Result<Value> {
    Ok(Value::Number(ev.now_millis as f64))
}

pub fn now(ev: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let s = format_date_time(ev.now_millis as f64, str_arg(&args, 0), str_arg(&args, 1))?;
    Ok(Value::string(s))
}

pub fn from_millis(_: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let Some(ms) = num_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    Ok(Value::string(format_date_time(
        ms,
        str_arg(&args, 1),
        str_arg(&args, 2),
    )?))
}

pub fn to_millis(ev: &mut Evaluator<'_>, args: Vec<Value>, _: &Value) -> Result<Value> {
    let Some(ts) = str_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    match str_arg(&args, 1) {
        None => {
            if !iso_shape_ok(ts) {
                return Err(Error::new("D3110").val(format!("\"{ts}\"")));
            }
            Ok(parse_iso(ts).map(Value::Number).unwrap_or(Value::Undefined))
        }
        Some(p) => Ok(match parse_date_time(ev, ts, p)? {
            Some(v) if !v.is_nan() => Value::Number(v),
            _ => Value::Undefined,
        }),
    }
}
