//! `asl stop EXEC`: asks the process running an execution to abort it; an execution whose
//! process is gone is aborted directly.

use crate::args::StopArgs;
use anyhow::bail;
use asl::history::store::Store;
use std::time::{Duration, Instant};

pub fn run(a: StopArgs, store: &Store) -> anyhow::Result<i32> {
    // StopExecution's limits.
    for (flag, value, max) in [("--error", &a.error, 256), ("--cause", &a.cause, 32_768)] {
        if let Some(n) = value
            .as_ref()
            .map(|v| v.chars().count())
            .filter(|n| *n > max)
        {
            bail!("{flag} has {n} characters; StopExecution takes at most {max}");
        }
    }
    let r = store.find_execution(&a.execution)?;
    if r.status != "RUNNING" {
        bail!("{} is not running (it is {})", r.arn, r.status);
    }
    if !owned(&r) {
        abort_gone(store, &r, a.error.as_deref(), a.cause.as_deref())?;
        outln!("ABORTED  {}", r.arn);
        return Ok(0);
    }
    let error = a.error.as_deref().unwrap_or("");
    let cause = a.cause.as_deref().unwrap_or("");
    store.request_stop(&r.arn, error, cause)?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let now = store.get_execution(&r.arn)?;
        if now.status != "RUNNING" {
            outln!("{}  {}", now.status, r.arn);
            return Ok(0);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!(
        "asked process {} to stop {}, but it has not stopped within 10 s",
        r.owner_pid.unwrap_or(0),
        r.arn
    )
}

/// Aborts an execution whose process is gone, with the stop's error and cause; the children
/// it ran are gone with it and end too.
pub fn abort_gone(
    store: &Store,
    r: &asl::history::store::ExecutionRecord,
    error: Option<&str>,
    cause: Option<&str>,
) -> anyhow::Result<()> {
    for e in store.family(&r.arn)? {
        if e.status == "RUNNING" && !owned(&e) {
            let own = e.arn == r.arn;
            store.abort_orphan(&e.arn, error.filter(|_| own), cause.filter(|_| own))?;
        }
    }
    Ok(())
}

/// Whether the process that runs an execution is still there: its id, and (for executions
/// recorded since asl stores it) the same process, not a later one given the same id.
pub fn owned(r: &asl::history::store::ExecutionRecord) -> bool {
    r.owner_pid
        .is_some_and(|p| asl::history::store::owner_alive(p, r.owner_start.as_deref()))
}
