//! Vaultwarden (`--profile vaultwarden`): users keyed by text uuids and named by e-mail; a
//! TOTP key is a `twofactor` row with `atype = 0`, `enabled = 1` and 32 upper-case base32
//! characters (a 20-byte key, the only length Vaultwarden accepts). There are no administrator
//! users (an admin token instead; an organisation owner is not one). A reset does what the
//! admin panel's "remove 2FA" does (every `twofactor` row, `totp_recover` NULL) and what its
//! "deauthorize sessions" does (the `devices` rows, a new `security_stamp`).

use rusqlite::{Connection, params};

use super::*;
use crate::enroll::totp_at;
use crate::self_service::{PASSWORD, now};

const ALICE: &str = "0b7e5a3c-8f1d-4c2a-9e6b-3d5f7a9c1e20";
const BOB: &str = "1c8f6b4d-9a2e-4d3b-8f7c-4e6a8b0d2f31";
const CAROL: &str = "2d9a7c5e-ab3f-4e4c-9a8d-5f7b9c1e3a42";
const DAVE: &str = "3eab8d6f-bc4a-4f5d-8b9e-6a8cad2f4b53";

/// Vaultwarden's `set_password` over a Bitwarden client's hash of [`PASSWORD`] for
/// alice@example.com, PBKDF2 5000 (client) and 100000 (server) iterations
/// (tests/fixtures/password-hashes.tsv).
const HASH: &str = "385d573e60284f1decd5a0f6a692414d74436ddc500590a737f3fe24d80ed834";
const SALT: &str = "73dc193e9a08fb700f93eeef2eed20b98b0754dcc491d44f51f23f20ab4014e499e8e6c1cce033b2c244f20e715adc7f866141ad27e94243050c16c18aa92d77";

fn hex(s: &str) -> Vec<u8> {
    data_encoding::HEXLOWER.decode(s.as_bytes()).unwrap()
}

/// alice (TOTP and e-mail 2FA, a recovery code, two devices, an unfinished login), bob
/// (TOTP, a device), carol (no 2FA, a device), dave (TOTP; owner of an organisation).
fn fill(conn: &Connection) {
    for (uuid, email, recover) in [
        (
            ALICE,
            "alice@example.com",
            Some("RECOVERALICERECOVERALICERECOVERA"),
        ),
        (
            BOB,
            "bob@example.com",
            Some("RECOVERBOBRECOVERBOBRECOVERBOBRE"),
        ),
        (CAROL, "carol@example.com", None),
        (
            DAVE,
            "dave@example.com",
            Some("RECOVERDAVERECOVERDAVERECOVERDAV"),
        ),
    ] {
        exec(
            conn,
            "INSERT INTO users (uuid, created_at, updated_at, email, name, password_hash, salt,
                 password_iterations, akey, totp_recover, security_stamp, equivalent_domains,
                 excluded_globals, client_kdf_type, client_kdf_iter)
             VALUES (?1, '2025-01-01 10:00:00.000000', '2025-01-01 10:00:00.000000', ?2, ?3, ?4,
                     ?5, 100000, 'akey', ?6, ?7, '[]', '[]', 0, 5000)",
            params![
                uuid,
                email,
                email.split('@').next().unwrap(),
                hex(HASH),
                hex(SALT),
                recover,
                format!("stamp-{uuid}")
            ],
        );
    }
    let rows: &[(&str, &str, i64, String)] = &[
        ("tf-alice-totp", ALICE, 0, secret_of("alice")),
        (
            "tf-alice-mail",
            ALICE,
            1,
            r#"{"email":"alice@example.com","last_token":null,"token_sent":0,"attempts":0}"#
                .to_owned(),
        ),
        ("tf-bob-totp", BOB, 0, secret_of("bob")),
        ("tf-dave-totp", DAVE, 0, secret_of("dave")),
    ];
    for (uuid, user, atype, data) in rows {
        exec(
            conn,
            "INSERT INTO twofactor (uuid, user_uuid, atype, enabled, data, last_used)
             VALUES (?1, ?2, ?3, 1, ?4, 58000000)",
            params![uuid, user, atype, data],
        );
    }
    for (uuid, user) in [
        ("dev-a1", ALICE),
        ("dev-a2", ALICE),
        ("dev-b", BOB),
        ("dev-c", CAROL),
    ] {
        exec(
            conn,
            "INSERT INTO devices (uuid, created_at, updated_at, user_uuid, name, atype, refresh_token)
             VALUES (?1, '2025-01-01 10:00:00.000000', '2025-01-01 10:00:00.000000', ?2, 'firefox',
                     10, ?3)",
            params![uuid, user, format!("refresh-{uuid}")],
        );
    }
    exec(
        conn,
        "INSERT INTO twofactor_incomplete (user_uuid, device_uuid, device_name, login_time, ip_address)
         VALUES (?1, 'dev-new', 'chrome', '2025-01-02 10:00:00.000000', '192.0.2.7')",
        [ALICE],
    );
    exec(
        conn,
        "INSERT INTO organizations (uuid, name, billing_email) VALUES ('org-1', 'Acme', 'dave@example.com')",
        [],
    );
    exec(
        conn,
        "INSERT INTO users_organizations (uuid, user_uuid, org_uuid, access_all, akey, status, atype)
         VALUES ('member-1', ?1, 'org-1', 1, 'akey', 2, 0)",
        [DAVE],
    );
}

