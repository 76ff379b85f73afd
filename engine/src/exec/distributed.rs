//! The DISTRIBUTED Map: a Map Run whose iterations (or batches) are child executions of their
//! own. Items come from the state input or stream from an `ItemReader`; at most
//! `MaxConcurrency` children run at once, and only they (and their inputs) are in memory; with a
//! `ResultWriter` that exports, each child's result goes to the result files as it completes.
//!
//! History of the parent: `MapStateEntered`, `MapStateStarted` (`length` 0 with an ItemReader),
//! `MapRunStarted {mapRunArn}`, then `MapRunSucceeded` or `MapRunFailed {error, cause}` (or
//! `MapRunAborted`), `MapStateSucceeded`/`MapStateFailed`, `MapStateExited`.
//!
//! Children: STANDARD ones are executions of their own, recorded with their history under the
//! parent when the host stores executions (`ChildHost::run_map_child`); EXPRESS ones (like every
//! child when nothing is stored, `--no-store`) run in-process and are not recorded: only the Map
//! Run's counts and result files tell of them.

use super::*;
use crate::exec::{MapChild, PriorMapRun, Services, StartRequest, Status};
use crate::history::NullHistory;
use crate::resources::items::{self, ReadRequest};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::io::Write;
use std::rc::Rc;
use std::sync::Arc;

/// The most children a Map Run runs at once (AWS's limit), and the default.
const MAX_CHILDREN: usize = 10_000;
/// A result file is rolled over past this size (`SUCCEEDED_0.json`, `SUCCEEDED_1.json`...).
const RESULT_FILE_BYTES: u64 = 512 * 1024 * 1024;
/// How often progress is reported to the host while the Map Run goes on.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// One child's input: an item, or a batch of items.
struct Unit {
    index: usize,
    items: usize,
    input: Value,
}

/// How one child ended, as the result files describe it.
struct ChildEnd {
    arn: String,
    name: String,
    machine_arn: String,
    input: Value,
    outcome: Outcome,
}

/// Item and child execution counts (DescribeMapRun's `itemCounts`/`executionCounts`).
#[derive(Default, Clone, Copy)]
struct Counts {
    running: u64,
    succeeded: u64,
    failed: u64,
    aborted: u64,
    total: u64,
    results_written: u64,
}

impl Counts {
    fn to_json(self, total_known: bool) -> Value {
        json!({
            "pending": if total_known {
                self.total.saturating_sub(self.running + self.succeeded + self.failed + self.aborted)
            } else { 0 },
            "running": self.running,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "timedOut": 0,
            "aborted": self.aborted,
            "total": self.total,
            "resultsWritten": self.results_written,
        })
    }
}

