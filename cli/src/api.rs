//! The Step Functions API's actions for `asl serve`: each takes the request's JSON and gives
//! the response's, in AWS's shapes (dates as epoch seconds, payloads as JSON text), or an error
//! named as AWS names it.

use crate::launch::Options;
use crate::render;
use crate::serve::{Server, Start};
use asl::exec::{self, Outcome};
use asl::history::activities::Activity;
use asl::history::machines::{NewStateMachine, StateMachine};
use asl::history::store::{
    owner_alive, ExecutionFilter, ExecutionRecord, Store, StoreError, TokenOutcome,
};
use asl::resources::Resources;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An error as the API returns it: `{"__type": code, "message": message}`.
#[derive(Debug)]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        ApiError {
            code: code.to_string(),
            message: message.into(),
        }
    }

    /// 400 for what the caller asked wrongly, 500 for what went wrong here.
    pub fn status(&self) -> axum::http::StatusCode {
        match self.code.as_str() {
            "InternalFailure" => axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            _ => axum::http::StatusCode::BAD_REQUEST,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let code = match &e {
            StoreError::NotFound(_) => "ExecutionDoesNotExist",
            StoreError::Exists(_) => "ExecutionAlreadyExists",
            StoreError::ActivityDoesNotExist(_) => "ActivityDoesNotExist",
            StoreError::InvalidName(_) => "InvalidName",
            StoreError::StateMachineDoesNotExist(_) => "StateMachineDoesNotExist",
            StoreError::StateMachineAlreadyExists(_) => "StateMachineAlreadyExists",
            StoreError::ResourceNotFound(_) => "ResourceNotFound",
            StoreError::StateMachineDeleting(_) => "StateMachineDeleting",
            StoreError::TooManyTags(_) => "TooManyTags",
            StoreError::InvalidToken(_) => "InvalidToken",
            StoreError::TaskDone(_) | StoreError::Interrupted(_) => "TaskTimedOut",
            StoreError::Ambiguous { .. } => "ValidationException",
            _ => "InternalFailure",
        };
        let text = match &e {
            StoreError::NotFound(key) => format!("Execution Does Not Exist: '{key}'"),
            other => other.to_string(),
        };
        // The store's messages start with the code for the command line; the API has its own.
        let message = text
            .strip_prefix(code)
            .and_then(|t| t.strip_prefix(": "))
            .unwrap_or(&text)
            .to_string();
        ApiError::new(code, message)
    }
}

type Answer = Result<Value, ApiError>;

/// Dates in the JSON protocol: seconds since the epoch.
pub fn epoch(t: DateTime<Utc>) -> Value {
    json!(t.timestamp_millis() as f64 / 1000.0)
}

/// An ISO 8601 date of the stored shapes, as epoch seconds.
fn epoch_of_iso(v: &Value) -> Value {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| epoch(t.to_utc()))
        .unwrap_or(Value::Null)
}

fn validation(field: &str) -> ApiError {
    ApiError::new(
        "ValidationException",
        format!("1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"),
    )
}

fn required<'a>(r: &'a Value, field: &str) -> Result<&'a str, ApiError> {
    let v = r
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| validation(field))?;
    // An ARN field takes ARNs only, as AWS's do.
    if field.ends_with("Arn") && !v.starts_with("arn:") {
        return Err(ApiError::new(
            "InvalidArn",
            format!("Invalid Arn: 'Invalid ARN prefix: {v}'"),
        ));
    }
    Ok(v)
}

/// A field's length limit, refused as AWS's validation refuses it.
fn within(r: &Value, field: &str, max: usize) -> Result<(), ApiError> {
    match optional(r, field).map(|v| v.chars().count()) {
        Some(n) if n > max => Err(ApiError::new(
            "ValidationException",
            format!("1 validation error detected: Value at '{field}' failed to satisfy constraint: Member must have length less than or equal to {max}"),
        )),
        _ => Ok(()),
    }
}

fn optional<'a>(r: &'a Value, field: &str) -> Option<&'a str> {
    r.get(field).and_then(Value::as_str)
}

/// `maxResults` (0 or absent: the default, as AWS takes it) and the offset a `nextToken` of
/// this listing (`tag`) points at.
fn page(r: &Value, tag: &str, default: usize) -> Result<(usize, usize), ApiError> {
    let max = max_results(r, default)?;
    let offset = match optional(r, "nextToken") {
        None => 0,
        Some(t) => t
            .rsplit_once('.')
            .filter(|(_, g)| *g == tag)
            .and_then(|(n, _)| n.parse().ok())
            .ok_or_else(|| ApiError::new("InvalidToken", format!("Invalid Token: '{t}'")))?,
    };
    Ok((max, offset))
}

