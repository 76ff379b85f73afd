//! The two public load generators in ../shared/seeds-asl run unchanged: only `--sub`
//! substitutions, the built-in stand-ins for their functions, and a mock for the DynamoDB
//! delete.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn seeds() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/seeds-asl")
}

fn asl(db: &Path, args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_asl"))
        .env("ASL_DB", db)
        .args(args)
        .output()
        .unwrap()
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

fn subs(pairs: &[(&str, String)]) -> Vec<String> {
    pairs
        .iter()
        .flat_map(|(k, v)| ["--sub".to_string(), format!("{k}={v}")])
        .collect()
}

#[test]
fn the_momento_pizza_generator_runs_unchanged() {
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let api = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let s = pizza_api::start(pizza_api::Config::default(), "127.0.0.1:0".parse().unwrap())
                .await
                .unwrap();
            tx.send(s.url()).unwrap();
            let _ = tokio::task::spawn_blocking(move || stop_rx.recv()).await;
            serde_json::to_value(s.stats()).unwrap()
        })
    });
    let base = rx.recv().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("asl.db");
    let seed = seeds().join("momento-pizza-app");
    let resources = dir.path().join("resources.json");
    std::fs::write(
        &resources,
        json!({
            "functions": {
                "generate-orders": {"builtin": "pizza.generateOrders"},
                "send-request": {"builtin": "http.sendRequest"}
            },
            "stateMachines": {"OrderWorkflow": {"definition": seed.join("order-workflow.asl.json")}}
        })
        .to_string(),
    )
    .unwrap();
    let mocks = dir.path().join("mocks.json");
    std::fs::write(
        &mocks,
        // The child's state is mocked under the child's state machine, in the test case of
        // the same name as the parent's.
        json!({"StateMachines": {"generator": {"TestCases": {"Local": {}}},
                                 "OrderWorkflow": {"TestCases": {"Local": {"Delete Order": "Deleted"}}}},
               "MockedResponses": {"Deleted": {"0-999": {"Return": {"SdkHttpMetadata": {"HttpStatusCode": 200}}}}}})
        .to_string(),
    )
    .unwrap();
    let fun = |n: &str| format!("arn:aws:lambda:us-east-1:123456789012:function:{n}");
    let mut args: Vec<String> = vec![
        "run".into(),
        seed.join("generator.asl.json").display().to_string(),
        "--input".into(),
        r#"{"numRuns": 2}"#.into(),
        "--resources".into(),
        resources.display().to_string(),
        "--mock-config".into(),
        mocks.display().to_string(),
        "--wait-scale".into(),
        "0".into(),
        "--json".into(),
    ];
    args.extend(subs(&[
        (
            "SFNStartSyncExecution",
            "arn:aws:states:::states:startExecution.sync:2".into(),
        ),
        (
            "OrderWorkflow",
            "arn:aws:states:us-east-1:123456789012:stateMachine:OrderWorkflow".into(),
        ),
        ("LambdaInvoke", "arn:aws:states:::lambda:invoke".into()),
        ("GenerateOrders", fun("generate-orders")),
        ("SendRequest", fun("send-request")),
        ("OrderApiBaseUrl", format!("{base}/order-api")),
        ("AdminApiBaseUrl", format!("{base}/admin-api")),
        (
            "DynamoDbDeleteItem",
            "arn:aws:states:::dynamodb:deleteItem".into(),
        ),
        ("TableName", "pizza".into()),
    ]));
    let out = json_of(&asl(&db, &args));
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    assert_eq!(out["output"], json!({"numRuns": 2, "count": 2}));
    let children = json_of(&asl(
        &db,
        &[
            "executions".into(),
            "--state-machine".into(),
            "OrderWorkflow".into(),
            "--json".into(),
        ],
    ));
    let children = children["executions"].as_array().unwrap();
    assert_eq!(children.len(), 10);
    assert!(children.iter().all(|c| c["status"] == "SUCCEEDED"));
    stop_tx.send(()).unwrap();
    let stats = api.join().unwrap();
    let count = |method: &str, route: &str| -> u64 {
        stats["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["method"] == method && e["route"] == route)
            .map(|e| e["count"].as_u64().unwrap())
            .sum()
    };
    let created = count("POST", "/order-api/orders");
    // Each created order is read seven times; each workflow lists 5 + 5 times.
    assert_eq!(count("GET", "/admin-api/orders/{orderId}"), created * 7);
    assert_eq!(count("GET", "/order-api/orders"), 50);
    assert_eq!(count("GET", "/admin-api/orders"), 50);
}

#[test]
fn the_step_functions_load_testing_sample_runs_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("asl.db");
    let seed = seeds().join("step-functions-load-testing");
    // The function under load: a program that records each invocation.
    let calls = dir.path().join("calls.log");
    let script = dir.path().join("under_test.py");
    std::fs::write(
        &script,
        format!("import json,sys\ne=json.load(sys.stdin)\nopen({:?},'a').write(json.dumps(e)+'\\n')\nprint(json.dumps({{'ok': True}}))\n", calls.display().to_string()),
    )
    .unwrap();
    let resources = dir.path().join("resources.json");
    std::fs::write(
        &resources,
        json!({
            "functions": {
                "load-timer": {"builtin": "loadtest.timer"},
                "under-test": {"command": ["python3", script]}
            },
            "stateMachines": {"RunLoad": {"definition": seed.join("load-generator-statemachine.asl.json")}}
        })
        .to_string(),
    )
    .unwrap();
    let mut args: Vec<String> = vec![
        "run".into(),
        seed.join("load-orchestrator-statemachine.asl.json")
            .display()
            .to_string(),
        // Minutes, as the sample takes them: about a second of ramp and a second of hold.
        "--input".into(),
        r#"{"rampUpDuration": 0.015, "duration": 0.015, "targetConcurrency": 3}"#.into(),
        "--resources".into(),
        resources.display().to_string(),
        "--json".into(),
    ];
    args.extend(subs(&[
        ("AWSPartition", "aws".into()),
        (
            "FunctionLoadTesterLoadGeneratorArn",
            "arn:aws:lambda:us-east-1:123456789012:function:load-timer".into(),
        ),
        (
            "StateMachineLoadTesterRunLoadArn",
            "arn:aws:states:us-east-1:123456789012:stateMachine:RunLoad".into(),
        ),
        ("LambdaFunctionName", "under-test".into()),
        ("LambdaParameters", r#"{\"probe\":1}"#.into()),
    ]));
    let out = json_of(&asl(&db, &args));
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    let runs = json_of(&asl(
        &db,
        &[
            "executions".into(),
            "--state-machine".into(),
            "RunLoad".into(),
            "--json".into(),
            "--limit".into(),
            "1000".into(),
        ],
    ));
    let runs = runs["executions"].as_array().unwrap();
    assert!(
        runs.len() >= 2,
        "ramp and hold each start RunLoad at least once: {runs:?}"
    );
    let log = std::fs::read_to_string(&calls).unwrap();
    let events: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        events.len() >= runs.len(),
        "{} calls for {} runs",
        events.len(),
        runs.len()
    );
    assert!(events.iter().all(|e| *e == json!({"probe": 1})));
}
