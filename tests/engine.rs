//! The engine through its library interface, on virtual time: waits, back-off and time-outs
//! take no real time, and what they would have taken is checked exactly.

use asl::exec::{self, Outcome, Services, StartRequest, Status, VirtualClock};
use asl::history::{HistorySink, MemoryHistory};
use asl::resources::{mock::MockSet, Resources};
use asl::Definition;
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use std::sync::Arc;

struct Ran {
    outcome: Outcome,
    events: Vec<Value>,
    /// Virtual seconds the execution took.
    seconds: f64,
}

fn run_with(def: Value, input: Value, mocks: Option<Value>) -> Ran {
    let def = Definition::from_value(def).expect("valid definition");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async move {
        let history = Arc::new(MemoryHistory::new());
        let services = Services {
            clock: Arc::new(VirtualClock::new(
                Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            )),
            resources: Arc::new(Resources::new(
                mocks.map(|m| MockSet::from_config(&m, None, None).unwrap()),
                Default::default(),
            )),
            history: history.clone() as Arc<dyn HistorySink>,
            stop: None,
            children: None,
            callbacks: None,
            inspect: None,
            test_state: None,
        };
        let req = StartRequest {
            state_machine_name: "Test".into(),
            execution_name: "exec-1".into(),
            input,
            start_time: None,
            resume: None,
            express_arn: None,
            role_arn: None,
            variables: None,
        };
        let outcome = exec::execute(&def, req, &services).await;
        let seconds = (outcome.stop_date - outcome.start_date).num_milliseconds() as f64 / 1000.0;
        Ran {
            outcome,
            events: history.events().iter().map(|e| e.to_aws()).collect(),
            seconds,
        }
    })
}

fn run(def: Value, input: Value) -> Ran {
    run_with(def, input, None)
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

#[test]
fn wait_states_take_virtual_time_only() {
    let r = run(
        json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 3600, "Next": "W2"},
            "W2": {"Type": "Wait", "SecondsPath": "$.s", "Next": "W3"},
            "W3": {"Type": "Wait", "Timestamp": "2026-01-01T02:00:30Z", "End": true}}}),
        json!({"s": 60}),
    );
    assert_eq!(r.outcome.status, Status::Succeeded);
    assert_eq!(r.seconds, 7230.0);
}

#[test]
fn retry_backs_off_exponentially_capped_by_max_delay() {
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 4, "MaxDelaySeconds": 10}],
        "End": true}}});
    let mocks = json!({"StateMachines": {"Test": {"TestCases": {"T": {"T": "R"}}}},
        "MockedResponses": {"R": {"0-3": {"Throw": {"Error": "Boom", "Cause": "x"}}, "4": {"Return": {"ok": true}}}}});
    let r = run_with(def, json!({}), Some(mocks));
    assert_eq!(r.outcome.status, Status::Succeeded, "{:?}", r.outcome);
    assert_eq!(r.outcome.output, Some(json!({"ok": true})));
    // 2 + 6 + min(18, 10) + min(54, 10)
    assert_eq!(r.seconds, 28.0);
    let t = types(&r.events);
    assert_eq!(t.iter().filter(|t| **t == "TaskFailed").count(), 4);
    assert_eq!(t.iter().filter(|t| **t == "TaskStateEntered").count(), 1);
}

#[test]
fn retries_exhausted_then_caught_with_result_path() {
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
              "Retry": [{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 1}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Handled"}],
              "End": true},
        "Handled": {"Type": "Pass", "End": true}}});
    let mocks = json!({"StateMachines": {"Test": {"TestCases": {"T": {"T": "R"}}}},
        "MockedResponses": {"R": {"0-1": {"Throw": {"Error": "Custom", "Cause": "bad"}}}}});
    let r = run_with(def, json!({"keep": 1}), Some(mocks));
    assert_eq!(
        r.outcome.output,
        Some(json!({"keep": 1, "err": {"Error": "Custom", "Cause": "bad"}}))
    );
    assert_eq!(r.seconds, 1.0);
}

#[test]
fn execution_timeout_ends_a_long_wait() {
    let r = run(
        json!({"TimeoutSeconds": 10, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100, "End": true}}}),
        json!({}),
    );
    assert_eq!(r.outcome.status, Status::TimedOut);
    // DescribeExecution of a timed-out execution has no error or cause (recorded against AWS).
    assert_eq!(r.outcome.error, None);
    assert_eq!(r.outcome.cause, None);
    assert_eq!(r.seconds, 10.0);
    assert_eq!(types(&r.events).last(), Some(&"ExecutionTimedOut"));
}

