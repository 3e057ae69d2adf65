//! An application without a profile, described purely with `[schema]` keys: users in
//! `accounts`, keys in a table of their own with a kind column (TOTP beside security keys),
//! hex keys, an administrator as a column equal to a value, logins in a table, and no e-mail
//! address at all (`email = ""`).

use rusqlite::{Connection, params};

use super::*;
use crate::enroll::totp_at;
use crate::self_service::now;

const SCHEMA: &str = "
    CREATE TABLE accounts (
        account_id INTEGER PRIMARY KEY,
        login      TEXT NOT NULL UNIQUE,
        pw         TEXT NOT NULL,
        kind       TEXT NOT NULL DEFAULT 'member'   -- 'owner' administers the application
    );
    CREATE TABLE mfa_keys (
        id         INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts (account_id),
        method     TEXT NOT NULL,                   -- 'totp' or 'webauthn'
        secret     TEXT NOT NULL,                   -- a TOTP key in lower-case hex
        active     INTEGER NOT NULL DEFAULT 0,
        label      TEXT NOT NULL DEFAULT 'authenticator'
    );
    CREATE TABLE logins (
        token      TEXT PRIMARY KEY,
        account_id INTEGER NOT NULL
    );";

const CONFIG: &str = r#"
[schema]
users_table = "accounts"
id = "account_id"
username = "login"
email = ""
password_hash = "pw"
is_admin = "kind"
admin_value = "owner"
key_table = "mfa_keys"
key_user_id = "account_id"
key_kind_column = "method"
key_kind_value = "totp"
totp_secret = "secret"
totp_enabled = "active"
key_encoding = "hex"
sessions_table = "logins"
sessions_user_id = "account_id"
settings_table = ""

[totp]
issuer = "Example"

[mail]
transport = "file"
file_dir = "mails"
from = "Example <no-reply@example.com>"
"#;

fn hex_key(name: &str) -> String {
    data_encoding::HEXLOWER.encode(&secret_of(name).as_bytes()[..20])
}

/// root (owner: TOTP and a security key), ann (TOTP and a security key, two logins), ben (a
/// TOTP key not yet active), cal (a security key only), deb (nothing).
pub fn accounts() -> Sandbox {
    let sb = Sandbox::empty();
    let conn = Connection::open(&sb.db).unwrap();
    conn.execute_batch(SCHEMA).unwrap();
    for (id, login, kind) in [
        (1, "root", "owner"),
        (2, "ann", "member"),
        (3, "ben", "member"),
        (4, "cal", "member"),
        (5, "deb", "member"),
    ] {
        exec(
            &conn,
            "INSERT INTO accounts (account_id, login, pw, kind) VALUES (?1, ?2, ?3, ?4)",
            params![id, login, hash_of(login), kind],
        );
    }
    for (user, method, active) in [
        (1, "totp", 1),
        (1, "webauthn", 1),
        (2, "totp", 1),
        (2, "webauthn", 1),
        (3, "totp", 0),
        (4, "webauthn", 1),
    ] {
        exec(
            &conn,
            "INSERT INTO mfa_keys (account_id, method, secret, active) VALUES (?1, ?2, ?3, ?4)",
            params![user, method, hex_key(&format!("{user} {method}")), active],
        );
    }
    for (token, user) in [("l-root", 1), ("l-ann-1", 2), ("l-ann-2", 2), ("l-cal", 4)] {
        exec(
            &conn,
            "INSERT INTO logins (token, account_id) VALUES (?1, ?2)",
            params![token, user],
        );
    }
    drop(conn);
    sb.write_config(CONFIG);
    sb
}

#[test]
#[ignore = "needs oathtool (.ci/run installs it)"]
fn generic_mapping_lists_resets_and_enrols_keys_in_a_table_of_their_own() {
    let sb = accounts();
    assert_listed(
        &sb,
        &[
            ("ann", "enabled", false, ""),
            ("ben", "pending", false, ""),
            // A security key is not a TOTP key.
            ("cal", "disabled", false, ""),
            ("deb", "disabled", false, ""),
            ("root", "enabled", true, ""),
        ],
    );
    assert_mapping_ok(&sb, 5);
    assert_guarded(&sb, "root", "ann");

    // ann's TOTP key and logins go; her security key stays.
    let expected = Expected::of(&sb);
    expected.exec(
        "DELETE FROM mfa_keys WHERE account_id = 2 AND method = 'totp'",
        [],
    );
    expected.exec("DELETE FROM logins WHERE account_id = 2", []);
    reset(&sb, "ann", &[]).stdout_contains("ann (2 sessions revoked)");
    expected.assert_same(&sb);
    // Without e-mail addresses, a user is named by login only.
    let before = sb.hash();
    sb.reset(["ann@example.com", "--reason", "r", "--yes"])
        .code(4);
    sb.assert_unchanged(&before);

    // A new key for deb: a TOTP row in hex, active; ben's waiting key confirmed by a code.
    let (key, uri) = enroll(&sb, "deb");
    assert!(uri.starts_with("otpauth://totp/Example:deb?"), "{uri}");
    let hex = data_encoding::HEXLOWER
        .encode(&data_encoding::BASE32_NOPAD.decode(key.as_bytes()).unwrap());
    let new_row = |user: i64| -> i64 {
        sb.conn()
            .query_row(
                "SELECT id FROM mfa_keys WHERE account_id = ?1 AND method = 'totp'",
                [user],
                |r| r.get(0),
            )
            .unwrap()
    };
    expected.exec(
        "INSERT INTO mfa_keys (id, account_id, method, secret, active) VALUES (?1, 5, 'totp', ?2, 1)",
        params![new_row(5), hex],
    );
    expected.assert_same(&sb);
    let ben = hex_key("3 totp");
    confirm(
        &sb,
        "ben",
        &data_encoding::BASE32_NOPAD
            .encode(&data_encoding::HEXLOWER.decode(ben.as_bytes()).unwrap()),
    );
    expected.exec(
        "DELETE FROM mfa_keys WHERE account_id = 3 AND method = 'totp'",
        [],
    );
    expected.exec(
        "INSERT INTO mfa_keys (id, account_id, method, secret, active) VALUES (?1, 3, 'totp', ?2, 1)",
        params![new_row(3), ben],
    );
    expected.assert_same(&sb);
    assert!(oathtool_accepts(&key, &totp_at(&key, now())));
    // Nobody was mailed: there is no address to mail.
    assert!(!sb.path("mails").exists());
}
