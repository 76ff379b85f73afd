//! TestState (`asl test-state`, and `asl serve`'s action): one state run on its own with an
//! input, without an execution of record. The state runs inside a one-state machine whose
//! transitions end in stand-in Succeed states named after their targets, so that where it
//! went is the state it names; its retriers are not run but reported (`RETRIABLE`), and a
//! catcher that takes its error is `CAUGHT_ERROR`, as AWS's TestState answers.

use asl::exec::{
    self, Clock, Services, StandIn, StartRequest, Status, SystemClock, TestStateHooks,
};
use asl::history::{EventKind, HistorySink, MemoryHistory};
use asl::resources::Resources;
use asl::Failure;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// What went wrong with the request itself (not with the state).
pub struct Refused {
    pub code: &'static str,
    pub message: String,
}

fn refused(code: &'static str, message: impl Into<String>) -> Refused {
    Refused {
        code,
        message: message.into(),
    }
}

/// The state to test: `definition` is one state, or a whole state machine with `state_name`
/// naming the state (its `QueryLanguage` applies).
pub struct Request<'a> {
    pub definition: &'a str,
    pub state_name: Option<&'a str>,
    pub input: Value,
    /// `INFO`, `DEBUG` or `TRACE`.
    pub inspection_level: &'a str,
    /// Whether a role was given (AWS asks for one to test a Task state).
    pub role_given: bool,
    /// `stateConfiguration.retrierRetryCount`: the retries already made.
    pub retries_made: u32,
    /// TestState's `mock`: `{"result": JSON text}` or `{"errorOutput": {"error", "cause"}}`,
    /// what the Task's service answers instead of being called.
    pub mock: Option<&'a Value>,
    /// TestState's `variables`: what the state's `$name` references read.
    pub variables: Option<Map<String, Value>>,
    /// TestState's `context` (JSON text): the context object the state reads, given with a
    /// mock.
    pub context: Option<&'a str>,
    /// TestState's `revealSecrets`.
    pub reveal_secrets: bool,
    /// `stateConfiguration.mapIterationFailureCount`: a mocked Map's iterations that failed.
    pub map_iteration_failures: u64,
}

/// A TestState `mock`: `{"result": JSON text}` or `{"errorOutput": {"error", "cause"}}`.
fn mock_answer(mock: &Value) -> Result<Result<Value, Failure>, Refused> {
    match (mock.get("result"), mock.get("errorOutput")) {
        (Some(_), Some(_)) | (None, None) => Err(refused(
            "ValidationException",
            "A test mock should have only one of the following fields: [result, errorOutput].",
        )),
        (Some(r), None) => r
            .as_str()
            .and_then(|t| serde_json::from_str(t).ok())
            .map(Ok)
            .ok_or_else(|| refused("ValidationException", "Mocked result must be valid JSON")),
        (None, Some(e)) => {
            let text = |k: &str| match e.get(k) {
                None => Ok(String::new()),
                Some(Value::String(t)) => Ok(t.clone()),
                Some(_) => Err(refused(
                    "ValidationException",
                    format!("the mock's errorOutput.{k} is a string"),
                )),
            };
            Ok(Err(Failure::new(text("error")?, text("cause")?)))
        }
    }
}

/// The Task's answer from a TestState `mock`, as a one-response mock config.
fn mocked(mock: &Value, state: &str, resources: &Resources) -> Result<Resources, Refused> {
    let answer = match mock_answer(mock)? {
        Ok(v) => json!({"Return": v}),
        Err(f) => json!({"Throw": {"Error": f.error, "Cause": f.cause}}),
    };
    let config = json!({
        "StateMachines": {"TestState": {"TestCases": {"Mock": {state: "Answer"}}}},
        "MockedResponses": {"Answer": {"0": answer}},
    });
    let set = asl::resources::mock::MockSet::from_config(&config, Some("TestState"), Some("Mock"))
        .map_err(|e| refused("ValidationException", e.to_string()))?;
    Ok(Resources::new(Some(set), resources.config.clone()))
}