/// Cuts `items` to one page; the token of the next one, if any.
fn paged<T>(mut items: Vec<T>, max: usize, offset: usize, tag: &str) -> (Vec<T>, Option<String>) {
    let rest = items.split_off(offset.min(items.len()));
    let more = rest.len() > max;
    let mut rest = rest;
    rest.truncate(max);
    (rest, more.then(|| format!("{}.{tag}", offset + max)))
}

fn with_token(mut v: Value, token: Option<String>) -> Value {
    if let Some(t) = token {
        v["nextToken"] = json!(t);
    }
    v
}

/// The JSON type of each request field the API reads, as AWS's model has it.
const FIELD_TYPES: &[(&str, &str)] = &[
    ("activityArn", "string"),
    ("cause", "string"),
    ("context", "string"),
    ("definition", "string"),
    ("error", "string"),
    ("executionArn", "string"),
    ("includeExecutionData", "boolean"),
    ("input", "string"),
    ("inspectionLevel", "string"),
    ("loggingConfiguration", "object"),
    ("mapRunArn", "string"),
    ("maxResults", "integer"),
    ("mock", "object"),
    ("name", "string"),
    ("nextToken", "string"),
    ("output", "string"),
    ("resourceArn", "string"),
    ("revealSecrets", "boolean"),
    ("reverseOrder", "boolean"),
    ("roleArn", "string"),
    ("stateConfiguration", "object"),
    ("stateMachineArn", "string"),
    ("stateName", "string"),
    ("statusFilter", "string"),
    ("tagKeys", "array"),
    ("tags", "array"),
    ("taskToken", "string"),
    ("type", "string"),
    ("variables", "string"),
    ("workerName", "string"),
];

/// A request field of another JSON type than the API's is refused (`SerializationException`),
/// as AWS refuses it, rather than read as absent.
fn check_field_types(r: &Value) -> Result<(), ApiError> {
    for (field, kind) in FIELD_TYPES {
        // A null member is an absent one (as AWS's JSON protocol reads it).
        let Some(v) = r.get(*field).filter(|v| !v.is_null()) else {
            continue;
        };
        let fits = match *kind {
            "string" => v.is_string(),
            "boolean" => v.is_boolean(),
            "integer" => v.is_i64() || v.is_u64(),
            "object" => v.is_object(),
            _ => v.is_array(),
        };
        if !fits {
            return Err(ApiError::new(
                "SerializationException",
                format!("'{field}' must be a JSON {kind}, not {v}"),
            ));
        }
    }
    if let Some(n) = r
        .get("maxResults")
        .and_then(Value::as_i64)
        .filter(|n| *n < 0)
    {
        return Err(ApiError::new(
            "ValidationException",
            format!("1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 0"),
        ));
    }
    Ok(())
}

/// A count of TestState's `stateConfiguration` (0 when absent): a whole number from 0.
fn configured_count(r: &Value, key: &str) -> Result<u64, ApiError> {
    match r.pointer(&format!("/stateConfiguration/{key}")) {
        None | Some(Value::Null) => Ok(0),
        Some(v) => match v.as_i64() {
            Some(n) if n >= 0 => Ok(n as u64),
            Some(n) => Err(ApiError::new(
                "ValidationException",
                format!("1 validation error detected: Value '{n}' at 'stateConfiguration.{key}' failed to satisfy constraint: Member must have value greater than or equal to 0"),
            )),
            None => Err(ApiError::new(
                "SerializationException",
                format!("'stateConfiguration.{key}' must be a JSON integer, not {v}"),
            )),
        },
    }
}

