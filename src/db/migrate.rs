//! twofactl's own tables, all named `twofactl_*`, created on first write.
//!
//! Append-only numbered migrations in the style of cargo's `util/sqlite.rs`: the list's length
//! is the schema version, recorded in a `twofactl_meta` row (never in `PRAGMA user_version`,
//! which belongs to the application). Pending migrations are applied inside the caller's
//! `BEGIN IMMEDIATE` transaction, so they commit or roll back with the change that needed
//! them. A database written by a newer twofactl is refused.

use anyhow::Result;

use crate::app::Dialect;
use crate::db::sql::{Get, Sql};
use crate::error::{Exit, fail};

/// Never edit or reorder an entry: append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: the audit log. `changed` marks rows that record a change of the user's 2FA, so
    // list-users can find the last one through the partial index.
    "CREATE TABLE twofactl_audit (
        id        INTEGER PRIMARY KEY,
        time      INTEGER NOT NULL,
        os_user   TEXT    NOT NULL,
        actor     TEXT,
        action    TEXT    NOT NULL,
        user_id   INTEGER,
        username  TEXT    NOT NULL,
        reason    TEXT,
        outcome   TEXT    NOT NULL,
        changed   INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX twofactl_audit_changes ON twofactl_audit (user_id, time) WHERE changed = 1;",
    // 2: the notification outbox, and a free-text detail on audit rows (e.g. "not notified").
    // Outbox states: pending (to send), sending (claimed by a run; left so by a crash, it is
    // "interrupted" and resent only on request, so that nothing is sent twice), sent.
    "CREATE TABLE twofactl_outbox (
        id           INTEGER PRIMARY KEY,
        created      INTEGER NOT NULL,
        user_id      INTEGER,
        username     TEXT    NOT NULL,
        kind         TEXT    NOT NULL,
        sender       TEXT    NOT NULL,
        recipient    TEXT    NOT NULL,
        message      BLOB,
        state        TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'sent')),
        attempts     INTEGER NOT NULL DEFAULT 0,
        last_attempt INTEGER,
        last_error   TEXT,
        sent         INTEGER
    );
    CREATE INDEX twofactl_outbox_unsent ON twofactl_outbox (id) WHERE state <> 'sent';
    ALTER TABLE twofactl_audit ADD COLUMN detail TEXT;",
    // 3: self-service reset requests and wrong-password counts. A code is stored only as an
    // Argon2id PHC string (salted, slow). States: sending (code generated, e-mail not yet
    // confirmed: unusable, not counted), open, spent, void (replaced or too many wrong codes),
    // expired, undelivered (the e-mail failed: unusable, not counted).
    "CREATE TABLE twofactl_reset_requests (
        id         INTEGER PRIMARY KEY,
        user_id    INTEGER NOT NULL,
        created    INTEGER NOT NULL,
        expires    INTEGER NOT NULL,
        code_hash  TEXT    NOT NULL,
        attempts   INTEGER NOT NULL DEFAULT 0,
        state      TEXT    NOT NULL CHECK (state IN ('sending', 'open', 'spent', 'void', 'expired', 'undelivered')),
        closed     INTEGER
    );
    CREATE INDEX twofactl_reset_requests_user ON twofactl_reset_requests (user_id, created);
    CREATE TABLE twofactl_password_failures (
        id       INTEGER PRIMARY KEY,
        user_id  INTEGER NOT NULL,
        time     INTEGER NOT NULL
    );
    CREATE INDEX twofactl_password_failures_user ON twofactl_password_failures (user_id, time);",
    // 4: wrong codes given to confirm a pending TOTP key (limited like wrong passwords).
    "CREATE TABLE twofactl_totp_failures (
        id       INTEGER PRIMARY KEY,
        user_id  INTEGER NOT NULL,
        time     INTEGER NOT NULL
    );
    CREATE INDEX twofactl_totp_failures_user ON twofactl_totp_failures (user_id, time);",
    // 5: a new TOTP key waits here, not in the application's columns, until a code from it is
    // confirmed (the application's authenticator keeps working meanwhile); `replaces_active`
    // with the reason and actor when it is to replace an active authenticator. Locks after
    // too many wrong passwords or confirmation codes last until `until`, as announced. A
    // request being sent records its sender (boot id, pid, process start) and a lease, so
    // that the next run can settle it when the sender is gone. User ids are kept as the
    // application stores them (an integer, or a text uuid or uid).
    "CREATE TABLE twofactl_pending_keys (
        user_id          NOT NULL PRIMARY KEY,
        secret           TEXT    NOT NULL,
        created          INTEGER NOT NULL,
        replaces_active  INTEGER NOT NULL DEFAULT 0,
        reason           TEXT,
        actor            TEXT
    );
    CREATE TABLE twofactl_locks (
        user_id  INTEGER NOT NULL,
        kind     TEXT    NOT NULL CHECK (kind IN ('password', 'totp')),
        since    INTEGER NOT NULL,
        until    INTEGER NOT NULL,
        PRIMARY KEY (user_id, kind)
    );
    ALTER TABLE twofactl_reset_requests ADD COLUMN sender TEXT;
    ALTER TABLE twofactl_reset_requests ADD COLUMN lease INTEGER;",
    // 6: user ids as the application stores them in every table, as in twofactl_pending_keys:
    // a column declared INTEGER turned a text uid '007' into the integer 7, the same as uid '7',
    // so that a code e-mailed to one user reset another's 2FA, and their failures and locks
    // were shared. The tables are rebuilt with an untyped user_id (SQLite's ALTER TABLE cannot
    // change a type); ids already stored stay as they were.
    "CREATE TABLE twofactl_audit_6 (
        id        INTEGER PRIMARY KEY,
        time      INTEGER NOT NULL,
        os_user   TEXT    NOT NULL,
        actor     TEXT,
        action    TEXT    NOT NULL,
        user_id,
        username  TEXT    NOT NULL,
        reason    TEXT,
        outcome   TEXT    NOT NULL,
        changed   INTEGER NOT NULL DEFAULT 0,
        detail    TEXT
    );
    INSERT INTO twofactl_audit_6 SELECT id, time, os_user, actor, action, user_id, username,
        reason, outcome, changed, detail FROM twofactl_audit;
    DROP TABLE twofactl_audit;
    ALTER TABLE twofactl_audit_6 RENAME TO twofactl_audit;
    CREATE INDEX twofactl_audit_changes ON twofactl_audit (user_id, time) WHERE changed = 1;

    CREATE TABLE twofactl_outbox_6 (
        id           INTEGER PRIMARY KEY,
        created      INTEGER NOT NULL,
        user_id,
        username     TEXT    NOT NULL,
        kind         TEXT    NOT NULL,
        sender       TEXT    NOT NULL,
        recipient    TEXT    NOT NULL,
        message      BLOB,
        state        TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'sent')),
        attempts     INTEGER NOT NULL DEFAULT 0,
        last_attempt INTEGER,
        last_error   TEXT,
        sent         INTEGER
    );
    INSERT INTO twofactl_outbox_6 SELECT id, created, user_id, username, kind, sender, recipient,
        message, state, attempts, last_attempt, last_error, sent FROM twofactl_outbox;
    DROP TABLE twofactl_outbox;
    ALTER TABLE twofactl_outbox_6 RENAME TO twofactl_outbox;
    CREATE INDEX twofactl_outbox_unsent ON twofactl_outbox (id) WHERE state <> 'sent';

    CREATE TABLE twofactl_reset_requests_6 (
        id         INTEGER PRIMARY KEY,
        user_id    NOT NULL,
        created    INTEGER NOT NULL,
        expires    INTEGER NOT NULL,
        code_hash  TEXT    NOT NULL,
        attempts   INTEGER NOT NULL DEFAULT 0,
        state      TEXT    NOT NULL CHECK (state IN ('sending', 'open', 'spent', 'void', 'expired', 'undelivered')),
        closed     INTEGER,
        sender     TEXT,
        lease      INTEGER
    );
    INSERT INTO twofactl_reset_requests_6 SELECT id, user_id, created, expires, code_hash,
        attempts, state, closed, sender, lease FROM twofactl_reset_requests;
    DROP TABLE twofactl_reset_requests;
    ALTER TABLE twofactl_reset_requests_6 RENAME TO twofactl_reset_requests;
    CREATE INDEX twofactl_reset_requests_user ON twofactl_reset_requests (user_id, created);

    CREATE TABLE twofactl_password_failures_6 (
        id       INTEGER PRIMARY KEY,
        user_id  NOT NULL,
        time     INTEGER NOT NULL
    );
    INSERT INTO twofactl_password_failures_6 SELECT id, user_id, time FROM twofactl_password_failures;
    DROP TABLE twofactl_password_failures;
    ALTER TABLE twofactl_password_failures_6 RENAME TO twofactl_password_failures;
    CREATE INDEX twofactl_password_failures_user ON twofactl_password_failures (user_id, time);

    CREATE TABLE twofactl_totp_failures_6 (
        id       INTEGER PRIMARY KEY,
        user_id  NOT NULL,
        time     INTEGER NOT NULL
    );
    INSERT INTO twofactl_totp_failures_6 SELECT id, user_id, time FROM twofactl_totp_failures;
    DROP TABLE twofactl_totp_failures;
    ALTER TABLE twofactl_totp_failures_6 RENAME TO twofactl_totp_failures;
    CREATE INDEX twofactl_totp_failures_user ON twofactl_totp_failures (user_id, time);

    CREATE TABLE twofactl_locks_6 (
        user_id  NOT NULL,
        kind     TEXT    NOT NULL CHECK (kind IN ('password', 'totp')),
        since    INTEGER NOT NULL,
        until    INTEGER NOT NULL,
        PRIMARY KEY (user_id, kind)
    );
    INSERT INTO twofactl_locks_6 SELECT user_id, kind, since, until FROM twofactl_locks;
    DROP TABLE twofactl_locks;
    ALTER TABLE twofactl_locks_6 RENAME TO twofactl_locks;",
];

