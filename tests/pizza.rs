//! The product's main job end to end: the pizza workflows against the pizza API fixture
//! (started in-process on 127.0.0.1:0), the report's counts against the API's own, the ramp of
//! `asl load`, and its bad input.

use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The fixture on a thread of its own, for the life of the test.
struct Api {
    base: String,
    server: std::sync::Arc<std::sync::Mutex<Option<pizza_api::Server>>>,
    _rt: std::thread::JoinHandle<()>,
}

impl Api {
    fn start() -> Api {
        let (tx, rx) = std::sync::mpsc::channel();
        let slot = std::sync::Arc::new(std::sync::Mutex::new(None));
        let slot2 = slot.clone();
        let rt = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let s =
                    pizza_api::start(pizza_api::Config::default(), "127.0.0.1:0".parse().unwrap())
                        .await
                        .unwrap();
                tx.send(s.url()).unwrap();
                *slot2.lock().unwrap() = Some(s);
                std::future::pending::<()>().await;
            });
        });
        let base = rx.recv().unwrap();
        Api {
            base,
            server: slot,
            _rt: rt,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&pizza_api::Server) -> T) -> T {
        loop {
            if let Some(s) = self.server.lock().unwrap().as_ref() {
                return f(s);
            }
            std::thread::yield_now();
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn asl(db: &Path, args: &[&str]) -> Output {
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

#[test]
fn the_pizza_generator_creates_reads_lists_and_deletes_and_the_report_agrees_with_the_api() {
    let api = Api::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("asl.db");
    let gen = root().join("workflows/pizza/generator.asl.json");
    let subs = [
        format!("OrderApiBaseUrl={}/order-api", api.base),
        format!("AdminApiBaseUrl={}/admin-api", api.base),
        "ConnectionArn=arn:aws:events:us-east-1:123456789012:connection/pizza/local".to_string(),
        "OrderWorkflowArn=arn:aws:states:us-east-1:123456789012:stateMachine:OrderWorkflow"
            .to_string(),
    ];
    let mut args = vec![
        "run",
        gen.to_str().unwrap(),
        "--name",
        "gen",
        "--input",
        r#"{"numRuns": 2}"#,
        "--wait-scale",
        "0",
        "--json",
    ];
    for s in &subs {
        args.push("--sub");
        args.push(s);
    }
    let o = asl(&db, &args);
    let out = json_of(&o);
    assert_eq!(out["status"], "SUCCEEDED", "{out}");

    // Ten order workflows ran as children of the generator.
    let list = json_of(&asl(
        &db,
        &["executions", "--state-machine", "OrderWorkflow", "--json"],
    ));
    assert_eq!(list["executions"].as_array().unwrap().len(), 10);

    let stats = api.with(|s| s.stats());
    let stats = serde_json::to_value(stats).unwrap();
    let mut api_counts: HashMap<String, u64> = HashMap::new();
    for e in stats["endpoints"].as_array().unwrap() {
        let key = format!(
            "{} {}",
            e["method"].as_str().unwrap(),
            e["route"].as_str().unwrap().replace("{orderId}", "{id}")
        );
        *api_counts.entry(key).or_default() += e["count"].as_u64().unwrap();
    }
    let created = api_counts["POST /order-api/orders"];
    assert!(created >= 10, "{api_counts:?}");
    assert_eq!(
        api_counts["GET /admin-api/orders/{id}"],
        created * 7,
        "{api_counts:?}"
    );
    // Each workflow lists its customer's orders and all orders five times, as the seed does.
    assert_eq!(api_counts["GET /order-api/orders"], 50);
    assert_eq!(api_counts["GET /admin-api/orders"], 50);
    assert_eq!(api_counts["DELETE /admin-api/orders/{id}"], created);
    // Everything the load made was deleted.
    assert_eq!(api.with(|s| s.order_count()), 0);

    // The report, from the stored history alone, counts what the API counted, per endpoint.
    let report = json_of(&asl(&db, &["report", "gen", "--json"]));
    let mut reported: HashMap<String, u64> = HashMap::new();
    for row in report["endpoints"].as_array().unwrap() {
        let name = row["name"].as_str().unwrap().replace(&api.base, "");
        reported.insert(name, row["requests"].as_u64().unwrap());
        assert_eq!(row["failures"], 0);
    }
    assert_eq!(reported, api_counts);
    assert_eq!(report["executions"], 11);
    // Latencies are kept below a millisecond's resolution.
    let p50 = report["total"]["percentilesMs"][0][1].as_f64().unwrap();
    assert!(p50 > 0.0 && (p50 * 1000.0).fract() >= 0.0);

    // CSV and HTML carry the same rows.
    let csv = String::from_utf8(asl(&db, &["report", "gen", "--csv"]).stdout).unwrap();
    assert!(csv.starts_with("Type,Name,# reqs,# fails,Avg,Min,Max,req/s,failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"));
    assert_eq!(
        csv.lines().count(),
        1 + report["states"].as_array().unwrap().len() + reported.len() + 1
    );
    let html = dir.path().join("r.html");
    asl(&db, &["report", "gen", "--html", html.to_str().unwrap()]);
    let page = std::fs::read_to_string(&html).unwrap();
    let data = page
        .split(r#"<script type="application/json" id="report-data">"#)
        .nth(1)
        .and_then(|s| s.split("</script>").next())
        .unwrap();
    let embedded: Value = serde_json::from_str(data).unwrap();
    assert_eq!(embedded["total"]["requests"], report["total"]["requests"]);
    assert!(!embedded["timeline"].as_array().unwrap().is_empty());
    for series in [
        "requests",
        "p50",
        "p95",
        "failures",
        "executions running",
        "tasks in flight",
    ] {
        assert!(
            page.contains(&format!("data-series=\"{series}\"")),
            "no {series} chart"
        );
    }

    // As the seed, the generator also takes numRuns from an EventBridge event's detail.
    let mut args = vec![
        "run",
        gen.to_str().unwrap(),
        "--name",
        "from-event",
        "--input",
        r#"{"detail": {"numRuns": 1}}"#,
        "--wait-scale",
        "0",
        "--json",
    ];
    for s in &subs {
        args.push("--sub");
        args.push(s);
    }
    assert_eq!(json_of(&asl(&db, &args))["status"], "SUCCEEDED");
    let list = json_of(&asl(
        &db,
        &["executions", "--state-machine", "OrderWorkflow", "--json"],
    ));
    assert_eq!(list["executions"].as_array().unwrap().len(), 15);
}

#[test]
fn asl_load_ramps_concurrency_in_steps_then_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("asl.db");
    let o = asl(
        &db,
        &[
            "load",
            "--target-concurrency",
            "3",
            "--step",
            "1",
            "--ramp-up",
            "1s",
            "--duration",
            "1s",
            "--wait-seconds",
            "0",
            "--fetches",
            "1",
            "--json",
        ],
    );
    let v = json_of(&o);
    assert_eq!(v["status"], "SUCCEEDED", "{v}");
    let api = &v["api"];
    assert!(api["totalRequests"].as_u64().unwrap() > 0);
    // Aggregated counts the HTTP requests (as the API does), not the orchestrator's nested
    // order workflows.
    let endpoints: u64 = v["report"]["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(v["report"]["total"]["requests"], json!(endpoints), "{v}");
    assert_eq!(api["totalRequests"], json!(endpoints), "{v}");
    // The rounds of the ramp, from the orchestrator's history: 1, 2, 3, then 3 while holding
    // (each round's one group of slots: a round starts its executions in groups of 40).
    let exec = v["execution"].as_str().unwrap();
    let h = json_of(&asl(&db, &["history", exec, "--json"]));
    let mut ramp = Vec::new();
    let mut hold = Vec::new();
    let mut current = "";
    for e in h["events"].as_array().unwrap() {
        if e["type"] == "MapStateEntered" {
            current = match e["stateEnteredEventDetails"]["name"].as_str() {
                Some("RampGroup") => "ramp",
                Some("HoldGroup") => "hold",
                _ => "",
            };
        }
        if e["type"] == "MapStateStarted" && !current.is_empty() {
            let n = e["mapStateStartedEventDetails"]["length"].as_u64().unwrap();
            if current == "ramp" {
                ramp.push(n)
            } else {
                hold.push(n)
            }
        }
    }
    assert!(ramp.len() >= 3, "{ramp:?}");
    assert_eq!(&ramp[..3], &[1, 2, 3], "{ramp:?}");
    assert!(ramp.iter().all(|n| *n <= 3), "{ramp:?}");
    assert!(!hold.is_empty() && hold.iter().all(|n| *n == 3), "{hold:?}");
    // The report's concurrency over time never exceeds the target (plus the orchestrator).
    let timeline = v["report"]["timeline"].as_array().unwrap();
    assert!(
        timeline
            .iter()
            .all(|s| s["executionsRunning"].as_u64().unwrap() <= 4),
        "{timeline:?}"
    );
    // (A second counts the executions running at its end: with orders a few milliseconds
    // long, whether one is in flight at that instant is chance, so only the orchestrator's
    // is certain; the ramp's steps are checked from the history above.)
    assert!(timeline
        .iter()
        .any(|s| s["executionsRunning"].as_u64().unwrap() >= 1
            && s["requests"].as_u64().unwrap() > 0));
}

#[test]
fn asl_load_runs_more_than_40_order_workflows_at_once_in_groups_of_40() {
    // An inline Map runs at most 40 iterations at once (as on AWS): a round of 90 starts its
    // order workflows in groups of 40, 40 and 10, the groups side by side.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("asl.db");
    let o = asl(
        &db,
        &[
            "load",
            "--target-concurrency",
            "90",
            "--ramp-up",
            "0s",
            "--duration",
            "1s",
            "--wait-seconds",
            "0",
            "--fetches",
            "1",
            "--json",
        ],
    );
    let v = json_of(&o);
    assert_eq!(v["status"], "SUCCEEDED", "{v}");
    let exec = v["execution"].as_str().unwrap();
    let h = json_of(&asl(&db, &["history", exec, "--json"]));
    let events = h["events"].as_array().unwrap();
    let length = |e: &Value| e["mapStateStartedEventDetails"]["length"].as_u64().unwrap();
    // Each MapStateStarted follows its own MapStateEntered.
    let mut lengths: HashMap<String, Vec<u64>> = HashMap::new();
    for e in events.iter().filter(|e| e["type"] == "MapStateStarted") {
        let entered = events
            .iter()
            .find(|x| x["id"] == e["previousEventId"])
            .unwrap();
        let name = entered["stateEnteredEventDetails"]["name"]
            .as_str()
            .unwrap();
        lengths.entry(name.to_string()).or_default().push(length(e));
    }
    let rounds = &lengths["HoldLoad"];
    assert!(
        !rounds.is_empty() && rounds.iter().all(|n| *n == 3),
        "{lengths:?}"
    );
    let groups = &lengths["HoldGroup"];
    let count = |n: u64| groups.iter().filter(|g| **g == n).count();
    assert_eq!(
        (count(40), count(10), groups.len()),
        (2 * rounds.len(), rounds.len(), 3 * rounds.len()),
        "{lengths:?}"
    );
    // The groups run side by side: all 90 order workflows of the first round are started
    // before any of them ends.
    let started_before_first_end = events
        .iter()
        .take_while(|e| e["type"] != "TaskSucceeded")
        .filter(|e| e["type"] == "TaskStarted")
        .count();
    assert_eq!(started_before_first_end, 90);
}

#[test]
fn asl_load_rejects_shapes_that_make_no_sense_before_running() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("asl.db");
    let cases: &[(&[&str], &str)] = &[
        (&["load", "--duration=-5s"], "not a duration"),
        (
            &["load", "--duration", "0s"],
            "--duration must be longer than 0 s",
        ),
        (
            &["load", "--target-concurrency", "0"],
            "--target-concurrency must be from 1 to 1000",
        ),
        (
            &["load", "--api-error-rate", "2"],
            "--api-error-rate must be from 0 to 1",
        ),
        (&["load", "--api", "http://127.0.0.1:1"], "is not reachable"),
        (
            &[
                "load",
                "--api",
                "http://127.0.0.1:1",
                "--api-latency-ms",
                "5",
            ],
            "they do nothing with --api",
        ),
        (
            &["load", "--fetches", "1001"],
            "--fetches must be from 0 to 1000",
        ),
        (
            &["load", "--wait-seconds", "100", "--duration", "5s"],
            "is longer than --duration",
        ),
        (
            &["load", "--target-concurrency", "-3"],
            "invalid value '-3'",
        ),
        (&["load", "--ramp-up", "-1s"], "not a duration"),
        (
            &["load", "--html", "/nonexistent-dir/report.html"],
            "cannot write the HTML report /nonexistent-dir/report.html",
        ),
    ];
    for (args, msg) in cases {
        let o = asl(&db, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(msg), "{args:?}: {err}");
    }
    // Nothing ran.
    let v = json_of(&asl(&db, &["executions", "--json"]));
    assert_eq!(v["executions"], json!([]));
}

#[test]
fn ctrl_c_stops_a_load_which_reports_and_cannot_be_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("asl.db");
    let child = Command::new(env!("CARGO_BIN_EXE_asl"))
        .env("ASL_DB", &db)
        .args([
            "load",
            "--target-concurrency",
            "2",
            "--ramp-up",
            "0s",
            "--duration",
            "60s",
            "--wait-seconds",
            "0",
            "--fetches",
            "1",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once order workflows have run, Ctrl-C (SIGINT).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "no order workflow ran"
        );
        let o = asl(
            &db,
            &[
                "executions",
                "--state-machine",
                "OrderWorkflow",
                "--status",
                "SUCCEEDED",
                "--json",
            ],
        );
        if o.status.success()
            && json_of(&o)["executions"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let started = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "the load did not stop"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("ABORTED  "), "{stdout}");
    assert!(stdout.contains("Aggregated"), "{stdout}");
    // Nothing is left running, and the run cannot be resumed (its API was its process's).
    let running = json_of(&asl(&db, &["executions", "--status", "RUNNING", "--json"]));
    assert_eq!(running["executions"], json!([]), "{running}");
    let name = stdout
        .split_whitespace()
        .nth(1)
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    let o = asl(&db, &["resume", &name]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is an `asl load` run"));
}
