//! Passwords hashed by the applications' own libraries (tests/fixtures/password-hashes.tsv, made
//! by tests/fixtures/make-password-hashes.sh with PHP, Django, bcrypt, passlib and argon2-cffi,
//! never by twofactl), one test per format family so that they run in parallel.

use super::*;

const FIXTURES: &str = include_str!("../../../tests/fixtures/password-hashes.tsv");

/// One row of the fixture file, its blobs decoded.
struct Row<'a> {
    format: &'a str,
    maker: &'a str,
    password: &'a str,
    stored: &'a str,
    salt: &'a str,
    algo: &'a str,
    email: &'a str,
    blobs: (Vec<u8>, Vec<u8>),
    kdf: Option<ClientKdf>,
    iterations: i64,
}

impl<'a> Row<'a> {
    fn parse(line: &'a str) -> Self {
        let c: Vec<&str> = line.split('\t').collect();
        assert_eq!(c.len(), 12, "{line}");
        let opt = |s: &str| (!s.is_empty()).then(|| s.parse::<i64>().unwrap());
        let vaultwarden = c[0] == "vaultwarden";
        Row {
            format: c[0],
            maker: c[1],
            password: c[2],
            stored: c[3],
            salt: c[4],
            algo: c[5],
            email: c[6],
            blobs: if vaultwarden {
                (kdf::hex(c[3]).unwrap(), kdf::hex(c[4]).unwrap())
            } else {
                (Vec::new(), Vec::new())
            },
            kdf: vaultwarden.then(|| {
                ClientKdf::from_columns(
                    opt(c[7]).unwrap(),
                    opt(c[8]).unwrap(),
                    opt(c[9]),
                    opt(c[10]),
                )
                .unwrap()
            }),
            iterations: opt(c[11]).unwrap_or(0),
        }
    }

    fn stored(&self) -> StoredPassword<'_> {
        self.stored_with(self.stored, &self.blobs.0)
    }

    fn stored_with<'b>(&'b self, value: &'b str, blob: &'b [u8]) -> StoredPassword<'b> {
        match self.format {
            "gitea" => StoredPassword::Gitea {
                passwd: value,
                salt: self.salt,
                algo: self.algo,
            },
            "wallabag" => StoredPassword::Wallabag {
                password: value,
                salt: self.salt,
            },
            "vaultwarden" => StoredPassword::Vaultwarden {
                password_hash: blob,
                salt: &self.blobs.1,
                password_iterations: self.iterations,
                email: self.email,
                kdf: self.kdf.unwrap(),
            },
            _ => StoredPassword::Encoded(value),
        }
    }
}

fn rows(formats: &[&str]) -> Vec<Row<'static>> {
    let rows: Vec<Row> = FIXTURES
        .lines()
        .skip(1)
        .map(Row::parse)
        .filter(|r| formats.contains(&r.format))
        .collect();
    for f in formats {
        assert!(rows.iter().any(|r| r.format == *f), "no fixture for {f}");
    }
    rows
}

/// The last character of the hash part (before any `=` padding), changed to another of the
/// same alphabet.
fn edited(value: &str) -> String {
    let end = value.trim_end_matches('=').len();
    let last = value[..end].chars().next_back().unwrap();
    let other = match last {
        '0' => '1',
        'A' => 'B',
        _ if last.is_ascii_hexdigit() => '0',
        _ => 'A',
    };
    format!(
        "{}{other}{}",
        &value[..end - last.len_utf8()],
        &value[end..]
    )
}

/// Right password, wrong password, an edited hash and a wrongly pinned format, for each row.
#[track_caller]
fn check_family(formats: &[&str]) {
    for row in rows(formats) {
        let what = format!("{} by {}: {}", row.format, row.maker, row.stored);
        let stored = row.stored();
        let format = detect(&stored).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(format.name(), row.format, "{what}");
        let pw = row.password.as_bytes();
        assert_eq!(
            check_password(pw, &stored, PasswordFormat::Auto),
            PasswordCheck::Match,
            "{what}"
        );
        // Prepended, so that the first 72 bytes differ too (bcrypt reads no further).
        let wrong = format!("!{}", row.password);
        assert_eq!(
            check_password(wrong.as_bytes(), &stored, PasswordFormat::Auto),
            PasswordCheck::Mismatch,
            "{what}"
        );
        let (value, mut blob) = (edited(row.stored), row.blobs.0.clone());
        if let Some(b) = blob.last_mut() {
            *b ^= 1;
        }
        match check_password(pw, &row.stored_with(&value, &blob), PasswordFormat::Auto) {
            PasswordCheck::Match => panic!("{what}: an edited hash matched"),
            PasswordCheck::Mismatch => {}
            PasswordCheck::Unreadable(why) => assert_secret_free(&why, &row, &what),
        }
        let other = if format == Format::Bcrypt {
            Format::Argon2
        } else {
            Format::Bcrypt
        };
        match check_password(pw, &stored, PasswordFormat::Pinned(other)) {
            PasswordCheck::Unreadable(why) => {
                assert!(
                    why.contains("pinned format bcrypt") || why.contains("pinned format argon2"),
                    "{why}"
                );
                assert!(why.contains(row.format), "{why}");
                assert_secret_free(&why, &row, &what);
            }
            other => panic!("{what}: pinned to another format: {other:?}"),
        }
    }
}

