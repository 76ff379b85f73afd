//! `asl load`: the product's main job. Starts the bundled pizza API (or uses `--api`), runs the
//! ramp orchestrator (workflows/load-testing) driving the pizza order workflow
//! (workflows/pizza) as nested executions, shows live progress, and prints the load report.

use crate::args::LoadArgs;
use crate::host::{Host, Job};
use crate::{db, launch};
use anyhow::{bail, Context, Result};
use asl::exec::{Clock, SystemClock};
use asl::history::Progress;
use asl::resources::config::{Config, Machine};
use asl::resources::Resources;
use asl::Definition;
use chrono::{SecondsFormat, Utc};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const RAMP: &str = include_str!("../../../workflows/load-testing/ramp.asl.json");
const ORDER: &str = include_str!("../../../workflows/pizza/order.asl.json");
const CONNECTION: &str = "arn:aws:events:us-east-1:123456789012:connection/pizza/local";
/// The state machine name of the load's own execution.
pub const MACHINE: &str = "pizza-load";

/// `10s`, `2m`, `1h`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration> {
    let t = s.trim();
    let (num, unit) = t.split_at(
        t.find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(t.len()),
    );
    let n: f64 = num
        .parse()
        .map_err(|_| anyhow::anyhow!("{s:?} is not a duration such as 30s, 2m or 1h"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => bail!("{s:?} is not a duration such as 30s, 2m or 1h"),
    };
    if !secs.is_finite() || secs < 0.0 {
        bail!("{s:?} is not a duration such as 30s, 2m or 1h");
    }
    // A load runs at most a year (an execution's own limit on AWS).
    if secs > 365.0 * 24.0 * 3600.0 {
        bail!("{s:?} is longer than a year, the longest an execution may run");
    }
    Ok(Duration::from_secs_f64(secs))
}