#[test]
fn map_results_keep_input_order_whatever_the_concurrency() {
    for max in [0, 1, 2, 5] {
        let r = run(
            json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": max, "ItemsPath": "$.items",
                "ItemProcessor": {"StartAt": "W", "States": {
                    "W": {"Type": "Wait", "SecondsPath": "$", "Next": "P"},
                    "P": {"Type": "Pass", "Parameters": {"v.$": "$"}, "End": true}}},
                "End": true}}}),
            json!({"items": [5, 1, 4, 2, 3]}),
        );
        assert_eq!(
            r.outcome.output,
            Some(json!([{"v": 5}, {"v": 1}, {"v": 4}, {"v": 2}, {"v": 3}])),
            "MaxConcurrency {max}"
        );
        // Concurrency shows in how long the waits took in all.
        let expected = match max {
            0 | 5 => 5.0,
            1 => 15.0,
            _ => 8.0, // [5,1] -> 1 done, 4 starts at 1 (ends 5), 5 done at 5: 2 (ends 7), 4 done at 5: 3 (ends 8)
        };
        assert_eq!(r.seconds, expected, "MaxConcurrency {max}");
    }
}

#[test]
fn parallel_branches_run_concurrently_and_keep_branch_order() {
    let r = run(
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": 3, "Next": "A2"}, "A2": {"Type": "Pass", "Result": "a", "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Wait", "Seconds": 1, "Next": "B2"}, "B2": {"Type": "Pass", "Result": "b", "End": true}}}
        ]}}}),
        json!({}),
    );
    assert_eq!(r.outcome.output, Some(json!(["a", "b"])));
    assert_eq!(r.seconds, 3.0);
}

#[test]
fn history_events_have_aws_shapes_and_increasing_ids() {
    let r = run(
        json!({"StartAt": "P", "States": {
            "P": {"Type": "Pass", "Result": {"x": 1}, "Next": "M"},
            "M": {"Type": "Map", "ItemsPath": "$.l", "Parameters": {"i.$": "$$.Map.Item.Index"},
                  "Iterator": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}},
                  "ResultPath": "$.out", "Next": "S"},
            "S": {"Type": "Succeed"}}}),
        json!({}),
    );
    // Result replaces the input, so the Map has no list: a Runtime failure.
    assert_eq!(r.outcome.status, Status::Failed);
    assert_eq!(r.outcome.error.as_deref(), Some("States.Runtime"));
    assert!(r.outcome.cause.as_deref().unwrap().starts_with(
        "An error occurred while executing the state 'M' (entered at the event id #4)."
    ));

    let r = run(
        json!({"StartAt": "P", "States": {
            "P": {"Type": "Pass", "Result": {"l": [10, 20]}, "Next": "M"},
            "M": {"Type": "Map", "ItemsPath": "$.l", "Parameters": {"i.$": "$$.Map.Item.Index"},
                  "Iterator": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}},
                  "ResultPath": "$.out", "Next": "S"},
            "S": {"Type": "Succeed"}}}),
        json!({}),
    );
    assert_eq!(
        r.outcome.output,
        Some(json!({"l": [10, 20], "out": [{"i": 0}, {"i": 1}]}))
    );
    let t = types(&r.events);
    assert_eq!(t[0], "ExecutionStarted");
    assert_eq!(&t[1..3], &["PassStateEntered", "PassStateExited"]);
    assert_eq!(&t[3..5], &["MapStateEntered", "MapStateStarted"]);
    assert_eq!(t.iter().filter(|t| **t == "MapIterationStarted").count(), 2);
    assert_eq!(
        t.iter().filter(|t| **t == "MapIterationSucceeded").count(),
        2
    );
    assert_eq!(
        &t[t.len() - 3..],
        &[
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
    for (i, e) in r.events.iter().enumerate() {
        assert_eq!(e["id"], json!(i + 1));
        assert!(e["previousEventId"].as_u64().unwrap() < e["id"].as_u64().unwrap());
        assert!(e["timestamp"].is_string());
    }
    let entered = &r.events[1]["stateEnteredEventDetails"];
    assert_eq!(entered["name"], "P");
    assert_eq!(entered["input"], "{}");
    let started = r
        .events
        .iter()
        .find(|e| e["type"] == "MapStateStarted")
        .unwrap();
    assert_eq!(started["mapStateStartedEventDetails"], json!({"length": 2}));
    let it = r
        .events
        .iter()
        .find(|e| e["type"] == "MapIterationStarted")
        .unwrap();
    assert_eq!(it["mapIterationStartedEventDetails"]["name"], "M");
}

#[test]
fn choice_without_match_or_default_fails() {
    let r = run(
        json!({"StartAt": "C", "States": {"C": {"Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "S"}]}, "S": {"Type": "Succeed"}}}),
        json!({"n": 2}),
    );
    assert_eq!(r.outcome.error.as_deref(), Some("States.NoChoiceMatched"));
}

#[test]
fn oversized_state_output_is_data_limit_exceeded_and_not_caught_by_all() {
    let big = "x".repeat(300 * 1024);
    let r = run(
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H"}],
            "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": big, "End": true}}}]},
            "H": {"Type": "Succeed"}}}),
        json!({}),
    );
    assert_eq!(r.outcome.status, Status::Failed);
    assert_eq!(r.outcome.error.as_deref(), Some("States.DataLimitExceeded"));
}

