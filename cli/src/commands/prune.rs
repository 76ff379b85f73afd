//! `asl prune --older-than 7d`: deletes executions that ended longer ago, with their events.

use crate::args::PruneArgs;
use anyhow::bail;
use asl::history::store::Store;

pub fn run(a: PruneArgs, store: &Store) -> anyhow::Result<i32> {
    let age = parse_age(&a.older_than)?;
    let n = store.prune(chrono::Utc::now() - age)?;
    outln!(
        "pruned {n} execution(s) that ended more than {} ago",
        a.older_than
    );
    Ok(0)
}

/// `7d`, `12h`, `30m`, `45s`.
fn parse_age(s: &str) -> anyhow::Result<chrono::Duration> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let Ok(n) = num.parse::<i64>() else {
        bail!("--older-than {s:?}: expected a number and a unit, such as 7d, 12h, 30m or 45s");
    };
    Ok(match unit {
        "d" => chrono::Duration::days(n),
        "h" => chrono::Duration::hours(n),
        "m" => chrono::Duration::minutes(n),
        "s" => chrono::Duration::seconds(n),
        _ => bail!("--older-than {s:?}: the unit must be d, h, m or s"),
    })
}
