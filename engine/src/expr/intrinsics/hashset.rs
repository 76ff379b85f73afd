//! Java `hashCode`/`equals` of JSON values as `java.util` objects, and the iteration order of a
//! `java.util.HashSet` built from a list, which is the order `States.ArrayUnique` returns.

use serde_json::{Number, Value};

/// `Object.hashCode` of the value as Jackson would build it (`Integer`, `Long`, `BigInteger`,
/// `Double`, `String`, `Boolean`, `ArrayList`, `LinkedHashMap`); `null` hashes to 0.
pub(super) fn hash_code(v: &Value) -> i32 {
    match v {
        Value::Null => 0,
        Value::Bool(true) => 1231,
        Value::Bool(false) => 1237,
        Value::Number(n) => number_hash(n),
        Value::String(s) => string_hash(s),
        Value::Array(items) => items.iter().fold(1i32, |h, item| {
            h.wrapping_mul(31).wrapping_add(hash_code(item))
        }),
        Value::Object(map) => map.iter().fold(0i32, |h, (k, item)| {
            h.wrapping_add(string_hash(k) ^ hash_code(item))
        }),
    }
}

fn string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

fn number_hash(n: &Number) -> i32 {
    if let Some(i) = n.as_i64() {
        if let Ok(small) = i32::try_from(i) {
            return small; // Integer
        }
        return long_hash(i as u64); // Long
    }
    if let Some(u) = n.as_u64() {
        // BigInteger: 31 * hash + each 32-bit magnitude word, times the signum (+1).
        let (hi, lo) = ((u >> 32) as u32, u as u32);
        return (hi as i32).wrapping_mul(31).wrapping_add(lo as i32);
    }
    // Double: doubleToLongBits folded.
    let d = n.as_f64().unwrap_or(f64::NAN);
    let bits = if d.is_nan() {
        0x7ff8_0000_0000_0000
    } else {
        d.to_bits()
    };
    long_hash(bits)
}

fn long_hash(bits: u64) -> i32 {
    (bits ^ (bits >> 32)) as u32 as i32
}

/// `Object.equals` of the Java objects: numbers of different Java classes differ (`1` and
/// `1.0`), maps compare regardless of key order, lists in order.
pub(super) fn equals(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.is_f64(), y.is_f64()) {
            (true, true) => {
                let bits = |n: &Number| n.as_f64().map(f64::to_bits);
                bits(x) == bits(y)
            }
            (false, false) => x == y,
            _ => false,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equals(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, p)| y.get(k).is_some_and(|q| equals(p, q)))
        }
        _ => a == b,
    }
}

/// The distinct values of `items` in the order `new ArrayList<>(new HashSet<>(items))` gives:
/// bucket by bucket of the table, insertion order within a bucket.
pub(super) fn hash_set_order(items: &[Value]) -> Vec<&Value> {
    // HashSet(Collection): HashMap(max((int) (n / .75f) + 1, 16)).
    let wanted = ((items.len() as f32 / 0.75) as usize)
        .saturating_add(1)
        .max(16);
    let mut set = JavaHashSet::with_capacity(wanted.checked_next_power_of_two().unwrap_or(1 << 30));
    for item in items {
        set.insert(item);
    }
    set.buckets.into_iter().flatten().map(|(_, v)| v).collect()
}

const TREEIFY_THRESHOLD: usize = 8;
const MIN_TREEIFY_CAPACITY: usize = 64;

/// The parts of `java.util.HashMap` that decide iteration order.
struct JavaHashSet<'a> {
    buckets: Vec<Vec<(u32, &'a Value)>>,
    len: usize,
}

impl<'a> JavaHashSet<'a> {
    fn with_capacity(capacity: usize) -> Self {
        JavaHashSet {
            buckets: vec![Vec::new(); capacity.max(1)],
            len: 0,
        }
    }

    fn spread(v: &Value) -> u32 {
        let h = hash_code(v) as u32;
        h ^ (h >> 16)
    }

    fn index(&self, hash: u32) -> usize {
        hash as usize & (self.buckets.len() - 1)
    }

    fn insert(&mut self, v: &'a Value) {
        let hash = Self::spread(v);
        let at = self.index(hash);
        let bucket = &mut self.buckets[at];
        if bucket.iter().any(|(h, e)| *h == hash && equals(e, v)) {
            return;
        }
        bucket.push((hash, v));
        // A bin reaching TREEIFY_THRESHOLD + 1 nodes makes a small table grow instead.
        // (Tree bins of large tables are approximated by insertion order.)
        if bucket.len() > TREEIFY_THRESHOLD && self.buckets.len() < MIN_TREEIFY_CAPACITY {
            self.grow();
        }
        self.len += 1;
        if self.len > self.buckets.len() / 4 * 3 {
            self.grow();
        }
    }

