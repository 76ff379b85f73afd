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
    let mocks = data("every-state.mocks.json");
    history_of_run(
        &data("every-state.asl.json"),
        "snap",
        &[
            "--mock-config",
            mocks.to_str().unwrap(),
            "--test-case",
            test_case,
            "--wait-scale",
            "0",
        ],
    )
}

/// Runs `asl run WF --name NAME ARGS...` in a database of its own and gives the events of
/// the execution's history, all in one page.
fn history_of_run(wf: &Path, name: &str, args: &[&str]) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("asl.db");
    let asl = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_asl"))
            .env("ASL_DB", &db)
            .args(args)
            .output()
            .unwrap()
    };
    let mut run_args = vec!["run", wf.to_str().unwrap(), "--name", name];
    run_args.extend_from_slice(args);
    let run = asl(&run_args);
    assert!(run.status.code().is_some(), "{run:?}");
    let o = asl(&["history", name, "--json"]);
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
        "ExecutionTimedOut" => ("executionTimedOutEventDetails", &[], &["error", "cause"]),
        "EvaluationFailed" => (
            "evaluationFailedEventDetails",
            &["state"],
            &["error", "cause", "location"],
        ),
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
        "MapIterationAborted" => ("mapIterationAbortedEventDetails", ITERATION, &[]),
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
    "MapStateAborted",
    "ParallelStateAborted",
    "TaskStateAborted",
    "WaitStateAborted",
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

/// The history of `def` run on `input`, every wait and time-out a hundredth as long.
fn history_of(def: Value, input: Value) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let wf = dir.path().join("wf.asl.json");
    std::fs::write(&wf, def.to_string()).unwrap();
    let input = input.to_string();
    history_of_run(&wf, "cut", &["--input", &input, "--wait-scale", "0.01"])
}

/// The id of the `FailStateEntered` event, and what follows it as `tail` gives it.
fn after_the_failure(events: &[Value]) -> (u64, Vec<(String, u64, Value)>) {
    let fail = events
        .iter()
        .position(|e| e["type"] == "FailStateEntered")
        .unwrap();
    (events[fail]["id"].as_u64().unwrap(), tail(events, fail + 1))
}

/// `(type, previousEventId, details)` from the event `from` on.
fn tail(events: &[Value], from: usize) -> Vec<(String, u64, Value)> {
    events[from..]
        .iter()
        .map(|e| {
            let details = e
                .as_object()
                .unwrap()
                .iter()
                .find(|(k, _)| k.ends_with("EventDetails"))
                .map(|(_, v)| v.clone())
                .unwrap_or(Value::Null);
            (
                e["type"].as_str().unwrap().to_string(),
                e["previousEventId"].as_u64().unwrap(),
                details,
            )
        })
        .collect()
}

