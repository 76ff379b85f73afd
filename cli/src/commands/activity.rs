//! `asl activity create|list|describe|delete|get-task`: activities and their workers, through
//! the database, so that a worker may run in any process while the execution waits.

use crate::args::ActivityCommand;
use crate::render;
use asl::history::activities::Activity;
use asl::history::store::{owner_alive, Store};
use serde_json::json;
use std::time::{Duration, Instant};

/// How often `get-task` looks for a task while it waits.
const POLL: Duration = Duration::from_millis(50);

pub fn run(c: ActivityCommand, store: &Store) -> anyhow::Result<i32> {
    match c {
        ActivityCommand::Create { name, json } => {
            let a = store.create_activity(&name)?;
            if json {
                let v = json!({"activityArn": a.arn, "creationDate": a.to_aws()["creationDate"]});
                outln!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                outln!("{}", a.arn);
            }
        }
        ActivityCommand::List { json } => {
            let all = store.list_activities()?;
            if json {
                let items: Vec<_> = all.iter().map(Activity::to_aws).collect();
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&json!({"activities": items}))?
                );
            } else {
                outln!("{}", table(&all));
            }
        }
        ActivityCommand::Describe { activity, json } => {
            let a = store.describe_activity(&activity)?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&a.to_aws())?);
            } else {
                outln!("{}", table(std::slice::from_ref(&a)));
            }
        }
        ActivityCommand::Delete { activity } => {
            let arn = match store.describe_activity(&activity) {
                Ok(a) => a.arn,
                // Deleting what does not exist succeeds, as AWS's DeleteActivity does.
                Err(asl::history::store::StoreError::ActivityDoesNotExist(arn)) => arn,
                Err(e) => return Err(e.into()),
            };
            store.delete_activity(&arn)?;
        }
        ActivityCommand::GetTask {
            activity,
            worker_name,
            wait_seconds,
        } => {
            let arn = store.describe_activity(&activity)?.arn;
            let deadline = Instant::now() + Duration::from_secs_f64(wait_seconds);
            let task = loop {
                if let Some(t) =
                    store.take_activity_task(&arn, worker_name.as_deref(), owner_alive)?
                {
                    break Some(t);
                }
                let now = Instant::now();
                if now >= deadline {
                    break None;
                }
                std::thread::sleep(POLL.min(deadline - now));
            };
            // GetActivityTask's answer: no task is an answer without a token.
            let v = match task {
                Some(t) => json!({"taskToken": t.token, "input": t.input}),
                None => json!({}),
            };
            outln!("{}", serde_json::to_string_pretty(&v)?);
        }
    }
    Ok(0)
}

fn table(all: &[Activity]) -> comfy_table::Table {
    let mut t = render::table(&["name", "created", "activity ARN"]);
    for a in all {
        t.add_row(vec![
            a.name.clone(),
            a.to_aws()["creationDate"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            a.arn.clone(),
        ]);
    }
    t
}
