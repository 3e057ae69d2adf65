//! The twofactl binary: parse the command line, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Ctrl-C: exit 130 at once. Every write is one SQLite transaction, so stopping at any
    // instant leaves either the whole change or none of it (the journal rolls back).
    let restore = twofactl::prompt::terminal_restorer();
    let _ = ctrlc::set_handler(move || {
        restore();
        std::process::exit(130)
    });
    let cli = twofactl::cli::Cli::parse();
    twofactl::error::report(twofactl::run(cli))
}