pub fn run(a: LoadArgs, db_flag: Option<&Path>) -> Result<i32> {
    // The load shape is checked before anything runs.
    let ramp_up = parse_duration(&a.ramp_up).context("--ramp-up")?;
    let hold = parse_duration(&a.duration).context("--duration")?;
    if hold.is_zero() {
        bail!("--duration must be longer than 0 s: it is how long the target load is held");
    }
    if a.target_concurrency == 0 || a.target_concurrency > 1000 {
        bail!(
            "--target-concurrency must be from 1 to 1000, not {}",
            a.target_concurrency
        );
    }
    let step = a.step.unwrap_or((a.target_concurrency / 10).max(1));
    if step == 0 || step > a.target_concurrency {
        bail!(
            "--step must be from 1 to --target-concurrency ({})",
            a.target_concurrency
        );
    }
    // An HTML report that could not be written is found out now, not after the load (a file
    // made only to find out is removed again).
    if let Some(path) = &a.html {
        let existed = path.exists();
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot write the HTML report {}", path.display()))?;
        if !existed {
            let _ = std::fs::remove_file(path);
        }
    }
    if !(0.0..=1.0).contains(&a.api_error_rate) {
        bail!(
            "--api-error-rate must be from 0 to 1, not {}",
            a.api_error_rate
        );
    }
    // ArrayRange makes the reads: at most 1000 items.
    if a.fetches > 1000 {
        bail!("--fetches must be from 0 to 1000, not {}", a.fetches);
    }
    if f64::from(a.wait_seconds) > hold.as_secs_f64() {
        bail!(
            "--wait-seconds ({}) is longer than --duration ({}): each order workflow would outlast the load; give a shorter --wait-seconds or a longer --duration",
            a.wait_seconds,
            seconds(hold)
        );
    }
    if a.api.is_some() && (a.api_latency_ms.is_some() || a.api_error_rate > 0.0) {
        bail!("--api-latency-ms and --api-error-rate shape the bundled pizza API; they do nothing with --api");
    }
    let latency: pizza_api::Latency = match &a.api_latency_ms {
        None => pizza_api::Latency::None,
        Some(l) => l
            .parse()
            .map_err(|e| anyhow::anyhow!("--api-latency-ms {l:?}: {e}"))?,
    };
    let store = Arc::new(db::open(db_flag)?);

    // The pizza API: bundled, on a thread (and runtime) of its own so that its cost shows apart.
    let (api_base, server) = match &a.api {
        Some(url) => (url.trim_end_matches('/').to_string(), None),
        None => {
            let s = BundledApi::start(pizza_api::Config {
                latency,
                error_rate: a.api_error_rate,
                db_path: None,
                seed: None,
            })?;
            (s.base.clone(), Some(s))
        }
    };
    check_reachable(&api_base)?;

    let work = tempfile::tempdir().context("cannot create a temporary folder")?;
    let order_file = work.path().join("order.asl.json");
    std::fs::write(&order_file, ORDER)?;
    let subs = vec![
        (
            "OrderApiBaseUrl".to_string(),
            format!("{api_base}/order-api"),
        ),
        (
            "AdminApiBaseUrl".to_string(),
            format!("{api_base}/admin-api"),
        ),
        ("ConnectionArn".to_string(), CONNECTION.to_string()),
    ];
    let mut config = Config::default();
    config.machines.insert(
        "OrderWorkflow".into(),
        Machine {
            definition: order_file,
            subs: Vec::new(),
            express: None,
        },
    );
    config.run_subs = subs.clone();
    let resources = Arc::new(Resources::new(None, config));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock { scale: 1.0 });
    let progress = Arc::new(Progress::default());
    let host = Host::with_progress(store.clone(), resources, clock, Some(progress.clone()))?;

    let def = Definition::from_json(RAMP).context("the bundled ramp workflow")?;
    let now = Utc::now();
    let iso = |d: Duration| {
        (now + chrono::Duration::from_std(d).unwrap_or_default())
            .to_rfc3339_opts(SecondsFormat::Millis, true)
    };
    let input = json!({
        "targetConcurrency": a.target_concurrency,
        "step": step,
        "rampUpDuration": ramp_up.as_secs_f64(),
        "duration": hold.as_secs_f64(),
        "rampUntil": iso(ramp_up),
        "holdUntil": iso(ramp_up + hold),
        "target": {
            "stateMachineArn": asl::exec::state_machine_arn("OrderWorkflow"),
            "input": {"waitSeconds": a.wait_seconds, "fetches": a.fetches}
        }
    });
    // To the millisecond, so that two loads started in the same second do not collide.
    let name = format!("load-{}", now.format("%Y%m%d-%H%M%S-%3f"));
    let options = launch::Options {
        subs,
        mock_config: None,
        test_case: None,
        resources: None,
        wait_scale: 1.0,
    };
    let mut record = launch::new_record(RAMP, MACHINE, &name, &input, &options, None);
    // Marks the run as a load's: it cannot be resumed in another process.
    record.options["load"] = json!(true);
    store.put_state_machine(&record.state_machine_arn, MACHINE, RAMP)?;
    store.insert_execution(&record)?;
    eprintln!(
        "asl load: {} order workflow{} at most, ramp {} then hold {}, against {api_base}",
        a.target_concurrency,
        if a.target_concurrency == 1 { "" } else { "s" },
        seconds(ramp_up),
        seconds(hold)
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let local = tokio::task::LocalSet::new();
    let started = Instant::now();
    let bar = indicatif::ProgressBar::new_spinner();
    let outcome = local.block_on(&rt, async {
        let ticker = {
            let bar = bar.clone();
            let p = progress.clone();
            // On a terminal a live line; elsewhere (CI logs) a plain line every 5 s.
            let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
            tokio::task::spawn_local(async move {
                let mut last = (0u64, Instant::now());
                let mut printed = (0u64, Instant::now());
                loop {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    let done = Progress::get(&p.tasks_ended);
                    let rps = (done - last.0) as f64 / last.1.elapsed().as_secs_f64().max(1e-3);
                    last = (done, Instant::now());
                    // The load's own execution runs throughout: not one of the order workflows.
                    let running = (Progress::get(&p.executions_started)
                        - Progress::get(&p.executions_ended))
                    .saturating_sub(1);
                    let msg = format!(
                        "{:>6.1}s  order workflows {} running / {} done  requests {} in flight  {:.0} req/s  errors {}",
                        started.elapsed().as_secs_f64(),
                        running,
                        Progress::get(&p.executions_ended),
                        Progress::get(&p.tasks_started) - Progress::get(&p.tasks_ended),
                        rps,
                        Progress::get(&p.tasks_failed),
                    );
                    if tty {
                        bar.set_message(msg);
                        bar.tick();
                    } else if printed.1.elapsed() >= Duration::from_secs(5) {
                        // The rate over the 5 s since the last line, not the last tick's.
                        let rate = (done - printed.0) as f64 / printed.1.elapsed().as_secs_f64();
                        let msg = msg.replace(&format!("{rps:.0} req/s"), &format!("{rate:.0} req/s"));
                        eprintln!("asl load: {}", msg.trim_start());
                        printed = (done, Instant::now());
                    }
                }
            })
        };
        // Ctrl-C stops the load as `asl stop` would (the report follows); a second one quits.
        let interrupt = {
            let store = store.clone();
            let arn = record.arn.clone();
            tokio::task::spawn_local(async move {
                let mut times = 0;
                while tokio::signal::ctrl_c().await.is_ok() {
                    times += 1;
                    if times > 1 {
                        std::process::exit(130);
                    }
                    eprintln!("\nasl load: stopping; the report follows (Ctrl-C again quits at once)");
                    if let Err(e) = store.request_stop(&arn, "", "") {
                        eprintln!("asl load: cannot stop: {e}");
                        std::process::exit(130);
                    }
                }
            })
        };
        let outcome = host
            .execute(Job {
                def: std::rc::Rc::new(def),
                machine_name: MACHINE.into(),
                execution_name: name.clone(),
                input,
                start_time: Some(record.start),
                resume: None,
                parent_stop: None,
                resources: None,
                express: None,
                role_arn: None,
            })
            .await;
        host.wait_for_children().await;
        ticker.abort();
        interrupt.abort();
        outcome
    });
    bar.finish_and_clear();
    host.writer().flush().context("cannot store the history")?;
    let api_stats = server.map(|s| s.stop());

    let report = crate::commands::report::build(&store, &outcome.execution_arn)?;
    // Written after the report is printed, so that an unwritable path loses nothing.
    let html = a
        .html
        .as_ref()
        .map(|path| {
            std::fs::write(path, crate::html::page(&report))
                .with_context(|| format!("cannot write the HTML report {}", path.display()))
        })
        .transpose();
    if a.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({"execution": outcome.execution_arn,
                "status": outcome.status.as_str(), "report": report,
                "api": api_stats.and_then(|s| s.ok())}))?
        );
    } else {
        outln!("{}  {}", outcome.status.as_str(), outcome.execution_arn);
        out!("{}", crate::commands::report::text(&report));
        if let Some(Ok(s)) = &api_stats {
            outln!("The pizza API counted {} requests.", s["totalRequests"]);
        }
        if let (Some(path), Ok(Some(()))) = (&a.html, &html) {
            outln!("HTML report: {}", path.display());
        }
        outln!(
            "Details: asl report {}  |  asl history {}",
            outcome.name,
            outcome.name
        );
    }
    html?;
    // A load whose requests all failed (or that made none) did not test anything.
    let (requests, failures) = (report.total.requests, report.total.failures);
    let useless = requests == 0 || failures == requests;
    if requests == 0 {
        eprintln!("asl load: warning: no request was made: the order workflows failed before their first (asl report {} shows why)", outcome.name);
    } else if failures > 0 {
        eprintln!(
            "asl load: {}{failures} of {requests} requests failed (see the failures above)",
            if useless { "warning: " } else { "" }
        );
    }
    Ok(i32::from(
        outcome.status != asl::exec::Status::Succeeded || useless,
    ))
}

