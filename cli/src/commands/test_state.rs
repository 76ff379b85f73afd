//! `asl test-state FILE`: one state run on its own, as TestState (see `test_state.rs`).

use crate::args::TestStateArgs;
use crate::launch::Options;
use anyhow::Context;
use asl::resources::Resources;
use std::sync::Arc;

pub fn run(a: TestStateArgs) -> anyhow::Result<i32> {
    if !(0.0..=1000.0).contains(&a.wait_scale) {
        anyhow::bail!(
            "--wait-scale {}: give a number from 0 to 1000",
            a.wait_scale
        );
    }
    let definition = crate::load::read(&a.definition)?;
    let input_text = match (&a.input, &a.input_file) {
        (Some(t), _) => t.clone(),
        (None, Some(f)) => crate::load::read(f)?,
        (None, None) => "{}".into(),
    };
    let input = serde_json::from_str(&input_text).context("the input is not valid JSON")?;
    let options = Options {
        subs: Vec::new(),
        mock_config: None,
        test_case: None,
        resources: a.resources.map(|p| p.display().to_string()),
        wait_scale: a.wait_scale,
    };
    let resources = Arc::new(Resources::new(None, options.resources()?));
    let mock: Option<serde_json::Value> = match &a.mock {
        None => None,
        Some(t) => Some(serde_json::from_str(t).context("--mock is not valid JSON")?),
    };
    let req = crate::test_state::Request {
        definition: &definition,
        state_name: a.state_name.as_deref(),
        input,
        inspection_level: &a.inspection_level,
        // Tasks run with the resources file here: no role to give.
        role_given: true,
        retries_made: a.retrier_retry_count,
        mock: mock.as_ref(),
        context: a.context.as_deref(),
        reveal_secrets: false,
        map_iteration_failures: a.map_iteration_failure_count,
        variables: match &a.variables {
            None => None,
            Some(t) => match serde_json::from_str(t).context("--variables is not valid JSON")? {
                serde_json::Value::Object(m) => Some(m),
                _ => anyhow::bail!("--variables must be a JSON object"),
            },
        },
    };
    let v = crate::test_state::test_state(&req, resources, a.wait_scale, None)
        .map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message))?;
    outln!("{}", serde_json::to_string_pretty(&v)?);
    Ok(match v["status"].as_str() {
        Some("SUCCEEDED" | "CAUGHT_ERROR") => 0,
        _ => 1,
    })
}
