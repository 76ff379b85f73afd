//! `asl serve`: the Step Functions API over AWS's JSON 1.0 protocol, driven as an SDK drives
//! it (`POST /`, `X-Amz-Target: AWSStepFunctions.<Action>`), on 127.0.0.1.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ROLE: &str = "arn:aws:iam::123456789012:role/tests";
const MACHINES: &str = "arn:aws:states:us-east-1:123456789012:stateMachine";

struct Server {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// `asl serve --port 0` on a fresh database, with `env`; `extra` files are written beside it
    /// first (its working directory).
    fn start(extra: &[(&str, &str)], env: &[(&str, &str)]) -> Server {
        Server::start_with(extra, env, &[], Stdio::null())
    }

    /// [`Server::start`] with more arguments, and its stderr where `stderr` says.
    fn start_with(
        extra: &[(&str, &str)],
        env: &[(&str, &str)],
        args: &[&str],
        stderr: Stdio,
    ) -> Server {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in extra {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_asl"))
            .current_dir(dir.path())
            .env("ASL_DB", dir.path().join("asl.db"))
            .args(["serve", "--port", "0"])
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        // Its first line names where it listens.
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        Server {
            child,
            port,
            _dir: dir,
        }
    }

    /// One API call: the HTTP status and the JSON answer.
    fn call(&self, action: &str, body: Value) -> (u16, Value) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let body = body.to_string();
        write!(
            s,
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.0\r\n\
             X-Amz-Target: AWSStepFunctions.{action}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: application/x-amz-json-1.0"),
            "{head}"
        );
        (status, serde_json::from_str(body).unwrap())
    }

    /// A call that must succeed.
    fn ok(&self, action: &str, body: Value) -> Value {
        let (status, v) = self.call(action, body);
        assert_eq!(status, 200, "{action}: {v}");
        v
    }

    /// A call that must fail with `code`; its message.
    fn err(&self, action: &str, body: Value, code: &str) -> String {
        let (status, v) = self.call(action, body);
        assert_eq!(
            (status, v["__type"].as_str()),
            (400, Some(code)),
            "{action}: {v}"
        );
        v["message"].as_str().unwrap().to_string()
    }

    fn create(&self, name: &str, kind: &str, def: Value) -> String {
        let v = self.ok(
            "CreateStateMachine",
            json!({"name": name, "type": kind, "roleArn": ROLE, "definition": def.to_string()}),
        );
        v["stateMachineArn"].as_str().unwrap().to_string()
    }

    /// StartExecution: the new execution's ARN.
    fn start_execution(&self, body: Value) -> String {
        self.ok("StartExecution", body)["executionArn"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// DescribeExecution until the execution has ended (bounded).
    fn ended(&self, arn: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let d = self.ok("DescribeExecution", json!({"executionArn": arn}));
            if d["status"] != "RUNNING" {
                return d;
            }
            assert!(Instant::now() < deadline, "{arn} still running: {d}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The types of a page of events, in order.
fn event_types(page: &Value) -> Vec<String> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

fn hello() -> Value {
    json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"hi": 1}, "ResultPath": "$.r", "End": true}}})
}

