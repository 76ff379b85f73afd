//! Durability through the `asl` binary: a run killed with SIGKILL leaves a sound database and a
//! RUNNING execution that `asl resume` finishes without redoing completed work; a failed run is
//! redriven from the states that did not succeed.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data")
        .join(name)
}

fn asl(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_asl"))
        .env("ASL_DB", db)
        .args(args)
        .output()
        .expect("asl runs")
}

/// `asl ARGS` on `db` in a process of its own, killed on drop.
fn spawn(db: &Path, args: &[&str], stdout: Stdio) -> Guard {
    Guard(
        Command::new(env!("CARGO_BIN_EXE_asl"))
            .env("ASL_DB", db)
            .args(args)
            .stdout(stdout)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn json_of(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

fn events(db: &Path, exec: &str) -> Vec<Value> {
    let o = asl(db, &["history", exec, "--json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    json_of(&o)["events"].as_array().unwrap().clone()
}

fn count(events: &[Value], ty: &str) -> usize {
    events.iter().filter(|e| e["type"] == ty).count()
}

/// Kills the child on drop, so a failing test leaves no process behind.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn sigkill_mid_run_then_resume_finishes_without_redoing_iterations() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("asl.db");
    let wf = data("fanout-waits.asl.json");
    let wf = wf.to_str().unwrap();

    // The output of an uninterrupted run, for comparison.
    let whole = asl(
        &db,
        &["run", wf, "--name", "whole", "--wait-scale", "0", "--json"],
    );
    assert_eq!(whole.status.code(), Some(0));
    let expected = json_of(&whole)["output"].clone();
    assert_eq!(expected["count"], 300);

    let mut guard = spawn(
        &db,
        &[
            "run",
            wf,
            "--name",
            "victim",
            "--wait-scale",
            "0.01",
            "--json",
        ],
        Stdio::null(),
    );
    // Wait (bounded) until some iterations are stored, then kill without warning.
    let deadline = Instant::now() + Duration::from_secs(20);
    let done_before = loop {
        assert!(
            Instant::now() < deadline,
            "the run stored no iterations in time"
        );
        let o = asl(
            &db,
            &[
                "history",
                "victim",
                "--json",
                "--type",
                "MapIterationSucceeded",
            ],
        );
        let n = if o.status.success() {
            json_of(&o)["events"].as_array().map_or(0, |a| a.len())
        } else {
            0
        };
        if n >= 20 {
            break n;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    guard.0.kill().unwrap(); // SIGKILL
    guard.0.wait().unwrap();
    assert!(
        done_before < 300,
        "the run finished before it could be interrupted"
    );

    // The database is sound and the execution is still RUNNING.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    drop(conn);
    let d = json_of(&asl(&db, &["describe", "victim", "--json"]));
    assert_eq!(d["status"], "RUNNING");
    let before = events(&db, "victim");
    let succeeded_before = count(&before, "MapIterationSucceeded");
    assert!((20..300).contains(&succeeded_before));

    let o = asl(&db, &["resume", "victim", "--json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let resumed = json_of(&o);
    assert_eq!(resumed["status"], "SUCCEEDED");
    assert_eq!(resumed["output"], expected);

    // Every iteration succeeded exactly once across both processes: none completed before the
    // kill ran again.
    let after = events(&db, "victim");
    let mut per_index = vec![0; 300];
    for e in after
        .iter()
        .filter(|e| e["type"] == "MapIterationSucceeded")
    {
        per_index[e["mapIterationSucceededEventDetails"]["index"]
            .as_u64()
            .unwrap() as usize] += 1;
    }
    assert!(per_index.iter().all(|&n| n == 1), "{per_index:?}");
    assert_eq!(count(&after, "ExecutionStarted"), 1);
    assert_eq!(count(&after, "ExecutionSucceeded"), 1);
    // Event ids stay unique and increasing across the interruption.
    for (i, e) in after.iter().enumerate() {
        assert_eq!(e["id"], json!(i + 1));
    }
    assert_eq!(
        json_of(&asl(&db, &["describe", "victim", "--json"]))["status"],
        "SUCCEEDED"
    );
}

#[test]
fn redrive_reruns_only_what_failed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("asl.db");
    let wf = data("fails-until-redriven.asl.json");
    let input = json!({"items": (0..12).collect::<Vec<_>>()}).to_string();
    let o = asl(
        &db,
        &[
            "run",
            wf.to_str().unwrap(),
            "--name",
            "r1",
            "--input",
            &input,
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let first = json_of(&o);
    assert_eq!(first["status"], "FAILED");
    assert_eq!(first["error"], "Item.Broken");
    let iterations_first_run = count(&events(&db, "r1"), "MapIterationStarted");

    // Only failed, timed-out or aborted executions can be redriven; resume is for interrupted ones.
    let o = asl(&db, &["resume", "r1"]);
    assert_eq!(o.status.code(), Some(2));

    let o = asl(&db, &["redrive", "r1", "--json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json_of(&o);
    assert_eq!(v["status"], "SUCCEEDED");
    let expected: Vec<Value> = (0..12).map(|i| json!({"i": i, "double": 2 * i})).collect();
    assert_eq!(v["output"], json!(expected));

    let d = json_of(&asl(&db, &["describe", "r1", "--json"]));
    assert_eq!(d["redriveCount"], 1);
    assert!(d["redriveDate"].is_string());
    // ListExecutions' items carry the redrive too.
    let list = json_of(&asl(&db, &["executions", "--json"]));
    let item = &list["executions"][0];
    assert_eq!(item["redriveCount"], 1);
    assert_eq!(item["redriveDate"], d["redriveDate"]);
    let all = events(&db, "r1");
    assert_eq!(count(&all, "ExecutionRedriven"), 1);
    let redriven = all
        .iter()
        .find(|e| e["type"] == "ExecutionRedriven")
        .unwrap();
    assert_eq!(redriven["executionRedrivenEventDetails"]["redriveCount"], 1);
    // The redrive started only the iterations that had not succeeded (item 7, and any the
    // failure cancelled before they finished).
    let iterations_after = count(&all, "MapIterationStarted");
    let succeeded_first = all
        .iter()
        .take_while(|e| e["type"] != "ExecutionRedriven")
        .filter(|e| e["type"] == "MapIterationSucceeded")
        .count();
    assert_eq!(
        iterations_after - iterations_first_run,
        12 - succeeded_first
    );
    // A succeeded execution cannot be redriven again.
    let o = asl(&db, &["redrive", "r1"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("ExecutionNotRedrivable") && err.contains("Execution is SUCCEEDED"),
        "{err}"
    );
}

#[test]
fn redrive_restores_the_variables_of_replayed_states() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("asl.db");
    let wf = data("variables-survive-redrive.asl.json");
    let o = asl(
        &db,
        &[
            "run",
            wf.to_str().unwrap(),
            "--name",
            "v1",
            "--input",
            r#"{"id": "o-17"}"#,
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json_of(&o)["error"], "Gate.Closed");
    // The StateExited event of the assigning state lists the variables as JSON text, as AWS does.
    let first = events(&db, "v1");
    let exited = first
        .iter()
        .find(|e| e["type"] == "PassStateExited")
        .unwrap();
    assert_eq!(
        exited["stateExitedEventDetails"]["assignedVariables"],
        json!({"greeting": "\"hello\"", "order": "{\"id\":\"o-17\",\"items\":[1,2]}"})
    );
    assert_eq!(
        exited["stateExitedEventDetails"]["assignedVariablesDetails"],
        json!({"truncated": false})
    );

    let o = asl(&db, &["redrive", "v1", "--json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        json_of(&o)["output"],
        json!([
            {"greeting": "hello", "id": "o-17", "item": 1},
            {"greeting": "hello", "id": "o-17", "item": 2}
        ])
    );
    // Start was replayed, not run again: its one PassStateEntered is from the first run.
    let all = events(&db, "v1");
    let starts = all
        .iter()
        .filter(|e| {
            e["type"] == "PassStateEntered" && e["stateEnteredEventDetails"]["name"] == "Start"
        })
        .count();
    assert_eq!(starts, 1);
}

#[test]
fn a_killed_run_whose_process_id_is_reused_can_be_stopped_and_resumed() {
    // After a crash (a reboot most of all) another process may get the dead owner's id: it
    // is not taken for the owner, so the execution can still be resumed or stopped.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("asl.db");
    let wf = dir.path().join("wait.asl.json");
    std::fs::write(
        &wf,
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1000, "End": true}}})
            .to_string(),
    )
    .unwrap();
    let mut guard = spawn(
        &db,
        &["run", wf.to_str().unwrap(), "--name", "orphan"],
        Stdio::null(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let waiting = || {
        let o = asl(
            &db,
            &["history", "orphan", "--json", "--type", "WaitStateEntered"],
        );
        o.status.success()
            && json_of(&o)["events"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
    };
    while !waiting() {
        assert!(Instant::now() < deadline, "the run did not start in time");
        std::thread::sleep(Duration::from_millis(20));
    }
    guard.0.kill().unwrap();
    guard.0.wait().unwrap();
    // A live process that is not asl now has the owner's id.
    let other = Guard(Command::new("sleep").arg("60").spawn().unwrap());
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "UPDATE executions SET owner_pid = ?1 WHERE name = 'orphan'",
        [other.0.id()],
    )
    .unwrap();
    let started = Instant::now();
    let o = asl(&db, &["stop", "orphan"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("ABORTED"));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stop waited for the other process"
    );
    let d = json_of(&asl(&db, &["describe", "orphan", "--json"]));
    assert_eq!(d["status"], "ABORTED");
}

/// In `dir`: a Python function `name` (its source), the resources file naming it, and the
/// workflow `def`, whose path is returned. The function starts lean (-S -E), so that calls come
/// faster than the writer's 100 ms commits.
fn with_python_function(dir: &Path, name: &str, source: &str, def: Value) -> PathBuf {
    let script = dir.join(format!("{name}.py"));
    std::fs::write(&script, source).unwrap();
    std::fs::write(
        dir.join("asl-resources.json"),
        json!({"functions": {name: {"command": ["python3", "-S", "-E", script.to_str().unwrap()]}}})
            .to_string(),
    )
    .unwrap();
    let wf = dir.join(format!("{name}.asl.json"));
    std::fs::write(&wf, def.to_string()).unwrap();
    wf
}

#[test]
fn a_resumed_loop_of_tasks_does_not_redo_the_finished_ones() {
    // A loop of 30 function calls, each logging its input: killed while it runs, resumed,
    // every call that finished before the kill is replayed, not made again; only the call in
    // flight may be made twice.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("asl.db");
    let log = dir.path().join("calls.log");
    let wf = with_python_function(
        dir.path(),
        "count",
        &format!(
            "import json, sys\nv = json.load(sys.stdin)['v']\nopen({:?}, 'a').write(str(v) + '\\n')\nprint(json.dumps({{'v': v + 1}}))\n",
            log.to_str().unwrap()
        ),
        json!({"StartAt": "Init", "States": {
            "Init": {"Type": "Pass", "Result": {"v": 0}, "Next": "Call"},
            "Call": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:count", "Next": "More"},
            "More": {"Type": "Choice", "Choices": [{"Variable": "$.v", "NumericLessThan": 30, "Next": "Call"}], "Default": "Done"},
            "Done": {"Type": "Succeed"}}}),
    );
    let calls = || -> Vec<String> {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    };
    let mut guard = spawn(
        &db,
        &["run", wf.to_str().unwrap(), "--name", "loop"],
        Stdio::null(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while calls().len() < 8 {
        assert!(Instant::now() < deadline, "the loop made no calls in time");
        std::thread::sleep(Duration::from_millis(10));
    }
    guard.0.kill().unwrap();
    guard.0.wait().unwrap();
    let before = calls().len();
    assert!(
        before < 30,
        "the loop finished before it could be interrupted"
    );
    let o = asl(&db, &["resume", "loop", "--json"]);
    assert_eq!(json_of(&o)["output"], json!({"v": 30}));
    let all = calls();
    let mut seen = std::collections::HashMap::new();
    for c in &all {
        *seen.entry(c.clone()).or_insert(0) += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.len() <= 1,
        "calls made again: {twice:?} ({before} before the kill)"
    );
    assert_eq!(seen.len(), 30);
}

#[test]
fn a_redrive_killed_midway_resumes_with_its_redrive_count() {
    // $$.Execution.RedriveCount is 1 in a redrive, also in the part of it a resume runs.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("asl.db");
    let flag = dir.path().join("fail");
    std::fs::write(&flag, "").unwrap();
    let wf = with_python_function(
        dir.path(),
        "gate",
        &format!(
            "import json, os, sys\nif os.path.exists({:?}):\n    print(json.dumps({{'errorType': 'Gate.Closed', 'errorMessage': 'closed'}}))\n    sys.exit(1)\nprint('{{}}')\n",
            flag.to_str().unwrap()
        ),
        json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:gate", "Next": "W"},
            "W": {"Type": "Wait", "Seconds": 60, "Next": "P"},
            "P": {"Type": "Pass", "Parameters": {"rc.$": "$$.Execution.RedriveCount",
                                                 "rt.$": "$$.Execution.RedriveTime"}, "End": true}}}),
    );
    let o = asl(
        &db,
        &[
            "run",
            wf.to_str().unwrap(),
            "--name",
            "gated",
            "--wait-scale",
            "0.05",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    std::fs::remove_file(&flag).unwrap();
    let mut guard = spawn(&db, &["redrive", "gated"], Stdio::null());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !events(&db, "gated")
        .iter()
        .any(|e| e["type"] == "WaitStateEntered")
    {
        assert!(
            Instant::now() < deadline,
            "the redrive did not reach the Wait"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    guard.0.kill().unwrap();
    guard.0.wait().unwrap();
    let out = json_of(&asl(&db, &["resume", "gated", "--json"]));
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    // $$.Execution.RedriveTime, "only available if you've redriven an execution": the
    // redrive's time, also in the part of it a resume runs.
    let d = json_of(&asl(&db, &["describe", "gated", "--json"]));
    assert_eq!(out["output"], json!({"rc": 1, "rt": d["redriveDate"]}));
}

#[test]
fn a_resumed_state_goes_on_counting_its_retries() {
    // A function that always fails, retried once after 2 s: killed during the back-off, the
    // resumed run waits what is left of it, makes the one attempt left (`$$.State.RetryCount`
    // 1) and goes to its catcher, as the uninterrupted run would, rather than starting its
    // retries afresh.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("asl.db");
    let log = dir.path().join("tries.log");
    let wf = with_python_function(
        dir.path(),
        "flaky",
        &format!(
            "import json, sys\nt = json.load(sys.stdin)['try']\nopen({:?}, 'a').write(str(t) + '\\n')\nsys.exit(3)\n",
            log.to_str().unwrap()
        ),
        json!({"StartAt": "Call", "States": {
            "Call": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:flaky",
                     "Parameters": {"try.$": "$$.State.RetryCount"},
                     "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "MaxAttempts": 1}],
                     "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Done"}],
                     "Next": "Done"},
            "Done": {"Type": "Succeed"}}}),
    );
    let tries = || std::fs::read_to_string(&log).unwrap_or_default();
    let start = |args: &[&str]| spawn(&db, args, Stdio::piped());
    let mut guard = start(&["run", wf.to_str().unwrap(), "--name", "retry"]);
    // Until the first failure is stored: the run then waits out its back-off.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(tries() == "0\n" && count(&events(&db, "retry"), "LambdaFunctionFailed") == 1) {
        assert!(Instant::now() < deadline, "no stored failure in time");
        std::thread::sleep(Duration::from_millis(10));
    }
    guard.0.kill().unwrap();
    guard.0.wait().unwrap();
    let mut resumed = start(&["resume", "retry", "--json"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while resumed.0.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "the resumed run waits: it started its retries afresh"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut out = String::new();
    std::io::Read::read_to_string(&mut resumed.0.stdout.take().unwrap(), &mut out).unwrap();
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], "SUCCEEDED", "{v}");
    assert!(v["output"]["err"]["Error"].is_string(), "{v}");
    assert_eq!(tries(), "0\n1\n");
    let all = events(&db, "retry");
    assert_eq!(count(&all, "LambdaFunctionFailed"), 2);
    // The second attempt came no sooner than the back-off after the first failure.
    let at = |ty: &str, nth: usize| {
        let e = all.iter().filter(|e| e["type"] == ty).nth(nth).unwrap();
        chrono::DateTime::parse_from_rfc3339(e["timestamp"].as_str().unwrap()).unwrap()
    };
    let waited = at("LambdaFunctionScheduled", 1) - at("LambdaFunctionFailed", 0);
    assert!(waited.num_milliseconds() >= 1990, "{waited}");
}

#[test]
fn a_resume_after_a_redrive_counts_only_the_redrive_s_retries() {
    // Failed for good (three attempts), redriven (the retries start afresh), killed while the
    // redrive's second attempt runs, resumed: the resume counts the redrive's one failure, not
    // the first run's, and makes the attempts it has left (RetryCount 1 and 2).
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("asl.db");
    let log = dir.path().join("tries.log");
    let block = dir.path().join("block");
    let wf = with_python_function(
        dir.path(),
        "flaky",
        &format!(
            "import json, os, sys, time\nt = json.load(sys.stdin)['try']\nopen({:?}, 'a').write(str(t) + '\\n')\nif t == 1 and os.path.exists({:?}):\n    time.sleep(30)\nsys.exit(3)\n",
            log.to_str().unwrap(),
            block.to_str().unwrap()
        ),
        json!({"StartAt": "Call", "States": {
            "Call": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:flaky",
                     "Parameters": {"try.$": "$$.State.RetryCount"},
                     "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "BackoffRate": 1, "MaxAttempts": 2}],
                     "End": true}}}),
    );
    let tries = || std::fs::read_to_string(&log).unwrap_or_default();
    let o = asl(
        &db,
        &[
            "run",
            wf.to_str().unwrap(),
            "--name",
            "rr",
            "--wait-scale",
            "0.001",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(tries(), "0\n1\n2\n");
    std::fs::write(&block, "").unwrap();
    let mut redrive = spawn(&db, &["redrive", "rr"], Stdio::null());
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(tries() == "0\n1\n2\n0\n1\n" && count(&events(&db, "rr"), "LambdaFunctionFailed") == 4)
    {
        assert!(
            Instant::now() < deadline,
            "the redrive's second attempt did not start"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    redrive.0.kill().unwrap();
    redrive.0.wait().unwrap();
    std::fs::remove_file(&block).unwrap();
    let o = asl(&db, &["resume", "rr", "--json"]);
    assert_eq!(json_of(&o)["status"], "FAILED");
    assert_eq!(tries(), "0\n1\n2\n0\n1\n1\n2\n");
}

#[test]
fn a_resumed_execution_keeps_its_time_limit_from_its_start() {
    // TimeoutSeconds 3 over two 2 s Waits: an uninterrupted run times out during the second.
    // Killed as the second Wait begins and resumed, the execution has what is left of its 3 s,
    // not 3 s afresh (in which the Wait run again would end, and the execution succeed).
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("asl.db");
    let wf = dir.path().join("limit.asl.json");
    std::fs::write(
        &wf,
        json!({"TimeoutSeconds": 3, "StartAt": "W1", "States": {
            "W1": {"Type": "Wait", "Seconds": 2, "Next": "W2"},
            "W2": {"Type": "Wait", "Seconds": 2, "End": true}}})
        .to_string(),
    )
    .unwrap();
    let mut guard = spawn(
        &db,
        &["run", wf.to_str().unwrap(), "--name", "limit"],
        Stdio::null(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let waits_begun = || {
        let o = asl(&db, &["history", "limit", "--json"]);
        match o.status.code() {
            Some(0) => count(
                json_of(&o)["events"].as_array().unwrap(),
                "WaitStateEntered",
            ),
            _ => 0, // not stored yet
        }
    };
    while waits_begun() < 2 {
        assert!(Instant::now() < deadline, "the second Wait never began");
        std::thread::sleep(Duration::from_millis(10));
    }
    guard.0.kill().unwrap();
    guard.0.wait().unwrap();
    let o = asl(&db, &["resume", "limit", "--json"]);
    let v = json_of(&o);
    assert_eq!(v["status"], "TIMED_OUT", "{v}");
    let all = events(&db, "limit");
    let at = |ty: &str| {
        let e = all.iter().find(|e| e["type"] == ty).unwrap();
        chrono::DateTime::parse_from_rfc3339(e["timestamp"].as_str().unwrap()).unwrap()
    };
    let lasted = at("ExecutionTimedOut") - at("ExecutionStarted");
    assert!(
        (2900..3900).contains(&lasted.num_milliseconds()),
        "timed out {lasted} after its start"
    );
}

#[test]
fn a_resumed_wait_waits_what_is_left_of_it() {
    // A 4 s Wait killed 2 s in: the resumed run waits the 2 s left, not 4 s afresh.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("asl.db");
    let wf = dir.path().join("wait.asl.json");
    std::fs::write(
        &wf,
        json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 4, "Next": "P"},
            "P": {"Type": "Pass", "End": true}}})
        .to_string(),
    )
    .unwrap();
    let mut guard = spawn(
        &db,
        &["run", wf.to_str().unwrap(), "--name", "nap"],
        Stdio::null(),
    );
    let time_of =
        |e: &Value| chrono::DateTime::parse_from_rfc3339(e["timestamp"].as_str().unwrap()).unwrap();
    // Until the Wait has gone on for 2 s.
    let deadline = Instant::now() + Duration::from_secs(30);
    let entered = loop {
        let o = asl(&db, &["history", "nap", "--json"]);
        let found = (o.status.code() == Some(0))
            .then(|| json_of(&o)["events"].as_array().unwrap().clone())
            .and_then(|all| all.into_iter().find(|e| e["type"] == "WaitStateEntered"));
        if let Some(e) = found {
            break time_of(&e);
        }
        assert!(Instant::now() < deadline, "the Wait never began");
        std::thread::sleep(Duration::from_millis(10));
    };
    while chrono::Utc::now().fixed_offset() - entered < chrono::TimeDelta::milliseconds(2000) {
        std::thread::sleep(Duration::from_millis(10));
    }
    guard.0.kill().unwrap();
    guard.0.wait().unwrap();
    let o = asl(&db, &["resume", "nap", "--json"]);
    assert_eq!(json_of(&o)["status"], "SUCCEEDED", "{o:?}");
    let all = events(&db, "nap");
    let exited = all.iter().find(|e| e["type"] == "WaitStateExited").unwrap();
    let waited = time_of(exited) - entered;
    assert!(
        (3900..4900).contains(&waited.num_milliseconds()),
        "the Wait ended {waited} after it was first entered"
    );
}
