//! Kanboard (`--profile kanboard`): keys in `users.twofactor_secret` (16 base32 characters, a
//! 10-byte key) with `twofactor_activated`; administrators have `role = 'app-admin'`; turning
//! 2FA off writes `''` and 0 (`TwoFactorController::deactivate()`, `user:reset-2fa`), and
//! twofactl also deletes the user's `remember_me` rows, whose logins skip the code.

use rusqlite::{Connection, params};

use super::*;
use crate::enroll::totp_at;
use crate::self_service::now;

/// `password_hash('admin', PASSWORD_BCRYPT)` as Kanboard's first migration made it (PHP 8.2).
const ADMIN_HASH: &str = "$2y$10$KdOJB8UYJBJ7tp0w7bFyRejZDRz2VavsTmQfDN29IrzxY3fbDz1qy";

/// A key as Kanboard makes one: 16 base32 characters.
fn key_of(name: &str) -> String {
    secret_of(name)[..16].to_owned()
}

/// admin (app-admin, 2FA on), alice (on, two remember-me logins and a session), bob
/// (app-manager, on), carol (turned off: `''`), dave (never enrolled: NULL, no e-mail).
fn fill(conn: &Connection) {
    let users = [
        (
            1,
            "admin",
            Some("admin@example.com"),
            "app-admin",
            Some(key_of("admin")),
        ),
        (
            2,
            "alice",
            Some("alice@example.com"),
            "app-user",
            Some(key_of("alice")),
        ),
        (
            3,
            "bob",
            Some("bob@example.com"),
            "app-manager",
            Some(key_of("bob")),
        ),
        (
            4,
            "carol",
            Some("carol@example.com"),
            "app-user",
            Some(String::new()),
        ),
        (5, "dave", None, "app-user", None),
    ];
    for (id, name, email, role, key) in users {
        let on = key.as_deref().is_some_and(|k| !k.is_empty());
        exec(
            conn,
            "INSERT INTO users (id, username, password, is_admin, name, email, twofactor_activated,
                                twofactor_secret, role)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                id,
                name,
                ADMIN_HASH,
                i64::from(role == "app-admin"),
                name.to_uppercase(),
                email,
                on,
                key,
                role
            ],
        );
    }
    for (user, token) in [
        (1, "r-admin"),
        (2, "r-alice-1"),
        (2, "r-alice-2"),
        (3, "r-bob"),
    ] {
        exec(
            conn,
            "INSERT INTO remember_me (user_id, ip, user_agent, token, sequence, expiration, date_creation)
             VALUES (?1, '192.0.2.1', 'Firefox', ?2, 'seq', 1900000000, 1700000000)",
            params![user, token],
        );
    }
    exec(
        conn,
        r#"INSERT INTO sessions (id, expire_at, data) VALUES ('s-alice', 1900000000,
           'a:2:{s:4:"user";a:2:{s:2:"id";i:2;s:8:"username";s:5:"alice";}s:27:"postAuthenticationValidated";b:1;}')"#,
        [],
    );
}

pub fn kanboard() -> Sandbox {
    sandbox("kanboard", "kanboard", fill)
}

#[test]
fn kanboard_list_users_reports_activation_and_the_admin_role() {
    let sb = kanboard();
    assert_mapping_ok(&sb, 5);
    assert_listed(
        &sb,
        &[
            ("admin", "enabled", true, "admin@example.com"),
            ("alice", "enabled", false, "alice@example.com"),
            // An application manager is not an administrator.
            ("bob", "enabled", false, "bob@example.com"),
            // Kanboard's own "disable" leaves '', a new user NULL: both are off.
            ("carol", "disabled", false, "carol@example.com"),
            ("dave", "disabled", false, ""),
        ],
    );
    let admins = sb.run(["--format", "json", "list-users", "--admins"]);
    let names: Vec<_> = admins
        .json_lines()
        .iter()
        .map(|v| v["username"].clone())
        .collect();
    assert_eq!(names, ["admin"]);
}

