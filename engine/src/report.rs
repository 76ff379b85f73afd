//! The load report: over an execution and all its children, from the stored history, what
//! every task did — per state and per HTTP endpoint: requests, failures, requests per second
//! and latency percentiles (as Locust prints them), and the activity over time.

use crate::history::codec::RawEvent;
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Locust's percentiles.
pub const PERCENTILES: &[f64] = &[
    50.0, 66.0, 75.0, 80.0, 90.0, 95.0, 98.0, 99.0, 99.9, 99.99, 100.0,
];

/// One row: a state, or an HTTP endpoint. (`--json` names fields in camelCase, as the other
/// commands' AWS-shaped output does.)
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    /// `state` or `http`.
    pub kind: String,
    pub name: String,
    /// Requests answered (their latency is measured).
    pub requests: u64,
    pub failures: u64,
    /// Requests in flight when a failure elsewhere or a stop cut their task short: sent (or
    /// about to be), never answered, not among `requests` (the API may not have seen them).
    pub aborted: u64,
    pub requests_per_second: f64,
    pub failures_per_second: f64,
    pub avg_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    /// (percentile, milliseconds), for every one of `PERCENTILES`.
    pub percentiles_ms: Vec<(f64, f64)>,
    /// Failures by error name.
    pub errors: BTreeMap<String, u64>,
}

/// Activity in one second of the run.
#[derive(Debug, Clone, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Second {
    pub second: u64,
    pub requests: u64,
    pub failures: u64,
    /// Median and 95th percentile latency of what finished in that second.
    pub p50_ms: f64,
    pub p95_ms: f64,
    /// Executions running at the end of that second.
    pub executions_running: u64,
    /// Tasks in flight at the end of that second.
    pub tasks_in_flight: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub execution_arn: String,
    /// The root execution's status, when the caller knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Executions of the run still RUNNING (a stopped process, or a run still going).
    pub running: u64,
    pub executions: u64,
    #[serde(rename = "durationSeconds")]
    pub duration_s: f64,
    pub total: Row,
    pub states: Vec<Row>,
    pub endpoints: Vec<Row>,
    pub timeline: Vec<Second>,
}

/// One finished task attempt.
struct Call {
    state: String,
    endpoint: Option<String>,
    start_us: i64,
    end_us: i64,
    error: Option<String>,
    /// A nested execution (`states:startExecution`): the load's own machinery, reported by
    /// its state but not counted among the requests.
    nested: bool,
}

/// The error name of a task that was still in flight when its execution ended or its Map or
/// Parallel was cut short: its request was sent, its answer never recorded.
pub const UNFINISHED: &str = "(aborted: no answer recorded)";

impl Call {
    /// Cut short with no answer recorded: counted apart from the answered requests.
    fn aborted(&self) -> bool {
        self.error.as_deref() == Some(UNFINISHED)
    }
}

struct Acc {
    hist: Histogram<u64>,
    failures: u64,
    aborted: u64,
    errors: BTreeMap<String, u64>,
}

impl Acc {
    fn new() -> Acc {
        Acc {
            // Microseconds, up to an hour, 3 significant digits: 0.001 ms resolution below 1 s.
            hist: Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds"),
            failures: 0,
            aborted: 0,
            errors: BTreeMap::new(),
        }
    }

    fn add(&mut self, c: &Call) {
        if c.aborted() {
            self.aborted += 1;
            return;
        }
        let _ = self.hist.record((c.end_us - c.start_us).max(1) as u64);
        if let Some(e) = &c.error {
            self.failures += 1;
            *self.errors.entry(e.clone()).or_default() += 1;
        }
    }

    fn row(&self, kind: &str, name: &str, duration_s: f64) -> Row {
        let ms = |us: u64| us as f64 / 1000.0;
        let n = self.hist.len();
        let secs = duration_s.max(1e-9);
        Row {
            kind: kind.to_string(),
            name: name.to_string(),
            requests: n,
            failures: self.failures,
            aborted: self.aborted,
            requests_per_second: n as f64 / secs,
            failures_per_second: self.failures as f64 / secs,
            avg_ms: if n == 0 {
                0.0
            } else {
                self.hist.mean() / 1000.0
            },
            min_ms: if n == 0 { 0.0 } else { ms(self.hist.min()) },
            max_ms: if n == 0 { 0.0 } else { ms(self.hist.max()) },
            percentiles_ms: PERCENTILES
                .iter()
                .map(|p| {
                    (
                        *p,
                        if n == 0 {
                            0.0
                        } else {
                            ms(self.hist.value_at_quantile(p / 100.0))
                        },
                    )
                })
                .collect(),
            errors: self.errors.clone(),
        }
    }
}

