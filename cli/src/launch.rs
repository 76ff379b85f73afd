//! Running one execution (new, resumed or redriven) with its history in the store, and
//! printing how it ended. Shared by `run`, `resume` and `redrive`.

use crate::host::{Host, Job};
use anyhow::{Context, Result};
use asl::exec::{self, Clock, Outcome, Resume, Services, StartRequest, Status, SystemClock};
use asl::history::store::{ExecutionRecord, Store};
use asl::history::{iso, NullHistory};
use asl::resources::config::Config as ResourcesConfig;
use asl::resources::items::Buckets;
use asl::resources::{mock::MockSet, Resources};
use asl::Definition;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// What `run` stores so that `resume` and `redrive` can start the same run again.
pub struct Options {
    /// `--sub` pairs, which nested state machines get too.
    pub subs: Vec<(String, String)>,
    pub mock_config: Option<String>,
    pub test_case: Option<String>,
    pub resources: Option<String>,
    pub wait_scale: f64,
}

/// `asl run --bucket NAME=DIR`: the local directories standing for S3 buckets in this process
/// (a DISTRIBUTED Map's ItemReader and ResultWriter). Stored with the execution's options so
/// that `resume` and `redrive` find the same buckets.
static BUCKETS: std::sync::Mutex<Option<Buckets>> = std::sync::Mutex::new(None);

pub fn set_buckets(b: Buckets) {
    *BUCKETS.lock().unwrap_or_else(|p| p.into_inner()) = Some(b);
}

fn buckets() -> Buckets {
    BUCKETS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .unwrap_or_default()
}

impl Options {
    pub fn to_json(&self) -> Value {
        let mut v = json!({"mockConfig": self.mock_config, "testCase": self.test_case,
               "resources": self.resources, "waitScale": self.wait_scale,
               "subs": self.subs.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>()});
        let b = buckets();
        if !b.is_empty() {
            v["buckets"] = json!(b.specs());
        }
        v
    }

    pub fn from_json(v: &Value) -> Options {
        if let Some(specs) = v["buckets"].as_array() {
            let specs: Vec<String> = specs
                .iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect();
            if let Ok(b) = Buckets::parse(&specs) {
                set_buckets(b);
            }
        }
        Options {
            mock_config: v["mockConfig"].as_str().map(String::from),
            test_case: v["testCase"].as_str().map(String::from),
            subs: v["subs"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|p| {
                            Some((p[0].as_str()?.to_string(), p[1].as_str()?.to_string()))
                        })
                        .collect()
                })
                .unwrap_or_default(),
            resources: v["resources"].as_str().map(String::from),
            wait_scale: v["waitScale"].as_f64().unwrap_or(1.0),
        }
    }

    /// The resources file, every problem located in it.
    pub fn resources(&self) -> Result<ResourcesConfig> {
        let mut cfg = match &self.resources {
            None => ResourcesConfig::default(),
            Some(f) => ResourcesConfig::load(Path::new(f)).map_err(|diags| {
                let lines: Vec<String> = diags.iter().map(|d| format!("{f}: {d}")).collect();
                anyhow::anyhow!("{f} is not a valid resources file:\n{}", lines.join("\n"))
            })?,
        };
        cfg.run_subs = self.subs.clone();
        Ok(cfg)
    }

    /// The whole MockConfigFile, when one is given.
    pub fn mock_config_file(&self) -> Result<Option<Arc<Value>>> {
        let Some(f) = &self.mock_config else {
            return Ok(None);
        };
        let text = crate::load::read(Path::new(f))?;
        let cfg: Value =
            serde_json::from_str(&text).with_context(|| format!("{f} is not valid JSON"))?;
        Ok(Some(Arc::new(cfg)))
    }

    /// The mocks of `machine`'s test case, and the whole MockConfigFile (for nested executions).
    pub fn mocks(&self, machine: &str) -> Result<Option<(MockSet, Arc<Value>)>> {
        let Some(f) = &self.mock_config else {
            return Ok(None);
        };
        let text = crate::load::read(Path::new(f))?;
        let cfg: Value =
            serde_json::from_str(&text).with_context(|| format!("{f} is not valid JSON"))?;
        let set = MockSet::from_config(&cfg, Some(machine), self.test_case.as_deref())
            .with_context(|| format!("mock config {f}"))?;
        Ok(Some((set, Arc::new(cfg))))
    }
}

