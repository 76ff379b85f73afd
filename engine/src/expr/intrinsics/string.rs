//! `States.Format` and `States.StringSplit`.

use super::func::Func;
use super::{exact, invalid, java};
use crate::expr::EvalError;
use serde_json::Value;
use std::borrow::Cow;

/// One character of a template, remembering whether it was written escaped (`\{`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct TemplateChar {
    pub ch: char,
    pub escaped: bool,
}

/// A `States.Format` template split at its `{}` placeholders.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Template {
    /// Literal text between placeholders: `n` placeholders give `n + 1` pieces.
    Pieces(Vec<String>),
    /// A `{` not followed by `}`, or a lone `}`: AWS fails such templates when it evaluates them.
    Malformed,
}

impl Template {
    pub(super) fn from_chars(chars: &[TemplateChar]) -> Template {
        let mut pieces = vec![String::new()];
        let mut i = 0;
        while let Some(c) = chars.get(i) {
            match (c.ch, c.escaped) {
                ('{', false) => match chars.get(i + 1) {
                    Some(TemplateChar {
                        ch: '}',
                        escaped: false,
                    }) => {
                        pieces.push(String::new());
                        i += 1;
                    }
                    _ => return Template::Malformed,
                },
                ('}', false) => return Template::Malformed,
                (ch, _) => {
                    if let Some(last) = pieces.last_mut() {
                        last.push(ch);
                    }
                }
            }
            i += 1;
        }
        Template::Pieces(pieces)
    }

    /// A template that arrived as a value (from a path or a nested call): the same escapes as in
    /// a literal are honoured; any other backslash is kept as text.
    fn from_value(s: &str) -> Template {
        let mut chars = Vec::with_capacity(s.len());
        let mut it = s.chars().peekable();
        while let Some(ch) = it.next() {
            match (ch, it.peek()) {
                ('\\', Some(&next @ ('{' | '}' | '\\' | '\''))) => {
                    it.next();
                    chars.push(TemplateChar {
                        ch: next,
                        escaped: true,
                    });
                }
                _ => chars.push(TemplateChar { ch, escaped: false }),
            }
        }
        Template::from_chars(&chars)
    }
}

