//! Django with django-otp (`--profile django-otp`): a user has 2FA when a confirmed
//! `otp_totp_totpdevice` row is theirs (lower-case hex key); an unconfirmed one is a pending
//! key; administrators are superusers (`is_staff` alone is not). Turning 2FA off deletes the
//! user's TOTP devices and their static (backup code) devices with those devices' tokens, as
//! the admin's delete does through Django's ORM (the SQLite foreign keys have no cascade).
//!
//! Django itself checks the profile in one test (`#[ignore]`d: it needs python3 with Django
//! and django-otp, which .ci/run installs in `.venv`): its own `manage.py migrate` makes the
//! database, Django and django-otp make the users and devices, and after twofactl's
//! enrolment `TOTPDevice.verify_token` must accept a code from the new key, and after
//! twofactl's reset `django_otp.devices_for_user` must find nothing.

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use rusqlite::{Connection, params};
use sha2::{Digest, Sha256};

use super::*;
use crate::enroll::totp_at;
use crate::self_service::now;

/// `make_password("lètmein", "seasalt", "pbkdf2_sha256")` with Django 5.2's 1,000,000
/// iterations.
const PASSWORD: &str = "pbkdf2_sha256$1000000$seasalt$r1uLUxoxpP2Ued/qxvmje7UH9PUJBkRrvf9gGPL7Cps=";

/// A key as django-otp makes one: 20 bytes in lower-case hex.
fn key_of(name: &str) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(name.as_bytes())[..20])
}

/// A TOTP device row as `TOTPDevice.objects.create()` writes it (every column: Django's
/// tables have no defaults).
fn device(conn: &Connection, user: i64, name: &str, confirmed: bool, key: &str) {
    exec(
        conn,
        "INSERT INTO otp_totp_totpdevice (name, confirmed, key, step, t0, digits, tolerance,
             drift, last_t, user_id, throttling_failure_count, throttling_failure_timestamp,
             created_at, last_used_at)
         VALUES (?1, ?2, ?3, 30, 0, 6, 1, 0, -1, ?4, 0, NULL, '2025-01-01 10:00:00.000000', NULL)",
        params![name, confirmed, key, user],
    );
}

/// A static device with `n` backup tokens.
fn backup_codes(conn: &Connection, user: i64, n: usize) {
    exec(
        conn,
        "INSERT INTO otp_static_staticdevice (name, confirmed, user_id, throttling_failure_count,
             throttling_failure_timestamp, created_at, last_used_at)
         VALUES ('backup', 1, ?1, 0, NULL, '2025-01-01 10:00:00.000000', NULL)",
        [user],
    );
    let device = conn.last_insert_rowid();
    for i in 0..n {
        exec(
            conn,
            "INSERT INTO otp_static_statictoken (token, device_id) VALUES (?1, ?2)",
            params![format!("tok{user}x{i}"), device],
        );
    }
}

/// admin (superuser, a device, backup codes), alice (two confirmed devices and one waiting,
/// backup codes), bob (staff, not superuser: a device, backup codes), carol (an unconfirmed
/// device only), dave (nothing, and an empty e-mail address, which Django allows).
fn fill(conn: &Connection) {
    // (id, username, email, is_superuser, is_staff)
    for (id, name, email, superuser, staff) in [
        (1, "admin", "admin@example.com", true, true),
        (2, "alice", "alice@example.com", false, false),
        (3, "bob", "bob@example.com", false, true),
        (4, "carol", "carol@example.com", false, false),
        (5, "dave", "", false, false),
    ] {
        exec(
            conn,
            "INSERT INTO auth_user (id, password, last_login, is_superuser, username, last_name,
                 email, is_staff, is_active, date_joined, first_name)
             VALUES (?1, ?2, NULL, ?3, ?4, '', ?5, ?6, 1, '2025-01-01 10:00:00.000000', '')",
            params![id, PASSWORD, superuser, name, email, staff],
        );
    }
    device(conn, 1, "phone", true, &key_of("admin"));
    backup_codes(conn, 1, 2);
    device(conn, 2, "phone", true, &key_of("alice"));
    device(conn, 2, "tablet", true, &key_of("alice tablet"));
    device(conn, 2, "new phone", false, &key_of("alice new"));
    backup_codes(conn, 2, 3);
    device(conn, 3, "phone", true, &key_of("bob"));
    backup_codes(conn, 3, 2);
    device(conn, 4, "new phone", false, &key_of("carol"));
}