/// twofactl's tables on PostgreSQL, in the application's schema beside its tables: what the
/// SQLite migrations above add up to, with PostgreSQL's types, each entry numbered with the
/// SQLite version it brings the tables to (so that the version means the same tables on
/// both engines, and the code asks one question of either). User ids are text (an
/// integer id is stored as its digits, a uuid in its usual form), so that every
/// application's ids fit one column and `'007'` stays apart from `'7'`; flags are integers
/// 0 and 1, as on SQLite, so that the queries are the same on both. Never edit or reorder an
/// entry: append a new one.
const PG_MIGRATIONS: &[(usize, &str)] = &[(
    // The tables of SQLite's version 6.
    6,
    "CREATE TABLE twofactl_audit (
        id        bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        time      bigint  NOT NULL,
        os_user   text    NOT NULL,
        actor     text,
        action    text    NOT NULL,
        user_id   text,
        username  text    NOT NULL,
        reason    text,
        outcome   text    NOT NULL,
        changed   integer NOT NULL DEFAULT 0,
        detail    text
    );
    CREATE INDEX twofactl_audit_changes ON twofactl_audit (user_id, time) WHERE changed = 1;
    CREATE TABLE twofactl_outbox (
        id           bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        created      bigint  NOT NULL,
        user_id      text,
        username     text    NOT NULL,
        kind         text    NOT NULL,
        sender       text    NOT NULL,
        recipient    text    NOT NULL,
        message      bytea,
        state        text    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'sent')),
        attempts     bigint  NOT NULL DEFAULT 0,
        last_attempt bigint,
        last_error   text,
        sent         bigint
    );
    CREATE INDEX twofactl_outbox_unsent ON twofactl_outbox (id) WHERE state <> 'sent';
    CREATE TABLE twofactl_reset_requests (
        id         bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        user_id    text    NOT NULL,
        created    bigint  NOT NULL,
        expires    bigint  NOT NULL,
        code_hash  text    NOT NULL,
        attempts   bigint  NOT NULL DEFAULT 0,
        state      text    NOT NULL CHECK (state IN ('sending', 'open', 'spent', 'void', 'expired', 'undelivered')),
        closed     bigint,
        sender     text,
        lease      bigint
    );
    CREATE INDEX twofactl_reset_requests_user ON twofactl_reset_requests (user_id, created);
    CREATE TABLE twofactl_password_failures (
        id       bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        user_id  text    NOT NULL,
        time     bigint  NOT NULL
    );
    CREATE INDEX twofactl_password_failures_user ON twofactl_password_failures (user_id, time);
    CREATE TABLE twofactl_totp_failures (
        id       bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        user_id  text    NOT NULL,
        time     bigint  NOT NULL
    );
    CREATE INDEX twofactl_totp_failures_user ON twofactl_totp_failures (user_id, time);
    CREATE TABLE twofactl_pending_keys (
        user_id          text    NOT NULL PRIMARY KEY,
        secret           text    NOT NULL,
        created          bigint  NOT NULL,
        replaces_active  integer NOT NULL DEFAULT 0,
        reason           text,
        actor            text
    );
    CREATE TABLE twofactl_locks (
        user_id  text    NOT NULL,
        kind     text    NOT NULL CHECK (kind IN ('password', 'totp')),
        since    bigint  NOT NULL,
        until    bigint  NOT NULL,
        PRIMARY KEY (user_id, kind)
    );",
)];

