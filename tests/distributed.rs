//! The DISTRIBUTED Map through the binary: ItemReader over local "buckets" (JSON with
//! ItemsPointer, JSONL, CSV with a header row or given headers and another delimiter, an S3
//! inventory manifest, listObjectsV2), ItemBatcher, ResultWriter files, tolerated failures,
//! bad input, child executions and Map Run progress in the store.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/distributed/bucket")
}

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    fn asl(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_asl"))
            .env("ASL_DB", self.dir.path().join("asl.db"))
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs a workflow with the test buckets (`in`, `data`: the data folder; `out`: a fresh
    /// folder), returns `run --json`'s object.
    fn run(&self, def: &Value, input: &Value, extra: &[&str]) -> Value {
        let wf = self.dir.path().join("wf.asl.json");
        std::fs::write(&wf, def.to_string()).unwrap();
        let bin = format!("in={}", data().display());
        let dat = format!("data={}", data().display());
        let out = format!("out={}", self.out().display());
        let input = input.to_string();
        let mut args = vec![
            "run",
            wf.to_str().unwrap(),
            "--input",
            &input,
            "--json",
            "--bucket",
            &bin,
            "--bucket",
            &dat,
            "--bucket",
            &out,
        ];
        args.extend_from_slice(extra);
        let o = self.asl(&args);
        let text = String::from_utf8_lossy(&o.stdout);
        serde_json::from_str(text.trim()).unwrap_or_else(|_| {
            panic!(
                "no JSON from asl run: {text}\n{}",
                String::from_utf8_lossy(&o.stderr)
            )
        })
    }

    fn json(&self, args: &[&str]) -> Value {
        let o = self.asl(args);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        serde_json::from_slice(&o.stdout).unwrap()
    }
}

/// A DISTRIBUTED Map state with the given fields and item processor.
fn map(fields: Value, processor: Value, express: bool) -> Value {
    let mut m = json!({"Type": "Map", "End": true, "ItemProcessor": processor});
    m["ItemProcessor"]["ProcessorConfig"] = json!({
        "Mode": "DISTRIBUTED",
        "ExecutionType": if express { "EXPRESS" } else { "STANDARD" }
    });
    for (k, v) in fields.as_object().unwrap() {
        m[k] = v.clone();
    }
    json!({"StartAt": "Map", "States": {"Map": m}})
}

fn pass() -> Value {
    json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}})
}

/// Fails the item (or batch) whose input has `fail`, else passes it on.
fn fails_on_flag() -> Value {
    json!({"StartAt": "Check", "States": {
        "Check": {"Type": "Choice", "Choices": [
            {"Variable": "$.fail", "IsPresent": true, "Next": "Boom"}], "Default": "Ok"},
        "Boom": {"Type": "Fail", "Error": "Item.Bad", "Cause": "flagged"},
        "Ok": {"Type": "Pass", "End": true}}})
}

fn reader(key: &str, config: Value) -> Value {
    json!({"Resource": "arn:aws:states:::s3:getObject",
           "ReaderConfig": config,
           "Parameters": {"Bucket": "in", "Key": key}})
}

fn succeeded(out: &Value) -> &Value {
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    &out["output"]
}

#[test]
fn json_file_at_items_pointer_with_max_items() {
    let env = Env::new();
    let def = map(
        json!({"ItemReader": reader("orders.json", json!({"InputType": "JSON", "ItemsPointer": "/data/orders", "MaxItems": 2})),
               "ItemSelector": {"index.$": "$$.Map.Item.Index", "order.$": "$$.Map.Item.Value.id"}}),
        pass(),
        false,
    );
    let out = env.run(&def, &json!({}), &[]);
    assert_eq!(
        succeeded(&out),
        &json!([{"index": 0, "order": 1}, {"index": 1, "order": 2}])
    );
}