/// A Map's or Parallel's mock, checked against the state as AWS checks it: what its
/// iterations (an array; a ResultWriter's object) or branches (one item each) would give.
fn stand_in(mock: &Value, state: &Value, name: &str, failed: u64) -> Result<StandIn, Refused> {
    let answer = mock_answer(mock)?;
    if let Ok(v) = &answer {
        let writes = state.get("ResultWriter").is_some();
        let problem = match (state["Type"].as_str(), v) {
            (Some("Map"), Value::Object(_)) if writes => None,
            (Some("Map"), _) if writes => Some("Mocked result must be a JSON object."),
            (_, Value::Array(items)) => {
                let branches = state.get("Branches").and_then(Value::as_array);
                branches.filter(|b| b.len() != items.len()).map(|_| {
                    "Mocked result must contain the same number of items as number of Parallel branches."
                })
            }
            _ => Some("Mocked result must be an array."),
        };
        if let Some(p) = problem {
            return Err(refused("ValidationException", p));
        }
    }
    Ok(StandIn {
        state: name.to_string(),
        answer,
        failed_iterations: failed,
    })
}

/// TestState's `context`, checked as AWS checks it: a context object of the fields a state
/// can read (no `Map`; `Task` only where the state has a task token).
fn context_of(text: &str, state: &Value) -> Result<Value, Refused> {
    let bad = |m: String| {
        refused(
            "ValidationException",
            format!("Invalid Context object provided: {m}"),
        )
    };
    let mut v: Value = serde_json::from_str(text).map_err(|e| bad(format!("{e}")))?;
    let Some(fields) = v.as_object() else {
        return Err(bad("the context is a JSON object".into()));
    };
    let has_token =
        state["Type"] == "Task" && waits_on_more(state["Resource"].as_str().unwrap_or(""));
    for (key, value) in fields {
        // Each object's fields: (name, whether it is text).
        let allowed: &[(&str, bool)] = match key.as_str() {
            "Execution" => &[
                ("Id", true),
                ("Input", false),
                ("Name", true),
                ("RoleArn", true),
                ("StartTime", true),
                ("RedriveCount", false),
                ("RedriveTime", true),
            ],
            "State" => &[("EnteredTime", true), ("Name", true), ("RetryCount", false)],
            "StateMachine" => &[("Id", true), ("Name", true)],
            "Task" if has_token => &[("Token", true)],
            "Task" => return Err(bad("Context object contains 'Task' when state is not a Task state with a '.sync' or '.waitForTaskToken' service integration pattern".into())),
            "Map" => return Err(bad("'Map' field is not supported when mocking a Context object".into())),
            other => return Err(bad(format!("Field '{other}' is not allowed"))),
        };
        let Some(inner) = value.as_object() else {
            return Err(bad(format!("{key} must be an object")));
        };
        for (field, x) in inner {
            match allowed.iter().find(|(n, _)| n == field) {
                None => return Err(bad(format!("Field '{field}' is not allowed"))),
                Some((_, true)) if !x.is_string() => {
                    return Err(bad(format!("{key}.{field} must be a string")))
                }
                Some((n, false)) if *n != "Input" && !x.is_u64() => {
                    return Err(bad(format!("{key}.{field} must be a whole number")))
                }
                _ => {}
            }
        }
    }
    // ARNs given without a region or account get this one's, as AWS fills in its own.
    for (object, field) in [
        ("Execution", "Id"),
        ("Execution", "RoleArn"),
        ("StateMachine", "Id"),
    ] {
        if let Some(Value::String(arn)) = v.get_mut(object).and_then(|o| o.get_mut(field)) {
            *arn = with_account(arn);
        }
    }
    Ok(v)
}

/// A `.sync` or `.waitForTaskToken` resource: its task has a token and waits beyond the state.
fn waits_on_more(resource: &str) -> bool {
    [".sync", ".sync:2", ".waitForTaskToken"]
        .iter()
        .any(|p| resource.ends_with(p))
}

/// `arn:aws:SERVICE:::REST` with this region (a regional service) and account put in.
fn with_account(arn: &str) -> String {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [a, partition, service, region, account, rest] = parts[..] else {
        return arn.to_string();
    };
    if a != "arn" {
        return arn.to_string();
    }
    let region = match (region, service) {
        ("", "iam") => "",
        ("", _) => asl::exec::REGION,
        (r, _) => r,
    };
    let account = if account.is_empty() {
        asl::exec::ACCOUNT
    } else {
        account
    };
    format!("arn:{partition}:{service}:{region}:{account}:{rest}")
}

