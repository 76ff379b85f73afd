//! Regular expressions: JavaScript regex syntax translated to the `regex` crate, and the
//! matcher protocol jsonata uses (first match, then `next`, D1004 on empty repeats).

use super::super::error::{Error, Result};
use super::super::evaluator::Evaluator;
use super::super::value::*;

/// One match: byte offsets into the subject, the text, and the capture groups.
pub struct MatchRes {
    pub start: usize,
    pub end: usize,
    pub text: String,
    pub groups: Vec<Option<String>>,
}

/// Translates a JavaScript regex to the `regex` crate's syntax and compiles it.
pub fn compile(pattern: &str, flags: &str) -> Result<regex::Regex> {
    let unsupported =
        |what: &str| Error::new("S0303").set("value", format!("/{pattern}/ ({what})"));
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    if flags.contains('i') {
        out.push_str("(?i)");
    }
    if flags.contains('m') {
        out.push_str("(?m)");
    }
    let mut i = 0;
    let mut in_class = false;
    let mut class_start = false;
    while i < chars.len() {
        let c = chars[i];
        let first_in_class = class_start;
        class_start = false;
        match c {
            '\\' => {
                let Some(&e) = chars.get(i + 1) else {
                    return Err(unsupported("trailing backslash"));
                };
                i += 2;
                match e {
                    'd' => out.push_str(if in_class { "0-9" } else { "[0-9]" }),
                    'D' => out.push_str(if in_class { "\\D" } else { "[^0-9]" }),
                    'w' => out.push_str(if in_class {
                        "0-9A-Za-z_"
                    } else {
                        "[0-9A-Za-z_]"
                    }),
                    'W' => out.push_str(if in_class { "\\W" } else { "[^0-9A-Za-z_]" }),
                    '/' => out.push('/'),
                    '0' => out.push_str("\\x00"),
                    'u' => {
                        let hex: String = chars.iter().skip(i).take(4).collect();
                        if hex.len() == 4 && hex.chars().all(|h| h.is_ascii_hexdigit()) {
                            out.push_str(&format!("\\x{{{hex}}}"));
                            i += 4;
                        } else {
                            out.push('u');
                        }
                    }
                    'c' => {
                        if let Some(&l) = chars.get(i) {
                            out.push_str(&format!("\\x{{{:x}}}", (l as u32) % 32));
                            i += 1;
                        }
                    }
                    '1'..='9' => return Err(unsupported("backreference")),
                    'k' => return Err(unsupported("named backreference")),
                    'b' if in_class => out.push_str("\\x08"),
                    c2 if c2.is_ascii_alphanumeric() => {
                        out.push('\\');
                        out.push(c2);
                    }
                    c2 => {
                        // escaped punctuation: keep it escaped where the regex crate allows
                        if regex_syntax_meta(c2) {
                            out.push('\\');
                        }
                        out.push(c2);
                    }
                }
                continue;
            }
            '[' if !in_class => {
                if chars.get(i + 1) == Some(&'^') && chars.get(i + 2) == Some(&']') {
                    out.push_str("[\\s\\S]");
                    i += 3;
                    continue;
                }
                if chars.get(i + 1) == Some(&']') {
                    out.push_str("[^\\s\\S]");
                    i += 2;
                    continue;
                }
                in_class = true;
                class_start = true;
                out.push('[');
                if chars.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
            }
            '[' => out.push_str("\\["),
            ']' if in_class && !first_in_class => {
                in_class = false;
                out.push(']');
            }
            ']' => out.push_str("\\]"),
            '&' | '~' | '-' if in_class && chars.get(i + 1) == Some(&c) => {
                out.push('\\');
                out.push(c);
            }
            '(' if !in_class && chars.get(i + 1) == Some(&'?') => {
                match (chars.get(i + 2), chars.get(i + 3)) {
                    (Some('='), _) | (Some('!'), _) => return Err(unsupported("lookahead")),
                    (Some('<'), Some('=')) | (Some('<'), Some('!')) => {
                        return Err(unsupported("lookbehind"))
                    }
                    _ => out.push('('),
                }
            }
            '{' if !in_class => {
                // literal brace unless it starts a quantifier {n}, {n,}, {n,m}
                let rest: String = chars[i..].iter().take_while(|c| **c != '}').collect();
                let body = &rest[1.min(rest.len())..];
                let is_quant = chars[i..].contains(&'}')
                    && !body.is_empty()
                    && body.chars().next().is_some_and(|c| c.is_ascii_digit())
                    && body.chars().all(|c| c.is_ascii_digit() || c == ',')
                    && body.matches(',').count() <= 1;
                if is_quant {
                    out.push('{');
                } else {
                    out.push_str("\\{");
                }
            }
            '}' if !in_class => {
                // closing brace of a quantifier is copied with it; a stray one is literal
                let open = out.rfind(['{', '}']);
                let unescaped_open =
                    open.is_some_and(|p| out[p..].starts_with('{') && !out[..p].ends_with('\\'));
                if unescaped_open {
                    out.push('}');
                } else {
                    out.push_str("\\}");
                }
            }
            // JavaScript's `.` excludes every line terminator, not only `\n`
            '.' if !in_class => out.push_str("[^\\n\\r\\x{2028}\\x{2029}]"),
            _ => out.push(c),
        }
        i += 1;
    }
    regex::RegexBuilder::new(&out)
        .size_limit(1 << 24)
        .build()
        .map_err(|e| Error::new("S0303").set("value", format!("/{pattern}/: {e}")))
}