impl<'a> Run<'a> {
    pub(super) async fn run_distributed(
        &self,
        st: &State,
        map: &MapState,
        env: &Env<'_>,
        ctx: &StateContext<'_>,
        prev: &mut u64,
    ) -> Result<Value, Failure> {
        // Items given in the input are checked before anything starts, as for an inline Map.
        let inline_items: Option<Vec<Value>> = match &map.item_reader {
            Some(_) => None,
            None => {
                let items_value = match &map.items_path {
                    None => Cow::Borrowed(env.input),
                    Some(p) => p.eval(env).map_err(|_| missing_path(p))?,
                };
                match items_value.as_array() {
                    Some(a) => Some(a.clone()),
                    None => {
                        return Err(Failure::runtime(format!(
                            "Item list must be a JSON array, but was {}",
                            compact(&items_value)
                        )))
                    }
                }
            }
        };
        let limits = states::map::Limits::resolve(map, env)?;
        let batching = match &map.item_batcher {
            None => None,
            Some(b) => Some(Batching {
                max_items: resolve_count(b.max_items_per_batch.as_ref(), env, "MaxItemsPerBatch")?
                    .unwrap_or(usize::MAX),
                max_bytes: resolve_count(
                    b.max_input_bytes_per_batch.as_ref(),
                    env,
                    "MaxInputBytesPerBatch",
                )?
                .unwrap_or(MAX_PAYLOAD_BYTES)
                .min(MAX_PAYLOAD_BYTES),
                batch_input: match &b.batch_input {
                    Some(t) => Some(t.eval(env, "BatchInput")?),
                    None => None,
                },
            }),
        };
        let started = self.emit(prev, || {
            EventKind::with_details(
                "MapStateStarted",
                "mapStateStartedEventDetails",
                json!({"length": inline_items.as_ref().map_or(0, |v| v.len())}),
            )
        });
        let _ = started;
        // A resumed or redriven execution goes on with the Map Run it started before: what
        // its children did stands, and only what did not succeed runs again.
        let prior = match (&self.resume, self.services.children.as_deref()) {
            (Some(_), Some(host)) => host.prior_map_run(&self.ctx.execution_arn, &st.name),
            _ => None,
        };
        // One that succeeded belongs to an earlier visit of the state (a loop): not this one.
        let prior = prior.filter(|p| p.status != "SUCCEEDED");
        let redrive = self
            .resume
            .as_ref()
            .is_some_and(|r| r.redrive_count.is_some());
        let machine = &self.ctx.state_machine_name;
        let (run_id, child_machine, map_run_arn) = match &prior {
            Some(p) => {
                let (rest, id) = p.arn.rsplit_once(':').unwrap_or(("", &p.arn));
                let child_machine = rest.rsplit_once(":mapRun:").map_or("", |(_, m)| m);
                (id.to_string(), child_machine.to_string(), p.arn.clone())
            }
            None => {
                let run_id = uuid::Uuid::new_v4().to_string();
                let label = map.label.clone().unwrap_or_else(|| run_id.clone());
                let child_machine = format!("{machine}/{label}");
                let arn = format!(
                    "arn:aws:states:{}:{}:mapRun:{child_machine}:{run_id}",
                    super::super::REGION,
                    super::super::ACCOUNT
                );
                (run_id, child_machine, arn)
            }
        };
        let map_run_redrives = match &prior {
            Some(p) if redrive => p.redrive_count + 1,
            // Resumed: the Map Run started before goes on.
            Some(p) => p.redrive_count,
            None => 0,
        };
        let child_machine = &child_machine;
        let start_date = self.now();
        let concurrency = match limits.max_concurrency {
            0 => MAX_CHILDREN,
            n => n.min(MAX_CHILDREN),
        };
        let mut progress = Progress {
            host: self.services.children.as_deref(),
            execution_arn: &self.ctx.execution_arn,
            body: json!({
                "mapRunArn": map_run_arn,
                "executionArn": self.ctx.execution_arn,
                "stateName": st.name,
                "label": map.label,
                "status": "RUNNING",
                "startDate": crate::history::iso(start_date),
                "maxConcurrency": limits.max_concurrency,
                "toleratedFailureCount": limits.tolerated_count.unwrap_or(0),
                "toleratedFailurePercentage": limits.tolerated_percentage.unwrap_or(0.0),
                "redriveCount": map_run_redrives,
            }),
            last: None,
        };
        // The Map Run is on record, committed before its start event and before any child
        // runs: a resume after a crash finds it and goes on with it instead of starting
        // another (a record without its event is of a Map Run that never started).
        progress.report();
        if self.durable {
            if let Some(h) = self.services.children.as_deref() {
                h.commit_reports();
            }
        }
        match &prior {
            Some(_) if redrive => {
                self.emit(prev, || {
                    EventKind::with_details(
                        "MapRunRedriven",
                        "mapRunRedrivenEventDetails",
                        json!({"mapRunArn": map_run_arn, "redriveCount": map_run_redrives}),
                    )
                });
            }
            Some(_) => {}
            None => {
                self.emit(prev, || {
                    EventKind::with_details(
                        "MapRunStarted",
                        "mapRunStartedEventDetails",
                        json!({"mapRunArn": map_run_arn}),
                    )
                });
            }
        }
        if self.durable {
            self.services.history.until_durable(*prev).await;
        }

        match self
            .map_run(
                map,
                env,
                ctx,
                inline_items,
                &limits,
                batching,
                concurrency,
                child_machine,
                &map_run_arn,
                &run_id,
                prior.as_ref(),
                redrive,
                &mut progress,
            )
            .await
        {
            Ok(v) => {
                progress.end("SUCCEEDED", self.now());
                self.emit(prev, || EventKind::other("MapRunSucceeded"));
                self.emit(prev, || EventKind::other("MapStateSucceeded"));
                Ok(v)
            }
            Err(RunEnd::Aborted) => {
                progress.end("ABORTED", self.now());
                self.emit(prev, || EventKind::other("MapRunAborted"));
                self.services.history.sync();
                // The execution ends ABORTED: its own select sees the stop.
                std::future::pending().await
            }
            Err(RunEnd::Failed(f)) => {
                progress.end("FAILED", self.now());
                self.emit(prev, || {
                    let mut d = serde_json::Map::new();
                    d.insert("error".into(), json!(f.error));
                    if !f.cause.is_empty() {
                        d.insert("cause".into(), json!(f.cause));
                    }
                    EventKind::with_details(
                        "MapRunFailed",
                        "mapRunFailedEventDetails",
                        Value::Object(d),
                    )
                });
                Err(Failure { started: true, ..f })
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn map_run(
        &self,
        map: &MapState,
        env: &Env<'_>,
        ctx: &StateContext<'_>,
        inline_items: Option<Vec<Value>>,
        limits: &states::map::Limits,
        batching: Option<Batching>,
        concurrency: usize,
        child_machine: &str,
        map_run_arn: &str,
        run_id: &str,
        prior: Option<&PriorMapRun>,
        redrive: bool,
        progress: &mut Progress<'_>,
    ) -> Result<Value, RunEnd> {
        // Where items come from; how many, when they are given in the input.
        let known_total = inline_items.as_ref().map(|v| v.len());
        let source: items::Items = match (inline_items, &map.item_reader) {
            (Some(v), _) => Box::new(v.into_iter().map(Ok)),
            (None, Some(reader)) => {
                let (req, max_items) = self.read_request(reader, env).map_err(RunEnd::Failed)?;
                let it =
                    items::open(&self.services.resources.buckets, &req).map_err(RunEnd::Failed)?;
                match max_items {
                    Some(n) => Box::new(it.take(n)),
                    None => it,
                }
            }
            (None, None) => Box::new(std::iter::empty()),
        };
        // Where results go.
        let mut writer = match &map.result_writer {
            Some(rw) => match &rw.parameters {
                Some(params) => Some(
                    ResultFiles::open(
                        &self.services.resources.buckets,
                        &params.eval(env, "Arguments").map_err(RunEnd::Failed)?,
                        run_id,
                        rw.transformation,
                        rw.jsonl,
                    )
                    .map_err(RunEnd::Failed)?,
                ),
                None => None,
            },
            None => None,
        };
        let transformation = map
            .result_writer
            .as_ref()
            .map_or(Transformation::Compact, |r| r.transformation);

        let total_read = Rc::new(Cell::new(0usize));
        let exhausted = Rc::new(Cell::new(false));
        let mut units = Units {
            source,
            selector: map.item_selector.as_ref(),
            // A JSONata Map's ItemSelector, for items read by its ItemReader (the items of
            // its input were selected before the Map Run started).
            jselector: map
                .item_reader
                .as_ref()
                .and(map.item_selector_jsonata.as_ref()),
            env,
            ctx,
            next_item: 0,
            next_unit: 0,
            batching,
            carry: None,
            total_read: total_read.clone(),
            exhausted: exhausted.clone(),
        };
        let def = crate::Definition {
            machine: map.processor.clone(),
            source: map.processor_source.clone(),
        };
        let in_flight: RefCell<BTreeMap<usize, Value>> = RefCell::new(BTreeMap::new());
        let express = map.express;
        let def = &def;
        let in_flight_ref = &in_flight;
        // Borrowed, so that the units never started can be listed as PENDING when the Map Run
        // fails or is aborted.
        let mut stream = futures_util::stream::iter(units.by_ref())
            .map(|u| async move {
                match u {
                    Err(f) => Err(f),
                    Ok(unit) => {
                        // What the unit's child did before a resume or redrive: it stands if
                        // it succeeded (or ended at all, when resuming); else it goes on.
                        let before = prior.and_then(|p| p.children.get(&unit.index));
                        let again = match before {
                            Some(o) if o.status == Status::Succeeded => {
                                return Ok((unit.index, unit.items, stored_end(o)));
                            }
                            Some(o) if o.status != Status::Running && !redrive => {
                                return Ok((unit.index, unit.items, stored_end(o)));
                            }
                            Some(o) => Some((o.name.clone(), o.status != Status::Running)),
                            None => None,
                        };
                        in_flight_ref
                            .borrow_mut()
                            .insert(unit.index, unit.input.clone());
                        let end = self
                            .run_child(
                                def,
                                child_machine,
                                map_run_arn,
                                express,
                                unit.input,
                                unit.index,
                                again,
                            )
                            .await;
                        in_flight_ref.borrow_mut().remove(&unit.index);
                        Ok((unit.index, unit.items, end))
                    }
                }
            })
            .buffer_unordered(concurrency);

        let mut items = Counts::default();
        let mut execs = Counts::default();
        let mut results: Vec<Value> = Vec::new();
        let mut failure: Option<Failure> = None;
        let stop = async {
            match &self.services.stop {
                Some(s) => s.wait().await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(stop);
        loop {
            let next = tokio::select! {
                biased;
                _ = &mut stop => {
                    drop(stream);
                    if let Some(w) = writer.as_mut() {
                        let mut pending: Vec<Value> = in_flight.borrow().values().cloned().collect();
                        pending.extend(never_started(&mut units));
                        let _ = w.pending(&pending);
                        let _ = w.finish(map_run_arn);
                    }
                    return Err(RunEnd::Aborted);
                }
                n = stream.next() => n,
            };
            let Some(next) = next else { break };
            let (index, n_items, end) = match next {
                Ok(x) => x,
                Err(f) => {
                    failure = Some(f);
                    break;
                }
            };
            let ok = end.outcome.status == Status::Succeeded;
            let n = n_items as u64;
            if ok {
                items.succeeded += n;
                execs.succeeded += 1;
            } else if end.outcome.status == Status::Aborted {
                items.aborted += n;
                execs.aborted += 1;
            } else {
                items.failed += n;
                execs.failed += 1;
            }
            match writer.as_mut() {
                Some(w) => {
                    w.child(&end).map_err(RunEnd::Failed)?;
                    items.results_written += n;
                    execs.results_written += 1;
                }
                None => {
                    let v = if ok {
                        match transformation {
                            Transformation::None => record(&end),
                            _ => end.outcome.output.clone().unwrap_or(Value::Null),
                        }
                    } else if map.result_writer.is_some() {
                        // WriterConfig alone: "If a child workflow execution fails, Step
                        // Functions returns its execution result unchanged" (as with NONE).
                        record(&end)
                    } else {
                        Failure::new(
                            end.outcome.error.clone().unwrap_or_default(),
                            end.outcome.cause.clone().unwrap_or_default(),
                        )
                        .to_output()
                    };
                    if results.len() <= index {
                        results.resize(index + 1, Value::Null);
                    }
                    results[index] = v;
                }
            }
            let total = exhausted.get().then(|| total_read.get()).or(known_total);
            if !ok && exceeded(limits, items.failed + items.aborted, total) {
                failure = Some(threshold_exceeded());
                break;
            }
            items.total = known_total.unwrap_or(total_read.get()) as u64;
            execs.total =
                execs.succeeded + execs.failed + execs.aborted + in_flight.borrow().len() as u64;
            items.running = in_flight.borrow().len() as u64;
            execs.running = items.running;
            progress.update(items, execs, exhausted.get() || known_total.is_some());
        }
        drop(stream);
        items.total = total_read.get() as u64;
        items.running = 0;
        execs.running = 0;
        execs.total = execs.succeeded + execs.failed + execs.aborted;
        if failure.is_none()
            && (items.failed + items.aborted > 0)
            && exceeded(limits, items.failed + items.aborted, Some(total_read.get()))
        {
            failure = Some(threshold_exceeded());
        }
        progress.update(items, execs, true);
        let written = match writer.as_mut() {
            Some(w) => {
                let mut pending: Vec<Value> = in_flight.borrow().values().cloned().collect();
                if failure.is_some() {
                    // "child workflow executions that weren't started because the Map Run
                    // failed or aborted"
                    pending.extend(never_started(&mut units));
                }
                w.pending(&pending).map_err(RunEnd::Failed)?;
                Some(w.finish(map_run_arn).map_err(RunEnd::Failed)?)
            }
            None => None,
        };
        if let Some(f) = failure {
            return Err(RunEnd::Failed(f));
        }
        Ok(match written {
            Some((bucket, key)) => json!({
                "MapRunArn": map_run_arn,
                "ResultWriterDetails": {"Bucket": bucket, "Key": key},
            }),
            None if transformation == Transformation::Flatten => Value::Array(
                results
                    .into_iter()
                    .flat_map(|v| match v {
                        Value::Array(a) => a,
                        other => vec![other],
                    })
                    .collect(),
            ),
            None => Value::Array(results),
        })
    }

    /// The object to read and `MaxItems`, from the `ItemReader` and the state's input.
    fn read_request(
        &self,
        reader: &ItemReader,
        env: &Env<'_>,
    ) -> Result<(ReadRequest, Option<usize>), Failure> {
        let params = match &reader.parameters {
            Some(t) => t.eval(env, "Arguments")?,
            None => json!({}),
        };
        let field = |name: &str, required: bool| -> Result<String, Failure> {
            match params.get(name) {
                Some(Value::String(s)) => Ok(s.clone()),
                None if !required => Ok(String::new()),
                _ => Err(Failure::new(
                    names::ITEM_READER_FAILED,
                    format!("the ItemReader's Parameters need {name}, a string"),
                )),
            }
        };
        let list_objects = reader.resource == ReaderResource::ListObjectsV2;
        let req = ReadRequest {
            list_objects,
            input_type: reader.input_type,
            bucket: field("Bucket", true)?,
            key: if list_objects {
                field("Prefix", false)?
            } else {
                field("Key", true)?
            },
            csv_headers: reader.csv_headers.clone(),
            csv_delimiter: reader.csv_delimiter,
            items_pointer: reader.items_pointer.clone(),
        };
        let max = resolve_count(reader.max_items.as_ref(), env, "MaxItems")?;
        Ok((req, max.filter(|n| *n > 0)))
    }

    /// Runs one child to its end: recorded through the host when it records STANDARD children,
    /// else in-process and unrecorded.
    /// `again`: the child recorded before under this name, and whether it is redriven
    /// (`true`) or resumed.
    #[allow(clippy::too_many_arguments)]
    async fn run_child(
        &self,
        def: &crate::Definition,
        machine_name: &str,
        map_run_arn: &str,
        express: bool,
        input: Value,
        index: usize,
        again: Option<(String, bool)>,
    ) -> ChildEnd {
        let (name, again) = match again {
            Some((name, redrive)) => (name, Some(redrive)),
            None => (uuid::Uuid::new_v4().to_string(), None),
        };
        let machine_arn = super::super::state_machine_arn(machine_name);
        if !express {
            if let Some(host) = &self.services.children {
                let child = MapChild {
                    def: def.clone(),
                    machine_name: machine_name.to_string(),
                    execution_name: name.clone(),
                    input: input.clone(),
                    parent_arn: self.ctx.execution_arn.clone(),
                    map_run_arn: map_run_arn.to_string(),
                    index,
                    again,
                    parent_stop: self.services.stop.clone(),
                };
                if let Some(fut) = host.run_map_child(child) {
                    let arn = super::super::execution_arn(machine_name, &name);
                    let now = self.now();
                    let outcome = fut.await.unwrap_or_else(|f| Outcome {
                        execution_arn: arn.clone(),
                        state_machine_arn: machine_arn.clone(),
                        name: name.clone(),
                        status: Status::Failed,
                        start_date: now,
                        stop_date: self.now(),
                        input: input.clone(),
                        output: None,
                        error: Some(f.error),
                        cause: Some(f.cause),
                    });
                    return ChildEnd {
                        arn,
                        name,
                        machine_arn,
                        input,
                        outcome,
                    };
                }
            }
        }
        let services = Services {
            clock: self.services.clock.clone(),
            resources: self.services.resources.clone(),
            history: Arc::new(NullHistory::default()),
            stop: self.services.stop.clone(),
            children: self.services.children.clone(),
            callbacks: self.services.callbacks.clone(),
            inspect: None,
            test_state: None,
        };
        let req = StartRequest {
            state_machine_name: machine_name.to_string(),
            execution_name: name.clone(),
            input: input.clone(),
            start_time: None,
            resume: None,
            // EXPRESS executions have ARNs of their own kind, and five minutes.
            express_arn: express.then(|| super::super::express_execution_arn(machine_name, &name)),
            role_arn: None,
            variables: None,
        };
        let run = Run::new(def, req, &services);
        let arn = run.ctx.execution_arn.clone();
        let outcome = Box::pin(run.execute()).await;
        ChildEnd {
            arn,
            name,
            machine_arn,
            input,
            outcome,
        }
    }
}

/// A child's end as recorded before a resume or redrive.
fn stored_end(o: &Outcome) -> ChildEnd {
    ChildEnd {
        arn: o.execution_arn.clone(),
        name: o.name.clone(),
        machine_arn: o.state_machine_arn.clone(),
        input: o.input.clone(),
        outcome: o.clone(),
    }
}

/// How a Map Run ended, when not with results.
enum RunEnd {
    Failed(Failure),
    Aborted,
}

pub(super) fn threshold_exceeded() -> Failure {
    Failure::new(
        names::EXCEED_TOLERATED_FAILURE_THRESHOLD,
        "The specified tolerated failure threshold was exceeded",
    )
}

/// Whether `failed` failed items exceed the tolerance; the percentage is judged only once the
/// total is known (every item read).
pub(super) fn exceeded(limits: &states::map::Limits, failed: u64, total: Option<usize>) -> bool {
    if !limits.configured {
        return failed > 0;
    }
    let by_count = limits.tolerated_count.is_some_and(|c| failed <= c);
    let by_pct = limits.tolerated_percentage.is_some_and(|p| match total {
        None => true,
        Some(t) => t > 0 && (failed as f64) * 100.0 / (t as f64) <= p,
    });
    !(by_count || by_pct)
}

/// A positive whole number given literally or by a path (`MaxItemsPerBatch`, `MaxItems`...).
fn resolve_count(n: Option<&Number>, env: &Env, field: &str) -> Result<Option<usize>, Failure> {
    match n {
        None => Ok(None),
        Some(Number::Literal(v)) => Ok(Some(*v as usize)),
        Some(Number::Jsonata(t)) => {
            let v = env.jsonata(t, field)?;
            match v.as_u64() {
                Some(n) => Ok(Some(n as usize)),
                None => Err(crate::expr::jtemplate::query_error(format!(
                    "The {field} field must be a positive integer, but was {}",
                    compact(&v)
                ))),
            }
        }
        Some(Number::Path(p)) => match p.eval(env) {
            Err(_) => Err(missing_path(p)),
            Ok(v) => match v
                .as_u64()
                .or_else(|| states::map::numeric_text(&v))
            {
                Some(n) => Ok(Some(n as usize)),
                None => Err(Failure::runtime(format!(
                    "The {field}Path field refers to value \"{}\" which is not a valid positive integer: {}",
                    compact(&v),
                    p.as_str()
                ))),
            },
        },
    }
}

/// The inputs of the children a Map Run did not start (up to an item that cannot be read).
fn never_started(units: &mut Units<'_>) -> Vec<Value> {
    units.map_while(|u| u.ok()).map(|u| u.input).collect()
}

struct Batching {
    max_items: usize,
    max_bytes: usize,
    batch_input: Option<Value>,
}

/// Children's inputs, produced lazily from the items: `ItemSelector` applied to each item, then
/// items grouped by the `ItemBatcher` into `{"Items": [...], "BatchInput": ...}`.
struct Units<'e> {
    source: items::Items,
    selector: Option<&'e crate::expr::template::Template>,
    jselector: Option<&'e crate::expr::jtemplate::JTemplate>,
    env: &'e Env<'e>,
    ctx: &'e StateContext<'e>,
    next_item: usize,
    next_unit: usize,
    batching: Option<Batching>,
    /// An item read that did not fit in the previous batch.
    carry: Option<(Value, usize)>,
    total_read: Rc<Cell<usize>>,
    exhausted: Rc<Cell<bool>>,
}

impl Units<'_> {
    /// The next item, its selector applied.
    fn item(&mut self) -> Option<Result<Value, Failure>> {
        let item = match self.source.next() {
            None => {
                self.exhausted.set(true);
                return None;
            }
            Some(Err(f)) => return Some(Err(f)),
            Some(Ok(v)) => v,
        };
        let i = self.next_item;
        self.next_item += 1;
        self.total_read.set(self.next_item);
        let c = self.ctx;
        let ictx = || {
            StateContext::new(c.execution, c.state_name, c.entered_time, c.retry_count)
                .with_item(i, &item)
        };
        Some(match (self.selector, self.jselector, self.env.bindings) {
            // The Map state's own field: it reads the outer variables, as the rest of the
            // state does (the children are what cannot).
            (Some(sel), _, _) => {
                let ictx = ictx();
                let ienv = Env::new(self.env.input, &ictx);
                sel.eval(&match self.env.vars {
                    Some(v) => ienv.with_vars(v),
                    None => ienv,
                })
            }
            (None, Some(sel), Some(b)) => {
                let mut ib = b.json().clone();
                ib.insert(
                    "states".into(),
                    json!({"input": self.env.input, "context": ictx().context()}),
                );
                sel.eval(&crate::expr::jsonata::Prepared::new(ib), "ItemSelector")
            }
            _ => Ok(item.clone()),
        })
    }
}

impl Iterator for Units<'_> {
    type Item = Result<Unit, Failure>;

    fn next(&mut self) -> Option<Self::Item> {
        let Some(b) = &self.batching else {
            let item = self.item()?;
            let index = self.next_unit;
            self.next_unit += 1;
            return Some(item.map(|input| Unit {
                index,
                items: 1,
                input,
            }));
        };
        let (max_items, max_bytes) = (b.max_items.max(1), b.max_bytes);
        // `{"Items":[]}` and the batch input, then each item and its comma.
        let base = 12 + b.batch_input.as_ref().map_or(0, |v| payload_size(v) + 14);
        let mut batch = Vec::new();
        let mut bytes = base;
        loop {
            let (item, size) = match self.carry.take() {
                Some(c) => c,
                None => match self.item() {
                    None => break,
                    Some(Err(f)) => return Some(Err(f)),
                    Some(Ok(v)) => {
                        let s = payload_size(&v) + 1;
                        (v, s)
                    }
                },
            };
            if !batch.is_empty() && bytes + size > max_bytes {
                self.carry = Some((item, size));
                break;
            }
            bytes += size;
            batch.push(item);
            if batch.len() >= max_items {
                break;
            }
        }
        if batch.is_empty() {
            return None;
        }
        let index = self.next_unit;
        self.next_unit += 1;
        let items = batch.len();
        let mut input = serde_json::Map::new();
        input.insert("Items".into(), Value::Array(batch));
        if let Some(bi) = &self.batching.as_ref().and_then(|b| b.batch_input.clone()) {
            input.insert("BatchInput".into(), bi.clone());
        }
        Some(Ok(Unit {
            index,
            items,
            input: Value::Object(input),
        }))
    }
}

/// A child as the result files (and `Transformation: NONE`) describe it.
fn record(end: &ChildEnd) -> Value {
    let o = &end.outcome;
    let mut m = serde_json::Map::new();
    m.insert("ExecutionArn".into(), json!(end.arn));
    m.insert("Input".into(), json!(json_text(&end.input)));
    m.insert("InputDetails".into(), json!({"Included": true}));
    m.insert("Name".into(), json!(end.name));
    if let Some(out) = &o.output {
        m.insert("Output".into(), json!(json_text(out)));
        m.insert("OutputDetails".into(), json!({"Included": true}));
    }
    if let Some(e) = &o.error {
        m.insert("Error".into(), json!(e));
    }
    if let Some(c) = &o.cause {
        m.insert("Cause".into(), json!(c));
    }
    m.insert("RedriveCount".into(), json!(0));
    if o.status == Status::Succeeded {
        m.insert("RedriveStatus".into(), json!("NOT_REDRIVABLE"));
        m.insert(
            "RedriveStatusReason".into(),
            json!("Execution is SUCCEEDED and cannot be redriven"),
        );
    } else {
        // Redriven with its Map Run, by redriving the parent.
        m.insert("RedriveStatus".into(), json!("REDRIVABLE_BY_MAP_RUN"));
    }
    m.insert("StartDate".into(), json!(crate::history::iso(o.start_date)));
    m.insert("StateMachineArn".into(), json!(end.machine_arn));
    m.insert("Status".into(), json!(o.status.as_str()));
    m.insert("StopDate".into(), json!(crate::history::iso(o.stop_date)));
    Value::Object(m)
}

/// The Map Run's counts, reported to the host now and then.
struct Progress<'h> {
    host: Option<&'h dyn crate::exec::ChildHost>,
    execution_arn: &'h str,
    body: Value,
    last: Option<std::time::Instant>,
}

impl Progress<'_> {
    fn update(&mut self, items: Counts, execs: Counts, total_known: bool) {
        self.body["itemCounts"] = items.to_json(total_known);
        self.body["executionCounts"] = execs.to_json(total_known);
        let due = self.last.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY);
        if due {
            self.report();
        }
    }

    fn report(&mut self) {
        self.last = Some(std::time::Instant::now());
        if let Some(h) = self.host {
            h.map_run_progress(self.execution_arn, &self.body);
        }
    }

    fn end(&mut self, status: &str, at: DateTime<Utc>) {
        self.body["status"] = json!(status);
        self.body["stopDate"] = json!(crate::history::iso(at));
        if self.body.get("itemCounts").is_none() {
            self.body["itemCounts"] = Counts::default().to_json(true);
            self.body["executionCounts"] = Counts::default().to_json(true);
        }
        self.report();
    }
}

