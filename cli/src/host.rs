//! The execution host: runs executions with their history in the store, and runs the nested
//! executions they start (`states:startExecution`), each an execution of its own with its
//! parent recorded. Lives on one thread (a tokio LocalSet).

use asl::exec::{
    self, ChildHost, ChildRequest, Clock, LocalFuture, MapChild, Outcome, Resume, Services,
    StartRequest, Status, StopSignal,
};
use asl::history::callbacks::StoreCallbacks;
use asl::history::store::{ExecutionRecord, Finish, StopWhen, Store, WriterHandle};
use asl::history::{DurableHistory, EventKind, Progress};
use asl::resources::Resources;
use asl::{Definition, Failure};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::{Arc, Weak};

pub struct Host {
    store: Arc<Store>,
    writer: WriterHandle,
    resources: Arc<Resources>,
    clock: Arc<dyn Clock>,
    /// Child definitions, loaded once per state machine.
    definitions: RefCell<HashMap<String, Rc<(Definition, String)>>>,
    /// Children started without waiting, awaited before the process ends.
    spawned: RefCell<Vec<tokio::task::JoinHandle<()>>>,
    /// How deep below the top-level execution each nested execution runs.
    depths: RefCell<HashMap<String, usize>>,
    /// State machines started by name rather than ARN, warned about once each.
    named: RefCell<std::collections::HashSet<String>>,
    /// Counters for a progress display, when one is shown.
    pub progress: Option<Arc<Progress>>,
    me: Weak<Host>,
}

/// One execution to run through the host.
pub struct Job {
    pub def: Rc<Definition>,
    pub machine_name: String,
    pub execution_name: String,
    pub input: Value,
    pub start_time: Option<DateTime<Utc>>,
    pub resume: Option<Resume>,
    pub parent_stop: Option<Arc<StopSignal>>,
    /// What it runs with, when not the host's own (a nested execution: see
    /// `Resources::for_child`).
    pub resources: Option<Arc<Resources>>,
    /// An EXPRESS execution: its ARN, and the log level its history keeps.
    pub express: Option<(String, asl::history::level::LogLevel)>,
    /// The state machine's role, when it has one (machines created through the API).
    pub role_arn: Option<String>,
}

/// Where a nested execution's state machine comes from.
enum Source {
    /// The resources file's `stateMachines`.
    File(String, asl::resources::config::Machine),
    /// Created through the API (`asl serve`'s CreateStateMachine).
    Stored(asl::history::machines::StateMachine),
}

impl Host {
    /// A state machine created through the API (not one `asl run` merely recorded).
    fn stored_machine(&self, name_or_arn: &str) -> Option<asl::history::machines::StateMachine> {
        let arn = if name_or_arn.starts_with("arn:") {
            name_or_arn.to_string()
        } else {
            exec::state_machine_arn(name_or_arn)
        };
        self.store
            .get_state_machine(&arn)
            .ok()
            .filter(|m| m.created_by_api)
    }

