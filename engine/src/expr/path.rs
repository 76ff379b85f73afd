//! JSONPath in its two roles: reference paths (`$.a.b[0]`, definite, also writable for
//! `ResultPath`) evaluated directly, and full JSONPath queries (wildcards, filters, slices)
//! compiled once by jsonpath-rust.

use super::{Env, EvalError};
use jsonpath_rust::parser::model::JpQuery;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// One step of a reference path.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    Field(String),
    Index(i64),
}

/// A compiled path, rooted at the input (`$`) or the context object (`$$`).
#[derive(Debug, Clone)]
pub struct Path {
    text: String,
    context: bool,
    /// `$name...`: a path into the variable `name`.
    var: Option<String>,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Reference(Vec<Segment>),
    Query(Box<JpQuery>),
}

impl PartialEq for Path {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Path {
    /// Compiles a path; the error says what is malformed.
    pub fn parse(text: &str) -> Result<Path, String> {
        let (context, rest) = if let Some(rest) = text.strip_prefix("$$") {
            (true, rest)
        } else if let Some(rest) = text.strip_prefix('$') {
            (false, rest)
        } else {
            return Err(format!(
                "{text:?} is not a JSONPath: it must start with '$'"
            ));
        };
        // `$name...`: a variable, then an ordinary path into it.
        // A variable's name: Unicode identifier characters (ID_Continue), as AWS names them.
        let var_len = rest
            .find(|c: char| !unicode_ident::is_xid_continue(c))
            .unwrap_or(rest.len());
        let (var, rest) =
            if !context && var_len > 0 && !rest.starts_with(|c: char| c.is_ascii_digit()) {
                (Some(rest[..var_len].to_string()), &rest[var_len..])
            } else {
                (None, rest)
            };
        let kind = match parse_reference(rest) {
            Some(segments) => Kind::Reference(segments),
            None => {
                if rest.contains("?(") {
                    if let Some(op) = lexical_operator(rest) {
                        return Err(format!(
                            "{text:?}: the filter operator '{op}' is not supported (use ==, !=, <, <=, >, >= and &&, ||)"
                        ));
                    }
                }
                let query =
                    jsonpath_rust::parser::parse_json_path(&format!("${rest}")).map_err(|e| {
                        format!(
                            "{text:?} is not a valid JSONPath: {}",
                            one_line(&e.to_string())
                        )
                    })?;
                Kind::Query(Box::new(query))
            }
        };
        Ok(Path {
            text: text.to_string(),
            context,
            var,
            kind,
        })
    }