#[test]
fn an_inline_map_fails_with_its_first_failed_iteration_whatever_it_tolerates() {
    // AWS, inline mode: "if any iteration fails, the Map state fails. When the Map state
    // fails, all iterations stop." Tolerated failures are a Map Run's (DISTRIBUTED).
    let def = |count: u64| {
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ToleratedFailureCount": count,
            "ItemProcessor": {"StartAt": "C", "States": {
                "C": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericEquals": 0, "Next": "F"}], "Default": "OK"},
                "F": {"Type": "Fail", "Error": "Zero", "Cause": "zero"},
                "OK": {"Type": "Succeed"}}},
            "End": true}}})
    };
    for count in [0, 1, 5] {
        let r = run(def(count), json!([1, 0, 2]));
        assert_eq!(r.outcome.status, Status::Failed, "{count}");
        assert_eq!(r.outcome.error.as_deref(), Some("Zero"), "{count}");
        assert_eq!(r.outcome.cause.as_deref(), Some("zero"), "{count}");
    }
    // Nothing failed: the Map succeeds, with or without a tolerance.
    let r = run(def(1), json!([1, 2]));
    assert_eq!(r.outcome.output, Some(json!([1, 2])));
}

#[test]
fn an_inline_map_runs_at_most_40_iterations_at_once() {
    // "In this mode, the Map state supports up to 40 concurrent iterations": each iteration
    // waits 10 s of workflow time, so on the virtual clock a batch of 40 ends together.
    let def = |max: u64| {
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": max,
            "ItemProcessor": {"StartAt": "W", "States": {
                "W": {"Type": "Wait", "Seconds": 10, "End": true}}},
            "End": true}}})
    };
    let items = json!((0..100).collect::<Vec<u32>>());
    for (max, batches) in [(0, 3), (50, 3), (40, 3), (20, 5)] {
        let r = run(def(max), items.clone());
        assert_eq!(r.outcome.status, Status::Succeeded);
        assert_eq!(r.seconds, 10.0 * batches as f64, "MaxConcurrency {max}");
    }
}

