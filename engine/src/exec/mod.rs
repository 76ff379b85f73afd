//! The scheduler: runs an execution of a definition, state by state, with the concurrency of
//! Map and Parallel, Retry and Catch, time-outs and the clock. The only place that waits.

pub mod clock;
pub mod context;
mod nested;
mod run;
pub(crate) use run::{json_type, ENTERED_MARK, FAILURE_MARK};

pub use clock::{Clock, SystemClock, VirtualClock};
pub use context::ExecutionContext;
pub use run::{payload_size, MAX_PAYLOAD_BYTES};

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
    /// Starts nested executions (`states:startExecution`); none: such tasks fail.
    pub children: Option<Arc<dyn ChildHost>>,
    /// Delivers task-token callbacks (`.waitForTaskToken`); none: such tasks fail.
    pub callbacks: Option<Arc<dyn Callbacks>>,
    /// Told each step's value of a JSONPath state (`afterInputPath`, `afterParameters`,
    /// `result`, `afterResultSelector`, `afterResultPath`), for TestState's inspection data;
    /// none in executions.
    pub inspect: Option<Inspect>,
    /// What TestState puts in place of the real thing; none in executions.
    pub test_state: Option<Arc<TestStateHooks>>,
}

/// TestState's stand-ins (its `context` and the `mock` of a Map or Parallel state).
#[derive(Default)]
pub struct TestStateHooks {
    /// TestState's `context`: the whole context object (`$$`, `$states.context`), as given.
    pub context: Option<Value>,
    /// TestState's `mock` of a Map or Parallel state.
    pub stand_in: Option<StandIn>,
}

/// A Map or Parallel state's mocked result: what its iterations or branches would give (or
/// the error they would end it with), in place of running them. A Map still resolves its items
/// and limits first.
pub struct StandIn {
    pub state: String,
    pub answer: Result<Value, crate::Failure>,
    /// `stateConfiguration.mapIterationFailureCount`: iterations taken to have failed, judged
    /// against the Map's tolerance (when it declares one).
    pub failed_iterations: u64,
}

/// See [`Services::inspect`].
pub type Inspect = Arc<dyn Fn(&'static str, &Value) + Send + Sync>;

/// A nested execution to start.
pub struct ChildRequest {
    /// The state machine's name or ARN, as the task's `StateMachineArn` gives it.
    pub state_machine: String,
    pub name: Option<String>,
    pub input: Value,
    pub parent_arn: String,
    /// The parent's stop signal: stopping the parent stops its children.
    pub parent_stop: Option<Arc<StopSignal>>,
    /// Where a `.sync` child's ARN and start go as soon as it starts (its task records them as
    /// `TaskSubmitted`, even when the task times out before the child ends).
    pub started: Option<std::rc::Rc<ChildStarted>>,
}

/// A started child: its ARN and start date.
pub type ChildStarted = std::cell::RefCell<Option<(String, DateTime<Utc>)>>;

pub type LocalFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + 'a>>;

/// One child execution of a DISTRIBUTED Map (STANDARD): its definition is the Map's
/// `ItemProcessor`, its state machine `PARENT/LABEL`.
pub struct MapChild {
    pub def: crate::Definition,
    pub machine_name: String,
    pub execution_name: String,
    pub input: Value,
    pub parent_arn: String,
    pub map_run_arn: String,
    /// Which unit of the Map Run's items it runs (recorded, for a resume or redrive).
    pub index: usize,
    /// `Some`: the child is already recorded under this name and runs on from its history:
    /// redriven (`true`, it did not succeed) or resumed (`false`, its process stopped).
    pub again: Option<bool>,
    /// The parent's stop signal: stopping the parent stops its children.
    pub parent_stop: Option<Arc<StopSignal>>,
}

/// A Map Run that a resumed or redriven execution started before: its ARN, how often it was
/// redriven, and its recorded children by unit index, as they ended (or `RUNNING`).
#[derive(Debug, Clone)]
pub struct PriorMapRun {
    pub arn: String,
    /// How it ended (`RUNNING` when its process stopped).
    pub status: String,
    pub redrive_count: u32,
    pub children: std::collections::HashMap<usize, Outcome>,
}

/// Runs nested executions for `states:startExecution` tasks.
pub trait ChildHost {
    /// Runs a child to its end (`.sync`, `.sync:2`).
    fn run<'a>(&'a self, req: ChildRequest) -> LocalFuture<'a, Result<Outcome, crate::Failure>>;
    /// Starts a child and returns at once with its ARN and start date (no suffix).
    fn spawn(&self, req: ChildRequest) -> Result<(String, DateTime<Utc>), crate::Failure>;
    /// Runs a DISTRIBUTED Map's STANDARD child as an execution of its own, recorded under its
    /// parent with its history. `None`: this host does not record them (the Map runs the child
    /// in-process, unrecorded).
    fn run_map_child<'a>(
        &'a self,
        _child: MapChild,
    ) -> Option<LocalFuture<'a, Result<Outcome, crate::Failure>>> {
        None
    }
    /// How a Map Run stands (DescribeMapRun's shape), reported as it progresses and when it ends.
    fn map_run_progress(&self, _execution_arn: &str, _map_run: &Value) {}
    /// Returns once the reports made so far are committed (a Map Run's start is on record
    /// before its event is).
    fn commit_reports(&self) {}
    /// The last Map Run the state `state` of this execution started, with its children, when
    /// the host records them.
    fn prior_map_run(&self, _execution_arn: &str, _state: &str) -> Option<PriorMapRun> {
        None
    }
}

