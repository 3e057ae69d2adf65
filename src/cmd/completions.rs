//! `completions SHELL`: print the completion script, the same as the committed one under
//! `completions/` (both come from the clap definition).

use std::io::Write;

use anyhow::Result;

use crate::cli::CompletionsArgs;
use crate::output;

pub fn run(args: &CompletionsArgs) -> Result<()> {
    let mut out = output::stdout();
    out.write_all(crate::generate::completion(args.shell).as_bytes())?;
    out.flush()?;
    Ok(())
}
