//! `States.MathAdd` and `States.MathRandom` (seeded draws reproduce `java.util.Random`).

use super::func::Func;
use super::{invalid, java};
use crate::expr::EvalError;
use rand::Rng;
use serde_json::Value;
use std::borrow::Cow;

/// `States.MathAdd(a, b)`: both numbers rounded half up to integers (`Math.round`), the sum
/// within Java's `int` range.
pub(super) fn add(args: &[Cow<'_, Value>]) -> Result<Value, EvalError> {
    let [a, b] = super::exact(Func::MathAdd, args)?;
    let (Some(a), Some(b)) = (java::round_i32(a), java::round_i32(b)) else {
        return Err(invalid(Func::MathAdd));
    };
    a.checked_add(b)
        .map(Value::from)
        .ok_or_else(|| invalid(Func::MathAdd))
}

/// `States.MathRandom(start, end[, seed])`: an integer in `[start, end)`, bounds truncated to
/// integers. With a seed the draw is `start + new java.util.Random(seed).nextInt(end - start)`.
pub(super) fn random(args: &[Cow<'_, Value>]) -> Result<Value, EvalError> {
    let (start, end, seed) = match args {
        [start, end] => (start, end, None),
        [start, end, seed] => (start, end, Some(seed)),
        _ => return Err(invalid(Func::MathRandom)),
    };
    let (Some(start), Some(end)) = (java::truncate_i32(start), java::truncate_i32(end)) else {
        return Err(invalid(Func::MathRandom));
    };
    let bound = i32::try_from(i64::from(end) - i64::from(start))
        .ok()
        .filter(|b| *b > 0)
        .ok_or_else(|| invalid(Func::MathRandom))?;
    let offset = match seed {
        Some(seed) => {
            let seed = java::truncate_i64(seed).ok_or_else(|| invalid(Func::MathRandom))?;
            JavaRandom::new(seed).next_int(bound)
        }
        None => rand::thread_rng().gen_range(0..bound),
    };
    Ok(Value::from(i64::from(start) + i64::from(offset)))
}

/// `java.util.Random`: the 48-bit linear congruential generator.
struct JavaRandom {
    seed: u64,
}

const MULTIPLIER: u64 = 0x5_DEEC_E66D;
const MASK: u64 = (1 << 48) - 1;

impl JavaRandom {
    fn new(seed: i64) -> Self {
        JavaRandom {
            seed: (seed as u64 ^ MULTIPLIER) & MASK,
        }
    }

    fn next(&mut self, bits: u32) -> i32 {
        self.seed = (self.seed.wrapping_mul(MULTIPLIER).wrapping_add(0xB)) & MASK;
        (self.seed >> (48 - bits)) as i32
    }

    /// `nextInt(bound)` for `bound > 0`.
    fn next_int(&mut self, bound: i32) -> i32 {
        let mut r = self.next(31);
        let m = bound - 1;
        if bound & m == 0 {
            return ((i64::from(bound) * i64::from(r)) >> 31) as i32;
        }
        let mut u = r;
        loop {
            r = u % bound;
            // Java rejects draws where `u - r + m` overflows an int.
            if u.checked_sub(r).and_then(|x| x.checked_add(m)).is_some() {
                return r;
            }
            u = self.next(31);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{check, check_invalid, run};
    use super::JavaRandom;
    use serde_json::json;

    #[test]
    fn add_rounds_half_up() {
        let f = "States.MathAdd($.FunctionInput.fst, $.FunctionInput.snd)";
        for (a, b, sum) in [
            (json!(-9), json!(3), -6),
            (json!(1.49), json!(1.5), 3),
            (json!(-1.5), json!(0), -1),
            (json!(1.5), json!(0), 2),
            (json!(2.5), json!(0), 3),
            (json!(-0.5), json!(0.5), 1),
            (json!(-0.5), json!(0), 0),
            (json!(1.5), json!(1.51), 4),
            (json!(-3.5), json!(0), -3),
            (json!(-1.49), json!(-1.5), -2),
            (json!(1.49), json!(-1.49), 0),
            (json!(-1.49), json!(0), -1),
            (json!(1.6), json!(2.7), 5),
            (json!(0.1), json!(0.2), 0),
        ] {
            check(
                f,
                json!({"FunctionInput": {"fst": a, "snd": b}}),
                json!(sum),
            );
        }
        check(
            "States.MathAdd($.value1, $.step)",
            json!({"value1": 111, "step": -1}),
            json!(110),
        );
        check(
            "States.MathAdd(States.MathAdd($.x, 1), 2)",
            json!({"x": 5}),
            json!(8),
        );
        check(
            "States.MathAdd(2147483647, 0)",
            json!({}),
            json!(2147483647),
        );
        check(
            "States.MathAdd(-2147483647, -1)",
            json!({}),
            json!(-2147483648i64),
        );
        check(
            "States.MathAdd($.Iterations, -1)",
            json!({"Iterations": 1}),
            json!(0),
        );
    }

    #[test]
    fn add_failures() {
        for expr in [
            "States.MathAdd(2147483647, 1)",
            "States.MathAdd(-2147483648, -1)",
            "States.MathAdd(3000000000, 1)",
            "States.MathAdd(-3000000000, 1)",
            "States.MathAdd(1e300, 1)",
            "States.MathAdd('a', 1)",
            "States.MathAdd(1, 'b')",
            "States.MathAdd('-1', 2)",
            "States.MathAdd(null, 1)",
            "States.MathAdd(true, 1)",
            "States.MathAdd(false, '2')",
            "States.MathAdd(1)",
            "States.MathAdd(1, 2, 999)",
            "States.MathAdd(-1, States.Array(1))",
        ] {
            check_invalid(expr, json!({}));
        }
    }

    #[test]
    fn java_random_sequence() {
        // Reference values of java.util.Random.
        assert_eq!(JavaRandom::new(42).next_int(10), 0);
        assert_eq!(JavaRandom::new(3).next_int(999), 239);
        assert_eq!(JavaRandom::new(1).next_int(7), 4);
        let mut r = JavaRandom::new(0);
        assert_eq!(r.next(32), -1155484576);
        assert_eq!(r.next(32), -723955400);
        assert_eq!(JavaRandom::new(42).next_int(16), 11);
        assert!(JavaRandom::new(-10).next_int(i32::MAX) >= 0);
    }

    fn in_range(expr: &str, input: serde_json::Value, lo: i64, hi: i64) -> i64 {
        let v = run(expr, input).unwrap_or_else(|e| panic!("{expr}: {e:?}"));
        let n = v.as_i64().unwrap_or_else(|| panic!("{expr}: {v}"));
        assert!((lo..hi).contains(&n), "{expr}: {n} not in [{lo}, {hi})");
        n
    }

    #[test]
    fn random_draws_in_half_open_range() {
        for _ in 0..200 {
            in_range("States.MathRandom(1, 3)", json!({}), 1, 3);
            in_range("States.MathRandom(1.6, 5.4)", json!({}), 1, 5);
            in_range("States.MathRandom(-99999, -9999)", json!({}), -99999, -9999);
            in_range("States.MathRandom(12.5, 44.51)", json!({}), 12, 44);
        }
        in_range(
            "States.MathRandom(-2147483647, 0)",
            json!({}),
            -2147483647,
            0,
        );
        let f = "States.MathRandom($.FunctionInput.fst, $.FunctionInput.snd, $.FunctionInput.trd)";
        let a = in_range(
            f,
            json!({"FunctionInput": {"fst": 0, "snd": 999, "trd": 3}}),
            0,
            999,
        );
        let b = in_range(
            f,
            json!({"FunctionInput": {"fst": 0, "snd": 999, "trd": 3}}),
            0,
            999,
        );
        assert_eq!(a, b);
        assert_eq!(a, 239);
        check("States.MathRandom(-5, 5, 42)", json!({}), json!(-5));
        check("States.MathRandom(-5, 5, 42.9)", json!({}), json!(-5));
        in_range("States.MathRandom(1, 10, -10)", json!({}), 1, 10);
        in_range("States.MathRandom(1, 10, 0)", json!({}), 1, 10);
        in_range(
            "States.MathRandom(2147483640, 2147483647, 1)",
            json!({}),
            2147483640,
            2147483647,
        );
        check("States.MathRandom(1, 2, 7)", json!({}), json!(1));
    }

    #[test]
    fn random_failures() {
        for expr in [
            "States.MathRandom(1, 1)",
            "States.MathRandom(10, 5)",
            "States.MathRandom(1.4, 1.6)",
            "States.MathRandom(1.49, 1.49)",
            "States.MathRandom('a', 10)",
            "States.MathRandom(1, 'b')",
            "States.MathRandom(1, 10, 'seed')",
            "States.MathRandom(1, 10, null)",
            "States.MathRandom(null, 10)",
            "States.MathRandom(1)",
            "States.MathRandom(1, 10, 5, 99)",
            "States.MathRandom(0, 3000000000)",
            // end - start overflows Java's int
            "States.MathRandom(-2147483648, 2147483647)",
        ] {
            check_invalid(expr, json!({}));
        }
    }
}