/// The ResultWriter's files: `PREFIX/RUNID/SUCCEEDED_n.json`, `FAILED_n.json`,
/// `PENDING_n.json` (JSON arrays, or `.jsonl` lines with `OutputType: JSONL`) written as
/// children complete, and `manifest.json` at the end.
struct ResultFiles {
    bucket: String,
    dir: std::path::PathBuf,
    key_base: String,
    transformation: Transformation,
    jsonl: bool,
    /// SUCCEEDED, FAILED, PENDING.
    kinds: [ResultKind; 3],
}

#[derive(Default)]
struct ResultKind {
    open: Option<(std::io::BufWriter<std::fs::File>, String, u64, bool)>,
    done: Vec<(String, u64)>,
}

const KINDS: [&str; 3] = ["SUCCEEDED", "FAILED", "PENDING"];

fn writer_failed(cause: impl Into<String>) -> Failure {
    Failure::new(names::RESULT_WRITER_FAILED, cause)
}

impl ResultFiles {
    fn open(
        buckets: &items::Buckets,
        params: &Value,
        run_id: &str,
        transformation: Transformation,
        jsonl: bool,
    ) -> Result<ResultFiles, Failure> {
        let bucket = params
            .get("Bucket")
            .and_then(|b| b.as_str())
            .ok_or_else(|| writer_failed("the ResultWriter's Parameters need Bucket, a string"))?;
        let mut prefix = params
            .get("Prefix")
            .and_then(|p| p.as_str())
            .unwrap_or("")
            .to_string();
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        let key_base = format!("{prefix}{run_id}/");
        let dir = items::object_path(buckets, bucket, &key_base)
            .map_err(|e| writer_failed(format!("Cannot write to s3://{bucket}/{key_base}: {e}")))?;
        std::fs::create_dir_all(&dir).map_err(|e| {
            writer_failed(format!(
                "Cannot write to s3://{bucket}/{key_base} ({}): {e}",
                dir.display()
            ))
        })?;
        Ok(ResultFiles {
            bucket: bucket.to_string(),
            dir,
            key_base,
            transformation,
            jsonl,
            kinds: Default::default(),
        })
    }