pub fn vaultwarden() -> Sandbox {
    sandbox("vaultwarden", "vaultwarden", fill)
}

/// The user's security stamp now.
fn stamp(sb: &Sandbox, uuid: &str) -> String {
    sb.conn()
        .query_row(
            "SELECT security_stamp FROM users WHERE uuid = ?1",
            [uuid],
            |r| r.get(0),
        )
        .unwrap()
}

/// A random (version 4) UUID in its usual text form.
#[track_caller]
fn assert_uuid_v4(s: &str) {
    let b = s.as_bytes();
    let ok = b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit() && !c.is_ascii_uppercase(),
        })
        && b[14] == b'4'
        && matches!(b[19], b'8' | b'9' | b'a' | b'b');
    assert!(ok, "not a version 4 UUID: {s:?}");
}

/// What the admin panel's remove_2fa() and deauth_user() leave, with the new stamp twofactl
/// wrote (a fresh UUID, as reset_security_stamp() makes).
fn remove_2fa_and_deauthorize(expected: &Expected, sb: &Sandbox, uuid: &str) {
    let new = stamp(sb, uuid);
    assert_ne!(
        new,
        format!("stamp-{uuid}"),
        "the security stamp should change"
    );
    assert_uuid_v4(&new);
    expected.exec("DELETE FROM twofactor WHERE user_uuid = ?1", [uuid]);
    expected.exec(
        "UPDATE users SET totp_recover = NULL, security_stamp = ?2 WHERE uuid = ?1",
        [uuid, &new],
    );
    expected.exec("DELETE FROM devices WHERE user_uuid = ?1", [uuid]);
}

#[test]
fn vaultwarden_list_users_reports_authenticator_rows_and_no_admins() {
    let sb = vaultwarden();
    assert_mapping_ok(&sb, 4);
    assert_listed(
        &sb,
        &[
            ("alice@example.com", "enabled", false, "alice@example.com"),
            ("bob@example.com", "enabled", false, "bob@example.com"),
            ("carol@example.com", "disabled", false, "carol@example.com"),
            // An organisation owner is not an administrator of Vaultwarden.
            ("dave@example.com", "enabled", false, "dave@example.com"),
        ],
    );
    assert_eq!(listed(&sb)["alice@example.com"]["id"], ALICE);
    let admins = sb.run(["--format", "json", "list-users", "--admins"]);
    admins.ok().stdout_empty();
}

