//! `list-users`: the three formats, the filters, never a secret, a closed pipe, and a
//! read-only database.

use serde_json::{Value, json};

use crate::support::*;

/// The usernames of a JSON Lines listing, in order.
#[track_caller]
fn usernames(run: &Run) -> Vec<String> {
    run.json_lines()
        .iter()
        .map(|v| {
            v["username"]
                .as_str()
                .unwrap_or_else(|| panic!("no username in {v}"))
                .to_owned()
        })
        .collect()
}

#[track_caller]
fn list_json(sb: &Sandbox, args: &[&str]) -> Vec<String> {
    let mut all = vec!["list-users", "--format", "json"];
    all.extend_from_slice(args);
    let run = sb.run(&all);
    run.ok();
    usernames(&run)
}

fn status_name(s: State) -> &'static str {
    match s {
        State::Enabled => "enabled",
        State::Pending => "pending",
        State::Disabled => "disabled",
    }
}

/// Where each column of an aligned table starts: after two or more spaces.
fn column_starts(header: &str) -> Vec<usize> {
    let b = header.as_bytes();
    let mut starts = vec![0];
    for i in 2..b.len() {
        if b[i] != b' ' && b[i - 1] == b' ' && b[i - 2] == b' ' {
            starts.push(i);
        }
    }
    starts
}

#[test]
fn text_is_an_aligned_table_with_one_row_per_user() {
    let sb = Sandbox::new();
    let run = sb.run(["list-users"]);
    run.ok().stderr_empty();
    let out = run.out();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.len(),
        1 + STANDARD.len(),
        "header + one row per user:\n{out}"
    );
    let header = lines[0].to_lowercase();
    for word in ["id", "username", "email", "admin", "status"] {
        assert!(header.contains(word), "header lacks {word}: {header}");
    }
    let starts = column_starts(lines[0]);
    assert!(starts.len() >= 7, "expected 7 columns in {:?}", lines[0]);
    for line in &lines[1..] {
        let b = line.as_bytes();
        for &s in &starts[1..] {
            assert!(
                s < b.len() && b[s] != b' ' && b[s - 1] == b' ',
                "row not aligned with the header at column {s}:\n{out}"
            );
        }
    }
    for (i, user) in STANDARD.iter().enumerate() {
        let cells: Vec<&str> = lines[1 + i].split_whitespace().collect();
        assert_eq!(cells[0], (i + 1).to_string(), "{out}");
        assert_eq!(cells[1], user.name, "{out}");
        assert_eq!(cells[2], user.email, "{out}");
        assert_eq!(cells[4], status_name(user.state), "{out}");
    }
}

#[test]
fn json_lines_carry_exactly_the_documented_keys() {
    let sb = Sandbox::new();
    let run = sb.run(["list-users", "--format", "json"]);
    run.ok().stderr_empty();
    let lines = run.json_lines();
    assert_eq!(lines.len(), STANDARD.len());
    for (i, (v, user)) in lines.iter().zip(STANDARD).enumerate() {
        assert_eq!(
            keys(v),
            sorted(&[
                "id",
                "username",
                "email",
                "is_admin",
                "status",
                "reset_open_until",
                "last_2fa_change"
            ])
        );
        assert_eq!(
            v,
            &json!({
                "id": i + 1,
                "username": user.name,
                "email": user.email,
                "is_admin": user.admin,
                "status": status_name(user.state),
                "reset_open_until": null,
                "last_2fa_change": null,
            })
        );
    }
}

