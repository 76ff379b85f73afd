//! Parser of intrinsic call syntax: `States.Name(arg, ...)` with quoted strings, numbers,
//! `true`/`false`/`null`, paths and nested calls.

use super::func::Func;
use super::string::{Template, TemplateChar};
use super::{Arg, Call};
use crate::expr::path::Path;
use serde_json::{Number, Value};

/// Nested calls deeper than this are refused (AWS documents 10; this only guards the stack).
const MAX_DEPTH: usize = 64;

pub(super) fn parse(src: &str) -> Result<Call, String> {
    let mut p = Parser { src, pos: 0 };
    p.skip_ws();
    if !p.rest().starts_with("States.") {
        return Err(format!("{src:?} is not an intrinsic function call"));
    }
    let call = p.call(0)?;
    p.skip_ws();
    if let Some(c) = p.peek() {
        return Err(format!(
            "unexpected {c:?} after the closing parenthesis of {}",
            call.func.name()
        ));
    }
    Ok(call)
}

struct Parser<'a> {
    src: &'a str,
    /// Byte offset, always on a char boundary.
    pos: usize,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    /// `States.Name(` args `)`; the cursor is on `States.`.
    fn call(&mut self, depth: usize) -> Result<Call, String> {
        if depth >= MAX_DEPTH {
            return Err(format!(
                "intrinsic functions are nested more than {MAX_DEPTH} deep"
            ));
        }
        let start = self.pos;
        self.pos += "States.".len();
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric()) {
            self.bump();
        }
        let name = &self.src[start..self.pos];
        let func =
            Func::from_name(name).ok_or_else(|| format!("unknown intrinsic function {name:?}"))?;
        if self.bump() != Some('(') {
            return Err(format!("expected '(' after {name}"));
        }
        let mut args = Vec::new();
        let mut template = None;
        self.skip_ws();
        if self.peek() == Some(')') {
            self.bump();
            return Ok(Call {
                func,
                args,
                template,
            });
        }
        loop {
            let (arg, chars) = self.arg(func, args.len() + 1, depth)?;
            if func == Func::Format && args.is_empty() {
                template = chars.map(|c| Template::from_chars(&c));
            }
            args.push(arg);
            self.skip_ws();
            match self.bump() {
                Some(',') => self.skip_ws(),
                Some(')') => break,
                Some(c) => {
                    return Err(format!(
                        "unexpected {c:?} after argument {} of {name}",
                        args.len()
                    ))
                }
                None => return Err(format!("missing ')' to close {name}")),
            }
        }
        Ok(Call {
            func,
            args,
            template,
        })
    }

    /// One argument; a string literal also comes back as its characters with escape marks.
    fn arg(
        &mut self,
        func: Func,
        index: usize,
        depth: usize,
    ) -> Result<(Arg, Option<Vec<TemplateChar>>), String> {
        let name = func.name();
        match self.peek() {
            Some('\'') => {
                let chars = self.string()?;
                let text: String = chars.iter().map(|c| c.ch).collect();
                Ok((Arg::Literal(Value::String(text)), Some(chars)))
            }
            Some('$') => Ok((Arg::Path(self.path()?), None)),
            Some(c) if c == '-' || c.is_ascii_digit() => Ok((Arg::Literal(self.number()?), None)),
            Some('S') if self.rest().starts_with("States.") => {
                Ok((Arg::Call(Box::new(self.call(depth + 1)?)), None))
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.pos;
                while self.peek().is_some_and(|c| c.is_ascii_alphanumeric()) {
                    self.bump();
                }
                match &self.src[start..self.pos] {
                    "true" => Ok((Arg::Literal(Value::Bool(true)), None)),
                    "false" => Ok((Arg::Literal(Value::Bool(false)), None)),
                    "null" => Ok((Arg::Literal(Value::Null), None)),
                    word => Err(format!("unexpected {word:?} as argument {index} of {name}")),
                }
            }
            Some(c) => Err(format!("unexpected {c:?} as argument {index} of {name}")),
            None => Err(format!("missing argument {index} of {name}")),
        }
    }

    /// `'...'` with the escapes `\'`, `\{`, `\}` and `\\`; the cursor is on the opening quote.
    fn string(&mut self) -> Result<Vec<TemplateChar>, String> {
        self.bump();
        let mut out = Vec::new();
        loop {
            match self.bump() {
                None => return Err("unterminated string literal: missing closing '".into()),
                Some('\'') => return Ok(out),
                Some('\\') => match self.bump() {
                    Some(c @ ('\'' | '{' | '}' | '\\')) => out.push(TemplateChar {
                        ch: c,
                        escaped: true,
                    }),
                    Some(c) => {
                        return Err(format!(
                            "invalid escape \\{c} in string literal: only \\', \\{{, \\}} and \\\\ are allowed"
                        ))
                    }
                    None => return Err("unterminated string literal: missing closing '".into()),
                },
                Some(c) => out.push(TemplateChar {
                    ch: c,
                    escaped: false,
                }),
            }
        }
    }

    /// A path runs up to the first `,`, `)` or whitespace outside brackets, parentheses and quotes.
    fn path(&mut self) -> Result<Path, String> {
        let start = self.pos;
        let mut depth = 0usize;
        let mut quote: Option<char> = None;
        while let Some(c) = self.peek() {
            if let Some(q) = quote {
                self.bump();
                if c == '\\' {
                    self.bump();
                } else if c == q {
                    quote = None;
                }
                continue;
            }
            match c {
                '\'' | '"' => quote = Some(c),
                '[' | '(' => depth += 1,
                ']' | ')' if depth > 0 => depth -= 1,
                ',' | ')' => break,
                c if c.is_whitespace() && depth == 0 => break,
                _ => {}
            }
            self.bump();
        }
        Path::parse(&self.src[start..self.pos])
    }

    /// `-? digits (. digits)? ([eE] [+-]? digits)?`, integers kept exact when they fit 64 bits.
    fn number(&mut self) -> Result<Value, String> {
        let start = self.pos;
        let digits = |p: &mut Parser| {
            let from = p.pos;
            while p.peek().is_some_and(|c| c.is_ascii_digit()) {
                p.bump();
            }
            p.pos > from
        };
        if self.peek() == Some('-') {
            self.bump();
        }
        let mut ok = digits(self);
        let mut integer = true;
        if ok && self.peek() == Some('.') {
            self.bump();
            integer = false;
            ok = digits(self);
        }
        if ok && matches!(self.peek(), Some('e' | 'E')) {
            self.bump();
            integer = false;
            if matches!(self.peek(), Some('+' | '-')) {
                self.bump();
            }
            ok = digits(self);
        }
        // A number must end where the argument ends.
        let ends = self
            .peek()
            .is_none_or(|c| c == ',' || c == ')' || c.is_whitespace());
        if !ok || !ends {
            while self
                .peek()
                .is_some_and(|c| c != ',' && c != ')' && !c.is_whitespace())
            {
                self.bump();
            }
            return Err(format!("invalid number {:?}", &self.src[start..self.pos]));
        }
        let text = &self.src[start..self.pos];
        if integer {
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Value::from(i));
            }
            if let Ok(u) = text.parse::<u64>() {
                return Ok(Value::from(u));
            }
        }
        text.parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .filter(|n| n.as_f64().is_some_and(f64::is_finite))
            .map(Value::Number)
            .ok_or_else(|| format!("number {text} is out of range"))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::check;
    use super::*;
    use serde_json::json;

    fn literal(src: &str, index: usize) -> Value {
        let call = parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        match &call.args[index] {
            Arg::Literal(v) => v.clone(),
            other => panic!("{src}: {other:?}"),
        }
    }

    fn fails(src: &str, message: &str) {
        match parse(src) {
            Ok(c) => panic!("{src}: parsed as {c:?}"),
            Err(e) => assert!(e.contains(message), "{src}: {e}"),
        }
    }

    #[test]
    fn literals() {
        assert_eq!(literal("States.Array('a b')", 0), json!("a b"));
        assert_eq!(literal("States.Array('')", 0), json!(""));
        assert_eq!(literal("States.Array(42)", 0), json!(42));
        assert_eq!(literal("States.Array(-7)", 0), json!(-7));
        assert_eq!(literal("States.Array(1.5)", 0), json!(1.5));
        assert_eq!(literal("States.Array(-0.25)", 0), json!(-0.25));
        assert_eq!(literal("States.Array(2e3)", 0), json!(2000.0));
        assert_eq!(literal("States.Array(1E-2)", 0), json!(0.01));
        assert_eq!(
            literal("States.Array(18446744073709551615)", 0),
            json!(18446744073709551615u64)
        );
        assert_eq!(
            literal("States.Array(99999999999999999999)", 0),
            json!(1e20)
        );
        assert_eq!(literal("States.Array(true)", 0), json!(true));
        assert_eq!(literal("States.Array(false)", 0), json!(false));
        assert_eq!(literal("States.Array(null)", 0), Value::Null);
        assert_eq!(literal("States.Array('é✓🚀')", 0), json!("é✓🚀"));
    }

    #[test]
    fn string_escapes() {
        assert_eq!(literal(r"States.Array('it\'s')", 0), json!("it's"));
        assert_eq!(literal(r"States.Array('\{\}')", 0), json!("{}"));
        assert_eq!(literal(r"States.Array('a\\b')", 0), json!("a\\b"));
        assert_eq!(
            literal("States.Array('line\nbreak')", 0),
            json!("line\nbreak")
        );
        assert_eq!(
            literal(r#"States.Array('say "hi"')"#, 0),
            json!("say \"hi\"")
        );
        assert_eq!(literal("States.Array('a,b)c')", 0), json!("a,b)c"));
        fails(r"States.Array('a\nb')", "invalid escape \\n");
        fails("States.Array('a\\')", "unterminated string");
        fails("States.Array('abc)", "unterminated string");
    }

    #[test]
    fn whitespace_and_nesting() {
        let call = parse("  States.Array( $.a ,\n\t'x' , States.Array( ) )  ").unwrap();
        assert_eq!(call.args.len(), 3);
        assert!(matches!(&call.args[0], Arg::Path(p) if p.as_str() == "$.a"));
        assert!(matches!(&call.args[2], Arg::Call(c) if c.args.is_empty()));
        assert_eq!(parse("States.UUID()").unwrap().args.len(), 0);
    }

    #[test]
    fn paths() {
        let call =
            parse("States.Array($.a['b,c'], $.items[?(@.x > 1)].x, $$.Map.Item.Value, $)").unwrap();
        let texts: Vec<&str> = call
            .args
            .iter()
            .map(|a| match a {
                Arg::Path(p) => p.as_str(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            texts,
            [
                "$.a['b,c']",
                "$.items[?(@.x > 1)].x",
                "$$.Map.Item.Value",
                "$"
            ]
        );
        check(
            "States.Array($.a['b,c'], $.items[?(@.x > 1)].x)",
            json!({"a": {"b,c": 1}, "items": [{"x": 1}, {"x": 2}]}),
            json!([1, [2]]),
        );
        fails("States.Array($.a[)", "");
    }

    #[test]
    fn syntax_errors() {
        fails("States.Foo(1)", "unknown intrinsic function \"States.Foo\"");
        fails(
            "States.format('x')",
            "unknown intrinsic function \"States.format\"",
        );
        fails("States.Array", "expected '(' after States.Array");
        fails("States.Array (1)", "expected '(' after States.Array");
        fails("States.Array(", "missing argument 1 of States.Array");
        fails("States.Array(1", "missing ')' to close States.Array");
        fails(
            "States.Array(1,)",
            "unexpected ')' as argument 2 of States.Array",
        );
        fails("States.Array(,1)", "unexpected ',' as argument 1");
        fails("States.Array(1 2)", "unexpected '2' after argument 1");
        fails(
            "States.Array($.a) trailing",
            "unexpected 't' after the closing parenthesis",
        );
        fails("States.Array([1,2])", "unexpected '['");
        fails("States.Array(1.)", "invalid number \"1.\"");
        fails("States.Array(.5)", "unexpected '.'");
        fails("States.Array(1e)", "invalid number \"1e\"");
        fails("States.Array(12abc)", "invalid number \"12abc\"");
        fails("States.Array(-)", "invalid number \"-\"");
        fails("States.Array(1e400)", "out of range");
        fails("States.Array(True)", "unexpected \"True\"");
        fails("States.Array(undefined)", "unexpected \"undefined\"");
        fails("$.a", "not an intrinsic function call");
        fails("", "not an intrinsic function call");
        fails("States.Array(a.b)", "unexpected \"a\"");
    }

    #[test]
    fn nesting_limit_guards_the_stack() {
        let deep = "States.Array(".repeat(63) + &")".repeat(63);
        assert!(parse(&deep).is_ok());
        let too_deep = "States.Array(".repeat(65) + &")".repeat(65);
        fails(&too_deep, "nested more than 64 deep");
        let hostile = "States.Array(".repeat(100_000);
        fails(&hostile, "nested more than");
    }

    #[test]
    fn never_panics_on_odd_input() {
        for src in [
            "States.",
            "States.(",
            "States.Array('",
            "States.Array('\\",
            "States.Array($",
            "States.Array($$",
            "States.Array($[",
            "States.Array($.a['x",
            "States.Array(-",
            "States.Array(t",
            "States.Array(é)",
            "States.Array(1)é",
            "States.Formaté(1)",
            "States.Array(States.)",
            "States.Array(States.Array(1)",
        ] {
            let _ = parse(src);
        }
    }
}
