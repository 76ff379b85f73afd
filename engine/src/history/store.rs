//! The SQLite store: state machines, executions and their events. The only place that knows SQL.
//!
//! Events are written by one writer thread in batches: each batch of an execution's events is
//! one row of JSON lines (`event_chunks`), so a run's persistence costs a few inserts, not one
//! per event. A flush returns once everything sent before it is committed.

use super::{codec, Event, EventKind};
use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The schema this build writes. Migrations below bring older files up to it.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    "CREATE TABLE state_machines (
        arn TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        definition TEXT NOT NULL,
        revision INTEGER NOT NULL,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
     );
     CREATE TABLE executions (
        arn TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        state_machine_arn TEXT NOT NULL,
        state_machine_name TEXT NOT NULL,
        definition TEXT NOT NULL,
        status TEXT NOT NULL,
        input TEXT NOT NULL,
        output TEXT,
        error TEXT,
        cause TEXT,
        start_ms INTEGER NOT NULL,
        stop_ms INTEGER,
        parent_arn TEXT,
        redrive_count INTEGER NOT NULL DEFAULT 0,
        redrive_ms INTEGER,
        owner_pid INTEGER,
        stop_requested INTEGER NOT NULL DEFAULT 0,
        options TEXT NOT NULL DEFAULT '{}'
     );
     CREATE INDEX executions_by_start ON executions(start_ms DESC);
     CREATE INDEX executions_by_name ON executions(name);
     CREATE INDEX executions_by_parent ON executions(parent_arn);
     CREATE TABLE event_chunks (
        execution_arn TEXT NOT NULL,
        first_id INTEGER NOT NULL,
        last_id INTEGER NOT NULL,
        body TEXT NOT NULL
     );
     CREATE UNIQUE INDEX event_chunks_by_execution ON event_chunks(execution_arn, first_id);",
    // 2: why an execution was stopped, and task tokens for callbacks.
    "ALTER TABLE executions ADD COLUMN stop_error TEXT;
     ALTER TABLE executions ADD COLUMN stop_cause TEXT;
     CREATE TABLE task_tokens (
        token TEXT PRIMARY KEY,
        execution_arn TEXT NOT NULL,
        state_name TEXT NOT NULL,
        status TEXT NOT NULL,
        output TEXT,
        error TEXT,
        cause TEXT,
        heartbeats INTEGER NOT NULL DEFAULT 0,
        created_ms INTEGER NOT NULL,
        completed_ms INTEGER
     );
     CREATE INDEX task_tokens_by_execution ON task_tokens(execution_arn);",
    // 3: DISTRIBUTED Map Runs and their progress (DescribeMapRun's shape, as JSON).
    "CREATE TABLE map_runs (
        arn TEXT PRIMARY KEY,
        execution_arn TEXT NOT NULL,
        body TEXT NOT NULL,
        updated_ms INTEGER NOT NULL
     );
     CREATE INDEX map_runs_by_execution ON map_runs(execution_arn);",
    // 4: no new table; event lines may hold a task's `parameters`/`output` as `[value]`
    // instead of JSON text (codec.rs). This build reads both; an older one would show the
    // arrays, so it is told the file is newer instead.
    "-- nothing to create",
    // 5: which process owns a RUNNING execution, beyond its id (which the system reuses,
    // after a reboot most of all): the boot and the process's start time.
    "ALTER TABLE executions ADD COLUMN owner_start TEXT;",
    // 6: no new table; an event chunk's body may be a BLOB, its JSON lines lz4-compressed
    // (`chunk_text`). This build reads both; an older one could not read the blobs.
    "-- nothing to create",
    // 7: each definition stored once, by its SHA-256, however many executions ran it (a load's
    // thousands of child executions repeated theirs, half the file). Older rows keep theirs in
    // `executions.definition`; newer ones leave it empty and name the hash.
    "CREATE TABLE definitions (hash TEXT PRIMARY KEY, text TEXT NOT NULL) WITHOUT ROWID;
     ALTER TABLE executions ADD COLUMN definition_hash TEXT;",
    // 8: activities (CreateActivity), and activity tasks as task tokens a worker takes
    // (GetActivityTask): the activity, the input it gets, who took it and when.
    "CREATE TABLE activities (
        arn TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_ms INTEGER NOT NULL
     );
     ALTER TABLE task_tokens ADD COLUMN activity_arn TEXT;
     ALTER TABLE task_tokens ADD COLUMN input TEXT;
     ALTER TABLE task_tokens ADD COLUMN worker_name TEXT;
     ALTER TABLE task_tokens ADD COLUMN started_ms INTEGER;
     CREATE INDEX task_tokens_by_activity ON task_tokens(activity_arn, created_ms)
        WHERE activity_arn IS NOT NULL;",
    // 9: state machines as CreateStateMachine makes them (`asl serve`): their type, role,
    // loggingConfiguration (JSON) and whether DeleteStateMachine waits for their executions to
    // end. Rows `asl run` stored have no type: STANDARD. And the tags of state machines and
    // activities (TagResource).
    "ALTER TABLE state_machines ADD COLUMN type TEXT;
     ALTER TABLE state_machines ADD COLUMN role_arn TEXT;
     ALTER TABLE state_machines ADD COLUMN logging TEXT;
     ALTER TABLE state_machines ADD COLUMN deleting INTEGER NOT NULL DEFAULT 0;
     CREATE TABLE tags (
        resource_arn TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (resource_arn, key)
     ) WITHOUT ROWID;",
    // 10: the task attempt a callback token belongs to (redrive, state instance, attempt), so
    // that an answer its process died before taking is given to the resumed attempt.
    "ALTER TABLE task_tokens ADD COLUMN instance TEXT;
     CREATE INDEX task_tokens_by_instance ON task_tokens(execution_arn, instance)
        WHERE instance IS NOT NULL;",
    // 11: whether the owner took a token's answer: only an answer never taken is given to the
    // attempt run again after a resume (a retry of an enclosing Parallel or Map asks afresh).
    "ALTER TABLE task_tokens ADD COLUMN taken INTEGER NOT NULL DEFAULT 0;",
];

/// Records a task token, WAITING, for a callback or (`activity`: its ARN and the task's input)
/// an activity task. `instance` names the task attempt: when an earlier token of the same
/// attempt was answered and its process died before it took the answer (the attempt runs again
/// after a resume; `taken` tells), the new token starts with that answer, as it was accepted,
/// and, for an activity task, with the worker that took it (so that its ActivityStarted comes
/// before its ActivitySucceeded). Returns whether it did (the task was sent before, and is
/// answered already).
pub(super) fn insert_token(
    c: &Connection,
    token: &str,
    arn: &str,
    state: &str,
    instance: Option<&str>,
    activity: Option<(&str, &str)>,
) -> Result<bool> {
    let status: String = c
        .query_row(
            "INSERT INTO task_tokens
            (token, execution_arn, state_name, status, output, error, cause, created_ms,
             completed_ms, instance, activity_arn, input, started_ms, worker_name)
         SELECT ?1, ?2, ?3, COALESCE(a.status, 'WAITING'), a.output, a.error, a.cause, ?4,
             a.completed_ms, ?5, ?6, ?7, a.started_ms, a.worker_name
         FROM (SELECT 1) LEFT JOIN (
             SELECT status, output, error, cause, completed_ms, started_ms, worker_name
             FROM task_tokens
             WHERE execution_arn = ?2 AND instance = ?5 AND status IN ('SUCCEEDED', 'FAILED')
                 AND taken = 0
             ORDER BY rowid DESC LIMIT 1) a
         RETURNING status",
            params![
                token,
                arn,
                state,
                ms(Utc::now()),
                instance,
                activity.map(|a| a.0),
                activity.map(|a| a.1)
            ],
            |r| r.get(0),
        )
        .map_err(sql)?;
    Ok(status != "WAITING")
}

/// Who a process is, beyond its id: `BOOT_ID:START_TICKS` from /proc (Linux), so that a later
/// process given the same id is not taken for it. `None` where /proc does not say.
pub fn process_identity(pid: u32) -> Option<String> {
    // This process's own, read once (every execution it runs records it).
    static OWN: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if pid == std::process::id() {
        return OWN.get_or_init(|| read_identity(pid)).clone();
    }
    read_identity(pid)
}

fn read_identity(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (2nd field) is in parentheses and may hold spaces: count after it.
    let after = &stat[stat.rfind(')')? + 1..];
    let start = after.split_whitespace().nth(19)?;
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    Some(format!("{}:{start}", boot.trim()))
}

/// Whether the process that owns an execution (its id and, when stored, its identity) is
/// still running.
pub fn owner_alive(pid: u32, identity: Option<&str>) -> bool {
    if pid != std::process::id() && zombie(pid) {
        // Ended, and not yet reaped by its parent: gone for our purposes.
        return false;
    }
    let exists = || pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists();
    match identity {
        // Compared even for this process's own id: in a container every asl may be pid 1.
        // Where /proc does not say who a process is, its existence is all there is.
        Some(id) => match process_identity(pid) {
            Some(now) => now == id,
            None => exists(),
        },
        None => exists(),
    }
}