pub fn django() -> Sandbox {
    sandbox("django", "django-otp", fill)
}

/// What deleting the user's devices in Django's admin leaves (the ORM deletes a static
/// device's tokens with it).
fn delete_devices(expected: &Expected, user: i64) {
    expected.exec(
        "DELETE FROM otp_static_statictoken WHERE device_id IN
             (SELECT id FROM otp_static_staticdevice WHERE user_id = ?1)",
        [user],
    );
    expected.exec(
        "DELETE FROM otp_static_staticdevice WHERE user_id = ?1",
        [user],
    );
    expected.exec("DELETE FROM otp_totp_totpdevice WHERE user_id = ?1", [user]);
}

#[test]
fn django_list_users_reports_confirmed_devices_and_superusers() {
    let sb = django();
    assert_mapping_ok(&sb, 5);
    assert_listed(
        &sb,
        &[
            ("admin", "enabled", true, "admin@example.com"),
            // A confirmed device is enough; the one waiting does not change that.
            ("alice", "enabled", false, "alice@example.com"),
            // Staff may use the admin site, but only a superuser is an administrator.
            ("bob", "enabled", false, "bob@example.com"),
            ("carol", "pending", false, "carol@example.com"),
            ("dave", "disabled", false, ""),
        ],
    );
}

#[test]
fn django_admin_reset_deletes_the_users_devices_and_backup_codes_only() {
    let sb = django();
    assert_guarded(&sb, "admin", "alice");
    let expected = Expected::of(&sb);
    delete_devices(&expected, 2);
    delete_devices(&expected, 4);
    delete_devices(&expected, 1);
    reset(&sb, "alice", &[]).stdout_contains("alice");
    reset(&sb, "carol", &[]);
    reset(&sb, "admin@example.com", &["--allow-admin"]);
    // bob's devices and tokens are all still there.
    expected.assert_same(&sb);
}

/// The device twofactl wrote for `user`: (id, created_at).
fn new_device(sb: &Sandbox, user: i64) -> (i64, String) {
    sb.conn()
        .query_row(
            "SELECT id, created_at FROM otp_totp_totpdevice WHERE user_id = ?1",
            [user],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

#[test]
fn django_enroll_writes_a_confirmed_device_as_django_otp_makes_one() {
    let sb = django();
    let expected = Expected::of(&sb);
    let before = now();
    let (key, uri) = enroll(&sb, "dave");
    assert!(
        uri.starts_with(&format!("otpauth://totp/{ISSUER}:dave?")),
        "{uri}"
    );
    let hex = data_encoding::HEXLOWER
        .encode(&data_encoding::BASE32_NOPAD.decode(key.as_bytes()).unwrap());
    let (id, created) = new_device(&sb, 5);
    // created_at as Django writes a DateTimeField in UTC: "YYYY-MM-DD HH:MM:SS.ffffff".
    let unix = crate::self_service::unix_of(&format!("{}T{}Z", &created[..10], &created[11..19]));
    assert!((before - 1..=now()).contains(&unix), "{created}");
    assert_eq!(created.len(), 26, "{created}");
    expected.exec(
        "INSERT INTO otp_totp_totpdevice (id, name, confirmed, key, step, t0, digits, tolerance,
             drift, last_t, user_id, throttling_failure_count, throttling_failure_timestamp,
             created_at, last_used_at)
         VALUES (?1, 'twofactl', 1, ?2, 30, 0, 6, 1, 0, -1, 5, 0, NULL, ?3, NULL)",
        params![id, hex, created],
    );
    expected.assert_same(&sb);
    assert_eq!(hex.len(), 40, "20 bytes, django-otp's default");

    // carol's device, made by the application and not confirmed, is confirmed with a code
    // from its key: a confirmed device with that key replaces it.
    confirm(
        &sb,
        "carol",
        &data_encoding::BASE32_NOPAD.encode(
            &data_encoding::HEXLOWER
                .decode(key_of("carol").as_bytes())
                .unwrap(),
        ),
    );
    let (id, created) = new_device(&sb, 4);
    expected.exec("DELETE FROM otp_totp_totpdevice WHERE user_id = 4", []);
    expected.exec(
        "INSERT INTO otp_totp_totpdevice (id, name, confirmed, key, step, t0, digits, tolerance,
             drift, last_t, user_id, throttling_failure_count, throttling_failure_timestamp,
             created_at, last_used_at)
         VALUES (?1, 'twofactl', 1, ?2, 30, 0, 6, 1, 0, -1, 4, 0, NULL, ?3, NULL)",
        params![id, key_of("carol"), created],
    );
    expected.assert_same(&sb);
    assert_eq!(listed(&sb)["carol"]["status"], "enabled");
}