    /// Compiles a reference path: a definite path with no wildcards, filters or slices.
    pub fn parse_reference(text: &str) -> Result<Path, String> {
        let p = Path::parse(text)?;
        if !p.is_reference() {
            return Err(format!(
                "{text:?} is not a reference path: wildcards, filters and slices are not allowed here"
            ));
        }
        Ok(p)
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn is_context(&self) -> bool {
        self.context
    }

    /// `$name...`: a path into a variable.
    pub fn is_variable(&self) -> bool {
        self.var.is_some()
    }

    pub fn is_reference(&self) -> bool {
        matches!(self.kind, Kind::Reference(_))
    }

    /// `$` alone: the whole input.
    pub fn is_root(&self) -> bool {
        !self.context
            && self.var.is_none()
            && matches!(&self.kind, Kind::Reference(s) if s.is_empty())
    }

    /// The variable a `$name...` path reads.
    pub fn variable(&self) -> Option<&str> {
        self.var.as_deref()
    }

    pub fn segments(&self) -> Option<&[Segment]> {
        match &self.kind {
            Kind::Reference(s) => Some(s),
            Kind::Query(_) => None,
        }
    }

    /// The value this path selects. A query (wildcard, filter, slice) selects a list.
    pub fn eval<'v>(&self, env: &Env<'v>) -> Result<Cow<'v, Value>, EvalError> {
        let root: &'v Value = if self.context {
            env.context.context()
        } else if let Some(var) = &self.var {
            match env.vars.and_then(|v| v.get(var)) {
                Some(v) => v,
                None => {
                    return Err(EvalError::PathNotFound {
                        path: self.text.clone(),
                    })
                }
            }
        } else {
            env.input
        };
        self.select(root).ok_or_else(|| EvalError::PathNotFound {
            path: self.text.clone(),
        })
    }

    /// The value this path selects in `root`, or `None` when it selects nothing.
    pub fn select<'v>(&self, root: &'v Value) -> Option<Cow<'v, Value>> {
        match &self.kind {
            Kind::Reference(segments) => get(root, segments).map(Cow::Borrowed),
            Kind::Query(q) => {
                let found = jsonpath_rust::query::js_path_process(q, root).ok()?;
                // "The @ operator, matching the current node being processed in a filter, does
                // not match scalar values. It only matches objects." (AWS's paths page)
                let objects_only = ends_with_filter(q);
                Some(Cow::Owned(Value::Array(
                    found
                        .into_iter()
                        .map(|r| r.val())
                        .filter(|v| !objects_only || v.is_object())
                        .cloned()
                        .collect(),
                )))
            }
        }
    }

    /// AWS's bracketed rendering of a reference path, as used in its error causes:
    /// `$.a.b` becomes `$['a']['b']`.
    pub fn bracketed(&self) -> String {
        match &self.kind {
            Kind::Reference(segments) => {
                let mut s = String::from(if self.context { "$$" } else { "$" });
                for seg in segments {
                    match seg {
                        Segment::Field(f) => {
                            s.push_str("['");
                            s.push_str(f);
                            s.push_str("']");
                        }
                        Segment::Index(i) => {
                            s.push('[');
                            s.push_str(&i.to_string());
                            s.push(']');
                        }
                    }
                }
                s
            }
            Kind::Query(_) => self.text.clone(),
        }
    }

    /// Writes `value` at this (reference) path inside `target`, creating objects on the way,
    /// as `ResultPath` does. Fails when the path crosses a value that is not an object.
    pub fn set(&self, target: &mut Value, value: Value) -> Result<(), String> {
        let segments = match &self.kind {
            Kind::Reference(s) => s,
            Kind::Query(_) => return Err(format!("{} is not a reference path", self.text)),
        };
        let mut cur = target;
        for (i, seg) in segments.iter().enumerate() {
            let last = i + 1 == segments.len();
            match seg {
                Segment::Field(name) => {
                    if !cur.is_object() {
                        if cur.is_null() {
                            *cur = Value::Object(Map::new());
                        } else {
                            return Err(format!(
                                "unable to set '{}': the value that would hold '{}' is not an object",
                                self.text, name
                            ));
                        }
                    }
                    let obj = cur.as_object_mut().expect("checked object");
                    if last {
                        obj.insert(name.clone(), value);
                        return Ok(());
                    }
                    cur = obj
                        .entry(name.clone())
                        .or_insert_with(|| Value::Object(Map::new()));
                }
                Segment::Index(idx) => {
                    let arr = match cur.as_array_mut() {
                        Some(a) => a,
                        None => {
                            return Err(format!(
                                "unable to set '{}': index {} of a value that is not an array",
                                self.text, idx
                            ))
                        }
                    };
                    let len = arr.len() as i64;
                    let at = if *idx < 0 { len + idx } else { *idx };
                    if at < 0 || at >= len {
                        return Err(format!(
                            "unable to set '{}': index {} out of bounds",
                            self.text, idx
                        ));
                    }
                    let slot = &mut arr[at as usize];
                    if last {
                        *slot = value;
                        return Ok(());
                    }
                    cur = slot;
                }
            }
        }
        *cur = value;
        Ok(())
    }
}

