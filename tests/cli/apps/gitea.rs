//! Gitea and Forgejo (`--profile gitea`, `--profile forgejo`): a `two_factor` row per user
//! means 2FA is on; its secret is encrypted with the instance's SECRET_KEY (Gitea: AES text,
//! Forgejo 10+: an XChaCha20 blob), so twofactl resets and lists but does not enrol: the user
//! enrols again in Gitea's own settings page. Administrators have `is_admin`. Turning 2FA
//! off deletes the row (`DisableTwoFactor`); security keys, remember-me tokens and sessions
//! stay, as they do when the user turns TOTP off in Gitea.

use rusqlite::{Connection, params};

use super::*;
use crate::self_service::PASSWORD;

/// Gitea's PBKDF2 (`pbkdf2$50000$50`) of [`PASSWORD`] with this hex salt
/// (tests/fixtures/password-hashes.tsv).
const HASH: &str = "0ad274b6a4c8dcd15314669212076a1caa3b5e807c5f4d55f726797c1c0a35aed9504d53608ee76b1abecbe39ccc09ecd091";
const SALT: &str = "ff079fbf4fd81d94d2b5fccb48cf1487";

/// admin (site administrator, 2FA on), alice (on, a security key, a remember-me token),
/// bob (on), carol (off).
fn fill(conn: &Connection, blob_secrets: bool) {
    for (id, name, admin) in [
        (1, "Admin", true),
        (2, "Alice", false),
        (3, "Bob", false),
        (4, "Carol", false),
    ] {
        exec(
            conn,
            "INSERT INTO user (id, lower_name, name, email, passwd, passwd_hash_algo, salt, type,
                 is_active, is_admin, created_unix, updated_unix)
             VALUES (?1, lower(?2), ?2, lower(?2) || '@example.com', ?3, 'pbkdf2$50000$50', ?4, 0, 1, ?5,
                     1700000000, 1700000000)",
            params![id, name, HASH, SALT, admin],
        );
    }
    for uid in [1_i64, 2, 3] {
        // Ciphertext only the instance's SECRET_KEY opens.
        let secret: rusqlite::types::Value = if blob_secrets {
            rusqlite::types::Value::Blob(secret_of(&format!("forgejo {uid}")).into_bytes())
        } else {
            rusqlite::types::Value::Text(format!(
                "q8Jx{uid}SZ0Q2bYc0Qm1mXbWv1e2Yk5n3hP4lU7tR9sA0=="
            ))
        };
        exec(
            conn,
            "INSERT INTO two_factor (uid, secret, scratch_salt, scratch_hash, last_used_passcode,
                 created_unix, updated_unix)
             VALUES (?1, ?2, 'scratchsalt', 'scratchhash', '', 1700000000, 1700000000)",
            params![uid, secret],
        );
    }
    exec(
        conn,
        "INSERT INTO webauthn_credential (name, lower_name, user_id, credential_id, public_key,
             sign_count, created_unix, updated_unix)
         VALUES ('yubikey', 'yubikey', 2, x'0102', x'0304', 7, 1700000000, 1700000000)",
        [],
    );
}

pub fn gitea() -> Sandbox {
    sandbox("gitea", "gitea", |conn| {
        fill(conn, false);
        exec(
            conn,
            "INSERT INTO auth_token (id, token_hash, user_id, expires_unix) VALUES ('rm-alice', 'hash', 2, 1900000000)",
            [],
        );
    })
}

fn forgejo() -> Sandbox {
    sandbox("forgejo", "forgejo", |conn| {
        fill(conn, true);
        exec(
            conn,
            "INSERT INTO forgejo_auth_token (uid, lookup_key, hashed_validator, expiry)
             VALUES (2, 'lookup', 'validator', 1900000000)",
            [],
        );
    })
}

const LISTED: &[(&str, &str, bool, &str)] = &[
    ("admin", "enabled", true, "admin@example.com"),
    ("alice", "enabled", false, "alice@example.com"),
    ("bob", "enabled", false, "bob@example.com"),
    ("carol", "disabled", false, "carol@example.com"),
];

#[test]
fn gitea_list_users_reports_two_factor_rows_and_site_admins() {
    for sb in [gitea(), forgejo()] {
        assert_mapping_ok(&sb, 4);
        assert_listed(&sb, LISTED);
    }
}

#[test]
fn gitea_admin_reset_deletes_the_two_factor_row_only() {
    for sb in [gitea(), forgejo()] {
        assert_guarded(&sb, "admin", "alice");
        let expected = Expected::of(&sb);
        expected.exec("DELETE FROM two_factor WHERE uid = ?1", [2]);
        expected.exec("DELETE FROM two_factor WHERE uid = ?1", [1]);
        reset(&sb, "alice", &[]).stderr_contains("note: Gitea's sessions are in its session store");
        reset(&sb, "admin@example.com", &["--allow-admin"]);
        expected.assert_same(&sb);
        assert_eq!(listed(&sb)["alice"]["status"], "disabled");
    }
}

#[test]
fn gitea_enroll_refuses_and_the_user_enrols_in_gitea() {
    for sb in [gitea(), forgejo()] {
        assert_no_enrolment(&sb, "carol");
        assert_no_enrolment(&sb, "alice");
    }
}

#[test]
fn gitea_self_service_checks_the_pbkdf2_password_and_deletes_the_row() {
    let sb = gitea();
    let expected = Expected::of(&sb);
    expected.exec("DELETE FROM two_factor WHERE uid = ?1", [3]);
    assert_eq!(self_service(&sb, "bob", PASSWORD), "bob@example.com");
    expected.assert_same(&sb);
    // Gitea's sessions are out of reach: the user is not told they were signed out.
    assert_notice_says_signed_out(&sb, false);
    let audit = sb.run(["audit", "--format", "json"]);
    assert!(
        audit
            .out()
            .contains("Gitea's sessions are in its session store"),
        "{}",
        audit.out()
    );
}
