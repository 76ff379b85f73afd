//! Tasks that involve the engine itself: nested executions (`states:startExecution`, `.sync`,
//! `.sync:2`) and callbacks (`.waitForTaskToken`, with `HeartbeatSeconds`). Everything else
//! goes to the resources.

use super::{ChildRequest, Outcome, Services, Status, TokenEvent};
use crate::failure::{names, Failure};
use crate::resources::TaskCall;
use serde_json::{json, Value};
use std::time::Duration;

const START_EXECUTION: &str = "arn:aws:states:::states:startExecution";
const CALLBACK: &str = ".waitForTaskToken";

/// What a task submitted, which its caller records as `TaskSubmitted` before the task's end
/// (see [`submitted_event`]): a `.sync` child (set by the host as soon as it starts), or the
/// answer of the service a callback task sent its token to.
#[derive(Default)]
pub(super) struct Submitted {
    child: std::rc::Rc<super::ChildStarted>,
    answer: std::cell::RefCell<Option<(chrono::DateTime<chrono::Utc>, Value)>>,
}

/// The `TaskSubmitted` output and when it came, if the task submitted anything.
pub(super) fn submitted_event(s: &Submitted) -> Option<(chrono::DateTime<chrono::Utc>, Value)> {
    if let Some(a) = s.answer.borrow_mut().take() {
        return Some(a);
    }
    let (arn, start) = s.child.borrow_mut().take()?;
    Some((start, start_execution_response(&arn, start)))
}

pub(super) async fn invoke(
    services: &Services,
    call: &TaskCall<'_>,
    execution_arn: &str,
    // The task token, and the task attempt it belongs to (durable runs).
    token: Option<(&str, Option<&str>)>,
    heartbeat: Option<u64>,
    submitted: &Submitted,
) -> Result<Value, Failure> {
    // A mocked state returns its mock, whatever the resource.
    if services
        .resources
        .mocks
        .as_ref()
        .is_some_and(|m| m.has(call.state_name))
    {
        return services.resources.invoke(call).await;
    }
    let base = call.resource.strip_suffix(CALLBACK);
    let Some(base) = base else {
        return match call.resource.strip_prefix(START_EXECUTION) {
            Some(mode) => start_execution(services, call, execution_arn, mode, submitted).await,
            None => services.resources.invoke(call).await,
        };
    };
    // A callback: register the token, send the task (when asl can), then wait for the token.
    let Some((token, attempt)) = token else {
        return Err(Failure::runtime("a callback task has no task token"));
    };
    let callbacks = services.callbacks.as_ref().ok_or_else(|| {
        Failure::new(
            names::TASK_FAILED,
            "callback tasks need the execution database (run without --no-store)",
        )
    })?;
    let (mut events, answered) =
        callbacks.register(token, execution_arn, call.state_name, attempt)?;
    // However this task ends (an answer, a time-out, an abort that drops it), the token is
    // closed, so that a late `asl task success` is refused instead of going nowhere.
    let _closing = CloseOnDrop(&**callbacks, token);
    let sent = if answered {
        // Sent by this attempt's run before a resume, and answered since: not sent again
        // (a function would run twice, a child execution start twice).
        None
    } else if base == START_EXECUTION {
        Some(start_execution(services, call, execution_arn, "", submitted).await?)
    } else if knows(base) {
        Some(services.resources.invoke(call).await?)
    } else {
        // An integration asl cannot send (SQS, SNS, ...): the token waits for
        // `asl task success|failure`.
        None
    };
    // What the service answered is the task's TaskSubmitted, as AWS records it.
    if let Some(answer) = sent {
        *submitted.answer.borrow_mut() = Some((services.clock.now(), answer));
    }
    loop {
        let next = events.recv();
        let event = match heartbeat {
            None => next.await,
            Some(secs) => {
                let sleep = services.clock.limit(Duration::from_secs(secs));
                tokio::select! {
                    biased;
                    e = next => e,
                    _ = sleep => return Err(Failure::heartbeat_timeout()),
                }
            }
        };
        match event {
            Some(TokenEvent::Heartbeat | TokenEvent::Started(_)) => continue,
            Some(TokenEvent::Success(v)) => return Ok(v),
            Some(TokenEvent::Failure { error, cause }) => {
                return Err(Failure::from_worker(error, cause))
            }
            None => {
                return Err(Failure::new(
                    names::TASK_FAILED,
                    "the task token can no longer be completed",
                ))
            }
        }
    }
}

pub(super) struct CloseOnDrop<'a>(pub &'a dyn super::Callbacks, pub &'a str);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.close(self.1);
    }
}

/// AWS's longest `cause` (32,768 characters). A failed child's record is its parent's cause,
/// and holds the child's own cause: without the bound, each level of nesting would escape and
/// double the one below.
const MAX_CAUSE_CHARS: usize = 32_768;

fn truncate_cause(mut cause: String) -> String {
    if let Some((at, _)) = cause.char_indices().nth(MAX_CAUSE_CHARS) {
        cause.truncate(at);
    }
    cause
}

/// Resources that asl runs itself, and so can send for a callback task.
fn knows(resource: &str) -> bool {
    resource == "arn:aws:states:::lambda:invoke" || resource == "arn:aws:states:::http:invoke"
}

