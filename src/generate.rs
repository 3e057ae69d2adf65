//! Shell completions and man pages, generated from the clap definition in `cli`. They are
//! committed under `completions/` and `man/`; a test regenerates them in memory and fails
//! when a committed file is stale (`UPDATE_GENERATED=1 cargo test` rewrites them), in the
//! manner of rust-analyzer's codegen checks. Nothing is generated at build time.

use clap::CommandFactory;
use clap_complete::Shell;
use roff::{Roff, bold, italic, roman};

use crate::cli::Cli;

/// The completion script for `shell`.
pub fn completion(shell: Shell) -> String {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "twofactl", &mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// (path relative to the repository, contents) of every completion script.
pub fn completions() -> Vec<(String, String)> {
    [
        (Shell::Bash, "completions/twofactl.bash"),
        (Shell::Zsh, "completions/_twofactl"),
        (Shell::Fish, "completions/twofactl.fish"),
        (Shell::PowerShell, "completions/_twofactl.ps1"),
        (Shell::Elvish, "completions/twofactl.elv"),
    ]
    .into_iter()
    .map(|(shell, path)| (path.to_owned(), completion(shell)))
    .collect()
}

/// The exit codes, as the README lists them.
pub const EXIT_CODES: &[(u8, &str)] = &[
    (
        0,
        "success (for verify and enroll --code: the code was accepted)",
    ),
    (
        1,
        "unexpected failure: I/O error, corrupt or read-only database, bug",
    ),
    (
        2,
        "usage error: bad flags, missing input under --no-input, confirmation refused",
    ),
    (
        3,
        "rejected: wrong password, wrong, expired or spent code, wrong TOTP code",
    ),
    (4, "not found: no such user"),
    (5, "rate limited or locked: too many attempts or requests"),
    (
        6,
        "e-mail could not be delivered; when a change had committed, every committed result is printed and what was not sent waits in the outbox (twofactl outbox send), also after Ctrl-C or a busy database during delivery",
    ),
    (
        7,
        "database busy: the application held its lock past the busy timeout",
    ),
    (
        8,
        "configuration or schema error: missing table or column, bad config value",
    ),
    (
        130,
        "interrupted (Ctrl-C) before anything committed: nothing changed (a key made by enroll stays pending)",
    ),
];

/// Example command lines per page ("" is the main page).
const EXAMPLES: &[(&str, &[(&str, &str)])] = &[
    (
        "",
        &[
            (
                "Try everything on a sandbox, no server needed:",
                "twofactl demo /tmp/twofactl-demo",
            ),
            (
                "Reset one user's 2FA as an administrator:",
                "twofactl admin-reset alice --reason \"lost phone, ticket 4711\" --yes",
            ),
            (
                "Self-service reset, as the helpdesk runs it:",
                "twofactl request-reset alice && twofactl verify alice --enroll --qr-png alice.png",
            ),
        ],
    ),
    (
        "request-reset",
        &[
            (
                "Ask for the password at a prompt:",
                "twofactl request-reset alice",
            ),
            (
                "From a script, the password on stdin:",
                "pass show app/alice | twofactl request-reset alice --password-stdin --format json",
            ),
        ],
    ),
    (
        "verify",
        &[
            ("Check the e-mailed code:", "twofactl verify alice 12345678"),
            (
                "Check it and enrol a new authenticator at once:",
                "twofactl verify alice 12345678 --enroll --qr-png alice.png",
            ),
        ],
    ),
    (
        "enroll",
        &[
            (
                "Show the QR code in the terminal and confirm the first code:",
                "twofactl enroll alice",
            ),
            (
                "Write a PNG for the user; confirm later:",
                "twofactl enroll alice --qr-png alice.png",
            ),
            (
                "Confirm with the code the app shows:",
                "twofactl enroll alice --code 123456",
            ),
        ],
    ),
    (
        "admin-reset",
        &[
            (
                "Reset one user:",
                "twofactl admin-reset alice --reason \"lost phone\" --yes",
            ),
            (
                "Preview a bulk reset:",
                "twofactl admin-reset --from-file users.txt --reason \"phones stolen\" --dry-run",
            ),
            (
                "Bulk reset from a script, with JSON Lines out:",
                "twofactl admin-reset --from-file - --reason \"offboarding\" --yes --format json < users.txt",
            ),
        ],
    ),
    (
        "list-users",
        &[
            (
                "Who has 2FA active:",
                "twofactl list-users --status enabled",
            ),
            (
                "All users as CSV:",
                "twofactl list-users --format csv > users.csv",
            ),
        ],
    ),
    (
        "audit",
        &[
            (
                "The last week's admin resets:",
                "twofactl audit --action admin-reset --since 7d",
            ),
            (
                "One user's history as JSON Lines:",
                "twofactl audit --user alice --format json",
            ),
        ],
    ),
    (
        "outbox",
        &[
            ("What could not be delivered:", "twofactl outbox list"),
            ("Deliver it now:", "twofactl outbox send"),
        ],
    ),
    (
        "doctor",
        &[
            ("Check database and mail server:", "twofactl doctor"),
            (
                "And send one test message:",
                "twofactl doctor --send-test you@example.com",
            ),
        ],
    ),
    (
        "demo",
        &[(
            "Make a sandbox and walk through a reset:",
            "twofactl demo /tmp/twofactl-demo",
        )],
    ),
    (
        "completions",
        &[(
            "Install bash completion for this user:",
            "twofactl completions bash > ~/.local/share/bash-completion/completions/twofactl",
        )],
    ),
    (
        "man",
        &[(
            "Install the manual after cargo install:",
            "twofactl man ~/.local/share/man",
        )],
    ),
];

fn examples(page: &str) -> &'static [(&'static str, &'static str)] {
    EXAMPLES
        .iter()
        .find(|(p, _)| *p == page)
        .map_or(&[], |(_, e)| e)
}