#[track_caller]
fn assert_secret_free(why: &str, row: &Row, what: &str) {
    for secret in [row.stored, row.salt, row.password] {
        assert!(secret.len() < 8 || !why.contains(secret), "{what}: {why}");
    }
    let tail = &row.stored[row.stored.len().saturating_sub(12)..];
    assert!(!why.contains(tail), "{what}: {why}");
}

#[test]
fn argon2_from_php_and_argon2_cffi() {
    check_family(&["argon2"]);
}

#[test]
fn bcrypt_from_php_and_python() {
    check_family(&["bcrypt"]);
}

#[test]
fn django_make_password_for_every_hasher() {
    check_family(&[
        "django-pbkdf2-sha256",
        "django-pbkdf2-sha1",
        "django-argon2",
        "django-bcrypt-sha256",
        "django-bcrypt",
        "django-scrypt",
    ]);
}

#[test]
fn passlib_pbkdf2_and_scrypt() {
    check_family(&[
        "passlib-pbkdf2-sha256",
        "passlib-pbkdf2-sha512",
        "passlib-pbkdf2-sha1",
        "passlib-scrypt",
    ]);
}

#[test]
fn nextcloud_prefixed_hashes() {
    check_family(&["nextcloud"]);
}

#[test]
fn gitea_columns() {
    check_family(&["gitea"]);
}

#[test]
fn wallabag_columns() {
    check_family(&["wallabag"]);
}

#[test]
fn vaultwarden_columns() {
    check_family(&["vaultwarden"]);
}

#[test]
fn bcrypt_reads_72_bytes_as_php_does() {
    let mut n = 0;
    for row in rows(&["bcrypt", "nextcloud"]) {
        if row.password.len() <= 72 || !row.stored.contains("$2y$") {
            continue;
        }
        let mut same_start = row.password.as_bytes()[..72].to_vec();
        same_start.extend_from_slice(b" and another ending");
        assert_eq!(
            check_password(&same_start, &row.stored(), PasswordFormat::Auto),
            PasswordCheck::Match,
            "{}",
            row.maker
        );
        n += 1;
    }
    assert!(n >= 2);
}

#[test]
fn django_bcrypt_sha256_reads_the_whole_password() {
    for row in rows(&["django-bcrypt-sha256"]) {
        if row.password.len() > 72 {
            let mut same_start = row.password.as_bytes()[..72].to_vec();
            same_start.extend_from_slice(b" and another ending");
            let check = check_password(&same_start, &row.stored(), PasswordFormat::Auto);
            assert_eq!(check, PasswordCheck::Mismatch);
        }
    }
}

/// Made by tests/fixtures/make-argon2-hashes.sh: libargon2 and argon2-cffi, argon2id/i/d,
/// v=16 and v=19, p=1 and p=4.
#[test]
fn argon2_from_libargon2_and_argon2_cffi() {
    let fixtures = include_str!("../../../tests/fixtures/argon2-hashes.tsv");
    let mut n = 0;
    for line in fixtures.lines().skip(1) {
        let stored = StoredPassword::Encoded(line.rsplit('\t').next().unwrap());
        let check = |pw: &[u8]| check_password(pw, &stored, PasswordFormat::Auto);
        assert_eq!(
            check(b"correct horse battery staple"),
            PasswordCheck::Match,
            "{line}"
        );
        assert_eq!(
            check(b"correct horse battery stapler"),
            PasswordCheck::Mismatch,
            "{line}"
        );
        n += 1;
    }
    assert_eq!(n, 24);
}

#[track_caller]
fn unreadable(value: &str) -> String {
    match check_password(b"x", &StoredPassword::Encoded(value), PasswordFormat::Auto) {
        PasswordCheck::Unreadable(why) => why,
        other => panic!("{value}: {other:?}"),
    }
}

