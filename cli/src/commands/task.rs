//! `asl task success|failure|heartbeat TOKEN`: SendTaskSuccess, SendTaskFailure and
//! SendTaskHeartbeat, through the database, so the waiting execution may run in any process.

use crate::args::TaskCommand;
use anyhow::Context;
use asl::history::store::{Store, TokenOutcome};

pub fn run(c: TaskCommand, store: &Store) -> anyhow::Result<i32> {
    let (token, outcome) = match c {
        TaskCommand::Success { token, output } => {
            within("output", &output, 262_144)?;
            let v = serde_json::from_str(&output).context("--output is not valid JSON")?;
            (token, TokenOutcome::Success(v))
        }
        TaskCommand::Failure {
            token,
            error,
            cause,
        } => {
            within("error", &error, 256)?;
            within("cause", &cause, 32_768)?;
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
