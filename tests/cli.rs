//! The `asl` command through its public interface: exit codes, the `--json` contract, and a
//! short located error for every kind of bad input.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `asl` on a database of its own (each test gets a fresh one through `db()`).
fn asl(args: &[&str]) -> Output {
    asl_on(&db(), args)
}

fn asl_on(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_asl"))
        .env("ASL_DB", db)
        .args(args)
        .output()
        .expect("asl runs")
}

/// A database path in a fresh temporary directory (kept for the test's life).
fn db() -> PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    dir.join("asl.db")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn json_out(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON object ({e}): {}",
            String::from_utf8_lossy(&o.stdout)
        )
    })
}

const HELLO: &str = r#"{"StartAt": "Hi", "States": {"Hi": {"Type": "Pass", "Parameters": {"greeting.$": "States.Format('hello {}', $.who)"}, "End": true}}}"#;

#[test]
fn run_json_prints_one_describe_execution_object() {
    let dir = tempfile::tempdir().unwrap();
    let wf = write(dir.path(), "hello.asl.json", HELLO);
    let o = asl(&[
        "run",
        wf.to_str().unwrap(),
        "--input",
        r#"{"who": "ada"}"#,
        "--name",
        "e1",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json_out(&o);
    assert_eq!(v["status"], "SUCCEEDED");
    assert_eq!(v["output"], json!({"greeting": "hello ada"}));
    assert_eq!(v["name"], "e1");
    assert_eq!(
        v["executionArn"],
        "arn:aws:states:us-east-1:123456789012:execution:hello:e1"
    );
    assert!(v["startDate"].as_str().unwrap().ends_with('Z'));
    assert!(v["stopDate"].is_string());
    assert_eq!(v["input"], json!({"who": "ada"}));
}

#[test]
fn failed_execution_exits_1_with_error_and_cause() {
    let dir = tempfile::tempdir().unwrap();
    let wf = write(
        dir.path(),
        "f.json",
        r#"{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Custom.Error", "Cause": "it broke"}}}"#,
    );
    let o = asl(&["run", wf.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json_out(&o);
    assert_eq!(v["status"], "FAILED");
    assert_eq!(v["error"], "Custom.Error");
    assert_eq!(v["cause"], "it broke");
    assert_eq!(v["output"], Value::Null);
}

#[test]
fn substitutions_replace_placeholders() {
    let dir = tempfile::tempdir().unwrap();
    let wf = write(
        dir.path(),
        "s.asl.json",
        r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"url": "${BaseUrl}/orders"}, "End": true}}}"#,
    );
    let o = asl(&[
        "run",
        wf.to_str().unwrap(),
        "--sub",
        "BaseUrl=http://127.0.0.1:9",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        json_out(&o)["output"],
        json!({"url": "http://127.0.0.1:9/orders"})
    );
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    // A placeholder no --sub fills stays, with a warning; a value that breaks the JSON is
    // blamed on the substitution, not on the file.
    let o = asl(&["run", wf.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("${BaseUrl} is left as it is: no --sub BaseUrl=VALUE fills it"),
        "{}",
        stderr(&o)
    );
    let o = asl(&["run", wf.to_str().unwrap(), "--sub", "BaseUrl=a\"b"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("not valid JSON once the --sub values are put in"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn mock_config_supplies_task_results_by_invocation() {
    let dir = tempfile::tempdir().unwrap();
    let wf = write(
        dir.path(),
        "Orders.asl.json",
        r#"{"StartAt": "Call", "States": {"Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Retry": [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "IntervalSeconds": 5, "MaxAttempts": 2}],
            "ResultSelector": {"body.$": "$.Payload.body"}, "End": true}}}"#,
    );
    let mocks = write(
        dir.path(),
        "mocks.json",
        r#"{"StateMachines": {"Orders": {"TestCases": {"Flaky": {"Call": "FlakyThenOk"}, "Ok": {"Call": "Ok"}}}},
            "MockedResponses": {
              "FlakyThenOk": {"0-1": {"Throw": {"Error": "Lambda.TooManyRequestsException", "Cause": "slow down"}},
                              "2": {"Return": {"StatusCode": 200, "Payload": {"body": "third time"}}}},
              "Ok": {"0": {"Return": {"StatusCode": 200, "Payload": {"body": "first time"}}}}}}"#,
    );
    let (wf, mocks) = (wf.to_str().unwrap(), mocks.to_str().unwrap());
    let o = asl(&[
        "run",
        wf,
        "--mock-config",
        mocks,
        "--test-case",
        "Flaky",
        "--wait-scale",
        "0",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json_out(&o)["output"], json!({"body": "third time"}));
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    // A mocked state the workflow does not have (a misspelt name) is warned about.
    let typo = write(
        dir.path(),
        "typo.json",
        r#"{"StateMachines": {"Orders": {"TestCases": {"T": {"Call": "Ok", "Cal": "Ok"}}}},
            "MockedResponses": {"Ok": {"0": {"Return": {"StatusCode": 200, "Payload": {"body": "x"}}}}}}"#,
    );
    let o = asl(&["run", wf, "--mock-config", typo.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("test case 'T' mocks states the workflow does not have: Cal"),
        "{}",
        stderr(&o)
    );
    // A mock named after a state that is not a Task is never used: warned about too.
    let shop = write(
        dir.path(),
        "Shop.asl.json",
        r#"{"StartAt": "Prep", "States": {"Prep": {"Type": "Pass", "Next": "Call"},
            "Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}}"#,
    );
    let shop_mocks = write(
        dir.path(),
        "shop-mocks.json",
        r#"{"StateMachines": {"Shop": {"TestCases": {"T": {"Prep": "Ok", "Call": "Ok"}}}},
            "MockedResponses": {"Ok": {"0": {"Return": {"StatusCode": 200, "Payload": {"body": "x"}}}}}}"#,
    );
    let o = asl(&[
        "run",
        shop.to_str().unwrap(),
        "--mock-config",
        shop_mocks.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "test case 'T' mocks states that are not Task states, which mocks do not replace: Prep (Pass)"
        ),
        "{}",
        stderr(&o)
    );
    // Without naming one of its two test cases, the config is ambiguous.
    let o = asl(&["run", wf, "--mock-config", mocks, "--json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--test-case"), "{}", stderr(&o));
}

#[test]
fn unmocked_task_fails_naming_state_and_resource() {
    let dir = tempfile::tempdir().unwrap();
    let wf = write(
        dir.path(),
        "t.json",
        r#"{"StartAt": "Call", "States": {"Call": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": true}}}"#,
    );
    let o = asl(&["run", wf.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json_out(&o);
    assert_eq!(v["error"], "States.TaskFailed");
    let cause = v["cause"].as_str().unwrap();
    assert!(
        cause.contains("'Call'") && cause.contains("arn:aws:states:::sqs:sendMessage"),
        "{cause}"
    );
}

#[test]
fn validate_reports_every_problem_with_its_pointer() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "bad.json",
        r#"{"StartAt": "Fetch", "States": {
            "Fetch": {"Type": "Pass", "Next": "Fetchh"},
            "Fetcher": {"Type": "Wait", "Seconds": 1, "Timestamp": "2020-01-01T00:00:00Z", "End": true},
            "Catchy": {"Type": "Task", "Resource": "x", "End": true,
                       "Catch": [{"ErrorEquals": ["States.ALL", "Other"], "Next": "Fetch"}]}}}"#,
    );
    let good = write(dir.path(), "good.json", HELLO);
    let o = asl(&["validate", bad.to_str().unwrap(), good.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(r#"/States/Fetch/Next: no state named "Fetchh" (did you mean "Fetch"?)"#),
        "{out}"
    );
    assert!(
        out.contains("/States/Fetcher: a Wait state takes only one of Seconds, Timestamp"),
        "{out}"
    );
    assert!(
        out.contains("/States/Catchy/Catch/0/ErrorEquals/0: States.ALL must appear alone"),
        "{out}"
    );
    assert!(out.contains("good.json: ok"), "{out}");

    let o = asl(&["validate", "--json", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let v = json_out(&o);
    assert_eq!(v[0]["valid"], false);
    assert!(v[0]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["pointer"] == "/States/Fetch/Next"));

    let o = asl(&["validate", good.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));

    // `{% %}` is an expression only in a JSONata state: in a JSONPath state it is a string,
    // refused where a number belongs (AWS refuses such a definition).
    let jsonpath = write(
        dir.path(),
        "jp.json",
        r#"{"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": "{% 1 %}", "Next": "T"},
            "T": {"Type": "Task", "Resource": "x", "TimeoutSeconds": "{% 2 %}", "End": true}}}"#,
    );
    let o = asl(&["validate", jsonpath.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("/States/W/Seconds: Seconds must be an integer from 0 to 99999999"),
        "{out}"
    );
    assert!(out.contains("/States/T/TimeoutSeconds"), "{out}");

    // A JSONata catcher shapes its output with Output, not ResultPath.
    let catcher = write(
        dir.path(),
        "catch.json",
        r#"{"QueryLanguage": "JSONata", "StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "x", "End": true,
                  "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.e", "Next": "D"}]},
            "D": {"Type": "Pass", "End": true}}}"#,
    );
    let o = asl(&["validate", catcher.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("/States/T/Catch/0/ResultPath: ResultPath is a field of JSONPath catchers"),
        "{out}"
    );

    // JSONata fields that must be expressions (or of the right JSON type), and variable names.
    let fields = write(
        dir.path(),
        "fields.json",
        r#"{"QueryLanguage": "JSONata", "StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [{"Condition": "true", "Next": "T"}], "Default": "M"},
            "T": {"Type": "Task", "Resource": "x", "Arguments": "plain", "End": true},
            "M": {"Type": "Map", "Items": "plain", "Assign": {"1abc": 1, "a-b": 2, "ok_1": 3},
                  "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
                  "End": true}}}"#,
    );
    let o = asl(&["validate", fields.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let out = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "/States/C/Choices/0/Condition: Condition must be a {% %} expression",
        "/States/T/Arguments: Arguments must be a JSON object or a {% %} expression",
        "/States/M/Items: Items must be a JSON array, a JSON object or a {% %} expression",
        "/States/M/Assign/1abc: \"1abc\" is not a variable name",
        "/States/M/Assign/a-b: \"a-b\" is not a variable name",
    ] {
        assert!(out.contains(needle), "{needle} not in {out}");
    }
    assert!(!out.contains("ok_1"), "{out}");

    // A Fail state's ErrorPath/CausePath: a reference path, or an intrinsic that gives a string.
    let fail = write(
        dir.path(),
        "fail.json",
        r#"{"StartAt": "F", "States": {"F": {"Type": "Fail",
            "ErrorPath": "States.Array($.a)", "CausePath": "$.c[*]"}}}"#,
    );
    let o = asl(&["validate", fail.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(
            "/States/F/ErrorPath: ErrorPath takes a reference path or one of States.Format"
        ),
        "{out}"
    );
    assert!(
        out.contains("/States/F/CausePath: \"$.c[*]\" is not a reference path"),
        "{out}"
    );
}

