//! One command per file; each returns the process exit status.

mod run;
mod validate;

use crate::args::{Cli, Command};

pub fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Run(a) => run::run(a),
        Command::Validate(a) => validate::run(a),
    }
}