pub fn dispatch(server: &Server, action: &str, r: &Value) -> Answer {
    let store = &*server.store;
    check_field_types(r)?;
    match action {
        "CreateStateMachine" => create_state_machine(store, r),
        "DescribeStateMachine" => Ok(describe_machine(
            &store.get_state_machine(required(r, "stateMachineArn")?)?,
        )),
        "DescribeStateMachineForExecution" => {
            let e = store.get_execution(required(r, "executionArn")?)?;
            let m = store.get_state_machine(&e.state_machine_arn).ok();
            Ok(json!({
                "stateMachineArn": e.state_machine_arn,
                "name": e.state_machine_name,
                "definition": e.definition,
                "roleArn": m.as_ref().and_then(|m| m.role_arn.clone()).unwrap_or_else(|| ROLE.into()),
                "updateDate": epoch(m.map_or(e.start, |m| m.updated)),
            }))
        }
        "ListStateMachines" => {
            let (max, offset) = page(r, "machines", 100)?;
            let (items, next) = paged(store.list_state_machines()?, max, offset, "machines");
            let items: Vec<Value> = items
                .iter()
                .map(|m| {
                    json!({"stateMachineArn": m.arn, "name": m.name, "type": m.kind,
                                "creationDate": epoch(m.created)})
                })
                .collect();
            Ok(with_token(json!({"stateMachines": items}), next))
        }
        "UpdateStateMachine" => {
            let arn = required(r, "stateMachineArn")?;
            let current = store.get_state_machine(arn)?;
            let definition = optional(r, "definition");
            if let Some(d) = definition {
                check_definition(d, &current.kind).map_err(|e| e.0)?;
            }
            let logging = logging_of(r)?;
            let m = store.update_state_machine(
                arn,
                definition,
                optional(r, "roleArn"),
                logging.as_deref(),
            )?;
            Ok(json!({"updateDate": epoch(m.updated)}))
        }
        "DeleteStateMachine" => {
            store.delete_state_machine(required(r, "stateMachineArn")?)?;
            Ok(json!({}))
        }
        "ValidateStateMachineDefinition" => {
            let kind = optional(r, "type").unwrap_or("STANDARD");
            Ok(match check_definition(required(r, "definition")?, kind) {
                Ok(()) => json!({"result": "OK", "diagnostics": []}),
                Err(problems) => json!({"result": "FAIL", "diagnostics": problems.1}),
            })
        }
        "StartExecution" => start(server, r, false),
        "StartSyncExecution" => start(server, r, true),
        "DescribeExecution" => {
            let e = store.get_execution(required(r, "executionArn")?)?;
            Ok(describe_execution(&e))
        }
        "ListExecutions" => list_executions(store, r),
        "GetExecutionHistory" => history(store, r),
        "StopExecution" => stop(store, r),
        "RedriveExecution" => redrive(server, r),
        "SendTaskSuccess" => {
            let output = required(r, "output")?;
            let v: Value = serde_json::from_str(output)
                .map_err(|e| ApiError::new("InvalidOutput", format!("Invalid Output: '{e}'")))?;
            complete(store, r, TokenOutcome::Success(v))
        }
        "SendTaskFailure" => {
            within(r, "error", 256)?;
            within(r, "cause", 32_768)?;
            complete(
                store,
                r,
                TokenOutcome::Failure {
                    error: optional(r, "error").map(String::from),
                    cause: optional(r, "cause").map(String::from),
                },
            )
        }
        "SendTaskHeartbeat" => complete(store, r, TokenOutcome::Heartbeat),
        "CreateActivity" => {
            let tags = tags_of(r)?;
            let a = store.create_activity(required(r, "name")?)?;
            if !tags.is_empty() {
                store.tag_resource(&a.arn, &tags)?;
            }
            Ok(json!({"activityArn": a.arn, "creationDate": epoch(a.created)}))
        }
        "DescribeActivity" => Ok(activity(
            &store.describe_activity(required(r, "activityArn")?)?,
        )),
        "ListActivities" => {
            let (max, offset) = page(r, "activities", 100)?;
            let (items, next) = paged(store.list_activities()?, max, offset, "activities");
            let items: Vec<Value> = items.iter().map(activity).collect();
            Ok(with_token(json!({"activities": items}), next))
        }
        "DeleteActivity" => {
            store.delete_activity(required(r, "activityArn")?)?;
            Ok(json!({}))
        }
        "GetActivityTask" => get_activity_task(server, r),
        "ListMapRuns" => {
            let e = store.get_execution(required(r, "executionArn")?)?;
            let (max, offset) = page(r, "maprun", 100)?;
            let (runs, next) = paged(store.map_runs(&e.arn)?, max, offset, "maprun");
            let runs: Vec<Value> = runs
                .iter()
                .map(|m| {
                    let arn = m["mapRunArn"].as_str().unwrap_or("");
                    let mut v = json!({
                        "executionArn": e.arn,
                        "mapRunArn": arn,
                        "stateMachineArn": map_run_machine(arn),
                        "startDate": epoch_of_iso(&m["startDate"]),
                    });
                    if m.get("stopDate").is_some() {
                        v["stopDate"] = epoch_of_iso(&m["stopDate"]);
                    }
                    v
                })
                .collect();
            Ok(with_token(json!({"mapRuns": runs}), next))
        }
        "DescribeMapRun" => {
            let arn = required(r, "mapRunArn")?;
            let mut m = store.map_run(arn)?.ok_or_else(|| {
                ApiError::new("ResourceNotFound", format!("Resource not found: '{arn}'"))
            })?;
            for k in ["startDate", "stopDate", "redriveDate"] {
                if let Some(d) = m.get(k).map(epoch_of_iso) {
                    m[k] = d;
                }
            }
            Ok(m)
        }
        "TestState" => {
            let input = match optional(r, "input") {
                None => json!({}),
                Some(t) => serde_json::from_str(t).map_err(|e| {
                    ApiError::new(
                        "InvalidExecutionInput",
                        format!("Invalid State Machine Execution Input: '{e}'"),
                    )
                })?,
            };
            let level = optional(r, "inspectionLevel").unwrap_or("INFO");
            if !["INFO", "DEBUG", "TRACE"].contains(&level) {
                return Err(ApiError::new(
                    "ValidationException",
                    format!("1 validation error detected: Value '{level}' at 'inspectionLevel' failed to satisfy constraint: Member must satisfy enum value set: [INFO, DEBUG, TRACE]"),
                ));
            }
            let req = crate::test_state::Request {
                definition: required(r, "definition")?,
                state_name: optional(r, "stateName"),
                input,
                inspection_level: level,
                role_given: r.get("roleArn").is_some(),
                retries_made: configured_count(r, "retrierRetryCount")?.min(u64::from(u32::MAX))
                    as u32,
                mock: r.get("mock"),
                context: optional(r, "context"),
                reveal_secrets: r.get("revealSecrets") == Some(&Value::Bool(true)),
                // `errorCausedByState` and `mapItemReaderData` change nothing in the answer
                // (as recorded against AWS: the mock decides it), so they are taken as given.
                map_iteration_failures: configured_count(r, "mapIterationFailureCount")?,
                variables: match optional(r, "variables") {
                    None => None,
                    Some(t) => match serde_json::from_str::<Value>(t) {
                        Ok(Value::Object(m)) => Some(m),
                        _ => {
                            return Err(ApiError::new(
                                "ValidationException",
                                "variables must be a JSON object (as text)",
                            ))
                        }
                    },
                },
            };
            crate::test_state::test_state(
                &req,
                server.resources.clone(),
                server.wait_scale,
                Some(&server.stopping),
            )
            .map_err(|e| ApiError::new(e.code, e.message))
        }
        "TagResource" => {
            let tags = tags_of(r)?;
            store.tag_resource(required(r, "resourceArn")?, &tags)?;
            Ok(json!({}))
        }
        "UntagResource" => {
            let keys: Vec<String> = r
                .get("tagKeys")
                .and_then(Value::as_array)
                .ok_or_else(|| validation("tagKeys"))?
                .iter()
                .filter_map(|k| k.as_str().map(String::from))
                .collect();
            store.untag_resource(required(r, "resourceArn")?, &keys)?;
            Ok(json!({}))
        }
        "ListTagsForResource" => {
            let tags: Vec<Value> = store
                .list_tags(required(r, "resourceArn")?)?
                .into_iter()
                .map(|(key, value)| json!({"key": key, "value": value}))
                .collect();
            Ok(json!({"tags": tags}))
        }
        other => Err(ApiError::new(
            "UnknownOperationException",
            format!("asl serve does not implement {other}"),
        )),
    }
}

