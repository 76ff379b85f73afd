//! `asl serve`: the Step Functions API (AWS's JSON 1.0 protocol: `POST /` with
//! `X-Amz-Target: AWSStepFunctions.<Action>`) on 127.0.0.1, so that the AWS CLI and SDKs work
//! against asl (`--endpoint-url http://127.0.0.1:8083`). Reads and the task and activity calls
//! go to the store from the HTTP threads; executions run on one engine thread (the host's
//! LocalSet), which StartExecution hands them to.

use crate::api::{self, ApiError};
use crate::host::{Host, Job};
use crate::launch::Options;
use anyhow::Context;
use asl::exec::{Clock, SystemClock};
use asl::history::machines::StateMachine;
use asl::history::store::Store;
use asl::resources::Resources;
use serde_json::{json, Value};
use std::sync::Arc;

/// An execution for the engine thread to start.
pub struct Start {
    pub machine: StateMachine,
    /// Step Functions Local's `stateMachineArn#TestCase`: the mock config's test case to run.
    pub test_case: Option<String>,
    pub name: String,
    pub input: Value,
    /// StartSyncExecution: answer when it ends.
    pub sync: bool,
    pub reply: tokio::sync::oneshot::Sender<Result<Value, ApiError>>,
}

/// What the engine thread is asked to do.
pub enum Cmd {
    Start(Box<Start>),
    /// RedriveExecution of a stored execution (checked as redrivable).
    Redrive {
        record: Box<asl::history::store::ExecutionRecord>,
        reply: tokio::sync::oneshot::Sender<Result<Value, ApiError>>,
    },
}

/// What the HTTP side holds.
pub struct Server {
    pub store: Arc<Store>,
    /// What executions (and TestState) run with.
    pub resources: Arc<Resources>,
    pub wait_scale: f64,
    pub engine: tokio::sync::mpsc::UnboundedSender<Cmd>,
    /// Set on Ctrl-C: long polls answer at once, and no activity task is handed out.
    pub stopping: std::sync::atomic::AtomicBool,
    /// No line a request on stderr.
    pub quiet: bool,
}

pub struct ServeConfig {
    pub host: String,
    pub port: u16,
    pub quiet: bool,
    pub options: Options,
}

pub fn serve(store: Store, cfg: ServeConfig) -> anyhow::Result<i32> {
    let store = Arc::new(store);
    let mut resources = Resources::new(None, cfg.options.resources()?);
    resources.mock_config = cfg.options.mock_config_file()?;
    let resources = Arc::new(resources);
    let served_resources = resources.clone();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock {
        scale: cfg.options.wait_scale,
    });
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let engine_store = store.clone();
    let options = cfg.options.to_json();
    // The host lives on the engine thread (it is not Send); it starts the store's writer there.
    let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("asl-engine".into())
        // Nested `.sync` executions run inside their parent's poll (see launch.rs).
        .stack_size(256 << 20)
        .spawn(
            move || match Host::new(engine_store.clone(), resources.clone(), clock) {
                Ok(host) => {
                    let _ = ready_tx.send(Ok(()));
                    engine_thread(host, engine_store, resources, options, rx)
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            },
        )
        .context("cannot start the engine's thread")?;
    ready_rx.recv().context("the engine's thread stopped")??;
    // The engine thread runs as long as the process: were its channel closed at the end, its
    // LocalSet would drop the executions in flight and record them ABORTED.
    std::mem::forget(tx.clone());
    let server = Arc::new(Server {
        resources: served_resources,
        wait_scale: cfg.options.wait_scale,
        store: store.clone(),
        engine: tx,
        stopping: Default::default(),
        quiet: cfg.quiet,
    });
    let stopping = server.clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind((cfg.host.as_str(), cfg.port))
            .await
            .with_context(|| format!("cannot listen on {}:{}", cfg.host, cfg.port))?;
        let addr = listener.local_addr()?;
        outln!("asl serve: the Step Functions API on http://{addr}");
        let app = axum::Router::new()
            .route("/", axum::routing::post(handle).fallback(elsewhere))
            .fallback(elsewhere)
            .with_state(server);
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = tokio::signal::ctrl_c().await;
                stopping
                    .stopping
                    .store(true, std::sync::atomic::Ordering::Relaxed);
            })
            .await
            .context("the server stopped")?;
        anyhow::Ok(())
    })?;
    // Stopped (Ctrl-C): what the executions recorded is committed before the process ends;
    // those still running stay RUNNING, for `asl resume`.
    store
        .writer()?
        .flush()
        .context("cannot store the executions' histories")?;
    Ok(0)
}

