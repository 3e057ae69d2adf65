//! Configuration: the `[schema]` mapping on a database whose tables and columns have other
//! names, errors naming the key (exit 8), and where the database and config come from:
//! `--db` > `TWOFACTL_DB` > `[database] path`; `--config` > `TWOFACTL_CONFIG` > the XDG file.

use rusqlite::{Connection, params};
use serde_json::json;

use crate::support::*;

const MAPPED_SCHEMA: &str = "
    CREATE TABLE accounts (
        uid     INTEGER PRIMARY KEY,
        login   TEXT    NOT NULL UNIQUE,
        mail    TEXT    NOT NULL,
        pw      TEXT    NOT NULL,
        admin   INTEGER NOT NULL DEFAULT 0,
        otp_key TEXT,
        otp_on  INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE logins (
        token      TEXT    PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(uid)
    );
    CREATE INDEX logins_account ON logins(account_id);
";

const MAPPING: &str = r#"
[schema]
users_table = "accounts"
id = "uid"
username = "login"
email = "mail"
password_hash = "pw"
is_admin = "admin"
totp_secret = "otp_key"
totp_enabled = "otp_on"
sessions_table = "logins"
sessions_user_id = "account_id"
settings_table = ""
"#;

/// A sandbox whose application calls users `accounts` and sessions `logins`.
fn mapped_sandbox() -> Sandbox {
    let sb = Sandbox::empty();
    let conn = Connection::open(&sb.db).unwrap();
    conn.execute_batch(MAPPED_SCHEMA).unwrap();
    conn.pragma_update(None, "user_version", APP_USER_VERSION)
        .unwrap();
    for (uid, login, admin, key, on, logins) in [
        (10, "ann", 0, Some("ANNKEYANNKEYANNKEYANNKEYANNKEY23"), 1, 2),
        (20, "ben", 0, Some("BENKEYBENKEYBENKEYBENKEYBENKEY23"), 0, 1),
        (30, "cat", 1, Some("CATKEYCATKEYCATKEYCATKEYCATKEY23"), 1, 1),
        (40, "dan", 0, None, 0, 0),
    ] {
        conn.execute(
            "INSERT INTO accounts (uid, login, mail, pw, admin, otp_key, otp_on)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                uid,
                login,
                format!("{login}@corp.test"),
                hash_of(login),
                admin,
                key,
                on
            ],
        )
        .unwrap();
        for n in 0..logins {
            conn.execute(
                "INSERT INTO logins (token, account_id) VALUES (?1, ?2)",
                params![format!("tok-{login}-{n}"), uid],
            )
            .unwrap();
        }
    }
    drop(conn);
    sb.write_config(MAPPING);
    sb
}