fn regex_syntax_meta(c: char) -> bool {
    matches!(
        c,
        '\\' | '.'
            | '+'
            | '*'
            | '?'
            | '('
            | ')'
            | '|'
            | '['
            | ']'
            | '{'
            | '}'
            | '^'
            | '$'
            | '#'
            | '&'
            | '-'
            | '~'
    )
}

fn find_at(re: &regex::Regex, s: &str, from: usize) -> Option<MatchRes> {
    if from > s.len() || !s.is_char_boundary(from) {
        return None;
    }
    let caps = re.captures_at(s, from)?;
    let m = caps.get(0)?;
    let groups = (1..caps.len())
        .map(|i| caps.get(i).map(|g| g.as_str().to_string()))
        .collect();
    Some(MatchRes {
        start: m.start(),
        end: m.end(),
        text: m.as_str().to_string(),
        groups,
    })
}

/// The object a regex returns when invoked as a function.
pub fn match_object(re: &RegexVal, s: &str, from: usize) -> Value {
    match find_at(&re.re, s, from) {
        None => Value::Undefined,
        Some(m) => {
            let mut o = Map::new();
            o.insert("match".into(), Value::str(&m.text));
            o.insert(
                "start".into(),
                Value::Number(super::string::utf16_index(s, m.start) as f64),
            );
            o.insert(
                "end".into(),
                Value::Number(super::string::utf16_index(s, m.end) as f64),
            );
            o.insert(
                "groups".into(),
                Value::array(
                    m.groups
                        .iter()
                        .map(|g| g.as_ref().map(|t| Value::str(t)).unwrap_or_default())
                        .collect(),
                ),
            );
            Value::object(o)
        }
    }
}

/// Byte offset of a UTF-16 index.
fn byte_of_utf16(s: &str, idx: f64) -> usize {
    if idx <= 0.0 || idx.is_nan() {
        return 0;
    }
    let mut units = 0usize;
    for (b, c) in s.char_indices() {
        if units as f64 >= idx {
            return b;
        }
        units += c.len_utf16();
    }
    s.len()
}

fn custom_match(s: &str, v: &Value) -> Result<Option<(MatchRes, Value)>> {
    let o = match v {
        Value::Undefined => return Ok(None),
        Value::Object(o) => o,
        _ => return Err(Error::new("T1010")),
    };
    let start = o.get("start").and_then(|v| v.as_num());
    let end = o.get("end").and_then(|v| v.as_num());
    let groups = o.get("groups").filter(|g| g.is_array());
    let next = o
        .get("next")
        .filter(|n| n.is_func())
        .cloned()
        .unwrap_or_default();
    if start.is_none() && end.is_none() && groups.is_none() && next.is_undefined() {
        return Err(Error::new("T1010"));
    }
    let text = o
        .get("match")
        .and_then(|m| m.as_str())
        .unwrap_or("")
        .to_string();
    let sb = byte_of_utf16(s, start.unwrap_or(0.0));
    let eb = byte_of_utf16(s, end.unwrap_or(0.0)).max(sb);
    let groups = groups
        .map(|g| {
            g.members()
                .iter()
                .map(|x| x.as_str().map(|t| t.to_string()))
                .collect()
        })
        .unwrap_or_default();
    Ok(Some((
        MatchRes {
            start: sb,
            end: eb,
            text,
            groups,
        },
        next,
    )))
}

/// The first match of a matcher (regex or matcher function), as `$contains` uses it.
pub fn first_match(ev: &mut Evaluator<'_>, matcher: &Value, s: &str) -> Result<Option<MatchRes>> {
    if let Value::Func(f) = matcher {
        if let Func::Regex(re) = &**f {
            return Ok(find_at(&re.re, s, 0));
        }
    }
    let r = ev.apply(matcher, vec![Value::str(s)], &Value::Null)?;
    Ok(custom_match(s, &r)?.map(|(m, _)| m))
}

/// Successive matches, stopping after `limit`; an empty match after the first is D1004.
pub fn all_matches(
    ev: &mut Evaluator<'_>,
    matcher: &Value,
    s: &str,
    limit: Option<usize>,
) -> Result<Vec<MatchRes>> {
    let mut out = Vec::new();
    if let Value::Func(f) = matcher {
        if let Func::Regex(re) = &**f {
            let mut cur = find_at(&re.re, s, 0);
            while let Some(m) = cur {
                if limit.is_some_and(|l| out.len() >= l) {
                    break;
                }
                let end = m.end;
                out.push(m);
                ev.tick()?;
                if end >= s.len() {
                    break;
                }
                let next = find_at(&re.re, s, end);
                if let Some(n) = &next {
                    if n.text.is_empty() {
                        return Err(Error::new("D1004").set("value", &re.source));
                    }
                }
                cur = next;
            }
            return Ok(out);
        }
    }
    let first = ev.apply(matcher, vec![Value::str(s)], &Value::Null)?;
    let mut cur = custom_match(s, &first)?;
    while let Some((m, next)) = cur {
        if limit.is_some_and(|l| out.len() >= l) {
            break;
        }
        out.push(m);
        ev.tick()?;
        if next.is_undefined() {
            break;
        }
        let r = ev.apply(&next, vec![], &Value::Null)?;
        cur = custom_match(s, &r)?;
    }
    Ok(out)
}
