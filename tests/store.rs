//! The execution store through the `asl` binary: `executions`, `describe`, `history`, `stop`
//! and `prune` on a database of each test's own, what each prints, and a clear error with
//! exit 2 (and nothing stored lost) for every way the database can be unusable.

use serde_json::{json, Value};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Helpers

/// A temporary directory with the test's database in it (removed at the end of the test).
struct Sandbox {
    dir: tempfile::TempDir,
    db: PathBuf,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("asl.db");
        Sandbox { dir, db }
    }

    fn write(&self, name: &str, text: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    }

    fn asl(&self, args: &[&str]) -> Output {
        asl_on(&self.db, args)
    }

    /// `asl executions --json`'s list.
    fn executions(&self) -> Vec<Value> {
        executions_on(&self.db)
    }

    /// `asl history EXEC --json`'s events, checking that the page is the whole history.
    fn history(&self, exec: &str) -> Vec<Value> {
        let v = json_out(&ok(self.asl(&["history", exec, "--json"])));
        assert_eq!(v["nextToken"], Value::Null, "{v}");
        v["events"].as_array().unwrap().clone()
    }

    fn describe(&self, exec: &str) -> Value {
        json_out(&ok(self.asl(&["describe", exec, "--json"])))
    }
}

fn asl_on(db: &Path, args: &[&str]) -> Output {
    asl_env(db, args, &[])
}

fn asl_env(db: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_asl"));
    c.env("ASL_DB", db).args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("asl runs")
}

fn executions_on(db: &Path) -> Vec<Value> {
    let v = json_out(&ok(asl_on(
        db,
        &["executions", "--json", "--limit", "100000"],
    )));
    v["executions"].as_array().unwrap().clone()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Asserts exit 0 and returns the output.
#[track_caller]
fn ok(o: Output) -> Output {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        stdout(&o),
        stderr(&o)
    );
    o
}

/// Asserts a bad-input error: exit 2, `asl: error:` with `needle` on stderr, no panic.
#[track_caller]
fn fails(o: &Output, needle: &str) -> String {
    let err = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(2),
        "stdout: {}\nstderr: {err}",
        stdout(o)
    );
    assert!(err.starts_with("asl: error: "), "{err}");
    assert!(err.contains(needle), "expected {needle:?} in {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.trim_end().lines().count() <= 2, "not short: {err}");
    err
}

#[track_caller]
fn json_out(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON value ({e}): {}\nstderr: {}",
            stdout(o),
            stderr(o)
        )
    })
}

fn names(list: &[Value]) -> Vec<&str> {
    list.iter().map(|e| e["name"].as_str().unwrap()).collect()
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

const ARN: &str = "arn:aws:states:us-east-1:123456789012:execution";
const SM_ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine";

const FAIL: &str = r#"{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Custom.Error", "Cause": "it broke"}}}"#;
const HELLO: &str = r#"{"StartAt": "Hi", "States": {"Hi": {"Type": "Pass", "Parameters": {"greeting.$": "States.Format('hello {}', $$.Execution.Name)"}, "End": true}}}"#;
const LONG_WAIT: &str =
    r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}}"#;
/// A Pass, then a Map of a Pass over `$.items`, one iteration at a time.
const MAP: &str = r#"{"StartAt": "Prep", "States": {
    "Prep": {"Type": "Pass", "Parameters": {"items.$": "$.items"}, "Next": "Each"},
    "Each": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1,
             "ItemProcessor": {"StartAt": "Wrap", "States": {
                 "Wrap": {"Type": "Pass", "Parameters": {"item.$": "$"}, "End": true}}},
             "End": true}}}"#;
/// A Map of a Pass over `$.items`, all iterations at once.
const WIDE_MAP: &str = r#"{"StartAt": "Each", "States": {
    "Each": {"Type": "Map", "ItemsPath": "$.items",
             "ItemProcessor": {"StartAt": "Wrap", "States": {
                 "Wrap": {"Type": "Pass", "Parameters": {"item.$": "$"}, "End": true}}},
             "End": true}}}"#;

/// An `asl` process running in the background; killed and reaped when dropped, so that no
/// test leaves one behind, even when it fails.
struct Running {
    child: Option<Child>,
    out: Option<JoinHandle<Vec<u8>>>,
    err: Option<JoinHandle<Vec<u8>>>,
}

fn spawn_asl(db: &Path, args: &[&str]) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_asl"))
        .env("ASL_DB", db)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("asl starts");
    let reader = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let out = reader(Box::new(child.stdout.take().unwrap()));
    let err = reader(Box::new(child.stderr.take().unwrap()));
    Running {
        child: Some(child),
        out: Some(out),
        err: Some(err),
    }
}

impl Running {
    /// Waits (bounded) for the process to end and returns what it printed.
    #[track_caller]
    fn output(&mut self, timeout: Duration) -> Output {
        let child = self.child.as_mut().expect("not yet reaped");
        let deadline = Instant::now() + timeout;
        let status: ExitStatus = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(
                Instant::now() < deadline,
                "asl (pid {}) did not end within {timeout:?}",
                child.id()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        self.child = None;
        Output {
            status,
            stdout: self.out.take().unwrap().join().unwrap(),
            stderr: self.err.take().unwrap().join().unwrap(),
        }
    }

    /// SIGKILL, as a crash would, and reap it (a zombie still has its /proc entry).
    fn kill(&mut self) {
        let mut child = self.child.take().expect("not yet reaped");
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Polls `check` every 20 ms for at most 10 s; panics with `what` when it never holds.
#[track_caller]
fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "gave up waiting: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts `asl run` of the one-hour Wait as `name` and returns once it is RUNNING in the
/// database with its WaitStateEntered event stored.
fn start_long_wait(sb: &Sandbox, name: &str) -> Running {
    let wf = sb.write("wait.asl.json", LONG_WAIT);
    // Create the database first: racing the child to create it fails today (see
    // `concurrent_first_use_of_a_new_database_never_fails`).
    sb.executions();
    let mut child = spawn_asl(&sb.db, &["run", &wf, "--name", name, "--json"]);
    wait_until(
        &format!("{name} to be RUNNING with its Wait entered"),
        || {
            if let Some(Some(s)) = child.child.as_mut().map(|c| c.try_wait().unwrap()) {
                panic!(
                    "asl run ended early with {s}: {:?}",
                    child.output(Duration::ZERO)
                );
            }
            let running = sb
                .executions()
                .iter()
                .any(|e| e["name"] == name && e["status"] == "RUNNING");
            running && types(&sb.history(name)).contains(&"WaitStateEntered")
        },
    );
    child
}

/// Checks what every history must be: ids 1..n, each chained to an earlier event, AWS's
/// timestamp format, and at most one `*EventDetails` key.
#[track_caller]
fn assert_well_formed(events: &[Value]) {
    assert!(!events.is_empty());
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["id"], json!(i + 1), "{e}");
        let prev = e["previousEventId"].as_u64().expect("previousEventId");
        assert!(prev <= i as u64, "{e}");
        let ts = e["timestamp"].as_str().expect("timestamp");
        assert!(
            chrono::DateTime::parse_from_rfc3339(ts).is_ok() && ts.ends_with('Z') && ts.len() == 24,
            "{ts}"
        );
        let details = e
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| k.ends_with("EventDetails"))
            .count();
        assert!(details <= 1, "{e}");
    }
    assert_eq!(events[0]["type"], "ExecutionStarted");
    assert_eq!(events[0]["previousEventId"], 0);
}

