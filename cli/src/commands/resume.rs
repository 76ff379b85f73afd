//! `asl resume EXEC` (an interrupted RUNNING execution) and `asl redrive EXEC` (a FAILED,
//! TIMED_OUT or ABORTED one): run it again from its stored history, replaying what completed.

use crate::args::ResumeArgs;
use crate::commands::stop::{abort_gone, owned};
use crate::launch::{self, Launch, Options};
use crate::load;
use anyhow::{bail, Context};
use asl::history::store::Store;
use asl::Definition;
use std::path::Path;

pub fn run(a: ResumeArgs, store: std::sync::Arc<Store>, redrive: bool) -> anyhow::Result<i32> {
    let r = store.find_execution(&a.execution)?;
    // A load ran against a pizza API and an order workflow that lived in its own process.
    if r.options["load"] == true {
        bail!(
            "{} is an `asl load` run: its pizza API and order workflow were its process's, so it cannot be {}; `asl stop` ends what is left of it, and a new `asl load` starts another",
            r.arn,
            if redrive { "redriven" } else { "resumed" }
        );
    }
    // AWS: "You can't redrive Express workflow executions"; nor is what their log level
    // kept enough to resume one.
    if r.arn.contains(":express:") {
        if redrive {
            bail!(
                "ExecutionNotRedrivable: {} is an EXPRESS execution, which AWS does not redrive",
                r.arn
            );
        }
        bail!(
            "{} is an EXPRESS execution: its history keeps only what its log level logs, so it cannot be resumed",
            r.arn
        );
    }
    if redrive {
        match r.redrive_status(chrono::Utc::now()) {
            ("REDRIVABLE", _) => {}
            ("REDRIVABLE_BY_MAP_RUN", _) => bail!(
                "ExecutionNotRedrivable: {} is a child of a Distributed Map's Map Run: redrive its parent{}",
                r.arn,
                r.parent_arn
                    .as_deref()
                    .map(|p| format!(" ({p})"))
                    .unwrap_or_default()
            ),
            (_, reason) => bail!(
                "ExecutionNotRedrivable: {}: {} (only FAILED, TIMED_OUT or ABORTED executions of the last {} days can be redriven)",
                r.arn,
                reason.unwrap_or_default(),
                asl::history::store::REDRIVE_PERIOD_DAYS
            ),
        }
    } else {
        if r.status != "RUNNING" {
            bail!(
                "{} is {}, not interrupted: resume continues RUNNING executions whose process stopped (use redrive for failed ones)",
                r.arn,
                r.status
            );
        }
        if let Some(pid) = r.owner_pid.filter(|_| owned(&r)) {
            bail!("{} is still running in process {pid}", r.arn);
        }
        // `asl stop` asked its process to stop it, and the process ended (or was frozen and
        // then killed) before it did: the stop stands, as StopExecution's would.
        if let Some((error, cause)) = store.pending_stop(&r.arn)? {
            abort_gone(&store, &r, error.as_deref(), cause.as_deref())?;
            let now = store.get_execution(&r.arn)?;
            eprintln!(
                "asl: {} was asked to stop before its process ended: it is {} now, not resumed",
                r.arn, now.status
            );
            if a.json {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&crate::render::describe(&now))?
                );
            } else {
                outln!("{}  {}", now.status, r.arn);
            }
            return Ok(1);
        }
    }
    if r.definition.is_empty() {
        bail!(
            "the stored definition of {} is missing: the database is damaged",
            r.arn
        );
    }
    let def = Definition::from_json(&r.definition)
        .map_err(|e| load::definition_error(Path::new(&r.state_machine_name), e))?;
    let input = serde_json::from_str(&r.input).context("the stored input is not JSON")?;
    let options = Options::from_json(&r.options);
    let resume = crate::host::take_over(&store, &r, redrive)?;
    let outcome = launch::launch(Launch {
        express: None,
        start_time: None,
        def,
        machine_name: r.state_machine_name.clone(),
        execution_name: r.name.clone(),
        input,
        options: &options,
        resume: Some(resume),
        store: Some(store),
        timing: false,
    })?;
    launch::report(&outcome, a.json)
}