pub struct Launch<'a> {
    pub start_time: Option<chrono::DateTime<chrono::Utc>>,
    pub def: Definition,
    pub machine_name: String,
    pub execution_name: String,
    pub input: Value,
    pub options: &'a Options,
    pub resume: Option<Resume>,
    /// Where the history goes; `None` keeps nothing (and nested executions and callbacks are
    /// not available).
    pub store: Option<Arc<Store>>,
    pub timing: bool,
    /// An EXPRESS execution: its ARN, and the log level its history keeps.
    pub express: Option<(String, asl::history::level::LogLevel)>,
}

/// Runs the execution to its end (and the children it started without waiting); with a
/// store, every event is committed before this returns.
pub fn launch(l: Launch) -> Result<Outcome> {
    // A workflow that starts nested executions runs on a thread with a deep stack: a `.sync`
    // child runs inside its parent's poll, so each level of nesting (up to the host's limit of
    // 100) takes its share of the stack. The others stay on this thread, whose memory is warm
    // (a new thread's first pages cost a short run a fifth of its time).
    if !starts_executions(&l.def.source) {
        return launch_here(l);
    }
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("asl-engine".into())
            .stack_size(ENGINE_STACK_BYTES)
            .spawn_scoped(s, move || launch_here(l))
            .context("cannot start the engine's thread")?
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

/// Whether a definition has a task that starts executions (`states:startExecution`).
fn starts_executions(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains(":states:startExecution"),
        Value::Array(a) => a.iter().any(starts_executions),
        Value::Object(m) => m.values().any(starts_executions),
        _ => false,
    }
}

/// The engine thread's stack: address space reserved, memory used only as deep as it goes.
const ENGINE_STACK_BYTES: usize = 256 << 20;

fn launch_here(l: Launch) -> Result<Outcome> {
    let mocks = l.options.mocks(&l.machine_name)?;
    let (mocks, mock_config) = mocks.unzip();
    if let Some(m) = &mocks {
        let warn = |what: &str, mut states: Vec<String>| {
            if !states.is_empty() {
                use std::io::Write;
                states.sort_unstable();
                let _ = writeln!(
                    std::io::stderr(),
                    "asl: warning: test case '{}' mocks {what}: {}",
                    m.case,
                    states.join(", ")
                );
            }
        };
        // A mocked state the workflow does not have is most likely a misspelt name.
        warn(
            "states the workflow does not have",
            m.states()
                .filter(|s| !l.def.machine.has_state_anywhere(s))
                .map(str::to_string)
                .collect(),
        );
        // Mocks stand in for Task states only: a mock named after a Map, a Parallel or a Pass
        // is never used.
        warn(
            "states that are not Task states, which mocks do not replace",
            m.states()
                .filter_map(|s| l.def.machine.state_anywhere(s))
                .filter(|st| !matches!(st.kind, asl::definition::model::Kind::Task(_)))
                .map(|st| format!("{} ({})", st.name, st.kind.type_name()))
                .collect(),
        );
    }
    let mut resources = Resources::new(mocks, l.options.resources()?);
    resources.mock_config = mock_config;
    resources.buckets = buckets();
    let resources = Arc::new(resources);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock {
        scale: l.options.wait_scale,
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let local = tokio::task::LocalSet::new();
    let started = Instant::now();
    let cpu_before = thread_cpu();
    // How long the last flush of the history took, when there is one (for --timing).
    let mut flush_s = None;
    let outcome = match l.store {
        Some(store) => {
            let host = Host::new(store, resources, clock)?;
            let job = Job {
                def: std::rc::Rc::new(l.def),
                machine_name: l.machine_name,
                execution_name: l.execution_name,
                input: l.input,
                start_time: l.start_time,
                resume: l.resume,
                parent_stop: None,
                resources: None,
                express: l.express.clone(),
                role_arn: None,
            };
            let outcome = local.block_on(&rt, async {
                let outcome = host.execute(job).await;
                host.wait_for_children().await;
                outcome
            });
            let flushing = Instant::now();
            host.writer()
                .flush()
                .context("cannot store the execution's history")?;
            flush_s = Some(flushing.elapsed().as_secs_f64());
            outcome
        }
        None => {
            let services = Services {
                clock,
                resources,
                history: Arc::new(NullHistory::default()),
                stop: None,
                children: None,
                callbacks: None,
                inspect: None,
                test_state: None,
            };
            let req = StartRequest {
                state_machine_name: l.machine_name,
                execution_name: l.execution_name,
                input: l.input,
                start_time: l.start_time,
                resume: l.resume,
                express_arn: l.express.map(|(arn, _)| arn),
                role_arn: None,
                variables: None,
            };
            local.block_on(&rt, exec::execute(&l.def, req, &services))
        }
    };
    if l.timing {
        eprintln!(
            "@@bench {}",
            json!({
                "exec_s": started.elapsed().as_secs_f64(),
                "flush_s": flush_s,
                "engine_cpu_s": thread_cpu().zip(cpu_before).map(|(a, b)| a - b),
            })
        );
    }
    Ok(outcome)
}

/// The CPU time this thread has run, in seconds, from the scheduler's own count (Linux's
/// `/proc/thread-self/schedstat`, nanoseconds); `None` where there is none.
fn thread_cpu() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 / 1e9)
}