#[test]
fn csv_has_a_header_and_quotes_commas_and_quotes() {
    let tricky = "o\"neil, jr";
    let sb = Sandbox::with_users(&[
        u("plain", "plain@example.com", State::Enabled),
        u(tricky, "oneil@example.com", State::Pending),
        U {
            admin: true,
            ..u("boss", "boss@example.com", State::Disabled)
        },
    ]);
    let run = sb.run(["list-users", "--format", "csv"]);
    run.ok().stderr_empty();
    let out = run.out();
    assert!(
        out.contains("\"o\"\"neil, jr\""),
        "the username with a comma and a quote must be quoted and its quote doubled:\n{out}"
    );
    let mut reader = csv::Reader::from_reader(out.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header,
        [
            "id",
            "username",
            "email",
            "is_admin",
            "status",
            "reset_open_until",
            "last_2fa_change"
        ]
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    assert_eq!(
        rows,
        [
            [
                "1",
                "plain",
                "plain@example.com",
                "false",
                "enabled",
                "",
                ""
            ],
            ["2", tricky, "oneil@example.com", "false", "pending", "", ""],
            ["3", "boss", "boss@example.com", "true", "disabled", "", ""],
        ]
    );
}

#[test]
fn status_filter_selects_each_state() {
    let sb = Sandbox::new();
    for (status, want) in [
        ("enabled", vec!["root", "alice", "bob", "Frank.Miller"]),
        ("pending", vec!["carol"]),
        ("disabled", vec!["dave", "erin"]),
    ] {
        assert_eq!(
            list_json(&sb, &["--status", status]),
            want,
            "--status {status}"
        );
        // The same filter in the other formats.
        let csv = sb.run(["list-users", "--format", "csv", "--status", status]);
        csv.ok();
        assert_eq!(
            csv.out().lines().count(),
            1 + want.len(),
            "csv --status {status}"
        );
        let text = sb.run(["list-users", "--status", status]);
        text.ok();
        assert_eq!(
            text.out().lines().count(),
            1 + want.len(),
            "text --status {status}"
        );
        for line in text.out().lines().skip(1) {
            assert!(line.contains(status), "text --status {status}: {line}");
        }
    }
}

#[test]
fn admins_filter_and_combinations() {
    let sb = Sandbox::new();
    assert_eq!(list_json(&sb, &["--admins"]), ["root", "erin"]);
    assert_eq!(
        list_json(&sb, &["--admins", "--status", "enabled"]),
        ["root"]
    );
    assert_eq!(
        list_json(&sb, &["--admins", "--status", "pending"]),
        Vec::<String>::new()
    );
}

#[test]
fn match_is_a_case_insensitive_substring_of_username_or_email() {
    let sb = Sandbox::new();
    assert_eq!(list_json(&sb, &["--match", "ALI"]), ["alice"]);
    assert_eq!(list_json(&sb, &["--match", "frank.m"]), ["Frank.Miller"]);
    // E-mail only: no username contains "example.org".
    assert_eq!(
        list_json(&sb, &["--match", "example.org"]),
        ["Frank.Miller"]
    );
    assert_eq!(
        list_json(&sb, &["--match", "EXAMPLE.COM"]),
        ["root", "alice", "bob", "carol", "dave", "erin"]
    );
    assert_eq!(
        list_json(&sb, &["--match", "nobody-has-this"]),
        Vec::<String>::new()
    );
}

#[test]
fn match_treats_percent_and_underscore_literally() {
    let sb = Sandbox::with_users(&[
        u("100%", "p1@example.com", State::Enabled),
        u("100x", "p2@example.com", State::Enabled),
        u("a_b", "p3@example.com", State::Enabled),
        u("aXb", "p4@example.com", State::Enabled),
        u("plain", "p5@example.com", State::Enabled),
    ]);
    assert_eq!(list_json(&sb, &["--match", "%"]), ["100%"]);
    assert_eq!(list_json(&sb, &["--match", "0%"]), ["100%"]);
    assert_eq!(list_json(&sb, &["--match", "_"]), ["a_b"]);
    assert_eq!(list_json(&sb, &["--match", "A_B"]), ["a_b"]);
}

#[test]
fn limit_caps_the_rows_in_every_format() {
    let sb = Sandbox::new();
    assert_eq!(list_json(&sb, &["--limit", "2"]), ["root", "alice"]);
    assert_eq!(
        list_json(&sb, &["--limit", "1", "--status", "disabled"]),
        ["dave"]
    );
    assert_eq!(list_json(&sb, &["--limit", "100"]).len(), STANDARD.len());
    let text = sb.run(["list-users", "--limit", "3"]);
    text.ok();
    assert_eq!(text.out().lines().count(), 1 + 3);
    let csv = sb.run(["list-users", "--format", "csv", "--limit", "3"]);
    csv.ok();
    assert_eq!(csv.out().lines().count(), 1 + 3);
}

#[test]
fn never_shows_a_totp_secret_or_password_hash() {
    let sb = Sandbox::new();
    let filters: &[&[&str]] = &[
        &[],
        &["--status", "enabled"],
        &["--status", "pending"],
        &["--admins"],
        &["--match", "a"],
        &["--verbose"],
    ];
    for format in ["text", "json", "csv"] {
        for filter in filters {
            let mut args = vec!["list-users", "--format", format];
            args.extend_from_slice(filter);
            let run = sb.run(&args);
            run.ok();
            run.never_shows("$argon2");
            for user in STANDARD {
                run.never_shows(&secret_of(user.name))
                    .never_shows(&hash_of(user.name));
            }
        }
    }
}

#[test]
fn last_2fa_change_is_the_time_of_the_last_reset() {
    let sb = Sandbox::new();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    sb.reset(["alice", "dave", "--reason", "test", "--yes"])
        .ok();
    let run = sb.run(["list-users", "--format", "json"]);
    run.ok();
    for v in run.json_lines() {
        let name = v["username"].as_str().unwrap();
        match name {
            "alice" => {
                let t = v["last_2fa_change"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{v}"));
                assert!(is_rfc3339_utc(t), "{t}");
                let audit = sb.audit();
                let row = audit.iter().find(|r| r.username == "alice").unwrap();
                assert!(row.time >= before, "audit time {} before the run", row.time);
                assert_eq!(v["status"], "disabled");
            }
            // dave was already clear: nothing changed, so no 2FA change to report.
            _ => assert_eq!(v["last_2fa_change"], Value::Null, "{v}"),
        }
    }
}

#[test]
fn head_1_closes_the_pipe_without_an_error() {
    let sb = Sandbox::empty();
    big_db(&sb.db);
    // Every format is tried before failing, so the report names each one that fails.
    let failures: Vec<String> = ["text", "json", "csv"]
        .into_iter()
        .filter_map(|format| {
            let first = first_line_then_close(&sb, &["list-users", "--format", format]);
            let first = match first {
                Ok(line) => line,
                Err(why) => return Some(format!("--format {format}: {why}")),
            };
            let sensible = match format {
                "json" => serde_json::from_str::<Value>(&first)
                    .is_ok_and(|v| v["username"] == big_name(0)),
                _ => first.to_lowercase().contains("username"),
            };
            (!sensible).then(|| format!("--format {format}: unexpected first line {first:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn read_only_commands_work_on_a_read_only_file_and_write_nothing() {
    let sb = Sandbox::new();
    // Let twofactl create its own tables first, so the read-only runs read them too.
    sb.reset(["bob", "--reason", "test", "--yes"]).ok();
    chmod(&sb.db, 0o444);
    let before = sb.hash();
    let runs: &[&[&str]] = &[
        &["list-users"],
        &["list-users", "--format", "json"],
        &["list-users", "--format", "csv"],
        &["audit"],
        &["audit", "--format", "json"],
        &[
            "admin-reset",
            "alice",
            "--reason",
            "test",
            "--dry-run",
            "--format",
            "json",
        ],
    ];
    for args in runs {
        let Some(mut cmd) = sb.cmd_unprivileged() else {
            // Root without setpriv: file modes do not bind, but nothing may be written.
            let run = sb.run(*args);
            run.ok();
            sb.assert_unchanged(&before);
            continue;
        };
        cmd.arg("--db").arg(&sb.db).args(*args);
        let run = Run::of(&mut cmd);
        run.ok();
        sb.assert_unchanged(&before);
        if args[..] == ["list-users", "--format", "json"] {
            let bob = run
                .json_lines()
                .into_iter()
                .find(|v| v["username"] == "bob")
                .unwrap();
            assert!(bob["last_2fa_change"].is_string(), "{bob}");
        }
        if args[0] == "audit" {
            run.stdout_contains("bob");
        }
    }
}