async fn handle(
    axum::extract::State(server): axum::extract::State<Arc<Server>>,
    headers: axum::http::HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> axum::response::Response {
    // A body too large to take (or cut off) is answered in the protocol's JSON too.
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            return json_response(
                e.status(),
                &json!({"__type": "SerializationException", "message": e.body_text()}),
            )
        }
    };
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let started = std::time::Instant::now();
    let action = target
        .strip_prefix("AWSStepFunctions.")
        .unwrap_or("?")
        .to_string();
    let log = !server.quiet;
    let answer = tokio::task::spawn_blocking(move || {
        let Some(action) = target.strip_prefix("AWSStepFunctions.") else {
            return Err(ApiError::new(
                "UnknownOperationException",
                format!("no X-Amz-Target: AWSStepFunctions.<Action> header (got {target:?})"),
            ));
        };
        let request: Value = if body.is_empty() {
            json!({})
        } else {
            serde_json::from_slice(&body).map_err(|e| {
                ApiError::new(
                    "SerializationException",
                    format!("the body is not JSON: {e}"),
                )
            })?
        };
        api::dispatch(&server, action, &request)
    })
    .await
    .unwrap_or_else(|e| Err(ApiError::new("InternalFailure", e.to_string())));
    let (status, v) = match answer {
        Ok(v) => (axum::http::StatusCode::OK, v),
        Err(e) => (e.status(), json!({"__type": e.code, "message": e.message})),
    };
    // One line a request, as Step Functions Local logs them: what SDKs and tools call.
    if log {
        let what = v["__type"]
            .as_str()
            .map(|c| format!(" {c}"))
            .unwrap_or_default();
        eprintln!(
            "asl serve: {action} {}{what} ({:.1} ms)",
            status.as_u16(),
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    json_response(status, &v)
}

/// Any other method or path: the API is `POST /` with an `X-Amz-Target`.
async fn elsewhere(method: axum::http::Method, uri: axum::http::Uri) -> axum::response::Response {
    let status = if uri.path() == "/" {
        axum::http::StatusCode::METHOD_NOT_ALLOWED
    } else {
        axum::http::StatusCode::NOT_FOUND
    };
    json_response(
        status,
        &json!({"__type": "UnknownOperationException",
                "message": format!("{method} {uri}: the Step Functions API is POST / with an X-Amz-Target header (AWS's JSON 1.0 protocol)")}),
    )
}

fn json_response(status: axum::http::StatusCode, v: &Value) -> axum::response::Response {
    axum::response::Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .body(axum::body::Body::from(v.to_string()))
        .unwrap_or_default()
}

/// Runs the executions StartExecution hands over, each on the host's LocalSet.
fn engine_thread(
    host: Arc<Host>,
    store: Arc<Store>,
    resources: Arc<Resources>,
    options: Value,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Cmd>,
) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        while let Some(cmd) = rx.recv().await {
            let s = match cmd {
                Cmd::Start(s) => *s,
                Cmd::Redrive { record, reply } => {
                    match api::prepare_redrive(&store, &resources, &record) {
                        Ok((job, at)) => {
                            let _ = reply.send(Ok(json!({"redriveDate": api::epoch(at)})));
                            let host = host.clone();
                            tokio::task::spawn_local(async move {
                                host.execute(job).await;
                            });
                        }
                        Err(e) => {
                            let _ = reply.send(Err(e));
                        }
                    }
                    continue;
                }
            };
            let prepared = api::prepare_start(&store, &resources, &options, &s);
            let (job, record) = match prepared {
                Ok(api::Prepared::New(job, record)) => (*job, record),
                Ok(api::Prepared::Running(open)) => {
                    let _ = s.reply.send(Ok(json!({
                        "executionArn": open.arn,
                        "startDate": api::epoch(open.start),
                    })));
                    continue;
                }
                Err(e) => {
                    let _ = s.reply.send(Err(e));
                    continue;
                }
            };
            let host = host.clone();
            if s.sync {
                tokio::task::spawn_local(async move {
                    let outcome = host.execute(job).await;
                    let _ = s.reply.send(Ok(api::sync_answer(&outcome)));
                });
            } else {
                let _ = s.reply.send(Ok(json!({
                    "executionArn": record.arn,
                    "startDate": api::epoch(record.start),
                })));
                tokio::task::spawn_local(async move {
                    host.execute(job).await;
                });
            }
        }
    });
}

/// The job for a new execution of a stored state machine.
pub fn job(
    def: asl::Definition,
    s: &Start,
    resources: Option<Arc<Resources>>,
    start: chrono::DateTime<chrono::Utc>,
    express: Option<(String, asl::history::level::LogLevel)>,
) -> Job {
    Job {
        def: std::rc::Rc::new(def),
        machine_name: s.machine.name.clone(),
        execution_name: s.name.clone(),
        input: s.input.clone(),
        start_time: Some(start),
        resume: None,
        parent_stop: None,
        resources,
        express,
        role_arn: s.machine.role_arn.clone(),
    }
}
