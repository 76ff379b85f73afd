//! `asl executions`: stored executions, newest first.

use crate::args::ExecutionsArgs;
use crate::render;
use asl::history::iso;
use asl::history::store::{ExecutionFilter, Store};
use serde_json::json;

pub fn run(a: ExecutionsArgs, store: &Store) -> anyhow::Result<i32> {
    let list = store.list_executions(&ExecutionFilter {
        status: a.status.clone(),
        state_machine: a.state_machine.clone(),
        parent_arn: None,
        limit: Some(a.limit),
    })?;
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
                v
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"executions": executions}))?
        );
        return Ok(0);
    }
    if list.is_empty() {
        println!("no executions");
        return Ok(0);
    }
    let mut t = render::table(&["name", "state machine", "status", "started", "duration"]);
    for r in &list {
        let duration = r
            .stop
            .map(|s| render::duration((s - r.start).num_milliseconds()))
            .unwrap_or_else(|| "running".into());
        t.add_row(vec![
            r.name.clone(),
            r.state_machine_name.clone(),
            r.status.clone(),
            r.start.format("%Y-%m-%d %H:%M:%S").to_string(),
            duration,
        ]);
    }
    println!("{t}");
    Ok(0)
}