/// The role an execution runs with, when the state machine names none.
const ROLE: &str = "arn:aws:iam::123456789012:role/asl-local";

fn activity(a: &Activity) -> Value {
    json!({"activityArn": a.arn, "name": a.name, "creationDate": epoch(a.created)})
}

/// Problems with a definition, as InvalidDefinition's message and ValidateStateMachine-
/// Definition's diagnostics.
fn check_definition(text: &str, kind: &str) -> Result<(), (ApiError, Vec<Value>)> {
    let problems: Vec<(String, String)> = match asl::Definition::from_json(text) {
        Ok(def) if kind == "EXPRESS" => asl::definition::express_refusals(&def.source)
            .into_iter()
            .map(|(p, r)| {
                (
                    p,
                    format!("an EXPRESS state machine does not support the service integration pattern of {r:?}"),
                )
            })
            .collect(),
        Ok(_) => Vec::new(),
        Err(asl::definition::Error::Invalid(d)) => {
            d.into_iter().map(|d| (d.pointer, d.message)).collect()
        }
        Err(e) => vec![(String::new(), e.to_string())],
    };
    if problems.is_empty() {
        return Ok(());
    }
    let text: Vec<String> = problems
        .iter()
        .map(|(p, m)| {
            if p.is_empty() {
                m.clone()
            } else {
                format!("{m} at {p}")
            }
        })
        .collect();
    let diagnostics = problems
        .iter()
        .map(|(p, m)| {
            json!({"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED",
                             "message": m, "location": p})
        })
        .collect();
    Err((
        ApiError::new(
            "InvalidDefinition",
            format!("Invalid State Machine Definition: '{}'", text.join(", ")),
        ),
        diagnostics,
    ))
}

fn create_state_machine(store: &Store, r: &Value) -> Answer {
    let name = required(r, "name")?;
    let definition = required(r, "definition")?;
    if exec::name_problem(name).is_some() {
        return Err(ApiError::new(
            "InvalidName",
            format!("Invalid Name: '{name}'"),
        ));
    }
    let kind = optional(r, "type").unwrap_or("STANDARD");
    if kind != "STANDARD" && kind != "EXPRESS" {
        return Err(ApiError::new(
            "ValidationException",
            format!("1 validation error detected: Value '{kind}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]"),
        ));
    }
    let logging = logging_of(r)?;
    let tags = tags_of(r)?;
    check_definition(definition, kind).map_err(|e| e.0)?;
    let (m, _) = store.create_state_machine(
        &exec::state_machine_arn(name),
        &NewStateMachine {
            name,
            definition,
            kind,
            role_arn: optional(r, "roleArn"),
            logging: logging.as_deref(),
        },
        &tags,
    )?;
    Ok(json!({"stateMachineArn": m.arn, "creationDate": epoch(m.created)}))
}