    /// Doubles the table; HashMap's split keeps each bucket's relative order, which is what
    /// re-inserting bucket by bucket gives.
    fn grow(&mut self) {
        let old = std::mem::take(&mut self.buckets);
        self.buckets = vec![Vec::new(); old.len() * 2];
        for (hash, v) in old.into_iter().flatten() {
            let at = self.index(hash);
            self.buckets[at].push((hash, v));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hash_codes_match_java() {
        assert_eq!(hash_code(&json!("a")), 97);
        assert_eq!(hash_code(&json!("hello")), 99162322);
        assert_eq!(hash_code(&json!("")), 0);
        assert_eq!(hash_code(&json!("🚀")), 0xD83D * 31 + 0xDE80);
        assert_eq!(hash_code(&json!(true)), 1231);
        assert_eq!(hash_code(&json!(false)), 1237);
        assert_eq!(hash_code(&json!(null)), 0);
        assert_eq!(hash_code(&json!(-5)), -5);
        assert_eq!(hash_code(&json!(4294967296i64)), 1); // Long.hashCode(1L << 32)
        assert_eq!(hash_code(&json!(-1i64 << 40)), -256); // Long.hashCode
        assert_eq!(hash_code(&json!(1.0)), 1072693248); // Double.hashCode(1.0)
        assert_eq!(hash_code(&json!(1.5)), 1073217536);
        assert_eq!(hash_code(&json!([1, 2])), 994);
        assert_eq!(hash_code(&json!([2, 1])), 1024);
        assert_eq!(hash_code(&json!([])), 1);
        assert_eq!(hash_code(&json!({"a": 1})), 97 ^ 1);
        assert_eq!(
            hash_code(&json!({"a": 1, "b": 2})),
            hash_code(&json!({"b": 2, "a": 1}))
        );
        assert_eq!(
            hash_code(&json!(9223372036854775808u64)),
            i32::MIN.wrapping_mul(31)
        );
    }

    #[test]
    fn equality_like_java() {
        assert!(equals(
            &json!({"a": 1, "b": [2]}),
            &json!({"b": [2], "a": 1})
        ));
        assert!(!equals(&json!(1), &json!(1.0)));
        assert!(!equals(&json!(0.0), &json!(-0.0)));
        assert!(equals(&json!(2.5), &json!(2.5)));
        assert!(!equals(&json!([1, 2]), &json!([2, 1])));
        assert!(!equals(&json!("1"), &json!(1)));
        assert!(equals(&json!(null), &json!(null)));
        assert!(!equals(&json!({"a": 1}), &json!({"a": 1, "b": null})));
    }

    fn order(items: Value) -> Value {
        let items = items.as_array().cloned().unwrap_or_default();
        Value::Array(hash_set_order(&items).into_iter().cloned().collect())
    }

    #[test]
    fn hash_set_iteration_order() {
        assert_eq!(order(json!([1, 2, 3, 3, 3, 4])), json!([1, 2, 3, 4]));
        assert_eq!(
            order(json!([true, false, true, false])),
            json!([false, true])
        );
        assert_eq!(
            order(json!([[1, 2], [1, 2], [2, 1]])),
            json!([[2, 1], [1, 2]])
        );
        assert_eq!(
            order(json!(["a", "b", "a", "c", "b"])),
            json!(["a", "b", "c"])
        );
        assert_eq!(order(json!([null, null, 1, null])), json!([null, 1]));
        assert_eq!(order(json!([1, "1", 1, "01"])), json!([1, "1", "01"]));
        assert_eq!(
            order(json!([{"a": 1, "b": 2}, {"b": 2, "a": 1}])),
            json!([{"a": 1, "b": 2}])
        );
        assert_eq!(order(json!([17, 1, 33])), json!([17, 1, 33]));
        assert_eq!(order(json!([])), json!([]));
        // 20 items: table of 32 buckets, so 17 lands after 16.
        let v: Vec<i64> = (0..20).rev().collect();
        let expected: Vec<i64> = (0..20).collect();
        assert_eq!(order(json!(v)), json!(expected));
    }

    #[test]
    fn colliding_bins_grow_a_small_table() {
        // Nine values in bucket 0 of a 16-bucket table: the ninth grows it to 32.
        let v: Vec<i64> = (0..9).map(|i| i * 16).collect();
        let got = order(json!(v));
        let expected: Vec<i64> = [0, 32, 64, 96, 128, 16, 48, 80, 112].to_vec();
        assert_eq!(got, json!(expected));
    }
}
