//! Time, injected: the real clock (optionally scaled, `--wait-scale`) and a virtual clock for
//! tests, on tokio's paused time, where every wait completes at once and in deadline order.

use chrono::{DateTime, Utc};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

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
}

/// Wall-clock time; sleeps last `scale` times as long (0 makes them instantaneous).
pub struct SystemClock {
    pub scale: f64,
}

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
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
