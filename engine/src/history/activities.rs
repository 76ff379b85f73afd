//! Activities (CreateActivity, DescribeActivity, ListActivities, DeleteActivity) and their
//! tasks: a Task state whose resource is an activity queues its input under a task token,
//! which a worker takes with GetActivityTask (`asl activity get-task`, from any process) and
//! completes with SendTaskSuccess/Failure/Heartbeat (`asl task ...`).

use super::store::{ms, sql, write_tx, Result, Store, StoreError};
use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{params, OptionalExtension};
use serde_json::{json, Value};

/// An activity, as DescribeActivity gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    pub arn: String,
    pub name: String,
    pub created: DateTime<Utc>,
}

impl Activity {
    /// DescribeActivity's (and ListActivities' items') shape.
    pub fn to_aws(&self) -> Value {
        json!({
            "activityArn": self.arn,
            "name": self.name,
            "creationDate": super::iso(self.created),
        })
    }
}

/// The ARN AWS gives the activity `name` in this engine's region and account.
pub fn activity_arn(name: &str) -> String {
    format!(
        "arn:aws:states:{}:{}:activity:{name}",
        crate::exec::REGION,
        crate::exec::ACCOUNT
    )
}

/// The name in an activity ARN (`arn:aws:states:REGION:ACCOUNT:activity:NAME`), or `None`
/// when `resource` is not one.
pub fn activity_name(resource: &str) -> Option<&str> {
    // Every Task asks (an HTTP load asks thousands of times a second): most are not.
    if !resource.contains(":activity:") {
        return None;
    }
    let parts: Vec<&str> = resource.splitn(7, ':').collect();
    match parts.as_slice() {
        ["arn", _, "states", region, account, "activity", name]
            if !region.is_empty() && !account.is_empty() && !name.is_empty() =>
        {
            Some(name)
        }
        _ => None,
    }
}

/// A task taken by a worker: GetActivityTask's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityTask {
    pub token: String,
    /// The task's input, as JSON text.
    pub input: String,
}

fn activity_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<Activity> {
    let created: i64 = r.get(2)?;
    Ok(Activity {
        arn: r.get(0)?,
        name: r.get(1)?,
        created: Utc
            .timestamp_millis_opt(created)
            .single()
            .unwrap_or_default(),
    })
}

impl Store {
    /// CreateActivity: idempotent, as AWS's (the same name gives the same activity).
    pub fn create_activity(&self, name: &str) -> Result<Activity> {
        if crate::exec::name_problem(name).is_some() {
            return Err(StoreError::InvalidName(name.to_string()));
        }
        let arn = activity_arn(name);
        self.with(|c| {
            c.execute(
                "INSERT INTO activities (arn, name, created_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT(arn) DO NOTHING",
                params![arn, name, ms(Utc::now())],
            )
            .map_err(sql)?;
            Ok(())
        })?;
        self.describe_activity(&arn)
    }

    /// DescribeActivity, by ARN or by name.
    pub fn describe_activity(&self, key: &str) -> Result<Activity> {
        let arn = if key.starts_with("arn:") {
            key.to_string()
        } else {
            activity_arn(key)
        };
        self.with(|c| {
            c.query_row(
                "SELECT arn, name, created_ms FROM activities WHERE arn = ?1",
                [&arn],
                activity_of,
            )
            .optional()
            .map_err(sql)?
            .ok_or(StoreError::ActivityDoesNotExist(arn.clone()))
        })
    }