#[test]
fn state_machines_and_executions_through_the_api() {
    let s = Server::start(&[], &[]);
    let created = s.ok(
        "CreateStateMachine",
        json!({"name": "Hello", "roleArn": ROLE, "definition": hello().to_string()}),
    );
    let arn = format!("{MACHINES}:Hello");
    assert_eq!(created["stateMachineArn"], arn);
    // Dates are epoch seconds in the JSON protocol.
    assert!(
        created["creationDate"].as_f64().unwrap() > 1.6e9,
        "{created}"
    );
    // Creating it again as it is gives it back; another definition under the name is refused.
    assert_eq!(
        s.ok(
            "CreateStateMachine",
            json!({"name": "Hello", "roleArn": ROLE, "definition": hello().to_string()})
        ),
        created
    );
    s.err(
        "CreateStateMachine",
        json!({"name": "Hello", "roleArn": ROLE, "definition": json!({"StartAt": "X", "States": {"X": {"Type": "Succeed"}}}).to_string()}),
        "StateMachineAlreadyExists",
    );
    let d = s.ok("DescribeStateMachine", json!({"stateMachineArn": arn}));
    assert_eq!(
        (&d["name"], &d["type"], &d["status"], &d["roleArn"]),
        (
            &json!("Hello"),
            &json!("STANDARD"),
            &json!("ACTIVE"),
            &json!(ROLE)
        )
    );
    assert_eq!(
        serde_json::from_str::<Value>(d["definition"].as_str().unwrap()).unwrap(),
        hello()
    );
    let listed = s.ok("ListStateMachines", json!({}));
    assert_eq!(listed["stateMachines"][0]["stateMachineArn"], arn);
    // `asl run` of a file of the same name records its execution but leaves the API's machine.
    let file = s._dir.path().join("Hello.asl.json");
    std::fs::write(
        &file,
        json!({"StartAt": "S", "States": {"S": {"Type": "Succeed"}}}).to_string(),
    )
    .unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_asl"))
        .env("ASL_DB", s._dir.path().join("asl.db"))
        .args(["run", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    let d = s.ok("DescribeStateMachine", json!({"stateMachineArn": arn}));
    assert_eq!(
        serde_json::from_str::<Value>(d["definition"].as_str().unwrap()).unwrap(),
        hello()
    );
    assert_eq!(d["revisionId"], "1");

    let started = s.ok(
        "StartExecution",
        json!({"stateMachineArn": arn, "name": "e1", "input": "{\"a\": 1}"}),
    );
    let exec = "arn:aws:states:us-east-1:123456789012:execution:Hello:e1";
    assert_eq!(started["executionArn"], exec);
    let d = s.ended(exec);
    assert_eq!(d["status"], "SUCCEEDED");
    assert_eq!(d["input"], r#"{"a":1}"#);
    assert_eq!(d["output"], r#"{"a":1,"r":{"hi":1}}"#);
    assert!(d["stopDate"].as_f64().unwrap() >= d["startDate"].as_f64().unwrap());
    s.err(
        "StartExecution",
        json!({"stateMachineArn": arn, "name": "e1"}),
        "ExecutionAlreadyExists",
    );
    // The history, a page at a time, newest first on request.
    let first = s.ok(
        "GetExecutionHistory",
        json!({"executionArn": exec, "maxResults": 2}),
    );
    let types = event_types(&first);
    assert_eq!(types, ["ExecutionStarted", "PassStateEntered"]);
    assert!(first["events"][0]["timestamp"].as_f64().is_some());
    // Run with the state machine's role, as AWS records it.
    assert_eq!(
        first["events"][0]["executionStartedEventDetails"]["roleArn"],
        ROLE
    );
    let rest = s.ok(
        "GetExecutionHistory",
        json!({"executionArn": exec, "maxResults": 100, "nextToken": first["nextToken"]}),
    );
    assert_eq!(rest["events"].as_array().unwrap().len(), 2);
    assert_eq!(rest.get("nextToken"), None);
    let reversed = s.ok(
        "GetExecutionHistory",
        json!({"executionArn": exec, "reverseOrder": true, "includeExecutionData": false}),
    );
    assert_eq!(reversed["events"][0]["type"], "ExecutionSucceeded");
    assert_eq!(
        reversed["events"][0]["executionSucceededEventDetails"].get("output"),
        None
    );
    let listed = s.ok(
        "ListExecutions",
        json!({"stateMachineArn": arn, "statusFilter": "SUCCEEDED"}),
    );
    assert_eq!(listed["executions"][0]["executionArn"], exec);
    assert!(s.ok(
        "ListExecutions",
        json!({"stateMachineArn": arn, "statusFilter": "FAILED"})
    )["executions"]
        .as_array()
        .unwrap()
        .is_empty());

    // Stopped while it waits: ABORTED with the error and cause given.
    let waits = s.create(
        "Waits",
        "STANDARD",
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}}),
    );
    let w = s.start_execution(json!({"stateMachineArn": waits}));
    let stopped = s.ok(
        "StopExecution",
        json!({"executionArn": w, "error": "Ops.Stop", "cause": "by the test"}),
    );
    assert!(stopped["stopDate"].as_f64().is_some());
    let d = s.ended(&w);
    assert_eq!(
        (&d["status"], &d["error"], &d["cause"]),
        (&json!("ABORTED"), &json!("Ops.Stop"), &json!("by the test"))
    );

    // Interrupted (Ctrl-C) while one waits: the server ends cleanly, what the execution recorded
    // is stored, and it stays RUNNING for `asl resume`.
    let w2 = s.ok(
        "StartExecution",
        json!({"stateMachineArn": waits, "name": "w2"}),
    );
    let _ = w2;
    // Deleted while w2 runs: DELETING until it ends, as AWS has it; no new executions, and
    // its executions are still listed.
    s.ok("DeleteStateMachine", json!({"stateMachineArn": waits}));
    let d = s.ok("DescribeStateMachine", json!({"stateMachineArn": waits}));
    assert_eq!(d["status"], "DELETING");
    s.err(
        "CreateStateMachine",
        json!({"name": "Waits", "roleArn": ROLE, "definition": d["definition"]}),
        "StateMachineDeleting",
    );
    s.err(
        "UpdateStateMachine",
        json!({"stateMachineArn": waits, "definition": hello().to_string()}),
        "StateMachineDeleting",
    );
    s.err(
        "StartExecution",
        json!({"stateMachineArn": waits}),
        "StateMachineDeleting",
    );
    let listed = s.ok(
        "ListExecutions",
        json!({"stateMachineArn": waits, "statusFilter": "RUNNING"}),
    );
    assert_eq!(listed["executions"][0]["name"], "w2");
    // Without executions running, a deleted machine is gone at once.
    let gone = s.create("Gone", "STANDARD", hello());
    s.ok("DeleteStateMachine", json!({"stateMachineArn": gone}));
    let m = s.err(
        "DescribeStateMachine",
        json!({"stateMachineArn": gone}),
        "StateMachineDoesNotExist",
    );
    assert_eq!(m, format!("State Machine Does Not Exist: '{gone}'"));
    // A worker's long poll is answered at once when the server stops, with no task: the
    // server does not wait out the poll's 60 s.
    let act = s.ok("CreateActivity", json!({"name": "Idle"}))["activityArn"].clone();
    let port = s.port;
    let (sent, polling) = std::sync::mpsc::channel();
    let poll = std::thread::spawn(move || {
        let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
        // A first request on the connection, answered: the server is serving it.
        let send = |c: &mut TcpStream, action: &str, body: &str, close: bool| {
            write!(
                c,
                "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSStepFunctions.{action}\r\n\
                 Content-Length: {}\r\n{}\r\n{body}",
                body.len(),
                if close { "Connection: close\r\n" } else { "" }
            )
            .unwrap();
        };
        send(&mut c, "ListActivities", "{}", false);
        let mut r = BufReader::new(c.try_clone().unwrap());
        let mut length = 0;
        loop {
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0; length];
        r.read_exact(&mut body).unwrap();
        send(
            &mut c,
            "GetActivityTask",
            &json!({"activityArn": act}).to_string(),
            true,
        );
        sent.send(()).unwrap();
        let mut text = String::new();
        let _ = r.read_to_string(&mut text);
        text
    });
    polling.recv_timeout(Duration::from_secs(20)).unwrap();
    let mut s = s;
    let pid = s.child.id().to_string();
    let interrupted = Instant::now();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let status = s.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(interrupted.elapsed() < Duration::from_secs(10));
    // Answered with no task (or, had the poll not been read yet, its connection closed).
    let answer = poll.join().unwrap();
    assert!(answer.is_empty() || answer.ends_with("{}"), "{answer}");
    let out = Command::new(env!("CARGO_BIN_EXE_asl"))
        .env("ASL_DB", s._dir.path().join("asl.db"))
        .args(["history", "w2", "--json"])
        .output()
        .unwrap();
    let h: Value = serde_json::from_slice(&out.stdout).unwrap();
    let types = event_types(&h);
    assert_eq!(types, ["ExecutionStarted", "WaitStateEntered"]);
}

#[test]
fn the_api_refuses_what_aws_refuses() {
    let s = Server::start(&[], &[]);
    s.err(
        "DescribeStateMachines",
        json!({}),
        "UnknownOperationException",
    );
    let m = s.err("StartExecution", json!({}), "ValidationException");
    assert!(m.contains("'stateMachineArn'"), "{m}");
    // Another method or path is answered in the protocol's JSON too.
    for (request, status) in [("GET / HTTP/1.1", "405"), ("POST /other HTTP/1.1", "404")] {
        let mut c = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
        write!(
            c,
            "{request}\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        c.read_to_string(&mut text).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert_eq!(head.split(' ').nth(1), Some(status), "{text}");
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["__type"], "UnknownOperationException", "{text}");
    }
    let m = s.err(
        "CreateStateMachine",
        json!({"name": "Bad", "roleArn": ROLE,
               "definition": json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Next": "Q"}}}).to_string()}),
        "InvalidDefinition",
    );
    assert!(m.contains("/States/P/Next"), "{m}");
    s.err(
        "CreateStateMachine",
        json!({"name": "a b", "roleArn": ROLE, "definition": hello().to_string()}),
        "InvalidName",
    );
    let v = s.ok(
        "ValidateStateMachineDefinition",
        json!({"definition": json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Next": "Q"}}}).to_string()}),
    );
    assert_eq!(v["result"], "FAIL");
    assert_eq!(v["diagnostics"][0]["location"], "/States/P/Next");
    assert_eq!(
        s.ok(
            "ValidateStateMachineDefinition",
            json!({"definition": hello().to_string()})
        )["result"],
        "OK"
    );
    let m = s.err(
        "DescribeExecution",
        json!({"executionArn": "arn:aws:states:us-east-1:123456789012:execution:No:pe"}),
        "ExecutionDoesNotExist",
    );
    assert_eq!(
        m,
        "Execution Does Not Exist: 'arn:aws:states:us-east-1:123456789012:execution:No:pe'"
    );
    let arn = s.create("Hello", "STANDARD", hello());
    s.err(
        "StartExecution",
        json!({"stateMachineArn": arn, "input": "not json"}),
        "InvalidExecutionInput",
    );
    // A field of another JSON type is refused, not read as absent (an input object would
    // have started the execution with `{}`).
    let m = s.err(
        "StartExecution",
        json!({"stateMachineArn": arn, "input": {"a": 1}}),
        "SerializationException",
    );
    assert!(m.contains("'input'"), "{m}");
    s.err(
        "StartExecution",
        json!({"stateMachineArn": arn, "name": 5}),
        "SerializationException",
    );
    s.err(
        "ListExecutions",
        json!({"stateMachineArn": arn, "maxResults": "x"}),
        "SerializationException",
    );
    let m = s.err(
        "ListExecutions",
        json!({"stateMachineArn": arn, "maxResults": -1}),
        "ValidationException",
    );
    assert!(m.contains("greater than or equal to 0"), "{m}");
    assert!(
        s.ok("ListExecutions", json!({"stateMachineArn": arn}))["executions"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // StartSyncExecution is for EXPRESS state machines.
    s.err(
        "StartSyncExecution",
        json!({"stateMachineArn": arn}),
        "StateMachineTypeNotSupported",
    );
    s.err(
        "SendTaskSuccess",
        json!({"taskToken": "nope", "output": "{}"}),
        "InvalidToken",
    );
    let m = s.err(
        "DescribeExecution",
        json!({"executionArn": "nope"}),
        "InvalidArn",
    );
    assert_eq!(m, "Invalid Arn: 'Invalid ARN prefix: nope'");
    s.err(
        "ListExecutions",
        json!({"stateMachineArn": arn, "statusFilter": "BOGUS"}),
        "ValidationException",
    );
    let e = s.ok("StartExecution", json!({"stateMachineArn": arn}))["executionArn"].clone();
    s.err(
        "GetExecutionHistory",
        json!({"executionArn": e, "nextToken": "garbage"}),
        "InvalidToken",
    );
    // SendTaskFailure's limits.
    s.err(
        "SendTaskFailure",
        json!({"taskToken": "t", "error": "e".repeat(257)}),
        "ValidationException",
    );
}

#[test]
fn express_activities_and_mocks_through_the_api() {
    let mocks = json!({"StateMachines": {"Caller": {"TestCases": {"Happy": {"Call": "Ok"}}}},
        "MockedResponses": {"Ok": {"0": {"Return": {"StatusCode": 200, "Payload": {"n": 42}}}}}});
    let s = Server::start(
        &[("mocks.json", &mocks.to_string())],
        // Step Functions Local's variable for the mock config.
        &[("SFN_MOCK_CONFIG", "mocks.json")],
    );
    // EXPRESS: StartSyncExecution answers with how it ended.
    let ex = s.create(
        "Ex",
        "EXPRESS",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 7, "End": true}}}),
    );
    let r = s.ok(
        "StartSyncExecution",
        json!({"stateMachineArn": ex, "input": "{}"}),
    );
    assert_eq!(
        (&r["status"], &r["output"]),
        (&json!("SUCCEEDED"), &json!("7"))
    );
    assert!(r["executionArn"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:states:us-east-1:123456789012:express:Ex:"));

    // An activity: its task taken and completed through the API.
    let act = s.ok("CreateActivity", json!({"name": "Approve"}))["activityArn"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        s.ok("ListActivities", json!({}))["activities"][0]["activityArn"],
        act
    );
    let m = s.create(
        "Act",
        "STANDARD",
        json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": act, "End": true}}}),
    );
    let e = s.start_execution(json!({"stateMachineArn": m, "input": "{\"q\": 1}"}));
    let t = s.ok(
        "GetActivityTask",
        json!({"activityArn": act, "workerName": "w"}),
    );
    assert_eq!(t["input"], r#"{"q":1}"#);
    let token = t["taskToken"].as_str().unwrap();
    s.ok("SendTaskHeartbeat", json!({"taskToken": token}));
    s.ok(
        "SendTaskSuccess",
        json!({"taskToken": token, "output": "{\"done\": true}"}),
    );
    let d = s.ended(&e);
    assert_eq!(
        (&d["status"], &d["output"]),
        (&json!("SUCCEEDED"), &json!(r#"{"done":true}"#))
    );
    s.err(
        "SendTaskSuccess",
        json!({"taskToken": token, "output": "{}"}),
        "TaskTimedOut",
    );

    // A state machine created through the API starts another (`.sync:2`).
    s.create(
        "Child",
        "STANDARD",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"got.$": "$.n"}, "End": true}}}),
    );
    let parent = s.create(
        "Parent",
        "STANDARD",
        json!({"StartAt": "S", "States": {"S": {"Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution.sync:2",
            "Parameters": {"StateMachineArn": format!("{MACHINES}:Child"), "Input": {"n": 5}},
            "OutputPath": "$.Output", "End": true}}}),
    );
    let e = s.start_execution(json!({"stateMachineArn": parent}));
    let d = s.ended(&e);
    assert_eq!(
        (&d["status"], &d["output"]),
        (&json!("SUCCEEDED"), &json!(r#"{"got":5}"#))
    );

    // Step Functions Local's `ARN#TestCase` runs the mock config's test case.
    let caller = s.create(
        "Caller",
        "STANDARD",
        json!({"StartAt": "Call", "States": {"Call": {"Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f"},
            "OutputPath": "$.Payload", "End": true}}}),
    );
    let e = s.start_execution(json!({"stateMachineArn": format!("{caller}#Happy")}));
    let d = s.ended(&e);
    assert_eq!(
        (&d["status"], &d["output"]),
        (&json!("SUCCEEDED"), &json!(r#"{"n":42}"#))
    );
    s.err(
        "StartExecution",
        json!({"stateMachineArn": format!("{caller}#NoSuchCase")}),
        "ValidationException",
    );
}

#[test]
fn a_failed_execution_is_redriven_through_the_api() {
    let s = Server::start(&[], &[]);
    let act = s.ok("CreateActivity", json!({"name": "Flaky"}))["activityArn"]
        .as_str()
        .unwrap()
        .to_string();
    let m = s.create(
        "Redo",
        "STANDARD",
        json!({"StartAt": "First", "States": {
            "First": {"Type": "Pass", "Result": "kept", "ResultPath": "$.first", "Next": "Work"},
            "Work": {"Type": "Task", "Resource": act, "ResultPath": "$.work", "End": true}}}),
    );
    let e = s.start_execution(json!({"stateMachineArn": m}));
    let take = || {
        let t = s.ok("GetActivityTask", json!({"activityArn": act}));
        t["taskToken"].as_str().unwrap().to_string()
    };
    s.ok(
        "SendTaskFailure",
        json!({"taskToken": take(), "error": "Flaky.Down", "cause": "try later"}),
    );
    let d = s.ended(&e);
    assert_eq!(
        (&d["status"], &d["error"]),
        (&json!("FAILED"), &json!("Flaky.Down"))
    );
    assert_eq!(d["redriveStatus"], "REDRIVABLE");
    let r = s.ok("RedriveExecution", json!({"executionArn": e}));
    assert!(r["redriveDate"].as_f64().is_some(), "{r}");
    // The Task runs again (its activity task is queued anew); the Pass before it does not.
    s.ok(
        "SendTaskSuccess",
        json!({"taskToken": take(), "output": "\"fine\""}),
    );
    let d = s.ended(&e);
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    assert_eq!(d["output"], r#"{"first":"kept","work":"fine"}"#);
    assert_eq!(d["redriveCount"], 1);
    let h = s.ok("GetExecutionHistory", json!({"executionArn": e}));
    let types = event_types(&h);
    assert_eq!(
        types.iter().filter(|t| **t == "PassStateEntered").count(),
        1
    );
    assert!(types.iter().any(|t| t == "ExecutionRedriven"), "{types:?}");
    let m = s.err(
        "RedriveExecution",
        json!({"executionArn": e}),
        "ExecutionNotRedrivable",
    );
    assert!(m.contains("SUCCEEDED"), "{m}");
}

/// DeleteStateMachine while an execution of it waits on an activity task: AWS keeps the machine
/// DELETING, and "on the next state transition, the state machine's executions are
/// terminated": the execution fails with States.Runtime and the cause AWS gives ("State
/// machine NAME has been deleted.") instead of entering its next state, here inside a Parallel
/// branch. A child it started of another machine runs on; the failed execution cannot be
/// redriven; and then the machine is gone. An EXPRESS execution of a deleted machine runs on.
#[test]
fn deleting_a_machine_fails_its_executions_at_their_next_transition() {
    let s = Server::start_with(&[], &[], &["--wait-scale", "0.05"], Stdio::null());
    let activity = |name: &str| {
        s.ok("CreateActivity", json!({"name": name}))["activityArn"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (oven, kid) = (activity("Oven"), activity("Kid"));
    let child = s.create(
        "Child",
        "STANDARD",
        json!({"StartAt": "Play", "States": {"Play": {"Type": "Task", "Resource": kid, "End": true}}}),
    );
    // A machine named `express` is STANDARD all the same.
    let m = s.create(
        "express",
        "STANDARD",
        json!({"StartAt": "Start", "States": {
            "Start": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution",
                      "Parameters": {"StateMachineArn": child}, "ResultPath": null, "Next": "Both"},
            "Both": {"Type": "Parallel", "End": true, "Branches": [{"StartAt": "Bake", "States": {
                "Bake": {"Type": "Task", "Resource": oven, "Next": "Box"},
                "Box": {"Type": "Pass", "End": true}}}]}}}),
    );
    let e = s.start_execution(json!({"stateMachineArn": m}));
    let token = s.ok("GetActivityTask", json!({"activityArn": oven}))["taskToken"].clone();
    let kid_token = s.ok("GetActivityTask", json!({"activityArn": kid}))["taskToken"].clone();
    s.ok("DeleteStateMachine", json!({"stateMachineArn": m}));
    let d = s.ok("DescribeStateMachine", json!({"stateMachineArn": m}));
    assert_eq!(d["status"], "DELETING");
    // The task still ends as its worker says; the transition after it ends the execution.
    s.ok(
        "SendTaskSuccess",
        json!({"taskToken": token, "output": "{\"pizza\": 1}"}),
    );
    let d = s.ended(&e);
    assert_eq!(
        (&d["status"], &d["error"], &d["cause"]),
        (
            &json!("FAILED"),
            &json!("States.Runtime"),
            &json!("State machine express has been deleted.")
        ),
        "{d}"
    );
    let h = s.ok("GetExecutionHistory", json!({"executionArn": e}));
    let types = event_types(&h);
    assert_eq!(
        types[types.len() - 3..],
        ["ActivitySucceeded", "TaskStateExited", "ExecutionFailed"],
        "{types:?}"
    );
    let last = &h["events"][types.len() - 1];
    assert_eq!(
        last["executionFailedEventDetails"],
        json!({"error": "States.Runtime", "cause": "State machine express has been deleted."})
    );
    // It follows the branch's last event.
    assert_eq!(last["previousEventId"], h["events"][types.len() - 2]["id"]);
    // Not redrivable: its machine is gone (DELETING until its last execution ended).
    assert_eq!(d["redriveStatus"], "NOT_REDRIVABLE", "{d}");
    s.err(
        "RedriveExecution",
        json!({"executionArn": e}),
        "ExecutionNotRedrivable",
    );
    s.err(
        "DescribeStateMachine",
        json!({"stateMachineArn": m}),
        "StateMachineDoesNotExist",
    );
    // The child it started runs on, to its own end.
    let kids = s.ok("ListExecutions", json!({"stateMachineArn": child}));
    let kid_arn = kids["executions"][0]["executionArn"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(kids["executions"][0]["status"], "RUNNING", "{kids}");
    s.ok(
        "SendTaskSuccess",
        json!({"taskToken": kid_token, "output": "{}"}),
    );
    assert_eq!(s.ended(&kid_arn)["status"], "SUCCEEDED");
    // An EXPRESS execution of a deleted machine goes on (a 20 s Wait, 1 s at this scale).
    let quick = s.create(
        "Quick",
        "EXPRESS",
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 20, "Next": "P"},
                                          "P": {"Type": "Pass", "End": true}}}),
    );
    let q = s.start_execution(json!({"stateMachineArn": quick}));
    s.ok("DeleteStateMachine", json!({"stateMachineArn": quick}));
    assert_eq!(s.ended(&q)["status"], "SUCCEEDED");
}

#[test]
fn idempotent_calls_and_stable_pages_as_aws_has_them() {
    let s = Server::start(&[], &[]);
    let waits =
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}});
    let arn = s.create("Slow", "STANDARD", waits.clone());
    // CreateStateMachine again: another role changes nothing; another logging is a conflict.
    let again = s.ok(
        "CreateStateMachine",
        json!({"name": "Slow", "roleArn": "arn:aws:iam::123456789012:role/other",
               "definition": waits.to_string()}),
    );
    assert_eq!(again["stateMachineArn"], arn);
    s.err(
        "CreateStateMachine",
        json!({"name": "Slow", "roleArn": ROLE, "definition": waits.to_string(),
               "loggingConfiguration": {"level": "ALL", "includeExecutionData": true}}),
        "StateMachineAlreadyExists",
    );
    s.ok(
        "UpdateStateMachine",
        json!({"stateMachineArn": arn, "loggingConfiguration": {"level": "ERROR", "includeExecutionData": true}}),
    );
    assert_eq!(
        s.ok("DescribeStateMachine", json!({"stateMachineArn": arn}))["loggingConfiguration"],
        json!({"level": "ERROR", "includeExecutionData": true})
    );
    // StartExecution again with the same name and input while it runs: the same execution.
    let first = s.ok(
        "StartExecution",
        json!({"stateMachineArn": arn, "name": "once", "input": "{\"a\": 1}"}),
    );
    let again = s.ok(
        "StartExecution",
        json!({"stateMachineArn": arn, "name": "once", "input": "{\"a\":1}"}),
    );
    assert_eq!(again, first);
    s.err(
        "StartExecution",
        json!({"stateMachineArn": arn, "name": "once", "input": "{\"a\": 2}"}),
        "ExecutionAlreadyExists",
    );
    // Pages of ListExecutions stay where they were when executions start meanwhile.
    for n in ["a", "b", "c"] {
        s.ok("StartExecution", json!({"stateMachineArn": arn, "name": n}));
    }
    let names = |v: &Value| -> Vec<String> {
        v["executions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect()
    };
    let p1 = s.ok(
        "ListExecutions",
        json!({"stateMachineArn": arn, "maxResults": 2}),
    );
    assert_eq!(names(&p1), ["c", "b"]);
    s.ok(
        "StartExecution",
        json!({"stateMachineArn": arn, "name": "d"}),
    );
    let p2 = s.ok(
        "ListExecutions",
        json!({"stateMachineArn": arn, "maxResults": 2, "nextToken": p1["nextToken"]}),
    );
    assert_eq!(names(&p2), ["a", "once"]);
    // A token is its listing's only.
    s.err(
        "ListExecutions",
        json!({"stateMachineArn": arn, "statusFilter": "RUNNING", "nextToken": p1["nextToken"]}),
        "InvalidToken",
    );
    // Tags, as deployment tools set them.
    let tagged = s.ok(
        "CreateStateMachine",
        json!({"name": "Tagged", "roleArn": ROLE, "definition": hello().to_string(),
               "tags": [{"key": "team", "value": "pizza"}]}),
    )["stateMachineArn"]
        .clone();
    s.ok(
        "TagResource",
        json!({"resourceArn": tagged, "tags": [{"key": "env", "value": "local"}, {"key": "team", "value": "ovens"}]}),
    );
    s.ok(
        "UntagResource",
        json!({"resourceArn": tagged, "tagKeys": ["env"]}),
    );
    assert_eq!(
        s.ok("ListTagsForResource", json!({"resourceArn": tagged}))["tags"],
        json!([{"key": "team", "value": "ovens"}])
    );
    // At most 50 on a resource, of AWS's characters; a refused create creates nothing, and
    // an idempotent create leaves the tags as they are.
    let many = |n: usize, from: usize| -> Vec<Value> {
        (from..from + n)
            .map(|i| json!({"key": format!("k{i}"), "value": "v"}))
            .collect()
    };
    s.err(
        "CreateStateMachine",
        json!({"name": "Crowded", "roleArn": ROLE, "definition": hello().to_string(), "tags": many(51, 0)}),
        "TooManyTags",
    );
    s.err(
        "DescribeStateMachine",
        json!({"stateMachineArn": format!("{MACHINES}:Crowded")}),
        "StateMachineDoesNotExist",
    );
    s.err(
        "TagResource",
        json!({"resourceArn": tagged, "tags": many(50, 0)}),
        "TooManyTags",
    );
    s.err(
        "TagResource",
        json!({"resourceArn": tagged, "tags": [{"key": "bad#key", "value": "v"}]}),
        "ValidationException",
    );
    s.ok(
        "CreateStateMachine",
        json!({"name": "Tagged", "roleArn": ROLE, "definition": hello().to_string(),
               "tags": [{"key": "extra", "value": "x"}]}),
    );
    assert_eq!(
        s.ok("ListTagsForResource", json!({"resourceArn": tagged}))["tags"],
        json!([{"key": "team", "value": "ovens"}])
    );
    s.ok("DeleteStateMachine", json!({"stateMachineArn": tagged}));
    s.err(
        "ListTagsForResource",
        json!({"resourceArn": tagged}),
        "ResourceNotFound",
    );
    // A DISTRIBUTED Map's Map Run, as ListMapRuns and DescribeMapRun give it.
    let fan = s.create(
        "Fan",
        "STANDARD",
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items", "Label": "Each",
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                              "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
            "End": true}}}),
    );
    let e = s.ok(
        "StartExecution",
        json!({"stateMachineArn": fan, "input": "{\"items\": [1, 2, 3]}"}),
    )["executionArn"]
        .clone();
    assert_eq!(s.ended(e.as_str().unwrap())["status"], "SUCCEEDED");
    let runs = s.ok("ListMapRuns", json!({"executionArn": e}));
    let run = &runs["mapRuns"][0];
    assert_eq!(run["executionArn"], e);
    assert!(run["stateMachineArn"]
        .as_str()
        .unwrap()
        .ends_with(":stateMachine:Fan/Each"));
    let d = s.ok("DescribeMapRun", json!({"mapRunArn": run["mapRunArn"]}));
    assert_eq!(d["status"], "SUCCEEDED");
    assert_eq!(d["itemCounts"]["succeeded"], 3);
    assert!(d["startDate"].as_f64().is_some());
    // An EXPRESS machine also starts asynchronously.
    let ex = s.create(
        "Quick",
        "EXPRESS",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    );
    let e = s.ok("StartExecution", json!({"stateMachineArn": ex}));
    assert!(e["executionArn"]
        .as_str()
        .unwrap()
        .contains(":express:Quick:"));
}

