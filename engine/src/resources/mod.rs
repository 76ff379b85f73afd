//! Task resources: what a Task state's `Resource` does when invoked — a mock from a
//! MockConfigFile when the state has one, else the real thing: the HTTP task, Lambda-like
//! functions (`lambda:invoke` and legacy function ARNs). The only place that does network or
//! process IO.

pub mod builtin;
pub mod client;
pub mod config;
pub mod functions;
pub mod http;
pub mod items;
pub mod mock;

use crate::failure::{names, Failure};
use config::Config;
use functions::Outcome;
use serde_json::{json, Value};
use std::sync::Arc;

/// One invocation of a Task state's resource.
pub struct TaskCall<'a> {
    pub state_name: &'a str,
    pub resource: &'a str,
    pub parameters: &'a Value,
}

/// The resources an execution may use.
#[derive(Default)]
pub struct Resources {
    pub mocks: Option<mock::MockSet>,
    /// The whole MockConfigFile the mocks came from: a nested execution picks its own test
    /// case in it ([`Resources::for_child`]).
    pub mock_config: Option<Arc<Value>>,
    pub config: Config,
    pub http: Arc<http::HttpTask>,
    /// Local directories standing for S3 buckets (DISTRIBUTED Map's ItemReader/ResultWriter).
    pub buckets: items::Buckets,
}

const HTTP_INVOKE: &str = "arn:aws:states:::http:invoke";
const LAMBDA_INVOKE: &str = "arn:aws:states:::lambda:invoke";

impl Resources {
    pub fn new(mocks: Option<mock::MockSet>, config: Config) -> Self {
        Resources {
            mocks,
            mock_config: None,
            config,
            http: Arc::new(http::HttpTask::new()),
            buckets: items::Buckets::default(),
        }
    }

    /// What a nested execution of the state machine `machine` runs with: the same functions,
    /// HTTP client and buckets, and mocks only from a test case of its own state machine in
    /// the mock config — `test_case`, the `#Case` suffix of the `StateMachineArn` that starts
    /// it (as Step Functions Local picks a test case per StartExecution), else the parent's
    /// test case name when the child's state machine has one of that name. Otherwise the child
    /// runs unmocked: the parent's mocks are for the parent's states.
    pub fn for_child(&self, machine: &str, test_case: Option<&str>) -> Result<Resources, String> {
        let inherited = self.mocks.as_ref().map(|m| m.case.as_str()).filter(|case| {
            self.mock_config
                .as_ref()
                .and_then(|c| c.get("StateMachines"))
                .and_then(|m| m.get(machine))
                .and_then(|m| m.get("TestCases"))
                .and_then(|t| t.get(*case))
                .is_some()
        });
        let mocks = match test_case.or(inherited) {
            None => None,
            Some(case) => {
                let Some(cfg) = &self.mock_config else {
                    return Err(format!(
                        "test case {case:?} asked for state machine {machine:?}, but no --mock-config was given"
                    ));
                };
                if cfg
                    .get("StateMachines")
                    .and_then(|m| m.get(machine))
                    .is_none()
                {
                    return Err(format!(
                        "the mock config has no state machine named {machine:?} (for test case {case:?})"
                    ));
                }
                Some(
                    mock::MockSet::from_config(cfg, Some(machine), Some(case))
                        .map_err(|e| e.to_string())?,
                )
            }
        };
        Ok(Resources {
            mocks,
            mock_config: self.mock_config.clone(),
            config: self.config.clone(),
            http: self.http.clone(),
            buckets: self.buckets.clone(),
        })
    }

    /// Invokes a task and gives its result (before ResultSelector), or its failure.
    pub async fn invoke(&self, call: &TaskCall<'_>) -> Result<Value, Failure> {
        if let Some(mocks) = &self.mocks {
            if let Some(response) = mocks.next_response(call.state_name) {
                return response.apply(call.resource);
            }
        }
        let resource = call
            .resource
            .strip_suffix(".waitForTaskToken")
            .unwrap_or(call.resource);
        if resource == HTTP_INVOKE {
            return self.http.invoke(call.parameters, &self.config).await;
        }
        if resource == LAMBDA_INVOKE {
            let name = call
                .parameters
                .get("FunctionName")
                .and_then(|n| n.as_str())
                .ok_or_else(|| {
                    Failure::runtime(format!(
                        "state '{}': lambda:invoke needs Parameters.FunctionName",
                        call.state_name
                    ))
                })?;
            let payload = invoke_event(call.parameters.get("Payload"))?;
            match call.parameters.get("InvocationType").and_then(|t| t.as_str()) {
                None | Some("RequestResponse") => {}
                // Lambda queues the event and answers 202 with no payload; asl runs the
                // function before answering (its result and errors are dropped, as Lambda's
                // caller never sees them).
                Some("Event") => {
                    let request_id = match self.call_function(name, &payload, false).await {
                        Ok((_, id)) => id,
                        Err(_) => new_request_id(),
                    };
                    return Ok(lambda_status_only(202, &request_id));
                }
                // Lambda checks the call and answers 204 without running the function.
                Some("DryRun") => {
                    let request_id = new_request_id();
                    if self.config.function(name).is_none() {
                        return Err(function_not_found(name, &request_id));
                    }
                    return Ok(lambda_status_only(204, &request_id));
                }
                Some(other) => {
                    return Err(Failure::from_task(
                        "Lambda.InvalidParameterValueException",
                        format!(
                            "1 validation error detected: Value '{other}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun] (Service: AWSLambda; Status Code: 400; Error Code: InvalidParameterValueException; Proxy: null)"
                        ),
                    ))
                }
            }
            let (payload, request_id) = self.call_function(name, &payload, false).await?;
            return Ok(lambda_invoke_result(payload, &request_id));
        }
        if is_legacy_lambda(resource) {
            return self
                .call_function(resource, call.parameters, true)
                .await
                .map(|(p, _)| p);
        }
        Err(Failure::new(
            names::TASK_FAILED,
            format!(
                "state '{}' calls resource '{}', which asl does not run locally: give it a mock (--mock-config)",
                call.state_name, call.resource
            ),
        ))
    }