#[test]
fn work_cut_short_by_a_failure_is_recorded_as_aborted() {
    // A Map whose item 1 fails while item 0 waits: as AWS records it, the failed iteration,
    // then the waiting iteration aborted (MapIterationAborted, then the state it was in), then
    // the Map, all pointing back to the failure's last event.
    let map = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 3,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericEquals": 1, "Next": "F"}],
                  "Default": "W"},
            "W": {"Type": "Wait", "Seconds": 100, "End": true},
            "F": {"Type": "Fail", "Error": "Boom", "Cause": "one"}}},
        "End": true}}});
    let events = history_of(map, json!([0, 1, 2]));
    check_shapes(&events);
    let (fail_id, t) = after_the_failure(&events);
    let expected = [
        (
            "MapIterationFailed",
            fail_id,
            json!({"name": "M", "index": 1}),
        ),
        (
            "MapIterationAborted",
            fail_id,
            json!({"name": "M", "index": 0}),
        ),
        ("WaitStateAborted", fail_id, Value::Null),
        ("MapStateFailed", fail_id, Value::Null),
    ];
    for (got, want) in t.iter().zip(expected.iter()) {
        assert_eq!((got.0.as_str(), got.1, &got.2), (want.0, want.1, &want.2));
    }
    assert_eq!(t[4].0, "ExecutionFailed");
    assert_eq!(t.len(), 5, "{t:?}");

    // A Parallel whose third branch fails while the first waits and the second runs a Map:
    // each cut state is aborted, inner work first; no ParallelStateAborted (the Parallel
    // fails), and the Catch goes on.
    let parallel = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [
            {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100, "End": true}}},
            {"StartAt": "M", "States": {"M": {"Type": "Map", "ItemProcessor": {"StartAt": "W2",
                "States": {"W2": {"Type": "Wait", "Seconds": 100, "End": true}}}, "End": true}}},
            {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom"}}}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Done"}], "End": true},
        "Done": {"Type": "Pass", "End": true}}});
    let events = history_of(parallel, json!([1, 2]));
    check_shapes(&events);
    let (fail_id, t) = after_the_failure(&events);
    let types: Vec<&str> = t.iter().map(|x| x.0.as_str()).collect();
    assert_eq!(
        types,
        [
            "WaitStateAborted",
            "MapIterationAborted",
            "WaitStateAborted",
            "MapIterationAborted",
            "WaitStateAborted",
            "MapStateAborted",
            "ParallelStateFailed",
            "ParallelStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert!(t[..6].iter().all(|x| x.1 == fail_id), "{t:?}");
    let mut indexes: Vec<u64> = t
        .iter()
        .filter(|x| x.0 == "MapIterationAborted")
        .map(|x| x.2["index"].as_u64().unwrap())
        .collect();
    indexes.sort();
    assert_eq!(indexes, [0, 1]);
}

#[test]
fn a_timed_out_execution_records_no_aborted_states() {
    // AWS records no *StateAborted when the execution's own TimeoutSeconds ends it.
    let def = json!({"TimeoutSeconds": 1, "StartAt": "M", "States": {"M": {"Type": "Map",
        "ItemProcessor": {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100,
            "End": true}}}, "End": true}}});
    let events = history_of(def, json!([1, 2]));
    check_shapes(&events);
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types.last(), Some(&"ExecutionTimedOut"));
    assert!(!types.iter().any(|t| t.ends_with("Aborted")), "{types:?}");
}

