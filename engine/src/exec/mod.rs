//! The scheduler: runs an execution of a definition, state by state, with the concurrency of
//! Map and Parallel, Retry and Catch, time-outs and the clock. The only place that waits.

pub mod clock;
pub mod context;
mod run;

pub use clock::{Clock, SystemClock, VirtualClock};
pub use context::ExecutionContext;

use crate::definition::Definition;
use crate::history::store::Memo;
use crate::history::HistorySink;
use crate::resources::Resources;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::sync::Arc;

/// The local account and region in ARNs.
pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";

/// What a run needs from outside: time, task resources, and where events go.
#[derive(Clone)]
pub struct Services {
    pub clock: Arc<dyn Clock>,
    pub resources: Arc<Resources>,
    pub history: Arc<dyn HistorySink>,
    /// Set when someone asks to stop the execution (`asl stop`).
    pub stop: Option<Arc<StopSignal>>,
}

/// A request to stop an execution, raised from any thread and awaited by the scheduler.
#[derive(Default)]
pub struct StopSignal {
    raised: std::sync::atomic::AtomicBool,
    notify: tokio::sync::Notify,
}

impl StopSignal {
    pub fn raise(&self) {
        self.raised.store(true, std::sync::atomic::Ordering::SeqCst);
        self.notify.notify_waiters();
        self.notify.notify_one();
    }

    pub fn is_raised(&self) -> bool {
        self.raised.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub async fn wait(&self) {
        while !self.is_raised() {
            self.notify.notified().await;
        }
    }
}

/// How to continue an execution that was interrupted (resume) or ended unsuccessfully (redrive):
/// what already happened is replayed from `memo`, not run again.
#[derive(Debug, Clone, Default)]
pub struct Resume {
    pub memo: Memo,
    pub last_event_id: u64,
    pub start_time: DateTime<Utc>,
    /// Set for a redrive: the new `$$.Execution.RedriveCount`, reported by ExecutionRedriven.
    pub redrive_count: Option<u32>,
}

/// What to start.
#[derive(Debug, Clone)]
pub struct StartRequest {
    pub state_machine_name: String,
    pub execution_name: String,
    pub input: Value,
    /// When the execution started (default: now), so that the store and the engine agree.
    pub start_time: Option<DateTime<Utc>>,
    pub resume: Option<Resume>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Running => "RUNNING",
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
            Status::Aborted => "ABORTED",
        }
    }
}

/// How an execution ended, in DescribeExecution's terms.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub status: Status,
    pub start_date: DateTime<Utc>,
    pub stop_date: DateTime<Utc>,
    pub input: Value,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

pub fn state_machine_arn(name: &str) -> String {
    format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}")
}

pub fn execution_arn(machine: &str, name: &str) -> String {
    format!("arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine}:{name}")
}

/// Runs one execution to its end.
pub async fn execute(def: &Definition, req: StartRequest, services: &Services) -> Outcome {
    run::Run::new(def, req, services).execute().await
}
