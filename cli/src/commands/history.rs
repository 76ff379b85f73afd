//! `asl history EXEC`: the events of an execution, as GetExecutionHistory gives them.

use crate::args::HistoryArgs;
use crate::render;
use anyhow::bail;
use asl::history::store::Store;
use chrono::DateTime;
use serde_json::{json, Value};

pub fn run(a: HistoryArgs, store: &Store) -> anyhow::Result<i32> {
    if let Some(m) = a.max_results.filter(|m| *m > 1000) {
        bail!("--max-results {m}: at most 1000 a page, as GetExecutionHistory (0 or none: all)");
    }
    if let Some(t) = a.types.iter().find(|t| !EVENT_TYPES.contains(&t.as_str())) {
        bail!("--type {t:?} is not an event type (for example TaskFailed, MapIterationStarted)");
    }
    let r = store.find_execution(&a.execution)?;
    let tag = token_tag(&r.arn, a.reverse, &a.types);
    // A page forwards through every event reads the history only as far as it goes (and one
    // more, to tell whether there are more).
    let after = a
        .next_token
        .as_deref()
        .and_then(|t| t.split_once('.'))
        .filter(|(_, g)| *g == tag)
        .and_then(|(n, _)| n.parse::<u64>().ok());
    let mut events = match a.max_results.filter(|m| *m > 0) {
        Some(m) if !a.reverse && a.types.is_empty() => {
            store.events_through(&r.arn, after.unwrap_or(0) + m as u64 + 1)?
        }
        _ => store.events(&r.arn)?,
    };
    if a.reverse {
        events.reverse();
    }
    if !a.types.is_empty() {
        events.retain(|e| {
            e["type"]
                .as_str()
                .is_some_and(|t| a.types.iter().any(|w| w == t))
        });
    }
    // A token names the last event of the page before (its id), for the same order and types
    // only: events a running execution adds meanwhile shift nothing.
    let id = |e: &Value| e["id"].as_u64().unwrap_or(0);
    let start = match &a.next_token {
        None => 0,
        Some(t) => match t.split_once('.') {
            Some((n, g)) if g == tag => match n.parse::<u64>() {
                Ok(last) => events
                    .iter()
                    .position(|e| {
                        if a.reverse {
                            id(e) < last
                        } else {
                            id(e) > last
                        }
                    })
                    .unwrap_or(events.len()),
                _ => bail!("InvalidToken: --next-token {t:?} is not a token this history gave"),
            },
            // A token of ours (a position, a tag in hex) for another listing.
            Some((n, g))
                if n.parse::<usize>().is_ok()
                    && g.len() == tag.len()
                    && g.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                bail!("InvalidToken: --next-token {t:?} was given for another execution, --reverse or --type")
            }
            Some(_) => bail!("InvalidToken: --next-token {t:?} is not a token this history gave"),
            None => bail!("InvalidToken: --next-token {t:?} is not a token this history gave"),
        },
    };
    // No --max-results, or 0: every event.
    let end = a
        .max_results
        .filter(|m| *m > 0)
        .map(|m| (start + m).min(events.len()))
        .unwrap_or(events.len());
    let next_token =
        (end < events.len() && end > start).then(|| format!("{}.{tag}", id(&events[end - 1])));
    let page = &events[start..end];
    if a.json {
        // As GetExecutionHistory: `nextToken` only when there is a next page.
        let mut v = json!({"events": page});
        if let Some(t) = &next_token {
            v["nextToken"] = json!(t);
        }
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(0);
    }
    let mut t = render::table(&["id", "since start", "type", "state", "detail"]);
    for e in page {
        let since = e["timestamp"]
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|ts| render::duration((ts.to_utc() - r.start).num_milliseconds().max(0)))
            .unwrap_or_default();
        t.add_row(vec![
            e["id"].to_string(),
            since,
            e["type"].as_str().unwrap_or("").to_string(),
            state_name(e),
            detail(e),
        ]);
    }
    outln!("{t}");
    if let Some(n) = next_token {
        outln!("more: --next-token {n}");
    }
    Ok(0)
}

