//! wallabag (`--profile wallabag`): keys in `wallabag_user.googleAuthenticatorSecret`
//! (upper-case unpadded base32; wallabag makes 32-byte keys), active with the
//! `google_authenticator` flag on 2.7 and as soon as it is set on 2.6, which lacks the column;
//! administrators have `ROLE_SUPER_ADMIN` in the PHP-serialised `roles`. Turning the app off
//! writes `''` and NULL backup codes (`ConfigController::disableOtpAppAction()`); e-mail 2FA
//! (`emailTwoFactor`) is a separate method and stays.

use rusqlite::{Connection, params};
use sha2::{Digest, Sha256};

use super::*;
use crate::enroll::totp_at;
use crate::self_service::{PASSWORD, now};

const USER: &str = r#"a:1:{i:0;s:9:"ROLE_USER";}"#;
const SUPER_ADMIN: &str = r#"a:2:{i:0;s:9:"ROLE_USER";i:1;s:16:"ROLE_SUPER_ADMIN";}"#;

/// wallabag's sha512 x5000 of [`PASSWORD`] with this salt (tests/fixtures/password-hashes.tsv,
/// computed with PHP's hash()).
const HASH: &str =
    "lmqAjtXiqhLxdYysLlYN+1Ifp9F33wX5humqziMQiLTn43bKg3Yg8J9Mb72m97uKna/4YGW06c05kpVq9Oe+uA==";
const SALT: &str = "2cenjo9847wggcg0kw08gwkwogc0c44";

/// A key as wallabag makes one: base32 of 32 bytes, 52 characters.
fn key_of(name: &str) -> String {
    data_encoding::BASE32_NOPAD.encode(&Sha256::digest(name.as_bytes()))
}

const CODES: &str = r#"["$2y$10$AbCdEfGhIjKlMnOpQrStUu8QpC7m1Qm5i3m0aQ2m3Vw5GKq0wYkKe"]"#;

/// admin (super admin, on), alice (on, an API token), bob (pending: a key and backup codes,
/// not yet confirmed), carol (turned off: `''`), dave (never), erin (e-mail 2FA only).
fn fill(conn: &Connection) {
    // (id, name, roles, secret, backup codes, google_authenticator, emailTwoFactor)
    let users = [
        (
            1,
            "admin",
            SUPER_ADMIN,
            Some(key_of("admin")),
            Some(CODES),
            true,
            false,
        ),
        (
            2,
            "alice",
            USER,
            Some(key_of("alice")),
            Some(CODES),
            true,
            false,
        ),
        (
            3,
            "bob",
            USER,
            Some(key_of("bob")),
            Some(CODES),
            false,
            false,
        ),
        (4, "carol", USER, Some(String::new()), None, false, false),
        (5, "dave", USER, None, None, false, false),
        (6, "erin", USER, None, None, false, true),
    ];
    for (id, name, roles, secret, codes, on, email_2fa) in users {
        exec(
            conn,
            "INSERT INTO wallabag_user (id, username, username_canonical, email, email_canonical,
                 enabled, salt, password, roles, created_at, updated_at, googleAuthenticatorSecret,
                 backupCodes, emailTwoFactor, google_authenticator)
             VALUES (?1, ?2, ?2, ?3, ?3, 1, ?4, ?5, ?6, '2025-01-01 10:00:00', '2025-01-01 10:00:00',
                     ?7, ?8, ?9, ?10)",
            params![
                id,
                name,
                format!("{name}@example.com"),
                SALT,
                HASH,
                roles,
                secret,
                codes,
                email_2fa,
                on
            ],
        );
    }
    exec(
        conn,
        "INSERT INTO wallabag_oauth2_access_tokens (client_id, user_id, expires_at, token)
         VALUES (1, 2, 1900000000, 'api-token-of-alice')",
        [],
    );
}

pub fn wallabag() -> Sandbox {
    sandbox("wallabag", "wallabag", fill)
}

/// wallabag 2.6: the same without the `google_authenticator` column.
pub fn wallabag_2_6() -> Sandbox {
    sandbox("wallabag", "wallabag", |conn| {
        fill(conn);
        exec(
            conn,
            "ALTER TABLE wallabag_user DROP COLUMN google_authenticator",
            [],
        );
    })
}