/// The state machine a Map Run's children run: `...:stateMachine:PARENT/LABEL`, out of the
/// Map Run's `...:mapRun:PARENT/LABEL:ID`.
fn map_run_machine(map_run: &str) -> String {
    let base = map_run.rsplit_once(':').map_or(map_run, |(b, _)| b);
    base.replacen(":mapRun:", ":stateMachine:", 1)
}

/// A request's `tags` (`[{"key", "value"}]`), within AWS's limits (50 tags; keys up to 128
/// characters, values up to 256).
fn tags_of(r: &Value) -> Result<Vec<(String, String)>, ApiError> {
    let Some(list) = r.get("tags").and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    if list.len() > 50 {
        return Err(ApiError::new(
            "TooManyTags",
            format!("Too many tags: {} (at most 50)", list.len()),
        ));
    }
    list.iter()
        .map(|t| {
            let key = t.get("key").and_then(Value::as_str).unwrap_or("");
            let value = t.get("value").and_then(Value::as_str).unwrap_or("");
            // Letters, digits, white space and `_ . : / = + - @`, as AWS's tags take them.
            let allowed = |s: &str| {
                s.chars().all(|c| {
                    c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c)
                })
            };
            if key.is_empty()
                || key.chars().count() > 128
                || value.chars().count() > 256
                || !allowed(key)
                || !allowed(value)
            {
                return Err(ApiError::new(
                    "ValidationException",
                    format!("1 validation error detected: tag {key:?}: a key of 1 to 128 characters and a value of at most 256, of letters, digits, white space and _ . : / = + - @"),
                ));
            }
            Ok((key.to_string(), value.to_string()))
        })
        .collect()
}

/// The request's loggingConfiguration, as JSON text, checked.
fn logging_of(r: &Value) -> Result<Option<String>, ApiError> {
    let Some(l) = r.get("loggingConfiguration") else {
        return Ok(None);
    };
    if let Some(level) = l.get("level").and_then(Value::as_str) {
        if asl::history::level::LogLevel::parse(level).is_none() {
            return Err(ApiError::new(
                "InvalidLoggingConfiguration",
                format!("Invalid Logging Configuration: unknown level '{level}'"),
            ));
        }
    }
    Ok(Some(l.to_string()))
}

fn describe_machine(m: &StateMachine) -> Value {
    json!({
        "stateMachineArn": m.arn,
        "name": m.name,
        "status": if m.deleting { "DELETING" } else { "ACTIVE" },
        "definition": m.definition,
        "roleArn": m.role_arn.as_deref().unwrap_or(ROLE),
        "type": m.kind,
        "creationDate": epoch(m.created),
        "loggingConfiguration": m.logging_configuration(),
        "revisionId": m.revision.to_string(),
    })
}

/// DescribeExecution's shape with the dates as epoch seconds.
fn describe_execution(e: &ExecutionRecord) -> Value {
    let mut v = render::describe(e);
    for k in ["startDate", "stopDate", "redriveDate"] {
        if let Some(d) = v.get(k).map(epoch_of_iso) {
            v[k] = d;
        }
    }
    if let Some(o) = v.as_object_mut() {
        // Not a DescribeExecution field (the CLI's own).
        o.remove("parentExecutionArn");
    }
    v
}

fn start(server: &Server, r: &Value, sync: bool) -> Answer {
    let given = required(r, "stateMachineArn")?;
    // Step Functions Local's way to pick a mock config test case: `ARN#TestCase`.
    let (arn, test_case) = match given.split_once('#') {
        Some((a, c)) => (a, Some(c.to_string())),
        None => (given, None),
    };
    let machine = server.store.get_state_machine(arn)?;
    if machine.deleting {
        return Err(ApiError::new(
            "StateMachineDeleting",
            format!("State Machine is being deleted: '{arn}'"),
        ));
    }
    if sync && machine.kind != "EXPRESS" {
        return Err(ApiError::new(
            "StateMachineTypeNotSupported",
            "This operation is not supported by this type of state machine",
        ));
    }
    let name = match optional(r, "name") {
        Some(n) => {
            if exec::name_problem(n).is_some() {
                return Err(ApiError::new("InvalidName", format!("Invalid Name: '{n}'")));
            }
            n.to_string()
        }
        None => crate::commands::random_uuid(),
    };
    let text = optional(r, "input").unwrap_or("{}");
    if text.len() > 262_144 {
        return Err(ApiError::new(
            "InvalidExecutionInput",
            "Invalid State Machine Execution Input: 'the input is over 262144 bytes'",
        ));
    }
    let input: Value = serde_json::from_str(text).map_err(|e| {
        ApiError::new(
            "InvalidExecutionInput",
            format!("Invalid State Machine Execution Input: '{e}'"),
        )
    })?;
    let (reply, answer) = tokio::sync::oneshot::channel();
    server
        .engine
        .send(crate::serve::Cmd::Start(Box::new(Start {
            machine,
            test_case,
            name,
            input,
            sync,
            reply,
        })))
        .map_err(|_| ApiError::new("InternalFailure", "the engine's thread stopped"))?;
    answer
        .blocking_recv()
        .map_err(|_| ApiError::new("InternalFailure", "the engine's thread stopped"))?
}

