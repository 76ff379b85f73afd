//! The `asl` command: flags parsed into plain structs, one command per file, errors printed
//! once at the edge. Exit status: 0 success, 1 an execution that did not succeed, 2 bad input.

/// `println!` for the command's output: when stdout is closed early (`asl history X | head`)
/// the process ends quietly with 141, as a pipe's writer killed by SIGPIPE does, instead of
/// panicking; any other write error is a clear error (exit 2). Nothing stored is affected: the
/// output is printed after the work is saved.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            $crate::output_failed(e);
        }
    }};
}

/// `print!` with [`outln!`]'s handling of a closed stdout.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = write!(std::io::stdout().lock(), $($arg)*) {
            $crate::output_failed(e);
        }
    }};
}

mod api;
mod args;
mod commands;
mod db;
mod host;
mod html;
mod launch;
mod load;
mod render;
mod serve;
mod test_state;

use clap::Parser;

// Most of an execution's time is allocation of small JSON values; mimalloc halves it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Ends the process after stdout failed (see [`outln!`]).
fn output_failed(e: std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(141);
    }
    eprintln!("asl: error: writing the output: {e}");
    std::process::exit(2);
}

fn main() {
    // An empty ASL_DB (`ASL_DB= asl ...`) means no database was named, as an unset one does,
    // rather than an empty --db the user never typed.
    if std::env::var_os("ASL_DB").is_some_and(|v| v.is_empty()) {
        std::env::remove_var("ASL_DB");
    }
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
