//! The scheduler: runs an execution of a definition, state by state, with the concurrency of
//! Map and Parallel, Retry and Catch, time-outs and the clock. The only place that waits.

pub mod clock;
pub mod context;
mod run;

pub use clock::{Clock, SystemClock, VirtualClock};
pub use context::ExecutionContext;

use crate::definition::Definition;
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
}

/// What to start.
#[derive(Debug, Clone)]
pub struct StartRequest {
    pub state_machine_name: String,
    pub execution_name: String,
    pub input: Value,
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
