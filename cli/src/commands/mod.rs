//! One command per file; each returns the process exit status.

mod activity;
mod describe;
mod executions;
mod history;
mod jsonata;
mod load;
mod prune;
pub mod report;
mod resume;
mod run;
mod serve;
mod test_state;

pub use run::random_uuid;
pub mod stop;
mod task;
mod validate;

use crate::args::{Cli, Command};
use crate::db;

pub fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    let db_flag = cli.db.as_deref();
    match cli.command {
        Command::Run(a) => run::run(a, db_flag),
        Command::Validate(a) => validate::run(a),
        Command::Executions(a) => executions::run(a, &db::open(db_flag)?),
        Command::Describe(a) => describe::run(a, &db::open(db_flag)?),
        Command::History(a) => history::run(a, &db::open(db_flag)?),
        Command::Stop(a) => stop::run(a, &db::open(db_flag)?),
        Command::Resume(a) => resume::run(a, std::sync::Arc::new(db::open(db_flag)?), false),
        Command::Redrive(a) => resume::run(a, std::sync::Arc::new(db::open(db_flag)?), true),
        Command::Prune(a) => prune::run(a, &db::open(db_flag)?),
        Command::Task(c) => task::run(c, &db::open(db_flag)?),
        Command::Activity(c) => activity::run(c, &db::open(db_flag)?),
        Command::Serve(a) => serve::run(a, db::open(db_flag)?),
        Command::TestState(a) => test_state::run(a),
        Command::Report(a) => report::run(a, &db::open(db_flag)?),
        Command::Load(a) => load::run(a, db_flag),
        Command::Jsonata(a) => jsonata::run(a),
    }
}