/// What `disableOtpAppAction()` writes (2.7; 2.6 has no flag to write).
fn turn_off(expected: &Expected, id: i64, flag: bool) {
    let flag = if flag {
        ", google_authenticator = 0"
    } else {
        ""
    };
    expected.exec(
        &format!(
            "UPDATE wallabag_user SET googleAuthenticatorSecret = ''{flag}, backupCodes = NULL
             WHERE id = ?1"
        ),
        [id],
    );
}

#[test]
fn wallabag_list_users_reports_the_flag_the_pending_key_and_super_admins() {
    let sb = wallabag();
    assert_mapping_ok(&sb, 6);
    assert_listed(
        &sb,
        &[
            ("admin", "enabled", true, "admin@example.com"),
            ("alice", "enabled", false, "alice@example.com"),
            ("bob", "pending", false, "bob@example.com"),
            ("carol", "disabled", false, "carol@example.com"),
            ("dave", "disabled", false, "dave@example.com"),
            ("erin", "disabled", false, "erin@example.com"),
        ],
    );
    // On 2.6 a stored key is active.
    let sb = wallabag_2_6();
    assert_eq!(listed(&sb)["bob"]["status"], "enabled");
    assert_eq!(listed(&sb)["carol"]["status"], "disabled");
}

#[test]
fn wallabag_admin_reset_does_what_disable_otp_app_does() {
    let sb = wallabag();
    assert_guarded(&sb, "admin", "alice");
    let expected = Expected::of(&sb);
    // alice (on), bob (pending) and, with --allow-admin, admin; erin's e-mail 2FA and alice's
    // API token stay, as wallabag leaves them.
    for id in [1, 2, 3] {
        turn_off(&expected, id, true);
    }
    reset(&sb, "alice", &[]);
    reset(&sb, "bob", &[]);
    reset(&sb, "admin", &["--allow-admin"]);
    expected.assert_same(&sb);
}

#[test]
fn wallabag_2_6_admin_reset_and_enroll_without_the_flag() {
    let sb = wallabag_2_6();
    let expected = Expected::of(&sb);
    turn_off(&expected, 2, false);
    reset(&sb, "alice", &[]);
    expected.assert_same(&sb);
    let (key, _) = enroll(&sb, "carol");
    expected.exec(
        "UPDATE wallabag_user SET googleAuthenticatorSecret = ?1 WHERE id = 4",
        [&key],
    );
    expected.assert_same(&sb);
}

#[test]
#[ignore = "needs oathtool (.ci/run installs it)"]
fn wallabag_enroll_writes_an_upper_case_key_and_confirms_wallabags_own_pending_key() {
    let sb = wallabag();
    let expected = Expected::of(&sb);
    // A new key for carol: what otpAppCheckAction() leaves, the key in upper-case base32.
    let (key, _) = enroll(&sb, "carol");
    expected.exec(
        "UPDATE wallabag_user SET googleAuthenticatorSecret = ?1, google_authenticator = 1
         WHERE id = 4",
        [&key],
    );
    expected.assert_same(&sb);
    assert!(
        key.bytes().all(|b| matches!(b, b'A'..=b'Z' | b'2'..=b'7')),
        "otphp decodes upper case only: {key}"
    );
    // bob's key, made by wallabag and not yet confirmed, is confirmed with a code from it:
    // the flag is set, the key and the backup codes stay.
    confirm(&sb, "bob", &key_of("bob"));
    expected.exec(
        "UPDATE wallabag_user SET google_authenticator = 1 WHERE id = 3",
        [],
    );
    expected.assert_same(&sb);
    // wallabag checks with SHA-1, 6 digits, 30 s and one step either way, as oathtool does.
    for (id, key) in [(4, key), (3, key_of("bob"))] {
        let stored: String = sb
            .conn()
            .query_row(
                "SELECT googleAuthenticatorSecret FROM wallabag_user WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap();
        assert!(oathtool_accepts(&stored, &totp_at(&key, now())));
    }
}

#[test]
fn wallabag_self_service_checks_the_salted_sha512_password() {
    let sb = wallabag();
    let expected = Expected::of(&sb);
    turn_off(&expected, 2, true);
    assert_eq!(self_service(&sb, "alice", PASSWORD), "alice@example.com");
    expected.assert_same(&sb);
}
