//! The twofactl binary: parse the command line, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Ctrl-C: while nothing is at stake, restore the terminal and exit at once (every write
    // is one SQLite transaction, which the journal undoes); while a run holds the interrupt,
    // it only raises a flag and the run reports what committed (see twofactl::interrupt).
    let interrupt = twofactl::interrupt::Interrupt::new(twofactl::prompt::terminal_restorer());
    let handler = interrupt.clone();
    let _ = ctrlc::set_handler(move || {
        if let Some(code) = handler.on_signal() {
            std::process::exit(i32::from(code as u8));
        }
    });
    let cli = twofactl::cli::Cli::parse();
    let json = cli.global.format == twofactl::cli::Format::Json;
    twofactl::error::report(twofactl::run(cli, interrupt), json)
}