    pub fn new(
        store: Arc<Store>,
        resources: Arc<Resources>,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Arc<Host>> {
        Host::with_progress(store, resources, clock, None)
    }

    pub fn with_progress(
        store: Arc<Store>,
        resources: Arc<Resources>,
        clock: Arc<dyn Clock>,
        progress: Option<Arc<Progress>>,
    ) -> anyhow::Result<Arc<Host>> {
        let writer = store.writer()?;
        Ok(Arc::new_cyclic(|me| Host {
            store,
            writer,
            resources,
            clock,
            definitions: RefCell::new(HashMap::new()),
            spawned: RefCell::new(Vec::new()),
            depths: RefCell::new(HashMap::new()),
            named: RefCell::new(Default::default()),
            progress,
            me: me.clone(),
        }))
    }

    fn me(&self) -> Arc<Host> {
        self.me.upgrade().expect("the host lives while it runs")
    }

    /// Runs an execution whose record is stored; every event is committed when this returns.
    pub async fn execute(&self, job: Job) -> Outcome {
        let arn = match &job.express {
            Some((arn, _)) => arn.clone(),
            None => exec::execution_arn(&job.machine_name, &job.execution_name),
        };
        let stop = Arc::new(StopSignal::default());
        if let Some(parent) = job.parent_stop.clone() {
            // Stopping the parent stops its children.
            let child = stop.clone();
            tokio::task::spawn_local(async move {
                parent.wait().await;
                // A parent that fails because its machine was deleted does not stop them.
                if parent.failure().is_some() {
                    return;
                }
                let (e, c) = parent.reason();
                child.raise_with(e, c);
            });
        }
        let s = stop.clone();
        self.writer.watch_stop(
            Arc::from(arn.as_str()),
            Arc::new(move |when, e, c| match when {
                StopWhen::Now => s.raise_with(e, c),
                StopWhen::AtNextTransition => {
                    s.doom_with(e.unwrap_or_default(), c.unwrap_or_default())
                }
            }),
        );
        let last = job.resume.as_ref().map(|r| r.last_event_id).unwrap_or(0);
        let history = Arc::new(
            DurableHistory::new(&arn, self.writer.clone(), last)
                .with_progress(self.progress.clone()),
        );
        // An EXPRESS execution keeps what its log level logs, and is not resumed.
        let sink: Arc<dyn asl::history::HistorySink> = match &job.express {
            Some((_, level)) => Arc::new(asl::history::level::LeveledHistory::new(
                history.clone(),
                *level,
            )),
            None => history.clone(),
        };
        let services = Services {
            clock: self.clock.clone(),
            resources: job.resources.unwrap_or_else(|| self.resources.clone()),
            history: sink,
            stop: Some(stop),
            children: Some(self.me() as Arc<dyn ChildHost>),
            callbacks: Some(Arc::new(StoreCallbacks::new(
                self.store.clone(),
                self.writer.clone(),
            ))),
            inspect: None,
            test_state: None,
        };
        let req = StartRequest {
            state_machine_name: job.machine_name,
            execution_name: job.execution_name,
            input: job.input,
            start_time: job.start_time,
            resume: job.resume,
            express_arn: job.express.map(|(arn, _)| arn),
            role_arn: job.role_arn,
            variables: None,
        };
        // If this future is dropped half-way (its parent was aborted), the record still ends.
        let mut guard = AbortGuard {
            writer: self.writer.clone(),
            history: services.history.clone(),
            arn: arn.clone(),
            armed: true,
        };
        let outcome = exec::execute(&job.def, req, &services).await;
        guard.armed = false;
        self.writer.finish(finish_of(&outcome));
        outcome
    }

    /// Waits for children started without waiting (fire-and-forget).
    pub async fn wait_for_children(&self) {
        loop {
            let batch: Vec<_> = self.spawned.borrow_mut().drain(..).collect();
            if batch.is_empty() {
                return;
            }
            for h in batch {
                let _ = h.await;
            }
        }
    }

    pub fn writer(&self) -> &WriterHandle {
        &self.writer
    }

    /// The child's definition and record, stored before it runs.
    fn prepare(&self, req: &ChildRequest) -> Result<(Job, String), Failure> {
        // A workflow that starts itself (directly or round about) would nest without end.
        let depth = self
            .depths
            .borrow()
            .get(&req.parent_arn)
            .copied()
            .unwrap_or(0)
            + 1;
        if depth > MAX_NESTING {
            return Err(Failure::from_task(
                "StepFunctions.ExecutionLimitExceededException",
                format!(
                    "asl runs nested executions at most {MAX_NESTING} levels deep; {} would start one more level (does a state machine start itself?)",
                    req.parent_arn
                ),
            ));
        }
        // `Machine#Case`: the child runs the test case `Case` of the mock config.
        let (machine_ref, test_case) = match req.state_machine.rsplit_once('#') {
            Some((m, case)) => (m, Some(case)),
            None => (req.state_machine.as_str(), None),
        };
        // The resources file's machines, else those created through the API (`asl serve`).
        // A name works here (the resources file names its machines), but AWS's StartExecution
        // takes an ARN: the workflow would fail there with InvalidArn.
        if !machine_ref.starts_with("arn:") && self.named.borrow_mut().insert(machine_ref.into()) {
            eprintln!(
                "asl: warning: a task starts the state machine {machine_ref:?} by name; AWS takes its ARN ({}), and refuses a name with StepFunctions.InvalidArnException",
                exec::state_machine_arn(machine_ref)
            );
        }
        let source = match self.resources.config.machine(machine_ref) {
            Some((name, m)) => Source::File(name.to_string(), m.clone()),
            None => match self.stored_machine(machine_ref) {
                // StartExecution's refusal, as the API gives it (no child starts).
                Some(m) if m.deleting => {
                    return Err(Failure::from_task(
                        "StepFunctions.StateMachineDeletingException",
                        format!(
                            "State Machine is being deleted: '{}' (Service: AWSStepFunctions; Status Code: 400; Error Code: StateMachineDeleting)",
                            m.arn
                        ),
                    ))
                }
                Some(m) => Source::Stored(m),
                None => {
                    let arn = if machine_ref.starts_with("arn:") {
                        machine_ref.to_string()
                    } else {
                        exec::state_machine_arn(machine_ref)
                    };
                    return Err(Failure::from_task(
                        "StepFunctions.StateMachineDoesNotExistException",
                        format!(
                            "State Machine Does Not Exist: '{arn}' (Service: AWSStepFunctions; Status Code: 400; Error Code: StateMachineDoesNotExist): register it in the resources file (stateMachines)"
                        ),
                    ));
                }
            },
        };
        let (name, origin, express) = match &source {
            Source::File(name, m) => (name.clone(), m.definition.display().to_string(), m.express),
            Source::Stored(m) => (
                m.name.clone(),
                m.arn.clone(),
                (m.kind == "EXPRESS").then(|| {
                    asl::history::level::LogLevel::parse(&m.log_level())
                        .unwrap_or(asl::history::level::LogLevel::Off)
                }),
            ),
        };
        let resources = if test_case.is_none() && self.resources.mocks.is_none() {
            None
        } else {
            let r = self
                .resources
                .for_child(&name, test_case)
                .map_err(|e| Failure::new("States.TaskFailed", e))?;
            Some(Arc::new(r))
        };
        let loaded = self.definitions.borrow().get(&name).cloned();
        let loaded = match loaded {
            Some(l) => l,
            None => {
                let text = match &source {
                    Source::File(_, machine) => {
                        let text = std::fs::read_to_string(&machine.definition).map_err(|e| {
                            Failure::from_task(
                                "StepFunctions.StateMachineDoesNotExistException",
                                format!("cannot read {}: {e}", machine.definition.display()),
                            )
                        })?;
                        let text = asl::definition::substitute(&text, &machine.subs);
                        asl::definition::substitute(&text, &self.resources.config.run_subs)
                    }
                    Source::Stored(m) => m.definition.clone(),
                };
                let def = Definition::from_json(&text).map_err(|e| {
                    Failure::from_task(
                        "StepFunctions.InvalidDefinitionException",
                        format!("{origin}: {}", e.detail()),
                    )
                })?;
                let l = Rc::new((def, text));
                // A stored machine may be updated meanwhile: only files are kept.
                if matches!(source, Source::File(..)) {
                    self.definitions
                        .borrow_mut()
                        .insert(name.clone(), l.clone());
                }
                l
            }
        };
        let execution_name = req
            .name
            .clone()
            .unwrap_or_else(crate::commands::random_uuid);
        // An EXPRESS state machine of the resources file: AWS's express ARN, its log level's
        // history, five minutes; what it refuses to contain is refused when it would start.
        if express.is_some() {
            let refused = asl::definition::express_refusals(&loaded.0.source);
            if let Some((pointer, resource)) = refused.first() {
                return Err(Failure::from_task(
                    "StepFunctions.InvalidDefinitionException",
                    format!(
                        "{origin}: {pointer}: an EXPRESS state machine does not support the service integration pattern of {resource:?}"
                    ),
                ));
            }
        }
        let arn = match express {
            Some(_) => exec::express_execution_arn(&name, &execution_name),
            None => exec::execution_arn(&name, &execution_name),
        };
        self.depths.borrow_mut().insert(arn.clone(), depth);
        let store_err = |e: asl::history::store::StoreError| match e {
            asl::history::store::StoreError::Exists(_) => Failure::from_task(
                "StepFunctions.ExecutionAlreadyExistsException",
                format!("Execution Already Exists: '{arn}'"),
            ),
            other => Failure::new("States.TaskFailed", other.to_string()),
        };
        self.store
            .put_state_machine(&exec::state_machine_arn(&name), &name, &loaded.1)
            .map_err(store_err)?;
        let start = Utc::now();
        self.store
            .insert_execution(&ExecutionRecord {
                arn: arn.clone(),
                name: execution_name.clone(),
                state_machine_arn: exec::state_machine_arn(&name),
                state_machine_name: name.clone(),
                definition: loaded.1.clone(),
                status: "RUNNING".into(),
                input: req.input.to_string(),
                output: None,
                error: None,
                cause: None,
                start,
                stop: None,
                // The execution its input names, as AWS links them; else the one that started it.
                parent_arn: Some(
                    exec::started_by(&req.input)
                        .unwrap_or(&req.parent_arn)
                        .to_string(),
                ),
                redrive_count: 0,
                redrive: None,
                owner_pid: Some(std::process::id()),
                owner_start: asl::history::store::process_identity(std::process::id()),
                options: json!({}),
                machine: Default::default(),
            })
            .map_err(store_err)?;
        // Definitions are cheap to share; the job owns its copy of the parsed one.
        let def = Rc::new(loaded.0.clone());
        Ok((
            Job {
                def,
                machine_name: name,
                execution_name,
                input: req.input.clone(),
                start_time: Some(start),
                resume: None,
                parent_stop: req.parent_stop.clone(),
                resources,
                express: express.map(|level| (arn.clone(), level)),
                role_arn: match &source {
                    Source::Stored(m) => m.role_arn.clone(),
                    Source::File(..) => None,
                },
            },
            arn,
        ))
    }
}

impl Host {
    /// A DISTRIBUTED Map's STANDARD child: recorded under its parent (with its Map Run in its
    /// options) and run with its history stored; it stops when its parent does.
    async fn execute_map_child(&self, child: MapChild) -> Result<Outcome, Failure> {
        let arn = exec::execution_arn(&child.machine_name, &child.execution_name);
        let runtime =
            |e: asl::history::store::StoreError| Failure::new("States.Runtime", e.to_string());
        let (start, resume) = match child.again {
            // Recorded before: it goes on from its history, as `asl resume`/`redrive` would.
            Some(redrive) => {
                let r = self.store.get_execution(&arn).map_err(runtime)?;
                let resume = take_over(&self.store, &r, redrive).map_err(runtime)?;
                (r.start, Some(resume))
            }
            None => (Utc::now(), None),
        };
        if resume.is_none() {
            self.store
                .insert_execution(&ExecutionRecord {
                    arn: arn.clone(),
                    name: child.execution_name.clone(),
                    state_machine_arn: exec::state_machine_arn(&child.machine_name),
                    state_machine_name: child.machine_name.clone(),
                    definition: child.def.source.to_string(),
                    status: "RUNNING".into(),
                    input: child.input.to_string(),
                    output: None,
                    error: None,
                    cause: None,
                    start,
                    stop: None,
                    parent_arn: Some(child.parent_arn.clone()),
                    redrive_count: 0,
                    redrive: None,
                    owner_pid: Some(std::process::id()),
                    owner_start: asl::history::store::process_identity(std::process::id()),
                    options: json!({"mapRunArn": child.map_run_arn, "mapRunIndex": child.index}),
                    machine: Default::default(),
                })
                .map_err(runtime)?;
        }
        let last = resume.as_ref().map_or(0, |r| r.last_event_id);
        let history = Arc::new(
            DurableHistory::new(&arn, self.writer.clone(), last)
                .with_progress(self.progress.clone()),
        );
        let services = Services {
            clock: self.clock.clone(),
            resources: self.resources.clone(),
            history: history.clone(),
            stop: child.parent_stop,
            children: Some(self.me() as Arc<dyn ChildHost>),
            callbacks: Some(Arc::new(StoreCallbacks::new(
                self.store.clone(),
                self.writer.clone(),
            ))),
            inspect: None,
            test_state: None,
        };
        let req = StartRequest {
            state_machine_name: child.machine_name,
            execution_name: child.execution_name,
            input: child.input,
            start_time: Some(start),
            resume,
            express_arn: None,
            role_arn: None,
            variables: None,
        };
        let mut guard = AbortGuard {
            writer: self.writer.clone(),
            history: history.clone(),
            arn,
            armed: true,
        };
        let outcome = exec::execute(&child.def, req, &services).await;
        guard.armed = false;
        self.writer.finish(finish_of(&outcome));
        Ok(outcome)
    }
}

impl ChildHost for Host {
    fn run_map_child<'a>(
        &'a self,
        child: MapChild,
    ) -> Option<LocalFuture<'a, Result<Outcome, Failure>>> {
        Some(Box::pin(self.execute_map_child(child)))
    }

    fn map_run_progress(&self, execution_arn: &str, map_run: &Value) {
        if let Some(arn) = map_run["mapRunArn"].as_str() {
            self.writer.map_run(arn, execution_arn, map_run);
        }
    }

    fn commit_reports(&self) {
        let _ = self.writer.flush();
    }

    fn prior_map_run(&self, execution_arn: &str, state: &str) -> Option<exec::PriorMapRun> {
        // What the writer holds of this process's reports is in the file once flushed.
        let _ = self.writer.flush();
        let runs = self.store.map_runs(execution_arn).ok()?;
        let run = runs.iter().rev().find(|r| r["stateName"] == state)?;
        let arn = run["mapRunArn"].as_str()?.to_string();
        // A record whose start event was never stored is of a Map Run that never started (the
        // record is committed first): it started no child, and a new one starts.
        let events = self.store.events(execution_arn).ok()?;
        let started = events.iter().any(|e| {
            e["mapRunStartedEventDetails"]["mapRunArn"] == arn.as_str()
                || e["mapRunRedrivenEventDetails"]["mapRunArn"] == arn.as_str()
        });
        if !started {
            return None;
        }
        let kids = self
            .store
            .list_executions(&asl::history::store::ExecutionFilter {
                parent_arn: Some(execution_arn.to_string()),
                ..Default::default()
            })
            .ok()?;
        let children = kids
            .into_iter()
            .filter(|k| k.options["mapRunArn"] == arn.as_str())
            .filter_map(|k| {
                let index = k.options["mapRunIndex"].as_u64()? as usize;
                Some((index, outcome_of(&k)?))
            })
            .collect();
        Some(exec::PriorMapRun {
            arn,
            status: run["status"].as_str().unwrap_or("RUNNING").to_string(),
            redrive_count: run["redriveCount"].as_u64().unwrap_or(0) as u32,
            children,
        })
    }

    fn run<'a>(&'a self, req: ChildRequest) -> LocalFuture<'a, Result<Outcome, Failure>> {
        Box::pin(async move {
            let (job, arn) = self.prepare(&req)?;
            if let Some(started) = &req.started {
                *started.borrow_mut() = Some((arn, job.start_time.unwrap_or_else(Utc::now)));
            }
            Ok(self.execute(job).await)
        })
    }

    fn spawn(&self, req: ChildRequest) -> Result<(String, DateTime<Utc>), Failure> {
        let (job, arn) = match self.prepare(&req) {
            Ok(p) => p,
            Err(f) if f.error == "StepFunctions.ExecutionAlreadyExistsException" => {
                // StartExecution is idempotent: "when the original execution is open and the
                // execution input from the new call is identical, the Success message is
                // returned" — with the running execution.
                return self.same_open_execution(&req).ok_or(f);
            }
            Err(f) => return Err(f),
        };
        let start = job.start_time.unwrap_or_else(Utc::now);
        let host = self.me();
        let handle = tokio::task::spawn_local(async move {
            host.execute(job).await;
        });
        self.spawned.borrow_mut().push(handle);
        Ok((arn, start))
    }
}