/// A new RUNNING execution record for `run`.
pub fn new_record(
    def_text: &str,
    machine_name: &str,
    execution_name: &str,
    input: &Value,
    options: &Options,
    arn: Option<&str>,
) -> ExecutionRecord {
    ExecutionRecord {
        arn: arn.map_or_else(
            || exec::execution_arn(machine_name, execution_name),
            String::from,
        ),
        name: execution_name.to_string(),
        state_machine_arn: exec::state_machine_arn(machine_name),
        state_machine_name: machine_name.to_string(),
        definition: def_text.to_string(),
        status: "RUNNING".into(),
        input: input.to_string(),
        output: None,
        error: None,
        cause: None,
        start: chrono::Utc::now(),
        stop: None,
        parent_arn: exec::started_by(input).map(String::from),
        redrive_count: 0,
        redrive: None,
        owner_pid: Some(std::process::id()),
        owner_start: asl::history::store::process_identity(std::process::id()),
        options: options.to_json(),
        machine: Default::default(),
    }
}

/// Prints how an execution ended: a line and the output for people, or the `--json` object.
/// Returns the exit status: 0 when it succeeded, 1 otherwise.
pub fn report(outcome: &Outcome, as_json: bool) -> Result<i32> {
    if as_json {
        let v = json!({
            "executionArn": outcome.execution_arn,
            "stateMachineArn": outcome.state_machine_arn,
            "name": outcome.name,
            "status": outcome.status.as_str(),
            "startDate": iso(outcome.start_date),
            "stopDate": iso(outcome.stop_date),
            "input": outcome.input,
            "output": outcome.output,
            "error": outcome.error,
            "cause": outcome.cause,
        });
        outln!("{}", serde_json::to_string(&v)?);
    } else {
        outln!("{}  {}", outcome.status.as_str(), outcome.execution_arn);
        match (&outcome.status, &outcome.output) {
            (Status::Succeeded, Some(o)) => outln!("{}", serde_json::to_string_pretty(o)?),
            (Status::Succeeded, None) => {}
            (Status::TimedOut, _) => outln!("the execution ran past its TimeoutSeconds"),
            _ => {
                if let Some(e) = outcome.error.as_deref().filter(|e| !e.is_empty()) {
                    outln!("error: {e}");
                }
                if let Some(c) = outcome.cause.as_deref().filter(|c| !c.is_empty()) {
                    outln!("cause: {c}");
                }
            }
        }
    }
    Ok(i32::from(outcome.status != Status::Succeeded))
}