/// Follows reference segments.
pub fn get<'v>(root: &'v Value, segments: &[Segment]) -> Option<&'v Value> {
    let mut cur = root;
    for seg in segments {
        cur = match (seg, cur) {
            (Segment::Field(f), Value::Object(m)) => m.get(f)?,
            (Segment::Index(i), Value::Array(a)) => {
                let at = if *i < 0 { a.len() as i64 + i } else { *i };
                if at < 0 {
                    return None;
                }
                a.get(at as usize)?
            }
            _ => return None,
        };
    }
    Some(cur)
}

/// Parses what follows `$` as reference segments; `None` when it needs the full JSONPath engine.
/// Whether a query's last step is a filter (`[?(...)]`), whose matches AWS limits to objects.
fn ends_with_filter(q: &JpQuery) -> bool {
    use jsonpath_rust::parser::model::{Segment as S, Selector};
    fn is_filter(s: &S) -> bool {
        match s {
            S::Descendant(inner) => is_filter(inner),
            S::Selector(sel) => matches!(sel, Selector::Filter(_)),
            S::Selectors(sels) => sels.iter().any(|x| matches!(x, Selector::Filter(_))),
        }
    }
    q.segments.last().is_some_and(is_filter)
}

/// Jayway's word operators, which AWS does not support ("Lexical operators, which are
/// non-symbolic, such as subsetof aren't supported"): the first one a filter uses, if any.
fn lexical_operator(text: &str) -> Option<&'static str> {
    const WORDS: [&str; 8] = [
        "in", "nin", "subsetof", "anyof", "noneof", "size", "empty", "contains",
    ];
    let mut in_string: Option<char> = None;
    // The word being read, and whether it is a field name (`.size`) rather than an operator.
    let mut word = String::new();
    let mut field = false;
    let mut before = ' ';
    let mut found = None;
    let mut check = |w: &mut String, field: bool| {
        if found.is_none() && !field {
            found = WORDS.iter().find(|x| **x == w.as_str()).copied();
        }
        w.clear();
    };
    for c in text.chars() {
        match in_string {
            Some(q) if c == q => in_string = None,
            Some(_) => {}
            None if c.is_ascii_alphanumeric() || c == '_' => {
                if word.is_empty() {
                    field = matches!(before, '.' | '@' | '$') || !c.is_ascii_alphabetic();
                }
                word.push(c);
            }
            None => {
                check(&mut word, field);
                if c == '\'' || c == '"' {
                    in_string = Some(c);
                }
            }
        }
        before = c;
    }
    check(&mut word, field);
    found
}

fn parse_reference(rest: &str) -> Option<Vec<Segment>> {
    let b = rest.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        match b[i] {
            b'.' => {
                i += 1;
                let start = i;
                while i < b.len() && b[i] != b'.' && b[i] != b'[' {
                    i += 1;
                }
                let name = &rest[start..i];
                if name.is_empty()
                    || name == "*"
                    || name.contains(['(', ')', '@', '?', '*', ' ', '\'', '"', ']'])
                {
                    return None;
                }
                out.push(Segment::Field(name.to_string()));
            }
            b'[' => {
                i += 1;
                if i < b.len() && (b[i] == b'\'' || b[i] == b'"') {
                    let quote = b[i];
                    i += 1;
                    let mut name = String::new();
                    loop {
                        if i >= b.len() {
                            return None;
                        }
                        let c = b[i];
                        if c == b'\\' && i + 1 < b.len() {
                            name.push(b[i + 1] as char);
                            i += 2;
                            continue;
                        }
                        if c == quote {
                            break;
                        }
                        // push the whole UTF-8 char
                        let ch = rest[i..].chars().next()?;
                        name.push(ch);
                        i += ch.len_utf8();
                    }
                    i += 1;
                    if i >= b.len() || b[i] != b']' {
                        return None;
                    }
                    i += 1;
                    out.push(Segment::Field(name));
                } else {
                    let start = i;
                    while i < b.len() && b[i] != b']' {
                        i += 1;
                    }
                    if i >= b.len() {
                        return None;
                    }
                    let idx: i64 = rest[start..i].trim().parse().ok()?;
                    i += 1;
                    out.push(Segment::Index(idx));
                }
            }
            _ => return None,
        }
    }
    Some(out)
}

