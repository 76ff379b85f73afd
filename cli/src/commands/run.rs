//! `asl run WORKFLOW`: one execution, printed for people or as DescribeExecution JSON.

use crate::args::RunArgs;
use crate::load;
use anyhow::{bail, Context, Result};
use asl::exec::{self, Services, StartRequest, Status, SystemClock};
use asl::history::{HistorySink, MemoryHistory, NullHistory};
use asl::resources::{mock::MockSet, Resources};
use chrono::SecondsFormat;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;

pub fn run(a: RunArgs) -> Result<i32> {
    if !(a.wait_scale >= 0.0 && a.wait_scale.is_finite()) {
        bail!(
            "--wait-scale must be a number at least 0, not {}",
            a.wait_scale
        );
    }
    let subs = load::parse_subs(&a.subs)?;
    let def = load::definition_or_bail(&a.workflow, &subs)?;
    let input_text = match (&a.input, &a.input_file) {
        (Some(t), _) => t.clone(),
        (None, Some(f)) => load::read(f)?,
        (None, None) => "{}".to_string(),
    };
    let input: Value = serde_json::from_str(&input_text).with_context(|| match &a.input_file {
        Some(f) => format!("the input in {} is not valid JSON", f.display()),
        None => "--input is not valid JSON".to_string(),
    })?;
    let machine_name = a
        .state_machine_name
        .clone()
        .unwrap_or_else(|| load::machine_name(&a.workflow));
    let mocks = match &a.mock_config {
        None => None,
        Some(f) => {
            let text = load::read(f)?;
            let cfg: Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not valid JSON", f.display()))?;
            Some(
                MockSet::from_config(&cfg, Some(&machine_name), a.test_case.as_deref())
                    .with_context(|| format!("mock config {}", f.display()))?,
            )
        }
    };
    let memory = Arc::new(MemoryHistory::new());
    let history: Arc<dyn HistorySink> = if a.history {
        memory.clone()
    } else {
        Arc::new(NullHistory::default())
    };
    let services = Services {
        clock: Arc::new(SystemClock {
            scale: a.wait_scale,
        }),
        resources: Arc::new(Resources { mocks }),
        history,
    };
    let req = StartRequest {
        state_machine_name: machine_name,
        execution_name: a.name.clone().unwrap_or_else(random_uuid),
        input,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .context("cannot start the runtime")?;
    let started = Instant::now();
    let outcome = rt.block_on(exec::execute(&def, req, &services));
    if a.timing {
        eprintln!(
            "@@bench {}",
            json!({"exec_s": started.elapsed().as_secs_f64()})
        );
    }
    if a.history {
        let events: Vec<Value> = memory.events().iter().map(|e| e.to_aws()).collect();
        eprintln!(
            "{}",
            serde_json::to_string_pretty(&json!({"events": events}))?
        );
    }
    let iso = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    if a.json {
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
        println!("{}", serde_json::to_string(&v)?);
    } else {
        println!("{}  {}", outcome.status.as_str(), outcome.execution_arn);
        match outcome.status {
            Status::Succeeded => {
                if let Some(o) = &outcome.output {
                    println!("{}", serde_json::to_string_pretty(o)?);
                }
            }
            _ => {
                println!("error: {}", outcome.error.as_deref().unwrap_or(""));
                println!("cause: {}", outcome.cause.as_deref().unwrap_or(""));
            }
        }
    }
    Ok(if outcome.status == Status::Succeeded {
        0
    } else {
        1
    })
}

fn random_uuid() -> String {
    let b: [u8; 16] = rand::random();
    format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-4{:01x}{:02x}-{:01x}{:01x}{:02x}-{}",
        b[0],
        b[1],
        b[2],
        b[3],
        b[4],
        b[5],
        b[6] & 0x0f,
        b[7],
        8 | (b[8] & 0x3),
        b[8] >> 4,
        b[9],
        b[10..16]
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect::<String>()
    )
}
