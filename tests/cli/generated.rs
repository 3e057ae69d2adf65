//! The committed completions and man pages are what the code generates; the scripts load in
//! their shells and the pages pass `mandoc -Tlint` where those tools are installed.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Compare (or, with UPDATE_GENERATED=1, rewrite) every generated file.
#[track_caller]
fn check_generated(files: Vec<(String, String)>) {
    let update = std::env::var_os("UPDATE_GENERATED").is_some();
    let mut stale = Vec::new();
    for (rel, want) in files {
        let path = root().join(&rel);
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != want {
            if update {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &want).unwrap();
            } else {
                stale.push(rel);
            }
        }
    }
    assert!(
        stale.is_empty(),
        "{} is stale; run `UPDATE_GENERATED=1 cargo test`",
        stale.join(", ")
    );
}

#[test]
fn completions_are_up_to_date() {
    check_generated(twofactl::generate::completions());
}

#[test]
fn the_readme_configuration_table_is_up_to_date() {
    let path = root().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (begin, end) = ("<!-- config-table:begin -->\n", "<!-- config-table:end -->");
    let a = readme
        .find(begin)
        .expect("README has the config table markers")
        + begin.len();
    let b = readme[a..].find(end).expect("README has the end marker") + a;
    let want = twofactl::generate::config_table();
    if readme[a..b] != want {
        assert!(
            std::env::var_os("UPDATE_GENERATED").is_some(),
            "README.md's configuration table is stale; run `UPDATE_GENERATED=1 cargo test`"
        );
        std::fs::write(&path, format!("{}{want}{}", &readme[..a], &readme[b..])).unwrap();
    }
}

#[test]
fn man_pages_are_up_to_date() {
    check_generated(twofactl::generate::man_pages());
}

#[test]
fn every_subcommand_has_a_man_page_with_exit_status() {
    use clap::CommandFactory;
    let cmd = twofactl::cli::Cli::command();
    for sub in cmd.get_subcommands() {
        let page = root().join(format!("man/twofactl-{}.1", sub.get_name()));
        let text =
            std::fs::read_to_string(&page).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
        for section in [
            "EXIT STATUS",
            "ENVIRONMENT",
            "FILES",
            "EXAMPLES",
            "SEE ALSO",
        ] {
            assert!(
                text.contains(&format!(".SH \"{section}\""))
                    || text.contains(&format!(".SH {section}")),
                "{} lacks {section}",
                page.display()
            );
        }
        assert!(
            text.contains("130"),
            "{} lacks the exit codes",
            page.display()
        );
    }
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
#[ignore = "needs mandoc (.ci/run installs it)"]
fn man_pages_pass_mandoc_lint() {
    assert!(have("mandoc"), "mandoc is not installed");
    for entry in std::fs::read_dir(root().join("man")).unwrap() {
        let path = entry.unwrap().path();
        let out = Command::new("mandoc")
            .args(["-Tlint", "-W", "warning"])
            .arg(&path)
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            report.trim().is_empty() && out.status.success(),
            "{}:\n{report}",
            path.display()
        );
    }
}

#[track_caller]
fn run_shell(shell: &str, script: &str) -> String {
    let out = Command::new(shell)
        .args(["-c", script])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{shell}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn bash_completion_completes_subcommands_and_values() {
    let out = run_shell(
        "bash",
        "source completions/twofactl.bash
         COMP_WORDS=(twofactl adm); COMP_CWORD=1; _twofactl twofactl adm twofactl; echo \"${COMPREPLY[@]}\"
         COMP_WORDS=(twofactl list-users --status ''); COMP_CWORD=3; _twofactl twofactl '' --status; echo \"${COMPREPLY[@]}\"",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0].trim(), "admin-reset", "{out}");
    assert!(
        lines[1].contains("enabled")
            && lines[1].contains("pending")
            && lines[1].contains("disabled"),
        "{out}"
    );
}

#[test]
#[ignore = "needs zsh (.ci/run installs it)"]
fn zsh_loads_its_script() {
    assert!(have("zsh"), "zsh is not installed");
    run_shell(
        "zsh",
        "autoload -U compinit && compinit -u && source completions/_twofactl && whence -w _twofactl",
    );
}

#[test]
#[ignore = "needs fish (.ci/run installs it)"]
fn fish_loads_its_script() {
    assert!(have("fish"), "fish is not installed");
    let out = run_shell(
        "fish",
        "source completions/twofactl.fish; complete -C 'twofactl list-users --format '",
    );
    assert!(out.contains("csv"), "{out}");
}

#[test]
fn readme_lists_every_exit_code() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for (code, _) in twofactl::generate::EXIT_CODES {
        assert!(
            readme.contains(&format!("| {code} ")),
            "README lacks exit code {code}"
        );
    }
}
