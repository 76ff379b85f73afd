//! `asl executions`: stored executions, newest first.

use crate::args::ExecutionsArgs;
use crate::render;
use asl::history::iso;
use asl::history::store::{ExecutionFilter, Store};
use serde_json::json;

pub fn run(a: ExecutionsArgs, store: &Store) -> anyhow::Result<i32> {
    // SQLite's LIMIT is a 64-bit signed integer.
    let limit = usize::try_from(a.limit)
        .unwrap_or(usize::MAX)
        .min(i64::MAX as usize - 1);
    // A token is for the listing it was given with (the same filters), as AWS's are.
    let tag = listing_tag(&a);
    // A token names the last execution of the page before: executions started meanwhile
    // shift nothing.
    let after = match &a.next_token {
        None => None,
        Some(t) => match t.rsplit_once('|') {
            Some((arn, g)) if g == tag && !arn.is_empty() => Some(arn.to_string()),
            Some((_, g)) if g.len() == tag.len() && g.bytes().all(|b| b.is_ascii_hexdigit()) => {
                anyhow::bail!(
                    "InvalidToken: --next-token {t:?} was given for another listing (--status, --state-machine, --map-run)"
                )
            }
            _ => {
                anyhow::bail!("InvalidToken: --next-token {t:?} is not a token asl executions gave")
            }
        },
    };
    if let Some(a) = &after {
        if store.get_execution(a).is_err() {
            anyhow::bail!("InvalidToken: the execution --next-token names is gone (pruned?): start the listing again");
        }
    }
    // A Map Run that is not stored is an error, not an empty listing (ListExecutions'
    // ResourceNotFound).
    if let Some(run) = &a.map_run {
        if store.map_run(run)?.is_none() {
            anyhow::bail!("--map-run {run:?}: no Map Run has this ARN");
        }
    }
    let mut list = store.list_executions(&ExecutionFilter {
        status: a.status.clone(),
        state_machine: a.state_machine.clone(),
        parent_arn: None,
        // One more than shown, to tell whether there are more.
        limit: Some(limit.saturating_add(1)),
        map_run_arn: a.map_run.clone(),
        without_map_run_children: a.map_run.is_none(),
        after_arn: after,
    })?;
    let more = list.len() > limit;
    list.truncate(limit);
    // ListExecutions' nextToken: where the next page starts.
    let next = more
        .then(|| list.last().map(|r| format!("{}|{tag}", r.arn)))
        .flatten();
    if a.json {
        let executions: Vec<_> = list
            .iter()
            .map(|r| {
                let mut v = json!({
                    "executionArn": r.arn, "stateMachineArn": r.state_machine_arn, "name": r.name,
                    "status": r.status, "startDate": iso(r.start), "redriveCount": r.redrive_count,
                });
                if let Some(s) = r.stop {
                    v["stopDate"] = json!(iso(s));
                }
                if let Some(d) = r.redrive {
                    v["redriveDate"] = json!(iso(d));
                }
                if let Some(m) = r.options.get("mapRunArn") {
                    v["mapRunArn"] = m.clone();
                }
                // A DISTRIBUTED Map's progress (DescribeMapRun's item counts).
                let runs = store.map_runs(&r.arn).unwrap_or_default();
                if !runs.is_empty() {
                    v["mapRuns"] = json!(runs
                        .iter()
                        .map(
                            |m| json!({"mapRunArn": m["mapRunArn"], "status": m["status"],
                                        "itemCounts": m["itemCounts"]})
                        )
                        .collect::<Vec<_>>());
                }
                v
            })
            .collect();
        let mut page = json!({"executions": executions});
        if let Some(t) = &next {
            page["nextToken"] = json!(t);
        }
        outln!("{}", serde_json::to_string_pretty(&page)?);
        return Ok(0);
    }
    if list.is_empty() {
        outln!("no executions");
        return Ok(0);
    }
    // Map Runs' progress: items succeeded, failed and pending of the total read so far.
    let progress: Vec<String> = list
        .iter()
        .map(|r| {
            store
                .map_runs(&r.arn)
                .unwrap_or_default()
                .iter()
                .map(|m| {
                    let c = &m["itemCounts"];
                    format!(
                        "map run {}: {}/{} items succeeded, {} failed, {} pending",
                        m["status"].as_str().unwrap_or(""),
                        c["succeeded"],
                        c["total"],
                        c["failed"],
                        c["pending"].as_u64().unwrap_or(0) + c["running"].as_u64().unwrap_or(0)
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .collect();
    let with_progress = progress.iter().any(|p| !p.is_empty());
    let mut header = vec!["name", "state machine", "status", "started", "duration"];
    if with_progress {
        header.push("progress");
    }
    let mut t = render::table(&header);
    for (r, p) in list.iter().zip(&progress) {
        let duration = r
            .stop
            .map(|s| render::duration((s - r.start).num_milliseconds()))
            .unwrap_or_else(|| "running".into());
        let mut row = vec![
            r.name.clone(),
            r.state_machine_name.clone(),
            r.status.clone(),
            r.start.format("%Y-%m-%d %H:%M:%S").to_string(),
            duration,
        ];
        if with_progress {
            row.push(p.clone());
        }
        t.add_row(row);
    }
    outln!("{t}");
    if let Some(t) = &next {
        outln!(
            "(the newest {limit}; there are more: --next-token {t} shows the next ones, --limit N more at once, --status and --state-machine narrow)"
        );
    }
    Ok(0)
}

/// What a page token is tied to: the filters of the listing (FNV-1a, in hex).
fn listing_tag(a: &ExecutionsArgs) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for part in [&a.status, &a.state_machine, &a.map_run] {
        for b in part.as_deref().unwrap_or("").bytes().chain([0xff]) {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
    }
    format!("{h:08x}")
}