#[test]
fn unreachable_states_and_missing_transitions_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let wf = write(
        dir.path(),
        "u.json",
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass"}, "Orphan": {"Type": "Succeed"}}}"#,
    );
    let o = asl(&["validate", wf.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("/States/A: a Pass state must have Next or \"End\": true"),
        "{out}"
    );
}

/// Every kind of bad input: a short error naming where and what, exit 2, never a panic.
#[test]
fn bad_input_is_a_located_error_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let not_json = write(dir.path(), "broken.json", "{\"StartAt\": ");
    let wf = write(dir.path(), "ok.json", HELLO);
    let wf = wf.to_str().unwrap();
    let spaced = write(dir.path(), "my flow.asl.json", HELLO);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["run", not_json.to_str().unwrap()],
            "broken.json: not valid JSON",
        ),
        (
            vec!["run", "/no/such/file.json"],
            "cannot read /no/such/file.json",
        ),
        (
            vec!["run", wf, "--input", "{not json"],
            "--input is not valid JSON",
        ),
        (
            vec!["run", wf, "--input-file", "/no/such/input.json"],
            "cannot read /no/such/input.json",
        ),
        (
            vec!["run", wf, "--frobnicate"],
            "unexpected argument '--frobnicate'",
        ),
        (vec!["run", wf, "--sub", "novalue"], "expected KEY=VALUE"),
        (
            vec!["run", wf, "--wait-scale=-1"],
            "--wait-scale must be a number from 0 to 1000",
        ),
        (
            vec!["run", wf, "--mock-config", not_json.to_str().unwrap()],
            "is not valid JSON",
        ),
        (vec!["validate", not_json.to_str().unwrap()], ""),
        (
            vec!["run", wf, "--name", ""],
            "a name has 1 to 80 characters",
        ),
        (vec!["run", wf, "--name", "a b"], "is not allowed in a name"),
        (vec!["run", wf, "--name", "x/y"], "is not allowed in a name"),
        (
            vec!["run", wf, "--state-machine-name", "a:b"],
            "--state-machine-name \"a:b\": ':' is not allowed in a name",
        ),
        (
            vec!["run", spaced.to_str().unwrap()],
            "the state machine name (the file's name; --state-machine-name gives another) \"my flow\"",
        ),
        (
            vec!["prune", "--older-than", "99999999999999d"],
            "too long an age",
        ),
        (
            vec!["prune", "--older-than", "99999999999999999999d"],
            "too long an age",
        ),
        (
            vec!["prune", "--older-than", "1.5d"],
            "expected a whole number and one unit (d, h, m or s)",
        ),
        (
            vec!["load", "--ramp-up", "100000000000000000000000"],
            "longer than a year",
        ),
    ];
    for (args, expected) in cases {
        let o = asl(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let all = format!("{}{}", stderr(&o), String::from_utf8_lossy(&o.stdout));
        assert!(
            all.contains(expected),
            "{args:?}: expected {expected:?} in {all}"
        );
        assert!(!all.contains("panicked"), "{args:?} panicked: {all}");
    }
}

