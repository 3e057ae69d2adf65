//! Database problems: a missing file, a file that is not a database, missing tables and
//! columns, a read-only database, twofactl tables from a newer twofactl, and a database in
//! WAL mode. Each gets its exit code and a clear message, and changes nothing.

use rusqlite::Connection;

use crate::support::*;

/// The commands of this issue that open the database.
const COMMANDS: &[&[&str]] = &[
    &["list-users"],
    &["list-users", "--format", "json"],
    &["audit"],
    &["admin-reset", "alice", "--reason", "r", "--yes"],
    &["admin-reset", "alice", "--reason", "r", "--dry-run"],
];

#[test]
fn a_missing_database_is_exit_8_and_is_not_created() {
    let sb = Sandbox::empty();
    for args in COMMANDS {
        let run = sb.run(*args);
        run.code(8).one_error_line();
        assert!(
            run.error_line().contains(sb.db.to_str().unwrap()),
            "the message should name the path: {}",
            run.err()
        );
        assert!(!sb.db.exists(), "twofactl created the database file");
        assert!(!journal_of(&sb.db).exists());
    }
}

#[test]
fn a_directory_is_not_a_database() {
    let sb = Sandbox::empty();
    std::fs::create_dir(&sb.db).unwrap();
    for args in COMMANDS {
        sb.run(*args).code(8).one_error_line();
    }
}

#[test]
fn a_file_that_is_not_a_database_is_exit_8_and_unchanged() {
    let sb = Sandbox::empty();
    sb.write(
        "app.db",
        "this is a text file, not an SQLite database\n".repeat(200),
    );
    let before = sb.hash();
    for args in COMMANDS {
        let run = sb.run(*args);
        run.code(8).one_error_line();
        assert!(
            run.error_line().contains("app.db"),
            "the message should name the file: {}",
            run.err()
        );
        sb.assert_unchanged(&before);
    }
}

#[test]
fn a_database_without_the_users_table_is_exit_8_naming_it() {
    let sb = Sandbox::empty();
    let conn = Connection::open(&sb.db).unwrap();
    conn.execute_batch("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);")
        .unwrap();
    drop(conn);
    let before = sb.hash();
    for args in COMMANDS {
        let run = sb.run(*args);
        run.code(8).one_error_line();
        assert!(
            run.error_line().contains("users"),
            "the message should name the users table: {}",
            run.err()
        );
        sb.assert_unchanged(&before);
    }
}

#[test]
fn an_empty_file_has_no_users_table_either() {
    let sb = Sandbox::empty();
    sb.write("app.db", "");
    for args in COMMANDS {
        let run = sb.run(*args);
        run.code(8).one_error_line();
        assert!(run.error_line().contains("users"), "{}", run.err());
        assert_eq!(
            std::fs::metadata(&sb.db).unwrap().len(),
            0,
            "the file was written"
        );
    }
}

#[test]
fn a_missing_mapped_column_is_exit_8_naming_it() {
    let sb = Sandbox::empty();
    let schema =
        twofactl::APP_SCHEMA.replace("    totp_enabled  INTEGER NOT NULL DEFAULT 0,\n", "");
    assert_ne!(
        schema,
        twofactl::APP_SCHEMA,
        "the schema file changed; adjust this test"
    );
    Connection::open(&sb.db)
        .unwrap()
        .execute_batch(&schema)
        .unwrap();
    let before = sb.hash();
    for args in COMMANDS {
        let run = sb.run(*args);
        run.code(8).one_error_line();
        assert!(
            run.error_line().contains("totp_enabled"),
            "the message should name the column: {}",
            run.err()
        );
        sb.assert_unchanged(&before);
    }
}

#[test]
fn a_missing_sessions_table_is_exit_8_naming_it() {
    let sb = Sandbox::new();
    sb.conn().execute_batch("DROP TABLE sessions;").unwrap();
    let before = sb.hash();
    for args in COMMANDS {
        let run = sb.run(*args);
        run.code(8).one_error_line();
        assert!(run.error_line().contains("sessions"), "{}", run.err());
        sb.assert_unchanged(&before);
    }
}

#[test]
fn no_database_given_at_all_is_exit_8() {
    let sb = Sandbox::new();
    let run = sb.run_raw(["list-users"]);
    run.code(8).one_error_line();
    run.stderr_contains("--db");
}

/// `admin-reset` on a database this user may not write: exit 1, a clear message, nothing
/// changed. Returns false when the test cannot run (root without setpriv).
fn read_only_admin_reset(sb: &Sandbox, what: &str) -> bool {
    let before = sb.hash();
    let mut cmd = sb
        .cmd_unprivileged()
        .expect("running as root needs setpriv (util-linux) to test as another user");
    cmd.arg("--db")
        .arg(&sb.db)
        .arg("admin-reset")
        .args(no_notify())
        .args(["alice", "--reason", "r", "--yes"]);
    let run = Run::of(&mut cmd);
    run.code(1).one_error_line();
    sb.assert_unchanged(&before);
    assert!(
        run.error_line().contains(sb.db.to_str().unwrap()),
        "{what}: the message should name the database: {}",
        run.err()
    );
    assert!(
        run.error_line().contains("read-only"),
        "{what}: the message should say the database is read-only: {}",
        run.err()
    );
    true
}

#[test]
fn exit_1_admin_reset_on_a_read_only_file() {
    let sb = Sandbox::new();
    chmod(&sb.db, 0o444);
    if read_only_admin_reset(&sb, "a 0444 file") {
        sb.assert_untouched(&STANDARD[1]);
    }
}

#[test]
fn exit_1_admin_reset_in_a_read_only_directory() {
    // The file is writable but its directory is not, so SQLite cannot make its journal.
    let sb = Sandbox::new();
    chmod(&sb.db, 0o666);
    // As root, cmd_unprivileged runs as another user, for whom the root-owned 0755
    // directory is read-only already.
    if !is_root() {
        chmod(sb.dir(), 0o555);
    }
    let ran = read_only_admin_reset(&sb, "a read-only directory");
    chmod(sb.dir(), 0o755);
    if ran {
        sb.assert_untouched(&STANDARD[1]);
    }
}

#[test]
fn twofactl_tables_from_a_newer_twofactl_are_refused() {
    let sb = Sandbox::new();
    sb.reset(["bob", "--reason", "r", "--yes"]).ok();
    sb.conn()
        .execute(
            "UPDATE twofactl_meta SET value = 999 WHERE key = 'schema_version'",
            [],
        )
        .unwrap();
    let before = sb.hash();
    let run = sb.reset(["alice", "--reason", "r", "--yes"]);
    run.code(8).one_error_line();
    assert!(run.error_line().contains("newer"), "{}", run.err());
    sb.assert_unchanged(&before);
}

#[test]
fn a_database_in_wal_mode_works_and_stays_in_wal_mode() {
    let sb = Sandbox::new();
    let mode: String = sb
        .conn()
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    sb.reset(["alice", "--reason", "r", "--yes"]).ok();
    sb.assert_cleared("alice");
    assert_eq!(sb.sessions("alice"), 0);
    let run = sb.run(["list-users", "--format", "json", "--status", "disabled"]);
    run.ok();
    assert_eq!(run.json_lines().len(), 3, "{}", run.out());
    let mode: String = sb
        .conn()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        mode, "wal",
        "twofactl changed the application's journal mode"
    );
}
