//! `States.UUID()`: a random version 4 UUID in lowercase hyphenated form.

use super::func::Func;
use super::invalid;
use crate::expr::EvalError;
use serde_json::Value;
use std::borrow::Cow;

pub(super) fn uuid(args: &[Cow<'_, Value>]) -> Result<Value, EvalError> {
    if !args.is_empty() {
        return Err(invalid(Func::Uuid));
    }
    Ok(Value::String(::uuid::Uuid::new_v4().to_string()))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{check_invalid, run};
    use serde_json::json;

    #[test]
    fn version_4_uuids() {
        let a = run("States.UUID()", json!({})).unwrap();
        let b = run("States.UUID()", json!({})).unwrap();
        assert_ne!(a, b);
        let s = a.as_str().unwrap_or_default();
        assert_eq!(s.len(), 36);
        let parts: Vec<&str> = s.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'), "{s}");
        assert!(
            matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
            "{s}"
        );
        assert!(s
            .chars()
            .all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c)));
    }

    #[test]
    fn takes_no_arguments() {
        check_invalid("States.UUID(1)", json!({}));
        check_invalid("States.UUID($.a)", json!({"a": 1}));
    }
}