/// `10s`, `1.5s`.
fn seconds(d: Duration) -> String {
    format!("{}s", (d.as_secs_f64() * 1000.0).round() / 1000.0)
}

/// Fails at once, with a clear message, when nothing answers at the API's address.
fn check_reachable(base: &str) -> Result<()> {
    let url = reqwest_free_parse(base)?;
    std::net::TcpStream::connect_timeout(&url, Duration::from_secs(2))
        .map(|_| ())
        .with_context(|| format!("the pizza API at {base} is not reachable"))
}

fn reqwest_free_parse(base: &str) -> Result<std::net::SocketAddr> {
    use std::net::ToSocketAddrs;
    let rest = base
        .strip_prefix("http://")
        .ok_or_else(|| anyhow::anyhow!("--api {base:?} must be an http:// URL"))?;
    let host = rest.split('/').next().unwrap_or(rest);
    let with_port = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:80")
    };
    with_port
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| anyhow::anyhow!("--api {base:?}: cannot resolve {host}"))
}

/// The bundled pizza API on a thread of its own.
struct BundledApi {
    base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    /// Its request counters, sent when it is told to stop (before it shuts down).
    stats: std::sync::mpsc::Receiver<Option<serde_json::Value>>,
}

impl BundledApi {
    fn start(config: pizza_api::Config) -> Result<BundledApi> {
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (stats_tx, stats) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async move {
                let server = match pizza_api::start(config, "127.0.0.1:0".parse().ok()?).await {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                        return None;
                    }
                };
                let _ = tx.send(Ok(server.url()));
                let _ = stopped.await;
                let _ = stats_tx.send(serde_json::to_value(server.stats()).ok());
                let _ = server.shutdown().await;
                Some(())
            })
        });
        let base = rx
            .recv()
            .map_err(|_| anyhow::anyhow!("the bundled pizza API did not start"))?
            .map_err(|e| anyhow::anyhow!("the bundled pizza API did not start: {e}"))?;
        Ok(BundledApi {
            base: base.trim_end_matches('/').to_string(),
            stop,
            stats,
        })
    }

    /// Its counters; its shutdown (which waits for open connections) is not waited for: the
    /// process ends anyway.
    fn stop(self) -> Result<serde_json::Value> {
        let _ = self.stop.send(());
        self.stats
            .recv_timeout(Duration::from_secs(5))
            .ok()
            .flatten()
            .ok_or_else(|| anyhow::anyhow!("the bundled pizza API did not report its stats"))
    }
}
