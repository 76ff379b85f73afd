//! State machines as CreateStateMachine, DescribeStateMachine, ListStateMachines,
//! UpdateStateMachine and DeleteStateMachine keep them (`asl serve`). `asl run` records the
//! machines it runs in the same table (as STANDARD ones).

use super::store::{ms, sql, write_tx, Result, Store, StoreError};
use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{params, OptionalExtension};

/// A stored state machine.
#[derive(Debug, Clone, PartialEq)]
pub struct StateMachine {
    pub arn: String,
    pub name: String,
    pub definition: String,
    /// `STANDARD` or `EXPRESS`.
    pub kind: String,
    pub role_arn: Option<String>,
    /// The loggingConfiguration it was given (JSON text), if any.
    pub logging: Option<String>,
    /// DeleteStateMachine was called while executions ran: `DELETING` until they end.
    pub deleting: bool,
    pub revision: u32,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    /// Made by CreateStateMachine (`asl serve`), not merely recorded by `asl run`.
    pub created_by_api: bool,
}

/// What CreateStateMachine (or UpdateStateMachine) is given.
pub struct NewStateMachine<'a> {
    pub name: &'a str,
    pub definition: &'a str,
    pub kind: &'a str,
    pub role_arn: Option<&'a str>,
    /// loggingConfiguration as given (JSON text).
    pub logging: Option<&'a str>,
}

impl StateMachine {
    /// The loggingConfiguration as DescribeStateMachine gives it (defaults filled in).
    pub fn logging_configuration(&self) -> serde_json::Value {
        normal_logging(self.logging.as_deref())
    }

    /// An EXPRESS machine's log level (`ALL`, `ERROR`, `FATAL`, `OFF`).
    pub fn log_level(&self) -> String {
        self.logging_configuration()["level"]
            .as_str()
            .unwrap_or("OFF")
            .to_string()
    }
}

/// `{"level", "includeExecutionData"}` with AWS's defaults (OFF, false), and the destinations
/// when given.
fn normal_logging(text: Option<&str>) -> serde_json::Value {
    let given: serde_json::Value = text
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default();
    let mut v = serde_json::json!({
        "level": given.get("level").cloned().unwrap_or_else(|| "OFF".into()),
        "includeExecutionData": given.get("includeExecutionData").cloned().unwrap_or(false.into()),
    });
    if let Some(d) = given.get("destinations") {
        v["destinations"] = d.clone();
    }
    v
}

const COLUMNS: &str =
    "arn, name, definition, COALESCE(type, 'STANDARD'), role_arn, logging, revision, created_ms, updated_ms, type IS NOT NULL, deleting";

/// Ends the deletions that waited for their executions (DeleteStateMachine while they ran),
/// and drops the tags of what no longer exists.
pub(super) const END_DELETIONS: &str = "DELETE FROM state_machines WHERE deleting = 1 AND NOT EXISTS
    (SELECT 1 FROM executions e WHERE e.state_machine_arn = state_machines.arn AND e.status = 'RUNNING');
    DELETE FROM tags WHERE resource_arn NOT IN
    (SELECT arn FROM state_machines UNION ALL SELECT arn FROM activities);";

fn machine_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<StateMachine> {
    let time = |ms: i64| Utc.timestamp_millis_opt(ms).single().unwrap_or_default();
    Ok(StateMachine {
        arn: r.get(0)?,
        name: r.get(1)?,
        definition: r.get(2)?,
        kind: r.get(3)?,
        role_arn: r.get(4)?,
        logging: r.get(5)?,
        revision: r.get(6)?,
        created: time(r.get(7)?),
        updated: time(r.get(8)?),
        created_by_api: r.get(9)?,
        deleting: r.get(10)?,
    })
}

impl Store {
    /// CreateStateMachine under `arn`, with its tags: a machine of that name with the same
    /// definition, type and logging is given back as it is (AWS's idempotent create, which
    /// another role or other tags do not change), with `false`; another is refused.
    pub fn create_state_machine(
        &self,
        arn: &str,
        m: &NewStateMachine<'_>,
        tags: &[(String, String)],
    ) -> Result<(StateMachine, bool)> {
        self.with(|c| {
            let tx = write_tx(c)?;
            end_deletions(&tx)?;
            let existing = tx
                .query_row(
                    &format!("SELECT {COLUMNS} FROM state_machines WHERE arn = ?1"),
                    [arn],
                    machine_of,
                )
                .optional()
                .map_err(sql)?;
            if let Some(e) = existing {
                let same = e.definition == m.definition
                    && e.kind == m.kind
                    && e.logging_configuration() == normal_logging(m.logging);
                return if e.deleting {
                    Err(StoreError::StateMachineDeleting(arn.to_string()))
                } else if same {
                    Ok((e, false))
                } else {
                    Err(StoreError::StateMachineAlreadyExists(arn.to_string()))
                };
            }
            let now = ms(Utc::now());
            tx.execute(
                "INSERT INTO state_machines
                    (arn, name, definition, revision, created_ms, updated_ms, type, role_arn, logging)
                 VALUES (?1, ?2, ?3, 1, ?4, ?4, ?5, ?6, ?7)",
                params![arn, m.name, m.definition, now, m.kind, m.role_arn, m.logging],
            )
            .map_err(sql)?;
            let created = tx
                .query_row(
                    &format!("SELECT {COLUMNS} FROM state_machines WHERE arn = ?1"),
                    [arn],
                    machine_of,
                )
                .map_err(sql)?;
            put_tags(&tx, arn, tags)?;
            tx.commit().map_err(sql)?;
            Ok((created, true))
        })
    }