// ---------------------------------------------------------------------------------------------
// executions

#[test]
fn executions_lists_newest_first_with_filters_limit_json_and_table() {
    let sb = Sandbox::new();
    let hello = sb.write("hello.asl.json", HELLO);
    let fail = sb.write("fail.asl.json", FAIL);
    ok(sb.asl(&["run", &hello, "--input", r#"{"who": "a"}"#, "--name", "h1"]));
    assert_eq!(
        sb.asl(&["run", &fail, "--name", "f1"]).status.code(),
        Some(1)
    );
    ok(sb.asl(&["run", &hello, "--input", r#"{"who": "b"}"#, "--name", "h2"]));
    // Not stored at all.
    ok(sb.asl(&["run", &hello, "--name", "ghost", "--no-store"]));

    let all = sb.executions();
    assert_eq!(names(&all), ["h2", "f1", "h1"]);
    for e in &all {
        let keys: Vec<&str> = e.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        for k in [
            "executionArn",
            "stateMachineArn",
            "name",
            "status",
            "startDate",
            "stopDate",
        ] {
            assert!(keys.contains(&k), "{k} missing in {e}");
        }
        let start = chrono::DateTime::parse_from_rfc3339(e["startDate"].as_str().unwrap()).unwrap();
        let stop = chrono::DateTime::parse_from_rfc3339(e["stopDate"].as_str().unwrap()).unwrap();
        assert!(start <= stop, "{e}");
    }
    assert_eq!(all[0]["executionArn"], format!("{ARN}:hello:h2"));
    assert_eq!(all[0]["stateMachineArn"], format!("{SM_ARN}:hello"));
    assert_eq!(all[0]["status"], "SUCCEEDED");
    assert_eq!(all[1]["executionArn"], format!("{ARN}:fail:f1"));
    assert_eq!(all[1]["status"], "FAILED");
    let starts: Vec<&str> = all
        .iter()
        .map(|e| e["startDate"].as_str().unwrap())
        .collect();
    assert!(starts.windows(2).all(|w| w[0] >= w[1]), "{starts:?}");

    let list = |args: &[&str]| -> Vec<String> {
        let mut a = vec!["executions", "--json"];
        a.extend_from_slice(args);
        let v = json_out(&ok(sb.asl(&a)));
        names(v["executions"].as_array().unwrap())
            .into_iter()
            .map(String::from)
            .collect()
    };
    assert_eq!(list(&["--status", "SUCCEEDED"]), ["h2", "h1"]);
    assert_eq!(list(&["--status", "FAILED"]), ["f1"]);
    assert!(list(&["--status", "RUNNING"]).is_empty());
    assert_eq!(list(&["--state-machine", "hello"]), ["h2", "h1"]);
    assert_eq!(
        list(&["--state-machine", &format!("{SM_ARN}:fail")]),
        ["f1"]
    );
    assert!(list(&["--state-machine", "nope"]).is_empty());
    assert_eq!(
        list(&["--state-machine", "hello", "--status", "FAILED"]),
        Vec::<String>::new()
    );
    assert_eq!(list(&["--limit", "2"]), ["h2", "f1"]);
    assert_eq!(list(&["--limit", "1", "--status", "SUCCEEDED"]), ["h2"]);
    // Pages, as ListExecutions gives them: a nextToken while there are more, which the next
    // call takes; none on the last page.
    let page = |args: &[&str]| -> Value {
        let mut a = vec!["executions", "--json"];
        a.extend_from_slice(args);
        json_out(&ok(sb.asl(&a)))
    };
    let first = page(&["--limit", "2"]);
    let token = first["nextToken"].as_str().unwrap().to_string();
    let second = page(&["--limit", "2", "--next-token", &token]);
    assert_eq!(names(second["executions"].as_array().unwrap()), ["h1"]);
    assert_eq!(second.get("nextToken"), None, "{second}");
    assert!(page(&["--limit", "3"]).get("nextToken").is_none());
    fails(
        &sb.asl(&["executions", "--next-token", "nonsense"]),
        "InvalidToken: --next-token \"nonsense\" is not a token asl executions gave",
    );
    // A token is for the listing it came from.
    fails(
        &sb.asl(&["executions", "--status", "FAILED", "--next-token", &token]),
        "was given for another listing",
    );

    // For people: a table with every name, machine and status.
    let table = stdout(&ok(sb.asl(&["executions"])));
    for needle in [
        "name",
        "status",
        "h1",
        "h2",
        "f1",
        "hello",
        "fail",
        "SUCCEEDED",
        "FAILED",
    ] {
        assert!(table.contains(needle), "{needle} not in\n{table}");
    }
    assert!(!table.contains("ghost"), "{table}");
    let h2 = table.find("h2").unwrap();
    assert!(h2 < table.find("f1").unwrap() && h2 < table.find("h1").unwrap());
    assert!(!table.contains("there are more"), "{table}");
    // A cut list says so; a limit must be at least 1.
    let table = stdout(&ok(sb.asl(&["executions", "--limit", "2"])));
    assert!(table.contains("(the newest 2; there are more"), "{table}");
    assert!(!table.contains("h1"), "{table}");
    assert_eq!(
        sb.asl(&["executions", "--limit", "0"]).status.code(),
        Some(2)
    );

    // An unknown status is refused by the flag parser.
    let o = sb.asl(&["executions", "--status", "DONE"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("DONE"), "{}", stderr(&o));

    // An empty database says so.
    let empty = Sandbox::new();
    assert_eq!(
        stdout(&ok(empty.asl(&["executions"]))).trim(),
        "no executions"
    );
    assert!(empty.executions().is_empty());
}

// ---------------------------------------------------------------------------------------------
// describe

#[test]
fn describe_gives_describe_execution_by_arn_name_or_unique_prefix() {
    let sb = Sandbox::new();
    let hello = sb.write("hello.asl.json", HELLO);
    let fail = sb.write("fail.asl.json", FAIL);
    let run = json_out(&ok(sb.asl(&[
        "run",
        &hello,
        "--input",
        r#"{"who": "ada"}"#,
        "--name",
        "greet-ada",
        "--json",
    ])));
    let o = sb.asl(&["run", &fail, "--name", "broken-1", "--json"]);
    assert_eq!(o.status.code(), Some(1));

    let arn = format!("{ARN}:hello:greet-ada");
    let by_arn = sb.describe(&arn);
    assert_eq!(by_arn["executionArn"], arn);
    assert_eq!(by_arn["stateMachineArn"], format!("{SM_ARN}:hello"));
    assert_eq!(by_arn["name"], "greet-ada");
    assert_eq!(by_arn["status"], "SUCCEEDED");
    // Payloads are JSON text, as AWS returns them.
    assert_eq!(by_arn["input"], r#"{"who":"ada"}"#);
    assert_eq!(by_arn["inputDetails"], json!({"included": true}));
    let output: Value = serde_json::from_str(by_arn["output"].as_str().unwrap()).unwrap();
    assert_eq!(output, json!({"greeting": "hello greet-ada"}));
    assert_eq!(output, run["output"]);
    assert_eq!(by_arn["outputDetails"], json!({"included": true}));
    assert_eq!(by_arn["stopDate"], run["stopDate"]);
    assert!(by_arn["startDate"].as_str().unwrap().ends_with('Z'));
    assert!(by_arn.get("error").is_none() && by_arn.get("cause").is_none());
    assert_eq!(by_arn["redriveCount"], 0);
    assert_eq!(by_arn["redriveStatus"], "NOT_REDRIVABLE");
    assert_eq!(
        by_arn["redriveStatusReason"],
        "Execution is SUCCEEDED and cannot be redriven"
    );

    // The same record by name, by a prefix of the name and by a prefix of the ARN.
    assert_eq!(sb.describe("greet-ada"), by_arn);
    assert_eq!(sb.describe("greet"), by_arn);
    assert_eq!(sb.describe(&format!("{ARN}:hello:")), by_arn);

    let failed = sb.describe("broken");
    assert_eq!(failed["executionArn"], format!("{ARN}:fail:broken-1"));
    assert_eq!(failed["status"], "FAILED");
    assert_eq!(failed["error"], "Custom.Error");
    assert_eq!(failed["cause"], "it broke");
    assert_eq!(failed["input"], "{}");
    assert!(failed.get("output").is_none(), "{failed}");
    assert!(failed["stopDate"].is_string());
    assert_eq!(failed["redriveStatus"], "REDRIVABLE");
    assert!(failed.get("redriveStatusReason").is_none(), "{failed}");
    assert_eq!(sb.describe(&format!("{ARN}:fail:broken-1")), failed);

    // For people: one row per field.
    let table = stdout(&ok(sb.asl(&["describe", "broken-1"])));
    for needle in [
        "executionArn",
        "broken-1",
        "FAILED",
        "Custom.Error",
        "it broke",
        "REDRIVABLE",
    ] {
        assert!(table.contains(needle), "{needle} not in\n{table}");
    }

    // Past RedriveExecution's 14 days, a failed execution is no longer redrivable.
    let conn = rusqlite::Connection::open(&sb.db).unwrap();
    let old = chrono::Utc::now().timestamp_millis() - 20 * 24 * 3600 * 1000;
    conn.execute(
        "UPDATE executions SET stop_ms = ?1 WHERE name = 'broken-1'",
        [old],
    )
    .unwrap();
    drop(conn);
    let d = sb.describe("broken-1");
    assert_eq!(d["redriveStatus"], "NOT_REDRIVABLE");
    assert_eq!(
        d["redriveStatusReason"],
        "Execution redrivable period exceeded."
    );
    let err = fails(&sb.asl(&["redrive", "broken-1"]), "ExecutionNotRedrivable");
    assert!(err.contains("redrivable period exceeded"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// history

#[test]
fn history_has_aws_shape_reverse_type_filter_and_paging() {
    let sb = Sandbox::new();
    let wf = sb.write("items.asl.json", MAP);
    ok(sb.asl(&[
        "run",
        &wf,
        "--input",
        r#"{"items": [10, 20, 30]}"#,
        "--name",
        "h",
    ]));
    let events = sb.history("h");
    assert_well_formed(&events);
    let mut expected = vec![
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "MapStateEntered",
        "MapStateStarted",
    ];
    for _ in 0..3 {
        expected.extend([
            "MapIterationStarted",
            "PassStateEntered",
            "PassStateExited",
            "MapIterationSucceeded",
        ]);
    }
    expected.extend(["MapStateSucceeded", "MapStateExited", "ExecutionSucceeded"]);
    assert_eq!(types(&events), expected);

    let started = &events[0]["executionStartedEventDetails"];
    assert_eq!(started["input"], r#"{"items":[10,20,30]}"#);
    assert_eq!(started["inputDetails"], json!({"truncated": false}));
    assert!(started["roleArn"].is_string(), "{started}");

    assert_eq!(
        events[1]["stateEnteredEventDetails"],
        json!({"name": "Prep", "input": r#"{"items":[10,20,30]}"#, "inputDetails": {"truncated": false}})
    );
    // AWS records the first state's Entered event pointing back to 0.
    assert_eq!(events[1]["previousEventId"], 0);
    assert_eq!(
        events[2]["stateExitedEventDetails"],
        json!({"name": "Prep", "output": r#"{"items":[10,20,30]}"#, "outputDetails": {"truncated": false}})
    );
    assert_eq!(events[3]["stateEnteredEventDetails"]["name"], "Each");
    assert_eq!(
        events[4]["mapStateStartedEventDetails"],
        json!({"length": 3})
    );

    // Each iteration (MaxConcurrency 1): started, its Pass, succeeded. As recorded against
    // AWS, the first chains to MapStateStarted, each next one to the last state event of the
    // one before (not to its MapIterationSucceeded).
    let mut chained_to = events[4]["id"].clone();
    for (index, item) in [10, 20, 30].iter().enumerate() {
        let at = 5 + 4 * index;
        let it = &events[at];
        assert_eq!(
            it["mapIterationStartedEventDetails"],
            json!({"name": "Each", "index": index})
        );
        assert_eq!(it["previousEventId"], chained_to);
        chained_to = events[at + 2]["id"].clone();
        let entered = &events[at + 1];
        assert_eq!(entered["previousEventId"], it["id"]);
        assert_eq!(
            entered["stateEnteredEventDetails"],
            json!({"name": "Wrap", "input": item.to_string(), "inputDetails": {"truncated": false}})
        );
        assert_eq!(
            events[at + 2]["stateExitedEventDetails"]["output"],
            json!({"item": item}).to_string()
        );
        assert_eq!(
            events[at + 3]["mapIterationSucceededEventDetails"],
            json!({"name": "Each", "index": index})
        );
    }
    let last = events.last().unwrap();
    assert_eq!(
        last["executionSucceededEventDetails"],
        json!({"output": r#"[{"item":10},{"item":20},{"item":30}]"#, "outputDetails": {"truncated": false}})
    );
    assert_eq!(last["previousEventId"], events[events.len() - 2]["id"]);

    // --reverse: the same events, newest first.
    let page = |args: &[&str]| -> Value {
        let mut a = vec!["history", "h", "--json"];
        a.extend_from_slice(args);
        json_out(&ok(sb.asl(&a)))
    };
    let reversed = page(&["--reverse"]);
    let mut want = events.clone();
    want.reverse();
    assert_eq!(reversed["events"], json!(want));
    assert_eq!(reversed["nextToken"], Value::Null);

    // --type, repeatable, keeps those events in order.
    let only = page(&[
        "--type",
        "MapIterationStarted",
        "--type",
        "ExecutionSucceeded",
    ]);
    let only = only["events"].as_array().unwrap();
    assert_eq!(
        types(only),
        [
            "MapIterationStarted",
            "MapIterationStarted",
            "MapIterationStarted",
            "ExecutionSucceeded"
        ]
    );
    let ids: Vec<u64> = only.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, [6, 10, 14, 20]);
    assert!(page(&["--type", "TaskFailed"])["events"]
        .as_array()
        .unwrap()
        .is_empty());

    // --max-results pages through the whole history with nextToken, forwards and backwards.
    for (extra, whole) in [(vec![], events.clone()), (vec!["--reverse"], want)] {
        let mut got: Vec<Value> = Vec::new();
        let mut token: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut args = extra.clone();
            args.extend(["--max-results", "6"]);
            if let Some(t) = &token {
                args.extend(["--next-token", t.as_str()]);
            }
            let v = page(&args);
            let evs = v["events"].as_array().unwrap();
            assert!(!evs.is_empty() && evs.len() <= 6, "{v}");
            got.extend(evs.iter().cloned());
            pages += 1;
            assert!(pages <= 10, "paging does not end");
            match &v["nextToken"] {
                Value::Null => break,
                Value::String(t) => token = Some(t.clone()),
                other => panic!("nextToken {other}"),
            }
        }
        assert_eq!(pages, 4);
        assert_eq!(got, whole);
    }
    // Paging applies after the type filter.
    let first = page(&["--type", "PassStateEntered", "--max-results", "3"]);
    assert_eq!(first["events"].as_array().unwrap().len(), 3);
    let token = first["nextToken"].as_str().expect("a token").to_string();
    let rest = page(&["--type", "PassStateEntered", "--next-token", &token]);
    assert_eq!(
        types(rest["events"].as_array().unwrap()),
        ["PassStateEntered"]
    );
    assert!(rest.get("nextToken").is_none(), "{rest}");
    // A token is for the order and types it was given with, as AWS's.
    fails(
        &sb.asl(&[
            "history",
            "h",
            "--json",
            "--reverse",
            "--next-token",
            &token,
        ]),
        "was given for another execution, --reverse or --type",
    );
    // And text that was never a token is said to be none.
    fails(
        &sb.asl(&["history", "h", "--next-token", "99999.abc"]),
        "is not a token this history gave",
    );
    // --max-results 0 is no limit.
    assert_eq!(page(&["--max-results", "0"])["events"], json!(events));

    // A token this history never gave is bad input.
    fails(
        &sb.asl(&["history", "h", "--next-token", "abc"]),
        "--next-token",
    );
    fails(
        &sb.asl(&["history", "h", "--next-token", "99"]),
        "--next-token",
    );
    // Nor is a token of another execution's history, an unknown event type, or a page
    // larger than GetExecutionHistory's 1000.
    let hello = sb.write("hello2.asl.json", HELLO);
    ok(sb.asl(&["run", &hello, "--name", "other"]));
    let other = page(&["--max-results", "1"]);
    let token = other["nextToken"].as_str().unwrap().to_string();
    fails(
        &sb.asl(&[
            "history",
            "other",
            "--max-results",
            "1",
            "--next-token",
            &token,
        ]),
        "another execution",
    );
    fails(
        &sb.asl(&["history", "h", "--type", "Bogus"]),
        "\"Bogus\" is not an event type",
    );
    fails(
        &sb.asl(&["history", "h", "--max-results", "1001"]),
        "at most 1000",
    );

    // For people: a table of the events with their types and states.
    let table = stdout(&ok(sb.asl(&["history", "h"])));
    for needle in [
        "ExecutionStarted",
        "MapIterationStarted",
        "PassStateEntered",
        "MapStateExited",
        "ExecutionSucceeded",
        "Prep",
        "Wrap",
        "index 2",
    ] {
        assert!(table.contains(needle), "{needle} not in\n{table}");
    }
    let paged = stdout(&ok(sb.asl(&["history", "h", "--max-results", "2"])));
    assert!(paged.contains("--next-token 2."), "{paged}");
}

#[test]
fn history_of_a_failed_execution_ends_with_its_error() {
    let sb = Sandbox::new();
    let fail = sb.write("fail.asl.json", FAIL);
    assert_eq!(
        sb.asl(&["run", &fail, "--name", "x"]).status.code(),
        Some(1)
    );
    let events = sb.history("x");
    assert_well_formed(&events);
    assert_eq!(
        types(&events),
        ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]
    );
    assert_eq!(
        events[2]["executionFailedEventDetails"],
        json!({"error": "Custom.Error", "cause": "it broke"})
    );
}

// ---------------------------------------------------------------------------------------------
// stop

#[test]
fn stop_aborts_an_execution_whose_process_is_gone() {
    let sb = Sandbox::new();
    let mut crashed = start_long_wait(&sb, "orphan");
    crashed.kill();
    // Nobody finished it: it still says RUNNING.
    assert_eq!(sb.describe("orphan")["status"], "RUNNING");

    let o = ok(sb.asl(&[
        "stop",
        "orph",
        "--error",
        "Ops.Stopped",
        "--cause",
        "the process crashed",
    ]));
    let arn = format!("{ARN}:wait:orphan");
    assert!(
        stdout(&o).contains("ABORTED") && stdout(&o).contains(&arn),
        "{}",
        stdout(&o)
    );

    let d = sb.describe("orphan");
    assert_eq!(d["status"], "ABORTED");
    assert_eq!(d["error"], "Ops.Stopped");
    assert_eq!(d["cause"], "the process crashed");
    assert!(d["stopDate"].is_string());
    assert!(d.get("output").is_none());
    assert_eq!(d["redriveStatus"], "REDRIVABLE");

    let events = sb.history("orphan");
    assert_well_formed(&events);
    assert_eq!(
        types(&events),
        ["ExecutionStarted", "WaitStateEntered", "ExecutionAborted"]
    );
    // As recorded against AWS (test_stop_execution): ExecutionAborted points back to 0.
    assert_eq!(events[2]["previousEventId"], 0);
    assert_eq!(
        events[2]["executionAbortedEventDetails"],
        json!({"error": "Ops.Stopped", "cause": "the process crashed"})
    );
    assert_eq!(events[2]["timestamp"], d["stopDate"]);

    let list = sb.executions();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["status"], "ABORTED");

    // It is over now: stopping it again, or a finished run, is an error.
    fails(
        &sb.asl(&["stop", "orphan"]),
        "is not running (it is ABORTED)",
    );
    let hello = sb.write("hello.asl.json", HELLO);
    ok(sb.asl(&["run", &hello, "--name", "done"]));
    fails(
        &sb.asl(&["stop", "done"]),
        "is not running (it is SUCCEEDED)",
    );
    fails(
        &sb.asl(&["stop", "nothing-here"]),
        "ExecutionDoesNotExist: no execution matches",
    );
    let long = "e".repeat(257);
    fails(
        &sb.asl(&["stop", "nothing-here", "--error", &long]),
        "StopExecution takes at most 256",
    );
    assert_eq!(sb.describe("done")["status"], "SUCCEEDED");
    assert_eq!(sb.history("orphan"), events);
}

#[test]
fn stop_aborts_a_live_run_which_reads_and_lists_fine_meanwhile() {
    let sb = Sandbox::new();
    let mut live = start_long_wait(&sb, "live");

    // While it runs, the store serves readers.
    let list = sb.executions();
    assert_eq!(names(&list), ["live"]);
    assert_eq!(list[0]["status"], "RUNNING");
    assert!(list[0].get("stopDate").is_none(), "{}", list[0]);
    let d = sb.describe("live");
    assert_eq!(d["status"], "RUNNING");
    assert!(d.get("stopDate").is_none(), "{d}");
    assert_eq!(d["redriveStatus"], "NOT_REDRIVABLE");
    let events = sb.history("live");
    assert_well_formed(&events);
    assert_eq!(types(&events), ["ExecutionStarted", "WaitStateEntered"]);
    assert_eq!(events[1]["stateEnteredEventDetails"]["name"], "W");
    let table = stdout(&ok(sb.asl(&["executions"])));
    assert!(
        table.contains("live") && table.contains("running"),
        "{table}"
    );

    let asked = Instant::now();
    let o = ok(sb.asl(&["stop", "live"]));
    assert!(asked.elapsed() < Duration::from_secs(10));
    assert!(stdout(&o).starts_with("ABORTED"), "{}", stdout(&o));

    let out = live.output(Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json_out(&out);
    assert_eq!(v["status"], "ABORTED");
    assert_eq!(v["name"], "live");
    assert_eq!(v["output"], Value::Null);

    let d = sb.describe("live");
    assert_eq!(d["status"], "ABORTED");
    assert_eq!(d["stopDate"], v["stopDate"]);
    assert_eq!(d["redriveStatus"], "REDRIVABLE");
    let events = sb.history("live");
    assert_well_formed(&events);
    assert_eq!(
        types(&events),
        ["ExecutionStarted", "WaitStateEntered", "ExecutionAborted"]
    );
    // As recorded against AWS (test_stop_execution): pointing back to 0, details empty.
    assert_eq!(events[2]["previousEventId"], 0);
    assert_eq!(events[2]["executionAbortedEventDetails"], json!({}));
    fails(&sb.asl(&["stop", "live"]), "is not running (it is ABORTED)");
}

/// Product bug: `asl stop --error E --cause C` of a live run drops E and C (they reach only
/// an orphan's abort), so DescribeExecution and the ExecutionAborted event lack them.
#[test]
fn stop_of_a_live_run_records_error_and_cause() {
    let sb = Sandbox::new();
    let mut live = start_long_wait(&sb, "live");
    ok(sb.asl(&["stop", "live", "--error", "Ops.Stop", "--cause", "by hand"]));
    let out = live.output(Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(1));
    let d = sb.describe("live");
    assert_eq!(d["status"], "ABORTED");
    assert_eq!(d["error"], "Ops.Stop", "{d}");
    assert_eq!(d["cause"], "by hand", "{d}");
    let events = sb.history("live");
    assert_eq!(
        events.last().unwrap()["executionAbortedEventDetails"],
        json!({"error": "Ops.Stop", "cause": "by hand"})
    );
}

// ---------------------------------------------------------------------------------------------
// prune

#[test]
fn prune_deletes_finished_executions_and_their_events_only() {
    let sb = Sandbox::new();
    let hello = sb.write("hello.asl.json", HELLO);
    let fail = sb.write("fail.asl.json", FAIL);
    ok(sb.asl(&["run", &hello, "--name", "ok-1"]));
    assert_eq!(
        sb.asl(&["run", &fail, "--name", "bad-1"]).status.code(),
        Some(1)
    );
    // A RUNNING execution (its process crashed) is not finished: prune keeps it.
    start_long_wait(&sb, "stuck").kill();
    let before = sb.executions();
    assert_eq!(names(&before), ["stuck", "bad-1", "ok-1"]);

    let o = ok(sb.asl(&["prune", "--older-than", "7d"]));
    assert!(
        stdout(&o).contains("pruned 0 execution(s)"),
        "{}",
        stdout(&o)
    );
    assert_eq!(sb.executions(), before);
    assert_eq!(sb.history("ok-1").len(), 4);

    for bad in ["7", "7w", "d", "-1d", ""] {
        fails(
            &sb.asl(&["prune", &format!("--older-than={bad}")]),
            "--older-than",
        );
    }
    assert_eq!(sb.executions(), before);

    let o = ok(sb.asl(&["prune", "--older-than", "0s"]));
    assert!(
        stdout(&o).contains("pruned 2 execution(s)"),
        "{}",
        stdout(&o)
    );
    let after = sb.executions();
    assert_eq!(names(&after), ["stuck"]);
    assert_eq!(after[0], before[0]);
    for gone in ["ok-1", "bad-1"] {
        fails(&sb.asl(&["history", gone]), "no execution matches");
        fails(&sb.asl(&["describe", gone]), "no execution matches");
    }
    assert_eq!(sb.history("stuck").len(), 2);

    // Their events are gone from the file too, not only hidden.
    let conn = rusqlite::Connection::open(&sb.db).unwrap();
    let left: Vec<String> = conn
        .prepare("SELECT DISTINCT execution_arn FROM event_chunks")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(left, [format!("{ARN}:wait:stuck")]);
}

// ---------------------------------------------------------------------------------------------
// errors

#[test]
fn unknown_and_ambiguous_executions_are_clear_errors() {
    let sb = Sandbox::new();
    let hello = sb.write("hello.asl.json", HELLO);
    for name in ["job-1", "job-2", "job", "50_done"] {
        ok(sb.asl(&["run", &hello, "--name", name]));
    }
    let before = sb.executions();
    assert_eq!(before.len(), 4);

    for cmd in ["describe", "history", "stop", "resume", "redrive"] {
        let err = fails(&sb.asl(&[cmd, "zzz"]), "no execution matches");
        assert!(err.contains("\"zzz\""), "{err}");
        let err = fails(&sb.asl(&[cmd, "job-"]), "matches 2 executions");
        assert!(
            err.contains(&format!("{ARN}:hello:job-1"))
                && err.contains(&format!("{ARN}:hello:job-2")),
            "{err}"
        );
        assert!(!err.contains(&format!("{ARN}:hello:job,")), "{err}");
    }
    // A prefix of every ARN is ambiguous too.
    fails(&sb.asl(&["describe", ARN]), "matches 4 executions");
    // An exact name wins over the names it is a prefix of.
    assert_eq!(sb.describe("job")["name"], "job");
    assert_eq!(sb.describe("job-2")["name"], "job-2");
    // LIKE's wildcards in a key are literal characters.
    // (AWS's names cannot hold `%`; `_` they can.)
    assert_eq!(sb.describe("50_")["name"], "50_done");
    fails(&sb.asl(&["describe", "5_"]), "no execution matches");
    fails(&sb.asl(&["describe", "5_%"]), "no execution matches");
    fails(&sb.asl(&["describe", "%"]), "no execution matches");

    // A second run with a name already used is refused, and the first one is kept.
    let first = sb.describe("job-1");
    fails(
        &sb.asl(&[
            "run",
            &hello,
            "--name",
            "job-1",
            "--input",
            r#"{"who": "x"}"#,
        ]),
        "already exists",
    );
    assert_eq!(sb.describe("job-1"), first);
    assert_eq!(sb.executions(), before);
}

/// Product bug: names are case-sensitive (an exact name must match exactly), but a prefix
/// matches regardless of case, because SQLite's LIKE ignores ASCII case.
#[test]
fn prefix_lookup_is_case_sensitive() {
    let sb = Sandbox::new();
    let hello = sb.write("hello.asl.json", HELLO);
    ok(sb.asl(&["run", &hello, "--name", "Batch-1"]));
    ok(sb.asl(&["run", &hello, "--name", "batch-2"]));
    assert_eq!(sb.describe("Batch")["name"], "Batch-1");
    fails(&sb.asl(&["describe", "BATCH-2"]), "no execution matches");
}

/// Stores two executions and returns their list, for the tests of unusable databases.
fn stored_pair(sb: &Sandbox) -> Vec<Value> {
    let hello = sb.write("hello.asl.json", HELLO);
    ok(sb.asl(&["run", &hello, "--name", "one"]));
    ok(sb.asl(&["run", &hello, "--name", "two"]));
    let list = sb.executions();
    assert_eq!(names(&list), ["two", "one"]);
    list
}

#[test]
fn a_locked_database_is_a_clear_error_and_loses_nothing() {
    let sb = Sandbox::new();
    let before = stored_pair(&sb);
    let hello = sb.write("hello2.asl.json", HELLO);
    let fast = [("ASL_BUSY_TIMEOUT_MS", "200")];

    // Another process holds the write lock. The file is in WAL mode, so readers go on; a
    // writer waits ASL_BUSY_TIMEOUT_MS, then says the database is locked.
    let holder = rusqlite::Connection::open(&sb.db).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let t = Instant::now();
    let o = asl_env(&sb.db, &["run", &hello, "--name", "three"], &fast);
    let waited = t.elapsed();
    let err = fails(&o, "locked");
    assert!(err.contains("0.2 s"), "{err}");
    assert!(
        waited >= Duration::from_millis(200) && waited < Duration::from_secs(4),
        "{waited:?}"
    );
    fails(
        &asl_env(&sb.db, &["prune", "--older-than", "0s"], &fast),
        "locked",
    );
    fails(
        &asl_env(&sb.db, &["task", "success", "tok"], &fast),
        "locked",
    );
    let o = ok(asl_env(&sb.db, &["executions", "--json"], &fast));
    assert_eq!(json_out(&o)["executions"], json!(before));
    holder.execute_batch("ROLLBACK").unwrap();
    drop(holder);
    assert_eq!(sb.executions(), before);
    assert_eq!(sb.history("one").len(), 4);

    // In rollback-journal mode, a held exclusive lock blocks readers as well.
    let holder = rusqlite::Connection::open(&sb.db).unwrap();
    let mode: String = holder
        .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete");
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let t = Instant::now();
    let o = asl_env(&sb.db, &["executions"], &fast);
    let err = fails(&o, "locked");
    assert!(err.contains(sb.db.to_str().unwrap()), "{err}");
    assert!(t.elapsed() < Duration::from_secs(4));
    fails(&asl_env(&sb.db, &["describe", "one"], &fast), "locked");
    fails(
        &asl_env(&sb.db, &["run", &hello, "--name", "three"], &fast),
        "locked",
    );
    holder.execute_batch("ROLLBACK").unwrap();
    drop(holder);
    assert_eq!(sb.executions(), before);
    assert_eq!(sb.history("two").len(), 4);
}

#[test]
fn a_corrupt_database_file_is_named_and_left_alone() {
    let sb = Sandbox::new();
    let garbage: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&sb.db, &garbage).unwrap();
    let hello = sb.write("hello.asl.json", HELLO);
    let path = sb.db.to_str().unwrap();
    for args in [
        vec!["executions"],
        vec!["describe", "x"],
        vec!["history", "x"],
        vec!["stop", "x"],
        vec!["resume", "x"],
        vec!["redrive", "x"],
        vec!["task", "success", "tok"],
        vec!["prune", "--older-than", "1d"],
        vec!["run", hello.as_str()],
    ] {
        let err = fails(&sb.asl(&args), path);
        assert!(err.contains("not a database"), "{args:?}: {err}");
    }
    assert_eq!(
        std::fs::read(&sb.db).unwrap(),
        garbage,
        "the file was changed"
    );
    // A run that stores nothing does not need the database.
    ok(sb.asl(&["run", &hello, "--no-store"]));
}

#[test]
fn events_are_stored_compressed_and_a_damaged_chunk_is_named() {
    let sb = Sandbox::new();
    let hello = sb.write("hello.asl.json", HELLO);
    ok(sb.asl(&[
        "run",
        &hello,
        "--input",
        r#"{"who": "a"}"#,
        "--name",
        "packed",
    ]));
    let before = sb.history("packed");
    let conn = rusqlite::Connection::open(&sb.db).unwrap();
    let (kind, stored, header): (String, i64, Vec<u8>) = conn
        .query_row(
            "SELECT typeof(body), length(body), substr(body, 1, 4) FROM event_chunks",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(kind, "blob");
    // The header gives the JSON lines' length, which the compressed body is shorter than.
    let lines = u32::from_le_bytes(header.try_into().unwrap()) as i64;
    assert!(stored < lines, "{stored} bytes stored for {lines}");
    assert!(before.len() >= 4, "{before:?}");
    // A body that claims more than lz4 can expand to is damage, refused without allocating it;
    // so is one that decompresses to another length than its header gives.
    // The last: a well-formed block of 5 literal bytes ("hello") whose header claims 100, as a
    // body cut short where a sequence ends would decompress.
    for damage in [
        "x'FFFFFFFF0000'",
        "x'0100'",
        "x'10000000FFFFFFFFFFFF'",
        "x'640000005068656C6C6F'",
    ] {
        conn.execute_batch(&format!("UPDATE event_chunks SET body = {damage}"))
            .unwrap();
        for args in [["history", "packed"], ["describe", "packed"]] {
            let o = sb.asl(&args);
            if args[0] == "describe" {
                // Describing reads the record, not the events: still fine.
                ok(o);
                continue;
            }
            let err = fails(&o, "damaged");
            assert!(!err.contains("panicked"), "{err}");
        }
    }
}

#[test]
fn a_definition_is_stored_once_for_all_its_executions() {
    let sb = Sandbox::new();
    let hello = sb.write("hello.asl.json", HELLO);
    for name in ["one", "two", "three"] {
        ok(sb.asl(&["run", &hello, "--input", r#"{"who": "a"}"#, "--name", name]));
    }
    let other = sb.write("other.asl.json", &HELLO.replace("hello", "howdy"));
    ok(sb.asl(&["run", &other, "--name", "four"]));
    let conn = rusqlite::Connection::open(&sb.db).unwrap();
    let count = |q: &str| -> i64 { conn.query_row(q, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM definitions"), 2);
    assert_eq!(
        count(
            "SELECT count(*) FROM executions WHERE definition = '' AND definition_hash IS NOT NULL"
        ),
        4
    );
    let store = asl::history::store::Store::open(&sb.db).unwrap();
    let defs: Vec<String> = store
        .list_executions(&Default::default())
        .unwrap()
        .into_iter()
        .map(|e| e.definition)
        .collect();
    assert_eq!(
        defs.iter().filter(|d| d.as_str() == HELLO).count(),
        3,
        "{defs:?}"
    );
    assert_eq!(defs.iter().filter(|d| d.contains("howdy")).count(), 1);
    // Pruning every execution of a definition prunes the definition too.
    ok(sb.asl(&["prune", "--older-than", "0s"]));
    assert_eq!(count("SELECT count(*) FROM definitions"), 0);
    ok(sb.asl(&["run", &hello, "--name", "five"]));
    assert_eq!(
        store.find_execution("five").unwrap().definition,
        HELLO,
        "read back after the prune"
    );
}

#[test]
fn resuming_without_its_stored_definition_is_a_clear_error() {
    let sb = Sandbox::new();
    let mut crashed = start_long_wait(&sb, "orphan");
    crashed.kill();
    let conn = rusqlite::Connection::open(&sb.db).unwrap();
    conn.execute_batch("DELETE FROM definitions").unwrap();
    drop(conn);
    fails(&sb.asl(&["resume", "orphan"]), "definition");
    let err = stderr(&sb.asl(&["resume", "orphan"]));
    assert!(err.contains("missing") && err.contains("damaged"), "{err}");
    // Nothing was taken over or changed.
    assert_eq!(sb.describe("orphan")["status"], "RUNNING");
    assert_eq!(
        types(&sb.history("orphan")),
        ["ExecutionStarted", "WaitStateEntered"]
    );
}

#[test]
fn an_unwritable_location_is_named() {
    let sb = Sandbox::new();
    let before = stored_pair(&sb);
    let hello = sb.write("hello2.asl.json", HELLO);
    let file = sb.write("not-a-dir", "just a file");
    for bad in [format!("{file}/asl.db"), format!("{file}/deeper/asl.db")] {
        for args in [
            vec!["--db", bad.as_str(), "executions"],
            vec!["--db", bad.as_str(), "run", hello.as_str()],
            vec!["executions", "--db", bad.as_str(), "--json"],
        ] {
            let err = fails(&sb.asl(&args), &bad);
            assert!(err.contains("cannot open the database"), "{err}");
        }
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "just a file");
    // --db wins over ASL_DB, and the database ASL_DB names is untouched.
    assert_eq!(sb.executions(), before);
}

#[test]
fn a_database_from_a_newer_asl_is_refused_untouched() {
    let sb = Sandbox::new();
    let before = stored_pair(&sb);
    let hello = sb.write("hello2.asl.json", HELLO);
    let conn = rusqlite::Connection::open(&sb.db).unwrap();
    let known: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    conn.execute_batch("PRAGMA user_version = 99").unwrap();
    drop(conn);
    for args in [
        vec!["executions"],
        vec!["describe", "one"],
        vec!["history", "one"],
        vec!["stop", "one"],
        vec!["resume", "one"],
        vec!["redrive", "one"],
        vec!["task", "heartbeat", "tok"],
        vec!["prune", "--older-than", "0s"],
        vec!["run", hello.as_str(), "--name", "three"],
    ] {
        let err = fails(&sb.asl(&args), "written by a newer asl");
        assert!(err.contains(sb.db.to_str().unwrap()), "{err}");
        assert!(err.contains("99"), "{err}");
    }
    // Nothing was changed: back at the version this asl knows, everything is there.
    let conn = rusqlite::Connection::open(&sb.db).unwrap();
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 99);
    conn.execute_batch(&format!("PRAGMA user_version = {known}"))
        .unwrap();
    drop(conn);
    assert_eq!(sb.executions(), before);
    assert_eq!(sb.history("one").len(), 4);
}

#[test]
fn a_database_from_the_previous_version_is_upgraded_and_reads_as_before() {
    let sb = Sandbox::new();
    let hello = sb.write("hello.asl.json", HELLO);
    ok(sb.asl(&["run", &hello, "--input", r#"{"who": "a"}"#, "--name", "old"]));
    let conn = rusqlite::Connection::open(&sb.db).unwrap();
    // As version 3 left it: without what versions 5, 7, 8, 9, 10 and 11 added (the definition in
    // the row, no activities).
    conn.execute_batch(
        "ALTER TABLE task_tokens DROP COLUMN taken;
         DROP INDEX task_tokens_by_instance;
         ALTER TABLE task_tokens DROP COLUMN instance;
         ALTER TABLE state_machines DROP COLUMN type;
         ALTER TABLE state_machines DROP COLUMN role_arn;
         ALTER TABLE state_machines DROP COLUMN logging;
         ALTER TABLE state_machines DROP COLUMN deleting;
         DROP TABLE tags;
         DROP INDEX task_tokens_by_activity;
         DROP TABLE activities;
         ALTER TABLE task_tokens DROP COLUMN activity_arn;
         ALTER TABLE task_tokens DROP COLUMN input;
         ALTER TABLE task_tokens DROP COLUMN worker_name;
         ALTER TABLE task_tokens DROP COLUMN started_ms;
         UPDATE executions SET definition =
            (SELECT text FROM definitions WHERE hash = executions.definition_hash);
         ALTER TABLE executions DROP COLUMN definition_hash;
         DROP TABLE definitions;
         ALTER TABLE executions DROP COLUMN owner_start;
         PRAGMA user_version = 3",
    )
    .unwrap();
    // A task's events as version 3 stored them: `parameters` and `output` as JSON text.
    let arn: String = conn
        .query_row("SELECT arn FROM executions WHERE name = 'old'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let lines = [
        r#"[100,4,1700000000000000,"TaskScheduled","taskScheduledEventDetails",{"resourceType":"http","resource":"invoke","region":"us-east-1","parameters":"{\"Method\":\"GET\"}"}]"#,
        r#"[101,100,1700000000000001,"TaskSucceeded","taskSucceededEventDetails",{"resourceType":"http","resource":"invoke","output":"[1]","outputDetails":{"truncated":false}}]"#,
    ];
    conn.execute(
        "INSERT INTO event_chunks (execution_arn, first_id, last_id, body) VALUES (?1, 100, 101, ?2)",
        rusqlite::params![arn, lines.join("\n")],
    )
    .unwrap();
    drop(conn);
    let events = sb.history("old");
    let task: Vec<&Value> = events
        .iter()
        .filter(|e| e["id"].as_u64() >= Some(100))
        .collect();
    assert_eq!(
        task[0]["taskScheduledEventDetails"]["parameters"],
        r#"{"Method":"GET"}"#
    );
    assert_eq!(task[1]["taskSucceededEventDetails"]["output"], "[1]");
    // The row keeps its own copy of the definition, which reads as before.
    let store = asl::history::store::Store::open(&sb.db).unwrap();
    assert_eq!(store.get_execution(&arn).unwrap().definition, HELLO);
    drop(store);
    let conn = rusqlite::Connection::open(&sb.db).unwrap();
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        v,
        asl::history::store::SCHEMA_VERSION,
        "opened and upgraded"
    );
}

// ---------------------------------------------------------------------------------------------
// concurrency

#[test]
fn two_runs_at_once_on_one_database_both_keep_full_histories() {
    const N: usize = 400;
    let sb = Sandbox::new();
    // The database exists before both start, and each runs a state machine of its own: first
    // uses racing each other fail today (see the two ignored tests below).
    assert!(sb.executions().is_empty());
    let left = sb.write("wide-a.asl.json", WIDE_MAP);
    let right = sb.write("wide-b.asl.json", WIDE_MAP);
    let items: Vec<usize> = (0..N).collect();
    let input = json!({ "items": items }).to_string();
    let mut a = spawn_asl(
        &sb.db,
        &["run", &left, "--input", &input, "--name", "left", "--json"],
    );
    let mut b = spawn_asl(
        &sb.db,
        &[
            "run", &right, "--input", &input, "--name", "right", "--json",
        ],
    );
    let expected_output: Vec<Value> = items.iter().map(|i| json!({ "item": i })).collect();
    for (child, name) in [(&mut a, "left"), (&mut b, "right")] {
        let o = child.output(Duration::from_secs(60));
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        let v = json_out(&o);
        assert_eq!(v["status"], "SUCCEEDED");
        assert_eq!(v["output"], json!(expected_output));
    }

    let list = sb.executions();
    let mut listed: Vec<&str> = names(&list);
    listed.sort();
    assert_eq!(listed, ["left", "right"]);
    assert!(list.iter().all(|e| e["status"] == "SUCCEEDED"));
    for (name, machine) in [("left", "wide-a"), ("right", "wide-b")] {
        let only = json_out(&ok(sb.asl(&[
            "executions",
            "--json",
            "--state-machine",
            machine,
        ])));
        assert_eq!(names(only["executions"].as_array().unwrap()), [name]);
        let events = sb.history(name);
        assert_well_formed(&events);
        // Started, Map entered and started, four events per item, Map done and exited, done.
        assert_eq!(events.len(), 3 + 4 * N + 3, "{name}");
        let count = |t: &str| events.iter().filter(|e| e["type"] == t).count();
        assert_eq!(count("MapIterationStarted"), N);
        assert_eq!(count("MapIterationSucceeded"), N);
        assert_eq!(count("PassStateExited"), N);
        let mut indices: Vec<u64> = events
            .iter()
            .filter_map(|e| e["mapIterationSucceededEventDetails"]["index"].as_u64())
            .collect();
        indices.sort();
        assert_eq!(indices, (0..N as u64).collect::<Vec<_>>());
        assert_eq!(events.last().unwrap()["type"], "ExecutionSucceeded");
        assert_eq!(
            events[0]["executionStartedEventDetails"]["input"],
            json!(input)
        );
    }
}

/// Starts `asl` with each of `args` at once on `db` and returns their outputs.
fn all_at_once(db: &Path, args: &[Vec<String>]) -> Vec<Output> {
    let mut children: Vec<Running> = args
        .iter()
        .map(|a| {
            let a: Vec<&str> = a.iter().map(|s| s.as_str()).collect();
            spawn_asl(db, &a)
        })
        .collect();
    children
        .iter_mut()
        .map(|c| c.output(Duration::from_secs(30)))
        .collect()
}

/// Product bug: processes that open a new database at the same time race on
/// `PRAGMA journal_mode = WAL`, which fails at once with SQLITE_BUSY (SQLite does not call the
/// busy handler there); the loser exits 2 saying it "waited 5 s", having waited for nothing.
#[test]
fn concurrent_first_use_of_a_new_database_never_fails() {
    for round in 0..40 {
        let sb = Sandbox::new();
        let args = vec![vec!["executions".to_string(), "--json".to_string()]; 4];
        for o in all_at_once(&sb.db, &args) {
            assert_eq!(o.status.code(), Some(0), "round {round}: {}", stderr(&o));
        }
    }
}

/// Product bug: `put_state_machine` reads, then inserts, outside one write transaction, so two
/// first runs of the same state machine at once both insert and one fails on the primary key.
#[test]
fn concurrent_first_runs_of_one_state_machine_both_succeed() {
    let sb = Sandbox::new();
    assert!(sb.executions().is_empty());
    let wf = sb.write("p.asl.json", HELLO);
    for round in 0..20 {
        let machine = format!("m{round}");
        let args: Vec<Vec<String>> = (0..4)
            .map(|i| {
                [
                    "run",
                    &wf,
                    "--state-machine-name",
                    &machine,
                    "--name",
                    &format!("r{i}"),
                ]
                .map(String::from)
                .to_vec()
            })
            .collect();
        for o in all_at_once(&sb.db, &args) {
            assert_eq!(o.status.code(), Some(0), "round {round}: {}", stderr(&o));
        }
    }
    assert_eq!(sb.executions().len(), 80);
}

/// Each process ends without checkpointing the write-ahead log (so that its last flush does
/// not wait for one); the next process's writer checkpoints what earlier ones left once it
/// passes 2 MiB, so the log that every process opening the file replays stays short, however
/// many small runs there are.
#[test]
fn the_log_stays_short_across_many_small_runs() {
    let sb = Sandbox::new();
    let hello = sb.write("hello.asl.json", HELLO);
    let wal = std::path::PathBuf::from(format!("{}-wal", sb.db.display()));
    let mut largest = 0;
    for i in 0..150 {
        ok(sb.asl(&["run", &hello, "--name", &format!("r{i}")]));
        largest = largest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
    }
    // 150 runs write about 7 MB of log pages; it never holds much more than 2 MiB.
    assert!(
        largest > 1 << 20,
        "the runs wrote less than expected: {largest}"
    );
    assert!(largest < 3 << 20, "the log grew to {largest} bytes");
    assert_eq!(sb.executions().len(), 150);
}

/// Several processes resuming one interrupted execution at once: one takes it over, the
/// others are refused, and what the execution does happens once.
#[test]
fn concurrent_resumes_take_an_execution_over_once() {
    let sb = Sandbox::new();
    let log = sb.dir.path().join("ran.log");
    let script = sb.write(
        "append.py",
        &format!(
            "import sys\nopen({:?}, 'a').write('x\\n')\nprint('{{}}')\n",
            log.display().to_string()
        ),
    );
    let resources = sb.write(
        "resources.json",
        &json!({"functions": {"append": {"command": ["python3", script]}}}).to_string(),
    );
    let wf = sb.write(
        "twice.asl.json",
        r#"{"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 2, "Next": "T"},
            "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Parameters": {"FunctionName": "append", "Payload": {}}, "End": true}}}"#,
    );
    sb.executions();
    let mut run = spawn_asl(
        &sb.db,
        &[
            "run",
            &wf,
            "--name",
            "once",
            "--resources",
            &resources,
            "--wait-scale",
            "0.25",
        ],
    );
    wait_until("the Wait to be entered", || {
        let o = sb.asl(&["history", "once", "--json"]);
        o.status.success() && String::from_utf8_lossy(&o.stdout).contains("WaitStateEntered")
    });
    run.kill();
    let mut resumes: Vec<Running> = (0..6)
        .map(|_| spawn_asl(&sb.db, &["resume", "once", "--json"]))
        .collect();
    let outputs: Vec<Output> = resumes
        .iter_mut()
        .map(|r| r.output(Duration::from_secs(30)))
        .collect();
    let won = outputs
        .iter()
        .filter(|o| o.status.code() == Some(0))
        .count();
    assert_eq!(won, 1, "{outputs:?}");
    for o in outputs.iter().filter(|o| o.status.code() != Some(0)) {
        assert_eq!(o.status.code(), Some(2), "{o:?}");
        let err = stderr(o);
        assert!(
            err.contains("by another process") || err.contains("still running in process"),
            "{err}"
        );
    }
    assert_eq!(sb.describe("once")["status"], "SUCCEEDED");
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "x\n");
}