/// A parser's multi-line report (a caret under the text) as one line: where, and what was
/// expected, for a diagnostic that stays on one line.
fn one_line(report: &str) -> String {
    let at = report
        .split("-->")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|lc| lc.split(':').nth(1));
    let what = report
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("= "));
    match (at, what) {
        (Some(col), Some(w)) => format!("at character {col}, {w}"),
        _ => report.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(path: &str, input: Value, expected: Option<Value>) {
        let p = Path::parse(path).unwrap();
        let got = p.select(&input).map(|c| c.into_owned());
        assert_eq!(got, expected, "{path}");
    }

    #[test]
    fn reference_paths() {
        let v = json!({"a": {"b": [1, 2, {"c": "x"}]}, "d e": 5, "n": null});
        check("$", v.clone(), Some(v.clone()));
        check("$.a.b[1]", v.clone(), Some(json!(2)));
        check("$.a.b[2].c", v.clone(), Some(json!("x")));
        check("$['d e']", v.clone(), Some(json!(5)));
        check("$.n", v.clone(), Some(Value::Null));
        check("$.missing", v.clone(), None);
        check("$.a.b[9]", v.clone(), None);
        assert!(Path::parse("$.a.b[0]").unwrap().is_reference());
        assert_eq!(
            Path::parse("$.a.b[0]").unwrap().bracketed(),
            "$['a']['b'][0]"
        );
    }

    #[test]
    fn queries_select_lists() {
        let v = json!({"items": [{"x": 1}, {"x": 2}, {"x": 3}]});
        check("$.items[*].x", v.clone(), Some(json!([1, 2, 3])));
        check("$.items[?(@.x > 1)].x", v.clone(), Some(json!([2, 3])));
        check("$..x", v.clone(), Some(json!([1, 2, 3])));
        assert!(!Path::parse("$.items[*]").unwrap().is_reference());
        // AWS: "The @ operator ... does not match scalar values. It only matches objects."
        let v = json!({"a": [1, 2, 3, {"n": 5}], "s": ["x", "y"]});
        check("$.a[?(@ > 1)]", v.clone(), Some(json!([])));
        check("$.s[?(@ == 'x')]", v.clone(), Some(json!([])));
        check("$.a[?(@.n >= 5)]", v.clone(), Some(json!([{"n": 5}])));
        // Jayway's word operators are refused; fields of those names are fine.
        for op in ["in", "nin", "subsetof", "anyof", "noneof", "size", "empty"] {
            let e = Path::parse(&format!("$.a[?(@.b {op} ['x'])]")).unwrap_err();
            assert!(e.contains(&format!("'{op}' is not supported")), "{e}");
        }
        check(
            "$.a[?(@.size > 1)]",
            json!({"a": [{"size": 2}, {"size": 1}]}),
            Some(json!([{"size": 2}])),
        );
        assert!(Path::parse("$.a[?(@.b == 'in')]").is_ok());
    }

    #[test]
    fn malformed_paths_are_rejected() {
        assert!(Path::parse("a.b").is_err());
        assert!(Path::parse("$.a[").is_err());
        assert!(Path::parse_reference("$.a[*]").is_err());
    }

    #[test]
    fn set_creates_nested_objects() {
        let mut v = json!({"a": 1});
        Path::parse("$.b.c").unwrap().set(&mut v, json!(2)).unwrap();
        assert_eq!(v, json!({"a": 1, "b": {"c": 2}}));
        Path::parse("$.a.x")
            .unwrap()
            .set(&mut v, json!(3))
            .unwrap_err();
        let mut root = json!(1);
        Path::parse("$")
            .unwrap()
            .set(&mut root, json!({"r": 1}))
            .unwrap();
        assert_eq!(root, json!({"r": 1}));
    }
}