impl Host {
    /// The open execution a repeated StartExecution names, when its input is the same.
    fn same_open_execution(&self, req: &ChildRequest) -> Option<(String, DateTime<Utc>)> {
        let machine = req
            .state_machine
            .rsplit_once('#')
            .map_or(req.state_machine.as_str(), |(m, _)| m);
        let (name, _) = self.resources.config.machine(machine)?;
        let arn = exec::execution_arn(name, req.name.as_deref()?);
        let r = self.store.get_execution(&arn).ok()?;
        let input: Value = serde_json::from_str(&r.input).ok()?;
        (r.status == "RUNNING" && input == req.input).then_some((r.arn, r.start))
    }
}

/// Takes a stored execution over to run it on from its history in this process: resumed (what
/// completed is replayed) or redriven (what did not succeed runs again, `RedriveCount` + 1).
/// Refused when another process took it over first (`StoreError::TakenOver`).
pub fn take_over(
    store: &Store,
    r: &ExecutionRecord,
    redrive: bool,
) -> Result<exec::Resume, asl::history::store::StoreError> {
    let (memo, last_event_id) = store.replay_state(&r.arn)?;
    let redrive_time = redrive.then(Utc::now);
    store.reopen_execution(r, redrive_time)?;
    // The nested executions that died with it end now (ABORTED), as `asl stop` ends them:
    // the task that started one runs again and starts another. A Map Run's children are
    // taken over by the Map Run instead.
    for e in store.family(&r.arn)? {
        if e.arn != r.arn
            && e.status == "RUNNING"
            && e.options.get("mapRunArn").is_none()
            && !crate::commands::stop::owned(&e)
        {
            store.abort_orphan(&e.arn, None, None)?;
        }
    }
    Ok(exec::Resume {
        memo: if redrive {
            Store::redrive_memo(memo)
        } else {
            memo
        },
        last_event_id,
        start_time: r.start,
        redrive_count: redrive.then_some(r.redrive_count + 1),
        redrives_before: r.redrive_count,
        // `$$.Execution.RedriveTime`: this redrive's, or (resuming) the last one's.
        redrive_time: redrive_time.or(r.redrive),
    })
}