/// The migrations of an engine that bring its tables past `version`, each with the version
/// it brings them to.
fn pending(d: Dialect, version: usize) -> Vec<(usize, &'static str)> {
    match d {
        Dialect::Sqlite => MIGRATIONS
            .iter()
            .enumerate()
            .skip(version)
            .map(|(i, sql)| (i + 1, *sql))
            .collect(),
        Dialect::Postgres => PG_MIGRATIONS
            .iter()
            .filter(|(v, _)| *v > version)
            .copied()
            .collect(),
    }
}

/// The version an engine's migrations end at: the same on both.
fn latest(d: Dialect) -> usize {
    match d {
        Dialect::Sqlite => MIGRATIONS.len(),
        Dialect::Postgres => PG_MIGRATIONS.last().map_or(0, |(v, _)| *v),
    }
}

/// The schema version this build writes (on either engine).
pub const VERSION: usize = MIGRATIONS.len();

const _: () = assert!(PG_MIGRATIONS[PG_MIGRATIONS.len() - 1].0 == VERSION);

/// The version of twofactl's tables in this database; 0 when there are none yet.
pub fn version(conn: &dyn Sql) -> Result<usize> {
    let exists = match conn.dialect() {
        Dialect::Sqlite => {
            "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'twofactl_meta')"
        }
        Dialect::Postgres => "SELECT to_regclass('twofactl_meta') IS NOT NULL",
    };
    if !conn.row(exists, &[])?.is_some_and(|r| r.flag(0)) {
        return Ok(0);
    }
    let v = conn.row(
        "SELECT value FROM twofactl_meta WHERE key = 'schema_version'",
        &[],
    )?;
    Ok(match v {
        Some(r) => r
            .opt_int(0)?
            .map_or(0, |v| usize::try_from(v).unwrap_or(usize::MAX)),
        None => 0,
    })
}

