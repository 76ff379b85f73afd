//! Nested executions (`states:startExecution`, `.sync`, `.sync:2`) and callbacks
//! (`.waitForTaskToken` completed by `asl task` from another process), and activities (taken by
//! `asl activity get-task` as a worker would), through the binary.

use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

struct Env {
    dir: tempfile::TempDir,
}

struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Env {
    fn new() -> Env {
        let env = Env {
            dir: tempfile::tempdir().unwrap(),
        };
        env.file(
            "child.asl.json",
            &json!({"StartAt": "Check", "States": {
                "Check": {"Type": "Choice", "Choices": [{"Variable": "$.fail", "IsPresent": true, "Next": "Boom"}], "Default": "Work"},
                "Boom": {"Type": "Fail", "Error": "Child.Failed", "Cause": "asked to fail"},
                "Work": {"Type": "Pass", "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)", "parent.$": "$.AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"}, "End": true}}})
            .to_string(),
        );
        env.file(
            "sleeper.asl.json",
            &json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}}).to_string(),
        );
        env.file(
            "asl-resources.json",
            &json!({"stateMachines": {
                "Child": {"definition": "child.asl.json"},
                "Sleeper": {"definition": "sleeper.asl.json"}
            }})
            .to_string(),
        );
        env
    }

    /// A resources file whose one function, `name`, is the Python program `source`.
    fn python_function(&self, name: &str, source: &str) {
        let script = self.file(&format!("{name}.py"), source);
        self.file(
            "asl-resources.json",
            &json!({"functions": {name: {"command": ["python3", script.to_str().unwrap()]}}})
                .to_string(),
        );
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_asl"));
        c.env("ASL_DB", self.dir.path().join("asl.db")).args(args);
        c
    }

    /// `asl ARGS` in a process of its own (its stdout kept for [`finish`]), killed on drop.
    fn spawn(&self, args: &[&str]) -> Guard {
        Guard(
            self.cmd(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    }

    fn asl(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn run(&self, def: Value, input: Value, name: &str) -> Value {
        let wf = self.file(&format!("{name}.asl.json"), &def.to_string());
        let o = self.asl(&[
            "run",
            wf.to_str().unwrap(),
            "--name",
            name,
            "--input",
            &input.to_string(),
            "--json",
            "--wait-scale",
            "0",
        ]);
        json_of(&o)
    }

    fn describe(&self, exec: &str) -> Value {
        json_of(&self.asl(&["describe", exec, "--json"]))
    }

    /// Polls (bounded) until `f` gives a value.
    fn wait_for<T>(&self, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(v) = f() {
                return v;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
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

/// The types of a history's events, in order.
fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

fn with_parent(mut input: Value) -> Value {
    input["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$"] = json!("$$.Execution.Id");
    input
}

fn start(mode: &str, input: Value) -> Value {
    json!({"StartAt": "Start", "States": {"Start": {"Type": "Task",
        "Resource": format!("arn:aws:states:::states:startExecution{mode}"),
        "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:Child",
                       "Input": with_parent(input)},
        "End": true}}})
}

#[test]
fn a_parent_runs_sync2_children_in_a_map() {
    let env = Env::new();
    let def = json!({"StartAt": "Each", "States": {"Each": {"Type": "Map", "ItemsPath": "$.ns", "MaxConcurrency": 2,
        "ItemProcessor": {"StartAt": "Child", "States": {"Child": {"Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution.sync:2",
            "Parameters": {"StateMachineArn": "Child", "Input": {"n.$": "$", "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"}},
            "OutputPath": "$.Output", "End": true}}},
        "End": true}}});
    let out = env.run(def, json!({"ns": [1, 2, 3]}), "parent");
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    let parent_arn = out["executionArn"].as_str().unwrap();
    let outputs = out["output"].as_array().unwrap();
    assert_eq!(outputs.len(), 3);
    for (i, o) in outputs.iter().enumerate() {
        assert_eq!(o["doubled"], json!(2 * (i + 1)));
        assert_eq!(o["parent"], parent_arn);
    }
    // Each child is an execution of its own, with its parent recorded.
    let list = json_of(&env.asl(&["executions", "--state-machine", "Child", "--json"]));
    let children = list["executions"].as_array().unwrap();
    assert_eq!(children.len(), 3);
    for c in children {
        assert_eq!(c["status"], "SUCCEEDED");
        let d = env.describe(c["executionArn"].as_str().unwrap());
        assert_eq!(d["parentExecutionArn"], parent_arn);
        let h = json_of(&env.asl(&["history", c["executionArn"].as_str().unwrap(), "--json"]));
        assert_eq!(
            h["events"].as_array().unwrap().last().unwrap()["type"],
            "ExecutionSucceeded"
        );
    }
}

#[test]
fn sync_gives_text_payloads_and_a_failing_child_fails_the_task() {
    let env = Env::new();
    let out = env.run(start(".sync", json!({"n": 4})), json!({}), "p1");
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    let r = &out["output"];
    assert_eq!(r["Status"], "SUCCEEDED");
    assert!(r["Output"].is_string());
    assert_eq!(
        serde_json::from_str::<Value>(r["Output"].as_str().unwrap()).unwrap()["doubled"],
        8
    );
    assert_eq!(
        serde_json::from_str::<Value>(r["Input"].as_str().unwrap()).unwrap()["n"],
        4
    );
    assert!(r["StartDate"].is_number() && r["StopDate"].is_number());

    let out = env.run(start(".sync:2", json!({"fail": true})), json!({}), "p2");
    assert_eq!(out["status"], "FAILED");
    assert_eq!(out["error"], "States.TaskFailed");
    let cause: Value = serde_json::from_str(out["cause"].as_str().unwrap()).unwrap();
    assert_eq!(cause["Status"], "FAILED");
    assert_eq!(cause["Error"], "Child.Failed");
    assert_eq!(cause["Cause"], "asked to fail");
}

#[test]
fn fire_and_forget_children_finish_and_unknown_machines_fail() {
    let env = Env::new();
    let out = env.run(start("", json!({"n": 1})), json!({}), "p3");
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    let child = out["output"]["ExecutionArn"].as_str().unwrap();
    assert!(out["output"]["StartDate"].is_number());
    // The process waits for the children it started before it exits.
    assert_eq!(env.describe(child)["status"], "SUCCEEDED");

    let def = json!({"StartAt": "S", "States": {"S": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:Nope"}, "End": true}}});
    let out = env.run(def, json!({}), "p4");
    assert_eq!(
        out["error"],
        "StepFunctions.StateMachineDoesNotExistException"
    );
    assert!(out["cause"].as_str().unwrap().starts_with(
        "State Machine Does Not Exist: 'arn:aws:states:us-east-1:123456789012:stateMachine:Nope'"
    ));
}

#[test]
fn a_sync_task_records_the_child_start_as_task_submitted() {
    let env = Env::new();
    for (mode, name) in [(".sync", "s1"), (".sync:2", "s2")] {
        let out = env.run(start(mode, json!({"n": 2})), json!({}), name);
        assert_eq!(out["status"], "SUCCEEDED", "{out}");
        let child = out["output"]["ExecutionArn"].as_str().unwrap().to_string();
        let h = json_of(&env.asl(&["history", name, "--json"]));
        let events = h["events"].as_array().unwrap();
        assert_eq!(
            types(events),
            [
                "ExecutionStarted",
                "TaskStateEntered",
                "TaskScheduled",
                "TaskStarted",
                "TaskSubmitted",
                "TaskSucceeded",
                "TaskStateExited",
                "ExecutionSucceeded"
            ],
            "{mode}"
        );
        let submitted = &events[4];
        assert_eq!(submitted["previousEventId"], events[3]["id"]);
        assert_eq!(events[5]["previousEventId"], submitted["id"]);
        let d = &submitted["taskSubmittedEventDetails"];
        assert_eq!(d["resourceType"], "states");
        assert_eq!(d["resource"], format!("startExecution{mode}"));
        assert_eq!(d["outputDetails"], json!({"truncated": false}));
        // StartExecution's answer, as text: the child, its start, the SDK's metadata.
        let answer: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
        assert_eq!(answer["ExecutionArn"], child);
        assert_eq!(answer["StartDate"], out["output"]["StartDate"]);
        assert_eq!(answer["SdkHttpMetadata"]["HttpStatusCode"], 200);
        assert_eq!(
            answer["SdkResponseMetadata"]["RequestId"],
            answer["SdkHttpMetadata"]["HttpHeaders"]["x-amzn-RequestId"]
        );
        // The report still times the task from its start to its end.
        let r = json_of(&env.asl(&["report", name, "--json"]));
        assert_eq!(r["states"][0]["name"], "Start", "{r}");
        assert_eq!(r["states"][0]["requests"], 1, "{r}");
    }
}

#[test]
fn a_sync_task_that_times_out_still_records_its_child_start() {
    let env = Env::new();
    let def = json!({"StartAt": "S", "States": {"S": {"Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {"StateMachineArn": "Sleeper"}, "TimeoutSeconds": 5,
        "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "Done"}], "End": true},
        "Done": {"Type": "Succeed"}}});
    let wf = env.file("timeout.asl.json", &def.to_string());
    // The child waits 3600 s, the task 5 s: at this scale 3.6 s and 5 ms.
    let out = json_of(&env.asl(&[
        "run",
        wf.to_str().unwrap(),
        "--name",
        "t1",
        "--json",
        "--wait-scale",
        "0.001",
    ]));
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    let h = json_of(&env.asl(&["history", "t1", "--json"]));
    assert_eq!(
        &types(h["events"].as_array().unwrap())[2..6],
        [
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskTimedOut"
        ],
        "{h}"
    );
}

#[test]
fn an_unknown_start_execution_pattern_is_refused_with_its_location() {
    let env = Env::new();
    let def = json!({"StartAt": "S", "States": {"S": {"Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.sync:3",
        "Parameters": {"StateMachineArn": "Child"}, "End": true}}});
    let wf = env.file("bad-suffix.asl.json", &def.to_string());
    for cmd in ["validate", "run"] {
        let o = env.asl(&[cmd, wf.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {o:?}");
        // (`validate` reports on stdout, `run` on stderr.)
        let err = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            err.contains("/States/S/Resource")
                && err.contains("arn:aws:states:::states:startExecution.sync:3 is not recognized"),
            "{cmd}: {err}"
        );
    }
    // Which state machine to start is required, as a value, a path or an expression.
    for (task, at) in [
        (json!({"Parameters": {"Input": {}}}), "/States/S/Parameters"),
        (
            json!({"QueryLanguage": "JSONata", "Arguments": {"Input": {}}}),
            "/States/S/Arguments",
        ),
        (json!({}), "/States/S"),
    ] {
        let mut st = json!({"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync", "End": true});
        for (k, v) in task.as_object().unwrap() {
            st[k] = v.clone();
        }
        let wf = env.file(
            "no-arn.asl.json",
            &json!({"StartAt": "S", "States": {"S": st}}).to_string(),
        );
        let o = env.asl(&["validate", wf.to_str().unwrap()]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(2), "{task}: {o:?}");
        assert!(
            out.contains(&format!(
                "{at}: The field 'StateMachineArn' is required but was missing"
            )),
            "{task}: {out}"
        );
    }
    for p in [
        json!({"StateMachineArn.$": "$.arn"}),
        json!({"StateMachineArn": "Child"}),
    ] {
        let def = json!({"StartAt": "S", "States": {"S": {"Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution", "Parameters": p, "End": true}}});
        let wf = env.file("arn.asl.json", &def.to_string());
        assert!(
            env.asl(&["validate", wf.to_str().unwrap()])
                .status
                .success(),
            "{p}"
        );
    }
    // The four patterns it has all validate.
    for mode in ["", ".sync", ".sync:2", ".waitForTaskToken"] {
        let def = json!({"StartAt": "S", "States": {"S": {"Type": "Task",
            "Resource": format!("arn:aws:states:::states:startExecution{mode}"),
            "Parameters": {"StateMachineArn": "Child"}, "End": true}}});
        let wf = env.file("ok-suffix.asl.json", &def.to_string());
        let o = env.asl(&["validate", wf.to_str().unwrap()]);
        assert!(o.status.success(), "{mode}: {o:?}");
    }
}

#[test]
fn the_request_response_start_gives_the_sdk_metadata_as_aws() {
    let env = Env::new();
    let out = env.run(start("", json!({"n": 1})), json!({}), "rr");
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    let o = &out["output"];
    let keys: Vec<&String> = o.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "ExecutionArn",
            "SdkHttpMetadata",
            "SdkResponseMetadata",
            "StartDate"
        ]
    );
    let meta = &o["SdkHttpMetadata"];
    assert_eq!(meta["HttpStatusCode"], 200);
    let id = o["SdkResponseMetadata"]["RequestId"].as_str().unwrap();
    assert_eq!(meta["HttpHeaders"]["x-amzn-RequestId"], id);
    assert_eq!(meta["AllHttpHeaders"]["x-amzn-RequestId"], json!([id]));
    assert_eq!(
        meta["HttpHeaders"]["Content-Type"],
        "application/x-amz-json-1.0"
    );
    // StartExecution's answer is `{"executionArn": ..., "startDate": seconds}`.
    let length: usize = meta["HttpHeaders"]["Content-Length"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        length > o["ExecutionArn"].as_str().unwrap().len() + 30,
        "{o}"
    );
}

#[test]
fn start_execution_refuses_bad_names_and_input_text_as_aws() {
    let env = Env::new();
    let task = |params: Value| {
        json!({"StartAt": "S", "States": {"S": {"Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution.sync:2",
            "Parameters": params, "End": true}}})
    };
    let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:Child";
    for (i, bad) in ["bad name#1", &"x".repeat(81), ""].into_iter().enumerate() {
        let out = env.run(
            task(json!({"StateMachineArn": machine, "Name": bad, "Input": {"n": 1}})),
            json!({}),
            &format!("n{i}"),
        );
        assert_eq!(out["error"], "StepFunctions.InvalidNameException", "{out}");
        let cause = out["cause"].as_str().unwrap();
        assert!(
            cause.starts_with(&format!("Invalid Name: '{bad}' (Service: AWSStepFunctions; Status Code: 400; Error Code: InvalidName; Request ID: ")),
            "{cause}"
        );
    }
    let out = env.run(
        task(json!({"StateMachineArn": machine, "Input": "not json"})),
        json!({}),
        "i1",
    );
    assert_eq!(
        out["error"], "StepFunctions.InvalidExecutionInputException",
        "{out}"
    );
    assert!(out["cause"]
        .as_str()
        .unwrap()
        .starts_with("Invalid State Machine Execution Input: '"));
    // JSON text is taken as the input it spells; nothing was started for the refused ones.
    let out = env.run(
        task(json!({"StateMachineArn": machine, "Input": "{\"n\": 5, \"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID\": \"p\"}", "Name": "ok-name"})),
        json!({}),
        "i2",
    );
    assert_eq!(out["output"]["Output"]["doubled"], 10, "{out}");
    let list = json_of(&env.asl(&["executions", "--state-machine", "Child", "--json"]));
    assert_eq!(list["executions"].as_array().unwrap().len(), 1, "{list}");
}

#[test]
fn starting_an_open_execution_again_with_the_same_input_is_idempotent() {
    let env = Env::new();
    env.file(
        "holder.asl.json",
        &json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1000, "End": true}}})
            .to_string(),
    );
    env.file(
        "asl-resources.json",
        &json!({"stateMachines": {"Holder": {"definition": "holder.asl.json"}}}).to_string(),
    );
    let start = |name: &str, input: Value, next: &str| {
        json!({"Type": "Task", "Resource": "arn:aws:states:::states:startExecution",
            "Parameters": {"StateMachineArn": "Holder", "Name": "once", "Input": input},
            "ResultPath": format!("$.{name}"),
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": format!("$.{name}"), "Next": next}],
            "Next": next})
    };
    let def = json!({"StartAt": "A", "States": {
        "A": start("a", json!({"k": 1}), "B"),
        "B": start("b", json!({"k": 1}), "C"),
        "C": start("c", json!({"k": 2}), "Done"),
        "Done": {"Type": "Succeed"}}});
    let wf = env.file("idem.asl.json", &def.to_string());
    // 1000 s at this scale: the child stays open for the second and third starts (ms apart),
    // and the process, which waits for it, ends a second later.
    let out = json_of(&env.asl(&[
        "run",
        wf.to_str().unwrap(),
        "--json",
        "--wait-scale",
        "0.001",
    ]));
    let o = &out["output"];
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    assert_eq!(o["a"]["ExecutionArn"], o["b"]["ExecutionArn"], "{out}");
    assert_eq!(o["a"]["StartDate"], o["b"]["StartDate"], "{out}");
    assert_eq!(
        o["c"]["Error"], "StepFunctions.ExecutionAlreadyExistsException",
        "another input: {out}"
    );
    let list = json_of(&env.asl(&["executions", "--state-machine", "Holder", "--json"]));
    assert_eq!(list["executions"].as_array().unwrap().len(), 1, "{list}");
}

/// Starts (in a process of its own) a parent that runs a `.sync:2` Sleeper child, and gives
/// the child's ARN once it runs.
fn start_parent_of_sleeper(env: &Env, name: &str) -> (Guard, String) {
    let def = json!({"StartAt": "S", "States": {"S": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {"StateMachineArn": "Sleeper"}, "End": true}}});
    let wf = env.file("parent.asl.json", &def.to_string());
    let guard = env.spawn(&["run", wf.to_str().unwrap(), "--name", name, "--json"]);
    let sleeper = env.wait_for("the child to start", || {
        let list = json_of(&env.asl(&["executions", "--state-machine", "Sleeper", "--json"]));
        list["executions"].as_array()?.first()?["executionArn"]
            .as_str()
            .map(String::from)
    });
    (guard, sleeper)
}

#[test]
fn stopping_the_parent_stops_its_children() {
    let env = Env::new();
    let (mut guard, sleeper) = start_parent_of_sleeper(&env, "boss");
    let o = env.asl(&[
        "stop",
        "boss",
        "--error",
        "Operator.Stop",
        "--cause",
        "enough",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let status = guard.0.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    let boss = env.describe("boss");
    assert_eq!(boss["status"], "ABORTED");
    assert_eq!(boss["error"], "Operator.Stop");
    assert_eq!(env.describe(&sleeper)["status"], "ABORTED");
}

#[test]
fn stopping_a_killed_parent_ends_its_children_too() {
    let env = Env::new();
    let (mut guard, sleeper) = start_parent_of_sleeper(&env, "gone");
    guard.0.kill().unwrap();
    guard.0.wait().unwrap();
    assert_eq!(env.describe(&sleeper)["status"], "RUNNING");
    // Stopped without an error or a cause: none is recorded (StopExecution's {}), and the
    // child that died with the process ends with its parent.
    let o = env.asl(&["stop", "gone"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let d = env.describe("gone");
    assert_eq!(d["status"], "ABORTED");
    assert!(d.get("error").is_none() && d.get("cause").is_none(), "{d}");
    let h = json_of(&env.asl(&["history", "gone", "--json", "--type", "ExecutionAborted"]));
    assert_eq!(h["events"][0]["executionAbortedEventDetails"], json!({}));
    assert_eq!(env.describe(&sleeper)["status"], "ABORTED");
}

fn callback_def(heartbeat: Option<u64>) -> Value {
    let mut task = json!({"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": "https://sqs.example/q", "MessageBody": {"token.$": "$$.Task.Token"}},
        "End": true});
    if let Some(h) = heartbeat {
        task["HeartbeatSeconds"] = json!(h);
    }
    json!({"StartAt": "Ask", "States": {"Ask": task}})
}

/// Starts a callback workflow in a process of its own and gives its task token.
fn start_waiting(env: &Env, name: &str, def: Value, scale: &str) -> (Guard, String) {
    let wf = env.file(&format!("{name}.asl.json"), &def.to_string());
    let guard = env.spawn(&[
        "run",
        wf.to_str().unwrap(),
        "--name",
        name,
        "--json",
        "--wait-scale",
        scale,
    ]);
    let token = env.wait_for("the task to be scheduled", || {
        let o = env.asl(&["history", name, "--json", "--type", "TaskScheduled"]);
        if !o.status.success() {
            return None;
        }
        let h = json_of(&o);
        let e = h["events"].as_array()?.first()?.clone();
        let params: Value =
            serde_json::from_str(e["taskScheduledEventDetails"]["parameters"].as_str()?).ok()?;
        params["MessageBody"]["token"].as_str().map(String::from)
    });
    (guard, token)
}

fn finish(mut g: Guard) -> Value {
    let mut out = String::new();
    use std::io::Read;
    g.0.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    g.0.wait().unwrap();
    serde_json::from_str(&out).unwrap()
}

#[test]
fn callbacks_are_completed_from_another_process() {
    let env = Env::new();
    let (g, token) = start_waiting(&env, "cb1", callback_def(None), "1");
    let o = env.asl(&["task", "heartbeat", &token]);
    assert_eq!(o.status.code(), Some(0));
    let o = env.asl(&[
        "task",
        "success",
        &token,
        "--output",
        r#"{"approved": true}"#,
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = finish(g);
    assert_eq!(out["status"], "SUCCEEDED");
    assert_eq!(out["output"], json!({"approved": true}));
    // A token cannot be completed twice, and an unknown one is an error.
    let o = env.asl(&["task", "success", &token]);
    assert_eq!(o.status.code(), Some(2));
    let o = env.asl(&["task", "failure", "no-such-token"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("Invalid Token"));

    let (g, token) = start_waiting(&env, "cb2", callback_def(None), "1");
    // SendTaskFailure's limits (error 256 characters, cause 32,768) are refused, not cut, and
    // the token still waits.
    for (flag, text) in [
        ("--error", "E".repeat(257)),
        ("--cause", "c".repeat(32_769)),
    ] {
        let o = env.asl(&["task", "failure", &token, flag, &text]);
        assert_eq!(o.status.code(), Some(2), "{flag}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("ValidationException") && err.contains("less than or equal to"),
            "{err}"
        );
    }
    let o = env.asl(&[
        "task", "failure", &token, "--error", "Rejected", "--cause", "no",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let out = finish(g);
    assert_eq!(out["status"], "FAILED");
    assert_eq!(out["error"], "Rejected");
    assert_eq!(out["cause"], "no");
}

#[test]
fn a_callback_task_records_what_its_service_answered_as_task_submitted() {
    let env = Env::new();
    // The function itself completes the token from another process, then answers.
    env.python_function(
        "approve",
        "import json, subprocess, sys\n\
         e = json.load(sys.stdin)\n\
         subprocess.run([e['asl'], 'task', 'success', e['token'], '--output', '{\"approved\": true}'], check=True)\n\
         print(json.dumps({'sent': True}))\n",
    );
    let def = json!({"StartAt": "Ask", "States": {"Ask": {"Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "approve",
            "Payload": {"token.$": "$$.Task.Token", "asl": env!("CARGO_BIN_EXE_asl")}},
        "End": true}}});
    let out = env.run(def, json!({}), "cbs");
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    assert_eq!(out["output"], json!({"approved": true}));
    let h = json_of(&env.asl(&["history", "cbs", "--json"]));
    let events = h["events"].as_array().unwrap();
    assert_eq!(
        &types(events)[2..6],
        [
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded"
        ],
        "{h}"
    );
    let d = &events[4]["taskSubmittedEventDetails"];
    assert_eq!(d["resourceType"], "lambda");
    assert_eq!(d["resource"], "invoke.waitForTaskToken");
    // The Invoke API's answer: the function's own output in its Payload.
    let answer: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
    assert_eq!(answer["StatusCode"], 200, "{answer}");
    assert_eq!(answer["Payload"], json!({"sent": true}), "{answer}");
    // A callback to a service asl does not send to records no TaskSubmitted.
    let (g, token) = start_waiting(&env, "cbq", callback_def(None), "1");
    let o = env.asl(&["task", "success", &token]);
    assert_eq!(o.status.code(), Some(0));
    finish(g);
    let h = json_of(&env.asl(&["history", "cbq", "--json"]));
    assert!(!h.to_string().contains("TaskSubmitted"), "{h}");
}

#[test]
fn a_large_callback_output_comes_from_a_file_or_standard_input() {
    let env = Env::new();
    // 200 KB: more than one command-line argument may hold (128 KiB), less than AWS's 256 KiB.
    let big = json!({"blob": "x".repeat(200_000)});
    let file = env.file("big.json", &big.to_string());
    let (g, token) = start_waiting(&env, "cb5", callback_def(None), "1");
    let o = env.asl(&[
        "task",
        "success",
        &token,
        "--output-file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_eq!(finish(g)["output"], big);
    // `-`: standard input.
    let (g, token) = start_waiting(&env, "cb6", callback_def(None), "1");
    let mut child = env
        .cmd(&["task", "success", &token, "--output-file", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(br#"{"via": "stdin"}"#)
            .unwrap();
    }
    assert!(child.wait().unwrap().success());
    assert_eq!(finish(g)["output"], json!({"via": "stdin"}));
    // Both at once is refused.
    let o = env.asl(&[
        "task",
        "success",
        "t",
        "--output",
        "{}",
        "--output-file",
        "-",
    ]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
}

#[test]
fn a_silent_worker_misses_its_heartbeat() {
    let env = Env::new();
    // HeartbeatSeconds 2 at a wait scale of 0.1: 200 ms without a heartbeat.
    let (g, _token) = start_waiting(&env, "cb3", callback_def(Some(2)), "0.1");
    let out = finish(g);
    // As recorded against AWS: States.Timeout, with no cause, in the event and the execution.
    assert_eq!(out["status"], "FAILED");
    assert_eq!(out["error"], "States.Timeout");
    assert_eq!(out["cause"], Value::Null);
    let h = json_of(&env.asl(&["history", "cb3", "--json", "--type", "TaskTimedOut"]));
    assert_eq!(h["events"].as_array().unwrap().len(), 1);
    assert_eq!(
        h["events"][0]["taskTimedOutEventDetails"],
        json!({"error": "States.Timeout", "resource": "sendMessage.waitForTaskToken",
               "resourceType": "sqs"})
    );
    // The task is gone: its token is refused, as AWS's TaskTimedOut.
    for verb in ["heartbeat", "success"] {
        let o = env.asl(&["task", verb, &_token]);
        assert_eq!(o.status.code(), Some(2), "task {verb} after the time-out");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("Task Timed Out"),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn heartbeats_keep_a_callback_task_alive() {
    let env = Env::new();
    // HeartbeatSeconds 2 at a wait scale of 0.5: 1 s without a heartbeat fails the task (a
    // margin that a loaded machine's stalls do not eat). Heartbeats, one after another, for
    // twice that; then the answer.
    let (g, token) = start_waiting(&env, "cb4", callback_def(Some(2)), "0.5");
    let started = Instant::now();
    let mut sent = 0;
    while started.elapsed() < Duration::from_millis(2000) && sent < 1000 {
        let o = env.asl(&["task", "heartbeat", &token]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "heartbeat {sent}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        sent += 1;
    }
    let o = env.asl(&["task", "success", &token, "--output", r#"{"alive": true}"#]);
    assert_eq!(o.status.code(), Some(0));
    let out = finish(g);
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    assert_eq!(out["output"], json!({"alive": true}));
}

#[test]
fn tokens_of_a_stopped_or_killed_execution_are_refused() {
    let env = Env::new();
    // Stopped: the token closes with the execution.
    let (g, token) = start_waiting(&env, "cb5", callback_def(None), "1");
    assert_eq!(env.asl(&["stop", "cb5"]).status.code(), Some(0));
    drop(g);
    assert_eq!(env.describe("cb5")["status"], "ABORTED");
    let o = env.asl(&["task", "success", &token]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("Task Timed Out"));

    // Killed: nothing would receive the token, so it is refused with what to do instead.
    let (mut g, old) = start_waiting(&env, "cb6", callback_def(None), "1");
    g.0.kill().unwrap();
    g.0.wait().unwrap();
    assert_eq!(env.describe("cb6")["status"], "RUNNING");
    let o = env.asl(&["task", "success", &old]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("interrupted") && err.contains("asl resume"),
        "{err}"
    );
    // Resumed, the task runs again with a new token; the old one is closed.
    let resumed = env.spawn(&["resume", "cb6", "--json"]);
    let new = env.wait_for("the task to be scheduled again", || {
        let h = json_of(&env.asl(&["history", "cb6", "--json", "--type", "TaskScheduled"]));
        let events = h["events"].as_array()?.clone();
        let e = events.get(1)?;
        let params: Value =
            serde_json::from_str(e["taskScheduledEventDetails"]["parameters"].as_str()?).ok()?;
        params["MessageBody"]["token"].as_str().map(String::from)
    });
    assert_ne!(new, old);
    let o = env.asl(&["task", "success", &old]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("Task Timed Out"));
    let o = env.asl(&["task", "success", &new, "--output", r#"{"second": true}"#]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = finish(resumed);
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    assert_eq!(out["output"], json!({"second": true}));
}

#[test]
fn a_child_runs_its_own_test_case_not_its_parents() {
    let env = Env::new();
    // Parent and child both have a state named "Call"; the mock config mocks the parent's
    // in test case T, and the child's in its own test case ChildCase.
    let call = |payload: Value| {
        json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "echo", "Payload": payload},
            "OutputPath": "$.Payload", "End": true})
    };
    env.file(
        "caller.asl.json",
        &json!({"StartAt": "Call", "States": {"Call": call(json!({"from": "child-real"}))}})
            .to_string(),
    );
    env.file(
        "asl-resources.json",
        &json!({"stateMachines": {"Caller": {"definition": "caller.asl.json"}},
                "functions": {"echo": {"builtin": "echo"}}})
        .to_string(),
    );
    let mocks = env.file(
        "mocks.json",
        &json!({"StateMachines": {
                "Parent": {"TestCases": {"T": {"Call": "Mocked"}}},
                "Caller": {"TestCases": {"ChildCase": {"Call": "ChildMocked"}}}},
            "MockedResponses": {
                "Mocked": {"0": {"Return": {"Payload": {"from": "parent-mock"}}}},
                "ChildMocked": {"0": {"Return": {"Payload": {"from": "child-mock"}}}}}})
        .to_string(),
    );
    let parent = |child_arn: &str| {
        json!({"StartAt": "Call", "States": {
            "Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "echo", "Payload": {"from": "parent-real"}},
                "ResultSelector": {"from.$": "$.Payload.from"}, "ResultPath": "$.p", "Next": "Kid"},
            "Kid": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {"StateMachineArn": child_arn, "Input": {}},
                "ResultSelector": {"from.$": "$.Output.from"}, "ResultPath": "$.k", "End": true}}})
    };
    let run_with = |name: &str, child_arn: &str, mocks: &std::path::Path| {
        let wf = env.file(&format!("{name}.asl.json"), &parent(child_arn).to_string());
        json_of(&env.asl(&[
            "run",
            wf.to_str().unwrap(),
            "--name",
            name,
            "--state-machine-name",
            "Parent",
            "--mock-config",
            mocks.to_str().unwrap(),
            "--test-case",
            "T",
            "--json",
        ]))
    };
    let run = |name: &str, child_arn: &str| run_with(name, child_arn, &mocks);
    let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:Caller";
    let out = run("m1", arn);
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    assert_eq!(out["output"]["p"]["from"], "parent-mock");
    assert_eq!(out["output"]["k"]["from"], "child-real");
    let out = run("m2", &format!("{arn}#ChildCase"));
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    assert_eq!(out["output"]["p"]["from"], "parent-mock");
    assert_eq!(out["output"]["k"]["from"], "child-mock");
    // A test case the mock config does not have for the child fails the task, saying so.
    let out = run("m3", &format!("{arn}#Nope"));
    assert_eq!(out["status"], "FAILED", "{out}");
    assert!(out["cause"].as_str().unwrap().contains("Nope"), "{out}");
    // When the child's state machine has a test case named as the parent's, the child runs
    // it: its states mocked under its own name, without editing the parent's definition.
    let same_name = env.file(
        "mocks2.json",
        &json!({"StateMachines": {
                "Parent": {"TestCases": {"T": {"Call": "Mocked"}}},
                "Caller": {"TestCases": {"T": {"Call": "ChildMocked"}}}},
            "MockedResponses": {
                "Mocked": {"0": {"Return": {"Payload": {"from": "parent-mock"}}}},
                "ChildMocked": {"0": {"Return": {"Payload": {"from": "child-mock-T"}}}}}})
        .to_string(),
    );
    let out = run_with("m4", arn, &same_name);
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    assert_eq!(out["output"]["p"]["from"], "parent-mock");
    assert_eq!(out["output"]["k"]["from"], "child-mock-T");
}

#[test]
fn started_by_names_the_parent_as_aws_links_them() {
    let env = Env::new();
    env.file(
        "plain.asl.json",
        &json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}).to_string(),
    );
    env.file(
        "asl-resources.json",
        &json!({"stateMachines": {"Plain": {"definition": "plain.asl.json"}}}).to_string(),
    );
    // Without the key, the execution that started the child is its parent.
    let def = json!({"StartAt": "S", "States": {"S": {"Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {"StateMachineArn": "Plain", "Input": {"n": 1}}, "End": true}}});
    let out = env.run(def, json!({}), "sb1");
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    let child = out["output"]["ExecutionArn"].as_str().unwrap();
    assert_eq!(
        env.describe(child)["parentExecutionArn"],
        out["executionArn"]
    );
    // With it, the execution it names, wherever the child was started from.
    let other = "arn:aws:states:us-east-1:123456789012:execution:Elsewhere:e1";
    let def = json!({"StartAt": "S", "States": {"S": {"Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {"StateMachineArn": "Plain",
            "Input": {"n": 1, "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID": other}}, "End": true}}});
    let out = env.run(def, json!({}), "sb2");
    let child = out["output"]["ExecutionArn"].as_str().unwrap();
    assert_eq!(env.describe(child)["parentExecutionArn"], other);
    // A top-level run whose input carries the key is linked too; one without has no parent.
    let out = env.run(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
        json!({"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID": other}),
        "sb3",
    );
    assert_eq!(
        env.describe(out["executionArn"].as_str().unwrap())["parentExecutionArn"],
        other
    );
    let d = env.describe("sb1");
    assert!(d.get("parentExecutionArn").is_none(), "{d}");
}

#[test]
fn a_state_machine_that_starts_itself_stops_at_the_nesting_limit() {
    // Without a limit, `.sync` recursion overflowed the stack (and fire-and-forget recursion
    // never ended); now the deepest start fails its task with a clear error.
    let env = Env::new();
    for (machine, mode) in [("Selfsync", ".sync:2"), ("Selfspawn", "")] {
        let def = json!({"StartAt": "N", "States": {"N": {"Type": "Task",
            "Resource": format!("arn:aws:states:::states:startExecution{mode}"),
            "Parameters": {"StateMachineArn": machine, "Input": {}}, "End": true}}});
        let file = format!("{}.asl.json", machine.to_lowercase());
        env.file(&file, &def.to_string());
        env.file(
            "asl-resources.json",
            &json!({"stateMachines": {machine: {"definition": file}}}).to_string(),
        );
        let wf = env.dir.path().join(&file);
        let o = env
            .cmd(&[
                "run",
                wf.to_str().unwrap(),
                "--state-machine-name",
                machine,
                "--json",
            ])
            .output()
            .unwrap();
        assert!(o.status.code().is_some(), "killed by a signal: {o:?}");
        assert!(!String::from_utf8_lossy(&o.stderr).contains("panicked"));
        let list = json_of(&env.asl(&[
            "executions",
            "--state-machine",
            machine,
            "--json",
            "--limit",
            "1000",
        ]));
        let all = list["executions"].as_array().unwrap();
        assert_eq!(all.len(), 101, "{machine}");
        // Nothing is left RUNNING; the deepest failed, saying why.
        assert!(all.iter().all(|e| e["status"] != "RUNNING"), "{machine}");
        let failed = all
            .iter()
            .filter(|e| e["status"] == "FAILED")
            .map(|e| env.describe(e["executionArn"].as_str().unwrap()))
            .find(|d| d["error"] == "StepFunctions.ExecutionLimitExceededException");
        assert!(failed.is_some(), "{machine}: {all:?}");
    }
}

#[test]
fn a_missed_heartbeat_is_caught_as_states_heartbeat_timeout() {
    // AWS reports a missed heartbeat as States.Timeout; Retry and Catch may also name it
    // States.HeartbeatTimeout ("only available inside the Catch and Retry fields"), and
    // States.TaskFailed does not match it.
    let env = Env::new();
    let mut def = callback_def(Some(2));
    def["States"]["Ask"]["Catch"] = json!([
        {"ErrorEquals": ["States.TaskFailed"], "Next": "Wrong"},
        {"ErrorEquals": ["States.HeartbeatTimeout"], "ResultPath": "$.err", "Next": "Right"}]);
    def["States"]["Right"] = json!({"Type": "Pass", "End": true});
    def["States"]["Wrong"] = json!({"Type": "Fail", "Error": "Wrong"});
    let wf = env.file("hb.asl.json", &def.to_string());
    let o = env.asl(&["run", wf.to_str().unwrap(), "--json", "--wait-scale", "0.1"]);
    let out = json_of(&o);
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    assert_eq!(out["output"]["err"]["Error"], "States.Timeout", "{out}");
}

#[test]
fn resuming_a_killed_parent_ends_the_children_that_died_with_it() {
    // The parent's `.sync` task was in flight when its process was killed: resumed, the task
    // runs again and starts a new child; the old one, dead with the parent, is ABORTED rather
    // than left RUNNING for good.
    let env = Env::new();
    let def = json!({"StartAt": "Call", "States": {"Call": {"Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:Sleeper", "Input": {}},
        "OutputPath": "$.Status", "End": true}}});
    let wf = env.file("parent.asl.json", &def.to_string());
    let child = env
        .cmd(&[
            "run",
            wf.to_str().unwrap(),
            "--name",
            "orphaning",
            "--wait-scale",
            "0.0003",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut guard = Guard(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    let old = loop {
        assert!(Instant::now() < deadline, "the child did not start");
        let list = json_of(&env.asl(&["executions", "--state-machine", "Sleeper", "--json"]));
        if let Some(arn) = list["executions"][0]["executionArn"].as_str() {
            break arn.to_string();
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    guard.0.kill().unwrap();
    guard.0.wait().unwrap();
    let out = json_of(&env.asl(&["resume", "orphaning", "--json"]));
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    assert_eq!(out["output"], "SUCCEEDED");
    let list = json_of(&env.asl(&["executions", "--state-machine", "Sleeper", "--json"]));
    let statuses: Vec<(String, String)> = list["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["executionArn"].as_str().unwrap().to_string(),
                e["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(statuses.len(), 2, "{statuses:?}");
    assert!(
        statuses.contains(&(old, "ABORTED".to_string())),
        "{statuses:?}"
    );
    assert!(
        statuses.iter().any(|(_, s)| s == "SUCCEEDED"),
        "{statuses:?}"
    );
}

#[test]
fn an_express_state_machine_of_the_resources_file_runs_as_express() {
    // "type": "EXPRESS" in the resources file, as CreateStateMachine's type: the child gets an
    // express ARN and keeps what its logLevel logs (here nothing).
    let env = Env::new();
    env.file(
        "asl-resources.json",
        &json!({"stateMachines": {
            "Child": {"definition": "child.asl.json", "type": "EXPRESS", "logLevel": "OFF"},
            "Waiter": {"definition": "waiter.asl.json", "type": "EXPRESS"}
        }})
        .to_string(),
    );
    env.file(
        "waiter.asl.json",
        &json!({"StartAt": "T", "States": {"T": {"Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"MessageBody.$": "$$.Task.Token"}, "End": true}}})
        .to_string(),
    );
    let out = env.run(start(".sync:2", json!({"n": 4})), json!({}), "px1");
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    let child = out["output"]["ExecutionArn"].as_str().unwrap();
    assert!(
        child.starts_with("arn:aws:states:us-east-1:123456789012:express:Child:"),
        "{child}"
    );
    assert_eq!(out["output"]["Output"]["doubled"], 8);
    let h = json_of(&env.asl(&["history", child, "--json"]));
    assert_eq!(h["events"], json!([]), "{h}");
    // What an EXPRESS state machine may not hold is refused when it would start.
    let def = json!({"StartAt": "S", "States": {"S": {"Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {"StateMachineArn": "Waiter"}, "End": true}}});
    let out = env.run(def, json!({}), "px2");
    assert_eq!(out["status"], "FAILED", "{out}");
    assert_eq!(out["error"], "StepFunctions.InvalidDefinitionException");
    assert!(
        out["cause"]
            .as_str()
            .unwrap()
            .contains("/States/T/Resource"),
        "{out}"
    );
}

#[test]
fn a_failure_without_error_or_cause_has_neither_as_aws_records() {
    // Recorded against AWS (SendTaskFailure with only the token): TaskFailed holds no error
    // and no cause, States.ALL still catches it, and the Catcher's output gives both as null.
    let env = Env::new();
    let mut def = callback_def(None);
    def["States"]["Ask"]["Catch"] =
        json!([{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Caught"}]);
    def["States"]["Caught"] = json!({"Type": "Pass", "End": true});
    let (g, token) = start_waiting(&env, "cb9", def, "1");
    let o = env.asl(&["task", "failure", &token]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let out = finish(g);
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    assert_eq!(out["output"]["err"], json!({"Error": null, "Cause": null}));
    let h = json_of(&env.asl(&["history", "cb9", "--json", "--type", "TaskFailed"]));
    assert_eq!(
        h["events"][0]["taskFailedEventDetails"],
        json!({"resource": "sendMessage.waitForTaskToken", "resourceType": "sqs"})
    );
}

const APPROVE: &str = "arn:aws:states:us-east-1:123456789012:activity:Approve";

/// The activity state goes on to a Pass state `Caught` (the one its catchers name).
fn caught(mut def: Value) -> Value {
    let st = def["States"]["Approve"].as_object_mut().unwrap();
    st.remove("End");
    st.insert("Next".into(), json!("Caught"));
    def["States"]["Caught"] = json!({"Type": "Pass", "End": true});
    def
}

fn activity_def(task: Value) -> Value {
    let mut t = json!({"Type": "Task", "Resource": APPROVE, "End": true});
    t.as_object_mut()
        .unwrap()
        .extend(task.as_object().unwrap().clone());
    json!({"StartAt": "Approve", "States": {"Approve": t}})
}

/// Starts an activity workflow in a process of its own and, acting as a worker, takes its
/// task (`get-task` without waiting, tried until the task is queued): its token and input.
fn take_activity_task(
    env: &Env,
    name: &str,
    def: Value,
    input: Value,
    worker: Option<&str>,
) -> (Guard, String, String) {
    let wf = env.file(&format!("{name}.asl.json"), &def.to_string());
    let input = input.to_string();
    let guard = env.spawn(&[
        "run",
        wf.to_str().unwrap(),
        "--name",
        name,
        "--input",
        &input,
        "--json",
    ]);
    let mut args = vec!["activity", "get-task", "Approve", "--wait-seconds", "0"];
    if let Some(w) = worker {
        args.extend(["--worker-name", w]);
    }
    let task = env.wait_for("the activity task to be queued", || {
        let v = json_of(&env.asl(&args));
        v.get("taskToken").is_some().then_some(v)
    });
    (
        guard,
        task["taskToken"].as_str().unwrap().to_string(),
        task["input"].as_str().unwrap().to_string(),
    )
}

fn activity_events(env: &Env, name: &str) -> Vec<Value> {
    json_of(&env.asl(&["history", name, "--json"]))["events"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn activities_are_created_listed_and_deleted_as_aws_does() {
    let env = Env::new();
    let created = json_of(&env.asl(&["activity", "create", "Approve", "--json"]));
    assert_eq!(created["activityArn"], APPROVE);
    assert!(created["creationDate"].as_str().unwrap().ends_with('Z'));
    // CreateActivity is idempotent: the same name is the same activity.
    let again = json_of(&env.asl(&["activity", "create", "Approve", "--json"]));
    assert_eq!(again, created);
    let listed = json_of(&env.asl(&["activity", "list", "--json"]));
    assert_eq!(
        listed,
        json!({"activities": [{"activityArn": APPROVE, "name": "Approve",
                               "creationDate": created["creationDate"]}]})
    );
    let described = json_of(&env.asl(&["activity", "describe", APPROVE, "--json"]));
    assert_eq!(described, listed["activities"][0]);
    // AWS's name rules; nothing is created.
    let o = env.asl(&["activity", "create", "bad name"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("InvalidName: Invalid Name: 'bad name'"));
    // Deleting succeeds twice, as DeleteActivity does; then the activity is gone.
    for _ in 0..2 {
        assert_eq!(
            env.asl(&["activity", "delete", "Approve"]).status.code(),
            Some(0)
        );
    }
    for args in [
        &["activity", "describe", "Approve"][..],
        &["activity", "get-task", "Approve", "--wait-seconds", "0"],
    ] {
        let o = env.asl(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(&format!(
                "ActivityDoesNotExist: Activity Does Not Exist: '{APPROVE}'"
            )),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    // With no task queued, get-task answers without a token once its wait is over.
    env.asl(&["activity", "create", "Approve"]);
    let o = env.asl(&["activity", "get-task", "Approve", "--wait-seconds", "0.1"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(json_of(&o), json!({}));
}

#[test]
fn a_worker_in_another_process_takes_and_completes_an_activity_task() {
    let env = Env::new();
    env.asl(&["activity", "create", "Approve"]);
    let def = activity_def(
        json!({"Parameters": {"order.$": "$.order"}, "TimeoutSeconds": 600,
                                  "HeartbeatSeconds": 300, "ResultPath": "$.approval"}),
    );
    let (g, token, input) =
        take_activity_task(&env, "act1", def, json!({"order": 7}), Some("desk-1"));
    // The worker gets the state's effective input (after Parameters), as JSON text.
    assert_eq!(input, r#"{"order":7}"#);
    assert_eq!(
        env.asl(&["task", "heartbeat", &token]).status.code(),
        Some(0)
    );
    let o = env.asl(&["task", "success", &token, "--output", r#"{"ok": true}"#]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let out = finish(g);
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    assert_eq!(out["output"], json!({"order": 7, "approval": {"ok": true}}));
    // As recorded against AWS, event for event.
    let events = activity_events(&env, "act1");
    assert_eq!(
        types(&events),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "ActivityScheduled",
            "ActivityStarted",
            "ActivitySucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(
        events[2]["activityScheduledEventDetails"],
        json!({"resource": APPROVE, "input": r#"{"order":7}"#, "inputDetails": {"truncated": false},
               "timeoutInSeconds": 600, "heartbeatInSeconds": 300})
    );
    assert_eq!(
        events[3]["activityStartedEventDetails"],
        json!({"workerName": "desk-1"})
    );
    assert_eq!(
        events[4]["activitySucceededEventDetails"],
        json!({"output": r#"{"ok":true}"#, "outputDetails": {"truncated": false}})
    );
    for (i, e) in events.iter().enumerate().skip(2) {
        assert_eq!(e["previousEventId"], json!(i), "{e}");
    }
    // The task is done: its token is refused, and no other task is queued.
    assert_eq!(env.asl(&["task", "success", &token]).status.code(), Some(2));
    let o = env.asl(&["activity", "get-task", "Approve", "--wait-seconds", "0"]);
    assert_eq!(json_of(&o), json!({}));
}

#[test]
fn an_activity_task_fails_as_its_worker_says() {
    let env = Env::new();
    env.asl(&["activity", "create", "Approve"]);
    let def = activity_def(
        json!({"Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err",
                                             "Next": "Caught"}]}),
    );
    let def = caught(def);
    // With an error and a cause (uncaught names flow as the worker gave them)...
    let (g, token, _) = take_activity_task(&env, "act2", def.clone(), json!({}), None);
    let o = env.asl(&[
        "task",
        "failure",
        &token,
        "--error",
        "Desk.Rejected",
        "--cause",
        "over budget",
    ]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let out = finish(g);
    assert_eq!(
        out["output"]["err"],
        json!({"Error": "Desk.Rejected", "Cause": "over budget"})
    );
    let events = activity_events(&env, "act2");
    // A worker that gave no name: ActivityStarted's details are empty, as recorded.
    assert_eq!(events[3]["activityStartedEventDetails"], json!({}));
    assert_eq!(events[4]["type"], "ActivityFailed");
    assert_eq!(
        events[4]["activityFailedEventDetails"],
        json!({"error": "Desk.Rejected", "cause": "over budget"})
    );
    // ...and without: neither field, and nulls for the Catcher.
    let (g, token, _) = take_activity_task(&env, "act3", def, json!({}), Some("w"));
    assert_eq!(env.asl(&["task", "failure", &token]).status.code(), Some(0));
    let out = finish(g);
    assert_eq!(out["output"]["err"], json!({"Error": null, "Cause": null}));
    assert_eq!(
        activity_events(&env, "act3")[4]["activityFailedEventDetails"],
        json!({})
    );
}

#[test]
fn activity_tasks_time_out_whether_or_not_a_worker_took_them() {
    let env = Env::new();
    env.asl(&["activity", "create", "Approve"]);
    // No worker within TimeoutSeconds (1 s at a wait scale of 0.2): States.Timeout, no cause.
    let wf = env.file(
        "t1.asl.json",
        &activity_def(json!({"TimeoutSeconds": 1})).to_string(),
    );
    let o = env.asl(&[
        "run",
        wf.to_str().unwrap(),
        "--name",
        "act4",
        "--json",
        "--wait-scale",
        "0.2",
    ]);
    let out = json_of(&o);
    assert_eq!(out["status"], "FAILED");
    assert_eq!(out["error"], "States.Timeout");
    assert_eq!(out["cause"], Value::Null);
    let events = activity_events(&env, "act4");
    assert_eq!(
        types(&events),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "ActivityScheduled",
            "ActivityTimedOut",
            "ExecutionFailed"
        ]
    );
    assert_eq!(
        events[3]["activityTimedOutEventDetails"],
        json!({"error": "States.Timeout"})
    );
    // Its task is no longer offered to workers.
    let o = env.asl(&["activity", "get-task", "Approve", "--wait-seconds", "0"]);
    assert_eq!(json_of(&o), json!({}));

    // Taken, then silent past HeartbeatSeconds (2 s at 0.2): States.Timeout too, which a
    // Catcher may name States.HeartbeatTimeout.
    let def = activity_def(json!({"HeartbeatSeconds": 2, "Catch": [
        {"ErrorEquals": ["States.HeartbeatTimeout"], "ResultPath": "$.err", "Next": "Caught"}]}));
    let def = caught(def);
    let wf = env.file("t2.asl.json", &def.to_string());
    let g = env.spawn(&[
        "run",
        wf.to_str().unwrap(),
        "--name",
        "act5",
        "--json",
        "--wait-scale",
        "0.2",
    ]);
    env.wait_for("the activity task to be taken", || {
        let v = json_of(&env.asl(&["activity", "get-task", "Approve", "--wait-seconds", "0"]));
        v.get("taskToken").map(|_| ())
    });
    let out = finish(g);
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    assert_eq!(out["output"]["err"]["Error"], "States.Timeout");
    assert_eq!(
        types(&activity_events(&env, "act5"))[2..5],
        ["ActivityScheduled", "ActivityStarted", "ActivityTimedOut"]
    );
}

#[test]
fn a_missing_activity_fails_the_execution_as_aws_does() {
    // Recorded against AWS: the definition is accepted; at run time nothing is scheduled and
    // the execution fails with States.Runtime (which no Catcher takes).
    let env = Env::new();
    let def = activity_def(json!({"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]}));
    let def = caught(def);
    let out = env.run(def.clone(), json!({}), "act6");
    assert_eq!(out["status"], "FAILED");
    assert_eq!(out["error"], "States.Runtime");
    assert_eq!(
        out["cause"],
        format!("An error occurred while executing the state 'Approve' (entered at the event id #2). The activity {APPROVE} does not exist.")
    );
    assert_eq!(
        types(&activity_events(&env, "act6")),
        ["ExecutionStarted", "TaskStateEntered", "ExecutionFailed"]
    );
    // Activities are a STANDARD workflow's: an EXPRESS run is refused before it starts.
    let wf = env.file("express.asl.json", &def.to_string());
    let o = env.asl(&["run", wf.to_str().unwrap(), "--type", "EXPRESS"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("/States/Approve/Resource"));
}

#[test]
fn a_resumed_execution_queues_its_activity_task_again() {
    let env = Env::new();
    env.asl(&["activity", "create", "Approve"]);
    let def = activity_def(json!({}));
    let (mut g, old, _) = take_activity_task(&env, "act7", def, json!({"n": 1}), None);
    g.0.kill().unwrap();
    g.0.wait().unwrap();
    // Nothing runs the execution: its task is not offered, and its token is refused.
    let o = env.asl(&["activity", "get-task", "Approve", "--wait-seconds", "0"]);
    assert_eq!(json_of(&o), json!({}));
    assert_eq!(env.asl(&["task", "success", &old]).status.code(), Some(2));
    let resumed = env.spawn(&["resume", "act7", "--json"]);
    let task = env.wait_for("the activity task to be queued again", || {
        let v = json_of(&env.asl(&["activity", "get-task", "Approve", "--wait-seconds", "0"]));
        v.get("taskToken").is_some().then_some(v)
    });
    let new = task["taskToken"].as_str().unwrap();
    assert_ne!(new, old);
    assert_eq!(task["input"], r#"{"n":1}"#);
    assert_eq!(env.asl(&["task", "success", &old]).status.code(), Some(2));
    let o = env.asl(&["task", "success", new, "--output", r#""done""#]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let out = finish(resumed);
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    assert_eq!(out["output"], "done");
}

#[test]
fn a_mocked_activity_answers_with_its_mock() {
    // As any mocked Task: the mock is the answer, no worker or activity is needed; the history
    // is an activity's.
    let env = Env::new();
    let wf = env.file(
        "mocked.asl.json",
        &activity_def(json!({"ResultPath": "$.r"})).to_string(),
    );
    let mocks = env.file(
        "mocks.json",
        &json!({"StateMachines": {"M": {"TestCases": {"T": {"Approve": "Ok"}}}},
                "MockedResponses": {"Ok": {"0": {"Return": {"approved": true}}}}})
        .to_string(),
    );
    let o = env.asl(&[
        "run",
        wf.to_str().unwrap(),
        "--state-machine-name",
        "M",
        "--name",
        "act8",
        "--mock-config",
        mocks.to_str().unwrap(),
        "--test-case",
        "T",
        "--json",
    ]);
    let out = json_of(&o);
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    assert_eq!(out["output"], json!({"r": {"approved": true}}));
    let events = activity_events(&env, "act8");
    assert_eq!(
        types(&events)[2..5],
        ["ActivityScheduled", "ActivityStarted", "ActivitySucceeded"]
    );
    assert_eq!(
        events[4]["activitySucceededEventDetails"]["output"],
        r#"{"approved":true}"#
    );
}

#[test]
fn a_machine_started_by_name_is_warned_about_once() {
    // A name works with the resources file, but AWS's StartExecution takes an ARN.
    let env = Env::new();
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items",
        "ItemProcessor": {"StartAt": "S", "States": {"S": {"Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution.sync:2",
            "Parameters": {"StateMachineArn": "Child", "Input": with_parent(json!({"n": 1}))}, "End": true}}},
        "End": true}}});
    let wf = env.file("named.asl.json", &def.to_string());
    let o = env.asl(&[
        "run",
        wf.to_str().unwrap(),
        "--input",
        r#"{"items": [1, 2, 3]}"#,
        "--json",
    ]);
    assert_eq!(json_of(&o)["status"], "SUCCEEDED");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        err.matches("starts the state machine \"Child\" by name")
            .count(),
        1,
        "{err}"
    );
    assert!(err.contains("arn:aws:states:us-east-1:123456789012:stateMachine:Child"));
    // By ARN: nothing to say.
    let o = env.asl(&[
        "run",
        env.file(
            "by-arn.asl.json",
            &start(".sync:2", json!({"n": 1})).to_string(),
        )
        .to_str()
        .unwrap(),
        "--json",
    ]);
    assert_eq!(json_of(&o)["status"], "SUCCEEDED");
    assert!(!String::from_utf8_lossy(&o.stderr).contains("by name"));
}

/// Sends signal `s` (`-STOP`, `-KILL`) to process `pid`.
fn kill(s: &str, pid: &str) {
    let ok = Command::new("kill")
        .args([s, pid])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {s} {pid}");
}

/// Resumes execution `name` in a process of its own and gives its record once it has ended.
fn resume_to_end(env: &Env, name: &str) -> Value {
    let _resumed = env.spawn(&["resume", name, "--json"]);
    env.wait_for("the resumed run to end", || {
        let d = env.describe(name);
        (d["status"] != "RUNNING").then_some(d)
    })
}

/// An answer accepted for a token whose process dies before it takes the answer (stopped,
/// then killed) is not lost: the resumed run's same attempt gets it, and ends as it would have.
/// For a callback's token and for an activity task's.
#[test]
fn an_accepted_answer_survives_its_owner_dying_before_taking_it() {
    let env = Env::new();
    env.asl(&["activity", "create", "Approve"]);
    let (callback, token) = start_waiting(&env, "cb-kill", callback_def(None), "1");
    let (activity, act_token, _) =
        take_activity_task(&env, "act-kill", activity_def(json!({})), json!({}), None);
    for (mut g, token, name) in [
        (callback, token, "cb-kill"),
        (activity, act_token, "act-kill"),
    ] {
        let pid = g.0.id().to_string();
        let signal = |s: &str| kill(s, &pid);
        // Frozen, the owner cannot take the answer; the database accepts it all the same.
        signal("-STOP");
        let o = env.asl(&["task", "success", &token, "--output", r#"{"kept": 1}"#]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        signal("-KILL");
        g.0.wait().unwrap();
        let out = resume_to_end(&env, name);
        assert_eq!(out["status"], "SUCCEEDED", "{name}: {out}");
        let output: Value = serde_json::from_str(out["output"].as_str().unwrap()).unwrap();
        assert_eq!(output, json!({"kept": 1}), "{name}");
    }
    // The resumed activity task was taken by the worker of the first run: it started, then
    // succeeded, as recorded before.
    let events = activity_events(&env, "act-kill");
    let kinds = types(&events);
    let last = kinds
        .iter()
        .rposition(|k| *k == "ActivitySucceeded")
        .expect("an ActivitySucceeded");
    assert_eq!(
        kinds[last - 2..=last],
        ["ActivityScheduled", "ActivityStarted", "ActivitySucceeded"],
        "{kinds:?}"
    );
}

/// A callback task whose request was sent, and whose answer was accepted while its process
/// was frozen, is not sent again when the resumed run takes the answer: the function runs
/// once.
#[test]
fn a_callback_answered_before_a_resume_is_not_sent_again() {
    let env = Env::new();
    let sends = env.dir.path().join("sends.txt");
    env.python_function(
        "note",
        "import json, sys\n\
         e = json.load(sys.stdin)\n\
         open(e['file'], 'a').write(e['token'] + '\\n')\n\
         print('{}')\n",
    );
    let def = json!({"StartAt": "Ask", "States": {"Ask": {"Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "note",
            "Payload": {"token.$": "$$.Task.Token", "file": sends.to_str().unwrap()}},
        "End": true}}});
    let wf = env.file("note.asl.json", &def.to_string());
    let mut g = env.spawn(&["run", wf.to_str().unwrap(), "--name", "sent-once", "--json"]);
    let token = env.wait_for("the function to be sent the token", || {
        let text = std::fs::read_to_string(&sends).ok()?;
        text.lines().next().map(String::from)
    });
    let pid = g.0.id().to_string();
    let signal = |s: &str| kill(s, &pid);
    signal("-STOP");
    let o = env.asl(&["task", "success", &token, "--output", r#"{"ok": 1}"#]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    signal("-KILL");
    g.0.wait().unwrap();
    let out = resume_to_end(&env, "sent-once");
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    let output: Value = serde_json::from_str(out["output"].as_str().unwrap()).unwrap();
    assert_eq!(output, json!({"ok": 1}));
    let text = std::fs::read_to_string(&sends).unwrap();
    assert_eq!(text.lines().count(), 1, "sent again: {text}");
}

/// A stop asked of an execution whose process was frozen, and then killed before it could
/// carry the stop out, stands: `asl resume` ends the execution ABORTED with the stop's error
/// and cause instead of running it on.
#[test]
fn a_stop_its_process_never_carried_out_is_not_forgotten_by_resume() {
    let env = Env::new();
    let wf = env.dir.path().join("sleeper.asl.json");
    let mut g = env.spawn(&["run", wf.to_str().unwrap(), "--name", "stop-frozen"]);
    env.wait_for("the Wait state to be entered", || {
        let o = env.asl(&[
            "history",
            "stop-frozen",
            "--json",
            "--type",
            "WaitStateEntered",
        ]);
        let h: Value = serde_json::from_slice(&o.stdout).ok()?;
        (!h["events"].as_array()?.is_empty()).then_some(())
    });
    let pid = g.0.id().to_string();
    let signal = |s: &str| kill(s, &pid);
    signal("-STOP");
    // The stop is recorded for the frozen process (which cannot act on it); `asl stop` would
    // wait for it, and is not waited for here.
    let stop = env.spawn(&[
        "stop",
        "stop-frozen",
        "--error",
        "Halt",
        "--cause",
        "asked to stop",
    ]);
    let db = rusqlite::Connection::open(env.dir.path().join("asl.db")).unwrap();
    env.wait_for("the stop to be recorded", || {
        let n: i64 = db
            .query_row(
                "SELECT stop_requested FROM executions WHERE name = 'stop-frozen'",
                [],
                |r| r.get(0),
            )
            .ok()?;
        (n == 1).then_some(())
    });
    drop(stop);
    signal("-KILL");
    g.0.wait().unwrap();
    let o = env.asl(&["resume", "stop-frozen", "--json"]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("was asked to stop before its process ended"),
        "{o:?}"
    );
    let d = json_of(&o);
    assert_eq!(
        (&d["status"], &d["error"], &d["cause"]),
        (&json!("ABORTED"), &json!("Halt"), &json!("asked to stop"))
    );
    let h = json_of(&env.asl(&["history", "stop-frozen", "--json"]));
    let events = h["events"].as_array().unwrap();
    let last = events.last().unwrap();
    assert_eq!(last["type"], "ExecutionAborted", "{h}");
    assert_eq!(last["executionAbortedEventDetails"]["error"], "Halt");
    // Nothing ran after the stop: no second Wait entry.
    assert_eq!(
        types(events)
            .iter()
            .filter(|t| **t == "WaitStateEntered")
            .count(),
        1
    );
}

/// An answer the owner took is never given to a later attempt: a Parallel retried after a
/// branch failed queues its activity task afresh for a worker, rather than reusing the answer
/// of the first attempt.
#[test]
fn a_retried_parallel_asks_its_activity_afresh() {
    let env = Env::new();
    env.asl(&["activity", "create", "Approve"]);
    let def = json!({"StartAt": "Both", "States": {"Both": {"Type": "Parallel",
        "Retry": [{"ErrorEquals": ["Late"], "MaxAttempts": 1, "IntervalSeconds": 1}],
        "Branches": [
            {"StartAt": "Ask", "States": {"Ask": {"Type": "Task", "Resource": APPROVE, "End": true}}},
            {"StartAt": "Nap", "States": {
                "Nap": {"Type": "Wait", "Seconds": 1, "Next": "Late"},
                "Late": {"Type": "Fail", "Error": "Late"}}}],
        "End": true}}});
    let wf = env.file("retried.asl.json", &def.to_string());
    let _run = env.spawn(&["run", wf.to_str().unwrap(), "--name", "retried", "--json"]);
    let take = || {
        env.wait_for("an activity task to be queued", || {
            let v = json_of(&env.asl(&["activity", "get-task", "Approve", "--wait-seconds", "0"]));
            v["taskToken"].as_str().map(String::from)
        })
    };
    let first = take();
    let o = env.asl(&["task", "success", &first, "--output", r#"{"n": 1}"#]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    // The retry's task is a new one, for a worker to take (not answered already).
    let second = take();
    assert_ne!(first, second);
    let o = env.asl(&["task", "success", &second, "--output", r#"{"n": 2}"#]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let d = env.wait_for("the run to end", || {
        let d = env.describe("retried");
        (d["status"] != "RUNNING").then_some(d)
    });
    assert_eq!(
        (&d["status"], &d["error"]),
        (&json!("FAILED"), &json!("Late"))
    );
    let events = activity_events(&env, "retried");
    assert_eq!(
        events
            .iter()
            .filter(|e| e["type"] == "ActivityStarted")
            .count(),
        2
    );
}
