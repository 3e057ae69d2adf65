//! Nextcloud with twofactor_totp (`--profile nextcloud`): users keyed by text uids, their
//! e-mail address in `oc_preferences` (`settings`/`email`), administrators in group `admin`.
//! The key is a row of `oc_twofactor_totp_secrets`, encrypted with the instance's secret:
//! `state` 2 is enabled, 1 created and not yet confirmed. Turning TOTP off deletes the row
//! and records the `totp` provider as disabled in `oc_twofactor_providers` (which Nextcloud
//! asks first); backup codes stay. twofactl also ends the user's logins: `oc_authtoken`
//! rows and the `login_token` / `login_token_2fa` preferences. It does not enrol.

use rusqlite::{Connection, params};

use super::*;
use crate::self_service::PASSWORD;

/// Nextcloud's `3|` + PHP password_hash(PASSWORD_ARGON2ID) of [`PASSWORD`]
/// (tests/fixtures/password-hashes.tsv).
const HASH: &str = "3|$argon2id$v=19$m=4096,t=2,p=1$Nm5DZ01sRHpHNGhqLjgyQw$pBpz2SaolwIGByvjnfRycELSqeHXix1VRgtMMDW5vH0";

/// ICrypto's output format, `hex(ciphertext)|hex(iv)|hex(hmac)|3`: only the instance's secret
/// opens it.
fn encrypted(uid: &str) -> String {
    format!(
        "{}|00112233445566778899aabbccddeeff|{}|3",
        secret_of(uid).to_lowercase(),
        "ab".repeat(64)
    )
}

fn pref(conn: &Connection, uid: &str, app: &str, key: &str, value: &str) {
    exec(
        conn,
        "INSERT INTO oc_preferences (userid, appid, configkey, configvalue) VALUES (?1, ?2, ?3, ?4)",
        params![uid, app, key, value],
    );
}

fn token(conn: &Connection, uid: &str, kind: i64, n: usize) {
    exec(
        conn,
        "INSERT INTO oc_authtoken (uid, login_name, name, token, type, remember, last_activity,
             last_check, version)
         VALUES (?1, ?1, 'Firefox', ?2, ?3, 1, 1700000000, 1700000000, 2)",
        params![uid, format!("token-{uid}-{n}"), kind],
    );
}

/// admin (group admin, TOTP on), alice (on, backup codes, a browser session, an app password,
/// a remember-me cookie, a 2FA-pending login, and another app's `email` preference), bob
/// (a key created, not confirmed), carol (turned off), dave (nothing, no e-mail address).
fn fill(conn: &Connection) {
    // An integration app keeps the address of an account elsewhere under the same key (the
    // Zulip integration does), before alice's own is set.
    pref(
        conn,
        "alice",
        "integration_zulip",
        "email",
        "alice@zulip.example.net",
    );
    for uid in ["admin", "alice", "bob", "carol", "dave"] {
        exec(
            conn,
            "INSERT INTO oc_users (uid, displayname, password, uid_lower) VALUES (?1, ?2, ?3, ?1)",
            params![uid, uid.to_uppercase(), HASH],
        );
        if uid != "dave" {
            pref(
                conn,
                uid,
                "settings",
                "email",
                &format!("{uid}@example.com"),
            );
        }
    }
    exec(
        conn,
        "INSERT INTO oc_group_user (gid, uid) VALUES ('admin', 'admin')",
        [],
    );
    exec(
        conn,
        "INSERT INTO oc_group_user (gid, uid) VALUES ('staff', 'alice')",
        [],
    );
    for (uid, state) in [("admin", 2), ("alice", 2), ("bob", 1)] {
        exec(
            conn,
            "INSERT INTO oc_twofactor_totp_secrets (user_id, secret, state, last_counter)
             VALUES (?1, ?2, ?3, 58000000)",
            params![uid, encrypted(uid), state],
        );
    }
    for (provider, uid, enabled) in [
        ("totp", "admin", 1),
        ("totp", "alice", 1),
        ("backup_codes", "alice", 1),
        ("totp", "carol", 0),
    ] {
        exec(
            conn,
            "INSERT INTO oc_twofactor_providers (provider_id, uid, enabled) VALUES (?1, ?2, ?3)",
            params![provider, uid, enabled],
        );
    }
    for code in ["hash-one", "hash-two"] {
        exec(
            conn,
            "INSERT INTO oc_twofactor_backupcodes (user_id, code, used) VALUES ('alice', ?1, 0)",
            [code],
        );
    }
    token(conn, "admin", 0, 1);
    token(conn, "alice", 0, 1);
    token(conn, "alice", 1, 2);
    token(conn, "carol", 0, 1);
    pref(conn, "alice", "login_token", "cookie-token", "1700000000");
    pref(conn, "alice", "login_token_2fa", "2", "1700000000");
    pref(conn, "alice", "core", "lang", "de");
    pref(conn, "carol", "login_token", "cookie-carol", "1700000000");
}