/// The sections clap_mangen does not write: EXIT STATUS, ENVIRONMENT, FILES, EXAMPLES, SEE ALSO.
fn extra_sections(page: &str, pages: &[String]) -> String {
    let mut r = Roff::new();
    r.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in EXIT_CODES {
        r.control("TP", [])
            .text([bold(code.to_string())])
            .text([roman(*meaning)]);
    }
    r.control("SH", ["ENVIRONMENT"]);
    for (var, meaning) in [
        (
            "TWOFACTL_DB",
            "the application's SQLite database (like --db)",
        ),
        ("TWOFACTL_CONFIG", "the config file (like --config)"),
        (
            "TWOFACTL_ACTOR",
            "the application administrator acting (like admin-reset --actor)",
        ),
        (
            "TWOFACTL_SMTP_PASSWORD",
            "the SMTP password (over [smtp] password_file and the application's smtp.password)",
        ),
        (
            "XDG_CONFIG_HOME",
            "where the per-user config file is looked for",
        ),
        ("NO_COLOR", "no colour in prompts"),
    ] {
        r.control("TP", []).text([bold(var)]).text([roman(meaning)]);
    }
    r.control("SH", ["FILES"]);
    r.control("TP", [])
        .text([italic(crate::config::SYSTEM_CONFIG)])
        .text([roman(
            "system-wide configuration (TOML; every key optional)",
        )]);
    r.control("TP", [])
        .text([italic("$XDG_CONFIG_HOME/twofactl/config.toml")])
        .text([roman(
            "per-user configuration, read after the system one; its keys win",
        )]);
    r.control("SH", ["EXAMPLES"]);
    for (what, cmd) in examples(page) {
        r.control("TP", []).text([roman(*what)]).text([bold(*cmd)]);
    }
    r.control("SH", ["SEE ALSO"]);
    let others: Vec<String> = pages
        .iter()
        .filter(|p| p.as_str() != page)
        .map(|p| {
            if p.is_empty() {
                "twofactl(1)".to_owned()
            } else {
                format!("twofactl-{p}(1)")
            }
        })
        .collect();
    r.text([roman(format!("{}, twofactl.toml(5)", others.join(", ")))]);
    r.to_roff()
}

/// The date on the man pages: fixed so that generation is reproducible; bump it per release.
pub const MAN_DATE: &str = "2026-11-27";

