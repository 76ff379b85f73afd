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
            let opts = invoke_options(call.parameters, name)?;
            match call.parameters.get("InvocationType").and_then(|t| t.as_str()) {
                None | Some("RequestResponse") => {}
                // Lambda queues the event and answers 202 with no payload; asl runs the
                // function before answering (its result and errors are dropped, as Lambda's
                // caller never sees them). A function that does not exist is refused at once,
                // as Lambda refuses it.
                Some("Event") => {
                    if self.config.function(name).is_none() {
                        return Err(function_not_found(name, &new_request_id()));
                    }
                    let request_id = match self.call_function(name, &payload, false, &opts).await {
                        Ok((_, id, _)) => id,
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
            let (payload, request_id, invoked) =
                self.call_function(name, &payload, false, &opts).await?;
            return Ok(lambda_invoke_result(payload, &request_id, &invoked));
        }
        if is_legacy_lambda(resource) {
            return self
                .call_function(resource, call.parameters, true, &Default::default())
                .await
                .map(|(p, _, _)| p);
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
        opts: &functions::InvokeOptions,
    ) -> Result<(Value, String, functions::Invoked), Failure> {
        let request_id = new_request_id();
        let Some(f) = self.config.function(name) else {
            return Err(function_not_found(name, &request_id));
        };
        match functions::invoke(f, payload, &request_id, &self.http, opts).await {
            Outcome::Ok(v, invoked) => Ok((v, request_id, invoked)),
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

/// `Qualifier` (or the one a `name:alias` FunctionName carries), `LogType` and
/// `ClientContext`, refused as Lambda refuses them.
fn invoke_options(params: &Value, name: &str) -> Result<functions::InvokeOptions, Failure> {
    let invalid = |field: &str, value: &str, rule: &str| {
        Failure::from_task(
            "Lambda.InvalidParameterValueException",
            format!(
                "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {rule} (Service: AWSLambda; Status Code: 400; Error Code: InvalidParameterValueException; Proxy: null)"
            ),
        )
    };
    let text = |k: &str| params.get(k).and_then(|v| v.as_str());
    // `name:alias`, `ACCOUNT:function:name:alias` or a function ARN with its qualifier.
    let from_name = match name.split_once(":function:") {
        Some((_, rest)) => rest.split_once(':').map(|(_, q)| q),
        None => {
            let short = name.strip_prefix("function:").unwrap_or(name);
            short.split_once(':').map(|(_, q)| q)
        }
    };
    // An empty Qualifier is none (Lambda's pattern allows it).
    let qualifier = match (text("Qualifier").filter(|q| !q.is_empty()), from_name) {
        (Some(q), Some(n)) if q != n => {
            return Err(Failure::from_task(
                "Lambda.InvalidParameterValueException",
                "The derived qualifier from the function name does not match the specified qualifier. (Service: AWSLambda; Status Code: 400; Error Code: InvalidParameterValueException; Proxy: null)",
            ))
        }
        (q, n) => q.or(n),
    };
    if let Some(q) = qualifier {
        let ok = !q.is_empty()
            && q.len() <= 128
            && q.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'$' | b'_' | b'-'));
        if !ok {
            return Err(invalid(
                "qualifier",
                q,
                "Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)",
            ));
        }
    }
    let log_tail = match text("LogType") {
        None | Some("None") => false,
        Some("Tail") => true,
        Some(other) => {
            return Err(invalid(
                "logType",
                other,
                "Member must satisfy enum value set: [Tail, None]",
            ))
        }
    };
    let client_context = match text("ClientContext") {
        None => None,
        Some(c) => {
            use base64::Engine;
            let object = base64::engine::general_purpose::STANDARD
                .decode(c)
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .is_some_and(|v| v.is_object());
            if !object {
                return Err(Failure::from_task(
                    "Lambda.InvalidRequestContentException",
                    "Client context must be a valid Base64-encoded JSON object. (Service: AWSLambda; Status Code: 400; Error Code: InvalidRequestContentException; Proxy: null)",
                ));
            }
            Some(c.to_string())
        }
    };
    Ok(functions::InvokeOptions {
        qualifier: qualifier.map(String::from),
        log_tail,
        client_context,
    })
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

/// What `arn:aws:states:::lambda:invoke` returns: the Invoke response around the payload
/// (with `LogResult`, and its header, when `LogType` is `Tail`).
fn lambda_invoke_result(payload: Value, request_id: &str, invoked: &functions::Invoked) -> Value {
    let version = invoked.executed_version.as_str();
    let mut all = json!({
        "X-Amz-Executed-Version": [version],
        "x-amzn-RequestId": [request_id],
        "Content-Type": ["application/json"],
    });
    let mut one = json!({
        "X-Amz-Executed-Version": version,
        "x-amzn-RequestId": request_id,
        "Content-Type": "application/json",
    });
    let mut result = serde_json::Map::new();
    result.insert("ExecutedVersion".into(), json!(version));
    if let Some(log) = &invoked.log_result {
        all["X-Amz-Log-Result"] = json!([log]);
        one["X-Amz-Log-Result"] = json!(log);
        result.insert("LogResult".into(), json!(log));
    }
    result.insert("Payload".into(), payload);
    result.insert(
        "SdkHttpMetadata".into(),
        json!({"AllHttpHeaders": all, "HttpHeaders": one, "HttpStatusCode": 200}),
    );
    result.insert(
        "SdkResponseMetadata".into(),
        json!({"RequestId": request_id}),
    );
    result.insert("StatusCode".into(), json!(200));
    Value::Object(result)
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