/// `(type, id, previousEventId)` of each event.
fn chain(events: &[Value]) -> Vec<(String, u64, u64)> {
    events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_string(),
                e["id"].as_u64().unwrap(),
                e["previousEventId"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The definition of a case recorded against AWS in ../shared/conformance.
fn recorded_definition(case: &str) -> Value {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = root.join(format!("../shared/conformance/cases/{case}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (../shared must be beside the checkout)",
            path.display()
        )
    });
    serde_json::from_str::<Value>(&text).unwrap()["definition"].clone()
}

#[test]
fn a_retried_map_or_parallel_fails_once_as_aws_records_it() {
    // The event chains of localstack's test_map_state_retry and test_parallel_state_retry,
    // recorded against AWS: each attempt starts again (MapStateStarted, pointing back to the
    // failure before it); only the last attempt's failure ends the state.
    let events = history_of(
        recorded_definition("test_base_scenarios.test_map_state_retry"),
        json!({}),
    );
    check_shapes(&events);
    let want: Vec<(String, u64, u64)> = [
        ("ExecutionStarted", 1, 0),
        ("PassStateEntered", 2, 0),
        ("PassStateExited", 3, 2),
        ("MapStateEntered", 4, 3),
        ("MapStateStarted", 5, 4),
        ("MapIterationStarted", 6, 5),
        ("FailStateEntered", 7, 6),
        ("MapIterationFailed", 8, 7),
        ("MapStateStarted", 9, 7),
        ("MapIterationStarted", 10, 9),
        ("FailStateEntered", 11, 10),
        ("MapIterationFailed", 12, 11),
        ("MapStateStarted", 13, 11),
        ("MapIterationStarted", 14, 13),
        ("FailStateEntered", 15, 14),
        ("MapIterationFailed", 16, 15),
        ("MapStateFailed", 17, 15),
        ("ExecutionFailed", 18, 17),
    ]
    .iter()
    .map(|(t, i, p)| (t.to_string(), *i, *p))
    .collect();
    assert_eq!(chain(&events), want);

    let events = history_of(
        recorded_definition("test_base_scenarios.test_parallel_state_retry"),
        json!({}),
    );
    check_shapes(&events);
    let want: Vec<(String, u64, u64)> = [
        ("ExecutionStarted", 1, 0),
        ("ParallelStateEntered", 2, 0),
        ("ParallelStateStarted", 3, 2),
        ("FailStateEntered", 4, 3),
        ("ParallelStateStarted", 5, 4),
        ("FailStateEntered", 6, 5),
        ("ParallelStateStarted", 7, 6),
        ("FailStateEntered", 8, 7),
        ("ParallelStateFailed", 9, 8),
        ("ExecutionFailed", 10, 9),
    ]
    .iter()
    .map(|(t, i, p)| (t.to_string(), *i, *p))
    .collect();
    assert_eq!(chain(&events), want);
}

#[test]
fn a_failed_jsonata_expression_is_recorded_as_evaluation_failed() {
    // As recorded against AWS (localstack's test_undefined_reference[BASE_UNDEFINED_OUTPUT]
    // and test_map_state_items_eval_jsonata_fail): EvaluationFailed points back to what the
    // state's Entered event points back to, and names the field; a Map that fails so ends
    // with MapStateFailed, without having started.
    let events = history_of(
        json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
            "P": {"Type": "Pass", "Output": {"result": "{% $doesNotExist %}"}, "End": true}}}),
        json!({}),
    );
    check_shapes(&events);
    let c = chain(&events);
    assert_eq!(
        c.iter()
            .map(|x| (x.0.as_str(), x.1, x.2))
            .collect::<Vec<_>>(),
        [
            ("ExecutionStarted", 1, 0),
            ("PassStateEntered", 2, 0),
            ("EvaluationFailed", 3, 0),
            ("ExecutionFailed", 4, 3)
        ]
    );
    let d = &events[2]["evaluationFailedEventDetails"];
    assert_eq!(d["error"], "States.QueryEvaluationError");
    assert_eq!(d["state"], "P");
    assert_eq!(d["location"], "Output/result");
    assert_eq!(
        d["cause"],
        "An error occurred while executing the state 'P' (entered at the event id #2). The JSONata expression '$doesNotExist' specified for the field 'Output/result' returned nothing (undefined)."
    );
    assert_eq!(
        events[3]["executionFailedEventDetails"]["cause"],
        d["cause"]
    );

    let events = history_of(
        json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
            "P": {"Type": "Pass", "Next": "M"},
            "M": {"Type": "Map", "Items": "{% $states.input.n %}", "ItemProcessor": {
                "StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}, "End": true}}}),
        json!({"n": 1}),
    );
    check_shapes(&events);
    let c = chain(&events);
    assert_eq!(
        c[3..]
            .iter()
            .map(|x| (x.0.as_str(), x.1, x.2))
            .collect::<Vec<_>>(),
        [
            ("MapStateEntered", 4, 3),
            ("EvaluationFailed", 5, 3),
            ("MapStateFailed", 6, 5),
            ("ExecutionFailed", 7, 6)
        ]
    );
    assert_eq!(
        events[4]["evaluationFailedEventDetails"]["location"],
        "Items"
    );

    // A Map whose Output fails after its work: EvaluationFailed follows the Map's own events,
    // and the Map, which succeeded, does not also fail. Like the MapStateExited it stands in
    // for, it points back to the last MapIterationSucceeded (as AWS chains a Map's end).
    let events = history_of(
        json!({"QueryLanguage": "JSONata", "StartAt": "M", "States": {
            "M": {"Type": "Map", "Items": [1], "Output": "{% $nope %}", "ItemProcessor": {
                "StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}, "End": true}}}),
        json!({}),
    );
    check_shapes(&events);
    let c = chain(&events);
    let tail: Vec<(&str, u64, u64)> = c[c.len() - 2..]
        .iter()
        .map(|x| (x.0.as_str(), x.1, x.2))
        .collect();
    let succeeded = c[c.len() - 3].1;
    assert_eq!(c[c.len() - 3].0, "MapStateSucceeded");
    assert_eq!(c[c.len() - 4].0, "MapIterationSucceeded");
    assert_eq!(
        tail,
        [
            ("EvaluationFailed", succeeded + 1, succeeded - 1),
            ("ExecutionFailed", succeeded + 2, succeeded + 1)
        ]
    );
    assert!(!c.iter().any(|x| x.0 == "MapStateFailed"), "{c:?}");
}