/// Whether a process has ended but is not yet reaped (state `Z` in /proc, Linux).
fn zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            // The command name (2nd field) is in parentheses and may hold spaces.
            let after = &stat[stat.rfind(')')? + 1..];
            after.split_whitespace().next().map(|state| state == "Z")
        })
        .unwrap_or(false)
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {path}: {reason}")]
    Open {
        path: PathBuf,
        reason: rusqlite::Error,
    },
    #[error(
        "the database {path} was written by a newer asl (schema version {found}; this asl knows up to {known}): upgrade asl or use another --db"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("the database is locked by another process (waited {0} s); try again")]
    Locked(f64),
    #[error("ExecutionDoesNotExist: no execution matches {0:?}")]
    NotFound(String),
    #[error("{key:?} matches {} executions: {}", .candidates.len(), .candidates.join(", "))]
    Ambiguous {
        key: String,
        candidates: Vec<String>,
    },
    #[error(
        "ExecutionAlreadyExists: an execution named {0:?} already exists for this state machine"
    )]
    Exists(String),
    #[error("database error: {0}")]
    Sql(rusqlite::Error),
    #[error("Invalid Token: no task waits on token {0:?}")]
    InvalidToken(String),
    #[error("Task Timed Out: 'Provided task does not exist anymore' (token {0:?})")]
    TaskDone(String),
    #[error(
        "the execution {0} was interrupted (its process is gone): nothing waits on this token; \
         `asl resume` the execution, and its task sends a new token"
    )]
    Interrupted(String),
    #[error("the history writer stopped")]
    WriterGone,
    #[error("ActivityDoesNotExist: Activity Does Not Exist: '{0}'")]
    ActivityDoesNotExist(String),
    #[error("InvalidName: Invalid Name: '{0}'")]
    InvalidName(String),
    #[error("StateMachineDoesNotExist: State Machine Does Not Exist: '{0}'")]
    StateMachineDoesNotExist(String),
    #[error("StateMachineAlreadyExists: State Machine Already Exists: '{0}'")]
    StateMachineAlreadyExists(String),
    #[error("ResourceNotFound: Resource not found: '{0}'")]
    ResourceNotFound(String),
    #[error("StateMachineDeleting: State Machine is being deleted: '{0}'")]
    StateMachineDeleting(String),
    #[error("TooManyTags: Too many tags on '{0}' (at most 50)")]
    TooManyTags(String),
    #[error("{0} was resumed or redriven by another process meanwhile")]
    TakenOver(String),
    #[error("the stored history of {arn} is damaged: {why}")]
    Damaged { arn: String, why: String },
}

// Not `#[from]`: the message already holds SQLite's, and a source would repeat it.
impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sql(e)
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// How long a connection waits for another process's write lock: 5 s, or `ASL_BUSY_TIMEOUT_MS`.
fn busy_timeout() -> Duration {
    std::env::var("ASL_BUSY_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_secs(5))
}

/// One execution as stored: DescribeExecution's fields and what resume needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionRecord {
    pub arn: String,
    pub name: String,
    pub state_machine_arn: String,
    pub state_machine_name: String,
    pub definition: String,
    pub status: String,
    pub input: String,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub start: DateTime<Utc>,
    pub stop: Option<DateTime<Utc>>,
    pub parent_arn: Option<String>,
    pub redrive_count: u32,
    pub redrive: Option<DateTime<Utc>>,
    pub owner_pid: Option<u32>,
    /// The owner's [`process_identity`], when known.
    pub owner_start: Option<String>,
    /// How the run was started (mock config, test case, wait scale), as JSON.
    pub options: Value,
    /// Its state machine, as the store has it now (RedriveExecution needs it there).
    pub machine: MachineState,
}

/// An execution's state machine: there, being deleted (DeleteStateMachine while executions
/// ran), or gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MachineState {
    #[default]
    Active,
    Deleting,
    Gone,
}

/// How long after it stopped an execution may be redriven (RedriveExecution: 14 days).
pub const REDRIVE_PERIOD_DAYS: i64 = 14;

impl ExecutionRecord {
    /// DescribeExecution's `redriveStatus`, and its `redriveStatusReason` when there is one.
    pub fn redrive_status(&self, now: DateTime<Utc>) -> (&'static str, Option<String>) {
        if !matches!(self.status.as_str(), "FAILED" | "TIMED_OUT" | "ABORTED") {
            return (
                "NOT_REDRIVABLE",
                Some(format!(
                    "Execution is {} and cannot be redriven",
                    self.status
                )),
            );
        }
        // A child of a DISTRIBUTED Map is redriven with its Map Run, by redriving the parent.
        if self.options.get("mapRunArn").is_some() {
            return ("REDRIVABLE_BY_MAP_RUN", None);
        }
        // A deleted machine's executions stay where they ended (AWS gives this reason).
        match self.machine {
            MachineState::Active => {}
            MachineState::Deleting => {
                return (
                    "NOT_REDRIVABLE",
                    Some("State machine is in DELETING status.".into()),
                )
            }
            MachineState::Gone => {
                return (
                    "NOT_REDRIVABLE",
                    Some(format!(
                        "State machine {} does not exist.",
                        self.state_machine_arn
                    )),
                )
            }
        }
        if self
            .stop
            .is_some_and(|s| now - s > chrono::Duration::days(REDRIVE_PERIOD_DAYS))
        {
            return (
                "NOT_REDRIVABLE",
                Some("Execution redrivable period exceeded.".into()),
            );
        }
        ("REDRIVABLE", None)
    }
}

/// Filters of `asl executions`.
#[derive(Debug, Clone, Default)]
pub struct ExecutionFilter {
    pub status: Option<String>,
    pub state_machine: Option<String>,
    pub parent_arn: Option<String>,
    pub limit: Option<usize>,
    /// Only the children of this Map Run (ListExecutions' `mapRunArn`).
    pub map_run_arn: Option<String>,
    /// Leave out the children of Map Runs (as ListExecutions by state machine does).
    pub without_map_run_children: bool,
    /// Only executions listed after this one (older, or as old and stored before it): the next
    /// page after one that ended with it. Executions started meanwhile shift nothing.
    pub after_arn: Option<String>,
}

/// When a requested stop takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopWhen {
    /// StopExecution: the execution is aborted where it is.
    Now,
    /// DeleteStateMachine: the execution fails at its next state transition.
    AtNextTransition,
}

/// Called from the writer thread when a stop is requested, with the error and cause to record.
pub type StopHook = Arc<dyn Fn(StopWhen, Option<String>, Option<String>) + Send + Sync>;

/// A watched execution: its ARN, its stop hook, and whether its machine's deletion was told.
type Watched = (Arc<str>, StopHook, bool);

/// Called from the writer thread when a watched task token changes: heartbeats, then an end.
pub type TokenHook = Box<dyn FnMut(crate::exec::TokenEvent) + Send>;

/// What `asl task` does to a token.
#[derive(Debug, Clone)]
pub enum TokenOutcome {
    Heartbeat,
    Success(Value),
    /// `None` where SendTaskFailure left the field out (stored as NULL).
    Failure {
        error: Option<String>,
        cause: Option<String>,
    },
}

/// What the engine records beside an event so that a resumed run can skip the work: the state
/// instance (or Map iteration) key, where it went next, and an output the event lacks.
#[derive(Debug, Clone, Copy)]
pub struct MemoEntry<'a> {
    pub key: &'a str,
    pub next: Option<&'a str>,
    pub output: Option<&'a Value>,
}

/// What resume and redrive replay instead of running again: per state instance key, the
/// output it exited with, the state it went to (`None`: the end of its branch), and the
/// variables it assigned.
pub type Memo = HashMap<
    String,
    (
        Value,
        Option<String>,
        Option<serde_json::Map<String, Value>>,
    ),
>;

pub(super) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(v: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(v).single().unwrap_or_default()
}

fn connect(path: &Path) -> Result<Connection> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
                path: path.to_path_buf(),
                reason: rusqlite::Error::ToSqlConversionFailure(Box::new(e)),
            })?;
        }
    }
    let open_err = |reason| StoreError::Open {
        path: path.to_path_buf(),
        reason,
    };
    let conn = Connection::open(path).map_err(open_err)?;
    conn.busy_timeout(busy_timeout()).map_err(open_err)?;
    // Event chunks are large rows: bigger pages mean shorter overflow chains. Only a new,
    // empty file takes the setting. Switching to WAL needs a lock that SQLite's busy handler
    // does not wait for, so that step retries until the busy timeout.
    retry_busy(|| {
        conn.pragma_update(None, "page_size", 16384)?;
        conn.pragma_update(None, "journal_mode", "WAL")
    })
    .map_err(|e| locked_or(e, open_err))?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(open_err)?;
    Ok(conn)
}

/// A transaction that holds the write lock from its start (waiting for it up to the busy
/// timeout): what it reads stays true until it commits.
pub(super) fn write_tx(c: &Connection) -> Result<rusqlite::Transaction<'_>> {
    retry_busy(|| rusqlite::Transaction::new_unchecked(c, rusqlite::TransactionBehavior::Immediate))
        .map_err(sql)
}

