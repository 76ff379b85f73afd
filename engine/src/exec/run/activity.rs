//! Activity tasks (`arn:aws:states:REGION:ACCOUNT:activity:NAME`): the task's input is queued
//! for a worker, which takes it with GetActivityTask (`asl activity get-task`) and answers with
//! SendTaskSuccess/Failure/Heartbeat (`asl task ...`), from any process. Recorded as AWS does:
//! ActivityScheduled, ActivityStarted when a worker takes the task, then ActivitySucceeded,
//! ActivityFailed or ActivityTimedOut.

use super::{resolve_seconds, task_token, Run};
use crate::definition::model::{State, Task};
use crate::exec::nested::CloseOnDrop;
use crate::exec::TokenEvent;
use crate::expr::Env;
use crate::failure::{names, Failure};
use crate::history::{json_text, EventKind};
use crate::resources::TaskCall;
use serde_json::{json, Map, Value};
use std::time::Duration;

impl Run<'_> {
    pub(super) async fn run_activity(
        &self,
        st: &State,
        task: &Task,
        params: &Value,
        env: &Env<'_>,
        prev: &mut u64,
        mark: Option<(&str, u32)>,
    ) -> Result<Value, Failure> {
        let timeout = resolve_seconds(task.timeout.as_ref(), env)?;
        let heartbeat = resolve_seconds(task.heartbeat.as_ref(), env)?;
        let input = json_text(params);
        let services = self.services;
        let mocked = services
            .resources
            .mocks
            .as_ref()
            .is_some_and(|m| m.has(&st.name));
        let token = task_token();
        let mut queued = None;
        if !mocked {
            let callbacks = services.callbacks.as_deref().ok_or_else(|| {
                Failure::new(
                    names::TASK_FAILED,
                    "activity tasks need the execution database (run without --no-store)",
                )
            })?;
            let attempt = self.attempt_name(mark);
            match callbacks.queue_activity(
                &token,
                &self.ctx.execution_arn,
                &st.name,
                attempt.as_deref(),
                &task.resource,
                &input,
            )? {
                Some(events) => queued = Some((callbacks, events)),
                // As recorded against AWS: nothing scheduled, a States.Runtime failure.
                None => {
                    return Err(Failure::runtime(format!(
                        "The activity {} does not exist.",
                        task.resource
                    )))
                }
            }
        }
        // However the task ends, its token is closed: a late answer is refused.
        let _closing = queued.as_ref().map(|(c, _)| CloseOnDrop(*c, &token));
        self.emit(prev, || {
            let mut d = Map::new();
            d.insert("resource".into(), json!(task.resource));
            d.insert("input".into(), json!(input));
            d.insert("inputDetails".into(), json!({"truncated": false}));
            if let Some(t) = timeout {
                d.insert("timeoutInSeconds".into(), json!(t));
            }
            if let Some(h) = heartbeat {
                d.insert("heartbeatInSeconds".into(), json!(h));
            }
            EventKind::with_details(
                "ActivityScheduled",
                "activityScheduledEventDetails",
                Value::Object(d),
            )
        });
        services.history.sync();
        // TimeoutSeconds counts from the scheduling (a task no worker takes times out too);
        // HeartbeatSeconds from the worker's taking it and each heartbeat after.
        let overall = async {
            match timeout {
                Some(s) => services.clock.limit(Duration::from_secs(s)).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(overall);
        let result = match queued {
            None => {
                self.emit(prev, || started_event(None));
                let call = TaskCall {
                    state_name: &st.name,
                    resource: &task.resource,
                    parameters: params,
                };
                tokio::select! {
                    biased;
                    r = services.resources.invoke(&call) => r,
                    _ = &mut overall => Err(Failure::new(names::TIMEOUT, "")),
                }
            }
            Some((_, mut events)) => {
                let mut started = false;
                loop {
                    let beat = async {
                        match heartbeat {
                            Some(h) if started => {
                                services.clock.limit(Duration::from_secs(h)).await
                            }
                            _ => std::future::pending().await,
                        }
                    };
                    let event = tokio::select! {
                        biased;
                        e = events.recv() => e,
                        _ = &mut overall => break Err(Failure::new(names::TIMEOUT, "")),
                        _ = beat => break Err(Failure::heartbeat_timeout()),
                    };
                    match event {
                        Some(TokenEvent::Started(worker)) => {
                            started = true;
                            self.emit(prev, || started_event(worker.as_deref()));
                        }
                        Some(TokenEvent::Heartbeat) => {}
                        Some(TokenEvent::Success(v)) => break Ok(v),
                        Some(TokenEvent::Failure { error, cause }) => {
                            break Err(Failure::from_worker(error, cause))
                        }
                        None => {
                            break Err(Failure::new(
                                names::TASK_FAILED,
                                "the task token can no longer be completed",
                            ))
                        }
                    }
                }
            }
        };
        match &result {
            Ok(v) => {
                self.emit(prev, || {
                    EventKind::with_details(
                        "ActivitySucceeded",
                        "activitySucceededEventDetails",
                        json!({"output": json_text(v), "outputDetails": {"truncated": false}}),
                    )
                });
            }
            Err(f) => self.emit_failure(prev, mark, f, || {
                let timed_out = f.error == names::TIMEOUT && !f.from_task;
                let mut d = Map::new();
                f.event_fields(&mut d);
                // As recorded against AWS: a time-out's event carries no cause.
                if timed_out && f.cause.is_empty() {
                    d.remove("cause");
                }
                let (ty, key) = if timed_out {
                    ("ActivityTimedOut", "activityTimedOutEventDetails")
                } else {
                    ("ActivityFailed", "activityFailedEventDetails")
                };
                EventKind::with_details(ty, key, Value::Object(d))
            }),
        };
        result
    }
}

/// `ActivityStarted`, with the name the worker gave (none: `{}`, as recorded).
fn started_event(worker: Option<&str>) -> EventKind<'static> {
    let d = match worker {
        Some(w) => json!({"workerName": w}),
        None => json!({}),
    };
    EventKind::with_details("ActivityStarted", "activityStartedEventDetails", d)
}