/// How many levels of nested executions (`states:startExecution`) may run below a top-level one.
const MAX_NESTING: usize = 100;

/// A recorded execution as an `Outcome` (a RUNNING one has no stop date yet: its start).
fn outcome_of(r: &ExecutionRecord) -> Option<Outcome> {
    let json = |s: &str| serde_json::from_str::<Value>(s).ok();
    Some(Outcome {
        execution_arn: r.arn.clone(),
        state_machine_arn: r.state_machine_arn.clone(),
        name: r.name.clone(),
        status: exec::Status::parse(&r.status)?,
        start_date: r.start,
        stop_date: r.stop.unwrap_or(r.start),
        input: json(&r.input)?,
        output: r.output.as_deref().and_then(json),
        error: r.error.clone(),
        cause: r.cause.clone(),
    })
}

pub fn finish_of(o: &Outcome) -> Finish {
    Finish {
        arn: o.execution_arn.clone(),
        status: o.status.as_str().to_string(),
        output: o.output.as_ref().map(|v| v.to_string()),
        error: o.error.clone(),
        cause: o.cause.clone(),
        stop: o.stop_date,
    }
}

/// Ends an execution's record as ABORTED if its run is dropped before it finishes.
struct AbortGuard {
    writer: WriterHandle,
    /// Where its ExecutionAborted goes: the execution's sink (an EXPRESS one's log level).
    history: Arc<dyn asl::history::HistorySink>,
    arn: String,
    armed: bool,
}

impl Drop for AbortGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let now = Utc::now();
        // Dropped as its parent stops, or unwound by a panic (a bug in asl, said as such).
        let cause = if std::thread::panicking() {
            "asl met an internal error (a bug) while running this execution"
        } else {
            "the parent execution stopped"
        };
        // As recorded against AWS: a stopped execution's ExecutionAborted points back to 0.
        self.history.record(
            0,
            now,
            EventKind::with_details(
                "ExecutionAborted",
                "executionAbortedEventDetails",
                json!({ "cause": cause }),
            ),
        );
        self.writer.finish(Finish {
            arn: self.arn.clone(),
            status: Status::Aborted.as_str().to_string(),
            output: None,
            error: None,
            cause: Some(cause.into()),
            stop: now,
        });
    }
}