#[test]
fn callback_tasks_see_a_task_token_in_the_context() {
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"MessageBody": {"token.$": "$$.Task.Token"}}, "End": true}}});
    let mocks = json!({"StateMachines": {"Test": {"TestCases": {"T": {"T": "R"}}}},
        "MockedResponses": {"R": {"0": {"Return": {"approved": true}}}}});
    let r = run_with(def, json!({}), Some(mocks));
    assert_eq!(r.outcome.output, Some(json!({"approved": true})));
    let scheduled = r
        .events
        .iter()
        .find(|e| e["type"] == "TaskScheduled")
        .unwrap();
    let params: Value = serde_json::from_str(
        scheduled["taskScheduledEventDetails"]["parameters"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert!(params["MessageBody"]["token"].as_str().unwrap().len() >= 32);
}

#[test]
fn jsonata_states_and_variables() {
    let r = run(
        json!({"QueryLanguage": "JSONata", "StartAt": "Count", "States": {
            "Count": {"Type": "Pass", "Assign": {"n": "{% $count($states.input.items) %}", "seen": []},
                      "Output": {"items": "{% $states.input.items %}"}, "Next": "Big"},
            "Big": {"Type": "Choice", "Choices": [{"Condition": "{% $n > 2 %}", "Next": "Each"}], "Default": "Small"},
            "Small": {"Type": "Fail", "Error": "TooFew"},
            "Each": {"Type": "Map", "Items": "{% $states.input.items %}",
                     "ItemSelector": {"v": "{% $states.context.Map.Item.Value %}", "i": "{% $states.context.Map.Item.Index %}"},
                     "ItemProcessor": {"StartAt": "Double", "States": {
                        "Double": {"Type": "Pass", "Output": "{% $states.input.v * 2 + $n %}", "End": true}}},
                     "Assign": {"doubled": "{% $states.result %}"},
                     "Next": "Back"},
            "Back": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": {"total": "{% $sum($doubled) %}", "n": "{% $n %}"}, "End": true}}}),
        json!({"items": [1, 2, 3]}),
    );
    assert_eq!(r.outcome.status, Status::Succeeded, "{:?}", r.outcome);
    // (2+3) + (4+3) + (6+3)
    assert_eq!(r.outcome.output, Some(json!({"total": 21, "n": 3})));

    // A JSONPath state reads variables with `$name` paths and assigns with `.$` templates.
    let r = run(
        json!({"StartAt": "Set", "States": {
            "Set": {"Type": "Pass", "Assign": {"who.$": "$.name", "fixed": 7}, "Next": "Use"},
            "Use": {"Type": "Pass", "Parameters": {"greeting.$": "States.Format('hi {}', $who)", "f.$": "$fixed"}, "End": true}}}),
        json!({"name": "ada"}),
    );
    assert_eq!(
        r.outcome.output,
        Some(json!({"greeting": "hi ada", "f": 7}))
    );

    // An undefined expression is a located States.QueryEvaluationError.
    let r = run(
        json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
            "P": {"Type": "Pass", "Output": {"x": "{% $nope %}"}, "End": true}}}),
        json!({}),
    );
    assert_eq!(
        r.outcome.error.as_deref(),
        Some("States.QueryEvaluationError")
    );
    assert_eq!(
        r.outcome.cause.as_deref(),
        Some("An error occurred while executing the state 'P' (entered at the event id #2). The JSONata expression '$nope' specified for the field 'Output/x' returned nothing (undefined).")
    );
}

#[test]
fn variables_past_their_size_limits_fail_the_state() {
    // One variable over 256 KiB.
    let big = "x".repeat(260 * 1024);
    let r = run(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {"v": big}, "End": true}}}),
        json!({}),
    );
    assert_eq!(r.outcome.error.as_deref(), Some("States.DataLimitExceeded"));
    assert!(r.outcome.cause.unwrap().contains("'v'"));
    // Two variables each under the limit, together over it.
    let half = "y".repeat(150 * 1024);
    let r = run(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass",
            "Assign": {"a": half.clone(), "b": half}, "End": true}}}),
        json!({}),
    );
    assert_eq!(r.outcome.error.as_deref(), Some("States.DataLimitExceeded"));
    // Under the limits: assigned, and listed in the StateExited event as JSON text.
    let r = run(
        json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Assign": {"n": 3, "s.$": "$.s"}, "Next": "B"},
            "B": {"Type": "Pass", "Parameters": {"n.$": "$n", "s.$": "$s"}, "End": true}}}),
        json!({"s": "text"}),
    );
    assert_eq!(r.outcome.output, Some(json!({"n": 3, "s": "text"})));
    let exited = r
        .events
        .iter()
        .find(|e| e["type"] == "PassStateExited")
        .unwrap();
    assert_eq!(
        exited["stateExitedEventDetails"]["assignedVariables"],
        json!({"n": "3", "s": "\"text\""})
    );
}