/// What happens to a task token.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenEvent {
    /// A worker took the activity task (GetActivityTask), with the name it gave.
    Started(Option<String>),
    Heartbeat,
    Success(Value),
    /// SendTaskFailure; `None` where the worker left the field out.
    Failure {
        error: Option<String>,
        cause: Option<String>,
    },
}

/// Task tokens: registered before the task is sent, completed by someone else
/// (`asl task success|failure|heartbeat`, from any process).
pub trait Callbacks {
    /// Records `token` for the task attempt `instance` (durable runs name it), and reports
    /// what happens to it; with true when the token starts with the answer that an earlier
    /// run of the same attempt (before a resume) was given, so that the task was sent then.
    #[allow(clippy::type_complexity)]
    fn register(
        &self,
        token: &str,
        execution_arn: &str,
        state_name: &str,
        instance: Option<&str>,
    ) -> Result<(tokio::sync::mpsc::UnboundedReceiver<TokenEvent>, bool), crate::Failure>;

    /// The task no longer waits on `token` (it ended one way or another).
    fn close(&self, token: &str);

    /// Queues an activity task (its input as JSON text) under `token` for a worker to take;
    /// `Ok(None)` when the activity does not exist.
    fn queue_activity(
        &self,
        token: &str,
        execution_arn: &str,
        state_name: &str,
        instance: Option<&str>,
        activity_arn: &str,
        input: &str,
    ) -> Result<Option<tokio::sync::mpsc::UnboundedReceiver<TokenEvent>>, crate::Failure>;
}

/// A request to stop an execution, raised from any thread and awaited by the scheduler.
#[derive(Default)]
pub struct StopSignal {
    raised: std::sync::atomic::AtomicBool,
    /// Set by DeleteStateMachine: the execution fails at its next state transition, with
    /// this error and cause.
    doomed: std::sync::atomic::AtomicBool,
    doom: std::sync::Mutex<(String, String)>,
    /// Whether the raise is that failure (not a StopExecution).
    failing: std::sync::atomic::AtomicBool,
    notify: tokio::sync::Notify,
    /// The error and cause to record with the abort.
    reason: std::sync::Mutex<(Option<String>, Option<String>)>,
}

impl StopSignal {
    pub fn raise(&self) {
        self.raised.store(true, std::sync::atomic::Ordering::SeqCst);
        self.notify.notify_waiters();
        self.notify.notify_one();
    }

