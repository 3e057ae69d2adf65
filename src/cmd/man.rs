//! `man [DIR]`: write the man pages (the same as the committed ones under `man/`, from the
//! clap definition and the configuration reference) into DIR/man1 and DIR/man5, or print
//! twofactl(1) on stdout.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use crate::cli::ManArgs;
use crate::output;

pub fn run(args: &ManArgs, quiet: bool) -> Result<()> {
    let pages = crate::generate::man_pages();
    let Some(dir) = &args.dir else {
        let (_, main) = pages
            .iter()
            .find(|(path, _)| path == "man/twofactl.1")
            .expect("the main page is generated");
        let mut out = output::stdout();
        out.write_all(main.as_bytes())?;
        out.flush()?;
        return Ok(());
    };
    for (path, text) in &pages {
        let name = Path::new(path).file_name().expect("a page has a name");
        let section = Path::new(path)
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("1");
        let sub = dir.join(format!("man{section}"));
        std::fs::create_dir_all(&sub)
            .with_context(|| format!("could not create {}", sub.display()))?;
        let dest = sub.join(name);
        std::fs::write(&dest, text)
            .with_context(|| format!("could not write {}", dest.display()))?;
    }
    if !quiet {
        eprintln!(
            "wrote {} man pages under {}; if it is not on the MANPATH: export MANPATH=\"{}:$MANPATH\"",
            pages.len(),
            dir.display(),
            dir.display()
        );
    }
    Ok(())
}
