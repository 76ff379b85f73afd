//! `States.Base64Encode` and `States.Base64Decode` (MIME Base64; decoding is as lenient as AWS's).

use super::func::Func;
use super::{exact, invalid};
use crate::expr::EvalError;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;
use std::borrow::Cow;

/// AWS's limit on either function's input, in (UTF-16) characters.
const MAX_CHARS: usize = 10_000;

/// The string argument of `func`, within the length limit.
fn text_arg<'a>(func: Func, args: &'a [Cow<'_, Value>]) -> Result<&'a str, EvalError> {
    match exact(func, args)? {
        [Value::String(s)] if s.encode_utf16().count() <= MAX_CHARS => Ok(s),
        _ => Err(invalid(func)),
    }
}

/// `States.Base64Encode(string)`: Base64 of the UTF-8 bytes, padded.
pub(super) fn encode(args: &[Cow<'_, Value>]) -> Result<Value, EvalError> {
    let text = text_arg(Func::Base64Encode, args)?;
    Ok(Value::String(STANDARD.encode(text.as_bytes())))
}

/// `States.Base64Decode(string)`: decoded bytes read as UTF-8 (invalid sequences become U+FFFD).
pub(super) fn decode(args: &[Cow<'_, Value>]) -> Result<Value, EvalError> {
    let text = text_arg(Func::Base64Decode, args)?;
    let bytes = decode_lenient(text);
    Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
}

/// Lenient Base64 decoding, as AWS shows it (the behaviour of Apache Commons Codec): characters
/// outside the alphabet are skipped, `-` and `_` count as `+` and `/`, the first `=` ends the
/// data, and a partial last group yields the whole bytes it holds.
fn decode_lenient(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    let mut bits: u32 = 0;
    let mut count = 0;
    for b in text.bytes() {
        let sextet = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => continue,
        };
        bits = (bits << 6) | u32::from(sextet);
        count += 1;
        if count == 4 {
            out.extend_from_slice(&[(bits >> 16) as u8, (bits >> 8) as u8, bits as u8]);
            bits = 0;
            count = 0;
        }
    }
    match count {
        2 => out.push((bits >> 4) as u8),
        3 => out.extend_from_slice(&[(bits >> 10) as u8, (bits >> 2) as u8]),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{check, check_invalid, run};
    use super::decode_lenient;
    use serde_json::json;

    #[test]
    fn encode() {
        let f = "States.Base64Encode($.FunctionInput)";
        check(f, json!({"FunctionInput": ""}), json!(""));
        check(
            f,
            json!({"FunctionInput": "Data to encode"}),
            json!("RGF0YSB0byBlbmNvZGU="),
        );
        check(
            f,
            json!({"FunctionInput": "Hello World"}),
            json!("SGVsbG8gV29ybGQ="),
        );
        check(f, json!({"FunctionInput": "✓"}), json!("4pyT"));
        check(
            f,
            json!({"FunctionInput": "こんにちは"}),
            json!("44GT44KT44Gr44Gh44Gv"),
        );
        check(
            f,
            json!({"FunctionInput": "line1\nline2"}),
            json!("bGluZTEKbGluZTI="),
        );
        check(
            f,
            json!({"FunctionInput": "abc\u{0}def"}),
            json!("YWJjAGRlZg=="),
        );
        check("States.Base64Encode(' ')", json!({}), json!("IA=="));
        check("States.Base64Encode('🚀')", json!({}), json!("8J+agA=="));
        check(
            "States.Base64Encode(States.Format('{}-{}', $.a, $.b))",
            json!({"a": "x", "b": "y"}),
            json!("eC15"),
        );
        let long = run(f, json!({"FunctionInput": "a".repeat(10_000)})).unwrap();
        assert_eq!(long.as_str().map(str::len), Some(13_336));
        check_invalid("States.Base64Encode($.s)", json!({"s": "a".repeat(10_001)}));
        for bad in [
            json!(123),
            json!({}),
            json!(["x"]),
            json!(null),
            json!(true),
        ] {
            check_invalid("States.Base64Encode($.s)", json!({"s": bad}));
        }
        check_invalid("States.Base64Encode()", json!({}));
        check_invalid("States.Base64Encode('a', 'b')", json!({}));
    }

    #[test]
    fn decode() {
        let f = "States.Base64Decode($.FunctionInput)";
        check(f, json!({"FunctionInput": ""}), json!(""));
        check(
            f,
            json!({"FunctionInput": "RGF0YSB0byBlbmNvZGU="}),
            json!("Data to encode"),
        );
        check("States.Base64Decode('aGVsbG8=')", json!({}), json!("hello"));
        check("States.Base64Decode('4pyT')", json!({}), json!("✓"));
        check(
            "States.Base64Decode('44GT44KT44Gr44Gh44Gv')",
            json!({}),
            json!("こんにちは"),
        );
        check("States.Base64Decode('YWJjZA==')", json!({}), json!("abcd"));
        check("States.Base64Decode('IA==')", json!({}), json!(" "));
        check(
            f,
            json!({"FunctionInput": "YWJjAGRlZg=="}),
            json!("abc\u{0}def"),
        );
        check(
            "States.Base64Decode(States.Base64Encode($.s))",
            json!({"s": "hello"}),
            json!("hello"),
        );
        check(
            "States.Base64Decode(' YWJjZA== ')",
            json!({}),
            json!("abcd"),
        );
        check(
            "States.Base64Decode('YWJj\nZA==')",
            json!({}),
            json!("abcd"),
        );
        check("States.Base64Decode('YWJjZA')", json!({}), json!("abcd"));
        check("States.Base64Decode('abc')", json!({}), json!("i\u{fffd}"));
        check("States.Base64Decode('8J-agA')", json!({}), json!("🚀"));
        let zeros = run(f, json!({"FunctionInput": "A".repeat(10_000)})).unwrap();
        assert_eq!(zeros.as_str().map(str::len), Some(7_500));
        run(f, json!({"FunctionInput": "A".repeat(9_999)})).unwrap();
        check_invalid("States.Base64Decode($.s)", json!({"s": "A".repeat(10_001)}));
        for bad in [json!(123), json!({}), json!(null)] {
            check_invalid("States.Base64Decode($.s)", json!({"s": bad}));
        }
        check_invalid("States.Base64Decode()", json!({}));
        check_invalid("States.Base64Decode('aGVsbG8=', 'extra')", json!({}));
    }

    #[test]
    fn lenient_decoding_rules() {
        assert_eq!(decode_lenient("!!!invalid!!!"), decode_lenient("invalid"));
        assert_eq!(decode_lenient("ab==cd"), vec![0x69]);
        assert_eq!(decode_lenient("a"), Vec::<u8>::new());
        assert_eq!(decode_lenient("é✓"), Vec::<u8>::new());
        assert_eq!(decode_lenient("/w=="), vec![0xff]);
        assert_eq!(decode_lenient("_w"), vec![0xff]);
        // Invalid UTF-8 decodes to replacement characters instead of failing.
        let v = run("States.Base64Decode('/w==')", json!({})).unwrap();
        assert_eq!(v, json!("\u{fffd}"));
    }
}