#[test]
fn absurd_parameters_are_refused_naming_the_format() {
    let salt = "c29tZXNhbHRzb21lc2FsdA";
    let hash = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    for (value, format) in [
        (
            format!("$argon2id$v=19$m=4194304,t=1,p=1${salt}${hash}"),
            "argon2",
        ),
        (
            format!("$argon2i$v=19$m=1048576,t=100,p=1${salt}${hash}"),
            "argon2",
        ),
        (
            "$2y$31$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234".into(),
            "bcrypt",
        ),
        (
            "$2b$17$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234".into(),
            "bcrypt",
        ),
        (
            format!("pbkdf2_sha256$4000000000$salt${hash}="),
            "django-pbkdf2-sha256",
        ),
        (format!("scrypt$1048576$salt$16$1${hash}"), "django-scrypt"),
        (
            format!("scrypt$16384$salt$8$100000${hash}"),
            "django-scrypt",
        ),
        (
            format!("$pbkdf2-sha512$99999999${salt}${hash}"),
            "passlib-pbkdf2-sha512",
        ),
        (
            format!("$scrypt$ln=30,r=8,p=1${salt}${hash}"),
            "passlib-scrypt",
        ),
        (
            format!("3|$argon2id$v=19$m=2000000,t=1,p=1${salt}${hash}"),
            "nextcloud",
        ),
    ] {
        let why = unreadable(&value);
        assert!(
            why.starts_with(&format!("a {format} hash: ")),
            "{value}: {why}"
        );
        assert!(!why.contains(hash) && !why.contains(salt), "{why}");
    }
    let gitea = StoredPassword::Gitea {
        passwd: "00",
        salt: "00112233445566778899aabbccddeeff",
        algo: "scrypt$1073741824$8$1$1",
    };
    let why = check_password(b"x", &gitea, PasswordFormat::Auto);
    assert!(
        matches!(&why, PasswordCheck::Unreadable(w) if w.starts_with("a gitea hash")),
        "{why:?}"
    );
}

#[test]
fn unknown_and_legacy_values_are_refused() {
    assert!(unreadable("plaintext").contains("not a password hash format"));
    assert!(unreadable("").contains("empty"));
    assert!(unreadable("!XyZunusable").contains("unusable"));
    assert!(unreadable("86f7e437faa5a7fce15d1ddcb9eaeaea377667b8").contains("unsalted SHA-1"));
    assert!(unreadable("$6$rounds=5000$salt$hash").contains("SHA-512-crypt"));
    assert!(
        unreadable("$2x$10$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234").contains("$2x$")
    );
    assert!(
        unreadable("4|$2y$10$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234")
            .starts_with("a nextcloud hash")
    );
    assert!(unreadable("md5$salt$0123").contains("Django's salted MD5"));
    assert!(unreadable("$2b$12$abcdefghijklmnopqrstuv").starts_with("a bcrypt hash"));
}

#[test]
fn password_formats_parse_and_list_the_accepted_names() {
    assert_eq!("auto".parse(), Ok(PasswordFormat::Auto));
    for f in Format::ALL {
        assert_eq!(f.name().parse(), Ok(PasswordFormat::Pinned(f)));
    }
    let e = "md5".parse::<PasswordFormat>().unwrap_err();
    assert!(
        e.contains("auto, argon2, bcrypt, django-pbkdf2-sha256"),
        "{e}"
    );
    assert!(e.ends_with("gitea, wallabag, vaultwarden)"), "{e}");
}

#[test]
fn a_pinned_format_refuses_an_undetectable_value_naming_it() {
    let stored = StoredPassword::Encoded("plaintext");
    let check = check_password(b"x", &stored, PasswordFormat::Pinned(Format::DjangoArgon2));
    assert_eq!(
        check,
        PasswordCheck::Unreadable(
            "not in the pinned format django-argon2 (password_format = \"django-argon2\"): \
             not a password hash format twofactl reads"
                .into()
        )
    );
}

#[test]
fn newer_wallabag_values_are_read_by_their_prefix() {
    // PHP 8.2: password_hash(str_repeat("x", 80), PASSWORD_BCRYPT, ["cost" => 4]).
    let stored = StoredPassword::Wallabag {
        password: "$2y$04$4T1gQy/LP3bKCPdsvuVdA.t9SFJXSsK32sgOsByTBusb4G3YcuMjy",
        salt: "",
    };
    assert_eq!(detect(&stored), Ok(Format::Bcrypt));
    assert_eq!(
        check_password(&[b'x'; 80], &stored, PasswordFormat::Auto),
        PasswordCheck::Match
    );
    let braces = StoredPassword::Wallabag {
        password: "AAAA",
        salt: "{x}",
    };
    assert!(matches!(
        check_password(b"x", &braces, PasswordFormat::Auto),
        PasswordCheck::Unreadable(_)
    ));
}

#[test]
fn client_kdf_columns() {
    assert_eq!(
        ClientKdf::from_columns(0, 600_000, None, None),
        Ok(ClientKdf::Pbkdf2 {
            iterations: 600_000
        })
    );
    assert_eq!(
        ClientKdf::from_columns(1, 3, Some(64), Some(4)),
        Ok(ClientKdf::Argon2id {
            iterations: 3,
            memory_mib: 64,
            parallelism: 4
        })
    );
    assert!(ClientKdf::from_columns(1, 3, None, Some(4)).is_err());
    assert!(ClientKdf::from_columns(2, 3, None, None).is_err());
    assert!(ClientKdf::from_columns(0, -1, None, None).is_err());
}