    pub fn raise_with(&self, error: Option<String>, cause: Option<String>) {
        if let Ok(mut r) = self.reason.lock() {
            *r = (
                error.filter(|e| !e.is_empty()),
                cause.filter(|c| !c.is_empty()),
            );
        }
        self.raise();
    }

    /// Makes the execution fail, with `error` and `cause`, at its next state transition
    /// (DeleteStateMachine's way of ending the executions of a deleted machine).
    pub fn doom_with(&self, error: String, cause: String) {
        if let Ok(mut d) = self.doom.lock() {
            *d = (error, cause);
        }
        self.doomed.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn is_doomed(&self) -> bool {
        self.doomed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// At a state transition of a doomed execution: ends it with the doom's failure.
    pub fn fail_now(&self) {
        self.failing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.raise();
    }

    /// The error and cause the execution fails with, when [`StopSignal::fail_now`] raised.
    pub fn failure(&self) -> Option<(String, String)> {
        if !self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return None;
        }
        self.doom.lock().ok().map(|d| d.clone())
    }

    pub fn reason(&self) -> (Option<String>, Option<String>) {
        self.reason.lock().map(|r| r.clone()).unwrap_or_default()
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
    /// For a resume: the `$$.Execution.RedriveCount` the execution had (it may resume a redrive).
    pub redrives_before: u32,
    /// When the execution was last redriven (`$$.Execution.RedriveTime`), if ever.
    pub redrive_time: Option<DateTime<Utc>>,
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
    /// An EXPRESS execution: its ARN (`...:express:MACHINE:NAME:ID`); it runs five minutes at
    /// most, as AWS's do.
    pub express_arn: Option<String>,
    /// The state machine's role (`$$.Execution.RoleArn`, ExecutionStarted's `roleArn`); none:
    /// a stand-in of this account.
    pub role_arn: Option<String>,
    /// Variables it starts with (TestState's `variables`); none for an execution.
    pub variables: Option<serde_json::Map<String, Value>>,
}

/// "Express Workflows can run for up to five minutes."
pub const EXPRESS_MAX_SECONDS: u64 = 300;

/// The ARN of an EXPRESS execution, which AWS gives an id of its own beside the name.
pub fn express_execution_arn(machine: &str, name: &str) -> String {
    format!(
        "arn:aws:states:{REGION}:{ACCOUNT}:express:{machine}:{name}:{}",
        uuid::Uuid::new_v4()
    )
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
    /// The status a record names (`None` for an unknown name).
    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "RUNNING" => Status::Running,
            "SUCCEEDED" => Status::Succeeded,
            "FAILED" => Status::Failed,
            "TIMED_OUT" => Status::TimedOut,
            "ABORTED" => Status::Aborted,
            _ => return None,
        })
    }

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

/// The execution that an input names as the one that started it: AWS links a child to its
/// parent by this key in the child's input (`"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$":
/// "$$.Execution.Id"`).
pub fn started_by(input: &Value) -> Option<&str> {
    input
        .get("AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
}

/// What is wrong with an execution or state machine name by StartExecution's rules (1 to 80
/// characters, none of whitespace, brackets, wildcards, `"#%\\^|~`$&,;:/` or control
/// characters), if anything.
pub fn name_problem(name: &str) -> Option<String> {
    let n = name.chars().count();
    if n == 0 || n > 80 {
        return Some(format!("a name has 1 to 80 characters (it has {n})"));
    }
    name.chars()
        .find(|c| {
            c.is_whitespace()
                || c.is_control()
                || ('\u{7f}'..='\u{9f}').contains(c)
                || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(*c)
        })
        .map(|c| format!("{c:?} is not allowed in a name"))
}

pub fn execution_arn(machine: &str, name: &str) -> String {
    format!("arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine}:{name}")
}

/// Runs one execution to its end.
pub async fn execute(def: &Definition, req: StartRequest, services: &Services) -> Outcome {
    run::Run::new(def, req, services).execute().await
}
