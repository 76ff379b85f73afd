//! `asl prune --older-than 7d`: deletes executions that ended longer ago, with their events.

use crate::args::PruneArgs;
use anyhow::bail;
use asl::history::store::Store;

pub fn run(a: PruneArgs, store: &Store) -> anyhow::Result<i32> {
    let age = parse_age(&a.older_than)?;
    // An age reaching before the calendar's start means every execution.
    let before = chrono::Utc::now()
        .checked_sub_signed(age)
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
    let n = store.prune(before)?;
    outln!(
        "pruned {n} execution(s) that ended more than {} ago",
        a.older_than
    );
    Ok(0)
}

/// `7d`, `12h`, `30m`, `45s`.
fn parse_age(s: &str) -> anyhow::Result<chrono::Duration> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n = match num.parse::<i64>() {
        Ok(n) => n,
        Err(e) if *e.kind() == std::num::IntErrorKind::PosOverflow => {
            bail!("--older-than {s:?}: too long an age")
        }
        Err(_) => {
            bail!("--older-than {s:?}: expected a number and a unit, such as 7d, 12h, 30m or 45s")
        }
    };
    let age = match unit {
        "d" => chrono::Duration::try_days(n),
        "h" => chrono::Duration::try_hours(n),
        "m" => chrono::Duration::try_minutes(n),
        "s" => chrono::Duration::try_seconds(n),
        _ => bail!(
            "--older-than {s:?}: expected a whole number and one unit (d, h, m or s), such as 7d or 36h"
        ),
    };
    match age {
        Some(age) => Ok(age),
        None => bail!("--older-than {s:?}: too long an age"),
    }
}