    /// ListActivities: oldest first.
    pub fn list_activities(&self) -> Result<Vec<Activity>> {
        self.with(|c| {
            let mut q = c
                .prepare("SELECT arn, name, created_ms FROM activities ORDER BY created_ms, name")
                .map_err(sql)?;
            let rows = q.query_map([], activity_of).map_err(sql)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql)
        })
    }

    /// DeleteActivity: succeeds whether or not the activity exists, as AWS's does. Tasks
    /// already queued stay where they are (their executions time out or are stopped).
    pub fn delete_activity(&self, arn: &str) -> Result<()> {
        self.with(|c| {
            c.execute("DELETE FROM activities WHERE arn = ?1", [arn])
                .map_err(sql)?;
            c.execute_batch(super::machines::END_DELETIONS)
                .map_err(sql)?;
            Ok(())
        })
    }

    /// Queues an activity task under `token` for a worker to take. `Ok(false)`: the activity
    /// does not exist (nothing is queued).
    pub fn queue_activity_task(
        &self,
        token: &str,
        execution_arn: &str,
        state: &str,
        instance: Option<&str>,
        activity_arn: &str,
        input: &str,
    ) -> Result<bool> {
        self.with(|c| {
            let tx = write_tx(c)?;
            let exists = tx
                .query_row(
                    "SELECT 1 FROM activities WHERE arn = ?1",
                    [activity_arn],
                    |_| Ok(()),
                )
                .optional()
                .map_err(sql)?
                .is_some();
            if !exists {
                return Ok(false);
            }
            // An answer carried over from the attempt's earlier run is told to the task
            // like any other; there is nothing to send.
            super::store::insert_token(
                &tx,
                token,
                execution_arn,
                state,
                instance,
                Some((activity_arn, input)),
            )?;
            tx.commit().map_err(sql)?;
            Ok(true)
        })
    }

    /// GetActivityTask, one try: takes the oldest task queued for the activity whose execution
    /// still runs (`alive` tells whether its process exists), recording the worker's name.
    /// `Ok(None)`: nothing is queued.
    pub fn take_activity_task(
        &self,
        activity_arn: &str,
        worker: Option<&str>,
        alive: impl Fn(u32, Option<&str>) -> bool,
    ) -> Result<Option<ActivityTask>> {
        self.describe_activity(activity_arn)?;
        self.with(|c| {
            // Read first: a worker polling an idle activity takes no write lock.
            let queued = c
                .query_row(
                    "SELECT 1 FROM task_tokens
                     WHERE activity_arn = ?1 AND status = 'WAITING' AND started_ms IS NULL LIMIT 1",
                    [activity_arn],
                    |_| Ok(()),
                )
                .optional()
                .map_err(sql)?;
            if queued.is_none() {
                return Ok(None);
            }
            let tx = write_tx(c)?;
            type Row = (String, Option<String>, Option<u32>, Option<String>);
            let queued: Vec<Row> = {
                let mut q = tx
                    .prepare(
                        "SELECT t.token, t.input, e.owner_pid, e.owner_start
                         FROM task_tokens t JOIN executions e ON e.arn = t.execution_arn
                         WHERE t.activity_arn = ?1 AND t.status = 'WAITING'
                           AND t.started_ms IS NULL AND e.status = 'RUNNING'
                         ORDER BY t.created_ms, t.rowid",
                    )
                    .map_err(sql)?;
                let rows = q
                    .query_map([activity_arn], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                    })
                    .map_err(sql)?;
                rows.collect::<rusqlite::Result<_>>().map_err(sql)?
            };
            // A task whose execution's process is gone is left for `asl resume`, which
            // queues it again under a new token.
            let Some((token, input, ..)) = queued
                .into_iter()
                .find(|(_, _, pid, start)| pid.is_some_and(|p| alive(p, start.as_deref())))
            else {
                return Ok(None);
            };
            tx.execute(
                "UPDATE task_tokens SET started_ms = ?2, worker_name = ?3 WHERE token = ?1",
                params![token, ms(Utc::now()), worker],
            )
            .map_err(sql)?;
            tx.commit().map_err(sql)?;
            Ok(Some(ActivityTask {
                token,
                input: input.unwrap_or_else(|| "{}".into()),
            }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_arns_name_their_activity() {
        let arn = activity_arn("Approve");
        assert_eq!(
            arn,
            "arn:aws:states:us-east-1:123456789012:activity:Approve"
        );
        assert_eq!(activity_name(&arn), Some("Approve"));
        assert_eq!(
            activity_name("arn:aws-cn:states:cn-north-1:1:activity:a.b-c"),
            Some("a.b-c")
        );
        for not in [
            "arn:aws:states:::lambda:invoke",
            "arn:aws:states:us-east-1:123456789012:stateMachine:M",
            "arn:aws:states:us-east-1:123456789012:activity:",
            "arn:aws:lambda:us-east-1:123456789012:function:F",
        ] {
            assert_eq!(activity_name(not), None, "{not}");
        }
    }
}