#[test]
fn jsonpath_catchers_assign_from_the_error_output() {
    let r = run(
        json!({"StartAt": "F", "States": {
            "F": {"Type": "Parallel", "Next": "Done",
                "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Fail", "Error": "Boom", "Cause": "why"}}}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err",
                           "Assign": {"lastError.$": "$.Error", "fixed": 1}, "Next": "Handle"}]},
            "Handle": {"Type": "Pass", "Parameters": {"e.$": "$lastError", "f.$": "$fixed", "in.$": "$.err.Cause"}, "End": true},
            "Done": {"Type": "Succeed"}}}),
        json!({}),
    );
    assert_eq!(
        r.outcome.output,
        Some(json!({"e": "Boom", "f": 1, "in": "why"}))
    );
}

#[test]
fn choice_rules_assign_and_output_their_own_values() {
    // JSONPath: the state's Assign applies whichever way the Choice goes; the matched rule's
    // Assign adds to it and wins where both set a variable.
    let def = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericGreaterThan": 5, "Assign": {"size": "big"}, "Next": "R"}],
            "Assign": {"size": "small", "checked.$": "$.n"}, "Default": "R"},
        "R": {"Type": "Pass", "Parameters": {"size.$": "$size", "checked.$": "$checked"}, "End": true}}});
    assert_eq!(
        run(def.clone(), json!({"n": 9})).outcome.output,
        Some(json!({"size": "big", "checked": 9}))
    );
    assert_eq!(
        run(def, json!({"n": 1})).outcome.output,
        Some(json!({"size": "small", "checked": 1}))
    );
    // JSONata: the matched rule's Output replaces the state's; Assign as above.
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "C", "States": {
        "C": {"Type": "Choice",
            "Choices": [{"Condition": "{% $states.input.n > 5 %}", "Next": "R",
                         "Output": {"seen": "{% $states.input.n %}"}, "Assign": {"size": "big"}}],
            "Output": {"seen": "default"}, "Assign": {"size": "small", "n": "{% $states.input.n %}"},
            "Default": "R"},
        "R": {"Type": "Pass", "Output": {"seen": "{% $states.input.seen %}", "size": "{% $size %}", "n": "{% $n %}"}, "End": true}}});
    assert_eq!(
        run(def.clone(), json!({"n": 9})).outcome.output,
        Some(json!({"seen": 9, "size": "big", "n": 9}))
    );
    assert_eq!(
        run(def, json!({"n": 1})).outcome.output,
        Some(json!({"seen": "default", "size": "small", "n": 1}))
    );
}

#[test]
fn an_engine_runtime_error_is_never_caught() {
    // "A States.Runtime error isn't retriable, and will always cause the execution to fail":
    // not even a Catcher that names it takes it.
    let r = run(
        json!({"StartAt": "P", "States": {
            "P": {"Type": "Parallel", "Branches": [{"StartAt": "B", "States": {
                    "B": {"Type": "Pass", "Parameters": {"x.$": "$.missing"}, "End": true}}}],
                  "Retry": [{"ErrorEquals": ["States.Runtime"]}],
                  "Catch": [{"ErrorEquals": ["States.Runtime"], "Next": "Caught"}], "End": true},
            "Caught": {"Type": "Pass", "End": true}}}),
        json!({}),
    );
    assert_eq!(r.outcome.status, Status::Failed);
    assert_eq!(r.outcome.error.as_deref(), Some("States.Runtime"));
    assert_eq!(r.seconds, 0.0);
}

#[test]
fn jsonata_states_as_a_whole_holds_the_context() {
    // `$states` is {input, context} (and result, errorOutput where they exist), also when an
    // expression reads it whole rather than `$states.context`.
    let r = run(
        json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
            "P": {"Type": "Pass", "Output": {"keys": "{% $keys($states) %}",
                                             "state": "{% $lookup($states, 'context').State.Name %}"},
                  "End": true}}}),
        json!({"q": 1}),
    );
    assert_eq!(
        r.outcome.output,
        Some(json!({"keys": ["input", "context"], "state": "P"}))
    );
}

#[test]
fn jsonpath_filters_match_objects_only() {
    // AWS: "The @ operator, matching the current node being processed in a filter, does not
    // match scalar values. It only matches objects."
    let r = run(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass",
            "Parameters": {"gt.$": "$.a[?(@ > 1)]", "objects.$": "$.o[?(@.n > 1)]"}, "End": true}}}),
        json!({"a": [1, 2, 3], "o": [{"n": 1}, {"n": 2}, 3]}),
    );
    assert_eq!(
        r.outcome.output,
        Some(json!({"gt": [], "objects": [{"n": 2}]}))
    );
}