/// What StartExecution comes to.
pub enum Prepared {
    /// A new execution: its job, for the engine thread, and its record.
    New(Box<crate::host::Job>, ExecutionRecord),
    /// The same name and input as an execution still running: that one, as AWS answers.
    Running(ExecutionRecord),
}

/// Stores a new execution's record and gives the job that runs it (on the engine thread).
pub fn prepare_start(
    store: &Store,
    resources: &Arc<Resources>,
    options: &Value,
    s: &Start,
) -> Result<Prepared, ApiError> {
    let def = asl::Definition::from_json(&s.machine.definition).map_err(|e| {
        ApiError::new(
            "InvalidDefinition",
            format!("Invalid State Machine Definition: '{}'", e.detail()),
        )
    })?;
    let child = match &s.test_case {
        None => None,
        Some(case) => Some(Arc::new(
            resources
                .for_child(&s.machine.name, Some(case))
                .map_err(|e| ApiError::new("ValidationException", e))?,
        )),
    };
    let express = (s.machine.kind == "EXPRESS").then(|| {
        let level = asl::history::level::LogLevel::parse(&s.machine.log_level())
            .unwrap_or(asl::history::level::LogLevel::Off);
        (exec::express_execution_arn(&s.machine.name, &s.name), level)
    });
    let mut opts = Options::from_json(options);
    opts.test_case = s.test_case.clone();
    let record = crate::launch::new_record(
        &s.machine.definition,
        &s.machine.name,
        &s.name,
        &s.input,
        &opts,
        express.as_ref().map(|(a, _)| a.as_str()),
    );
    match store.insert_execution(&record) {
        Ok(()) => {}
        // "Executions with the same name and input are considered idempotent" while it runs.
        Err(StoreError::Exists(_)) => {
            let open = store.get_execution(&record.arn)?;
            let same_input =
                serde_json::from_str::<Value>(&open.input).ok() == Some(s.input.clone());
            if open.status == "RUNNING" && same_input {
                return Ok(Prepared::Running(open));
            }
            return Err(ApiError::new(
                "ExecutionAlreadyExists",
                format!("Execution Already Exists: '{}'", record.arn),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let job = crate::serve::job(def, s, child, record.start, express);
    Ok(Prepared::New(Box::new(job), record))
}

fn redrive(server: &Server, r: &Value) -> Answer {
    let e = server.store.get_execution(required(r, "executionArn")?)?;
    let not = |why: String| ApiError::new("ExecutionNotRedrivable", why);
    if e.arn.contains(":express:") {
        return Err(not(format!(
            "Execution {} is an EXPRESS execution and cannot be redriven",
            e.arn
        )));
    }
    match e.redrive_status(Utc::now()) {
        ("REDRIVABLE", _) => {}
        (_, reason) => return Err(not(reason.unwrap_or_else(|| e.arn.clone()))),
    }
    let (reply, answer) = tokio::sync::oneshot::channel();
    server
        .engine
        .send(crate::serve::Cmd::Redrive {
            record: Box::new(e),
            reply,
        })
        .map_err(|_| ApiError::new("InternalFailure", "the engine's thread stopped"))?;
    answer
        .blocking_recv()
        .map_err(|_| ApiError::new("InternalFailure", "the engine's thread stopped"))?
}

/// The job that redrives a stored execution from what did not succeed, and when.
pub fn prepare_redrive(
    store: &Store,
    resources: &Arc<Resources>,
    e: &ExecutionRecord,
) -> Result<(crate::host::Job, DateTime<Utc>), ApiError> {
    let def = asl::Definition::from_json(&e.definition).map_err(|err| {
        ApiError::new(
            "InvalidDefinition",
            format!("Invalid State Machine Definition: '{}'", err.detail()),
        )
    })?;
    let input: Value = serde_json::from_str(&e.input)
        .map_err(|err| ApiError::new("InternalFailure", format!("the stored input: {err}")))?;
    let test_case = Options::from_json(&e.options).test_case;
    let child = match &test_case {
        None => None,
        Some(case) => Some(Arc::new(
            resources
                .for_child(&e.state_machine_name, Some(case))
                .map_err(|err| ApiError::new("ValidationException", err))?,
        )),
    };
    let resume = crate::host::take_over(store, e, true)?;
    let at = resume.redrive_time.unwrap_or_else(Utc::now);
    let job = crate::host::Job {
        def: std::rc::Rc::new(def),
        machine_name: e.state_machine_name.clone(),
        execution_name: e.name.clone(),
        input,
        start_time: None,
        resume: Some(resume),
        parent_stop: None,
        resources: child,
        express: None,
        role_arn: store
            .get_state_machine(&e.state_machine_arn)
            .ok()
            .and_then(|m| m.role_arn),
    };
    Ok((job, at))
}

/// StartSyncExecution's answer.
pub fn sync_answer(o: &Outcome) -> Value {
    let mut m = Map::new();
    m.insert("executionArn".into(), json!(o.execution_arn));
    m.insert("stateMachineArn".into(), json!(o.state_machine_arn));
    m.insert("name".into(), json!(o.name));
    m.insert("startDate".into(), epoch(o.start_date));
    m.insert("stopDate".into(), epoch(o.stop_date));
    m.insert("status".into(), json!(o.status.as_str()));
    m.insert("input".into(), json!(o.input.to_string()));
    m.insert("inputDetails".into(), json!({"included": true}));
    if let Some(out) = &o.output {
        m.insert("output".into(), json!(out.to_string()));
        m.insert("outputDetails".into(), json!({"included": true}));
    }
    if let Some(e) = &o.error {
        m.insert("error".into(), json!(e));
    }
    if let Some(c) = &o.cause {
        m.insert("cause".into(), json!(c));
    }
    Value::Object(m)
}

/// What a page token of a listing is tied to: its parameters (FNV-1a, in hex).
fn listing_tag(parts: &[&str]) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for part in parts {
        for b in part.bytes().chain([0xff]) {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
    }
    format!("{h:08x}")
}

/// Where the page a `nextToken` asks for starts: the last item of the page before (`KEY|TAG`),
/// for the listing `tag` only. Items added meanwhile shift nothing.
fn cursor<'a>(r: &'a Value, tag: &str) -> Result<Option<&'a str>, ApiError> {
    match optional(r, "nextToken") {
        None => Ok(None),
        Some(t) => match t.rsplit_once('|') {
            Some((key, g)) if g == tag && !key.is_empty() => Ok(Some(key)),
            _ => Err(ApiError::new(
                "InvalidToken",
                format!("Invalid Token: '{t}'"),
            )),
        },
    }
}

const STATUSES: &[&str] = &[
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
    "TIMED_OUT",
    "ABORTED",
    "PENDING_REDRIVE",
];

fn list_executions(store: &Store, r: &Value) -> Answer {
    let machine = optional(r, "stateMachineArn");
    let map_run = optional(r, "mapRunArn");
    if machine.is_none() && map_run.is_none() {
        return Err(ApiError::new(
            "ValidationException",
            "Must provide a StateMachine ARN or MapRun ARN",
        ));
    }
    if machine.is_some() {
        // Checked as an ARN.
        required(r, "stateMachineArn")?;
    }
    let status = optional(r, "statusFilter");
    if let Some(s) = status.filter(|s| !STATUSES.contains(s)) {
        return Err(ApiError::new(
            "ValidationException",
            format!("1 validation error detected: Value '{s}' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [{}]", STATUSES.join(", ")),
        ));
    }
    let tag = listing_tag(&[
        machine.unwrap_or(""),
        map_run.unwrap_or(""),
        status.unwrap_or(""),
    ]);
    let max = max_results(r, 100)?;
    let after = cursor(r, &tag)?;
    // The execution a token names may have been pruned meanwhile: the listing cannot go on.
    if let Some(a) = after {
        if store.get_execution(a).is_err() {
            return Err(ApiError::new(
                "InvalidToken",
                format!("Invalid Token: the execution it names is gone: '{a}'"),
            ));
        }
    }
    let mut list = store.list_executions(&ExecutionFilter {
        status: status.map(String::from),
        // By the ARN: the executions of a machine deleted meanwhile are still listed.
        state_machine: machine.map(String::from),
        parent_arn: None,
        limit: Some(max.saturating_add(1)),
        map_run_arn: map_run.map(String::from),
        without_map_run_children: map_run.is_none(),
        after_arn: after.map(String::from),
    })?;
    if let Some(m) = machine {
        if list.is_empty() && after.is_none() {
            // No executions: the machine must exist.
            store.get_state_machine(m)?;
        }
    }
    let more = list.len() > max;
    list.truncate(max);
    let items: Vec<Value> = list
        .iter()
        .map(|e| {
            let mut v = json!({"executionArn": e.arn, "stateMachineArn": e.state_machine_arn,
                               "name": e.name, "status": e.status, "startDate": epoch(e.start),
                               "redriveCount": e.redrive_count});
            if let Some(s) = e.stop {
                v["stopDate"] = epoch(s);
            }
            if let Some(m) = e.options.get("mapRunArn") {
                v["mapRunArn"] = m.clone();
            }
            v
        })
        .collect();
    let next = more
        .then(|| list.last().map(|e| format!("{}|{tag}", e.arn)))
        .flatten();
    Ok(with_token(json!({"executions": items}), next))
}

/// `maxResults`: 0 or absent is the default, as AWS takes it; at most 1000.
fn max_results(r: &Value, default: usize) -> Result<usize, ApiError> {
    match r.get("maxResults").and_then(Value::as_u64) {
        None | Some(0) => Ok(default),
        Some(n) if n <= 1000 => Ok(n as usize),
        Some(n) => Err(ApiError::new(
            "ValidationException",
            format!("1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000"),
        )),
    }
}

fn history(store: &Store, r: &Value) -> Answer {
    let arn = required(r, "executionArn")?;
    let e = store.get_execution(arn)?;
    let reverse = r.get("reverseOrder").and_then(Value::as_bool) == Some(true);
    let tag = listing_tag(&[&e.arn, if reverse { "reverse" } else { "" }]);
    let max = max_results(r, 100)?;
    // A page starts after the event id the last one ended with: in a running execution's
    // history, events added meanwhile shift nothing.
    let after: Option<u64> =
        match cursor(r, &tag)? {
            None => None,
            Some(k) => Some(k.parse().map_err(|_| {
                ApiError::new("InvalidToken", format!("Invalid Token: '{k}|{tag}'"))
            })?),
        };
    // Forwards, the history is read only as far as the page goes (and one more).
    let mut events = if reverse {
        store.events(&e.arn)?
    } else {
        store.events_through(&e.arn, after.unwrap_or(0) + max as u64 + 1)?
    };
    if reverse {
        events.reverse();
    }
    let id = |ev: &Value| ev["id"].as_u64().unwrap_or(0);
    let events: Vec<Value> = events
        .into_iter()
        .filter(|ev| match after {
            None => true,
            Some(a) if reverse => id(ev) < a,
            Some(a) => id(ev) > a,
        })
        .collect();
    let with_data = r.get("includeExecutionData").and_then(Value::as_bool) != Some(false);
    let more = events.len() > max;
    let events: Vec<Value> = events
        .into_iter()
        .take(max)
        .map(|mut ev| {
            ev["timestamp"] = epoch_of_iso(&ev["timestamp"]);
            if !with_data {
                strip_data(&mut ev);
            }
            ev
        })
        .collect();
    let next = more
        .then(|| events.last().map(|ev| format!("{}|{tag}", id(ev))))
        .flatten();
    Ok(with_token(json!({"events": events}), next))
}

/// `includeExecutionData: false`: the events without their payloads.
fn strip_data(ev: &mut Value) {
    let Some(m) = ev.as_object_mut() else {
        return;
    };
    for (k, d) in m.iter_mut() {
        if let (true, Some(d)) = (k.ends_with("EventDetails"), d.as_object_mut()) {
            for f in ["input", "output", "parameters"] {
                d.remove(f);
            }
        }
    }
}

fn stop(store: &Store, r: &Value) -> Answer {
    let arn = required(r, "executionArn")?;
    let e = store.get_execution(arn)?;
    let error = optional(r, "error");
    let cause = optional(r, "cause");
    if e.status != "RUNNING" {
        // AWS answers a stop of an ended execution with its stop date.
        return Ok(json!({"stopDate": e.stop.map(epoch).unwrap_or(Value::Null)}));
    }
    if !crate::commands::stop::owned(&e) {
        store.abort_orphan(&e.arn, error, cause)?;
    } else {
        store.request_stop(&e.arn, error.unwrap_or(""), cause.unwrap_or(""))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while store.get_execution(&e.arn)?.status == "RUNNING" && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let now = store.get_execution(&e.arn)?;
    Ok(json!({"stopDate": epoch(now.stop.unwrap_or_else(Utc::now))}))
}

fn complete(store: &Store, r: &Value, outcome: TokenOutcome) -> Answer {
    store.complete_token(required(r, "taskToken")?, outcome, owner_alive)?;
    Ok(json!({}))
}

/// GetActivityTask: waits up to 60 s for a task, as AWS's long poll does (less when the
/// server is stopping: no task is handed out then).
fn get_activity_task(server: &Server, r: &Value) -> Answer {
    let store = &*server.store;
    let arn = required(r, "activityArn")?;
    let worker = optional(r, "workerName");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if server.stopping.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(json!({}));
        }
        if let Some(t) = store.take_activity_task(arn, worker, owner_alive)? {
            return Ok(json!({"taskToken": t.token, "input": t.input}));
        }
        if Instant::now() >= deadline {
            return Ok(json!({}));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