/// The state named `name` in `states`, or in the Map processors and Parallel branches within
/// them (TestState's `stateName` reaches into those).
fn find_state<'v>(states: &'v Value, name: &str) -> Option<&'v Value> {
    let map = states.as_object()?;
    if let Some(s) = map.get(name) {
        return Some(s);
    }
    map.values().find_map(|s| {
        let inner = [s.get("ItemProcessor"), s.get("Iterator")]
            .into_iter()
            .flatten()
            .chain(
                s.get("Branches")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten(),
            );
        inner
            .filter_map(|m| m.get("States"))
            .find_map(|st| find_state(st, name))
    })
}

/// Runs the state; TestState's answer.
/// TestState's limit: "The TestState API can run for up to five minutes".
const TEST_STATE_MAX_SECONDS: u64 = 300;

pub fn test_state(
    r: &Request<'_>,
    resources: Arc<Resources>,
    wait_scale: f64,
    stop: Option<&std::sync::atomic::AtomicBool>,
) -> Result<Value, Refused> {
    if let Some(bad) = r
        .variables
        .iter()
        .flat_map(|v| v.keys())
        .find(|k| !asl::definition::is_variable_name(k) || *k == "states")
    {
        return Err(refused(
            "ValidationException",
            format!("{bad:?} is not a variable name (`states` is reserved)"),
        ));
    }
    let def: Value = serde_json::from_str(r.definition).map_err(|e| {
        refused(
            "InvalidDefinition",
            format!("Invalid State Definition: '{e}'"),
        )
    })?;
    let (name, mut state, language) = match (def.get("States"), r.state_name) {
        (Some(states), Some(n)) => {
            let st = find_state(states, n)
                .cloned()
                .ok_or_else(|| refused("ValidationException", "State not found in definition"))?;
            (n.to_string(), st, def.get("QueryLanguage").cloned())
        }
        (Some(_), None) => {
            return Err(refused(
                "ValidationException",
                "a state machine definition needs stateName: the state to test",
            ))
        }
        (None, _) => (
            r.state_name.unwrap_or("StateName").to_string(),
            def.clone(),
            None,
        ),
    };
    if !state.is_object() || state.get("Type").is_none() {
        return Err(refused(
            "InvalidDefinition",
            "Invalid State Definition: a state is a JSON object with a Type",
        ));
    }
    let ty = state["Type"].as_str().unwrap_or("").to_string();
    if r.mock.is_some() {
        if r.reveal_secrets {
            return Err(refused(
                "ValidationException",
                "TestState does not support RevealSecrets when a mock is specified.",
            ));
        }
        if !matches!(ty.as_str(), "Task" | "Map" | "Parallel") {
            return Err(refused(
                "ValidationException",
                format!("State type '{ty}' is not supported when a mock is specified"),
            ));
        }
    }
    let context = match (r.context, r.mock) {
        (None, _) => None,
        (Some(_), None) => {
            return Err(refused(
                "ValidationException",
                "context may only be specified if a mock is specified in the same request",
            ))
        }
        (Some(text), Some(_)) => Some(context_of(text, &state)?),
    };
    match state["Type"].as_str() {
        Some("Map" | "Parallel") if r.mock.is_none() => {
            return Err(refused(
                "InvalidDefinition",
                "TestState API does not support Map or Parallel states. Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]",
            ))
        }
        Some("Task") if !r.role_given && r.mock.is_none() => {
            return Err(refused(
                "ValidationException",
                "RoleArn must be specified when testing a Task state",
            ))
        }
        // A state on its own has no execution to start children from or wait in for a token.
        Some("Task") if r.mock.is_none() => {
            let resource = state["Resource"].as_str().unwrap_or("");
            if waits_on_more(resource)
                || asl::history::activities::activity_name(resource).is_some()
            {
                return Err(refused(
                    "ValidationException",
                    format!("TestState runs {resource:?} only with a mock: a .sync, .waitForTaskToken or activity task waits on more than one state"),
                ));
            }
        }
        _ => {}
    }
    let jsonata = state
        .get("QueryLanguage")
        .or(language.as_ref())
        .and_then(Value::as_str)
        == Some("JSONata");
    // Where it may go, each a stand-in Succeed state; its retriers are kept aside.
    let mut targets: Vec<String> = Vec::new();
    let mut add = |v: Option<&Value>| {
        if let Some(t) = v.and_then(Value::as_str) {
            if !targets.iter().any(|x| x == t) {
                targets.push(t.to_string());
            }
        }
    };
    add(state.get("Next"));
    add(state.get("Default"));
    for key in ["Choices", "Catch"] {
        for c in state
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            add(c.get("Next"));
        }
    }
    let mut states = Map::new();
    for t in &targets {
        states.insert(t.clone(), json!({"Type": "Succeed"}));
    }
    // A state that goes to itself runs under another name, so that going to itself ends in
    // its stand-in too.
    let own = if targets.contains(&name) {
        format!("~{}", name.chars().take(79).collect::<String>())
    } else {
        name.clone()
    };
    let machine_of = |state: &Value, states: &Map<String, Value>| {
        let mut all = states.clone();
        all.insert(own.clone(), state.clone());
        let mut m = json!({"StartAt": own, "States": all});
        if let Some(l) = &language {
            m["QueryLanguage"] = l.clone();
        }
        m
    };
    // Checked as written (its retriers too), then run without its retriers.
    let checked = machine_of(&state, &states).to_string();
    if let Err(e) = asl::Definition::from_json(&checked) {
        return Err(refused(
            "InvalidDefinition",
            format!("Invalid State Machine Definition: '{}'", e.detail()),
        ));
    }
    let retriers = state
        .as_object_mut()
        .and_then(|o| o.remove("Retry"))
        .and_then(|r| r.as_array().cloned())
        .unwrap_or_default();
    let runnable = asl::Definition::from_json(&machine_of(&state, &states).to_string())
        .map_err(|e| refused("InvalidDefinition", e.to_string()))?;

    // The mock: a Task's service answers it; a Map or Parallel gives it instead of running.
    let (resources, stand_in) = match r.mock {
        None => (resources, None),
        Some(m) if ty == "Task" => (Arc::new(mocked(m, &own, &resources)?), None),
        Some(m) => (
            resources,
            Some(stand_in(m, &state, &own, r.map_iteration_failures)?),
        ),
    };
    let history = Arc::new(MemoryHistory::new());
    // Each step's value of a JSONPath state, as the engine reports it (DEBUG's inspection data).
    let steps: Arc<std::sync::Mutex<Vec<(&'static str, String)>>> = Default::default();
    let services = Services {
        clock: Arc::new(SystemClock { scale: wait_scale }) as Arc<dyn Clock>,
        resources,
        history: history.clone() as Arc<dyn HistorySink>,
        stop: None,
        children: None,
        callbacks: None,
        inspect: Some({
            let steps = steps.clone();
            Arc::new(move |step: &'static str, v: &Value| {
                if let Ok(mut s) = steps.lock() {
                    s.push((step, v.to_string()));
                }
            })
        }),
        test_state: Some(Arc::new(TestStateHooks { context, stand_in })),
    };
    let req = StartRequest {
        state_machine_name: "TestState".into(),
        execution_name: "test-state".into(),
        input: r.input.clone(),
        start_time: None,
        resume: None,
        express_arn: None,
        role_arn: None,
        variables: r.variables.clone(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| refused("InternalFailure", e.to_string()))?;
    // As AWS's, a test runs five minutes at most (a long Wait ends in States.Timeout); a server
    // that is stopping ends it too.
    let run = exec::execute(&runnable, req, &services);
    let outcome = tokio::task::LocalSet::new().block_on(&rt, async {
        let stopping = async {
            loop {
                if stop.is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed)) {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        };
        tokio::select! {
            o = run => Ok(o),
            _ = tokio::time::sleep(std::time::Duration::from_secs(TEST_STATE_MAX_SECONDS)) => Err(None),
            _ = stopping => Err(Some(())),
        }
    });
    let outcome = match outcome {
        Ok(o) => o,
        Err(None) => {
            return Ok(json!({"status": "FAILED", "error": "States.Timeout",
                             "cause": "The state did not end within five minutes, TestState's limit"}))
        }
        Err(Some(())) => return Err(refused("InternalFailure", "the server is stopping")),
    };

    let events = history.events();
    // Where the state went: the stand-in entered after it, if any.
    let next = events.iter().find_map(|e| match &e.kind {
        EventKind::StateEntered { name: n, .. } if *n != own => Some(n.to_string()),
        _ => None,
    });
    // The state's own output, as it exited.
    let exited = events.iter().rev().find_map(|e| match &e.kind {
        EventKind::StateExited {
            name: n, output, ..
        } if *n == own => Some(output.as_ref().clone()),
        _ => None,
    });
    // The failures tasks reported (their error, and whether it was a heartbeat's time-out).
    let mut reported: Vec<(String, Option<String>)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Other {
                event_type,
                details: Some((_, d)),
            } if TASK_FAILURES.contains(&event_type.as_ref()) => {
                let d = d.to_aws();
                Some((
                    d.get("error")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    d.get("cause").and_then(Value::as_str).map(String::from),
                ))
            }
            _ => None,
        })
        .collect();
    let steps = steps.lock().map(|s| s.clone()).unwrap_or_default();
    // A mocked Map's or Parallel's failure, as the engine told it.
    for (_, text) in steps.iter().filter(|(step, _)| *step == "failure") {
        let f: Value = serde_json::from_str(text).unwrap_or_default();
        let field = |k: &str| f.get(k).and_then(Value::as_str).map(String::from);
        reported.push((field("Error").unwrap_or_default(), field("Cause")));
    }
    // The error the state met: what ended it, or what one of its catchers took.
    let caught = match (&outcome.status, &next) {
        (Status::Succeeded, Some(n)) if is_catch_target(&state, n) => reported.last().cloned(),
        _ => None,
    };
    let met = match outcome.status {
        Status::Succeeded => caught.clone(),
        _ => Some((
            outcome.error.clone().unwrap_or_default(),
            outcome.cause.as_deref().map(|c| unlocated(c, &own)),
        )),
    };
    // As the engine has it: a task's error may be caught by States.ALL, the engine's own
    // States.Runtime may not.
    let failure = met.as_ref().map(|(error, _)| {
        let from_task = reported.iter().any(|(e, _)| e == error);
        if from_task {
            Failure::from_task(error.clone(), "")
        } else {
            Failure::new(error.clone(), "")
        }
    });
    let debug = r.inspection_level != "INFO";
    let mut v = Map::new();
    // DEBUG and TRACE: what the state saw and did (`errorDetails` too).
    let mut data = Map::new();
    data.insert("input".into(), json!(r.input.to_string()));
    // The variables after the state: those given, with what the state assigned over them.
    let assigned = events.iter().find_map(|e| match &e.kind {
        EventKind::StateExited {
            name: n,
            assigned: Some(a),
            ..
        } if *n == own => Some(a.as_ref().clone()),
        _ => None,
    });
    if r.variables.is_some() || assigned.is_some() {
        let mut vars = r.variables.clone().unwrap_or_default();
        vars.extend(assigned.unwrap_or_default());
        data.insert("variables".into(), json!(Value::Object(vars).to_string()));
    }
    // JSONPath: the steps as recorded against AWS (a Pass with `Result` shows neither its
    // InputPath's nor its Parameters' value; a Pass without one, no `result`).
    let with_result = state.get("Result").is_some();
    let fans_out = matches!(ty.as_str(), "Map" | "Parallel");
    for (step, text) in steps {
        // A Map's limits are numbers, shown in either query language.
        if let "maxConcurrency" | "toleratedFailureCount" | "toleratedFailurePercentage" = step {
            let n: Value = serde_json::from_str(&text).unwrap_or_default();
            data.entry(step).or_insert(n);
            continue;
        }
        let shown = match step {
            "afterInputPath" | "afterParameters" => !with_result,
            // A mocked Map or Parallel shows no result of its own (as recorded against AWS).
            "result" => !fans_out,
            "failure" => false,
            _ => true,
        };
        // The tested state's own steps come first; the stand-in after it reports its own.
        if shown && !jsonata && !data.contains_key(step) {
            data.insert(step.into(), json!(text));
        }
    }
    for e in events.iter().filter(|_| jsonata) {
        if let EventKind::Other {
            event_type,
            details: Some((_, d)),
        } = &e.kind
        {
            let d = d.to_aws();
            match event_type.as_ref() {
                "TaskScheduled" | "LambdaFunctionScheduled" | "ActivityScheduled" => {
                    let sent = d.get("parameters").or(d.get("input")).cloned();
                    let key = if jsonata {
                        "afterArguments"
                    } else {
                        "afterParameters"
                    };
                    if let Some(p) = sent {
                        data.insert(key.into(), p);
                    }
                }
                "TaskSucceeded" | "LambdaFunctionSucceeded" | "ActivitySucceeded" => {
                    if let Some(o) = d.get("output") {
                        data.insert("result".into(), o.clone());
                    }
                }
                _ => {}
            }
        }
    }
    // Retriers come first, as in a run: one with attempts left makes the state RETRIABLE
    // (with the back-off the next attempt would wait: IntervalSeconds × BackoffRate^retries
    // made), whatever its catchers would do.
    let retrier = failure.as_ref().and_then(|f| {
        retriers
            .iter()
            .enumerate()
            .find(|(_, rt)| f.matches(&names_of(&rt["ErrorEquals"])))
    });
    let retriable = retrier
        .filter(|(_, rt)| u64::from(r.retries_made) < rt["MaxAttempts"].as_u64().unwrap_or(3));
    if let Some((i, rt)) = retriable {
        let interval = rt["IntervalSeconds"].as_f64().unwrap_or(1.0);
        let rate = rt["BackoffRate"].as_f64().unwrap_or(2.0);
        let mut backoff = interval * rate.powi(r.retries_made as i32);
        if let Some(max) = rt["MaxDelaySeconds"].as_f64() {
            backoff = backoff.min(max);
        }
        v.insert("status".into(), json!("RETRIABLE"));
        data.insert(
            "errorDetails".into(),
            json!({"retryIndex": i, "retryBackoffIntervalSeconds": backoff as u64}),
        );
    } else if outcome.status == Status::Succeeded {
        let output = exited.or(outcome.output).unwrap_or(Value::Null);
        v.insert("output".into(), json!(output.to_string()));
        match &failure {
            Some(f) => {
                v.insert("status".into(), json!("CAUGHT_ERROR"));
                if let Some(i) = catch_index(&state, f) {
                    data.insert("errorDetails".into(), json!({"catchIndex": i}));
                }
            }
            None => {
                v.insert("status".into(), json!("SUCCEEDED"));
            }
        }
        if let Some(n) = &next {
            v.insert("nextState".into(), json!(n));
        }
    } else {
        v.insert("status".into(), json!("FAILED"));
        if let Some((i, _)) = retrier {
            data.insert("errorDetails".into(), json!({"retryIndex": i}));
        }
    }
    if let Some((error, cause)) = met {
        v.insert("error".into(), json!(error));
        if let Some(c) = cause {
            v.insert("cause".into(), json!(c));
        }
    }
    if debug {
        v.insert("inspectionData".into(), Value::Object(data));
    }
    Ok(Value::Object(v))
}