#[test]
fn kanboard_admin_reset_does_what_reset_2fa_does_and_ends_remember_me() {
    let sb = kanboard();
    let expected = Expected::of(&sb);
    // app/Console/ResetTwoFactorCommand.php (and TwoFactorController::disable()), then the
    // remember-me logins that would skip the code.
    expected.exec(
        "UPDATE users SET twofactor_activated = 0, twofactor_secret = '' WHERE id = ?1",
        [2],
    );
    expected.exec("DELETE FROM remember_me WHERE user_id = ?1", [2]);
    // The remember-me logins end; open PHP sessions do not, and the run says so.
    reset(&sb, "alice", &[])
        .stdout_contains("alice (2 sessions revoked)")
        .stderr_contains(
            "note: Kanboard's open browser sessions (PHP session data) were not ended",
        );
    expected.assert_same(&sb);
}

#[test]
fn kanboard_admin_reset_by_e_mail_and_of_an_admin() {
    let sb = kanboard();
    assert_guarded(&sb, "admin", "bob");
    let expected = Expected::of(&sb);
    for id in [1, 3] {
        expected.exec(
            "UPDATE users SET twofactor_activated = 0, twofactor_secret = '' WHERE id = ?1",
            [id],
        );
        expected.exec("DELETE FROM remember_me WHERE user_id = ?1", [id]);
    }
    reset(&sb, "admin@example.com", &["--allow-admin"]);
    reset(&sb, "bob", &[]);
    expected.assert_same(&sb);
}

#[test]
#[ignore = "needs oathtool (.ci/run installs it)"]
fn kanboard_enroll_writes_what_kanboard_writes_and_oathtool_accepts_its_codes() {
    let sb = kanboard();
    for (id, user) in [(4, "carol"), (5, "dave")] {
        let expected = Expected::of(&sb);
        let (key, uri) = enroll(&sb, user);
        // The authenticator shows the e-mail address, or the username where there is none.
        let account = if user == "dave" {
            "dave"
        } else {
            "carol%40example.com"
        };
        assert!(
            uri.starts_with(&format!("otpauth://totp/{ISSUER}:{account}?")),
            "{uri}"
        );
        // TwoFactorController::test(): the base32 key and 1.
        expected.exec(
            "UPDATE users SET twofactor_activated = 1, twofactor_secret = ?2 WHERE id = ?1",
            params![id, key],
        );
        expected.assert_same(&sb);
        assert!(
            key.bytes().all(|b| matches!(b, b'A'..=b'Z' | b'2'..=b'7')),
            "{key}"
        );
        // Kanboard checks a code with Base32::decode and TOTP SHA-1, 6 digits, 30 s, one step
        // either way: oathtool does the same from the stored column.
        let stored: String = sb
            .conn()
            .query_row(
                "SELECT twofactor_secret FROM users WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap();
        let code = totp_at(&key, now());
        assert!(oathtool_accepts(&stored, &code), "oathtool rejected {code}");
        assert!(!oathtool_accepts(&key_of("alice"), &code));
    }
    // carol was notified; dave, who has no address, was not (and is enrolled all the same).
    assert_eq!(std::fs::read_dir(sb.path("mails")).unwrap().count(), 1);
    // Nor can his reset be notified: it needs --no-notify.
    let before = sb.hash();
    let run = sb.run(["admin-reset", "dave", "--reason", "r", "--yes"]);
    run.code(6).one_error_line();
    assert_eq!(
        run.error_line(),
        "twofactl: cannot notify dave: no e-mail address; nothing changed"
    );
    sb.assert_unchanged(&before);
    assert_listed(
        &sb,
        &[
            ("admin", "enabled", true, "admin@example.com"),
            ("alice", "enabled", false, "alice@example.com"),
            ("bob", "enabled", false, "bob@example.com"),
            ("carol", "enabled", false, "carol@example.com"),
            ("dave", "enabled", false, ""),
        ],
    );
}

#[test]
fn kanboard_self_service_checks_php_bcrypt() {
    let sb = kanboard();
    let expected = Expected::of(&sb);
    expected.exec(
        "UPDATE users SET twofactor_activated = 0, twofactor_secret = '' WHERE id = 1",
        [],
    );
    expected.exec("DELETE FROM remember_me WHERE user_id = 1", []);
    // The password of Kanboard's first user, hashed by its first migration.
    assert_eq!(self_service(&sb, "admin", "admin"), "admin@example.com");
    expected.assert_same(&sb);
    assert_notice_says_signed_out(&sb, false);
}
