//! `asl task success|failure|heartbeat TOKEN`: SendTaskSuccess, SendTaskFailure and
//! SendTaskHeartbeat, through the database, so the waiting execution may run in any process.

use crate::args::TaskCommand;
use anyhow::Context;
use asl::history::store::{Store, TokenOutcome};

pub fn run(c: TaskCommand, store: &Store) -> anyhow::Result<i32> {
    let (token, outcome) = match c {
        TaskCommand::Success { token, output } => {
            let v = serde_json::from_str(&output).context("--output is not valid JSON")?;
            (token, TokenOutcome::Success(v))
        }
        TaskCommand::Failure {
            token,
            error,
            cause,
        } => (token, TokenOutcome::Failure { error, cause }),
        TaskCommand::Heartbeat { token } => (token, TokenOutcome::Heartbeat),
    };
    store.complete_token(&token, outcome, asl::history::store::owner_alive)?;
    Ok(0)
}