#[test]
fn a_states_runtime_a_task_reports_is_the_tasks_and_may_be_caught() {
    // Only the engine's own States.Runtime is terminal; a task that reports that name (here a
    // mocked Throw) reports it as it is.
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f",
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
        "Caught": {"Type": "Pass", "End": true}}});
    let mocks = json!({"StateMachines": {"Test": {"TestCases": {"T": {"T": "R"}}}},
        "MockedResponses": {"R": {"0": {"Throw": {"Error": "States.Runtime", "Cause": "mine"}}}}});
    let r = run_with(def, json!({}), Some(mocks));
    assert_eq!(r.outcome.status, Status::Succeeded);
    assert_eq!(
        r.outcome.output,
        Some(json!({"Error": "States.Runtime", "Cause": "mine"}))
    );
}

#[test]
fn a_parallel_of_many_branches_fails_as_soon_as_one_fails() {
    // 35 branches (more than futures' small join): the last fails at once, the others wait.
    let mut branches: Vec<Value> = (0..34)
        .map(|i| {
            let w = format!("W{i}");
            json!({"StartAt": w, "States": {w: {"Type": "Wait", "Seconds": 100, "End": true}}})
        })
        .collect();
    branches.push(json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom"}}}));
    let r = run(
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": branches, "End": true}}}),
        json!({}),
    );
    assert_eq!(r.outcome.status, Status::Failed);
    assert_eq!(r.outcome.error.as_deref(), Some("Boom"));
    assert_eq!(r.seconds, 0.0);
    let aborted = types(&r.events)
        .iter()
        .filter(|t| **t == "WaitStateAborted")
        .count();
    assert_eq!(aborted, 34);
}

#[test]
fn map_events_chain_as_aws_records_them() {
    // Recorded against AWS (test_map_state_break_condition, MaxConcurrency 1): iteration 1
    // starts from iteration 0's last state event, not from its MapIterationSucceeded; the
    // Map's Succeeded and Exited events both point back to the last MapIterationSucceeded.
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 1,
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
        "End": true}}});
    let r = run(def, json!([1, 2, 3]));
    let chain: Vec<(u64, u64, &str)> = r
        .events
        .iter()
        .map(|e| {
            (
                e["id"].as_u64().unwrap(),
                e["previousEventId"].as_u64().unwrap(),
                e["type"].as_str().unwrap(),
            )
        })
        .collect();
    let expected = [
        (1, 0, "ExecutionStarted"),
        (2, 0, "MapStateEntered"),
        (3, 2, "MapStateStarted"),
        (4, 3, "MapIterationStarted"),
        (5, 4, "PassStateEntered"),
        (6, 5, "PassStateExited"),
        (7, 6, "MapIterationSucceeded"),
        (8, 6, "MapIterationStarted"),
        (9, 8, "PassStateEntered"),
        (10, 9, "PassStateExited"),
        (11, 10, "MapIterationSucceeded"),
        (12, 10, "MapIterationStarted"),
        (13, 12, "PassStateEntered"),
        (14, 13, "PassStateExited"),
        (15, 14, "MapIterationSucceeded"),
        (16, 15, "MapStateSucceeded"),
        (17, 15, "MapStateExited"),
        (18, 17, "ExecutionSucceeded"),
    ];
    assert_eq!(chain, expected);
}

#[test]
fn variables_reach_a_fail_states_paths_and_numbers_in_map_paths_may_be_strings() {
    // Recorded against AWS (test_reference_assign BASE_REFERENCE_IN_FAIL): ErrorPath and
    // CausePath read variables, directly and in an intrinsic.
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"errorVar": "Exception", "causeVar": "An Exception was encountered"}, "Next": "F"},
        "F": {"Type": "Fail", "ErrorPath": "$errorVar", "CausePath": "States.Format('{}!', $causeVar)"}}});
    let r = run(def, json!({}));
    assert_eq!(r.outcome.error.as_deref(), Some("Exception"));
    assert_eq!(
        r.outcome.cause.as_deref(),
        Some("An Exception was encountered!")
    );
    // Recorded against AWS (MAP_STATE_REFERENCE_IN_TOLERATED_FAILURE_PATH): a number written
    // as a string in a Map's *Path field is taken.
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"count": "1", "pct": "50.5", "max": "2"}, "Next": "M"},
        "M": {"Type": "Map", "ToleratedFailureCountPath": "$count",
              "ToleratedFailurePercentagePath": "$pct", "MaxConcurrencyPath": "$max",
              "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}},
              "End": true}}});
    let r = run(def, json!([1, 2, 3]));
    assert_eq!(r.outcome.output, Some(json!([1, 2, 3])), "{:?}", r.outcome);
    // Text that is no number is still refused, as recorded ("NoNumber").
    let def = json!({"StartAt": "M", "States": {
        "M": {"Type": "Map", "ToleratedFailureCountPath": "$.n",
              "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}},
              "ItemsPath": "$.items", "End": true}}});
    let r = run(def, json!({"n": "NoNumber", "items": [1]}));
    assert_eq!(r.outcome.error.as_deref(), Some("States.Runtime"));
}