#[test]
fn test_state_runs_one_state_as_aws_does() {
    let s = Server::start(&[], &[]);
    let test = |state: Value, input: &str, level: &str| {
        s.ok(
            "TestState",
            json!({"definition": state.to_string(), "roleArn": ROLE, "input": input,
                   "inspectionLevel": level}),
        )
    };
    // A Pass: its output and where it goes (none at its end).
    let v = test(
        json!({"Type": "Pass", "Result": {"a": 1}, "ResultPath": "$.r", "Next": "After"}),
        r#"{"x": 1}"#,
        "INFO",
    );
    assert_eq!(
        v,
        json!({"output": r#"{"x":1,"r":{"a":1}}"#, "nextState": "After", "status": "SUCCEEDED"})
    );
    let v = test(json!({"Type": "Succeed"}), r#"{"z": 2}"#, "INFO");
    assert_eq!(v, json!({"output": r#"{"z":2}"#, "status": "SUCCEEDED"}));
    // A Choice names the state it chose.
    let v = test(
        json!({"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Big"}], "Default": "Small"}),
        r#"{"n": 5}"#,
        "INFO",
    );
    assert_eq!(v["nextState"], "Big");
    // A Fail: its error and cause, no output.
    let v = test(
        json!({"Type": "Fail", "Error": "E", "Cause": "C"}),
        "{}",
        "INFO",
    );
    assert_eq!(v, json!({"error": "E", "cause": "C", "status": "FAILED"}));
    // A Task whose error a retrier takes is RETRIABLE, not retried; DEBUG says which retrier
    // and the back-off after the retries already made.
    let missing = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "nope"},
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "BackoffRate": 2, "MaxAttempts": 5}],
        "End": true});
    let v = test(missing.clone(), "{}", "INFO");
    assert_eq!(v["status"], "RETRIABLE");
    assert_eq!(v["error"], "Lambda.ResourceNotFoundException");
    assert_eq!(v.get("inspectionData"), None);
    let v = s.ok(
        "TestState",
        json!({"definition": missing.to_string(), "roleArn": ROLE, "inspectionLevel": "DEBUG",
               "stateConfiguration": {"retrierRetryCount": 4}}),
    );
    assert_eq!(
        v["inspectionData"]["errorDetails"],
        json!({"retryIndex": 0, "retryBackoffIntervalSeconds": 16})
    );
    let v = s.ok(
        "TestState",
        json!({"definition": missing.to_string(), "roleArn": ROLE, "inspectionLevel": "DEBUG",
               "stateConfiguration": {"retrierRetryCount": 5}}),
    );
    assert_eq!(v["status"], "FAILED");
    assert_eq!(
        v["inspectionData"]["errorDetails"],
        json!({"retryIndex": 0})
    );
    // Caught: the catcher's output and where it goes.
    let v = test(
        json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
               "Parameters": {"FunctionName": "nope"},
               "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Handle"}],
               "Next": "Ok"}),
        "{}",
        "DEBUG",
    );
    assert_eq!(v["status"], "CAUGHT_ERROR");
    assert_eq!(v["nextState"], "Handle");
    assert_eq!(v["error"], "Lambda.ResourceNotFoundException");
    let out: Value = serde_json::from_str(v["output"].as_str().unwrap()).unwrap();
    assert_eq!(out["err"]["Error"], "Lambda.ResourceNotFoundException");
    assert_eq!(
        v["inspectionData"]["errorDetails"],
        json!({"catchIndex": 0})
    );
    assert_eq!(
        v["inspectionData"]["afterParameters"],
        r#"{"FunctionName":"nope"}"#
    );
    // A state of a whole state machine, by name.
    let machine = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Result": 2, "End": true}}});
    let v = s.ok(
        "TestState",
        json!({"definition": machine.to_string(), "stateName": "B"}),
    );
    assert_eq!(v, json!({"output": "2", "status": "SUCCEEDED"}));
    // What AWS refuses.
    assert_eq!(
        s.err(
            "TestState",
            json!({"definition": machine.to_string(), "stateName": "Z"}),
            "ValidationException"
        ),
        "State not found in definition"
    );
    s.err(
        "TestState",
        json!({"definition": json!({"Type": "Map", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}).to_string()}),
        "InvalidDefinition",
    );
    assert_eq!(
        s.err(
            "TestState",
            json!({"definition": missing.to_string()}),
            "ValidationException"
        ),
        "RoleArn must be specified when testing a Task state"
    );
    s.err(
        "TestState",
        json!({"definition": json!({"Type": "Pass", "Next": 3}).to_string()}),
        "InvalidDefinition",
    );

    // A mock stands in for the Task's service (no role needed then): a result, or an error
    // its catcher takes.
    let call = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "f"}, "OutputPath": "$.Payload",
        "Catch": [{"ErrorEquals": ["Oops"], "ResultPath": "$.err", "Next": "Handle"}],
        "Next": "Done"});
    let v = s.ok(
        "TestState",
        json!({"definition": call.to_string(),
               "mock": {"result": r#"{"StatusCode": 200, "Payload": {"n": 42}}"#}}),
    );
    assert_eq!(
        v,
        json!({"output": r#"{"n":42}"#, "nextState": "Done", "status": "SUCCEEDED"})
    );
    let v = s.ok(
        "TestState",
        json!({"definition": call.to_string(),
               "mock": {"errorOutput": {"error": "Oops", "cause": "mocked"}}}),
    );
    assert_eq!(
        (&v["status"], &v["nextState"], &v["error"], &v["cause"]),
        (
            &json!("CAUGHT_ERROR"),
            &json!("Handle"),
            &json!("Oops"),
            &json!("mocked")
        )
    );
    assert_eq!(
        s.err(
            "TestState",
            json!({"definition": json!({"Type": "Pass", "End": true}).to_string(),
                   "mock": {"result": "{}"}}),
            "ValidationException"
        ),
        "State type 'Pass' is not supported when a mock is specified"
    );
    s.err(
        "TestState",
        json!({"definition": call.to_string(), "mock": {"result": "not json"}}),
        "ValidationException",
    );

    // A state that goes to itself ends there, as any other transition.
    let v = s.ok(
        "TestState",
        json!({"definition": json!({"Type": "Choice", "Choices": [{"Variable": "$.a", "NumericEquals": 1, "Next": "TestState"}], "Default": "Other"}).to_string(),
               "stateName": "TestState", "input": "{\"a\": 1}"}),
    );
    assert_eq!(
        v,
        json!({"output": r#"{"a":1}"#, "nextState": "TestState", "status": "SUCCEEDED"})
    );
    // Retriers come before catchers: an error both take is RETRIABLE while attempts are left.
    let both = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "f"},
        "Retry": [{"ErrorEquals": ["Oops"], "MaxAttempts": 2}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handle"}], "End": true});
    let mocked_error = json!({"errorOutput": {"error": "Oops", "cause": "c"}});
    let v = s.ok(
        "TestState",
        json!({"definition": both.to_string(), "mock": mocked_error}),
    );
    assert_eq!(
        v,
        json!({"status": "RETRIABLE", "error": "Oops", "cause": "c"})
    );
    let v = s.ok(
        "TestState",
        json!({"definition": both.to_string(), "mock": mocked_error,
               "stateConfiguration": {"retrierRetryCount": 2}}),
    );
    assert_eq!(
        (&v["status"], &v["nextState"]),
        (&json!("CAUGHT_ERROR"), &json!("Handle"))
    );
    // The engine's own States.Runtime is neither retried nor caught by States.ALL.
    let runtime = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "f"}, "ResultSelector": {"x.$": "$.missing"},
        "Retry": [{"ErrorEquals": ["States.ALL"]}], "End": true});
    let v = s.ok(
        "TestState",
        json!({"definition": runtime.to_string(), "mock": {"result": "{}"}}),
    );
    assert_eq!(
        (&v["status"], &v["error"]),
        (&json!("FAILED"), &json!("States.Runtime"))
    );
    // A .sync task needs a mock here.
    s.err(
        "TestState",
        json!({"definition": json!({"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:X"}, "End": true}).to_string(),
               "roleArn": ROLE}),
        "ValidationException",
    );

    // DEBUG: each step's value, with the keys recorded against AWS.
    let v = test(
        json!({"Type": "Pass", "InputPath": "$.initialData", "Parameters": {"x.$": "$.v"},
               "ResultPath": "$.modifiedData", "End": true}),
        r#"{"initialData": {"v": 1}}"#,
        "DEBUG",
    );
    assert_eq!(
        v["inspectionData"],
        json!({"input": r#"{"initialData":{"v":1}}"#, "afterInputPath": r#"{"v":1}"#,
               "afterParameters": r#"{"x":1}"#, "afterResultSelector": r#"{"x":1}"#,
               "afterResultPath": r#"{"initialData":{"v":1},"modifiedData":{"x":1}}"#})
    );
    let v = s.ok(
        "TestState",
        json!({"definition": json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                   "Parameters": {"FunctionName": "f"}, "ResultSelector": {"n.$": "$.Payload.n"},
                   "ResultPath": "$.out", "End": true}).to_string(),
               "mock": {"result": r#"{"Payload": {"n": 7}}"#}, "inspectionLevel": "DEBUG"}),
    );
    assert_eq!(
        v["inspectionData"],
        json!({"input": "{}", "afterInputPath": "{}", "afterParameters": r#"{"FunctionName":"f"}"#,
               "result": r#"{"Payload":{"n":7}}"#, "afterResultSelector": r#"{"n":7}"#,
               "afterResultPath": r#"{"out":{"n":7}}"#})
    );
    // Variables the state reads, given with the test.
    let v = s.ok(
        "TestState",
        json!({"definition": json!({"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $x + 1 %}", "End": true}).to_string(),
               "variables": "{\"x\": 5}", "inspectionLevel": "DEBUG"}),
    );
    assert_eq!(v["output"], "6");
    assert_eq!(v["inspectionData"]["variables"], r#"{"x":5}"#);
    // After the state: what it assigned over what was given; its own steps only (not those of
    // the state it goes to).
    let v = s.ok(
        "TestState",
        json!({"definition": json!({"Type": "Pass", "InputPath": "$.a", "Assign": {"x.$": "$.b"},
                                    "Next": "After"}).to_string(),
               "input": "{\"a\": {\"b\": 2}}", "variables": "{\"x\": 5, \"y\": 1}",
               "inspectionLevel": "DEBUG"}),
    );
    assert_eq!(v["inspectionData"]["afterInputPath"], r#"{"b":2}"#);
    let vars: Value =
        serde_json::from_str(v["inspectionData"]["variables"].as_str().unwrap()).unwrap();
    assert_eq!(vars, json!({"x": 2, "y": 1}));
    s.err(
        "TestState",
        json!({"definition": json!({"Type": "Succeed"}).to_string(), "variables": {"x": 1}}),
        "SerializationException",
    );
    s.err(
        "TestState",
        json!({"definition": json!({"Type": "Succeed"}).to_string(), "variables": "{\"bad name\": 1}"}),
        "ValidationException",
    );

    // The same from the command line.
    let file = s._dir.path().join("choice.json");
    std::fs::write(
        &file,
        json!({"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Big"}], "Default": "Small"}).to_string(),
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_asl"))
        .args([
            "test-state",
            file.to_str().unwrap(),
            "--input",
            r#"{"n": 0}"#,
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v,
        json!({"output": r#"{"n":0}"#, "nextState": "Small", "status": "SUCCEEDED"})
    );
    // An activity task, answered by a mock given on the command line.
    let file = s._dir.path().join("activity.json");
    std::fs::write(
        &file,
        json!({"Type": "Task", "Resource": "arn:aws:states:us-east-1:123456789012:activity:A", "End": true}).to_string(),
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_asl"))
        .args([
            "test-state",
            file.to_str().unwrap(),
            "--mock",
            r#"{"result": "\"approved\""}"#,
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v, json!({"output": r#""approved""#, "status": "SUCCEEDED"}));
}

/// TestState's November 2025 additions, against AWS's answers as LocalStack recorded them
/// (`tests/aws/services/stepfunctions/v2/test_state/`): a Map or Parallel with a mock (the
/// mock in place of its iterations or branches), `mapIterationFailureCount`, `context`, and a
/// `stateName` inside a Map's processor.
#[test]
fn test_state_mocks_maps_parallels_and_context_as_aws_does() {
    let s = Server::start(&[], &[]);
    let test = |body: Value| s.ok("TestState", body);
    // JSON text in an answer, parsed, so that spacing does not matter.
    let parsed = |v: &Value| -> Value { serde_json::from_str(v.as_str().unwrap()).unwrap() };
    let values = json!({"Values": ["first", "second", "third"]}).to_string();
    // A JSONata Map with a tolerance and catchers (test_state_configuration's
    // BASE_MAP_STATE_CATCH).
    let map_catch = json!({"Type": "Map", "QueryLanguage": "JSONata",
        "Items": "{% $states.input.Values %}",
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "TestState", "States": {"TestState": {"Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f", "End": true}}},
        "Catch": [{"ErrorEquals": ["MockException"], "Output": "{% $states %}", "Next": "HandleMockError"},
                  {"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "Output": "{% $states %}",
                   "Next": "HandleThreshold"}],
        "ToleratedFailureCount": 1, "End": true})
    .to_string();
    let below = test(
        json!({"definition": map_catch, "input": values, "inspectionLevel": "DEBUG",
        "mock": {"result": "[1, 1, 1]"}, "stateConfiguration": {"mapIterationFailureCount": 0}}),
    );
    assert_eq!(
        (&below["status"], parsed(&below["output"])),
        (&json!("SUCCEEDED"), json!([1, 1, 1]))
    );
    assert_eq!(
        below["inspectionData"],
        json!({"input": values, "maxConcurrency": 0, "toleratedFailureCount": 1})
    );
    let over = test(
        json!({"definition": map_catch, "input": values, "inspectionLevel": "DEBUG",
        "mock": {"result": "[0, 0, 1]"}, "stateConfiguration": {"mapIterationFailureCount": 2}}),
    );
    assert_eq!(
        (
            &over["status"],
            &over["nextState"],
            &over["error"],
            &over["cause"]
        ),
        (
            &json!("CAUGHT_ERROR"),
            &json!("HandleThreshold"),
            &json!("States.ExceedToleratedFailureThreshold"),
            &json!("The specified tolerated failure threshold was exceeded")
        )
    );
    let out = parsed(&over["output"]);
    let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["input", "context", "errorOutput"]);
    assert_eq!(
        out["errorOutput"],
        json!({"Error": "States.ExceedToleratedFailureThreshold",
               "Cause": "The specified tolerated failure threshold was exceeded"})
    );
    assert_eq!(
        over["inspectionData"]["errorDetails"],
        json!({"catchIndex": 1})
    );
    // A percentage is judged against the items, in either query language.
    let percent =
        json!({"Type": "Map", "QueryLanguage": "JSONata", "Items": "{% $states.input.Values %}",
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
        "ToleratedFailurePercentage": 10, "End": true})
        .to_string();
    let v = test(
        json!({"definition": percent, "input": values, "mock": {"result": "[0, 0, 1]"},
        "stateConfiguration": {"mapIterationFailureCount": 2}}),
    );
    assert_eq!(v["error"], "States.ExceedToleratedFailureThreshold", "{v}");
    let m = s.err(
        "TestState",
        json!({"definition": percent, "input": values, "mock": {"result": "[1]"},
               "stateConfiguration": {"mapIterationFailureCount": -5}}),
        "ValidationException",
    );
    assert!(m.contains("greater than or equal to 0"), "{m}");
    // A mocked error ends the Map with it, whatever the count (test_state_machine_with_state_error:
    // a Map inside a state machine, named by stateName).
    let machine = json!({"StartAt": "State0", "States": {"State0": {"Type": "Map",
        "ItemsPath": "$.Values", "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED",
            "ExecutionType": "STANDARD"}, "StartAt": "HandleItem",
            "States": {"HandleItem": {"Type": "Pass", "End": true}}},
        "ToleratedFailureCount": 2, "End": true}}})
    .to_string();
    let failed = test(
        json!({"definition": machine, "stateName": "State0", "input": values,
        "inspectionLevel": "DEBUG",
        "mock": {"errorOutput": {"error": "MockException", "cause": "Mock the error cause."}},
        "stateConfiguration": {"mapIterationFailureCount": 2, "errorCausedByState": "HandleItem"}}),
    );
    assert_eq!(
        (&failed["status"], &failed["error"], &failed["cause"]),
        (
            &json!("FAILED"),
            &json!("MockException"),
            &json!("Mock the error cause.")
        )
    );
    let data = &failed["inspectionData"];
    assert_eq!(
        (
            parsed(&data["afterItemsPath"]),
            &data["maxConcurrency"],
            &data["toleratedFailureCount"]
        ),
        (json!(["first", "second", "third"]), &json!(0), &json!(2))
    );
    // stateName reaches into the Map's processor (test_base_state_name).
    let inner = test(json!({"definition": machine, "stateName": "HandleItem",
        "input": "{\"Value\": \"HelloWorld\"}"}));
    assert_eq!(
        (&inner["status"], parsed(&inner["output"])),
        (&json!("SUCCEEDED"), json!({"Value": "HelloWorld"}))
    );
    // A Parallel's mock gives one item a branch.
    let parallel = json!({"Type": "Parallel", "Branches": [
        {"StartAt": "B1", "States": {"B1": {"Type": "Pass", "End": true}}},
        {"StartAt": "B2", "States": {"B2": {"Type": "Pass", "End": true}}}], "End": true})
    .to_string();
    let both = test(json!({"definition": parallel, "mock": {"result": "[1, 2]"}}));
    assert_eq!(parsed(&both["output"]), json!([1, 2]));
    for (mock, message) in [
        (
            "[1]",
            "Mocked result must contain the same number of items as number of Parallel branches.",
        ),
        ("{}", "Mocked result must be an array."),
    ] {
        let m = s.err(
            "TestState",
            json!({"definition": parallel, "mock": {"result": mock}}),
            "ValidationException",
        );
        assert_eq!(m, message);
    }
    // The context replaces `$$` whole (test_state_map_context_object, an inline Map); an ARN
    // in it without a region or account gets them.
    let context = json!({"Execution": {"Id": "arn:aws:states:::execution:M:e", "Input":
        {"values": ["charizard", "pikachu", "bulbasaur"]}, "Name": "e"}});
    let v = test(
        json!({"definition": json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "f"}, "ResultSelector": {"id.$": "$$.Execution.Id"},
            "End": true}).to_string(),
        "context": context.to_string(), "mock": {"result": "{}"}, "nextToken": null}),
    );
    assert_eq!(
        parsed(&v["output"]),
        json!({"id": "arn:aws:states:us-east-1:123456789012:execution:M:e"})
    );
    let items = |path: &str| {
        json!({"Type": "Map", "ItemsPath": path, "MaxConcurrency": 1, "ItemProcessor":
            {"StartAt": "HandleItem", "States": {"HandleItem": {"Type": "Pass", "End": true}}},
            "End": true})
        .to_string()
    };
    let ask = |path: &str| {
        test(
            json!({"definition": items(path), "input": "[\"fire\", \"electricity\", \"grass\"]",
            "inspectionLevel": "TRACE", "context": context.to_string(),
            "mock": {"result": "[\"CHARIZARD\", \"PIKACHU\", \"BULBASAUR\"]"}}),
        )
    };
    let ok = ask("$$.Execution.Input.values");
    assert_eq!(ok["status"], "SUCCEEDED");
    assert_eq!(
        parsed(&ok["inspectionData"]["afterItemsPath"]),
        json!(["charizard", "pikachu", "bulbasaur"])
    );
    assert_eq!(ok["inspectionData"]["maxConcurrency"], 1);
    assert!(ok["inspectionData"].get("result").is_none(), "{ok}");
    let no_array = ask("$$.Execution.Input");
    assert_eq!(
        (&no_array["status"], &no_array["error"], &no_array["cause"]),
        (
            &json!("FAILED"),
            &json!("States.Runtime"),
            &json!("Reference path \"$.Execution.Input\" must point to array.")
        )
    );
    // The context's checks (test_state_context_object_validation_failures).
    let task = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "f"}, "End": true})
    .to_string();
    for (given, message) in [
        (json!({"Execution": {"Id": 1}}), "Execution.Id must be a string"),
        (json!({"Map": {}}), "'Map' field is not supported when mocking a Context object"),
        (json!({"Execution": {"pokemon": "squirtle"}}), "Field 'pokemon' is not allowed"),
        (json!({"Pokedex": {}}), "Field 'Pokedex' is not allowed"),
        (json!({"Task": {"Token": "abcd123"}}), "Context object contains 'Task' when state is not a Task state with a '.sync' or '.waitForTaskToken' service integration pattern"),
    ] {
        let m = s.err(
            "TestState",
            json!({"definition": task, "mock": {"result": "{}"}, "context": given.to_string()}),
            "ValidationException",
        );
        assert_eq!(m, format!("Invalid Context object provided: {message}"));
    }
    // A callback task reads its token from the context (test_state_wait_task_context_object).
    let wait =
        json!({"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/111111111111/q",
            "MessageBody": {"TaskToken.$": "$$.Task.Token"}},
        "ResultPath": "$.SQS", "Next": "NEXT_STATE"})
        .to_string();
    let v = test(json!({"definition": wait, "inspectionLevel": "TRACE",
        "context": json!({"Task": {"Token": "abcd123"}}).to_string(),
        "mock": {"result": "{\"pokemon\": 1}"}}));
    assert_eq!(
        (&v["status"], &v["nextState"], parsed(&v["output"])),
        (
            &json!("SUCCEEDED"),
            &json!("NEXT_STATE"),
            json!({"SQS": {"pokemon": 1}})
        )
    );
    assert_eq!(
        parsed(&v["inspectionData"]["afterParameters"])["MessageBody"]["TaskToken"],
        "abcd123"
    );
    // Mocks and what goes with them.
    let m = s.err(
        "TestState",
        json!({"definition": task, "mock": {"result": "{}"}, "revealSecrets": true}),
        "ValidationException",
    );
    assert_eq!(
        m,
        "TestState does not support RevealSecrets when a mock is specified."
    );
    let m = s.err(
        "TestState",
        json!({"definition": items("$"), "mock": {"result": "{}"}}),
        "ValidationException",
    );
    assert_eq!(m, "Mocked result must be an array.");
}

#[test]
fn the_server_logs_a_line_a_request_unless_quiet() {
    for quiet in [false, true] {
        let args: &[&str] = if quiet { &["--quiet"] } else { &[] };
        let s = Server::start_with(&[], &[], args, Stdio::piped());
        s.ok("ListStateMachines", json!({}));
        s.err(
            "DescribeStateMachines",
            json!({}),
            "UnknownOperationException",
        );
        let mut s = s;
        let pid = s.child.id().to_string();
        Command::new("kill").args(["-INT", &pid]).status().unwrap();
        s.child.wait().unwrap();
        let mut err = String::new();
        s.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        if quiet {
            assert_eq!(err, "");
        } else {
            let lines: Vec<&str> = err.lines().collect();
            assert_eq!(lines.len(), 2, "{err}");
            assert!(
                lines[0].starts_with("asl serve: ListStateMachines 200 ("),
                "{err}"
            );
            assert!(
                lines[1].starts_with(
                    "asl serve: DescribeStateMachines 400 UnknownOperationException ("
                ),
                "{err}"
            );
        }
    }
}
