//! `asl run WORKFLOW`: one execution, stored with its history, printed for people or as
//! DescribeExecution-shaped JSON.

use crate::args::RunArgs;
use crate::launch::{self, Launch, Options};
use crate::{db, load};
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::path::Path;

pub fn run(a: RunArgs, db_flag: Option<&Path>) -> Result<i32> {
    // Up to a thousand times as long: past that a Wait of seconds would outlast the machine.
    if !(0.0..=1000.0).contains(&a.wait_scale) {
        bail!(
            "--wait-scale must be a number from 0 to 1000, not {}",
            a.wait_scale
        );
    }
    let subs = load::parse_subs(&a.subs)?;
    let (def, def_text) = load::definition_with_text(&a.workflow, &subs)?;
    let input_text = match (&a.input, &a.input_file) {
        (Some(t), _) => t.clone(),
        (None, Some(f)) if f.as_os_str() == "-" => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                .context("cannot read the input from standard input")?;
            text
        }
        (None, Some(f)) => load::read(f)?,
        (None, None) => "{}".to_string(),
    };
    let input: Value = serde_json::from_str(&input_text).with_context(|| match &a.input_file {
        Some(f) if f.as_os_str() == "-" => "the input on standard input is not valid JSON".into(),
        Some(f) => format!("the input in {} is not valid JSON", f.display()),
        None => "--input is not valid JSON".to_string(),
    })?;
    // StartExecution's `input` has "Maximum length of 262144": AWS refuses the call, and no
    // execution starts. The input as it would be sent: its text.
    let size = input_text.trim().len();
    if size > asl::exec::MAX_PAYLOAD_BYTES {
        anyhow::bail!(
            "the input is {size} bytes: StartExecution takes at most {} (AWS's limit), so no execution was started",
            asl::exec::MAX_PAYLOAD_BYTES
        );
    }
    let machine_name = a
        .state_machine_name
        .clone()
        .unwrap_or_else(|| load::machine_name(&a.workflow));
    let buckets = asl::resources::items::Buckets::parse(&a.buckets).map_err(anyhow::Error::msg)?;
    launch::set_buckets(buckets);
    let options = Options {
        subs: subs.clone(),
        mock_config: a
            .mock_config
            .as_ref()
            .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()))
            .map(|p| p.display().to_string()),
        test_case: a.test_case.clone(),
        resources: resources_file(&a).map(|p| p.display().to_string()),
        wait_scale: a.wait_scale,
    };
    // Check the mocks and resources before anything is stored.
    options.mocks(&machine_name)?;
    options.resources()?;
    if let Some(n) = &a.name {
        check_name(n, "--name")?;
    }
    // A state machine's name follows the same rules (CreateStateMachine's `name`).
    check_name(
        &machine_name,
        if a.state_machine_name.is_some() {
            "--state-machine-name"
        } else {
            "the state machine name (the file's name; --state-machine-name gives another)"
        },
    )?;
    let execution_name = a.name.clone().unwrap_or_else(random_uuid);
    if a.log_level != "ALL" && a.execution_type != "EXPRESS" {
        bail!(
            "--log-level {} applies to EXPRESS runs (--type EXPRESS): a STANDARD execution keeps its whole history",
            a.log_level
        );
    }
    let express = (a.execution_type == "EXPRESS").then(|| {
        let level = asl::history::level::LogLevel::parse(&a.log_level)
            .unwrap_or(asl::history::level::LogLevel::All);
        (
            asl::exec::express_execution_arn(&machine_name, &execution_name),
            level,
        )
    });
    if express.is_some() {
        let refused = asl::definition::express_refusals(&def.source);
        if !refused.is_empty() {
            for (pointer, resource) in &refused {
                eprintln!(
                    "{}: {pointer}: an EXPRESS state machine does not support the service integration pattern of {resource:?} (.sync, .waitForTaskToken and activities are STANDARD's)",
                    a.workflow.display()
                );
            }
            return Ok(2);
        }
    }
    let record = launch::new_record(
        &def_text,
        &machine_name,
        &execution_name,
        &input,
        &options,
        express.as_ref().map(|(arn, _)| arn.as_str()),
    );
    let store = if a.no_store {
        None
    } else {
        let store = db::open(db_flag)?;
        store.put_state_machine(
            &asl::exec::state_machine_arn(&machine_name),
            &machine_name,
            &def_text,
        )?;
        store.insert_execution(&record)?;
        Some(std::sync::Arc::new(store))
    };
    let stored = store.clone();
    let outcome = launch::launch(Launch {
        express,
        start_time: Some(record.start),
        def,
        machine_name,
        execution_name,
        input,
        options: &options,
        resume: None,
        store,
        timing: a.timing,
    })?;
    if let Some(n) = stored.and_then(|s| s.event_count(&outcome.execution_arn).ok()) {
        if n > AWS_MAX_HISTORY_EVENTS {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "asl: warning: this execution recorded {n} history events; on AWS a STANDARD execution fails when its history reaches {AWS_MAX_HISTORY_EVENTS} (a service quota)"
            );
        }
    }
    launch::report(&outcome, a.json)
}

/// AWS's quota on a STANDARD execution's history; asl records past it, and says so.
const AWS_MAX_HISTORY_EVENTS: u64 = 25_000;

/// `--resources`, else `$ASL_RESOURCES`, else `asl-resources.json` beside the workflow.
fn resources_file(a: &RunArgs) -> Option<std::path::PathBuf> {
    let given = a
        .resources
        .clone()
        .or_else(|| std::env::var_os("ASL_RESOURCES").map(Into::into));
    let found = given.or_else(|| {
        let beside = a.workflow.parent()?.join("asl-resources.json");
        beside.exists().then_some(beside)
    })?;
    Some(std::fs::canonicalize(&found).unwrap_or(found))
}

pub fn random_uuid() -> String {
    let b: [u8; 16] = rand::random();
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    // Version 4, variant 10xx.
    let variant = ["8", "9", "a", "b"][usize::from(b[8] & 3)];
    format!(
        "{}-{}-4{}-{}{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        variant,
        &hex[17..20],
        &hex[20..32]
    )
}

/// StartExecution's rules for a name ([`asl::exec::name_problem`]).
fn check_name(name: &str, what: &str) -> anyhow::Result<()> {
    match asl::exec::name_problem(name) {
        Some(p) if p.starts_with("a name") => anyhow::bail!("{what} {name:?}: {p}"),
        Some(p) => anyhow::bail!("{what} {name:?}: {p} (as in AWS's names)"),
        None => Ok(()),
    }
}