    fn child(&mut self, end: &ChildEnd) -> Result<(), Failure> {
        if end.outcome.status != Status::Succeeded {
            // A failed child is described whole, whatever the transformation.
            return self.write(1, &record(end));
        }
        match self.transformation {
            Transformation::None => self.write(0, &record(end)),
            Transformation::Compact => {
                self.write(0, end.outcome.output.as_ref().unwrap_or(&Value::Null))
            }
            Transformation::Flatten => match end.outcome.output.as_ref() {
                Some(Value::Array(a)) => a.iter().try_for_each(|v| self.write(0, v)),
                other => self.write(0, other.unwrap_or(&Value::Null)),
            },
        }
    }

    /// Children that had not ended when the Map Run did.
    fn pending(&mut self, inputs: &[Value]) -> Result<(), Failure> {
        for i in inputs {
            let v = json!({"Input": json_text(i), "InputDetails": {"Included": true}, "Status": "PENDING"});
            self.write(2, &v)?;
        }
        Ok(())
    }

    fn write(&mut self, kind: usize, v: &Value) -> Result<(), Failure> {
        let ext = if self.jsonl { "jsonl" } else { "json" };
        let k = &mut self.kinds[kind];
        if k.open.as_ref().is_some_and(|o| o.2 >= RESULT_FILE_BYTES) {
            close(k, self.jsonl).map_err(|e| writer_failed(e.to_string()))?;
        }
        if k.open.is_none() {
            let n = k.done.len();
            let name = format!("{}_{n}.{ext}", KINDS[kind]);
            let path = self.dir.join(&name);
            let f = std::fs::File::create(&path).map_err(|e| {
                writer_failed(format!(
                    "Cannot write s3://{}/{}{name} ({}): {e}",
                    self.bucket,
                    self.key_base,
                    path.display()
                ))
            })?;
            k.open = Some((std::io::BufWriter::new(f), name, 0, true));
        }
        let (w, name, size, first) = k.open.as_mut().expect("opened");
        let text = serde_json::to_vec(v).unwrap_or_default();
        let sep: &[u8] = match (self.jsonl, *first) {
            (true, _) => b"",
            (false, true) => b"[",
            (false, false) => b",",
        };
        let r = w
            .write_all(sep)
            .and_then(|_| w.write_all(&text))
            .and_then(|_| {
                if self.jsonl {
                    w.write_all(b"\n")
                } else {
                    Ok(())
                }
            });
        r.map_err(|e| writer_failed(format!("Cannot write {name}: {e}")))?;
        *size += (sep.len() + text.len() + usize::from(self.jsonl)) as u64;
        *first = false;
        Ok(())
    }