#[test]
fn jsonl_batches_with_batch_input_and_path_forms() {
    let env = Env::new();
    let def = map(
        json!({"ItemReader": reader("numbers.jsonl", json!({"InputType": "JSONL", "MaxItemsPath": "$.max"})),
               "ItemBatcher": {"MaxItemsPerBatchPath": "$.per", "BatchInput": {"run.$": "$.run"}},
               "MaxConcurrency": 2}),
        pass(),
        false,
    );
    let out = env.run(&def, &json!({"per": 2, "run": "r1", "max": 100}), &[]);
    assert_eq!(
        succeeded(&out),
        &json!([
            {"Items": [{"n": 1}, {"n": 2}], "BatchInput": {"run": "r1"}},
            {"Items": [{"n": 3}, {"n": 4}], "BatchInput": {"run": "r1"}},
            {"Items": [{"n": 5}], "BatchInput": {"run": "r1"}}
        ])
    );
    // Each batch is a child execution of its own, recorded under its parent; as with AWS's
    // ListExecutions, the Map Run's children are listed by its ARN, and not with the rest.
    let parent = out["executionArn"].as_str().unwrap();
    let children = map_run_children(&env, parent);
    assert_eq!(children.len(), 3);
    let top = env.json(&["executions", "--json"]);
    assert_eq!(top["executions"].as_array().unwrap().len(), 1, "{top}");
    assert_eq!(top["executions"][0]["executionArn"], parent);
    assert!(children[0]["mapRunArn"].is_string(), "{}", children[0]);
    let child = env.json(&[
        "describe",
        children[0]["executionArn"].as_str().unwrap(),
        "--json",
    ]);
    assert_eq!(child["parentExecutionArn"], parent);
    assert!(child["stateMachineArn"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:states:us-east-1:123456789012:stateMachine:wf/"));
    let history = env.json(&[
        "history",
        children[0]["executionArn"].as_str().unwrap(),
        "--json",
    ]);
    assert_eq!(history["events"][0]["type"], "ExecutionStarted");
    // The Map Run and its counts, on the parent.
    let d = env.json(&["describe", parent, "--json"]);
    let run = &d["mapRuns"][0];
    assert_eq!(run["status"], "SUCCEEDED");
    assert_eq!(run["itemCounts"]["succeeded"], 5);
    assert_eq!(run["itemCounts"]["total"], 5);
    assert_eq!(run["executionCounts"]["succeeded"], 3);
    assert_eq!(child["mapRunArn"], run["mapRunArn"]);
    // The parent's history: the Map Run's events, its ARN in AWS's format.
    let h = env.json(&["history", parent, "--json"]);
    let types: Vec<&str> = h["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapRunStarted",
            "MapRunSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "ExecutionSucceeded"
        ]
    );
    let arn = h["events"][3]["mapRunStartedEventDetails"]["mapRunArn"]
        .as_str()
        .unwrap();
    let re = arn
        .strip_prefix("arn:aws:states:us-east-1:123456789012:mapRun:wf/")
        .unwrap();
    let (label, id) = re.split_once(':').unwrap();
    // No Label: the label is a UUID too.
    assert_eq!(label.len(), 36, "{arn}");
    assert_eq!(id.len(), 36, "{arn}");
}

#[test]
fn csv_with_a_header_row() {
    let env = Env::new();
    let def = map(
        json!({"ItemReader": reader("people.csv", json!({"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"})),
               "Label": "People"}),
        pass(),
        true,
    );
    let out = env.run(&def, &json!({}), &[]);
    assert_eq!(
        succeeded(&out),
        &json!([
            {"name": "Ann", "city": "Oslo", "note": "likes, commas"},
            {"name": "Bo", "city": "New\nYork", "note": ""},
            {"name": "Cy", "city": "Rome", "note": ""}
        ])
    );
    // EXPRESS children are not stored: only the parent is.
    let list = env.json(&["executions", "--json"]);
    assert_eq!(list["executions"].as_array().unwrap().len(), 1);
}

#[test]
fn csv_with_given_headers_and_a_semicolon() {
    let env = Env::new();
    let def = map(
        json!({"ItemReader": reader("colors.txt", json!({"InputType": "CSV", "CSVHeaderLocation": "GIVEN",
                                                          "CSVHeaders": ["id", "color", "extra"], "CSVDelimiter": "SEMICOLON"}))}),
        pass(),
        false,
    );
    let out = env.run(&def, &json!({}), &["--no-store"]);
    assert_eq!(
        succeeded(&out),
        &json!([
            {"id": "1", "color": "red", "extra": ";x"},
            {"id": "2", "color": "green \"g\"", "extra": "y"}
        ])
    );
}

#[test]
fn s3_inventory_manifest() {
    let env = Env::new();
    // Plain CSV data files, and gzipped ones as S3 Inventory writes them (`.csv.gz`, here of
    // two gzip members).
    for manifest in ["inventory/manifest.json", "inventory-gz/manifest.json"] {
        let def = map(
            json!({"ItemReader": reader(manifest, json!({"InputType": "MANIFEST"}))}),
            pass(),
            true,
        );
        let out = env.run(&def, &json!({}), &[]);
        assert_eq!(
            succeeded(&out),
            &json!([
                {"Bucket": "photos", "Key": "cat.jpg", "Size": "120"},
                {"Bucket": "photos", "Key": "dog.jpg", "Size": "340"},
                {"Bucket": "photos", "Key": "owl.jpg", "Size": "560"}
            ]),
            "{manifest}"
        );
    }
}

#[test]
fn list_objects_v2_over_a_directory() {
    let env = Env::new();
    let def = map(
        json!({"ItemReader": {"Resource": "arn:aws:states:::s3:listObjectsV2",
                               "Parameters": {"Bucket": "in", "Prefix.$": "$.prefix"}},
               "ItemSelector": {"key.$": "$$.Map.Item.Value.Key", "size.$": "$$.Map.Item.Value.Size",
                                "etag.$": "$$.Map.Item.Value.Etag", "class.$": "$$.Map.Item.Value.StorageClass"}}),
        pass(),
        true,
    );
    let out = env.run(&def, &json!({"prefix": "logs/"}), &[]);
    assert_eq!(
        succeeded(&out),
        &json!([
            {"key": "logs/2026/01.log", "size": 2, "etag": "\"60b725f10c9c85c70d97880dfe8191b3\"", "class": "STANDARD"},
            {"key": "logs/2026/02.log", "size": 2, "etag": "\"3b5d5c3712955042212316173ccf37be\"", "class": "STANDARD"},
            {"key": "logs/readme.txt", "size": 4, "etag": "\"facdca2fa68795a4937fd54f654c3f9d\"", "class": "STANDARD"}
        ])
    );
}

#[test]
fn result_writer_files_as_aws_writes_them() {
    let env = Env::new();
    let def = map(
        json!({"ItemReader": reader("orders.json", json!({"InputType": "JSON", "ItemsPointer": "/data/orders"})),
               "ToleratedFailureCount": 1,
               "Label": "Orders",
               "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                                "Parameters": {"Bucket": "out", "Prefix": "runs"}}}),
        fails_on_flag(),
        false,
    );
    let out = env.run(&def, &json!({}), &[]);
    let o = succeeded(&out);
    let arn = o["MapRunArn"].as_str().unwrap();
    assert!(
        arn.starts_with("arn:aws:states:us-east-1:123456789012:mapRun:wf/Orders:"),
        "{arn}"
    );
    let id = arn.rsplit(':').next().unwrap();
    assert_eq!(
        o["ResultWriterDetails"],
        json!({"Bucket": "out", "Key": format!("runs/{id}/manifest.json")})
    );
    let dir = env.out().join("runs").join(id);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["DestinationBucket"], "out");
    assert_eq!(manifest["MapRunArn"], arn);
    assert_eq!(manifest["ResultFiles"]["PENDING"], json!([]));
    let succeeded_files = manifest["ResultFiles"]["SUCCEEDED"].as_array().unwrap();
    assert_eq!(
        succeeded_files[0]["Key"],
        format!("runs/{id}/SUCCEEDED_0.json")
    );
    let body = std::fs::read(dir.join("SUCCEEDED_0.json")).unwrap();
    assert_eq!(succeeded_files[0]["Size"], body.len());
    let ok: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(ok.as_array().unwrap().len(), 3);
    let first = &ok.as_array().unwrap()[0];
    for field in [
        "ExecutionArn",
        "Input",
        "InputDetails",
        "Name",
        "Output",
        "OutputDetails",
        "RedriveCount",
        "RedriveStatus",
        "StartDate",
        "StateMachineArn",
        "Status",
        "StopDate",
    ] {
        assert!(first.get(field).is_some(), "{field} missing in {first}");
    }
    assert_eq!(first["Status"], "SUCCEEDED");
    assert!(first["Input"].is_string() && first["Output"].is_string());
    assert!(first["ExecutionArn"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:states:us-east-1:123456789012:execution:wf/Orders:"));
    let failed: Value =
        serde_json::from_slice(&std::fs::read(dir.join("FAILED_0.json")).unwrap()).unwrap();
    let f = &failed[0];
    assert_eq!(f["Status"], "FAILED");
    assert_eq!(f["Error"], "Item.Bad");
    assert_eq!(f["Cause"], "flagged");
    assert_eq!(
        serde_json::from_str::<Value>(f["Input"].as_str().unwrap()).unwrap()["id"],
        3
    );
    assert!(f.get("Output").is_none());
}

#[test]
fn result_writer_compact_jsonl_and_flatten_without_export() {
    let env = Env::new();
    let def = map(
        json!({"ItemReader": reader("numbers.jsonl", json!({"InputType": "JSONL"})),
               "ItemBatcher": {"MaxItemsPerBatch": 2},
               "ResultSelector": {"files.$": "$.ResultWriterDetails"},
               "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                                "Parameters": {"Bucket": "out", "Prefix": ""},
                                "WriterConfig": {"Transformation": "COMPACT", "OutputType": "JSONL"}}}),
        json!({"StartAt": "Take", "States": {"Take": {"Type": "Pass", "InputPath": "$.Items", "End": true}}}),
        true,
    );
    let out = env.run(&def, &json!({}), &[]);
    let key = succeeded(&out)["files"]["Key"]
        .as_str()
        .unwrap()
        .to_string();
    let dir = env.out().join(Path::new(&key).parent().unwrap());
    let text = std::fs::read_to_string(dir.join("SUCCEEDED_0.jsonl")).unwrap();
    let mut lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    lines.sort_by_key(|v| v[0]["n"].as_i64());
    assert_eq!(
        lines,
        vec![
            json!([{"n": 1}, {"n": 2}]),
            json!([{"n": 3}, {"n": 4}]),
            json!([{"n": 5}])
        ]
    );
    // WriterConfig alone reshapes the state's output (here FLATTEN), nothing is exported.
    let def = map(
        json!({"ItemReader": reader("numbers.jsonl", json!({"InputType": "JSONL"})),
               "ItemBatcher": {"MaxItemsPerBatch": 2},
               "ResultWriter": {"WriterConfig": {"Transformation": "FLATTEN"}}}),
        json!({"StartAt": "Take", "States": {"Take": {"Type": "Pass", "InputPath": "$.Items", "End": true}}}),
        true,
    );
    let out = env.run(&def, &json!({}), &["--no-store"]);
    assert_eq!(
        succeeded(&out),
        &json!([{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}, {"n": 5}])
    );
    // "If a child workflow execution fails, Step Functions returns its execution result
    // unchanged": a failed child is its whole record, as with Transformation NONE.
    let def = map(
        json!({"ToleratedFailurePercentage": 100,
               "ResultWriter": {"WriterConfig": {"Transformation": "COMPACT"}}}),
        fails_on_flag(),
        false,
    );
    let out = env.run(&def, &json!([{"a": 1}, {"fail": 1}]), &[]);
    let o = succeeded(&out);
    assert_eq!(o[0], json!({"a": 1}), "{o}");
    assert_eq!(o[1]["Status"], "FAILED", "{o}");
    assert_eq!(o[1]["Error"], "Item.Bad", "{o}");
    assert_eq!(o[1]["Cause"], "flagged", "{o}");
    assert_eq!(o[1]["Input"], "{\"fail\":1}", "{o}");
}

#[test]
fn tolerated_failures() {
    let env = Env::new();
    let items = json!({"items": [{"a": 1}, {"fail": 1}, {"a": 2}, {"fail": 2}]});
    let base = |tolerance: Value| {
        let mut fields = json!({"ItemsPath": "$.items", "MaxConcurrency": 1});
        for (k, v) in tolerance.as_object().unwrap() {
            fields[k] = v.clone();
        }
        map(fields, fails_on_flag(), false)
    };
    // Within the count: the failures are in the results.
    let out = env.run(&base(json!({"ToleratedFailureCount": 2})), &items, &[]);
    assert_eq!(
        succeeded(&out),
        &json!([{"a": 1}, {"Error": "Item.Bad", "Cause": "flagged"}, {"a": 2},
                {"Error": "Item.Bad", "Cause": "flagged"}])
    );
    // 50 % tolerated of 4 items, by a path.
    let mut input = items.clone();
    input["pct"] = json!(50);
    let out = env.run(
        &base(json!({"ToleratedFailurePercentagePath": "$.pct"})),
        &input,
        &[],
    );
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    // Over the threshold (and with none configured, the first failure is over it).
    for tolerance in [json!({"ToleratedFailureCount": 1}), json!({})] {
        let out = env.run(&base(tolerance), &items, &[]);
        assert_eq!(out["status"], "FAILED", "{out}");
        assert_eq!(out["error"], "States.ExceedToleratedFailureThreshold");
        assert_eq!(
            out["cause"],
            "The specified tolerated failure threshold was exceeded"
        );
        let h = env.json(&["history", out["executionArn"].as_str().unwrap(), "--json"]);
        let failed = h["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["type"] == "MapRunFailed")
            .unwrap();
        assert_eq!(
            failed["mapRunFailedEventDetails"]["error"],
            "States.ExceedToleratedFailureThreshold"
        );
    }
    // A Catch sees the error like any other.
    let mut def = base(json!({}));
    def["States"]["Map"]["Catch"] =
        json!([{"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "Next": "Caught"}]);
    def["States"]["Map"].as_object_mut().unwrap().remove("End");
    def["States"]["Map"]["Next"] = json!("Caught");
    def["States"]["Caught"] = json!({"Type": "Pass", "Result": "caught", "End": true});
    let out = env.run(&def, &items, &["--no-store"]);
    assert_eq!(succeeded(&out), &json!("caught"));
}

fn reader_failure(out: &Value) -> String {
    assert_eq!(out["status"], "FAILED", "{out}");
    assert_eq!(out["error"], "States.ItemReaderFailed", "{out}");
    out["cause"].as_str().unwrap().to_string()
}

#[test]
fn bad_input_is_item_reader_failed_naming_file_and_line() {
    let env = Env::new();
    // A missing object.
    let def = map(
        json!({"ItemReader": reader("nowhere.json", json!({"InputType": "JSON"}))}),
        pass(),
        false,
    );
    let cause = reader_failure(&env.run(&def, &json!({}), &[]));
    assert!(cause.contains("s3://in/nowhere.json"), "{cause}");
    assert!(cause.contains("does not exist"), "{cause}");
    // A malformed CSV row.
    let def = map(
        json!({"ItemReader": reader("bad.csv", json!({"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"}))}),
        pass(),
        false,
    );
    let cause = reader_failure(&env.run(&def, &json!({}), &["--no-store"]));
    assert!(cause.contains("s3://in/bad.csv"), "{cause}");
    assert!(cause.contains("bad.csv"), "{cause}");
    assert!(cause.contains("line 3"), "{cause}");
    // A JSON file with no array at ItemsPointer.
    let def = map(
        json!({"ItemReader": reader("not-array.json", json!({"InputType": "JSON", "ItemsPointer": "/data/orders"}))}),
        pass(),
        false,
    );
    let out = env.run(&def, &json!({}), &[]);
    let cause = reader_failure(&out);
    assert!(cause.contains("s3://in/not-array.json"), "{cause}");
    assert!(cause.contains("line 1"), "{cause}");
    assert!(cause.contains("must be a JSON array"), "{cause}");
    // The Map Run failed with it.
    let h = env.json(&["history", out["executionArn"].as_str().unwrap(), "--json"]);
    let types: Vec<&str> = h["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapRunStarted",
            "MapRunFailed",
            "MapStateFailed",
            "ExecutionFailed"
        ]
    );
    // An unknown bucket says how to configure it.
    let mut def = map(
        json!({"ItemReader": reader("orders.json", json!({"InputType": "JSON"}))}),
        pass(),
        false,
    );
    def["States"]["Map"]["ItemReader"]["Parameters"]["Bucket"] = json!("elsewhere");
    let cause = reader_failure(&env.run(&def, &json!({}), &["--no-store"]));
    assert!(cause.contains("--bucket elsewhere=DIR"), "{cause}");
}

#[test]
fn inline_items_without_a_store_run_in_process() {
    let env = Env::new();
    let def = map(
        json!({"ItemsPath": "$.xs", "MaxConcurrency": 10000,
               "ItemSelector": {"x.$": "$$.Map.Item.Value", "id.$": "$$.Execution.Id"}}),
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"x.$": "$.x", "child.$": "$$.Execution.Id"}, "End": true}}}),
        false,
    );
    let xs: Vec<i64> = (0..500).collect();
    let out = env.run(&def, &json!({"xs": xs}), &["--no-store"]);
    let results = succeeded(&out).as_array().unwrap();
    assert_eq!(results.len(), 500);
    assert_eq!(results[499]["x"], 499);
    // A child's context is its own execution's.
    let child = results[0]["child"].as_str().unwrap();
    assert!(
        child.starts_with("arn:aws:states:us-east-1:123456789012:execution:wf/"),
        "{child}"
    );
}

#[test]
fn a_distributed_maps_item_selector_reads_the_outer_variables() {
    // The Map state's own fields see the variables around it (its children do not).
    let env = Env::new();
    let mut def = map(
        json!({"ItemsPath": "$.xs", "ItemSelector": {"x.$": "$$.Map.Item.Value", "tag.$": "$tag"}}),
        pass(),
        false,
    );
    def["StartAt"] = json!("A");
    def["States"]["A"] = json!({"Type": "Pass", "Assign": {"tag": "outer"}, "Next": "Map"});
    let out = env.run(&def, &json!({"xs": [1, 2]}), &["--no-store"]);
    assert_eq!(
        succeeded(&out),
        &json!([{"x": 1, "tag": "outer"}, {"x": 2, "tag": "outer"}])
    );
}

/// `asl validate` of a definition: its exit status and what it printed.
fn validation(env: &Env, def: &Value) -> (Option<i32>, String) {
    let wf = env.dir.path().join("bad.asl.json");
    std::fs::write(&wf, def.to_string()).unwrap();
    let o = env.asl(&["validate", wf.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    (o.status.code(), text)
}

#[test]
fn express_children_may_not_hold_sync_or_callback_tasks() {
    let env = Env::new();
    let sync_child = |express: bool| {
        map(
            json!({"ItemsPath": "$.xs"}),
            json!({"StartAt": "T", "States": {"T": {"Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {"StateMachineArn": "Child"}, "End": true}}}),
            express,
        )
    };
    let (code, text) = validation(&env, &sync_child(true));
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("/States/Map/ItemProcessor/States/T/Resource: an EXPRESS child workflow does not support"),
        "{text}"
    );
    // STANDARD children may.
    let (code, text) = validation(&env, &sync_child(false));
    assert_eq!(code, Some(0), "{text}");
}

#[test]
fn definitions_are_checked() {
    let env = Env::new();
    let def = json!({"StartAt": "Map", "States": {"Map": {"Type": "Map", "End": true,
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "XML"}, "Parameters": {}},
        "ItemBatcher": {"BatchInput": {}},
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {}, "WriterConfig": {"Transformation": "SQUASH"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "SLOW"},
                          "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
    let (code, text) = validation(&env, &def);
    assert_eq!(code, Some(2), "{text}");
    for needle in [
        "/States/Map/ItemReader/ReaderConfig/InputType",
        "/States/Map/ItemBatcher",
        "/States/Map/ResultWriter/WriterConfig/Transformation",
        "/States/Map/ItemProcessor/ProcessorConfig/ExecutionType",
    ] {
        assert!(text.contains(needle), "{needle} not in {text}");
    }
    // A DISTRIBUTED Map must say which executions it starts; a JSONata one takes Arguments
    // (not Parameters) in its ItemReader and ResultWriter, a JSONPath one the reverse.
    let def = json!({"StartAt": "Map", "States": {"Map": {"Type": "Map", "End": true,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"},
                          "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
    let (code, text) = validation(&env, &def);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains(
            "/States/Map/ItemProcessor/ProcessorConfig: a DISTRIBUTED Map needs ExecutionType"
        ),
        "{text}"
    );
    let mut def = map(
        json!({"ItemReader": reader("people.csv", json!({"InputType": "CSV"})),
               "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Arguments": {"Bucket": "out"}}}),
        pass(),
        false,
    );
    def["QueryLanguage"] = json!("JSONata");
    let (code, text) = validation(&env, &def);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("/States/Map/ItemReader/Parameters: in a JSONata state an ItemReader takes Arguments, not Parameters"),
        "{text}"
    );
    def["QueryLanguage"] = json!("JSONPath");
    let (code, text) = validation(&env, &def);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("/States/Map/ResultWriter/Arguments: in a JSONPath state a ResultWriter takes Parameters, not Arguments"),
        "{text}"
    );
}

#[test]
fn a_jsonata_map_reads_batches_selects_and_writes_with_expressions() {
    // JSONata: the ItemReader's and ResultWriter's Arguments, ItemReader.ReaderConfig.MaxItems,
    // ItemSelector per item read (with $states.context.Map.Item) and ItemBatcher.BatchInput
    // are all expressions over the state's input.
    let env = Env::new();
    let mut def = map(
        json!({
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSONL", "MaxItems": "{% $states.input.max %}"},
                "Arguments": {"Bucket": "{% $states.input.bucket %}", "Key": "numbers.jsonl"}},
            "ItemSelector": {"i": "{% $states.context.Map.Item.Index %}",
                             "v": "{% $states.context.Map.Item.Value %}",
                             "tag": "{% $states.input.tag %}"},
            "ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"tag": "{% $uppercase($states.input.tag) %}"}},
            "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                             "Arguments": {"Bucket": "out", "Prefix": "{% 'runs/' & $states.input.tag %}"}}
        }),
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
        false,
    );
    def["QueryLanguage"] = json!("JSONata");
    let out = env.run(&def, &json!({"bucket": "in", "max": 3, "tag": "t"}), &[]);
    let written = succeeded(&out);
    assert_eq!(written["ResultWriterDetails"]["Bucket"], "out", "{out}");
    let key = written["ResultWriterDetails"]["Key"].as_str().unwrap();
    assert!(key.starts_with("runs/t/"), "{key}");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(env.out().join(key)).unwrap()).unwrap();
    let file = manifest["ResultFiles"]["SUCCEEDED"][0]["Key"]
        .as_str()
        .unwrap();
    let records: Value =
        serde_json::from_str(&std::fs::read_to_string(env.out().join(file)).unwrap()).unwrap();
    let mut inputs: Vec<Value> = records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| serde_json::from_str(r["Input"].as_str().unwrap()).unwrap())
        .collect();
    inputs.sort_by_key(|v| v["Items"][0]["i"].as_u64());
    let first = std::fs::read_to_string(data().join("numbers.jsonl")).unwrap();
    let values: Vec<Value> = first
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(3)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        inputs,
        vec![
            json!({"BatchInput": {"tag": "T"}, "Items": [
                {"i": 0, "v": values[0], "tag": "t"}, {"i": 1, "v": values[1], "tag": "t"}]}),
            json!({"BatchInput": {"tag": "T"}, "Items": [{"i": 2, "v": values[2], "tag": "t"}]}),
        ]
    );
}

/// A task that fails an item with `fail` until its execution is redriven
/// (`$$.Execution.RedriveCount`), and passes the others on; its function is `flaky` of
/// `flaky_resources`.
fn fails_until_redriven() -> Value {
    json!({"StartAt": "Work", "States": {
        "Work": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "flaky",
                           "Payload": {"item.$": "$", "redrives.$": "$$.Execution.RedriveCount"}},
            "OutputPath": "$.Payload", "End": true}}})
}

/// A resources file (written in `env`) with the function `flaky`.
fn flaky_resources(env: &Env) -> String {
    let script = env.dir.path().join("flaky.py");
    std::fs::write(
        &script,
        "import json,sys\ne=json.load(sys.stdin)\n\
         if 'fail' in e['item'] and e['redrives'] == 0:\n    \
         print(json.dumps({'errorType': 'Item.Bad', 'errorMessage': 'flagged'}))\n    \
         sys.exit(1)\nprint(json.dumps(e['item']))\n",
    )
    .unwrap();
    let res = env.dir.path().join("resources.json");
    std::fs::write(
        &res,
        json!({"functions": {"flaky": {"command": ["python3", script]}}}).to_string(),
    )
    .unwrap();
    res.display().to_string()
}

/// The child executions of a parent's (first) Map Run, as `asl executions --map-run` lists them.
fn map_run_children(env: &Env, parent: &str) -> Vec<Value> {
    let d = env.json(&["describe", parent, "--json"]);
    let run = d["mapRuns"][0]["mapRunArn"].as_str().unwrap().to_string();
    let list = env.json(&[
        "executions",
        "--map-run",
        &run,
        "--limit",
        "100000",
        "--json",
    ]);
    // A Map Run that is not there is an error, not an empty listing.
    let o = env.asl(&["executions", "--map-run", &format!("{run}x")]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("no Map Run has this ARN"));
    list["executions"].as_array().unwrap().clone()
}

/// The children of a Map Run, by name: (status, redriveCount).
fn children_of(env: &Env, parent: &str) -> std::collections::BTreeMap<String, (String, u64)> {
    map_run_children(env, parent)
        .iter()
        .map(|e| {
            let arn = e["executionArn"].as_str().unwrap();
            let d = env.json(&["describe", arn, "--json"]);
            assert_eq!(d["parentExecutionArn"], parent);
            (
                arn.to_string(),
                (
                    d["status"].as_str().unwrap().to_string(),
                    d["redriveCount"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

#[test]
fn redriving_the_parent_redrives_its_map_run() {
    // As AWS does: the same Map Run goes on (MapRunRedriven), children that succeeded stand,
    // and only the one that failed runs again, redriven (its RedriveCount 1).
    let env = Env::new();
    let def = map(
        json!({"ItemsPath": "$.items", "MaxConcurrency": 1}),
        fails_until_redriven(),
        false,
    );
    let items = json!({"items": [{"a": 1}, {"fail": 1}, {"a": 2}]});
    let res = flaky_resources(&env);
    let out = env.run(&def, &items, &["--resources", &res]);
    assert_eq!(out["status"], "FAILED", "{out}");
    let parent = out["executionArn"].as_str().unwrap();
    // One at a time: item 1 succeeded, item 2 failed, item 3 never started.
    let before = children_of(&env, parent);
    assert_eq!(before.len(), 2, "{before:?}");
    // A child of the Map Run is redriven with it, not on its own.
    let failed_child = before
        .iter()
        .find(|(_, (s, _))| s == "FAILED")
        .map(|(a, _)| a.clone())
        .unwrap();
    let d = env.json(&["describe", &failed_child, "--json"]);
    assert_eq!(d["redriveStatus"], "REDRIVABLE_BY_MAP_RUN");
    let o = env.asl(&["redrive", &failed_child]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("redrive its parent"));

    let v = env.json(&["redrive", parent, "--json"]);
    assert_eq!(v["status"], "SUCCEEDED", "{v}");
    assert_eq!(v["output"], json!([{"a": 1}, {"fail": 1}, {"a": 2}]));
    // The same two children (item 1's not run again), and item 3's new one.
    let after = children_of(&env, parent);
    assert_eq!(after.len(), 3, "{after:?}");
    assert!(before.keys().all(|k| after.contains_key(k)), "{after:?}");
    for (arn, (status, redrives)) in &after {
        assert_eq!(status, "SUCCEEDED", "{arn}");
        let expected = u64::from(*arn == failed_child);
        assert_eq!(*redrives, expected, "{arn}");
    }
    let h = env.json(&["history", parent, "--json"]);
    let events = h["events"].as_array().unwrap();
    let started = events
        .iter()
        .find(|e| e["type"] == "MapRunStarted")
        .unwrap();
    let redriven = events
        .iter()
        .find(|e| e["type"] == "MapRunRedriven")
        .unwrap();
    assert_eq!(
        redriven["mapRunRedrivenEventDetails"],
        json!({"mapRunArn": started["mapRunStartedEventDetails"]["mapRunArn"], "redriveCount": 1})
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e["type"] == "MapRunStarted")
            .count(),
        1
    );
    let d = env.json(&["describe", parent, "--json"]);
    assert_eq!(d["mapRuns"].as_array().unwrap().len(), 1, "{d}");
    assert_eq!(d["mapRuns"][0]["status"], "SUCCEEDED");
    assert_eq!(d["mapRuns"][0]["redriveCount"], 1);
}

/// Starts `asl run` of a definition in the background (to be killed), named `name`.
fn spawn_run(env: &Env, file: &str, def: &Value, name: &str, input: &str) -> std::process::Child {
    let wf = env.dir.path().join(file);
    std::fs::write(&wf, def.to_string()).unwrap();
    Command::new(env!("CARGO_BIN_EXE_asl"))
        .env("ASL_DB", env.dir.path().join("asl.db"))
        .args([
            "run",
            wf.to_str().unwrap(),
            "--name",
            name,
            "--input",
            input,
            "--wait-scale",
            "0.2",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn resuming_a_killed_parent_goes_on_with_its_map_run() {
    // Killed while its Map Run is half done: resumed, the children that finished stand (not
    // run again), the one in flight goes on from its history, the rest start.
    let env = Env::new();
    let def = map(
        json!({"ItemsPath": "$.items", "MaxConcurrency": 1}),
        json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 1, "Next": "P"},
            "P": {"Type": "Pass", "End": true}}}),
        false,
    );
    let mut run = spawn_run(
        &env,
        "slow.asl.json",
        &def,
        "k1",
        r#"{"items": [1, 2, 3, 4]}"#,
    );
    let parent = "arn:aws:states:us-east-1:123456789012:execution:slow:k1";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let done_before = loop {
        let d = env.asl(&["describe", parent, "--json"]);
        let run_arn = serde_json::from_slice::<Value>(&d.stdout)
            .ok()
            .and_then(|d| d["mapRuns"][0]["mapRunArn"].as_str().map(String::from));
        let done: Vec<String> = match run_arn {
            Some(arn) => env.json(&[
                "executions",
                "--map-run",
                &arn,
                "--status",
                "SUCCEEDED",
                "--json",
            ])["executions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["executionArn"].as_str().unwrap().to_string())
                .collect(),
            None => Vec::new(),
        };
        if done.len() >= 2 {
            break done;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the children did not finish"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    run.kill().unwrap();
    run.wait().unwrap();
    assert_eq!(
        env.json(&["describe", parent, "--json"])["status"],
        "RUNNING"
    );
    let histories: Vec<Value> = done_before
        .iter()
        .map(|a| env.json(&["history", a, "--json"]))
        .collect();

    let v = env.json(&["resume", "k1", "--json"]);
    assert_eq!(v["status"], "SUCCEEDED", "{v}");
    assert_eq!(v["output"], json!([1, 2, 3, 4]));
    let children = children_of(&env, parent);
    assert_eq!(children.len(), 4, "{children:?}");
    assert!(
        children.values().all(|(s, _)| s == "SUCCEEDED"),
        "{children:?}"
    );
    // Those that had finished were not run again.
    for (arn, before) in done_before.iter().zip(&histories) {
        assert_eq!(&env.json(&["history", arn, "--json"]), before, "{arn}");
    }
    let d = env.json(&["describe", parent, "--json"]);
    assert_eq!(d["mapRuns"].as_array().unwrap().len(), 1, "{d}");
    assert_eq!(d["mapRuns"][0]["status"], "SUCCEEDED");
}

#[test]
fn children_never_started_are_written_as_pending() {
    // "PENDING_n.json: child workflow executions that weren't started because the Map Run
    // failed or aborted": one child at a time, the second failure exceeds the threshold, and
    // the third item never starts.
    let env = Env::new();
    let def = map(
        json!({"ToleratedFailureCount": 1, "MaxConcurrency": 1,
               "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                                "Parameters": {"Bucket": "out", "Prefix": "runs"}}}),
        fails_on_flag(),
        false,
    );
    let out = env.run(&def, &json!([{"fail": 1}, {"fail": 2}, {"n": 3}]), &[]);
    assert_eq!(out["status"], "FAILED", "{out}");
    assert_eq!(out["error"], "States.ExceedToleratedFailureThreshold");
    let runs = env.out().join("runs");
    let run = std::fs::read_dir(&runs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap();
    let pending = manifest["ResultFiles"]["PENDING"].as_array().unwrap();
    assert_eq!(pending.len(), 1, "{manifest}");
    let file = env.out().join(pending[0]["Key"].as_str().unwrap());
    let records: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    assert_eq!(
        records,
        json!([{"Input": "{\"n\":3}", "InputDetails": {"Included": true}, "Status": "PENDING"}])
    );
}

#[test]
fn a_parent_killed_as_its_map_run_starts_resumes_the_same_map_run() {
    // Killed before any child has ended: the Map Run was committed with its start, so the
    // resume goes on with it (one MapRunStarted, the children it had resumed, none left
    // RUNNING) instead of starting another.
    let env = Env::new();
    let def = map(
        json!({"ItemsPath": "$.items", "MaxConcurrency": 2}),
        json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 5, "Next": "P"},
            "P": {"Type": "Pass", "End": true}}}),
        false,
    );
    let mut run = spawn_run(
        &env,
        "early.asl.json",
        &def,
        "e1",
        r#"{"items": [1, 2, 3]}"#,
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        assert!(std::time::Instant::now() < deadline, "no child started");
        let o = env.asl(&["history", "e1", "--json", "--type", "MapRunStarted"]);
        let started = o.status.success()
            && serde_json::from_slice::<Value>(&o.stdout)
                .ok()
                .and_then(|v| v["events"].as_array().map(|a| !a.is_empty()))
                .unwrap_or(false);
        if started {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    run.kill().unwrap();
    run.wait().unwrap();
    let o = env.asl(&["resume", "e1", "--json"]);
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    assert_eq!(out["output"], json!([1, 2, 3]));
    let h = env.json(&["history", "e1", "--json", "--type", "MapRunStarted"]);
    assert_eq!(h["events"].as_array().unwrap().len(), 1, "{h}");
    let parent = out["executionArn"].as_str().unwrap();
    let children = map_run_children(&env, parent);
    assert_eq!(children.len(), 3, "{children:?}");
    assert!(
        children.iter().all(|c| c["status"] == "SUCCEEDED"),
        "{children:?}"
    );
}
