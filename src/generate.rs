//! Shell completions and man pages, generated from the clap definition in `cli`. They are
//! committed under `completions/` and `man/`; a test regenerates them in memory and fails
//! when a committed file is stale (`UPDATE_GENERATED=1 cargo test` rewrites them), in the
//! manner of rust-analyzer's codegen checks. Nothing is generated at build time.

use clap::CommandFactory;
use clap_complete::Shell;
use roff::{Roff, bold, italic, roman};

use crate::cli::Cli;

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
    .map(|(shell, path)| {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "twofactl", &mut buf);
        (path.to_owned(), String::from_utf8_lossy(&buf).into_owned())
    })
    .collect()
}

/// The exit codes, as DESIGN.md and the README list them.
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
];

fn examples(page: &str) -> &'static [(&'static str, &'static str)] {
    EXAMPLES
        .iter()
        .find(|(p, _)| *p == page)
        .map_or(&[], |(_, e)| *e)
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
    r.text([roman(others.join(", "))]);
    r.to_roff()
}

/// The date on the man pages: fixed so that generation is reproducible; bump it per release.
pub const MAN_DATE: &str = "2026-11-27";

/// (path relative to the repository, contents) of every man page.
pub fn man_pages() -> Vec<(String, String)> {
    let mut cmd = Cli::command();
    cmd.build();
    let mut pages = vec![String::new()];
    pages.extend(
        cmd.get_subcommands()
            .map(|s| s.get_name().to_owned())
            .filter(|n| n != "help"),
    );
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
            text.push_str(&extra_sections(page, &pages));
            (format!("man/{name}.1"), text)
        })
        .collect()
}