pub fn nextcloud() -> Sandbox {
    sandbox("nextcloud", "nextcloud", fill)
}

/// What `occ twofactorauth:disable UID totp` leaves (the secret deleted, the provider
/// recorded disabled), and the user's logins ended.
fn disable_totp(expected: &Expected, uid: &str) {
    expected.exec(
        "DELETE FROM oc_twofactor_totp_secrets WHERE user_id = ?1",
        [uid],
    );
    expected.exec(
        "UPDATE oc_twofactor_providers SET enabled = 0 WHERE provider_id = 'totp' AND uid = ?1",
        [uid],
    );
    expected.exec("DELETE FROM oc_authtoken WHERE uid = ?1", [uid]);
    expected.exec(
        "DELETE FROM oc_preferences WHERE userid = ?1 AND appid IN ('login_token', 'login_token_2fa')",
        [uid],
    );
}

#[test]
fn nextcloud_list_users_reports_secret_states_the_admin_group_and_preference_e_mail() {
    let sb = nextcloud();
    assert_mapping_ok(&sb, 5);
    assert_listed(
        &sb,
        &[
            ("admin", "enabled", true, "admin@example.com"),
            ("alice", "enabled", false, "alice@example.com"),
            ("bob", "pending", false, "bob@example.com"),
            ("carol", "disabled", false, "carol@example.com"),
            ("dave", "disabled", false, ""),
        ],
    );
    assert_eq!(listed(&sb)["alice"]["id"], "alice");
}

#[test]
fn nextcloud_admin_reset_disables_the_provider_and_ends_the_logins() {
    let sb = nextcloud();
    assert_guarded(&sb, "admin", "alice");
    let expected = Expected::of(&sb);
    disable_totp(&expected, "alice");
    disable_totp(&expected, "bob");
    disable_totp(&expected, "admin");
    // alice found by the address in her settings; backup codes, other preferences and the
    // other app's address stay.
    reset(&sb, "alice@example.com", &[]).stdout_contains("alice (2 sessions revoked)");
    reset(&sb, "bob", &[]);
    reset(&sb, "admin", &["--allow-admin"]);
    expected.assert_same(&sb);
}

#[test]
fn nextcloud_self_service_by_e_mail_with_a_text_uid() {
    let sb = nextcloud();
    let expected = Expected::of(&sb);
    disable_totp(&expected, "alice");
    // The code goes to the address in alice's settings, not to another app's.
    assert_eq!(
        self_service(&sb, "alice@example.com", PASSWORD),
        "alice@example.com"
    );
    expected.assert_same(&sb);
}

#[test]
fn nextcloud_enroll_refuses_and_the_user_enrols_in_nextcloud() {
    let sb = nextcloud();
    assert_no_enrolment(&sb, "carol");
    assert_no_enrolment(&sb, "bob");
}

/// Nextcloud uids are text: `007` and `7` are two users, also in twofactl's own tables.
#[test]
fn nextcloud_uids_that_read_as_numbers_stay_apart() {
    let sb = sandbox("nextcloud", "nextcloud", |conn| {
        for (uid, email) in [("7", "seven@example.com"), ("007", "bond@example.com")] {
            exec(
                conn,
                "INSERT INTO oc_users (uid, password) VALUES (?1, ?2)",
                params![uid, HASH],
            );
            pref(conn, uid, "settings", "email", email);
            exec(
                conn,
                "INSERT INTO oc_twofactor_totp_secrets (user_id, secret, state) VALUES (?1, ?2, 2)",
                params![uid, encrypted(uid)],
            );
        }
    });
    let mut cmd = sb.cmd();
    cmd.arg("--db")
        .arg(&sb.db)
        .args(["request-reset", "007", "--password-stdin"])
        .write_stdin(format!("{PASSWORD}\n"));
    Run::of(&mut cmd).ok();
    let (code, to) = mailed_code(&sb);
    assert_eq!(to, "bond@example.com");
    // 007's code does not reset 7 (nor is 7's request count 007's).
    let before = sb.hash();
    sb.run(["verify", "7", &code]).code(3);
    sb.assert_unchanged(&before);
    sb.run(["verify", "007", &code]).ok();
    assert_eq!(listed(&sb)["007"]["status"], "disabled");
    assert_eq!(listed(&sb)["7"]["status"], "enabled");
}
