//! Workflow failures as data: error names, causes, and the matching rules of `ErrorEquals`.

use serde_json::{json, Value};

/// An error raised inside a workflow (`States.TaskFailed`, a custom name, ...).
/// It is data: it flows through Retry, Catch and history, never through Rust's `?` to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub error: String,
    pub cause: String,
    /// Reported by a task resource rather than raised by the engine. AWS's terminal errors
    /// (`States.Runtime`, `States.DataLimitExceeded`) escape `States.ALL` only when the engine
    /// raises them: recorded executions show `States.ALL` catching a Lambda integration's
    /// `States.DataLimitExceeded`.
    pub from_task: bool,
    /// A `States.Timeout` from a missed heartbeat: AWS reports it as `States.Timeout` (with no
    /// cause), and a Retrier or Catcher may also name it `States.HeartbeatTimeout`.
    pub heartbeat: bool,
    /// Where in a JSONata state the expression that failed is (`Output`, `Arguments/Key`...),
    /// for the `EvaluationFailed` event.
    pub location: Option<String>,
    /// The failure ends a Map or Parallel state that had started (`MapStateStarted`): its
    /// `MapStateFailed`/`ParallelStateFailed` is recorded once no Retrier takes it.
    pub started: bool,
    /// The task's worker gave no error (SendTaskFailure without `error`): the failure's event
    /// has no `error` field and a Catcher's output `"Error": null`, as recorded against AWS.
    pub error_absent: bool,
    /// Likewise for the cause.
    pub cause_absent: bool,
}

/// The error names Step Functions defines.
pub mod names {
    pub const ALL: &str = "States.ALL";
    pub const TIMEOUT: &str = "States.Timeout";
    pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
    pub const TASK_FAILED: &str = "States.TaskFailed";
    pub const PERMISSIONS: &str = "States.Permissions";
    pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
    pub const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
    pub const BRANCH_FAILED: &str = "States.BranchFailed";
    pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
    pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
    pub const EXCEED_TOLERATED_FAILURE_THRESHOLD: &str = "States.ExceedToleratedFailureThreshold";
    pub const ITEM_READER_FAILED: &str = "States.ItemReaderFailed";
    pub const RESULT_WRITER_FAILED: &str = "States.ResultWriterFailed";
    pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
    pub const RUNTIME: &str = "States.Runtime";
    pub const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";
}

/// Every `States.*` name a definition may use in `ErrorEquals`.
pub const KNOWN_STATES_ERRORS: &[&str] = &[
    names::ALL,
    names::TIMEOUT,
    names::HEARTBEAT_TIMEOUT,
    names::TASK_FAILED,
    names::PERMISSIONS,
    names::RESULT_PATH_MATCH_FAILURE,
    names::PARAMETER_PATH_FAILURE,
    names::BRANCH_FAILED,
    names::NO_CHOICE_MATCHED,
    names::INTRINSIC_FAILURE,
    names::EXCEED_TOLERATED_FAILURE_THRESHOLD,
    names::ITEM_READER_FAILED,
    names::RESULT_WRITER_FAILED,
    names::DATA_LIMIT_EXCEEDED,
    names::RUNTIME,
    names::QUERY_EVALUATION_ERROR,
];

