//! The functions AWS Step Functions adds to JSONata: $partition, $range, $hash, $random,
//! $uuid and $parse.

use super::{Error, Functions};
use serde_json::Value as Json;

fn num(v: &Option<Json>) -> Option<f64> {
    v.as_ref().and_then(|j| j.as_f64())
}

fn json_num(n: f64) -> Json {
    super::value::number_to_json(n).unwrap_or(Json::Null)
}

/// `$partition(array, size)`: chunks of `size` items, the last one possibly shorter.
pub fn partition(args: &[Option<Json>]) -> Result<Option<Json>, Error> {
    let items: Vec<Json> = match args.first() {
        Some(Some(Json::Array(a))) => a.clone(),
        Some(Some(other)) => vec![other.clone()],
        _ => return Ok(None),
    };
    // "Built-in JSONata functions that require integer values as parameters will
    // automatically round down any non-integer numbers provided" (AWS).
    let size = num(args.get(1).unwrap_or(&None)).unwrap_or(0.0).trunc();
    if size.is_nan() || size < 1.0 {
        return Err(Error::msg(
            "D3020",
            "The size argument of $partition must be a positive integer",
        ));
    }
    let chunks = items
        .chunks(size as usize)
        .map(|c| Json::Array(c.to_vec()))
        .collect();
    Ok(Some(Json::Array(chunks)))
}

/// `$range(start, end, step)`: numbers from start to end inclusive (step defaults to 1).
pub fn range(args: &[Option<Json>]) -> Result<Option<Json>, Error> {
    let (Some(start), Some(end)) = (num(&args[0]), num(args.get(1).unwrap_or(&None))) else {
        return Ok(None);
    };
    let step = num(args.get(2).unwrap_or(&None)).unwrap_or(1.0);
    // Integers, as AWS makes them: non-integers lose their fraction ($range(-1.7, 2, 1) is
    // [-1, 0, 1, 2], measured against AWS).
    let (start, end, step) = (start.trunc(), end.trunc(), step.trunc());
    if step == 0.0 || !step.is_finite() || !start.is_finite() || !end.is_finite() {
        return Err(Error::msg(
            "D3020",
            "The step argument of $range must be a non-zero integer (fractions are dropped)",
        ));
    }
    let mut out = Vec::new();
    let mut i = 0f64;
    loop {
        let v = start + i * step;
        if (step > 0.0 && v > end) || (step < 0.0 && v < end) {
            break;
        }
        if out.len() >= 1_000_000 {
            return Err(Error::msg(
                "D2014",
                "The $range function would allocate more than 1000000 items",
            ));
        }
        out.push(json_num(v));
        i += 1.0;
    }
    // AWS returns a sequence, which JSONata's singleton rule turns into its one item
    // (recorded: `$range(1, 9, 9)` is `1`).
    if out.len() == 1 {
        return Ok(out.pop());
    }
    Ok(Some(Json::Array(out)))
}

/// `$hash(value, algorithm)`: lowercase hex digest of the UTF-8 string.
pub fn hash(args: &[Option<Json>]) -> Result<Option<Json>, Error> {
    use sha2::Digest;
    let Some(Some(Json::String(s))) = args.first() else {
        return Ok(None);
    };
    let alg = match args.get(1) {
        Some(Some(Json::String(a))) => a.as_str(),
        _ => "SHA-256",
    };
    let bytes = s.as_bytes();
    let digest: Vec<u8> = match alg {
        "MD5" => md5::Md5::digest(bytes).to_vec(),
        "SHA-1" => sha1::Sha1::digest(bytes).to_vec(),
        "SHA-256" => sha2::Sha256::digest(bytes).to_vec(),
        "SHA-384" => sha2::Sha384::digest(bytes).to_vec(),
        "SHA-512" => sha2::Sha512::digest(bytes).to_vec(),
        other => {
            return Err(Error::msg(
                "D3137",
                format!(
                "Unsupported hash algorithm '{other}': use MD5, SHA-1, SHA-256, SHA-384 or SHA-512"
            ),
            ))
        }
    };
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok(Some(Json::String(hex)))
}

/// `$random()` / `$random(seed)`: a number in [0, 1); the same seed gives the same number.
pub fn random(args: &[Option<Json>]) -> Result<Option<Json>, Error> {
    let v: f64 = match args.first() {
        // AWS draws a seeded number as java.util.Random does ($random(42) is
        // 0.7275636800328681 there, Random(42).nextDouble()).
        Some(Some(Json::Number(n))) => {
            let seed = n
                .as_i64()
                .unwrap_or_else(|| n.as_f64().unwrap_or(0.0) as i64);
            java_random_double(seed)
        }
        // Not an integer: a seed of its text, the same each time.
        Some(Some(other)) => {
            let text = other.to_string();
            let h = text.bytes().fold(0xcbf29ce484222325u64, |h, b| {
                (h ^ b as u64).wrapping_mul(0x100000001b3)
            });
            java_random_double(h as i64)
        }
        _ => rand::random::<f64>(),
    };
    Ok(Some(json_num(v)))
}

/// The first `nextDouble()` of a `java.util.Random` made with `seed`: the 48-bit linear
/// congruential generator its documentation specifies.
fn java_random_double(seed: i64) -> f64 {
    const MULTIPLIER: u64 = 0x5_DEEC_E66D;
    const MASK: u64 = (1 << 48) - 1;
    let mut state = (seed as u64 ^ MULTIPLIER) & MASK;
    let mut next = |bits: u32| {
        state = state.wrapping_mul(MULTIPLIER).wrapping_add(0xB) & MASK;
        state >> (48 - bits)
    };
    let high = next(26);
    let low = next(27);
    ((high << 27) + low) as f64 / (1u64 << 53) as f64
}

/// `$uuid()`: a version 4 UUID.
pub fn uuid(_: &[Option<Json>]) -> Result<Option<Json>, Error> {
    Ok(Some(Json::String(uuid::Uuid::new_v4().to_string())))
}

/// `$parse(jsonString)`: the JSON value the string holds.
pub fn parse(args: &[Option<Json>]) -> Result<Option<Json>, Error> {
    let Some(Some(Json::String(s))) = args.first() else {
        return Ok(None);
    };
    serde_json::from_str::<Json>(s).map(Some).map_err(|e| {
        Error::msg(
            "D3137",
            format!("$parse: the argument is not valid JSON: {e}"),
        )
    })
}

type Body = fn(&[Option<Json>]) -> Result<Option<Json>, Error>;

/// Adds the six functions to a registry.
pub fn register(f: &mut Functions) {
    let reg = |f: &mut Functions, name: &str, sig: &str, body: Body| {
        f.register(name, Some(sig), body)
            .expect("valid built-in signature");
    };
    reg(f, "partition", "<an:a>", partition);
    reg(f, "range", "<nnn?:a<n>>", range);
    reg(f, "hash", "<s-s?:s>", hash);
    reg(f, "random", "<j?:n>", random);
    reg(f, "uuid", "<:s>", uuid);
    reg(f, "parse", "<s-:j>", parse);
}