    /// `legacy`: the function's ARN is the task's Resource (not `lambda:invoke`).
    async fn call_function(
        &self,
        name: &str,
        payload: &Value,
        legacy: bool,
    ) -> Result<(Value, String), Failure> {
        let request_id = new_request_id();
        let Some(f) = self.config.function(name) else {
            return Err(function_not_found(name, &request_id));
        };
        match functions::invoke(f, payload, &request_id, &self.http).await {
            Outcome::Ok(v) => Ok((v, request_id)),
            Outcome::FunctionError(e) => Err(e.into_failure(&request_id, legacy)),
            Outcome::Service(f) => Err(f),
        }
    }
}

/// The event `lambda:invoke` sends for its `Payload`: a JSON value as it is, a string as the
/// bytes it holds (AWS sends `"0.0"` as `0.0` and `"\"Hi\""` as `"Hi"`), none or `null` as
/// `{}`. Bytes that are not JSON are refused, as Lambda refuses them.
fn invoke_event(payload: Option<&Value>) -> Result<Value, Failure> {
    match payload {
        None | Some(Value::Null) => Ok(json!({})),
        Some(Value::String(s)) => serde_json::from_str(s).map_err(|_| {
            Failure::from_task(
                "Lambda.InvalidRequestContentException",
                format!(
                    "Could not parse request body into json: the Payload string is not JSON: {s:?} (Service: AWSLambda; Status Code: 400; Error Code: InvalidRequestContentException)"
                ),
            )
        }),
        Some(v) => Ok(v.clone()),
    }
}

/// Lambda's answer for a function that does not exist.
fn function_not_found(name: &str, request_id: &str) -> Failure {
    let arn = if name.starts_with("arn:") {
        name.to_string()
    } else {
        format!(
            "arn:aws:lambda:{}:{}:function:{name}",
            crate::exec::REGION,
            crate::exec::ACCOUNT
        )
    };
    Failure::from_task(
        "Lambda.ResourceNotFoundException",
        format!(
            "Function not found: {arn} (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: {request_id}; Proxy: null)"
        ),
    )
}

/// What `lambda:invoke` returns for an `Event` (202) or `DryRun` (204) invocation: the status,
/// an empty payload, no executed version.
fn lambda_status_only(status: u16, request_id: &str) -> Value {
    json!({
        "Payload": "",
        "SdkHttpMetadata": {
            "AllHttpHeaders": {"x-amzn-RequestId": [request_id]},
            "HttpHeaders": {"x-amzn-RequestId": request_id},
            "HttpStatusCode": status,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": status,
    })
}

/// What `arn:aws:states:::lambda:invoke` returns: the Invoke response around the payload.
fn lambda_invoke_result(payload: Value, request_id: &str) -> Value {
    json!({
        "ExecutedVersion": "$LATEST",
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {
                "X-Amz-Executed-Version": ["$LATEST"],
                "x-amzn-RequestId": [request_id],
                "Content-Type": ["application/json"],
            },
            "HttpHeaders": {
                "X-Amz-Executed-Version": "$LATEST",
                "x-amzn-RequestId": request_id,
                "Content-Type": "application/json",
            },
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200,
    })
}

pub(crate) fn new_request_id() -> String {
    let b: [u8; 16] = rand::random();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Splits a Task `Resource` ARN into AWS's `resourceType` and `resource` history fields:
/// `arn:aws:states:::lambda:invoke.waitForTaskToken` gives ("lambda", "invoke.waitForTaskToken").
pub fn resource_parts(arn: &str) -> (&str, &str) {
    let mut parts = arn.splitn(7, ':');
    let head: [Option<&str>; 6] = std::array::from_fn(|_| parts.next());
    let rest = parts.next();
    match (head, rest) {
        ([_, _, Some("states"), Some(""), _, Some(ty)], Some(name)) => (ty, name),
        ([_, _, Some("lambda"), ..], Some(_)) => ("lambda", arn),
        _ => ("", arn),
    }
}

/// A legacy Lambda function ARN used directly as `Resource`.
pub fn is_legacy_lambda(arn: &str) -> bool {
    arn.contains(":lambda:") && arn.contains(":function:")
}