#[test]
fn django_self_service_checks_pbkdf2_sha256() {
    let sb = django();
    let expected = Expected::of(&sb);
    delete_devices(&expected, 3);
    assert_eq!(self_service(&sb, "bob", "lètmein"), "bob@example.com");
    expected.assert_same(&sb);
    assert_notice_says_signed_out(&sb, false);
}

// ---- Django itself ---------------------------------------------------------------------------

/// The interpreter with Django and django-otp: `TWOFACTL_TEST_PYTHON`, or `.venv/bin/python`
/// at the repository's root (made by .ci/run). A missing one fails the test.
pub fn python() -> PathBuf {
    let path = std::env::var_os("TWOFACTL_TEST_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"),
        PathBuf::from,
    );
    assert!(
        path.is_file(),
        "no Python with Django and django-otp at {}: run `python3 -m venv .venv && \
         .venv/bin/pip install django django-otp` (as .ci/run does), or set TWOFACTL_TEST_PYTHON",
        path.display()
    );
    path
}

/// Run a script of tests/fixtures/django on the database `db`; its stdout.
#[track_caller]
fn run_python(db: &Path, args: &[&str]) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/django");
    let out = StdCommand::new(python())
        .args(args)
        .current_dir(&dir)
        .env("TWOFACTL_DJANGO_DB", db)
        .env("DJANGO_SETTINGS_MODULE", "settings")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `otp.py COMMAND ARGS`: its JSON answer.
#[track_caller]
fn otp(db: &Path, args: &[&str]) -> Value {
    let mut all = vec!["otp.py"];
    all.extend_from_slice(args);
    serde_json::from_str(run_python(db, &all).trim()).unwrap()
}

/// The columns (name, type, not null, default, primary key) of a table.
fn table_info(conn: &Connection, table: &str) -> Vec<(String, String, bool, Option<String>, i64)> {
    conn.prepare("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?1)")
        .unwrap()
        .query_map([table], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

#[test]
#[ignore = "needs python3 with django and django-otp"]
fn django_otp_accepts_the_key_twofactl_enrolled_and_finds_no_device_after_a_reset() {
    let sb = Sandbox::empty();
    sb.write_config(&config("django-otp", ""));
    run_python(&sb.db, &["manage.py", "migrate", "--verbosity", "0"]);
    // The fixture's tables are the ones Django's migrations made.
    let fixture = Connection::open_in_memory().unwrap();
    fixture.execute_batch(&schema("django")).unwrap();
    let conn = sb.conn();
    for table in [
        "auth_user",
        "otp_totp_totpdevice",
        "otp_static_staticdevice",
        "otp_static_statictoken",
        "django_session",
    ] {
        assert_eq!(
            table_info(&conn, table),
            table_info(&fixture, table),
            "{table}"
        );
    }
    drop(conn);
    otp(&sb.db, &["setup"]);
    assert_listed(
        &sb,
        &[
            ("admin", "enabled", true, "admin@example.com"),
            ("alice", "enabled", false, "alice@example.com"),
            ("bob", "enabled", false, "bob@example.com"),
            ("carol", "pending", false, "carol@example.com"),
            ("dave", "disabled", false, ""),
        ],
    );

    // A key for dave, confirmed: django-otp accepts a code the test computes from it.
    let (key, _) = enroll(&sb, "dave");
    let code = totp_at(&key, now());
    let answer = otp(&sb.db, &["verify", "dave", &code]);
    assert_eq!(answer["accepted"].as_array().unwrap().len(), 1, "{answer}");
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    assert_eq!(
        otp(&sb.db, &["verify", "dave", &wrong])["accepted"],
        serde_json::json!([])
    );

    // alice reset: django-otp finds no device of hers (nor a token), bob keeps his.
    assert_eq!(otp(&sb.db, &["devices", "alice"])["static_tokens"], 3);
    reset(&sb, "alice", &[]);
    assert_eq!(
        otp(&sb.db, &["devices", "alice"]),
        serde_json::json!({"devices": [], "static_tokens": 0})
    );
    let bob = otp(&sb.db, &["devices", "bob"]);
    assert_eq!(bob["devices"].as_array().unwrap().len(), 2, "{bob}");
    assert_eq!(bob["static_tokens"], 3);
}