impl Failure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Failure {
            error: error.into(),
            cause: cause.into(),
            from_task: false,
            heartbeat: false,
            location: None,
            started: false,
            error_absent: false,
            cause_absent: false,
        }
    }

    /// A task that sent no heartbeat within `HeartbeatSeconds`.
    pub fn heartbeat_timeout() -> Self {
        Failure {
            heartbeat: true,
            ..Failure::new(names::TIMEOUT, "")
        }
    }

    /// A failure a task resource reported.
    pub fn from_task(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Failure {
            from_task: true,
            ..Failure::new(error, cause)
        }
    }

    /// A failure a worker sent for its task token, where `None` is a field it left out.
    pub fn from_worker(error: Option<String>, cause: Option<String>) -> Self {
        Failure {
            error_absent: error.is_none(),
            cause_absent: cause.is_none(),
            ..Failure::from_task(error.unwrap_or_default(), cause.unwrap_or_default())
        }
    }

    /// The failure's `error` and `cause` as an event's details hold them: each left out when
    /// the task gave none.
    pub fn event_fields(&self, d: &mut serde_json::Map<String, Value>) {
        if !self.error_absent {
            d.insert("error".into(), json!(self.error));
        }
        if !self.cause_absent {
            d.insert("cause".into(), json!(self.cause));
        }
    }

    pub fn runtime(cause: impl Into<String>) -> Self {
        Failure::new(names::RUNTIME, cause)
    }

    /// Whether a Retrier or Catcher listing `names` handles this failure.
    ///
    /// `States.ALL` matches everything but the terminal errors `States.Runtime` and
    /// `States.DataLimitExceeded`; `States.TaskFailed` matches any known error except
    /// `States.Timeout` (and the terminal ones).
    pub fn matches(&self, names: &[String]) -> bool {
        names.iter().any(|n| self.matches_one(n))
    }

    fn matches_one(&self, name: &str) -> bool {
        if !self.from_task && self.error == names::RUNTIME {
            return false;
        }
        if name == self.error {
            return true;
        }
        match name {
            names::HEARTBEAT_TIMEOUT => self.heartbeat,
            names::ALL => !self.is_terminal(),
            names::TASK_FAILED => !self.is_terminal() && self.error != names::TIMEOUT,
            _ => false,
        }
    }

    /// Errors that neither `States.ALL` nor `States.TaskFailed` catch (nor, when the engine
    /// raises `States.Runtime`, a Retrier or Catcher naming it: AWS documents that a
    /// `States.Runtime` error "will always cause the execution to fail").
    pub fn is_terminal(&self) -> bool {
        !self.from_task
            && (self.error == names::RUNTIME || self.error == names::DATA_LIMIT_EXCEEDED)
    }

    /// The error output a Catcher hands on: `{"Error": ..., "Cause": ...}`.
    pub fn to_output(&self) -> Value {
        let field = |absent: bool, v: &str| if absent { Value::Null } else { json!(v) };
        json!({"Error": field(self.error_absent, &self.error),
               "Cause": field(self.cause_absent, &self.cause)})
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.cause)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(error: &str, equals: &[&str], expected: bool) {
        let f = Failure::new(error, "");
        let names: Vec<String> = equals.iter().map(|s| s.to_string()).collect();
        assert_eq!(f.matches(&names), expected, "{error} vs {equals:?}");
    }

    #[test]
    fn matching_rules() {
        check("Custom", &["Custom"], true);
        check("Custom", &["Other"], false);
        check("Custom", &["States.ALL"], true);
        check("States.Timeout", &["States.ALL"], true);
        check("States.Runtime", &["States.ALL"], false);
        check("States.DataLimitExceeded", &["States.ALL"], false);
        check("States.Runtime", &["States.Runtime"], false);
        check("States.Timeout", &["States.TaskFailed"], false);
        check("Lambda.ServiceException", &["States.TaskFailed"], true);
        check("States.TaskFailed", &["States.TaskFailed"], true);
        check("States.Permissions", &["States.TaskFailed"], true);
        let reported = Failure::from_task("States.DataLimitExceeded", "");
        assert!(reported.matches(&["States.ALL".to_string()]));
        let names = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let missed = Failure::heartbeat_timeout();
        assert_eq!(missed.error, "States.Timeout");
        assert!(missed.matches(&names(&["States.HeartbeatTimeout"])));
        assert!(missed.matches(&names(&["States.Timeout"])));
        assert!(!missed.matches(&names(&["States.TaskFailed"])));
        assert!(!Failure::new("States.Timeout", "").matches(&names(&["States.HeartbeatTimeout"])));
    }
}