#[test]
fn a_jsonpath_assign_reads_the_result_as_result_selector_does() {
    // Assign and ResultSelector both read the state's result (localstack evaluates them in
    // that order over the raw result, recorded against AWS): not ResultSelector's output.
    let def = json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Branches": [{"StartAt": "B", "States": {
                "B": {"Type": "Pass", "Result": {"k": 1}, "End": true}}}],
              "ResultSelector": {"sel.$": "$[0].k"},
              "Assign": {"raw.$": "$", "rawk.$": "$[0].k"}, "Next": "Show"},
        "Show": {"Type": "Pass", "Parameters": {"out.$": "$", "raw.$": "$raw", "rawk.$": "$rawk"}, "End": true}}});
    let r = run(def, json!({}));
    assert_eq!(
        r.outcome.output,
        Some(json!({"out": {"sel": 1}, "raw": [{"k": 1}], "rawk": 1})),
        "{:?}",
        r.outcome
    );
}

#[test]
fn a_parallels_end_chains_as_aws_records_it() {
    // Recorded against AWS (test_parallel_state): ParallelStateExited points back to the
    // branches' last event, not to ParallelStateSucceeded.
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}],
        "End": true}}});
    let r = run(def, json!({}));
    let find = |t: &str| r.events.iter().find(|e| e["type"] == t).unwrap();
    let last_branch = r
        .events
        .iter()
        .filter(|e| e["type"] == "PassStateExited")
        .map(|e| e["id"].as_u64().unwrap())
        .max()
        .unwrap();
    assert_eq!(
        find("ParallelStateSucceeded")["previousEventId"],
        last_branch
    );
    assert_eq!(find("ParallelStateExited")["previousEventId"], last_branch);
}

#[test]
fn a_wait_timestamp_counts_whole_seconds_and_seconds_stay_in_range() {
    // "Step Functions considers the time value up to seconds and truncates milliseconds."
    // (The virtual clock starts at 2026-01-01T00:00:00Z.)
    let r = run(
        json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Timestamp": "2026-01-01T00:00:10.900Z", "End": true}}}),
        json!({}),
    );
    assert_eq!(r.seconds, 10.0);
    // A JSONata Seconds "must evaluate to an integer in the stated range" (0 to 99999999).
    let r = run(
        json!({"QueryLanguage": "JSONata", "StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": "{% 100000000 %}", "End": true}}}),
        json!({}),
    );
    assert_eq!(
        r.outcome.error.as_deref(),
        Some("States.QueryEvaluationError")
    );
}

#[test]
fn the_context_has_no_redrive_time_before_a_redrive() {
    let def = json!({"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Parameters": {"keys.$": "$$.Execution"}, "End": true}}});
    let r = run(def, json!({}));
    let out = r.outcome.output.unwrap();
    let e = out["keys"].as_object().unwrap();
    assert!(
        e.contains_key("RedriveCount") && !e.contains_key("RedriveTime"),
        "{e:?}"
    );
}

#[test]
fn variable_names_are_unicode_identifiers() {
    // "Unicode ID_Start ... Unicode ID_Continue": a combining accent, a middle dot.
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"e\u{301}x": 1, "x·y": 2}, "Next": "B"},
        "B": {"Type": "Pass", "Parameters": {"a.$": "$e\u{301}x", "b.$": "$x·y"}, "End": true}}});
    let r = run(def, json!({}));
    assert_eq!(
        r.outcome.output,
        Some(json!({"a": 1, "b": 2})),
        "{:?}",
        r.outcome
    );
}