/// Runs `f` again while SQLite answers "busy", for up to the busy timeout.
pub(super) fn retry_busy<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let deadline = std::time::Instant::now() + busy_timeout();
    loop {
        match f() {
            Err(e) if is_busy(&e) && std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

fn locked_or(e: rusqlite::Error, other: impl FnOnce(rusqlite::Error) -> StoreError) -> StoreError {
    if is_busy(&e) {
        StoreError::Locked(busy_timeout().as_secs_f64())
    } else {
        other(e)
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::DatabaseBusy || f.code == rusqlite::ErrorCode::DatabaseLocked
    )
}

pub(super) fn sql(e: rusqlite::Error) -> StoreError {
    locked_or(e, StoreError::Sql)
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sql)?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    let conn: &Connection = conn;
    let tx = write_tx(conn)?;
    // Re-read inside the write lock: another process may have migrated meanwhile.
    let version: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sql)?;
    for (i, m) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(m).map_err(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)
            .map_err(sql)?;
    }
    tx.commit().map_err(sql)?;
    Ok(())
}

/// A handle on the database: reads on its own connection, writes through the batching writer.
pub struct Store {
    path: PathBuf,
    conn: Mutex<Connection>,
    writer: Mutex<Option<Writer>>,
}

impl Store {
    pub fn open(path: &Path) -> Result<Store> {
        let mut conn = connect(path)?;
        migrate(&mut conn, path)?;
        Ok(Store {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            writer: Mutex::new(None),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&conn)
    }

    /// The batching writer, started on first use.
    pub fn writer(&self) -> Result<WriterHandle> {
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        if w.is_none() {
            *w = Some(Writer::start(connect(&self.path)?));
        }
        Ok(w.as_ref().expect("started").handle())
    }

    /// Records a definition; returns its revision (1 for a new one, +1 when it changed).
    pub fn put_state_machine(&self, arn: &str, name: &str, definition: &str) -> Result<u32> {
        self.with(|c| {
            let now = ms(Utc::now());
            // Read and write under one write lock: two first runs may race.
            let tx = write_tx(c)?;
            let existing: Option<(String, u32, bool)> = tx
                .query_row(
                    "SELECT definition, revision, type IS NOT NULL FROM state_machines WHERE arn = ?1",
                    [arn],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
                .map_err(sql)?;
            let rev = match existing {
                Some((d, rev, _)) if d == definition => rev,
                // Created through the API: a run of a file by that name records its execution
                // (with the file's definition) but leaves the API's machine as it is.
                Some((_, rev, true)) => rev,
                Some((_, rev, false)) => {
                    tx.execute(
                        "UPDATE state_machines SET definition = ?2, revision = ?3, updated_ms = ?4 WHERE arn = ?1",
                        params![arn, definition, rev + 1, now],
                    )
                    .map_err(sql)?;
                    rev + 1
                }
                None => {
                    tx.execute(
                        "INSERT INTO state_machines (arn, name, definition, revision, created_ms, updated_ms)
                         VALUES (?1, ?2, ?3, 1, ?4, ?4)",
                        params![arn, name, definition, now],
                    )
                    .map_err(sql)?;
                    1
                }
            };
            tx.commit().map_err(sql)?;
            Ok(rev)
        })
    }

    /// Inserts a RUNNING execution (directly, so it is visible at once), its definition stored
    /// once for all the executions that run it.
    pub fn insert_execution(&self, r: &ExecutionRecord) -> Result<()> {
        let hash = definition_hash(&r.definition);
        self.with(|c| {
            let tx = c.unchecked_transaction().map_err(sql)?;
            tx.execute(
                "INSERT OR IGNORE INTO definitions (hash, text) VALUES (?1, ?2)",
                params![hash, r.definition],
            )
            .map_err(sql)?;
            let res = tx.execute(
                "INSERT INTO executions (arn, name, state_machine_arn, state_machine_name, definition, status,
                    input, start_ms, parent_arn, owner_pid, options, owner_start, definition_hash)
                 VALUES (?1, ?2, ?3, ?4, '', ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    r.arn,
                    r.name,
                    r.state_machine_arn,
                    r.state_machine_name,
                    r.status,
                    r.input,
                    ms(r.start),
                    r.parent_arn,
                    r.owner_pid,
                    r.options.to_string(),
                    r.owner_start,
                    hash
                ],
            );
            match res {
                Err(rusqlite::Error::SqliteFailure(f, _))
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    Err(StoreError::Exists(r.name.clone()))
                }
                other => {
                    other.map_err(sql)?;
                    tx.commit().map_err(sql)
                }
            }
        })
    }

    /// Marks an execution running again (resume or redrive) in this process — only if it is
    /// still as `seen` (status, process, redrive count): of several processes resuming or
    /// redriving it at once, one takes it over and the others get [`StoreError::TakenOver`].
    pub fn reopen_execution(
        &self,
        seen: &ExecutionRecord,
        redrive: Option<DateTime<Utc>>,
    ) -> Result<()> {
        self.with(|c| {
            let tx = write_tx(c)?;
            let changed = tx
                .execute(
                    "UPDATE executions SET status = 'RUNNING', owner_pid = ?2, stop_requested = 0,
                        output = NULL, error = NULL, cause = NULL, stop_ms = NULL,
                        redrive_count = redrive_count + ?3, redrive_ms = COALESCE(?4, redrive_ms),
                        owner_start = ?8
                     WHERE arn = ?1 AND status = ?5 AND owner_pid IS ?6 AND redrive_count = ?7
                        AND (?9 OR stop_requested = 0)",
                    params![
                        seen.arn,
                        std::process::id(),
                        i64::from(redrive.is_some()),
                        redrive.map(ms),
                        seen.status,
                        seen.owner_pid,
                        seen.redrive_count,
                        process_identity(std::process::id()),
                        // A resume does not take over an execution asked to stop meanwhile.
                        redrive.is_some()
                    ],
                )
                .map_err(sql)?;
            if changed == 0 {
                return Err(StoreError::TakenOver(seen.arn.clone()));
            }
            // The tokens its interrupted process waited on: the task in flight runs again, and
            // sends a new token.
            tx.execute(CLOSE_TOKENS_OF_EXECUTION, params![seen.arn, ms(Utc::now())])
                .map_err(sql)?;
            tx.commit().map_err(sql)?;
            Ok(())
        })
    }

    pub fn get_execution(&self, arn: &str) -> Result<ExecutionRecord> {
        self.with(|c| {
            c.query_row(
                &format!("{SELECT_EXECUTION} WHERE arn = ?1"),
                [arn],
                row_to_record,
            )
            .optional()
            .map_err(sql)?
            .ok_or_else(|| StoreError::NotFound(arn.to_string()))
        })
    }

    /// Finds an execution by ARN, name, or a unique prefix of either.
    pub fn find_execution(&self, key: &str) -> Result<ExecutionRecord> {
        self.with(|c| {
            let mut exact = c
                .prepare(&format!("{SELECT_EXECUTION} WHERE arn = ?1 OR name = ?1"))
                .map_err(sql)?;
            let found: Vec<ExecutionRecord> = exact
                .query_map([key], row_to_record)
                .map_err(sql)?
                .collect::<std::result::Result<_, _>>()
                .map_err(sql)?;
            let found = if found.is_empty() {
                // A prefix, case-sensitive (LIKE would ignore case).
                let mut pre = c
                    .prepare(&format!(
                        "{SELECT_EXECUTION} WHERE substr(arn, 1, length(?1)) = ?1 OR substr(name, 1, length(?1)) = ?1 LIMIT 11"
                    ))
                    .map_err(sql)?;
                let v: Vec<ExecutionRecord> = pre
                    .query_map([key], row_to_record)
                    .map_err(sql)?
                    .collect::<std::result::Result<_, _>>()
                    .map_err(sql)?;
                v
            } else {
                found
            };
            match found.len() {
                0 => Err(StoreError::NotFound(key.to_string())),
                1 => Ok(found.into_iter().next().expect("one")),
                _ => Err(StoreError::Ambiguous {
                    key: key.to_string(),
                    candidates: found.into_iter().map(|r| r.arn).collect(),
                }),
            }
        })
    }

