//! `asl task success|failure|heartbeat TOKEN`: SendTaskSuccess, SendTaskFailure and
//! SendTaskHeartbeat, through the database, so the waiting execution may run in any process.

use crate::args::TaskCommand;
use anyhow::Context;
use asl::history::store::{Store, TokenOutcome};

pub fn run(c: TaskCommand, store: &Store) -> anyhow::Result<i32> {
    let (token, outcome) = match c {
        TaskCommand::Success {
            token,
            output,
            output_file,
        } => {
            let source = match &output_file {
                None => "--output".to_string(),
                Some(f) if f.as_os_str() == "-" => "the output on standard input".to_string(),
                Some(f) => format!("the output in {}", f.display()),
            };
            let output = match output_file {
                None => output,
                Some(f) if f.as_os_str() == "-" => {
                    let mut text = String::new();
                    std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                        .context("cannot read the output from standard input")?;
                    text
                }
                Some(f) => std::fs::read_to_string(&f)
                    .with_context(|| format!("cannot read {}", f.display()))?,
            };
            within("output", &output, 262_144)?;
            let v = serde_json::from_str(&output)
                .with_context(|| format!("{source} is not valid JSON"))?;
            (token, TokenOutcome::Success(v))
        }
        TaskCommand::Failure {
            token,
            error,
            cause,
        } => {
            within("error", error.as_deref().unwrap_or(""), 256)?;
            within("cause", cause.as_deref().unwrap_or(""), 32_768)?;
            (token, TokenOutcome::Failure { error, cause })
        }
        TaskCommand::Heartbeat { token } => (token, TokenOutcome::Heartbeat),
    };
    store.complete_token(&token, outcome, asl::history::store::owner_alive)?;
    Ok(0)
}

/// SendTaskSuccess and SendTaskFailure's length limits (in characters), refused as AWS refuses
/// them rather than cut.
fn within(field: &str, text: &str, max: usize) -> anyhow::Result<()> {
    let n = text.chars().count();
    if n > max {
        anyhow::bail!(
            "ValidationException: 1 validation error detected: Value at '{field}' failed to satisfy constraint: Member must have length less than or equal to {max} (it has {n})"
        );
    }
    Ok(())
}