    /// Closes the files, writes `manifest.json`; gives the bucket and the manifest's key.
    fn finish(&mut self, map_run_arn: &str) -> Result<(String, String), Failure> {
        let mut files = serde_json::Map::new();
        for (i, kind) in KINDS.iter().enumerate() {
            let k = &mut self.kinds[i];
            close(k, self.jsonl).map_err(|e| writer_failed(e.to_string()))?;
            let list: Vec<Value> = k
                .done
                .iter()
                .map(
                    |(name, size)| json!({"Key": format!("{}{name}", self.key_base), "Size": size}),
                )
                .collect();
            files.insert((*kind).to_string(), Value::Array(list));
        }
        let manifest = json!({
            "DestinationBucket": self.bucket,
            "MapRunArn": map_run_arn,
            "ResultFiles": {
                "FAILED": files["FAILED"],
                "PENDING": files["PENDING"],
                "SUCCEEDED": files["SUCCEEDED"],
            },
        });
        let key = format!("{}manifest.json", self.key_base);
        let path = self.dir.join("manifest.json");
        std::fs::write(
            &path,
            serde_json::to_vec_pretty(&manifest).unwrap_or_default(),
        )
        .map_err(|e| {
            writer_failed(format!(
                "Cannot write s3://{}/{key} ({}): {e}",
                self.bucket,
                path.display()
            ))
        })?;
        Ok((self.bucket.clone(), key))
    }
}