    /// DescribeStateMachine.
    pub fn get_state_machine(&self, arn: &str) -> Result<StateMachine> {
        self.with(|c| {
            end_deletions(c)?;
            c.query_row(
                &format!("SELECT {COLUMNS} FROM state_machines WHERE arn = ?1"),
                [arn],
                machine_of,
            )
            .optional()
            .map_err(sql)?
            .ok_or_else(|| StoreError::StateMachineDoesNotExist(arn.to_string()))
        })
    }

    /// ListStateMachines: by name.
    pub fn list_state_machines(&self) -> Result<Vec<StateMachine>> {
        self.with(|c| {
            end_deletions(c)?;
            let mut q = c
                .prepare(&format!(
                    "SELECT {COLUMNS} FROM state_machines ORDER BY name, arn"
                ))
                .map_err(sql)?;
            let rows = q.query_map([], machine_of).map_err(sql)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql)
        })
    }

    /// UpdateStateMachine: a new definition, role and/or loggingConfiguration (each `None`
    /// keeps what is there); the revision goes up when the definition changes.
    pub fn update_state_machine(
        &self,
        arn: &str,
        definition: Option<&str>,
        role_arn: Option<&str>,
        logging: Option<&str>,
    ) -> Result<StateMachine> {
        if self.get_state_machine(arn)?.deleting {
            return Err(StoreError::StateMachineDeleting(arn.to_string()));
        }
        self.with(|c| {
            let n = c
                .execute(
                    "UPDATE state_machines SET
                        revision = revision + (?2 IS NOT NULL AND ?2 != definition),
                        definition = COALESCE(?2, definition),
                        role_arn = COALESCE(?3, role_arn),
                        logging = COALESCE(?5, logging),
                        updated_ms = ?4
                     WHERE arn = ?1 AND deleting = 0",
                    params![arn, definition, role_arn, ms(Utc::now()), logging],
                )
                .map_err(sql)?;
            if n == 0 {
                return Err(StoreError::StateMachineDoesNotExist(arn.to_string()));
            }
            Ok(())
        })?;
        self.get_state_machine(arn)
    }

    /// DeleteStateMachine: succeeds whether or not it exists. A machine whose executions
    /// still run is `DELETING` (no new executions) until they end, as AWS has it; the records
    /// of its executions stay.
    pub fn delete_state_machine(&self, arn: &str) -> Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE state_machines SET deleting = 1 WHERE arn = ?1",
                [arn],
            )
            .map_err(sql)?;
            c.execute_batch(END_DELETIONS).map_err(sql)?;
            Ok(())
        })
    }
}

/// At most this many tags on a resource, as AWS allows.
const MAX_TAGS: i64 = 50;

/// Adds or replaces tags of `arn`, refusing to go past [`MAX_TAGS`] on it.
fn put_tags(c: &rusqlite::Connection, arn: &str, tags: &[(String, String)]) -> Result<()> {
    for (k, v) in tags {
        c.execute(
            "INSERT INTO tags (resource_arn, key, value) VALUES (?1, ?2, ?3)
             ON CONFLICT(resource_arn, key) DO UPDATE SET value = excluded.value",
            params![arn, k, v],
        )
        .map_err(sql)?;
    }
    let n: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM tags WHERE resource_arn = ?1",
            [arn],
            |r| r.get(0),
        )
        .map_err(sql)?;
    if n > MAX_TAGS {
        // The caller's transaction is not committed.
        return Err(StoreError::TooManyTags(arn.to_string()));
    }
    Ok(())
}

/// Ends what [`END_DELETIONS`] ends, when a deletion waits at all (reads take no write lock
/// otherwise).
fn end_deletions(c: &rusqlite::Connection) -> Result<()> {
    let waiting = c
        .query_row(
            "SELECT 1 FROM state_machines WHERE deleting = 1 LIMIT 1",
            [],
            |_| Ok(()),
        )
        .optional()
        .map_err(sql)?
        .is_some();
    if waiting {
        c.execute_batch(END_DELETIONS).map_err(sql)?;
    }
    Ok(())
}

/// A resource tags may go on: a state machine created through the API, or an activity.
fn taggable(c: &rusqlite::Connection, arn: &str) -> Result<()> {
    c.query_row(
        "SELECT 1 FROM state_machines WHERE arn = ?1 AND type IS NOT NULL
         UNION ALL SELECT 1 FROM activities WHERE arn = ?1",
        [arn],
        |_| Ok(()),
    )
    .optional()
    .map_err(sql)?
    .ok_or_else(|| StoreError::ResourceNotFound(arn.to_string()))
}

impl Store {
    /// TagResource: adds or replaces tags of a state machine or an activity.
    pub fn tag_resource(&self, arn: &str, tags: &[(String, String)]) -> Result<()> {
        self.with(|c| {
            let tx = write_tx(c)?;
            taggable(&tx, arn)?;
            put_tags(&tx, arn, tags)?;
            tx.commit().map_err(sql)?;
            Ok(())
        })
    }

    /// UntagResource.
    pub fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<()> {
        self.list_tags(arn)?;
        self.with(|c| {
            for k in keys {
                c.execute(
                    "DELETE FROM tags WHERE resource_arn = ?1 AND key = ?2",
                    params![arn, k],
                )
                .map_err(sql)?;
            }
            Ok(())
        })
    }

    /// ListTagsForResource: by key.
    pub fn list_tags(&self, arn: &str) -> Result<Vec<(String, String)>> {
        self.with(|c| {
            taggable(c, arn)?;
            let mut q = c
                .prepare("SELECT key, value FROM tags WHERE resource_arn = ?1 ORDER BY key")
                .map_err(sql)?;
            let rows = q
                .query_map([arn], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(sql)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql)
        })
    }
}