/// Builds the report from the events of an execution and its children (`executions`: each
/// one's events), and the span of the whole run.
pub fn build(root_arn: &str, executions: &[Vec<RawEvent>]) -> Report {
    let mut calls = Vec::new();
    let mut first_us = i64::MAX;
    let mut last_us = i64::MIN;
    let mut running: Vec<(i64, i64)> = Vec::new();
    for events in executions {
        if let (Some(a), Some(b)) = (events.first(), events.last()) {
            first_us = first_us.min(a.timestamp_us);
            last_us = last_us.max(b.timestamp_us);
            running.push((a.timestamp_us, b.timestamp_us));
        }
        calls.extend(task_calls(events));
    }
    if first_us > last_us {
        first_us = 0;
        last_us = 0;
    }
    let duration_s = (last_us - first_us) as f64 / 1e6;
    let mut total = Acc::new();
    let mut states: HashMap<String, Acc> = HashMap::new();
    let mut endpoints: HashMap<String, Acc> = HashMap::new();
    for c in &calls {
        if !c.nested {
            total.add(c);
        }
        states
            .entry(c.state.clone())
            .or_insert_with(Acc::new)
            .add(c);
        if let Some(e) = &c.endpoint {
            endpoints.entry(e.clone()).or_insert_with(Acc::new).add(c);
        }
    }
    let rows = |m: HashMap<String, Acc>, kind: &str| {
        let mut v: Vec<Row> = m.iter().map(|(k, a)| a.row(kind, k, duration_s)).collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    };
    Report {
        execution_arn: root_arn.to_string(),
        status: None,
        running: 0,
        executions: executions.len() as u64,
        duration_s,
        total: total.row("total", "Aggregated", duration_s),
        states: rows(states, "state"),
        endpoints: rows(endpoints, "http"),
        timeline: timeline(
            &calls
                .iter()
                .filter(|c| !c.nested && !c.aborted())
                .collect::<Vec<_>>(),
            &running,
            first_us,
            last_us,
        ),
    }
}

/// The task attempts of one execution: TaskStarted to TaskSucceeded/Failed/TimedOut, with
/// their state (each event belongs to the state its chain entered last) and, for HTTP tasks,
/// the endpoint (method and URL, ids folded into `{id}`).
fn task_calls(events: &[RawEvent]) -> Vec<Call> {
    let mut state_of: HashMap<u64, String> = HashMap::new();
    let mut endpoint_of: HashMap<u64, String> = HashMap::new();
    let mut started: HashMap<u64, i64> = HashMap::new();
    let mut nested: std::collections::HashSet<u64> = std::collections::HashSet::new();
    let mut out = Vec::new();
    for e in events {
        let state = match &e.name {
            Some(n) if e.event_type.ends_with("StateEntered") => n.clone(),
            _ => state_of
                .get(&e.previous_event_id)
                .cloned()
                .unwrap_or_default(),
        };
        let endpoint = endpoint_of.get(&e.previous_event_id).cloned();
        match e.event_type.as_str() {
            "TaskScheduled" if e.details["resourceType"] == "http" => {
                if let Some(ep) = http_endpoint(&e.details) {
                    endpoint_of.insert(e.id, ep);
                }
            }
            "TaskScheduled" if e.details["resourceType"] == "states" => {
                nested.insert(e.id);
            }
            "TaskStarted" | "LambdaFunctionStarted" => {
                started.insert(e.id, e.timestamp_us);
                if let Some(ep) = endpoint {
                    endpoint_of.insert(e.id, ep);
                }
                if nested.contains(&e.previous_event_id) {
                    nested.insert(e.id);
                }
            }
            // A `.sync` child's start, between the task's start and its end.
            "TaskSubmitted" => {
                if let Some(start) = started.remove(&e.previous_event_id) {
                    started.insert(e.id, start);
                }
                if let Some(ep) = endpoint {
                    endpoint_of.insert(e.id, ep);
                }
                if nested.contains(&e.previous_event_id) {
                    nested.insert(e.id);
                }
            }
            "TaskSucceeded"
            | "TaskFailed"
            | "TaskTimedOut"
            | "LambdaFunctionSucceeded"
            | "LambdaFunctionFailed"
            | "LambdaFunctionTimedOut" => {
                if let Some(start) = started.remove(&e.previous_event_id) {
                    let error = (!e.event_type.ends_with("Succeeded"))
                        .then(|| e.details["error"].as_str().unwrap_or("unknown").to_string());
                    out.push(Call {
                        state: state.clone(),
                        endpoint: endpoint_of.get(&e.previous_event_id).cloned(),
                        start_us: start,
                        end_us: e.timestamp_us,
                        error,
                        nested: nested.contains(&e.previous_event_id),
                    });
                }
            }
            _ => {}
        }
        state_of.insert(e.id, state);
    }
    // Tasks started and never answered by the time their execution ended: cut short by a
    // failure elsewhere or a stop. Their requests may or may not have reached the API (which
    // counts what it answered), so they are counted apart, as aborted. (An execution still
    // running has requests in flight: not counted yet.)
    let ended = events.last().is_some_and(|e| {
        matches!(
            e.event_type.as_str(),
            "ExecutionSucceeded" | "ExecutionFailed" | "ExecutionTimedOut" | "ExecutionAborted"
        )
    });
    if !ended {
        started.clear();
    }
    let end_us = events.last().map_or(0, |e| e.timestamp_us);
    let mut unfinished: Vec<(u64, i64)> = started.into_iter().collect();
    unfinished.sort();
    for (id, start) in unfinished {
        out.push(Call {
            state: state_of.get(&id).cloned().unwrap_or_default(),
            endpoint: endpoint_of.get(&id).cloned(),
            start_us: start,
            end_us: end_us.max(start),
            error: Some(UNFINISHED.to_string()),
            nested: nested.contains(&id),
        });
    }
    out
}