fn account(sb: &Sandbox, login: &str) -> (Option<String>, i64, i64) {
    sb.conn()
        .query_row(
            "SELECT otp_key, otp_on, (SELECT count(*) FROM logins l WHERE l.account_id = a.uid)
             FROM accounts a WHERE login = ?1",
            [login],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
}

#[test]
fn schema_mapping_lists_users_of_other_names() {
    let sb = mapped_sandbox();
    let run = sb.run(["list-users", "--format", "json"]);
    run.ok();
    assert_eq!(
        run.json_lines(),
        [
            json!({"id": 10, "username": "ann", "email": "ann@corp.test", "is_admin": false,
                   "status": "enabled", "reset_open_until": null, "last_2fa_change": null}),
            json!({"id": 20, "username": "ben", "email": "ben@corp.test", "is_admin": false,
                   "status": "pending", "reset_open_until": null, "last_2fa_change": null}),
            json!({"id": 30, "username": "cat", "email": "cat@corp.test", "is_admin": true,
                   "status": "enabled", "reset_open_until": null, "last_2fa_change": null}),
            json!({"id": 40, "username": "dan", "email": "dan@corp.test", "is_admin": false,
                   "status": "disabled", "reset_open_until": null, "last_2fa_change": null}),
        ]
    );
    run.never_shows("KEY").never_shows("$argon2");
    let run = sb.run(["list-users", "--format", "json", "--admins"]);
    run.ok();
    assert_eq!(run.json_lines().len(), 1);
    assert_eq!(run.json_lines()[0]["username"], "cat");
    let run = sb.run(["list-users", "--format", "csv", "--status", "pending"]);
    run.ok().stdout_contains("ben@corp.test");
    assert_eq!(run.out().lines().count(), 2);
}

#[test]
fn schema_mapping_resets_in_the_mapped_tables() {
    let sb = mapped_sandbox();
    let schema = sb.app_schema();
    let run = sb.reset([
        "ann",
        "ben@corp.test",
        "--reason",
        "r",
        "--yes",
        "--format",
        "json",
    ]);
    run.ok();
    let lines = run.json_lines();
    assert_eq!(lines[0]["username"], "ann");
    assert_eq!(lines[0]["outcome"], "reset");
    assert_eq!(lines[0]["sessions_revoked"], 2);
    assert_eq!(lines[1]["username"], "ben");
    assert_eq!(lines[1]["sessions_revoked"], 1);
    assert_eq!(account(&sb, "ann"), (None, 0, 0));
    assert_eq!(account(&sb, "ben"), (None, 0, 0));
    assert_eq!(
        account(&sb, "cat"),
        (Some("CATKEYCATKEYCATKEYCATKEYCATKEY23".to_owned()), 1, 1)
    );
    let audit = sb.audit();
    assert_eq!(audit.len(), 2);
    assert_eq!(
        (audit[0].username.as_str(), audit[0].user_id),
        ("ann", Some(10))
    );
    assert_eq!(
        (audit[1].username.as_str(), audit[1].user_id),
        ("ben", Some(20))
    );
    sb.assert_app_intact(&schema);
    assert!(
        !has_table(&sb.conn(), "users") && !has_table(&sb.conn(), "sessions"),
        "twofactl created the default tables"
    );

    // The mapped is_admin column guards administrators too.
    let before = sb.hash();
    sb.reset(["cat", "--reason", "r", "--yes"])
        .code(2)
        .one_error_line();
    sb.assert_unchanged(&before);
}

#[test]
fn an_empty_sessions_table_means_the_application_has_none() {
    let sb = Sandbox::new();
    sb.conn().execute_batch("DROP TABLE sessions;").unwrap();
    sb.write_config("[schema]\nsessions_table = \"\"\n");
    let run = sb.reset(["alice", "--reason", "r", "--yes", "--format", "json"]);
    run.ok();
    assert_eq!(run.json_lines()[0]["sessions_revoked"], 0);
    sb.assert_cleared("alice");
    assert!(
        !has_table(&sb.conn(), "sessions"),
        "twofactl created a sessions table"
    );
    sb.run(["list-users"]).ok();
}

#[test]
fn an_empty_settings_table_means_the_application_has_none() {
    let sb = Sandbox::new();
    sb.conn().execute_batch("DROP TABLE settings;").unwrap();
    sb.write_config("[schema]\nsettings_table = \"\"\n");
    sb.run(["list-users"]).ok();
    sb.reset(["alice", "--reason", "r", "--yes"]).ok();
    sb.assert_cleared("alice");
}

/// The config is refused with exit 8, one line naming `needle`, and nothing changed.
#[track_caller]
fn assert_config_refused(config: &str, needle: &str) {
    let sb = Sandbox::new();
    sb.write_config(config);
    let before = sb.hash();
    for run in [
        sb.run(["list-users"]),
        sb.reset(["alice", "--reason", "r", "--yes"]),
    ] {
        run.code(8).one_error_line();
        assert!(
            run.error_line().contains(needle),
            "config {config:?}: the message should name {needle:?}: {}",
            run.err()
        );
        sb.assert_unchanged(&before);
    }
}

#[test]
fn an_unknown_key_is_exit_8_naming_the_key() {
    assert_config_refused("[database]\nbusy_timeot = \"5s\"\n", "busy_timeot");
    assert_config_refused("[schema]\nuser_table = \"users\"\n", "user_table");
    assert_config_refused("[smtp]\nhostname = \"mail\"\n", "hostname");
    assert_config_refused("[databse]\npath = \"app.db\"\n", "databse");
    assert_config_refused("verbose = true\n", "verbose");
}

#[test]
fn a_bad_value_is_exit_8_naming_the_key() {
    assert_config_refused("[database]\nbusy_timeout = \"soon\"\n", "busy_timeout");
    assert_config_refused("[database]\nbusy_timeout = 5\n", "busy_timeout");
    assert_config_refused("[smtp]\nport = 70000\n", "port");
    assert_config_refused("[smtp]\nport = 0\n", "port");
    assert_config_refused("[smtp]\nsecurity = \"ssl\"\n", "security");
    assert_config_refused("[mail]\ntransport = \"pigeon\"\n", "transport");
    assert_config_refused("[reset]\nmax_attempts = 0\n", "max_attempts");
    assert_config_refused("[reset]\ncode_ttl = \"forever\"\n", "code_ttl");
    assert_config_refused(
        "[database]\npath = \"postgresql://app@db.example.com/app\"\n",
        "path holds a PostgreSQL URL",
    );
    assert_config_refused(
        "[database]\npath = \"app.db\"\nurl = \"postgresql://app@db.example.com/app\"\n",
        "both path and url",
    );
    assert_config_refused("[database]\nurl = \"mysql://db/app\"\n", "url");
    assert_config_refused("[totp]\nissuer = \"a:b\"\n", "issuer");
}

#[test]
fn a_file_that_is_not_toml_is_exit_8_naming_the_file() {
    assert_config_refused("[database\npath = \"x\"\n", "config.toml");
}

#[test]
fn a_hostile_identifier_is_exit_8() {
    assert_config_refused(
        "[schema]\nusers_table = \"users; DROP TABLE users\"\n",
        "users_table",
    );
    assert_config_refused(
        "[schema]\nusername = \"username\\\" OR 1=1 --\"\n",
        "username",
    );
    assert_config_refused("[schema]\ntotp_secret = \"\"\n", "totp_secret");
    assert_config_refused("[schema]\nid = \"1id\"\n", "id");
    assert_config_refused("[schema]\nsessions_table = \"a b\"\n", "sessions_table");
}

#[test]
fn the_example_config_config_parses() {
    let sb = Sandbox::new();
    sb.write_config(include_str!("../fixtures/example-config.toml"));
    // --db overrides the example's path.
    let run = sb.run(["list-users", "--format", "json"]);
    run.ok();
    assert_eq!(run.json_lines().len(), STANDARD.len());
}

#[test]
fn a_named_config_file_must_exist() {
    let sb = Sandbox::new();
    let run = sb.run(["--config", "no-such.toml", "list-users"]);
    run.code(8).one_error_line();
    assert!(run.error_line().contains("no-such.toml"), "{}", run.err());

    let mut cmd = sb.cmd();
    cmd.env("TWOFACTL_CONFIG", sb.path("missing.toml")).args([
        "--db",
        sb.db.to_str().unwrap(),
        "list-users",
    ]);
    let run = Run::of(&mut cmd);
    run.code(8).one_error_line();
    assert!(run.error_line().contains("missing.toml"), "{}", run.err());
}

#[test]
fn the_config_flag_beats_twofactl_config() {
    let sb = Sandbox::new();
    sb.write_config("[database]\nunknown_key = 1\n");
    let good = sb.write("good.toml", "[database]\nbusy_timeout = \"2s\"\n");
    let run = sb.run(["--config", good.to_str().unwrap(), "list-users"]);
    run.ok();
    // Without the flag, the broken file named by TWOFACTL_CONFIG is read.
    sb.run(["list-users"]).code(8);
}

/// A one-user database whose user is called `name`.
fn one_user_db(path: &std::path::Path, name: &'static str) {
    create_app_db(path, &[u(name, "x@example.com", State::Enabled)]);
}

#[test]
fn db_flag_beats_env_beats_config_file() {
    let sb = Sandbox::empty();
    let (flag, env, file) = (sb.path("flag.db"), sb.path("env.db"), sb.path("file.db"));
    one_user_db(&flag, "from_flag");
    one_user_db(&env, "from_env");
    one_user_db(&file, "from_file");
    sb.write_config(&format!(
        "[database]\npath = {}\n",
        toml_str(file.to_str().unwrap())
    ));
    let who = |with_flag: bool, with_env: bool| -> String {
        let mut cmd = sb.cmd();
        if with_env {
            cmd.env("TWOFACTL_DB", &env);
        }
        if with_flag {
            cmd.arg("--db").arg(&flag);
        }
        cmd.args(["list-users", "--format", "json"]);
        let run = Run::of(&mut cmd);
        run.ok();
        run.json_lines()[0]["username"].as_str().unwrap().to_owned()
    };
    assert_eq!(who(true, true), "from_flag");
    assert_eq!(who(true, false), "from_flag");
    assert_eq!(who(false, true), "from_env");
    assert_eq!(who(false, false), "from_file");
}

#[test]
fn a_relative_database_path_is_relative_to_the_config_file() {
    let sb = Sandbox::empty();
    std::fs::create_dir_all(sb.path("data")).unwrap();
    one_user_db(&sb.path("data/app.db"), "relative");
    let config = sb.write(
        "etc/twofactl.toml",
        "[database]\npath = \"../data/app.db\"\n",
    );
    std::fs::create_dir_all(sb.path("elsewhere")).unwrap();
    let mut cmd = sb.cmd();
    cmd.current_dir(sb.path("elsewhere"))
        .arg("--config")
        .arg(&config)
        .args(["list-users", "--format", "json"]);
    let run = Run::of(&mut cmd);
    run.ok();
    assert_eq!(run.json_lines()[0]["username"], "relative");
}

#[test]
fn the_xdg_config_is_read_when_twofactl_config_is_unset() {
    let sb = Sandbox::empty();
    one_user_db(&sb.db, "via_xdg");
    let xdg = sb.write(
        "twofactl/config.toml",
        format!("[database]\npath = {}\n", toml_str(sb.db.to_str().unwrap())),
    );
    let mut cmd = sb.cmd();
    cmd.env_remove("TWOFACTL_CONFIG")
        .args(["list-users", "--format", "json"]);
    let run = Run::of(&mut cmd);
    run.ok();
    assert_eq!(run.json_lines()[0]["username"], "via_xdg");

    // A broken XDG file is reported by name, which shows it is the one being read.
    std::fs::write(&xdg, "[database]\nbogus = 1\n").unwrap();
    let mut cmd = sb.cmd();
    cmd.env_remove("TWOFACTL_CONFIG").args(["list-users"]);
    let run = Run::of(&mut cmd);
    run.code(8).one_error_line();
    assert!(run.error_line().contains("bogus"), "{}", run.err());
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