/// An engine error's cause without the execution's "An error occurred while executing the
/// state 'S' (entered at the event id #N)." before it: TestState's causes have no events to
/// point to (as recorded against AWS, a Map's ItemsPath that is no array).
fn unlocated(cause: &str, state: &str) -> String {
    let prefix =
        format!("An error occurred while executing the state '{state}' (entered at the event id #");
    cause
        .strip_prefix(&prefix)
        .and_then(|rest| rest.split_once("). "))
        .map_or(cause, |(_, c)| c)
        .to_string()
}

/// The events of a task's failure.
const TASK_FAILURES: &[&str] = &[
    "TaskFailed",
    "TaskTimedOut",
    "LambdaFunctionFailed",
    "LambdaFunctionTimedOut",
    "ActivityFailed",
    "ActivityTimedOut",
];

/// An `ErrorEquals` list.
fn names_of(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_str().map(String::from))
        .collect()
}

fn is_catch_target(state: &Value, target: &str) -> bool {
    state["Catch"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["Next"] == target)
}

/// The first catcher that takes `f`.
fn catch_index(state: &Value, f: &Failure) -> Option<usize> {
    state["Catch"]
        .as_array()?
        .iter()
        .position(|c| f.matches(&names_of(&c["ErrorEquals"])))
}