/// Refuse a database whose twofactl tables are newer than this build; return the version.
pub fn check(conn: &dyn Sql) -> Result<usize> {
    let v = version(conn)?;
    let known = latest(conn.dialect());
    if v > known {
        return Err(fail(
            Exit::Config,
            format!(
                "the database's twofactl tables are version {v}, newer than this twofactl understands ({known})"
            ),
        )
        .hint("upgrade twofactl")
        .into());
    }
    Ok(v)
}

/// Apply the pending migrations on `conn`, which must be inside a write transaction.
pub fn migrate(conn: &dyn Sql) -> Result<()> {
    let v = check(conn)?;
    let todo = pending(conn.dialect(), v);
    let Some(&(last, _)) = todo.last() else {
        return Ok(());
    };
    conn.batch(match conn.dialect() {
        Dialect::Sqlite => {
            "CREATE TABLE IF NOT EXISTS twofactl_meta (key TEXT PRIMARY KEY, value NOT NULL)"
        }
        Dialect::Postgres => {
            "CREATE TABLE IF NOT EXISTS twofactl_meta (key text PRIMARY KEY, value bigint NOT NULL)"
        }
    })?;
    for (_, sql) in &todo {
        conn.batch(sql)?;
    }
    conn.execute(
        "INSERT INTO twofactl_meta (key, value) VALUES ('schema_version', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &crate::vals![last as i64],
    )?;
    Ok(())
}

/// Whether twofactl's tables exist in this database (read-only commands then query them).
pub fn present(conn: &dyn Sql) -> Result<bool> {
    Ok(check(conn)? > 0)
}
