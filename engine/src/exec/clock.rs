//! Time, injected: the real clock (optionally scaled, `--wait-scale`) and a virtual clock for
//! tests, on tokio's paused time, where every wait completes at once and in deadline order.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

thread_local! {
    /// The last day this thread turned into a date: (days since 1970, its date).
    static DAY: Cell<(u64, Option<NaiveDate>)> = const { Cell::new((u64::MAX, None)) };
}

/// `t` in UTC, as `DateTime::from(t)` gives it, without chrono's calendar arithmetic on every
/// call: each event of a history reads the clock, and the date changes once a day. The date is
/// worked out once a day per thread, the time of day from the seconds.
pub fn utc(t: std::time::SystemTime) -> DateTime<Utc> {
    let Ok(since) = t.duration_since(std::time::UNIX_EPOCH) else {
        return DateTime::from(t);
    };
    let secs = since.as_secs();
    let day = secs / 86_400;
    let date = DAY.with(|c| match c.get() {
        (d, Some(date)) if d == day => Some(date),
        _ => {
            let date = i64::try_from(day * 86_400)
                .ok()
                .and_then(|s| DateTime::from_timestamp(s, 0))
                .map(|t| t.date_naive());
            c.set((day, date));
            date
        }
    });
    let time =
        NaiveTime::from_num_seconds_from_midnight_opt((secs % 86_400) as u32, since.subsec_nanos());
    match (date, time) {
        (Some(date), Some(time)) => date.and_time(time).and_utc(),
        _ => DateTime::from(t),
    }
}

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
    /// Waits `d` of workflow time.
    fn sleep(&self, d: Duration) -> Sleep;
    /// Ends after a time limit of `d` (`TimeoutSeconds`, `HeartbeatSeconds`): as long as a
    /// sleep, unless sleeps take no time at all, when a limit keeps its real length (work
    /// that takes real time, a function or an HTTP call, must not time out at once).
    fn limit(&self, d: Duration) -> Sleep {
        self.sleep(d)
    }
    /// How long a sleep of `d` of workflow time lasts on this clock.
    fn scaled(&self, d: Duration) -> Duration {
        d
    }
    /// Waits `d` as this clock's `now` counts it (what is left of a sleep begun before).
    fn sleep_as_now_counts(&self, d: Duration) -> Sleep {
        self.sleep(d)
    }
}

/// Wall-clock time; sleeps last `scale` times as long (0 makes them instantaneous).
pub struct SystemClock {
    pub scale: f64,
}

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        utc(std::time::SystemTime::now())
    }

    fn sleep(&self, d: Duration) -> Sleep {
        // A wait too long for a Duration (1e300 s) never ends.
        let Ok(scaled) = Duration::try_from_secs_f64(d.as_secs_f64() * self.scale.max(0.0)) else {
            return Box::pin(std::future::pending());
        };
        if scaled.is_zero() {
            return Box::pin(std::future::ready(()));
        }
        Box::pin(tokio::time::sleep(scaled))
    }

    fn limit(&self, d: Duration) -> Sleep {
        if self.scale > 0.0 {
            self.sleep(d)
        } else {
            Box::pin(tokio::time::sleep(d))
        }
    }

    fn scaled(&self, d: Duration) -> Duration {
        Duration::try_from_secs_f64(d.as_secs_f64() * self.scale.max(0.0)).unwrap_or(Duration::MAX)
    }

    fn sleep_as_now_counts(&self, d: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(d))
    }
}

/// Virtual time: starts at `start` and moves only as tokio's (paused) time does. In a runtime
/// built with `start_paused(true)`, tokio jumps to the next deadline whenever every task waits,
/// so an hour-long Wait takes no real time and time-outs still race as they would.
pub struct VirtualClock {
    start: DateTime<Utc>,
    origin: tokio::time::Instant,
}

impl VirtualClock {
    /// Must be created inside the paused runtime.
    pub fn new(start: DateTime<Utc>) -> Self {
        VirtualClock {
            start,
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = tokio::time::Instant::now() - self.origin;
        self.start + chrono::Duration::from_std(elapsed).unwrap_or(chrono::Duration::MAX)
    }

    fn sleep(&self, d: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    #[test]
    fn utc_is_chronos_conversion_across_days_and_leap_years() {
        // Within a day, across midnight, on leap days, before 1970, and now.
        let mut times: Vec<SystemTime> = [
            0u64,
            86_399,
            86_400,
            951_782_399,   // 2000-02-28T23:59:59
            951_868_800,   // 2000-03-01
            1_709_164_800, // 2024-02-29
            4_102_444_799, // 2099-12-31T23:59:59
        ]
        .iter()
        .flat_map(|&s| {
            [0u32, 1, 999_999_999]
                .map(|n| UNIX_EPOCH + Duration::new(s, n))
                .into_iter()
        })
        .collect();
        times.push(UNIX_EPOCH - Duration::from_secs(86_401));
        times.push(SystemTime::now());
        // Back and forth, so that the day kept from one call is checked against the next.
        for t in times.iter().chain(times.iter().rev()) {
            assert_eq!(utc(*t), DateTime::<Utc>::from(*t), "{t:?}");
        }
    }
}