/// Text with a character of several bytes where the engine looks at one byte (a timestamp's
/// offset, a number's radix letter) is an error like any other, not a panic.
#[test]
fn multibyte_text_where_a_byte_is_expected_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let at = write(
        dir.path(),
        "at.json",
        r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Timestamp": "2016-08-18T17:33:0é1", "End": true}}}"#,
    );
    let o = asl(&["validate", at.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .contains("/States/W/Timestamp: Timestamp must be an ISO-8601 timestamp"),
        "{o:?}"
    );
    let path = write(
        dir.path(),
        "path.json",
        r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "TimestampPath": "$.t", "End": true}}}"#,
    );
    let o = asl(&[
        "run",
        path.to_str().unwrap(),
        "--input",
        r#"{"t": "2016-08-18T17:33:0é1"}"#,
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(json_out(&o)["error"], "States.Runtime");
    let number = write(
        dir.path(),
        "number.json",
        r#"{"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Pass", "Output": "{% $number($states.input.s) %}", "End": true}}}"#,
    );
    let o = asl(&[
        "run",
        number.to_str().unwrap(),
        "--input",
        r#"{"s": "0é"}"#,
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v = json_out(&o);
    assert_eq!(v["error"], "States.QueryEvaluationError", "{v}");
    assert!(v["cause"].as_str().unwrap().contains("D3030"), "{v}");
}

/// Map fields of the wrong JSON type are located errors, not read as absent (a Label or a
/// Mode that is no string was taken as none; a count of 1.5 as a count).
#[test]
fn map_fields_of_the_wrong_type_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let wf = write(
        dir.path(),
        "map.json",
        &json!({"StartAt": "M", "States": {"M": {"Type": "Map", "Label": {"x": 1},
            "ToleratedFailureCount": 1.5,
            "ItemProcessor": {"ProcessorConfig": {"Mode": 1},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
            "End": true}}})
        .to_string(),
    );
    let o = asl(&["validate", wf.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    for expected in [
        "/States/M/Label: Label must be a string",
        "/States/M/ToleratedFailureCount: ToleratedFailureCount must be a non-negative integer",
        "/States/M/ItemProcessor/ProcessorConfig/Mode: Mode must be INLINE or DISTRIBUTED, not 1",
    ] {
        assert!(out.contains(expected), "{expected:?} not in {out}");
    }
}

/// Every bad reference is reported however many there are, without the "did you mean" search
/// making validation quadratic: 20,000 states with a missing `Next` each (it took minutes).
#[test]
fn thousands_of_bad_references_are_reported_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let mut states = serde_json::Map::new();
    for i in 0..20_000 {
        states.insert(
            format!("S{i:05}"),
            json!({"Type": "Pass", "Next": format!("Q{i:05}")}),
        );
    }
    let wf = write(
        dir.path(),
        "many.json",
        &json!({"StartAt": "S00000", "States": states}).to_string(),
    );
    let o = asl(&["validate", "--json", wf.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let problems = json_out(&o);
    let text = problems.to_string();
    assert_eq!(text.matches("no state named").count(), 20_000);
    // The first ones still come with a suggestion.
    assert!(text.contains("(did you mean"), "{}", &text[..500]);
}

/// A definition and an input saved with a UTF-8 byte-order mark load as without it.
#[test]
fn a_byte_order_mark_is_not_part_of_the_json() {
    let dir = tempfile::tempdir().unwrap();
    let wf = write(dir.path(), "bom.asl.json", &format!("\u{feff}{HELLO}"));
    let input = write(dir.path(), "in.json", "\u{feff}{\"who\": \"bom\"}");
    let o = asl(&[
        "run",
        wf.to_str().unwrap(),
        "--input-file",
        input.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json_out(&o)["input"], json!({"who": "bom"}));
}

/// Waits too long for a Duration (1e300 s, or a long wait at a huge --wait-scale) are just
/// very long waits: the execution's own time limit ends them, no panic.
#[test]
fn waits_past_what_a_duration_holds_are_long_waits() {
    let dir = tempfile::tempdir().unwrap();
    let wf = write(
        dir.path(),
        "wait.json",
        r#"{"TimeoutSeconds": 1, "StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.s", "End": true}}}"#,
    );
    let o = asl(&[
        "run",
        wf.to_str().unwrap(),
        "--input",
        r#"{"s": 1e300}"#,
        "--wait-scale",
        "0.01",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(json_out(&o)["status"], "TIMED_OUT");
    let o = asl(&["prune", "--older-than", "9999999999999s"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn run_reads_its_input_from_standard_input_with_a_dash() {
    let dir = tempfile::tempdir().unwrap();
    let wf = write(dir.path(), "hello.asl.json", HELLO);
    let mut child = Command::new(env!("CARGO_BIN_EXE_asl"))
        .env("ASL_DB", dir.path().join("asl.db"))
        .args(["run", wf.to_str().unwrap(), "--input-file", "-", "--json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(br#"{"who": "stdin"}"#).unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(json_out(&o)["output"], json!({"greeting": "hello stdin"}));
}

#[test]
fn the_default_database_follows_xdg_and_home_and_says_when_it_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let asl_env = |envs: &[(&str, &str)], unset: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_asl"));
        c.args(["executions", "--json"]).env_remove("ASL_DB");
        for k in unset {
            c.env_remove(k);
        }
        for (k, v) in envs {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    // An empty ASL_DB names no database: the default under HOME is used.
    let home = dir.path().to_str().unwrap();
    let o = asl_env(&[("ASL_DB", ""), ("HOME", home)], &["XDG_DATA_HOME"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(dir.path().join(".local/share/asl/asl.db").exists());
    // Neither XDG_DATA_HOME nor HOME: a clear error, not a database in the current directory.
    let o = asl_env(&[], &["XDG_DATA_HOME", "HOME"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("neither XDG_DATA_HOME nor HOME is set (give --db PATH or ASL_DB)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn express_runs_keep_their_log_level_run_five_minutes_and_refuse_what_aws_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("asl.db");
    let fail = write(
        dir.path(),
        "f.asl.json",
        r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "Next": "F"},
            "F": {"Type": "Fail", "Error": "Boom", "Cause": "bad"}}}"#,
    );
    let f = fail.to_str().unwrap();
    let events = |name: &str| -> Vec<(u64, String)> {
        json_out(&asl_on(&db, &["history", name, "--json"]))["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["id"].as_u64().unwrap(),
                    e["type"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    // An EXPRESS execution's ARN is of its own kind; at ERROR only the error events are kept,
    // with the ids they have in the whole history.
    let o = asl_on(
        &db,
        &[
            "run",
            f,
            "--type",
            "EXPRESS",
            "--log-level",
            "ERROR",
            "--name",
            "e1",
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let v = json_out(&o);
    assert!(
        v["executionArn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:states:us-east-1:123456789012:express:f:e1:"),
        "{v}"
    );
    assert_eq!(v["error"], "Boom");
    assert_eq!(events("e1"), [(5, "ExecutionFailed".to_string())]);
    // ALL keeps every event; OFF none (the execution itself is still described).
    assert_eq!(
        asl_on(&db, &["run", f, "--type", "EXPRESS", "--name", "e2"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(events("e2").len(), 5);
    assert_eq!(
        asl_on(
            &db,
            &[
                "run",
                f,
                "--type",
                "EXPRESS",
                "--log-level",
                "OFF",
                "--name",
                "e3"
            ]
        )
        .status
        .code(),
        Some(1)
    );
    assert!(events("e3").is_empty());
    assert_eq!(
        json_out(&asl_on(&db, &["describe", "e3", "--json"]))["status"],
        "FAILED"
    );
    // Refused with exit status 2 and a message saying why.
    let refused = |o: Output, why: &str| {
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains(why), "{}", stderr(&o));
    };
    // "You can't redrive Express workflow executions."
    refused(asl_on(&db, &["redrive", "e1"]), "ExecutionNotRedrivable");
    // Five minutes at most: a 400 s Wait (at a wait scale of 0.001) times out at 300 s.
    let wait = write(
        dir.path(),
        "w.asl.json",
        r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 400, "End": true}}}"#,
    );
    let w = wait.to_str().unwrap();
    let o = asl_on(
        &db,
        &[
            "run",
            w,
            "--type",
            "EXPRESS",
            "--wait-scale",
            "0.001",
            "--json",
        ],
    );
    let v = json_out(&o);
    assert_eq!(v["status"], "TIMED_OUT", "{v}");
    let o = asl_on(&db, &["run", w, "--wait-scale", "0.001", "--json"]);
    assert_eq!(json_out(&o)["status"], "SUCCEEDED");
    // A log level is an EXPRESS run's.
    refused(
        asl_on(&db, &["run", w, "--log-level", "OFF"]),
        "applies to EXPRESS runs",
    );
    // .sync and .waitForTaskToken are STANDARD's: refused before anything runs.
    let cb = write(
        dir.path(),
        "cb.asl.json",
        r#"{"StartAt": "T", "States": {"T": {"Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"MessageBody.$": "$$.Task.Token"}, "End": true}}}"#,
    );
    refused(
        asl_on(
            &db,
            &[
                "run",
                cb.to_str().unwrap(),
                "--type",
                "EXPRESS",
                "--name",
                "cb",
            ],
        ),
        "/States/T/Resource: an EXPRESS state machine does not support",
    );
    let listed = json_out(&asl_on(&db, &["executions", "--json"]));
    assert!(
        !listed["executions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "cb"),
        "{listed}"
    );
}

#[test]
fn an_input_past_start_executions_limit_starts_nothing() {
    // StartExecution's input: "Maximum length of 262144". AWS refuses the call.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("asl.db");
    let wf = write(dir.path(), "hello.asl.json", HELLO);
    let input = write(
        dir.path(),
        "big.json",
        &json!({"who": "x".repeat(262_144)}).to_string(),
    );
    let o = asl_on(
        &db,
        &[
            "run",
            wf.to_str().unwrap(),
            "--input-file",
            input.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("StartExecution takes at most 262144"),
        "{}",
        stderr(&o)
    );
    let listed = json_out(&asl_on(&db, &["executions", "--json"]));
    assert_eq!(listed["executions"], json!([]), "{listed}");
}

/// Step Functions' own JSONata functions as AWS computes them.
#[test]
fn jsonata_step_functions_functions_as_aws_computes_them() {
    let eval = |expr: &str| {
        let o = asl(&["jsonata", "--expr", expr]);
        assert_eq!(o.status.code(), Some(0), "{expr}: {}", stderr(&o));
        serde_json::from_slice::<Value>(&o.stdout).unwrap()
    };
    // A seeded $random draws as java.util.Random does (measured on AWS: $random(42)).
    assert_eq!(eval("$random(42)"), json!(0.7275636800328681));
    assert_eq!(eval("$random(42) = $random(42)"), json!(true));
    // "Built-in JSONata functions that require integer values as parameters will
    // automatically round down any non-integer numbers provided".
    assert_eq!(eval("$range(-1.7, 2, 1)"), json!([-1, 0, 1, 2]));
    assert_eq!(
        eval("$partition([1,2,3,4,5], 2.5)"),
        json!([[1, 2], [3, 4], [5]])
    );
    // An expression that never ends stops at a state's time limit (ASL_JSONATA_TIME_LIMIT_MS).
    let o = Command::new(env!("CARGO_BIN_EXE_asl"))
        .env("ASL_JSONATA_TIME_LIMIT_MS", "200")
        .args([
            "jsonata",
            "--expr",
            "(function($f){$f($f)})(function($f){$f($f)})",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("U1001"));
}

/// JSONata's bad input: located at validation when the text is wrong, a
/// `States.QueryEvaluationError` at run time when the value is; never a panic.
#[test]
fn jsonata_bad_input_is_located_or_a_query_evaluation_error() {
    let dir = tempfile::tempdir().unwrap();
    let state = |output: &str| {
        format!(
            r#"{{"QueryLanguage": "JSONata", "StartAt": "P", "States": {{"P": {{"Type": "Pass", "Output": {output}, "End": true}}}}}}"#
        )
    };
    // Malformed, and a bare `$`: rejected when the definition loads, at their pointers.
    let bad = write(
        dir.path(),
        "bad.json",
        &state(r#"{"a": "{% 1 + %}", "b": "{% $ %}", "c": "{% 1", "d": "{% 1 %} "}"#),
    );
    let o = asl(&["validate", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let out = String::from_utf8_lossy(&o.stdout);
    // "Improperly opening or closing the expression will result in a validation error."
    for p in ["c", "d"] {
        assert!(
            out.contains(&format!("/States/P/Output/{p}: "))
                && out.contains("does not end with %}"),
            "{out}"
        );
    }
    assert!(out.contains("/States/P/Output/a: "), "{out}");
    assert!(out.contains("not a valid JSONata expression"), "{out}");
    assert!(out.contains("/States/P/Output/b: "), "{out}");
    // An unknown function, and a variable used before it is assigned: run-time errors.
    for (expr, expected) in [
        (
            r#""{% $nope(1) %}""#,
            "threw an error during evaluation. T1006",
        ),
        (r#""{% $notYetAssigned %}""#, "returned nothing (undefined)"),
    ] {
        let wf = write(dir.path(), "run.json", &state(expr));
        let o = asl(&["run", wf.to_str().unwrap(), "--json"]);
        assert_eq!(o.status.code(), Some(1), "{expr}");
        let v = json_out(&o);
        assert_eq!(v["error"], "States.QueryEvaluationError", "{expr}");
        let cause = v["cause"].as_str().unwrap();
        assert!(
            cause.starts_with("An error occurred while executing the state 'P'"),
            "{cause}"
        );
        assert!(cause.contains(expected), "{expr}: {cause}");
    }
    // An expression that never ends (a function calling itself in tail position) is stopped
    // by the evaluation time limit (here 300 ms) instead of holding the execution.
    let wf = write(
        dir.path(),
        "loop.json",
        &state(r#""{% ($f := function($n){ $f($n) }; $f(1)) %}""#),
    );
    let started = std::time::Instant::now();
    let o = Command::new(env!("CARGO_BIN_EXE_asl"))
        .env("ASL_DB", db())
        .env("ASL_JSONATA_TIME_LIMIT_MS", "300")
        .args(["run", wf.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let v = json_out(&o);
    assert_eq!(v["error"], "States.QueryEvaluationError");
    assert!(
        v["cause"].as_str().unwrap().contains("U1001"),
        "{}",
        v["cause"]
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
}

#[test]
fn a_closed_stdout_ends_quietly_and_keeps_the_execution() {
    let dir = tempfile::tempdir().unwrap();
    let wf = write(dir.path(), "hello.asl.json", HELLO);
    let db = db();
    // A pipe whose reader is gone before asl writes: every write fails with EPIPE, as when
    // `asl ... | head` has read enough.
    let closed = || {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        writer
    };
    for args in [
        vec![
            "run",
            wf.to_str().unwrap(),
            "--name",
            "e1",
            "--input",
            r#"{"who": "ada"}"#,
        ],
        vec!["history", "e1"],
        vec!["executions", "--json"],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_asl"))
            .env("ASL_DB", &db)
            .args(&args)
            .stdout(closed())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(141), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o), "", "{args:?}");
    }
    // The run was stored whole before its output was cut short.
    let o = asl_on(&db, &["describe", "e1", "--json"]);
    assert_eq!(json_out(&o)["status"], "SUCCEEDED");
    let output: Value = serde_json::from_str(json_out(&o)["output"].as_str().unwrap()).unwrap();
    assert_eq!(output, json!({"greeting": "hello ada"}));
}

/// Past AWS's quota of 25,000 history events asl records on, and warns that AWS would not.
#[test]
fn a_history_past_aws_quota_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let wf = write(
        dir.path(),
        "loop.json",
        r#"{"StartAt": "Init", "States": {
            "Init": {"Type": "Pass", "Result": {"i": 0}, "Next": "Check"},
            "Check": {"Type": "Choice", "Choices": [{"Variable": "$.i", "NumericLessThan": 6300, "Next": "Step"}], "Default": "Done"},
            "Step": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)"}, "Next": "Check"},
            "Done": {"Type": "Succeed"}}}"#,
    );
    let o = asl(&["run", wf.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("recorded 25208 history events") && stderr(&o).contains("25000"),
        "{}",
        stderr(&o)
    );
    // Under the quota: no warning.
    let small = write(dir.path(), "small.json", HELLO);
    let o = asl(&["run", small.to_str().unwrap(), "--input", r#"{"who": "x"}"#]);
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
}

#[test]
fn validate_refuses_what_aws_refuses_when_a_state_machine_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let check = |name: &str, def: &str, needles: &[&str]| {
        let f = write(dir.path(), name, def);
        let o = asl(&["validate", f.to_str().unwrap()]);
        let out = String::from_utf8_lossy(&o.stdout).to_string();
        assert_eq!(o.status.code(), Some(2), "{name}: {out}");
        for n in needles {
            assert!(out.contains(n), "{name}: {n} not in {out}");
        }
    };
    // State names are unique in the whole machine, branches and processors included.
    check(
        "dup.json",
        r#"{"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "X", "States": {"X": {"Type": "Pass", "End": true}}},
            {"StartAt": "X", "States": {"X": {"Type": "Pass", "End": true}}}]}}}"#,
        &["/States/P/Branches/1/States/X: the state name \"X\" is used already at /States/P/Branches/0/States/X"],
    );
    // Something must end the machine (AWS's MISSING_END_STATE).
    check(
        "loop.json",
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"},
                                        "B": {"Type": "Pass", "Next": "A"}}}"#,
        &["/States: no state ends this state machine"],
    );
    // ResultPath writes into the input, never a variable; retriers' MaxDelaySeconds is at most
    // a year; a JSONata Pass has no Result; a transition stays in its scope.
    check(
        "fields.json",
        r#"{"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Result": 5, "ResultPath": "$v", "Next": "T"},
            "T": {"Type": "Task", "Resource": "x", "Next": "J",
                  "Retry": [{"ErrorEquals": ["States.ALL"], "MaxDelaySeconds": 31622401}]},
            "J": {"Type": "Pass", "QueryLanguage": "JSONata", "Result": 1, "Next": "P"},
            "P": {"Type": "Parallel", "Next": "Inner", "Branches": [
                {"StartAt": "Inner", "States": {"Inner": {"Type": "Pass", "End": true}}}]}}}"#,
        &[
            "/States/A/ResultPath: ResultPath writes into the state's input",
            "/States/T/Retry/0/MaxDelaySeconds: MaxDelaySeconds must be an integer from 1 to 31622400",
            "/States/J/Result: Result is a field of JSONPath states",
            "/States/P/Next: \"Inner\" is a state of another scope",
        ],
    );
    // Comments are strings; a state name is not empty.
    check(
        "comments.json",
        r#"{"Comment": 5, "StartAt": "", "States": {"": {"Type": "Pass", "Comment": null, "End": true}}}"#,
        &[
            "/Comment: Comment must be a string, not 5",
            "/States/: a state name must have 1 to 80 characters",
            "/States//Comment: Comment must be a string, not null",
        ],
    );
    // "A variable assigned in an inner scope cannot have the same name as one assigned in an
    // outer scope": not in a Map iteration, not in a Parallel branch, not in a catcher there.
    check(
        "scopes.json",
        r#"{"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Assign": {"myVariable": 1}, "Next": "M"},
            "M": {"Type": "Map", "ItemProcessor": {"StartAt": "I", "States": {
                "I": {"Type": "Pass", "Assign": {"myVariable.$": "$"}, "End": true}}}, "Next": "P"},
            "P": {"Type": "Parallel", "Branches": [{"StartAt": "B", "States": {
                "B": {"Type": "Pass", "Assign": {"fresh": 1}, "Next": "T"},
                "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                      "Parameters": {"FunctionName": "f"},
                      "Catch": [{"ErrorEquals": ["States.ALL"], "Assign": {"late": 1}, "Next": "E"}], "End": true},
                "E": {"Type": "Pass", "End": true}}}], "Next": "Z"},
            "Z": {"Type": "Pass", "Assign": {"late": 2}, "End": true}}}"#,
        &[
            r#"/States/M/ItemProcessor/States/I/Assign/myVariable.$: the variable "myVariable" is assigned in an outer scope (/States/A/Assign/myVariable)"#,
            r#"/States/P/Branches/0/States/T/Catch/0/Assign/late: the variable "late" is assigned in an outer scope (/States/Z/Assign/late)"#,
        ],
    );
    // "$states.result or $states.errorOutput in fields and states where they are not
    // accessible will be caught at creation, update, or validation."
    check(
        "reserved.json",
        r#"{"QueryLanguage": "JSONata", "StartAt": "P", "States": {
            "P": {"Type": "Pass", "Output": "{% $states.result %}", "Next": "C"},
            "C": {"Type": "Choice", "Choices": [{"Condition": "{% $states.errorOutput = 1 %}", "Next": "T"}], "Default": "T"},
            "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Arguments": {"Payload": "{% $states.result %}"},
                  "Output": "{% $states.result.Payload %}",
                  "Assign": {"e": "{% $states.errorOutput %}", "r": "{% $states.resultish %}"},
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Output": "{% $states.errorOutput %}",
                             "Assign": {"x": "{% $states.result %}"}, "Next": "D"}],
                  "End": true},
            "D": {"Type": "Succeed"}}}"#,
        &[
            "/States/P/Output: $states.result is not accessible here",
            "/States/C/Choices/0/Condition: $states.errorOutput is not accessible here",
            "/States/T/Arguments/Payload: $states.result is not accessible here",
            "/States/T/Assign/e: $states.errorOutput is not accessible here",
            "/States/T/Catch/0/Assign/x: $states.result is not accessible here",
        ],
    );
    let f = write(
        dir.path(),
        "reserved-ok.json",
        r#"{"QueryLanguage": "JSONata", "StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Arguments": {"FunctionName": "f", "Payload": "{% $states.input %}"},
                  "Output": "{% $states.result.Payload %}", "Assign": {"r": "{% $states.result %}"},
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Output": "{% $states.errorOutput %}", "Next": "D"}],
                  "End": true},
            "D": {"Type": "Succeed"}}}"#,
    );
    let o = asl(&["validate", f.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // "an integer value from 0 to 99999999".
    check(
        "wait.json",
        r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100000000, "End": true}}}"#,
        &["/States/W/Seconds: Seconds must be an integer from 0 to 99999999"],
    );
    // At most 1 MiB.
    let big = format!(
        r#"{{"Comment": "{}", "StartAt": "A", "States": {{"A": {{"Type": "Pass", "End": true}}}}}}"#,
        "x".repeat(1_048_576)
    );
    check("big.json", &big, &["AWS takes at most 1048576 (1 MiB)"]);
    // Names are counted in characters, not bytes.
    let name = "é".repeat(41);
    let f = write(
        dir.path(),
        "accents.json",
        &format!(
            r#"{{"StartAt": "{name}", "States": {{"{name}": {{"Type": "Pass", "End": true}}}}}}"#
        ),
    );
    let o = asl(&["validate", f.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}
