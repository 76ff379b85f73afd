//! The context object (`$$`) of a state, built only when an expression reads it.

use crate::expr::ContextProvider;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use std::cell::OnceCell;

/// What the execution contributes to every state's context object.
pub struct ExecutionContext {
    pub execution_arn: String,
    pub execution_name: String,
    pub input: Value,
    pub role_arn: String,
    pub start_time: DateTime<Utc>,
    pub redrive_count: u32,
    /// When it was last redriven: `$$.Execution.RedriveTime` is there only then.
    pub redrive_time: Option<DateTime<Utc>>,
    pub state_machine_arn: String,
    pub state_machine_name: String,
    /// TestState's `context`: the context object, whole, instead of the one built here.
    pub given: Option<Value>,
}

pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The context of one state at one moment.
pub struct StateContext<'a> {
    pub execution: &'a ExecutionContext,
    pub state_name: &'a str,
    pub entered_time: DateTime<Utc>,
    /// `$$.State.RetryCount`, only for states that can retry (Task, Parallel, Map).
    pub retry_count: Option<u32>,
    /// `$$.Map.Item`, inside a Map's ItemSelector.
    pub item: Option<(usize, &'a Value)>,
    /// `$$.Task.Token`, for `.waitForTaskToken` tasks.
    pub task_token: Option<String>,
    built: OnceCell<Value>,
}

impl<'a> StateContext<'a> {
    pub fn new(
        execution: &'a ExecutionContext,
        state_name: &'a str,
        entered_time: DateTime<Utc>,
        retry_count: Option<u32>,
    ) -> Self {
        StateContext {
            execution,
            state_name,
            entered_time,
            retry_count,
            item: None,
            task_token: None,
            built: OnceCell::new(),
        }
    }

    pub fn with_task_token(mut self, token: String) -> Self {
        self.task_token = Some(token);
        self
    }

    pub fn with_item(mut self, index: usize, value: &'a Value) -> Self {
        self.item = Some((index, value));
        self
    }
}

impl ContextProvider for StateContext<'_> {
    fn context(&self) -> &Value {
        self.built.get_or_init(|| {
            let e = self.execution;
            if let Some(given) = &e.given {
                return given.clone();
            }
            let mut v = json!({
                "Execution": {
                    "Id": e.execution_arn,
                    "Input": e.input,
                    "StartTime": iso(e.start_time),
                    "Name": e.execution_name,
                    "RoleArn": e.role_arn,
                    "RedriveCount": e.redrive_count,
                },
                "StateMachine": {"Id": e.state_machine_arn, "Name": e.state_machine_name},
                "State": {
                    "EnteredTime": iso(self.entered_time),
                    "Name": self.state_name,
                },
            });
            // "The RedriveTime context object is only available if you've redriven an
            // execution."
            if let Some(t) = e.redrive_time {
                v["Execution"]["RedriveTime"] = json!(iso(t));
            }
            if let Some(n) = self.retry_count {
                v["State"]["RetryCount"] = json!(n);
            }
            if let Some((index, value)) = self.item {
                v["Map"] = json!({"Item": {"Index": index, "Value": value}});
            }
            if let Some(token) = &self.task_token {
                v["Task"] = json!({"Token": token});
            }
            v
        })
    }
}
