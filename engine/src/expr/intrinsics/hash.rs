//! `States.Hash(data, algorithm)` with MD5, SHA-1, SHA-256, SHA-384 and SHA-512, as lowercase hex.

use super::func::Func;
use super::{exact, invalid, java};
use crate::expr::EvalError;
use md5::Md5;
use serde_json::Value;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};
use std::borrow::Cow;

/// AWS's limit on the data to hash, in (UTF-16) characters.
const MAX_CHARS: usize = 10_000;

/// Hashes the UTF-8 bytes of the data; a non-string (other than `null`) is hashed as its Java
/// rendering, as AWS does for numbers and objects.
pub(super) fn hash(args: &[Cow<'_, Value>]) -> Result<Value, EvalError> {
    let [data, Value::String(algorithm)] = exact(Func::Hash, args)? else {
        return Err(invalid(Func::Hash));
    };
    let data = match data {
        Value::Null => return Err(invalid(Func::Hash)),
        other => java::to_string(other),
    };
    if data.encode_utf16().count() > MAX_CHARS {
        return Err(invalid(Func::Hash));
    }
    let bytes = data.as_bytes();
    let digest = match algorithm.as_str() {
        "MD5" => Md5::digest(bytes).to_vec(),
        "SHA-1" => Sha1::digest(bytes).to_vec(),
        "SHA-256" => Sha256::digest(bytes).to_vec(),
        "SHA-384" => Sha384::digest(bytes).to_vec(),
        "SHA-512" => Sha512::digest(bytes).to_vec(),
        _ => return Err(invalid(Func::Hash)),
    };
    Ok(Value::String(
        digest.iter().map(|b| format!("{b:02x}")).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{check, check_invalid, run};
    use serde_json::json;

    #[test]
    fn digests_are_lowercase_hex() {
        let f = "States.Hash($.FunctionInput.fst, $.FunctionInput.snd)";
        for (algorithm, out) in [
            ("MD5", "812f45842bc6d66ee14572ce20db8e86"),
            ("SHA-1", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
            ("SHA-256", "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3"),
            ("SHA-512", "6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce2deba23bf2954f0f1d593fc50283731a533d30d425402d4f91316d871303aac4"),
        ] {
            check(f, json!({"FunctionInput": {"fst": "input data", "snd": algorithm}}), json!(out));
        }
        check(
            "States.Hash('hello', 'SHA-384')",
            json!({}),
            json!("59e1748777448c69de6b800d7a33bbfb9ff1b463e44354c3553bcdb9c666fa90125a3c79f90397bdf5f6a13de828684f"),
        );
        check(
            "States.Hash('hello', 'MD5')",
            json!({}),
            json!("5d41402abc4b2a76b9719d911017c592"),
        );
        check(
            "States.Hash('', 'SHA-256')",
            json!({}),
            json!("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        );
        check(
            "States.Hash($.s, 'SHA-256')",
            json!({"s": "✓"}),
            json!("1dabba21cdad44541f6b15796f8d22978fc7ea10c46aeceeeeb66c23b3ac7604"),
        );
        check(
            "States.Hash('🚀', 'SHA-256')",
            json!({}),
            json!("ebbc0b2870eb323f2b6cffa5c493ceef81ae7eb36afc73d4e0367301631daec5"),
        );
        check(
            "States.Hash($.s, 'MD5')",
            json!({"s": "abc\u{0}def"}),
            json!("a5e4d5963ae44c1f4bfb37b1a3d55a3c"),
        );
        check(
            "States.Hash($.inputString, 'SHA-256')",
            json!({"inputString": "Hash this string"}),
            json!("1cac63f39fd68d8c531f27b807610fb3d50f0fc3f186995767fb6316e7200a3e"),
        );
        check(
            "States.Hash(States.Format('{}:{}', $.a, $.b), 'SHA-256')",
            json!({"a": "x", "b": "y"}),
            json!("1274e286686b54fe765ec40735665b4bf789cee2a5b22124c5e0491a88e15271"),
        );
        // Numbers hash as their text.
        check(
            "States.Hash(123, 'MD5')",
            json!({}),
            json!("202cb962ac59075b964b07152d234b70"),
        );
    }

    #[test]
    fn length_limit_in_characters() {
        let ok = run(
            "States.Hash($.s, 'SHA-256')",
            json!({"s": "a".repeat(10_000)}),
        )
        .unwrap();
        assert_eq!(ok.as_str().map(str::len), Some(64));
        run("States.Hash($.s, 'MD5')", json!({"s": "é".repeat(10_000)})).unwrap();
        check_invalid(
            "States.Hash($.s, 'SHA-256')",
            json!({"s": "a".repeat(10_001)}),
        );
        check_invalid(
            "States.Hash($.s, 'SHA-256')",
            json!({"s": "🚀".repeat(5_001)}),
        );
    }

    #[test]
    fn bad_arguments() {
        for expr in [
            "States.Hash('hello', 123)",
            "States.Hash('data', 'UNSUPPORTED')",
            "States.Hash('data', 'sha-256')",
            "States.Hash('data', 'SHA256')",
            "States.Hash('data', '')",
            "States.Hash('data', 'MD-5')",
            "States.Hash('data', 'SHA-257')",
            "States.Hash('data', null)",
            "States.Hash(null, 'MD5')",
            "States.Hash()",
            "States.Hash('hello')",
            "States.Hash('hello', 'SHA-256', 'extra')",
        ] {
            check_invalid(expr, json!({}));
        }
    }
}