    /// Executions, newest first.
    pub fn list_executions(&self, f: &ExecutionFilter) -> Result<Vec<ExecutionRecord>> {
        self.with(|c| {
            let mut q = format!("{SELECT_EXECUTION} WHERE 1 = 1");
            let mut args: Vec<String> = Vec::new();
            if let Some(s) = &f.status {
                args.push(s.clone());
                q.push_str(&format!(" AND status = ?{}", args.len()));
            }
            if let Some(sm) = &f.state_machine {
                args.push(sm.clone());
                q.push_str(&format!(
                    " AND (state_machine_name = ?{0} OR state_machine_arn = ?{0})",
                    args.len()
                ));
            }
            if let Some(p) = &f.parent_arn {
                args.push(p.clone());
                q.push_str(&format!(" AND parent_arn = ?{}", args.len()));
            }
            if let Some(m) = &f.map_run_arn {
                args.push(m.clone());
                q.push_str(&format!(
                    " AND json_extract(options, '$.mapRunArn') = ?{}",
                    args.len()
                ));
            } else if f.without_map_run_children {
                q.push_str(" AND json_extract(options, '$.mapRunArn') IS NULL");
            }
            if let Some(a) = &f.after_arn {
                args.push(a.clone());
                q.push_str(&format!(
                    " AND (start_ms, rowid) < (SELECT start_ms, rowid FROM executions WHERE arn = ?{})",
                    args.len()
                ));
            }
            q.push_str(" ORDER BY start_ms DESC, rowid DESC");
            if let Some(l) = f.limit {
                q.push_str(&format!(" LIMIT {l}"));
            }
            let mut stmt = c.prepare(&q).map_err(sql)?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(args.iter()), row_to_record)
                .map_err(sql)?
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(sql)?;
            Ok(rows)
        })
    }

    /// How many events an execution has stored (its last event's id): the last id of the
    /// chunk that starts last, found through the index. (`MAX(last_id)` over all the chunks
    /// read every chunk's row: after a 50,000-task run, 3 MB of pages, which `asl run` read
    /// on the way out.)
    pub fn event_count(&self, arn: &str) -> Result<u64> {
        self.with(|c| last_event_id(c, arn))
    }

    /// Every stored event of an execution, in id order, as AWS shapes them.
    pub fn events(&self, arn: &str) -> Result<Vec<Value>> {
        Ok(self.events_with_memo(arn)?.0)
    }

    /// An execution's events up to id `last` (ids count from 1, in order): a first page reads
    /// only the chunks it needs.
    pub fn events_through(&self, arn: &str, last: u64) -> Result<Vec<Value>> {
        let bodies = self.chunk_bodies_through(arn, last)?;
        let mut events = codec::decode(bodies.iter().flat_map(|b| b.lines())).events;
        events.retain(|e| e["id"].as_u64().is_some_and(|id| id <= last));
        Ok(events)
    }

    /// The stored chunks of an execution's events, in order.
    fn chunk_bodies(&self, arn: &str) -> Result<Vec<String>> {
        self.chunk_bodies_through(arn, i64::MAX as u64)
    }

    /// The chunks holding events up to id `last`.
    fn chunk_bodies_through(&self, arn: &str, last: u64) -> Result<Vec<String>> {
        let last = i64::try_from(last).unwrap_or(i64::MAX);
        self.with(|c| {
            let mut stmt = c
                .prepare(
                    "SELECT body FROM event_chunks WHERE execution_arn = ?1 AND first_id <= ?2
                     ORDER BY first_id",
                )
                .map_err(sql)?;
            let bodies = stmt
                .query_map(params![arn, last], |r| chunk_text(r.get_ref(0)?))
                .map_err(sql)?
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| match e {
                    rusqlite::Error::FromSqlConversionFailure(_, _, why) => StoreError::Damaged {
                        arn: arn.to_string(),
                        why: why.to_string(),
                    },
                    e => sql(e),
                })?;
            Ok(bodies)
        })
    }

    fn events_with_memo(&self, arn: &str) -> Result<(Vec<Value>, Memo)> {
        let bodies = self.chunk_bodies(arn)?;
        let d = codec::decode(bodies.iter().flat_map(|b| b.lines()));
        Ok((d.events, d.memo))
    }

    /// An execution's events as stored, with microsecond timestamps.
    pub fn raw_events(&self, arn: &str) -> Result<Vec<codec::RawEvent>> {
        let bodies = self.chunk_bodies(arn)?;
        Ok(codec::decode_raw(bodies.iter().flat_map(|b| b.lines())))
    }

    /// An execution and every execution below it (children, grandchildren, ...).
    pub fn family(&self, arn: &str) -> Result<Vec<ExecutionRecord>> {
        let mut out = vec![self.get_execution(arn)?];
        let mut i = 0;
        while i < out.len() {
            let kids = self.list_executions(&ExecutionFilter {
                parent_arn: Some(out[i].arn.clone()),
                ..Default::default()
            })?;
            out.extend(kids);
            i += 1;
        }
        Ok(out)
    }

    /// What a resumed or redriven run replays, and the last event id so far.
    pub fn replay_state(&self, arn: &str) -> Result<(Memo, u64)> {
        let (events, memo) = self.events_with_memo(arn)?;
        let last = events.last().and_then(|e| e["id"].as_u64()).unwrap_or(0);
        Ok((memo, last))
    }

    /// What a redrive may replay: like resume, but a Map iteration or Parallel branch that did not
    /// succeed runs again from its start (as AWS reruns unsuccessful iterations and branches), so
    /// what happened inside it is forgotten.
    pub fn redrive_memo(mut memo: Memo) -> Memo {
        // A redriven state starts its retries afresh: the failures a resume would count go.
        memo.retain(|k, _| {
            !k.starts_with(crate::exec::FAILURE_MARK) && !k.starts_with(crate::exec::ENTERED_MARK)
        });
        // Branches that reached their end: some state in them exited with no next state.
        let ended: std::collections::HashSet<String> = memo
            .iter()
            .filter(|(_, (_, next, _))| next.is_none())
            .filter_map(|(k, _)| k.rfind('/').map(|i| k[..i].to_string()))
            .collect();
        let keep = |key: &str, memo: &Memo| {
            let mut at = 0;
            while let Some(i) = key[at + 1..].find('/') {
                let end = at + 1 + i;
                let prefix = &key[..end];
                let segment = &prefix[prefix.rfind('/').map_or(0, |p| p + 1)..];
                let ok = if segment.starts_with('i') {
                    memo.contains_key(prefix)
                } else if segment.starts_with('b') {
                    ended.contains(prefix)
                } else {
                    true
                };
                if !ok {
                    return false;
                }
                at = end;
            }
            true
        };
        let drop: Vec<String> = memo.keys().filter(|k| !keep(k, &memo)).cloned().collect();
        for k in drop {
            memo.remove(&k);
        }
        memo
    }

    /// Asks the process running an execution to stop it, with the error and cause to record.
    pub fn request_stop(&self, arn: &str, error: &str, cause: &str) -> Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE executions SET stop_requested = 1, stop_error = ?2, stop_cause = ?3
                 WHERE arn = ?1 AND status = 'RUNNING'",
                params![arn, error, cause],
            )
            .map_err(sql)?;
            Ok(())
        })
    }

    /// The stop asked of a RUNNING execution that its process has not carried out (it was
    /// frozen, or ended first): its error and cause, each `None` when not given.
    #[allow(clippy::type_complexity)]
    pub fn pending_stop(&self, arn: &str) -> Result<Option<(Option<String>, Option<String>)>> {
        self.with(|c| {
            let row: Option<(Option<String>, Option<String>)> = c
                .query_row(
                    "SELECT stop_error, stop_cause FROM executions
                     WHERE arn = ?1 AND status = 'RUNNING' AND stop_requested = 1",
                    [arn],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(sql)?;
            let given = |v: Option<String>| v.filter(|s| !s.is_empty());
            Ok(row.map(|(e, c)| (given(e), given(c))))
        })
    }

    /// Records a task token that a callback task waits on.
    /// `instance` names the task attempt (see [`insert_token`]); true when the token starts
    /// with the answer an earlier run of the attempt was given.
    pub fn register_token(
        &self,
        token: &str,
        arn: &str,
        state: &str,
        instance: Option<&str>,
    ) -> Result<bool> {
        self.with(|c| insert_token(c, token, arn, state, instance, None))
    }

    /// Completes a waiting task token (`SendTaskSuccess`/`SendTaskFailure`), or records a
    /// heartbeat (`SendTaskHeartbeat`). Errors name what AWS's API would. `alive` tells whether
    /// the process that runs the token's execution still exists: when it does not, the token
    /// is refused, since nothing would receive it (a resumed execution sends a new token).
    pub fn complete_token(
        &self,
        token: &str,
        outcome: TokenOutcome,
        alive: impl Fn(u32, Option<&str>) -> bool,
    ) -> Result<()> {
        self.with(|c| {
            let tx = write_tx(c)?;
            type Row = (String, String, Option<String>, Option<u32>, Option<String>);
            let row: Option<Row> = tx
                .query_row(
                    "SELECT t.status, t.execution_arn, e.status, e.owner_pid, e.owner_start
                     FROM task_tokens t LEFT JOIN executions e ON e.arn = t.execution_arn
                     WHERE t.token = ?1",
                    [token],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()
                .map_err(sql)?;
            let Some((status, arn, execution_status, owner, owner_start)) = row else {
                return Err(StoreError::InvalidToken(token.to_string()));
            };
            if status != "WAITING" || execution_status.as_deref() != Some("RUNNING") {
                return Err(StoreError::TaskDone(token.to_string()));
            }
            if !owner.is_some_and(|p| alive(p, owner_start.as_deref())) {
                return Err(StoreError::Interrupted(arn));
            }
            match outcome {
                TokenOutcome::Heartbeat => tx.execute(
                    "UPDATE task_tokens SET heartbeats = heartbeats + 1 WHERE token = ?1",
                    [token],
                ),
                TokenOutcome::Success(output) => tx.execute(
                    "UPDATE task_tokens SET status = 'SUCCEEDED', output = ?2, completed_ms = ?3 WHERE token = ?1",
                    params![token, output.to_string(), ms(Utc::now())],
                ),
                TokenOutcome::Failure { error, cause } => tx.execute(
                    "UPDATE task_tokens SET status = 'FAILED', error = ?2, cause = ?3, completed_ms = ?4 WHERE token = ?1",
                    params![token, error, cause, ms(Utc::now())],
                ),
            }
            .map_err(sql)?;
            tx.commit().map_err(sql)?;
            Ok(())
        })
    }

    /// Ends a RUNNING execution that no process runs any more.
    /// `error` and `cause`, when given, go in the event and the record (as StopExecution's).
    pub fn abort_orphan(&self, arn: &str, error: Option<&str>, cause: Option<&str>) -> Result<()> {
        let now = Utc::now();
        self.with(|c| {
            // Under the write lock: of two processes aborting it at once, one records it.
            let tx = write_tx(c)?;
            let changed = tx
                .execute(
                    "UPDATE executions SET status = 'ABORTED', error = ?2, cause = ?3, stop_ms = ?4,
                        owner_pid = NULL, owner_start = NULL
                     WHERE arn = ?1 AND status = 'RUNNING'",
                    params![arn, error, cause, ms(now)],
                )
                .map_err(sql)?;
            if changed == 0 {
                return Ok(());
            }
            let last = last_event_id(&tx, arn)?;
            tx.execute(
                "INSERT INTO event_chunks (execution_arn, first_id, last_id, body) VALUES (?1, ?2, ?2, ?3)",
                params![arn, last + 1, aborted_line(last + 1, now, error, cause)],
            )
            .map_err(sql)?;
            tx.execute(CLOSE_TOKENS_OF_EXECUTION, params![arn, ms(now)])
                .map_err(sql)?;
            tx.commit().map_err(sql)?;
            Ok(())
        })
    }

    /// Deletes executions (and their events) that stopped before `before`. Returns how many.
    pub fn prune(&self, before: DateTime<Utc>) -> Result<usize> {
        // Those that ended before the cut, and whose parents (if any) go too: the children of
        // a running or recent execution stay, since its resume or redrive goes on from them.
        // Worked out once, into a table of this connection's own, for the four deletes.
        const PRUNABLE: &str = "INSERT INTO temp.pruned (arn)
            WITH RECURSIVE kept(arn) AS (
                SELECT arn FROM executions
                    WHERE status = 'RUNNING' OR stop_ms IS NULL OR stop_ms >= ?1
                UNION
                SELECT e.arn FROM executions e JOIN kept k ON e.parent_arn = k.arn)
            SELECT arn FROM executions WHERE arn NOT IN kept";
        self.with(|c| {
            c.execute_batch(
                "DROP TABLE IF EXISTS temp.pruned;
                 CREATE TEMP TABLE pruned (arn TEXT PRIMARY KEY) WITHOUT ROWID;",
            )
            .map_err(sql)?;
            // The write lock from the start: the first statement writes only the temporary
            // table, and a read snapshot could not be upgraded once another process commits.
            let tx = write_tx(c)?;
            tx.execute(PRUNABLE, [ms(before)]).map_err(sql)?;
            for table in ["event_chunks", "map_runs", "task_tokens"] {
                tx.execute(
                    &format!(
                        "DELETE FROM {table} WHERE execution_arn IN (SELECT arn FROM temp.pruned)"
                    ),
                    [],
                )
                .map_err(sql)?;
            }
            let n = tx
                .execute(
                    "DELETE FROM executions WHERE arn IN (SELECT arn FROM temp.pruned)",
                    [],
                )
                .map_err(sql)?;
            tx.execute(
                "DELETE FROM definitions WHERE hash NOT IN
                    (SELECT definition_hash FROM executions WHERE definition_hash IS NOT NULL)",
                [],
            )
            .map_err(sql)?;
            tx.commit().map_err(sql)?;
            let _ = c.execute_batch("DROP TABLE IF EXISTS temp.pruned");
            Ok(n)
        })
    }

    /// The Map Runs an execution started (DescribeMapRun's shape), oldest first.
    pub fn map_runs(&self, execution_arn: &str) -> Result<Vec<Value>> {
        self.with(|c| {
            let mut stmt = c
                .prepare("SELECT body FROM map_runs WHERE execution_arn = ?1 ORDER BY rowid")
                .map_err(sql)?;
            let rows = stmt
                .query_map([execution_arn], |r| r.get::<_, String>(0))
                .map_err(sql)?
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(sql)?;
            Ok(rows
                .iter()
                .filter_map(|b| serde_json::from_str(b).ok())
                .collect())
        })
    }

    /// One Map Run (DescribeMapRun's shape), by its ARN.
    pub fn map_run(&self, arn: &str) -> Result<Option<Value>> {
        self.with(|c| {
            let body: Option<String> = c
                .query_row("SELECT body FROM map_runs WHERE arn = ?1", [arn], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(sql)?;
            Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
        })
    }

    /// `PRAGMA integrity_check`: "ok" when the file is sound.
    pub fn integrity_check(&self) -> Result<String> {
        self.with(|c| {
            c.query_row("PRAGMA integrity_check", [], |r| r.get(0))
                .map_err(sql)
        })
    }
}

/// The id of an execution's last stored event (0 for none): the last id of the chunk that
/// starts last, found through the index, since ids are appended in order.
fn last_event_id(c: &Connection, arn: &str) -> Result<u64> {
    c.query_row(
        "SELECT last_id FROM event_chunks WHERE execution_arn = ?1
         ORDER BY first_id DESC LIMIT 1",
        [arn],
        |r| r.get::<_, i64>(0),
    )
    .optional()
    .map(|n| n.unwrap_or(0).max(0) as u64)
    .map_err(sql)
}

/// The stored line of an ExecutionAborted event `id` with the stop's error and cause.
fn aborted_line(id: u64, now: DateTime<Utc>, error: Option<&str>, cause: Option<&str>) -> String {
    let mut d = serde_json::Map::new();
    if let Some(e) = error {
        d.insert("error".into(), json!(e));
    }
    if let Some(c) = cause {
        d.insert("cause".into(), json!(c));
    }
    let mut line = Vec::new();
    codec::encode(
        &Event {
            id,
            // As recorded against AWS: a stopped execution's ExecutionAborted points back to 0.
            previous_event_id: 0,
            timestamp: now,
            kind: EventKind::with_details(
                "ExecutionAborted",
                "executionAbortedEventDetails",
                Value::Object(d),
            ),
        },
        None,
        &mut line,
    );
    String::from_utf8(line).unwrap_or_default()
}

/// The key a definition is stored under: its SHA-256, in hex.
fn definition_hash(text: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(text.as_bytes());
    let mut hex = String::with_capacity(64);
    for b in digest {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

const SELECT_EXECUTION: &str = "SELECT arn, name, state_machine_arn, state_machine_name,
    COALESCE((SELECT text FROM definitions WHERE hash = executions.definition_hash), definition), status,
    input, output, error, cause, start_ms, stop_ms, parent_arn, redrive_count, redrive_ms, owner_pid, options,
    owner_start,
    COALESCE((SELECT deleting FROM state_machines WHERE arn = executions.state_machine_arn), 2)
    FROM executions";

fn row_to_record(r: &rusqlite::Row) -> rusqlite::Result<ExecutionRecord> {
    Ok(ExecutionRecord {
        arn: r.get(0)?,
        name: r.get(1)?,
        state_machine_arn: r.get(2)?,
        state_machine_name: r.get(3)?,
        definition: r.get(4)?,
        status: r.get(5)?,
        input: r.get(6)?,
        output: r.get(7)?,
        error: r.get(8)?,
        cause: r.get(9)?,
        start: from_ms(r.get(10)?),
        stop: r.get::<_, Option<i64>>(11)?.map(from_ms),
        parent_arn: r.get(12)?,
        redrive_count: r.get(13)?,
        redrive: r.get::<_, Option<i64>>(14)?.map(from_ms),
        owner_pid: r.get(15)?,
        options: serde_json::from_str(&r.get::<_, String>(16)?).unwrap_or(Value::Null),
        owner_start: r.get(17)?,
        machine: match r.get::<_, i64>(18)? {
            0 => MachineState::Active,
            1 => MachineState::Deleting,
            _ => MachineState::Gone,
        },
    })
}

/// How an execution ended, written after its last event.
#[derive(Debug, Clone)]
pub struct Finish {
    pub arn: String,
    pub status: String,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub stop: DateTime<Utc>,
}

/// Events of one execution encoded but not yet committed, shared by its sink and the writer.
pub struct Pending {
    arn: Arc<str>,
    first: u64,
    last: u64,
    pub(super) body: Vec<u8>,
    /// A buffer the writer gave back, reused so that the engine does not fault in fresh pages.
    spare: Vec<u8>,
    /// Whether the writer was asked to take this body already.
    woken: bool,
    /// How far the execution's events are committed, for those waiting on it.
    pub(super) committed: Arc<Committed>,
}

/// The id of an execution's last committed event, and a wake-up when it moves.
#[derive(Default)]
pub struct Committed {
    pub upto: std::sync::atomic::AtomicU64,
    pub moved: tokio::sync::Notify,
}

impl Committed {
    fn advance(&self, to: u64) {
        self.upto
            .fetch_max(to, std::sync::atomic::Ordering::Release);
        self.moved.notify_waiters();
    }
}

/// The capacity of an event buffer: twice the size at which the writer is asked to take it,
/// so that the engine keeps appending without reallocating while the writer wakes up.
const BUFFER_BYTES: usize = 2 * super::durable::HAND_OVER_BYTES;
/// The capacity from which an event buffer goes straight to `BUFFER_BYTES`.
const GROWN: usize = 64 * 1024;

impl Pending {
    pub fn new(arn: Arc<str>) -> Self {
        Pending {
            arn,
            first: 0,
            last: 0,
            body: Vec::new(),
            spare: Vec::new(),
            woken: false,
            committed: Arc::new(Committed::default()),
        }
    }

    /// Appends event `id`, written by `encode`, as one line.
    pub(super) fn append(&mut self, id: u64, encode: impl FnOnce(&mut Vec<u8>)) {
        if self.body.is_empty() {
            self.first = id;
        } else {
            self.body.push(b'\n');
        }
        // A buffer that has grown past 64 KiB belongs to a busy execution: give it room for a
        // whole hand-over at once, rather than growing by doubling, which copies and faults in
        // fresh pages on every round. Small executions keep small buffers.
        let cap = self.body.capacity();
        if (GROWN..BUFFER_BYTES).contains(&cap) && cap - self.body.len() < GROWN / 4 {
            self.body.reserve_exact(BUFFER_BYTES - self.body.len());
        }
        self.last = self.last.max(id);
        encode(&mut self.body);
    }

    fn take(&mut self) -> Option<(Arc<str>, u64, u64, Vec<u8>)> {
        if self.body.is_empty() {
            return None;
        }
        let body = std::mem::replace(&mut self.body, std::mem::take(&mut self.spare));
        self.woken = false;
        Some((self.arn.clone(), self.first, self.last, body))
    }

    /// Puts events the writer could not commit back in front of those appended since.
    fn put_back(&mut self, first: u64, last: u64, mut body: Vec<u8>) {
        if !self.body.is_empty() {
            body.push(b'\n');
            body.extend_from_slice(&self.body);
        }
        let old = std::mem::replace(&mut self.body, body);
        self.give_back(old);
        self.first = first;
        self.last = self.last.max(last);
    }

    /// Keeps a committed buffer for the next round (the larger, if one is kept already).
    fn give_back(&mut self, mut buf: Vec<u8>) {
        if self.spare.capacity() < buf.capacity() {
            buf.clear();
            self.spare = buf;
        }
    }

    /// Whether the writer should be woken for this body: once, when it reaches `bytes`.
    pub(super) fn wake_at(&mut self, bytes: usize) -> bool {
        if self.body.len() >= bytes && !self.woken {
            self.woken = true;
            return true;
        }
        false
    }
}

type SharedPending = Arc<Mutex<Pending>>;

enum Msg {
    Register(SharedPending),
    Wake,
    Finish(Finish),
    Flush(SyncSender<Result<()>>),
    Watch(Arc<str>, StopHook),
    WatchToken(String, TokenHook),
    /// A token whose task no longer waits: stop watching it and end it.
    CloseToken(String),
    /// A Map Run's progress: its ARN, its execution's, DescribeMapRun's shape.
    MapRun(String, String, Value),
}

struct Writer {
    tx: Sender<Msg>,
}

/// A cheap, cloneable way to send to the writer.
#[derive(Clone)]
pub struct WriterHandle {
    tx: Sender<Msg>,
}

impl Writer {
    fn start(conn: Connection) -> Writer {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("asl-history-writer".into())
            .spawn(move || writer_loop(conn, rx))
            .expect("spawn the history writer");
        Writer { tx }
    }

    fn handle(&self) -> WriterHandle {
        WriterHandle {
            tx: self.tx.clone(),
        }
    }
}

impl WriterHandle {
    /// Lets the writer take this execution's encoded events from now on.
    pub fn register(&self, pending: SharedPending) {
        let _ = self.tx.send(Msg::Register(pending));
    }

    /// Asks the writer to take what is pending now.
    pub fn wake(&self) {
        let _ = self.tx.send(Msg::Wake);
    }

    pub fn finish(&self, f: Finish) {
        let _ = self.tx.send(Msg::Finish(f));
    }

    /// Calls `hook` (once) when someone asks, through the database, to stop the execution.
    pub fn watch_stop(&self, arn: Arc<str>, hook: StopHook) {
        let _ = self.tx.send(Msg::Watch(arn, hook));
    }

    /// Calls `hook` with what happens to `token` (polled with the stop requests).
    pub fn watch_token(&self, token: String, hook: TokenHook) {
        let _ = self.tx.send(Msg::WatchToken(token, hook));
    }

    /// The task of `token` no longer waits on it (it timed out, failed, or was aborted): the
    /// token is ended, so that a later `asl task` on it is refused. A token already completed
    /// is left as it is.
    pub fn close_token(&self, token: String) {
        let _ = self.tx.send(Msg::CloseToken(token));
    }

    /// Records how a Map Run stands (DescribeMapRun's shape); the latest report wins.
    pub fn map_run(&self, arn: &str, execution_arn: &str, body: &Value) {
        let _ = self.tx.send(Msg::MapRun(
            arn.to_string(),
            execution_arn.to_string(),
            body.clone(),
        ));
    }

    /// Blocks until everything sent before is committed.
    pub fn flush(&self) -> Result<()> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.tx
            .send(Msg::Flush(tx))
            .map_err(|_| StoreError::WriterGone)?;
        rx.recv().map_err(|_| StoreError::WriterGone)?
    }
}

/// Ends one token that no task waits on any more.
const CLOSE_TOKEN: &str = "UPDATE task_tokens SET status = 'TIMED_OUT', completed_ms = ?2
     WHERE token = ?1 AND status = 'WAITING'";
/// Ends the tokens an execution still waits on, when it ends or is taken over.
const CLOSE_TOKENS_OF_EXECUTION: &str =
    "UPDATE task_tokens SET status = 'TIMED_OUT', completed_ms = ?2
     WHERE execution_arn = ?1 AND status = 'WAITING'";

/// Most events one transaction takes; more wait for the next one.
const BATCH: usize = 8192;
/// How often a watched execution's stop request is looked for.
const STOP_POLL: Duration = Duration::from_millis(100);
/// Event bytes committed between two checkpoints of the write-ahead log. Small, so that the
/// log stays short and the next process to open the file has little of it to replay.
const CHECKPOINT_BYTES: usize = 2 << 20;
/// How long encoded events may wait before the writer commits them.
const DRAIN_EVERY: Duration = Duration::from_millis(100);

fn writer_loop(conn: Connection, rx: Receiver<Msg>) {
    // The writer checkpoints itself (below), not inside the commit that crosses SQLite's
    // threshold: that commit is what a flush waits for.
    let _ = conn.pragma_update(None, "wal_autocheckpoint", 0);
    // When the log restarts after a checkpoint, its file is cut back to this size, so that a
    // larger file means that much of it is still to be checkpointed.
    let _ = conn.pragma_update(None, "journal_size_limit", CHECKPOINT_BYTES as i64);
    // What earlier processes left in the log (each ends without checkpointing, so that its
    // last flush does not wait for one): checkpointed now, while the engine starts, rather
    // than replayed by every process that opens the file.
    let wal = conn.path().map(|p| format!("{p}-wal"));
    if wal
        .and_then(|w| std::fs::metadata(w).ok())
        .is_some_and(|m| m.len() > CHECKPOINT_BYTES as u64)
    {
        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }
    let mut since_checkpoint = 0usize;
    // A message taken while deciding whether to checkpoint, for the next round.
    let mut carried: Option<Msg> = None;
    // Ends and Map Run reports a failed commit left for the next round.
    let mut retry: Vec<Msg> = Vec::new();
    let mut watched: Vec<Watched> = Vec::new();
    let mut tokens: Vec<WatchedToken> = Vec::new();
    let mut pendings: Vec<SharedPending> = Vec::new();
    let mut last_poll = std::time::Instant::now();
    // Compressed chunks are written here, one buffer per chunk of a batch, kept for the next.
    let mut scratch: Vec<Vec<u8>> = Vec::new();
    loop {
        let first = if let Some(m) = carried.take() {
            Some(m)
        } else if watched.is_empty() && pendings.is_empty() && tokens.is_empty() && retry.is_empty()
        {
            match rx.recv() {
                Ok(m) => Some(m),
                Err(_) => return,
            }
        } else {
            match rx.recv_timeout(DRAIN_EVERY) {
                Ok(m) => Some(m),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        };
        let mut batch: Vec<Msg> = Vec::new();
        let mut next = first;
        while let Some(m) = next {
            match m {
                Msg::WatchToken(token, hook) => tokens.push(WatchedToken {
                    token,
                    hook,
                    heartbeats: 0,
                    started: false,
                }),
                Msg::CloseToken(token) => {
                    tokens.retain(|w| w.token != token);
                    let _ = conn.execute(CLOSE_TOKEN, params![token, ms(Utc::now())]);
                    // Its task is gone from a live process (answered, or dropped with an
                    // answer not yet told): no later attempt is to be given that answer.
                    let _ =
                        conn.execute("UPDATE task_tokens SET taken = 1 WHERE token = ?1", [token]);
                }
                m => batch.push(m),
            }
            next = if batch.len() < BATCH {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        let mut acks = Vec::new();
        let result = write_batch(
            &conn,
            &mut scratch,
            batch,
            &mut acks,
            &mut watched,
            &mut pendings,
            &mut retry,
        );
        for ack in acks {
            let _ = ack.send(match &result {
                Ok(_) => Ok(()),
                Err(e) => Err(StoreError::Sql(rusqlite::Error::ToSqlConversionFailure(
                    e.to_string().into(),
                ))),
            });
        }
        if let Ok(n) = result {
            since_checkpoint += n;
        }
        if since_checkpoint >= CHECKPOINT_BYTES {
            // After the acknowledgements, and only when nothing waits (a flush that arrived
            // meanwhile is answered first): no flush waits for a checkpoint. What is left at
            // the end, the next process's writer checkpoints as it starts.
            match rx.try_recv() {
                Ok(m) => carried = Some(m),
                Err(_) => {
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                    since_checkpoint = 0;
                }
            }
        }
        if (!watched.is_empty() || !tokens.is_empty()) && last_poll.elapsed() >= STOP_POLL {
            // One snapshot for both: a token completed after a stop was requested (or a
            // machine deleted) is seen with it, and the stop is told first.
            let snapshot = rusqlite::Transaction::new_unchecked(
                &conn,
                rusqlite::TransactionBehavior::Deferred,
            );
            poll_stops(&conn, &mut watched);
            let taken = poll_tokens(&conn, &mut tokens);
            drop(snapshot);
            // The answers told to their tasks: not to be given to a later attempt.
            for token in taken {
                let _ = conn.execute("UPDATE task_tokens SET taken = 1 WHERE token = ?1", [token]);
            }
            last_poll = std::time::Instant::now();
        }
    }
}

fn poll_stops(conn: &Connection, watched: &mut Vec<Watched>) {
    watched.retain_mut(|(arn, hook, doomed)| {
        type Row = (
            i64,
            Option<String>,
            Option<String>,
            Option<bool>,
            Option<String>,
        );
        let row: Option<Row> = conn
            .query_row(
                "SELECT e.stop_requested, e.stop_error, e.stop_cause, m.deleting, m.name
                 FROM executions e LEFT JOIN state_machines m ON m.arn = e.state_machine_arn
                 WHERE e.arn = ?1",
                [&**arn],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()
            .ok()
            .flatten();
        let Some((requested, error, cause, deleting, machine)) = row else {
            return true;
        };
        if requested == 1 {
            hook(StopWhen::Now, error, cause);
            return false;
        }
        // DeleteStateMachine: "On the next state transition, the state machine's executions
        // are terminated" (STANDARD ones; EXPRESS executions run on).
        // An EXPRESS execution's ARN is `arn:aws:states:REGION:ACCOUNT:express:...`.
        let express = arn.split(':').nth(5) == Some("express");
        if deleting == Some(true) && !*doomed && !express {
            *doomed = true;
            hook(
                StopWhen::AtNextTransition,
                Some(crate::failure::names::RUNTIME.to_string()),
                Some(format!(
                    "State machine {} has been deleted.",
                    machine.unwrap_or_default()
                )),
            );
        }
        true
    });
}

/// status, output, error, cause, heartbeats, started (an activity task a worker took), worker
type TokenRow = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    bool,
    Option<String>,
);

/// A watched token: its hook and the heartbeats already reported.
struct WatchedToken {
    token: String,
    hook: TokenHook,
    heartbeats: i64,
    /// Whether a worker's taking it (an activity task) was reported.
    started: bool,
}

/// Tells the watched tokens' tasks what happened to them; the tokens whose answer was told.
fn poll_tokens(conn: &Connection, tokens: &mut Vec<WatchedToken>) -> Vec<String> {
    let mut taken = Vec::new();
    tokens.retain_mut(|w| {
        let row: Option<TokenRow> = conn
            .query_row(
                "SELECT status, output, error, cause, heartbeats, started_ms IS NOT NULL, worker_name
                 FROM task_tokens WHERE token = ?1",
                [&w.token],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                },
            )
            .optional()
            .ok()
            .flatten();
        let Some((status, output, error, cause, heartbeats, started, worker)) = row else {
            return true;
        };
        if started && !w.started {
            w.started = true;
            (w.hook)(crate::exec::TokenEvent::Started(worker));
        }
        if heartbeats > w.heartbeats {
            w.heartbeats = heartbeats;
            (w.hook)(crate::exec::TokenEvent::Heartbeat);
        }
        match status.as_str() {
            "SUCCEEDED" => {
                let v = output
                    .and_then(|o| serde_json::from_str(&o).ok())
                    .unwrap_or(Value::Null);
                (w.hook)(crate::exec::TokenEvent::Success(v));
                taken.push(w.token.clone());
                false
            }
            "FAILED" => {
                (w.hook)(crate::exec::TokenEvent::Failure { error, cause });
                taken.push(w.token.clone());
                false
            }
            _ => true,
        }
    });
    taken
}

/// Commits what the messages and the registered executions hold. When the commit fails
/// (a full disk, a lock held past the busy timeout), nothing is dropped: the events go back to
/// the front of their buffers and the ends and Map Run reports into `retry`, for the next
/// round; the flushes waiting on this one are answered with the error.
fn write_batch(
    conn: &Connection,
    scratch: &mut Vec<Vec<u8>>,
    batch: Vec<Msg>,
    acks: &mut Vec<SyncSender<Result<()>>>,
    watched: &mut Vec<Watched>,
    pendings: &mut Vec<SharedPending>,
    retry: &mut Vec<Msg>,
) -> std::result::Result<usize, rusqlite::Error> {
    let mut finishes = Vec::new();
    let mut map_runs: Vec<(String, String, Value)> = Vec::new();
    for m in std::mem::take(retry).into_iter().chain(batch) {
        match m {
            Msg::Register(p) => pendings.push(p),
            Msg::Wake => {}
            Msg::Finish(f) => finishes.push(f),
            Msg::Flush(ack) => acks.push(ack),
            Msg::Watch(arn, flag) => watched.push((arn, flag, false)),
            Msg::WatchToken(..) | Msg::CloseToken(_) => {}
            Msg::MapRun(arn, execution, body) => {
                map_runs.retain(|(a, _, _)| *a != arn);
                map_runs.push((arn, execution, body));
            }
        }
    }
    // Everything encoded so far; a finish comes after its execution's last event.
    let chunks: Vec<(SharedPending, u64, u64, Vec<u8>)> = pendings
        .iter()
        .filter_map(|p| {
            let (_, first, last, body) = p.lock().unwrap_or_else(|e| e.into_inner()).take()?;
            Some((p.clone(), first, last, body))
        })
        .collect();
    if chunks.is_empty() && finishes.is_empty() && map_runs.is_empty() {
        return Ok(0);
    }
    match commit_batch(conn, scratch, &chunks, &finishes, &map_runs) {
        Ok(bytes) => {
            for f in &finishes {
                watched.retain(|(a, _, _)| **a != *f.arn);
            }
            pendings.retain(|p| {
                let arn = p.lock().unwrap_or_else(|e| e.into_inner()).arn.clone();
                !finishes.iter().any(|f: &Finish| *f.arn == *arn)
            });
            for (p, _, last, body) in chunks {
                let mut p = p.lock().unwrap_or_else(|e| e.into_inner());
                p.give_back(body);
                p.committed.advance(last);
            }
            Ok(bytes)
        }
        Err(e) => {
            for (p, first, last, body) in chunks {
                p.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .put_back(first, last, body);
            }
            retry.extend(finishes.into_iter().map(Msg::Finish));
            retry.extend(map_runs.into_iter().map(|(a, x, b)| Msg::MapRun(a, x, b)));
            Err(e)
        }
    }
}

/// A chunk's body as stored: its JSON lines, lz4-compressed (about 8 to 1: events repeat
/// their types, names and keys), so that the log and its checkpoints write an eighth as much.
/// Written into `out` (the size as a little-endian u32, then the block, as
/// `compress_prepend_size` writes it), which the writer keeps from batch to batch: a fresh
/// buffer each time is memory the allocator gets from the system and the kernel zeroes.
/// Returns the length of the stored form; `out` is left at its largest length, so that the
/// next chunk does not zero it again.
fn compress_into(body: &[u8], out: &mut Vec<u8>) -> usize {
    let max = 4 + lz4_flex::block::get_maximum_output_size(body.len());
    if out.len() < max {
        out.resize(max, 0);
    }
    out[..4].copy_from_slice(&(body.len() as u32).to_le_bytes());
    let n = lz4_flex::block::compress_into(body, &mut out[4..])
        .expect("the output holds the largest block lz4 can make");
    4 + n
}

/// A chunk's JSON lines, from a compressed body or (as written before schema 6) text.
fn chunk_text(v: rusqlite::types::ValueRef<'_>) -> rusqlite::Result<String> {
    use rusqlite::types::{FromSqlError, ValueRef};
    let damaged = |why: String| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Blob,
            format!("an event chunk {why}").into(),
        )
    };
    match v {
        ValueRef::Text(t) => {
            String::from_utf8(t.to_vec()).map_err(|e| damaged(format!("is not text ({e})")))
        }
        ValueRef::Blob(b) => {
            // lz4 expands at most 255 to 1: a larger size in the header is damage, and is not
            // allocated.
            let size = b
                .get(..4)
                .map(|h| u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize)
                .ok_or_else(|| damaged("is shorter than its header".into()))?;
            if size > b.len().saturating_mul(255) {
                return Err(damaged(format!(
                    "claims {size} bytes from {} compressed",
                    b.len()
                )));
            }
            let bytes = lz4_flex::block::decompress_size_prepended(b)
                .map_err(|e| damaged(format!("does not decompress ({e})")))?;
            // A body cut short where a sequence ends still decompresses, to less.
            if bytes.len() != size {
                return Err(damaged(format!(
                    "holds {} bytes where its header says {size}",
                    bytes.len()
                )));
            }
            String::from_utf8(bytes).map_err(|e| damaged(format!("is not text ({e})")))
        }
        other => Err(rusqlite::Error::FromSqlConversionFailure(
            0,
            other.data_type(),
            Box::new(FromSqlError::InvalidType),
        )),
    }
}

fn commit_batch(
    conn: &Connection,
    scratch: &mut Vec<Vec<u8>>,
    chunks: &[(SharedPending, u64, u64, Vec<u8>)],
    finishes: &[Finish],
    map_runs: &[(String, String, Value)],
) -> std::result::Result<usize, rusqlite::Error> {
    // Compressed before the transaction, so that the write lock is held for the inserts only.
    if scratch.len() < chunks.len() {
        scratch.resize_with(chunks.len(), Vec::new);
    }
    let lens: Vec<usize> = chunks
        .iter()
        .zip(scratch.iter_mut())
        .map(|(c, out)| compress_into(&c.3, out))
        .collect();
    let bodies = scratch.iter().zip(&lens).map(|(b, &n)| &b[..n]);
    let written = lens.iter().sum();
    let tx = conn.unchecked_transaction()?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO event_chunks (execution_arn, first_id, last_id, body) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for ((p, first, last, _), body) in chunks.iter().zip(bodies) {
            let arn = p.lock().unwrap_or_else(|e| e.into_inner()).arn.clone();
            insert.execute(params![&*arn, first, last, body])?;
        }
        for f in finishes {
            tx.execute(
                "UPDATE executions SET status = ?2, output = ?3, error = ?4, cause = ?5, stop_ms = ?6,
                    owner_pid = NULL, owner_start = NULL, stop_requested = 0 WHERE arn = ?1",
                params![f.arn, f.status, f.output, f.error, f.cause, ms(f.stop)],
            )?;
            tx.execute(CLOSE_TOKENS_OF_EXECUTION, params![f.arn, ms(f.stop)])?;
        }
        for (arn, execution, body) in map_runs {
            tx.execute(
                "INSERT INTO map_runs (arn, execution_arn, body, updated_ms) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(arn) DO UPDATE SET body = excluded.body, updated_ms = excluded.updated_ms",
                params![arn, execution, body.to_string(), ms(Utc::now())],
            )?;
        }
    }
    tx.commit()?;
    Ok(written)
}

#[cfg(test)]
mod tests {

    #[test]
    fn an_ended_process_not_yet_reaped_is_not_alive() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        // It ends at once, and stays a zombie until waited for (bounded).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !super::zombie(pid) {
            assert!(std::time::Instant::now() < deadline, "no zombie");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(!owner_alive(pid, None));
        assert!(!owner_alive(pid, process_identity(pid).as_deref()));
        child.wait().unwrap();
    }

    #[test]
    fn an_owner_is_its_process_not_only_its_id() {
        let me = std::process::id();
        let id = process_identity(me).expect("/proc says who this process is");
        assert!(owner_alive(me, Some(&id)));
        // The same id with another identity is another process (a container's pid 1 again).
        assert!(!owner_alive(me, Some("another-boot:1")));
        // Rows from before identities were stored: the id alone.
        assert!(owner_alive(me, None));
        assert!(!owner_alive(u32::MAX - 1, None));
    }

    use super::*;
    use crate::history::{DurableHistory, EventKind, HistorySink};

    /// A RUNNING execution `name` of machine `m`, as a test stores it.
    fn running_record(name: &str) -> ExecutionRecord {
        ExecutionRecord {
            arn: format!("arn:aws:states:us-east-1:123456789012:execution:m:{name}"),
            name: name.into(),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:m".into(),
            state_machine_name: "m".into(),
            definition: "{}".into(),
            status: "RUNNING".into(),
            input: "{}".into(),
            output: None,
            error: None,
            cause: None,
            start: Utc::now(),
            stop: None,
            parent_arn: None,
            redrive_count: 0,
            redrive: None,
            owner_pid: None,
            owner_start: None,
            options: json!({}),
            machine: Default::default(),
        }
    }

    /// Prune takes what ended before the cut, but not the children of an execution that runs
    /// (or ended after the cut): its resume or redrive goes on from them.
    /// Aborting an execution whose process is gone records one ExecutionAborted, however
    /// many times (processes) abort it.
    #[test]
    fn an_orphan_is_aborted_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        let r = running_record("orphan");
        store.insert_execution(&r).unwrap();
        store.abort_orphan(&r.arn, Some("Halt"), None).unwrap();
        store.abort_orphan(&r.arn, Some("Again"), None).unwrap();
        let events = store.events(&r.arn).unwrap();
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0]["type"], "ExecutionAborted");
        assert_eq!(events[0]["executionAbortedEventDetails"]["error"], "Halt");
        let e = store.get_execution(&r.arn).unwrap();
        assert_eq!(
            (e.status.as_str(), e.error.as_deref()),
            ("ABORTED", Some("Halt"))
        );
    }

    #[test]
    fn prune_keeps_the_children_of_what_it_keeps() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        let put = |name: &str, parent: Option<&str>, ended: bool| {
            let mut r = running_record(name);
            r.parent_arn =
                parent.map(|p| format!("arn:aws:states:us-east-1:123456789012:execution:m:{p}"));
            let arn = r.arn.clone();
            store.insert_execution(&r).unwrap();
            if ended {
                store
                    .with(|c| {
                        c.execute(
                            "UPDATE executions SET status = 'SUCCEEDED', stop_ms = 1 WHERE arn = ?1",
                            [&arn],
                        )
                        .map_err(sql)
                    })
                    .unwrap();
            }
        };
        put("running", None, false);
        put("child", Some("running"), true);
        put("grandchild", Some("child"), true);
        put("old", None, true);
        put("old-child", Some("old"), true);
        assert_eq!(store.prune(Utc::now()).unwrap(), 2);
        let mut left: Vec<String> = store
            .list_executions(&ExecutionFilter::default())
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        left.sort();
        assert_eq!(left, ["child", "grandchild", "running"]);
    }

    /// A commit that fails (another process holds the write lock past the busy timeout) drops
    /// nothing: the flush reports the error, and once the lock is gone every event is stored,
    /// in order, with the execution's end.
    #[test]
    fn a_failed_commit_keeps_its_events_for_the_next() {
        std::env::set_var("ASL_BUSY_TIMEOUT_MS", "50");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = Store::open(&path).unwrap();
        let arn = "arn:aws:states:us-east-1:123456789012:execution:m:e";
        store.insert_execution(&running_record("e")).unwrap();
        let writer = store.writer().unwrap();
        let h = DurableHistory::new(arn, writer.clone(), 0);
        let now = Utc::now();
        let event = |i: u64| EventKind::other(format!("Event{i}"));
        for i in 1..=3 {
            h.record(i - 1, now, event(i));
        }
        writer.flush().unwrap();

        let holder = Connection::open(&path).unwrap();
        holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
        for i in 4..=6 {
            h.record(i - 1, now, event(i));
        }
        writer.finish(Finish {
            arn: arn.into(),
            status: "SUCCEEDED".into(),
            output: Some("{}".into()),
            error: None,
            cause: None,
            stop: now,
        });
        assert!(
            writer.flush().is_err(),
            "the commit cannot succeed under the lock"
        );
        h.record(6, now, event(7));
        holder.execute_batch("ROLLBACK").unwrap();
        drop(holder);
        writer.flush().unwrap();

        let types: Vec<String> = store
            .events(arn)
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_string())
            .collect();
        let expected: Vec<String> = (1..=7).map(|i| format!("Event{i}")).collect();
        assert_eq!(types, expected);
        // The end, left over from the failed round, was committed with the next one.
        assert_eq!(store.get_execution(arn).unwrap().status, "SUCCEEDED");
    }
}
