//! `asl history --json` against AWS's GetExecutionHistory shapes: every event of a workflow
//! that uses every state type is checked field by field against the HistoryEvent shapes of the
//! Step Functions API reference, and the whole history is kept as a snapshot (insta) with
//! timestamps redacted.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data")
        .join(name)
}

fn history(test_case: &str) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("asl.db");
    let asl = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_asl"))
            .env("ASL_DB", &db)
            .args(args)
            .output()
            .unwrap()
    };
    let wf = data("every-state.asl.json");
    let mocks = data("every-state.mocks.json");
    let run = asl(&[
        "run",
        wf.to_str().unwrap(),
        "--name",
        "snap",
        "--mock-config",
        mocks.to_str().unwrap(),
        "--test-case",
        test_case,
        "--wait-scale",
        "0",
    ]);
    assert!(run.status.code().is_some(), "{run:?}");
    let o = asl(&["history", "snap", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["nextToken"], Value::Null);
    v["events"].as_array().unwrap().clone()
}

/// The details member each event type has in AWS's HistoryEvent, with its required fields and
/// the optional ones it may carry.
fn aws_shape(
    ty: &str,
) -> Option<(
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
)> {
    const STATE_ENTERED: (&str, &[&str], &[&str]) = (
        "stateEnteredEventDetails",
        &["name", "input", "inputDetails"],
        &[],
    );
    const STATE_EXITED: (&str, &[&str], &[&str]) = (
        "stateExitedEventDetails",
        &["name", "output", "outputDetails"],
        &["assignedVariables", "assignedVariablesDetails"],
    );
    const ITERATION: &[&str] = &["name", "index"];
    Some(match ty {
        "ExecutionStarted" => (
            "executionStartedEventDetails",
            &["input", "inputDetails", "roleArn"],
            &["stateMachineAliasArn", "stateMachineVersionArn"],
        ),
        "ExecutionSucceeded" => (
            "executionSucceededEventDetails",
            &["output", "outputDetails"],
            &[],
        ),
        "ExecutionFailed" => ("executionFailedEventDetails", &[], &["error", "cause"]),
        "TaskScheduled" => (
            "taskScheduledEventDetails",
            &["resourceType", "resource", "region", "parameters"],
            &["timeoutInSeconds", "heartbeatInSeconds", "taskCredentials"],
        ),
        "TaskStarted" => (
            "taskStartedEventDetails",
            &["resourceType", "resource"],
            &[],
        ),
        "TaskSucceeded" => (
            "taskSucceededEventDetails",
            &["resourceType", "resource", "output", "outputDetails"],
            &[],
        ),
        "TaskFailed" => (
            "taskFailedEventDetails",
            &["resourceType", "resource"],
            &["error", "cause"],
        ),
        "MapStateStarted" => ("mapStateStartedEventDetails", &["length"], &[]),
        "MapIterationStarted" => ("mapIterationStartedEventDetails", ITERATION, &[]),
        "MapIterationSucceeded" => ("mapIterationSucceededEventDetails", ITERATION, &[]),
        "MapIterationFailed" => ("mapIterationFailedEventDetails", ITERATION, &[]),
        t if t.ends_with("StateEntered") => STATE_ENTERED,
        t if t.ends_with("StateExited") => STATE_EXITED,
        _ => return None,
    })
}

/// Event types with no details member in AWS's history.
const NO_DETAILS: &[&str] = &[
    "ParallelStateStarted",
    "ParallelStateSucceeded",
    "ParallelStateFailed",
    "MapStateSucceeded",
    "MapStateFailed",
];

fn check_shapes(events: &[Value]) {
    for (i, e) in events.iter().enumerate() {
        let m = e.as_object().unwrap();
        let ty = m["type"].as_str().unwrap();
        assert_eq!(m["id"], json!(i + 1), "{e}");
        assert!(
            m["previousEventId"].as_u64().unwrap() < m["id"].as_u64().unwrap(),
            "{e}"
        );
        assert!(m["timestamp"].as_str().unwrap().ends_with('Z'), "{e}");
        let details: Vec<&String> = m.keys().filter(|k| k.ends_with("EventDetails")).collect();
        if NO_DETAILS.contains(&ty) {
            assert!(details.is_empty(), "{ty} has no details in AWS: {e}");
            assert_eq!(m.len(), 4, "{e}");
            continue;
        }
        let (key, required, optional) =
            aws_shape(ty).unwrap_or_else(|| panic!("event type {ty} is not one AWS reports"));
        assert_eq!(details, vec![key], "{e}");
        assert_eq!(m.len(), 5, "{e}");
        let d = m[key].as_object().unwrap();
        for f in required {
            assert!(d.contains_key(*f), "{ty}.{key} lacks {f}: {e}");
        }
        for f in d.keys() {
            assert!(
                required.contains(&f.as_str()) || optional.contains(&f.as_str()),
                "{ty}.{key} has {f}, which AWS's shape does not: {e}"
            );
        }
        // Payloads are JSON text, as AWS gives them.
        for f in ["input", "output", "parameters"] {
            if let Some(v) = d.get(f) {
                let text = v
                    .as_str()
                    .unwrap_or_else(|| panic!("{ty}.{f} is not text: {e}"));
                serde_json::from_str::<Value>(text).unwrap();
            }
        }
    }
}

fn redact(mut events: Vec<Value>) -> Vec<Value> {
    for e in &mut events {
        e["timestamp"] = json!("[timestamp]");
        if let Some(d) = e.get_mut("executionStartedEventDetails") {
            d["roleArn"] = json!("[role]");
        }
    }
    events
}

#[test]
fn every_state_type_succeeding() {
    let events = history("HappyPath");
    check_shapes(&events);
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    for t in [
        "PassStateEntered",
        "TaskScheduled",
        "TaskFailed",
        "TaskSucceeded",
        "ChoiceStateExited",
        "WaitStateEntered",
        "ParallelStateStarted",
        "MapStateStarted",
        "MapIterationSucceeded",
        "SucceedStateEntered",
        "ExecutionSucceeded",
    ] {
        assert!(types.contains(&t), "no {t} in {types:?}");
    }
    insta::assert_json_snapshot!("every_state_succeeding", redact(events));
}

#[test]
fn every_state_type_failing_into_catch() {
    let events = history("Broken");
    check_shapes(&events);
    assert_eq!(events.last().unwrap()["type"], "ExecutionFailed");
    insta::assert_json_snapshot!("every_state_failing", redact(events));
}
