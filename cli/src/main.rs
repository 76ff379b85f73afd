//! The `asl` command: flags parsed into plain structs, one command per file, errors printed
//! once at the edge. Exit status: 0 success, 1 an execution that did not succeed, 2 bad input.

mod args;
mod commands;
mod db;
mod host;
mod html;
mod launch;
mod load;
mod render;

use clap::Parser;

// Most of an execution's time is allocation of small JSON values; mimalloc halves it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = args::Cli::parse();
    let code = match commands::dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("asl: error: {e:#}");
            2
        }
    };
    std::process::exit(code);
}