fn http_endpoint(details: &serde_json::Value) -> Option<String> {
    let params: serde_json::Value = serde_json::from_str(details["parameters"].as_str()?).ok()?;
    let method = params["Method"]
        .as_str()
        .unwrap_or("GET")
        .to_ascii_uppercase();
    let url = params["ApiEndpoint"].as_str()?;
    let path_start = url.find("://").map(|i| i + 3).unwrap_or(0);
    let (host, path) = match url[path_start..].find('/') {
        Some(i) => url.split_at(path_start + i),
        None => (url, ""),
    };
    let path = path.split('?').next().unwrap_or("");
    let folded: Vec<String> = path
        .split('/')
        .map(|seg| {
            if looks_like_id(seg) {
                "{id}".to_string()
            } else {
                seg.to_string()
            }
        })
        .collect();
    Some(format!("{method} {host}{}", folded.join("/")))
}

/// UUIDs, numbers and long hex strings are ids, not route names.
fn looks_like_id(seg: &str) -> bool {
    !seg.is_empty()
        && (seg.chars().all(|c| c.is_ascii_digit())
            || (seg.len() >= 16 && seg.chars().all(|c| c.is_ascii_hexdigit() || c == '-')))
}

fn timeline(calls: &[&Call], running: &[(i64, i64)], first_us: i64, last_us: i64) -> Vec<Second> {
    let seconds = (((last_us - first_us).max(0) / 1_000_000) + 1) as usize;
    let seconds = seconds.min(24 * 3600);
    let mut out: Vec<Second> = (0..seconds)
        .map(|s| Second {
            second: s as u64,
            ..Default::default()
        })
        .collect();
    let mut hists: Vec<Option<Histogram<u64>>> = (0..seconds).map(|_| None).collect();
    let idx = |t: i64| (((t - first_us).max(0) / 1_000_000) as usize).min(seconds - 1);
    for c in calls {
        let i = idx(c.end_us);
        out[i].requests += 1;
        if c.error.is_some() {
            out[i].failures += 1;
        }
        let h = hists[i].get_or_insert_with(|| {
            Histogram::new_with_bounds(1, 3_600_000_000, 2).expect("valid bounds")
        });
        let _ = h.record((c.end_us - c.start_us).max(1) as u64);
        // In flight at the end of each second it spans.
        for s in out.iter_mut().take(i).skip(idx(c.start_us)) {
            s.tasks_in_flight += 1;
        }
    }
    for (s, h) in out.iter_mut().zip(&hists) {
        if let Some(h) = h {
            s.p50_ms = h.value_at_quantile(0.5) as f64 / 1000.0;
            s.p95_ms = h.value_at_quantile(0.95) as f64 / 1000.0;
        }
    }
    for &(a, b) in running {
        for s in out.iter_mut().take(idx(b)).skip(idx(a)) {
            s.executions_running += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(
        id: u64,
        prev: u64,
        ms: i64,
        ty: &str,
        name: Option<&str>,
        details: serde_json::Value,
    ) -> RawEvent {
        RawEvent {
            id,
            previous_event_id: prev,
            timestamp_us: ms * 1000,
            event_type: ty.to_string(),
            name: name.map(String::from),
            details,
        }
    }

    /// A task cut short (its execution ended before its answer) is counted as aborted, apart
    /// from the answered requests, their failures and their latency.
    #[test]
    fn a_task_cut_short_is_aborted_not_a_failed_request() {
        let sched = json!({"resourceType": "http", "resource": "invoke",
            "parameters": json!({"ApiEndpoint": "http://h/a", "Method": "GET"}).to_string()});
        let events = vec![
            ev(1, 0, 0, "ExecutionStarted", None, json!({})),
            ev(2, 1, 0, "TaskStateEntered", Some("A"), json!(null)),
            ev(3, 2, 0, "TaskScheduled", None, sched.clone()),
            ev(4, 3, 0, "TaskStarted", None, json!({})),
            ev(5, 4, 10, "TaskSucceeded", None, json!({})),
            ev(6, 5, 10, "TaskStateEntered", Some("B"), json!(null)),
            ev(7, 6, 10, "TaskScheduled", None, sched),
            ev(8, 7, 10, "TaskStarted", None, json!({})),
            ev(9, 0, 50, "ExecutionAborted", None, json!({})),
        ];
        let r = build("arn", &[events]);
        assert_eq!(
            (r.total.requests, r.total.failures, r.total.aborted),
            (1, 0, 1)
        );
        assert!(r.total.max_ms < 10.1, "{}", r.total.max_ms);
        assert_eq!(r.timeline.iter().map(|s| s.requests).sum::<u64>(), 1);
    }

    #[test]
    fn tasks_are_grouped_by_state_and_endpoint_with_percentiles() {
        let sched = |url: &str| {
            json!({"resourceType": "http", "resource": "invoke",
            "parameters": json!({"ApiEndpoint": url, "Method": "GET"}).to_string()})
        };
        let mut events = vec![ev(1, 0, 0, "ExecutionStarted", None, json!({}))];
        let mut id = 1;
        for (i, lat) in [10, 20, 30, 40].iter().enumerate() {
            let t = i as i64 * 100;
            let url = format!("http://h/orders/{}", 1000 + i);
            events.push(ev(
                id + 1,
                id,
                t,
                "TaskStateEntered",
                Some("Get"),
                json!(null),
            ));
            events.push(ev(id + 2, id + 1, t, "TaskScheduled", None, sched(&url)));
            events.push(ev(id + 3, id + 2, t, "TaskStarted", None, json!({})));
            let ty = if i == 3 {
                "TaskFailed"
            } else {
                "TaskSucceeded"
            };
            events.push(ev(
                id + 4,
                id + 3,
                t + lat,
                ty,
                None,
                json!({"error": "States.Http.StatusCode.500"}),
            ));
            id += 4;
        }
        let r = build("arn", &[events]);
        assert_eq!(r.total.requests, 4);
        assert_eq!(r.total.failures, 1);
        assert_eq!(r.states.len(), 1);
        assert_eq!(r.states[0].name, "Get");
        assert_eq!(r.endpoints[0].name, "GET http://h/orders/{id}");
        assert_eq!(r.endpoints[0].errors["States.Http.StatusCode.500"], 1);
        let p = |q: f64| {
            r.total
                .percentiles_ms
                .iter()
                .find(|(p, _)| *p == q)
                .unwrap()
                .1
        };
        assert!(
            (p(50.0) - 20.0).abs() < 0.05,
            "{:?}",
            r.total.percentiles_ms
        );
        assert!((p(100.0) - 40.0).abs() < 0.05);
        assert!((r.total.min_ms - 10.0).abs() < 0.01);
    }
}