async fn start_execution(
    services: &Services,
    call: &TaskCall<'_>,
    execution_arn: &str,
    mode: &str,
    submitted: &Submitted,
) -> Result<Value, Failure> {
    let host = services.children.as_ref().ok_or_else(|| {
        Failure::new(
            names::TASK_FAILED,
            "nested executions need the execution database (run without --no-store)",
        )
    })?;
    let p = call.parameters;
    let machine = p
        .get("StateMachineArn")
        .and_then(|v| v.as_str())
        .ok_or_else(|| Failure::runtime("startExecution needs Parameters.StateMachineArn"))?;
    // What StartExecution itself refuses, as the service integration reports it.
    let refused = |code: &str, message: String| {
        Failure::from_task(
            format!("StepFunctions.{code}Exception"),
            format!(
                "{message} (Service: AWSStepFunctions; Status Code: 400; Error Code: {code}; Request ID: {}; Proxy: null)",
                crate::resources::new_request_id()
            ),
        )
    };
    let input = match p.get("Input") {
        None => json!({}),
        // AWS takes Input as JSON text or as JSON; text that is not JSON is refused.
        Some(Value::String(s)) => serde_json::from_str(s).map_err(|e| {
            refused(
                "InvalidExecutionInput",
                format!("Invalid State Machine Execution Input: '{e}'"),
            )
        })?,
        Some(v) => v.clone(),
    };
    let name = p.get("Name").and_then(|v| v.as_str()).map(String::from);
    if let Some(n) = &name {
        if super::name_problem(n).is_some() {
            return Err(refused("InvalidName", format!("Invalid Name: '{n}'")));
        }
    }
    let req = ChildRequest {
        state_machine: machine.to_string(),
        name,
        input,
        parent_arn: execution_arn.to_string(),
        parent_stop: services.stop.clone(),
        started: (!mode.is_empty()).then(|| submitted.child.clone()),
    };
    match mode {
        "" => {
            let (arn, start) = host.spawn(req)?;
            Ok(start_execution_response(&arn, start))
        }
        ".sync" | ".sync:2" => {
            let outcome = host.run(req).await?;
            let as_json = mode == ".sync:2";
            let record = describe(&outcome, as_json);
            if outcome.status == Status::Succeeded {
                Ok(record)
            } else {
                Err(Failure::from_task(
                    names::TASK_FAILED,
                    truncate_cause(record.to_string()),
                ))
            }
        }
        other => Err(Failure::runtime(format!(
            "unsupported startExecution variant {other:?}: use .sync, .sync:2, .waitForTaskToken or none"
        ))),
    }
}

/// What the request-response integration returns: StartExecution's answer with the SDK's
/// metadata around it, as recorded against AWS.
fn start_execution_response(arn: &str, start: chrono::DateTime<chrono::Utc>) -> Value {
    let id = crate::resources::new_request_id();
    // The length of the JSON answer StartExecution sends (`startDate` in epoch seconds).
    let body = json!({"executionArn": arn, "startDate": start.timestamp_millis() as f64 / 1000.0});
    let length = body.to_string().len().to_string();
    let date = start.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    json!({
        "ExecutionArn": arn,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {
                "x-amzn-RequestId": [id],
                "connection": ["keep-alive"],
                "Content-Length": [length],
                "Date": [date],
                "Content-Type": ["application/x-amz-json-1.0"],
            },
            "HttpHeaders": {
                "connection": "keep-alive",
                "Content-Length": length,
                "Content-Type": "application/x-amz-json-1.0",
                "Date": date,
                "x-amzn-RequestId": id,
            },
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": id},
        "StartDate": start.timestamp_millis(),
    })
}

/// The child as the `.sync` integrations return it: DescribeExecution's fields, payloads as
/// JSON text (`.sync`) or as JSON (`.sync:2`).
pub fn describe(o: &Outcome, as_json: bool) -> Value {
    let payload = |v: &Value| {
        if as_json {
            v.clone()
        } else {
            Value::String(v.to_string())
        }
    };
    let mut d = json!({
        "ExecutionArn": o.execution_arn,
        "Input": payload(&o.input),
        "InputDetails": {"Included": true},
        "Name": o.name,
        "StartDate": o.start_date.timestamp_millis(),
        "StateMachineArn": o.state_machine_arn,
        "Status": o.status.as_str(),
        "StopDate": o.stop_date.timestamp_millis(),
    });
    if let Some(out) = &o.output {
        d["Output"] = payload(out);
        d["OutputDetails"] = json!({"Included": true});
    }
    if let Some(e) = &o.error {
        d["Error"] = json!(e);
    }
    if let Some(c) = &o.cause {
        d["Cause"] = json!(c);
    }
    if as_json {
        d["RedriveCount"] = json!(0);
        if o.status == Status::Succeeded {
            d["RedriveStatus"] = json!("NOT_REDRIVABLE");
            d["RedriveStatusReason"] = json!("Execution is SUCCEEDED and cannot be redriven");
        } else {
            d["RedriveStatus"] = json!("REDRIVABLE");
        }
    }
    d
}
