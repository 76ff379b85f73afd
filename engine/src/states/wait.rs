//! Wait: how long, from `Seconds`, `SecondsPath`, `Timestamp` or `TimestampPath`.

use crate::definition::model::Wait;
use crate::definition::parse_timestamp_pub as parse_timestamp;
use crate::expr::Env;
use crate::failure::Failure;
use chrono::{DateTime, FixedOffset, Utc};
use serde_json::Value;
use std::time::Duration;

/// "an integer value from 0 to 99999999" (AWS, Wait `Seconds`).
pub const MAX_SECONDS: u64 = 99_999_999;

pub fn delay(w: &Wait, env: &Env, now: DateTime<Utc>) -> Result<Duration, Failure> {
    match w {
        Wait::Seconds(s) => Ok(Duration::from_secs(*s)),
        Wait::Timestamp(t) => Ok(until(*t, now)),
        Wait::SecondsPath(p) => {
            let v = p.eval(env).map_err(|_| {
                Failure::runtime(format!(
                    "The SecondsPath parameter does not reference an input value: {}",
                    p.as_str()
                ))
            })?;
            match v.as_ref() {
                Value::Number(n) if n.as_u64().is_some() => {
                    Ok(Duration::from_secs(n.as_u64().unwrap_or(0)))
                }
                Value::Number(n) if n.as_f64().is_some_and(|f| f >= 0.0 && f.fract() == 0.0) => {
                    // Past what a Duration holds (1e300 s): as long as a wait can be.
                    Ok(Duration::try_from_secs_f64(n.as_f64().unwrap_or(0.0))
                        .unwrap_or(Duration::MAX))
                }
                _ => Err(Failure::runtime(format!(
                    "The SecondsPath parameter references an invalid value: {} == {}",
                    p.as_str(),
                    crate::expr::template::compact(&v)
                ))),
            }
        }
        Wait::SecondsJsonata(t) => {
            let v = env.jsonata(t, "Seconds")?;
            // "must evaluate to an integer in the stated range" (0 to 99999999).
            match v.as_u64().filter(|n| *n <= MAX_SECONDS) {
                Some(n) => Ok(Duration::from_secs(n)),
                None => Err(crate::expr::jtemplate::query_error(format!(
                    "The Seconds field must be an integer from 0 to 99999999, but was {}",
                    crate::expr::template::compact(&v)
                ))),
            }
        }
        Wait::TimestampJsonata(t) => {
            let v = env.jsonata(t, "Timestamp")?;
            let text = match &v {
                Value::String(s) => s.clone(),
                other => crate::expr::template::compact(other),
            };
            match parse_timestamp(&text) {
                Some(t) => Ok(until(t, now)),
                None => Err(crate::expr::jtemplate::query_error(format!(
                    "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {text}"
                ))),
            }
        }
        Wait::TimestampPath(p) => {
            let v = p.eval(env).map_err(|_| {
                Failure::runtime(format!(
                    "The TimestampPath parameter does not reference an input value: {}",
                    p.as_str()
                ))
            })?;
            let text = match v.as_ref() {
                Value::String(s) => s.clone(),
                other => crate::expr::template::compact(other),
            };
            match parse_timestamp(&text) {
                Some(t) => Ok(until(t, now)),
                None => Err(Failure::runtime(format!(
                    "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {}",
                    p.as_str(),
                    text
                ))),
            }
        }
    }
}

/// Until `t`, to the second: "Step Functions considers the time value up to seconds and
/// truncates milliseconds" (AWS, Wait `Timestamp`).
fn until(t: DateTime<FixedOffset>, now: DateTime<Utc>) -> Duration {
    let t = t.with_timezone(&Utc);
    let whole = DateTime::<Utc>::from_timestamp(t.timestamp(), 0).unwrap_or(t);
    (whole - now).to_std().unwrap_or(Duration::ZERO)
}