fn close(k: &mut ResultKind, jsonl: bool) -> std::io::Result<()> {
    if let Some((mut w, name, size, _)) = k.open.take() {
        let mut size = size;
        if !jsonl {
            w.write_all(b"]")?;
            size += 1;
        }
        w.flush()?;
        k.done.push((name, size));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::ExecutionContext;

    fn limits(count: Option<u64>, pct: Option<f64>) -> states::map::Limits {
        states::map::Limits {
            max_concurrency: 0,
            tolerated_count: count,
            tolerated_percentage: pct,
            configured: count.is_some() || pct.is_some(),
        }
    }

    #[test]
    fn tolerance_by_count_and_by_percentage_once_the_total_is_known() {
        assert!(exceeded(&limits(None, None), 1, None));
        assert!(!exceeded(&limits(None, None), 0, Some(3)));
        assert!(!exceeded(&limits(Some(2), None), 2, None));
        assert!(exceeded(&limits(Some(2), None), 3, None));
        // The percentage waits for the total.
        assert!(!exceeded(&limits(None, Some(10.0)), 5, None));
        assert!(exceeded(&limits(None, Some(10.0)), 5, Some(20)));
        assert!(!exceeded(&limits(None, Some(25.0)), 5, Some(20)));
        // Either tolerance suffices.
        assert!(!exceeded(&limits(Some(0), Some(50.0)), 1, Some(2)));
    }

    fn execution() -> ExecutionContext {
        ExecutionContext {
            execution_arn: "arn:aws:states:us-east-1:123456789012:execution:m:e".into(),
            execution_name: "e".into(),
            input: json!({}),
            role_arn: String::new(),
            start_time: Utc::now(),
            redrive_count: 0,
            redrive_time: None,
            state_machine_arn: String::new(),
            state_machine_name: "m".into(),
            given: None,
        }
    }

    fn batches(n: i64, batching: Batching) -> Vec<Value> {
        let exec = execution();
        let ctx = StateContext::new(&exec, "Map", Utc::now(), None);
        let input = json!({});
        let env = Env::new(&input, &ctx);
        let units = Units {
            source: Box::new((1..=n).map(|i| Ok(json!(i)))),
            selector: None,
            jselector: None,
            env: &env,
            ctx: &ctx,
            next_item: 0,
            next_unit: 0,
            batching: Some(batching),
            carry: None,
            total_read: Rc::new(Cell::new(0)),
            exhausted: Rc::new(Cell::new(false)),
        };
        units.map(|u| u.unwrap().input).collect()
    }

    #[test]
    fn batches_respect_item_and_byte_limits() {
        let by_items = batches(
            5,
            Batching {
                max_items: 2,
                max_bytes: MAX_PAYLOAD_BYTES,
                batch_input: Some(json!({"k": 1})),
            },
        );
        assert_eq!(
            by_items,
            vec![
                json!({"Items": [1, 2], "BatchInput": {"k": 1}}),
                json!({"Items": [3, 4], "BatchInput": {"k": 1}}),
                json!({"Items": [5], "BatchInput": {"k": 1}}),
            ]
        );
        // `{"Items":[]}` is 12 bytes, each one-digit item and its comma 2: 4 fit in 20.
        let by_bytes = batches(
            5,
            Batching {
                max_items: usize::MAX,
                max_bytes: 20,
                batch_input: None,
            },
        );
        assert_eq!(
            by_bytes,
            vec![json!({"Items": [1, 2, 3, 4]}), json!({"Items": [5]})]
        );
        for b in &by_bytes {
            assert!(payload_size(b) <= 20, "{b}");
        }
    }

    fn end(status: Status, output: Option<Value>) -> ChildEnd {
        let now = Utc::now();
        ChildEnd {
            arn: "arn:aws:states:us-east-1:123456789012:execution:m/L:c".into(),
            name: "c".into(),
            machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:m/L".into(),
            input: json!({"i": 1}),
            outcome: Outcome {
                execution_arn: "arn:aws:states:us-east-1:123456789012:execution:m/L:c".into(),
                state_machine_arn: String::new(),
                name: "c".into(),
                status,
                start_date: now,
                stop_date: now,
                input: json!({"i": 1}),
                output,
                error: (status != Status::Succeeded).then(|| "E".to_string()),
                cause: (status != Status::Succeeded).then(|| "C".to_string()),
            },
        }
    }

    #[test]
    fn result_files_and_manifest() {
        let dir = std::env::temp_dir().join(format!("asl-rw-{}", uuid::Uuid::new_v4()));
        let mut buckets = items::Buckets::default();
        buckets.insert("out", dir.clone());
        let mut w = ResultFiles::open(
            &buckets,
            &json!({"Bucket": "out", "Prefix": "p"}),
            "RUN",
            Transformation::Flatten,
            false,
        )
        .unwrap();
        w.child(&end(Status::Succeeded, Some(json!([1, 2]))))
            .unwrap();
        w.child(&end(Status::Succeeded, Some(json!(3)))).unwrap();
        w.child(&end(Status::Failed, None)).unwrap();
        w.pending(&[json!({"i": 9})]).unwrap();
        let (bucket, key) = w.finish("arn:mapRun").unwrap();
        assert_eq!(
            (bucket.as_str(), key.as_str()),
            ("out", "p/RUN/manifest.json")
        );
        let read = |name: &str| -> Value {
            serde_json::from_slice(&std::fs::read(dir.join("p/RUN").join(name)).unwrap()).unwrap()
        };
        assert_eq!(read("SUCCEEDED_0.json"), json!([1, 2, 3]));
        let failed = read("FAILED_0.json");
        assert_eq!(failed[0]["Status"], "FAILED");
        assert_eq!(failed[0]["Error"], "E");
        assert_eq!(failed[0]["Input"], "{\"i\":1}");
        assert_eq!(read("PENDING_0.json")[0]["Status"], "PENDING");
        let manifest = read("manifest.json");
        assert_eq!(manifest["MapRunArn"], "arn:mapRun");
        assert_eq!(
            manifest["ResultFiles"]["SUCCEEDED"],
            json!([{"Key": "p/RUN/SUCCEEDED_0.json", "Size": 7}])
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