fn details(e: &Value) -> Option<&serde_json::Map<String, Value>> {
    e.as_object()?
        .iter()
        .find(|(k, _)| k.ends_with("EventDetails"))
        .and_then(|(_, v)| v.as_object())
}

fn state_name(e: &Value) -> String {
    details(e)
        .and_then(|d| d.get("name"))
        .and_then(|n| n.as_str())
        .unwrap_or("")
        .to_string()
}

fn detail(e: &Value) -> String {
    let Some(d) = details(e) else {
        return String::new();
    };
    if let Some(err) = d.get("error").and_then(|v| v.as_str()) {
        let cause = d.get("cause").and_then(|v| v.as_str()).unwrap_or("");
        return shorten(&format!("{err}: {cause}"));
    }
    for k in ["output", "input", "parameters"] {
        if let Some(v) = d.get(k).and_then(|v| v.as_str()) {
            return shorten(v);
        }
    }
    if let Some(i) = d.get("index") {
        return format!("index {i}");
    }
    if let Some(l) = d.get("length") {
        return format!("{l} items");
    }
    if let Some(w) = d.get("workerName").and_then(|v| v.as_str()) {
        return shorten(&format!("worker {w}"));
    }
    String::new()
}

fn shorten(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let cut: String = s.chars().take(MAX - 1).collect();
        format!("{cut}…")
    }
}

/// What a page token is tied to: the execution, the order and the event types asked for
/// (FNV-1a, in hex).
fn token_tag(arn: &str, reverse: bool, types: &[String]) -> String {
    let mut h: u32 = 0x811c_9dc5;
    let mut feed = |b: u8| {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    };
    arn.bytes().for_each(&mut feed);
    feed(0);
    feed(u8::from(reverse));
    for t in types {
        t.bytes().for_each(&mut feed);
        feed(0);
    }
    format!("{h:08x}")
}

/// GetExecutionHistory's event types (HistoryEventType).
const EVENT_TYPES: &[&str] = &[
    "ActivityFailed",
    "ActivityScheduled",
    "ActivityScheduleFailed",
    "ActivityStarted",
    "ActivitySucceeded",
    "ActivityTimedOut",
    "ChoiceStateEntered",
    "ChoiceStateExited",
    "ExecutionAborted",
    "ExecutionFailed",
    "ExecutionStarted",
    "ExecutionSucceeded",
    "ExecutionTimedOut",
    "ExecutionRedriven",
    "EvaluationFailed",
    "FailStateEntered",
    "LambdaFunctionFailed",
    "LambdaFunctionScheduled",
    "LambdaFunctionScheduleFailed",
    "LambdaFunctionStarted",
    "LambdaFunctionStartFailed",
    "LambdaFunctionSucceeded",
    "LambdaFunctionTimedOut",
    "MapIterationAborted",
    "MapIterationFailed",
    "MapIterationStarted",
    "MapIterationSucceeded",
    "MapStateAborted",
    "MapStateEntered",
    "MapStateExited",
    "MapStateFailed",
    "MapStateStarted",
    "MapStateSucceeded",
    "MapRunAborted",
    "MapRunFailed",
    "MapRunRedriven",
    "MapRunStarted",
    "MapRunSucceeded",
    "ParallelStateAborted",
    "ParallelStateEntered",
    "ParallelStateExited",
    "ParallelStateFailed",
    "ParallelStateStarted",
    "ParallelStateSucceeded",
    "PassStateEntered",
    "PassStateExited",
    "SucceedStateEntered",
    "SucceedStateExited",
    "TaskFailed",
    "TaskScheduled",
    "TaskStarted",
    "TaskStartFailed",
    "TaskStateAborted",
    "TaskStateEntered",
    "TaskStateExited",
    "TaskSubmitFailed",
    "TaskSubmitted",
    "TaskSucceeded",
    "TaskTimedOut",
    "WaitStateAborted",
    "WaitStateEntered",
    "WaitStateExited",
];