/// (path relative to the repository, contents) of every man page.
pub fn man_pages() -> Vec<(String, String)> {
    let mut cmd = Cli::command();
    cmd.build();
    let mut pages = vec![String::new()];
    pages.extend(cmd.get_subcommands().map(|s| s.get_name().to_owned()));
    pages
        .iter()
        .map(|page| {
            let (name, sub) = if page.is_empty() {
                ("twofactl".to_owned(), cmd.clone())
            } else {
                let sub = cmd.find_subcommand(page).expect("listed above").clone();
                let name = format!("twofactl-{page}");
                (
                    name.clone(),
                    sub.name(name).display_name(format!("twofactl {page}")),
                )
            };
            let mut buf = Vec::new();
            clap_mangen::Man::new(sub)
                .title(name.to_uppercase())
                .date(MAN_DATE)
                .source(format!("twofactl {}", env!("CARGO_PKG_VERSION")))
                .manual("twofactl manual")
                .render(&mut buf)
                .expect("writing to memory");
            // clap_mangen 0.3 puts `.br` on both sides of a blank line before "Possible
            // values", which mandoc -Tlint flags; one `.sp` says the same.
            let mut text = String::from_utf8_lossy(&buf).replace("\n.br\n\n.br\n", "\n.sp\n");
            // clap_mangen writes a repeatable positional as `[USER]`: say it repeats.
            for arg in sub_args(&cmd, page) {
                let one = format!("[\\fI{arg}\\fR]");
                text = text.replace(&format!("{one} \n"), &format!("{one}... \n"));
            }
            text.push_str(&extra_sections(page, &pages));
            (format!("man/{name}.1"), text)
        })
        .chain([("man/twofactl.toml.5".to_owned(), config_page())])
        .collect()
}

/// The value names of the positional arguments of `page` that take several values.
fn sub_args(cmd: &clap::Command, page: &str) -> Vec<String> {
    let sub = if page.is_empty() {
        Some(cmd)
    } else {
        cmd.find_subcommand(page)
    };
    sub.into_iter()
        .flat_map(|c| c.get_positionals())
        .filter(|a| a.get_num_args().is_some_and(|n| n.max_values() > 1))
        .filter_map(|a| {
            a.get_value_names()
                .and_then(|v| v.first())
                .map(|v| v.to_string())
        })
        .collect()
}

/// twofactl.toml(5): every configuration key, its default and its environment variable, from
/// the same reference the README's table is checked against.
fn config_page() -> String {
    let mut r = Roff::new();
    r.control(
        "TH",
        [
            "TWOFACTL.TOML",
            "5",
            MAN_DATE,
            &format!("twofactl {}", env!("CARGO_PKG_VERSION")),
            "twofactl manual",
        ],
    );
    r.control("SH", ["NAME"]);
    r.text([roman("twofactl.toml - configuration of twofactl")]);
    r.control("SH", ["SYNOPSIS"]);
    r.text([italic(crate::config::SYSTEM_CONFIG)]);
    r.control("br", []);
    r.text([italic("$XDG_CONFIG_HOME/twofactl/config.toml")]);
    r.control("SH", ["DESCRIPTION"]);
    r.text([roman(
        "A TOML file; every key is optional. Precedence: command-line flags, then TWOFACTL_* \
         environment variables, then --config FILE (or TWOFACTL_CONFIG; it must exist), else \
         the system file and then the per-user file (whose keys win), then the application's \
         own settings table, then the defaults below. Durations are written like 90s, 10m or \
         1h 30m. Relative paths are relative to the file that holds them. An unknown key or a \
         bad value is an error naming the file and the key (exit 8).",
    )]);
    let mut section = "";
    for k in crate::config::KEYS {
        if k.section != section {
            section = k.section;
            r.control("SH", [format!("[{section}]").as_str()]);
        }
        r.control("TP", []).text([bold(k.key)]);
        let mut line = format!("Default: {}.", k.default);
        if !k.env.is_empty() {
            line.push_str(&format!(" Environment: {}.", k.env));
        }
        if !k.doc.is_empty() {
            line.push(' ');
            line.push_str(k.doc);
        }
        r.text([roman(line)]);
    }
    r.control("SH", ["SEE ALSO"]);
    r.text([roman("twofactl(1), twofactl-doctor(1)")]);
    r.to_roff()
}

/// The README's configuration table, rebuilt from the same reference.
pub fn config_table() -> String {
    let mut t =
        String::from("| key | default | environment | notes |\n| --- | --- | --- | --- |\n");
    for k in crate::config::KEYS {
        let env = if k.env.is_empty() {
            String::new()
        } else {
            format!("`{}`", k.env)
        };
        t.push_str(&format!(
            "| `{}.{}` | {} | {env} | {} |\n",
            k.section, k.key, k.default, k.doc
        ));
    }
    t
}