/// `States.Format(template, args...)`: each `{}` takes the next argument's Java rendering
/// (strings bare, `null` as `null`, objects as `{k=v, ...}`, arrays as `[a, b]`).
pub(super) fn format(
    args: &[Cow<'_, Value>],
    literal: Option<&Template>,
) -> Result<Value, EvalError> {
    let (first, rest) = args.split_first().ok_or_else(|| invalid(Func::Format))?;
    let parsed;
    let template = match (literal, &**first) {
        (Some(t), _) => t,
        (None, Value::String(s)) => {
            parsed = Template::from_value(s);
            &parsed
        }
        (None, _) => return Err(invalid(Func::Format)),
    };
    let Template::Pieces(pieces) = template else {
        return Err(invalid(Func::Format));
    };
    if pieces.len() != rest.len() + 1 {
        return Err(invalid(Func::Format));
    }
    let mut out = String::new();
    for (i, piece) in pieces.iter().enumerate() {
        out.push_str(piece);
        if let Some(arg) = rest.get(i) {
            out.push_str(&java::to_string(arg));
        }
    }
    Ok(Value::String(out))
}

/// `States.StringSplit(string, delimiters)`: like Java's `StringTokenizer`, every character of the
/// second argument is a delimiter and empty tokens are dropped.
pub(super) fn split(args: &[Cow<'_, Value>]) -> Result<Value, EvalError> {
    let [Value::String(s), Value::String(delims)] = exact(Func::StringSplit, args)? else {
        return Err(invalid(Func::StringSplit));
    };
    let tokens = s
        .split(|c: char| delims.contains(c))
        .filter(|t| !t.is_empty())
        .map(|t| Value::String(t.to_string()))
        .collect();
    Ok(Value::Array(tokens))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{check, check_invalid};
    use serde_json::json;

    #[test]
    fn format_renders_values_like_aws() {
        let f = "States.Format('Formatting argument {}.', $.FunctionInput)";
        check(
            f,
            json!({"FunctionInput": ""}),
            json!("Formatting argument ."),
        );
        check(
            f,
            json!({"FunctionInput": " "}),
            json!("Formatting argument  ."),
        );
        check(
            f,
            json!({"FunctionInput": null}),
            json!("Formatting argument null."),
        );
        check(
            f,
            json!({"FunctionInput": 1}),
            json!("Formatting argument 1."),
        );
        check(
            f,
            json!({"FunctionInput": 1.1}),
            json!("Formatting argument 1.1."),
        );
        check(
            f,
            json!({"FunctionInput": true}),
            json!("Formatting argument true."),
        );
        let f2 = "States.Format('Formatting arguments fst={} and snd={}.', $.FunctionInput.fst, $.FunctionInput.snd)";
        check(
            f2,
            json!({"FunctionInput": {"fst": {"Arg1": 1, "Arg2": []}, "snd": {"Arg1": 1, "Arg2": []}}}),
            json!("Formatting arguments fst={Arg1=1, Arg2=[]} and snd={Arg1=1, Arg2=[]}."),
        );
        check(
            f2,
            json!({"FunctionInput": {"fst": null, "snd": null}}),
            json!("Formatting arguments fst=null and snd=null."),
        );
        check(
            "States.Format('{}|{}', $.a, $.b)",
            json!({"a": [1, "x", null, [true]], "b": {"k": {"n": "v"}}}),
            json!("[1, x, null, [true]]|{k={n=v}}"),
        );
        check(
            "States.Format('{} {} {} {}', $.a, $.b, $.c, $.d)",
            json!({"a": 100.0, "b": 1e7, "c": 0.0001, "d": -9007199254740991i64}),
            json!("100.0 1.0E7 1.0E-4 -9007199254740991"),
        );
    }

    #[test]
    fn format_literals_and_sources() {
        check(
            "States.Format('Your name is {}, we are in the year {}', $.name, 2020)",
            json!({"name": "Foo"}),
            json!("Your name is Foo, we are in the year 2020"),
        );
        check(
            "States.Format('no placeholders')",
            json!({}),
            json!("no placeholders"),
        );
        check("States.Format('  {}  ', 'x')", json!({}), json!("  x  "));
        check("States.Format('{}{}', 1, -2.5)", json!({}), json!("1-2.5"));
        check(
            "States.Format($.template, $.name)",
            json!({"template": "Hello, my name is {}.", "name": "Arnav"}),
            json!("Hello, my name is Arnav."),
        );
        check(
            "States.Format('{}', States.JsonToString($.o))",
            json!({"o": {"k": 1}}),
            json!("{\"k\":1}"),
        );
        check(
            "States.Format('{}:{}', $.name, $$.Execution.Input.suffix)",
            json!({"name": "job", "suffix": "run"}),
            json!("job:run"),
        );
        check("States.Format('{}', $.v)", json!({"v": "{}"}), json!("{}"));
    }

    #[test]
    fn format_escapes() {
        check(
            r#"States.Format('Name: \'{}\', Surname: "{}"', $.name, $.surname)"#,
            json!({"name": "Gabriel", "surname": "Moreira"}),
            json!("Name: 'Gabriel', Surname: \"Moreira\""),
        );
        check(r"States.Format('\{\}')", json!({}), json!("{}"));
        check(r"States.Format('\{{}\}', 'x')", json!({}), json!("{x}"));
        check(r"States.Format('a\\b {}', 1)", json!({}), json!("a\\b 1"));
        check(
            "States.Format($.t, 1)",
            json!({"t": "\\{{}\\} C:\\dir"}),
            json!("{1} C:\\dir"),
        );
    }

    #[test]
    fn format_failures() {
        check_invalid("States.Format('{} {}', $.a)", json!({"a": "x"}));
        check_invalid("States.Format('{}', $.a, $.b)", json!({"a": "x", "b": "y"}));
        check_invalid("States.Format('Hello {', $.a)", json!({"a": "x"}));
        check_invalid("States.Format('Hello {{}}', $.a)", json!({"a": "x"}));
        check_invalid("States.Format('}')", json!({}));
        check_invalid(r"States.Format('\{}', 1)", json!({}));
        check_invalid("States.Format($.t, 'x')", json!({"t": 123}));
        check_invalid("States.Format($.t, 'x')", json!({"t": "{"}));
        check_invalid("States.Format()", json!({}));
    }

    #[test]
    fn split_uses_a_delimiter_set_and_drops_empty_tokens() {
        let f = "States.StringSplit($.FunctionInput.fst, $.FunctionInput.snd)";
        check(
            f,
            json!({"FunctionInput": {"fst": " , ", "snd": ","}}),
            json!([" ", " "]),
        );
        check(
            f,
            json!({"FunctionInput": {"fst": "1,2,3,4,5", "snd": ","}}),
            json!(["1", "2", "3", "4", "5"]),
        );
        check(
            f,
            json!({"FunctionInput": {"fst": "split on T and \nnew line", "snd": "T\n"}}),
            json!(["split on ", " and ", "new line"]),
        );
        check(
            "States.StringSplit($$.Execution.Input.FunctionInput, ',')",
            json!({"FunctionInput": "Value1,Value2,Value3\nValue4,Value5,Value6\n,,,\ntrue,1,'HelloWorld'\nNull,None,\n   \n"}),
            json!([
                "Value1",
                "Value2",
                "Value3\nValue4",
                "Value5",
                "Value6\n",
                "\ntrue",
                "1",
                "'HelloWorld'\nNull",
                "None",
                "\n   \n"
            ]),
        );
        check(
            "States.StringSplit('Hello\nWorld', '\n')",
            json!({}),
            json!(["Hello", "World"]),
        );
        check(
            "States.StringSplit($.s, '.+,')",
            json!({"s": "1+2,3.4"}),
            json!(["1", "2", "3", "4"]),
        );
        check(
            "States.StringSplit($.s, 'ab')",
            json!({"s": "1a2b3ab4"}),
            json!(["1", "2", "3", "4"]),
        );
        check(
            "States.StringSplit($.s, ',')",
            json!({"s": ",a,,b,"}),
            json!(["a", "b"]),
        );
        check("States.StringSplit($.s, ',')", json!({"s": ","}), json!([]));
        check("States.StringSplit($.s, ',')", json!({"s": ""}), json!([]));
        check(
            "States.StringSplit($.s, '')",
            json!({"s": "abc"}),
            json!(["abc"]),
        );
        check(
            "States.StringSplit($.s, '✓')",
            json!({"s": "é✓🚀✓"}),
            json!(["é", "🚀"]),
        );
        check(
            "States.StringSplit(States.Format('{}-{}', $.a, $.b), '-')",
            json!({"a": "x", "b": "y"}),
            json!(["x", "y"]),
        );
    }

    #[test]
    fn split_failures() {
        check_invalid("States.StringSplit($.v, ',')", json!({"v": 123}));
        check_invalid("States.StringSplit($.v, ',')", json!({"v": null}));
        check_invalid("States.StringSplit($.v, ',')", json!({"v": false}));
        check_invalid("States.StringSplit('a,b', $.d)", json!({"d": 1}));
        check_invalid("States.StringSplit('a,b', $.d)", json!({"d": [","]}));
        check_invalid("States.StringSplit('a,b')", json!({}));
        check_invalid("States.StringSplit('a,b', ',', 'x')", json!({}));
        check_invalid("States.StringSplit()", json!({}));
    }
}