#[test]
fn vaultwarden_admin_reset_removes_2fa_and_deauthorizes() {
    let sb = vaultwarden();
    let before = sb.hash();
    sb.reset(["bob@example.com", "--reason", "r", "--dry-run"])
        .ok();
    sb.assert_unchanged(&before);
    let expected = Expected::of(&sb);
    // No administrators: the organisation owner needs no --allow-admin.
    reset(&sb, "dave@example.com", &[]).stdout_contains("dave@example.com");
    reset(&sb, "bob@example.com", &[]).stdout_contains("bob@example.com (1 session revoked)");
    remove_2fa_and_deauthorize(&expected, &sb, DAVE);
    remove_2fa_and_deauthorize(&expected, &sb, BOB);
    expected.assert_same(&sb);
    // A reset is recorded against the uuid.
    let user: String = sb
        .conn()
        .query_row(
            "SELECT user_id FROM twofactl_audit WHERE username = 'bob@example.com'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(user, BOB);
}

/// Users reset in one run (one statement for them all) get a stamp each, not a shared one.
#[test]
fn vaultwarden_users_reset_together_get_a_security_stamp_each() {
    let sb = vaultwarden();
    let expected = Expected::of(&sb);
    reset(
        &sb,
        "dave@example.com",
        &["bob@example.com", "alice@example.com"],
    );
    let stamps = [stamp(&sb, ALICE), stamp(&sb, BOB), stamp(&sb, DAVE)];
    assert!(
        stamps[0] != stamps[1] && stamps[1] != stamps[2] && stamps[0] != stamps[2],
        "{stamps:?}"
    );
    for uuid in [ALICE, BOB, DAVE] {
        remove_2fa_and_deauthorize(&expected, &sb, uuid);
    }
    expected.assert_same(&sb);
}

#[test]
fn vaultwarden_self_service_with_the_bitwarden_client_hash_and_a_uuid_key() {
    let sb = vaultwarden();
    let expected = Expected::of(&sb);
    let to = self_service(&sb, "alice@example.com", PASSWORD);
    assert_eq!(to, "alice@example.com");
    // Every 2FA row (the e-mail one too), the recovery code, both devices; the unfinished
    // login stays, as Vaultwarden's own remove_2fa() leaves it.
    remove_2fa_and_deauthorize(&expected, &sb, ALICE);
    expected.assert_same(&sb);
    assert_notice_says_signed_out(&sb, true);
    // A wrong password is refused, and counted against the uuid.
    let mut cmd = sb.cmd();
    cmd.arg("--db")
        .arg(&sb.db)
        .args(["request-reset", "bob@example.com", "--password-stdin"])
        .write_stdin("not it\n");
    Run::of(&mut cmd).code(3).stderr_contains("wrong password");
    let failures: i64 = sb
        .conn()
        .query_row(
            "SELECT count(*) FROM twofactl_password_failures WHERE user_id = ?1",
            [BOB],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(failures, 1);
}

#[test]
#[ignore = "needs oathtool (.ci/run installs it)"]
fn vaultwarden_enroll_writes_an_authenticator_row_vaultwarden_accepts() {
    let sb = vaultwarden();
    let expected = Expected::of(&sb);
    let (key, uri) = enroll(&sb, "carol@example.com");
    assert!(uri.contains(":carol%40example.com?"), "{uri}");
    let (uuid, data): (String, String) = sb
        .conn()
        .query_row(
            "SELECT uuid, data FROM twofactor WHERE user_uuid = ?1",
            [CAROL],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_uuid_v4(&uuid);
    // activate_authenticator(): TwoFactor::new(user, Authenticator, key.to_uppercase()).
    expected.exec(
        "INSERT INTO twofactor (uuid, user_uuid, atype, enabled, data, last_used)
         VALUES (?1, ?2, 0, 1, ?3, 0)",
        [&uuid, CAROL, &key],
    );
    expected.assert_same(&sb);
    // Vaultwarden decodes with data_encoding's strict BASE32 and takes 20 bytes only, then
    // checks SHA-1, 6 digits, 30 s, one step either way.
    assert_eq!(data.len(), 32);
    assert_eq!(
        data_encoding::BASE32.decode(data.as_bytes()).unwrap().len(),
        20
    );
    assert!(oathtool_accepts(&data, &totp_at(&key, now())));
    assert_eq!(listed(&sb)["carol@example.com"]["status"], "enabled");
}
