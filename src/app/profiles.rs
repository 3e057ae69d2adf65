//! Profiles: how real applications keep users and TOTP keys, each read from the
//! application's own source (cited beside it), and the generic mapping of `[schema]` keys
//! (the `default` profile, the sample application's schema). A profile is a [`Mapping`];
//! explicit `[schema]` keys override its names where they apply.

use rusqlite::types::Value;

use super::{
    Active, Admin, Also, App, Cleared, Email, Encoding, Fill, KeyStore, Mapping, Password, Scheme,
    Sessions, q,
};
use crate::config::{KeyCleared, KeyEncoding, SchemaSection};
use crate::error::{Exit, Failure, fail};

/// The profile names `[schema] profile` takes.
pub const NAMES: &[&str] = &[
    "default",
    "kanboard",
    "wallabag",
    "django-otp",
    "vaultwarden",
    "gitea",
    "forgejo",
    "nextcloud",
];

/// Adapt a profile to the version found in the database: wallabag 2.7 has a
/// `google_authenticator` flag that 2.6 lacks (`migrations/Version20250413133131.php`).
pub fn adapt(
    app: &mut App,
    mut columns: impl FnMut(&str) -> anyhow::Result<Vec<String>>,
) -> anyhow::Result<()> {
    if app.profile == "wallabag"
        && let KeyStore::Columns { active, .. } = &mut app.map.key
        && *active == Active::Present
        && columns(&app.map.users)?
            .iter()
            .any(|c| c == "google_authenticator")
    {
        *active = Active::Flag(q("google_authenticator"));
    }
    Ok(())
}

/// The application described by `[schema]`: its profile, with explicit keys over it.
pub fn app(s: &SchemaSection) -> Result<App, Failure> {
    let name = s.profile.as_deref().unwrap_or("default");
    let (profile, mut map) = match name {
        "default" => ("default", default()),
        "kanboard" => ("kanboard", kanboard()),
        "wallabag" => ("wallabag", wallabag()),
        "django-otp" => ("django-otp", django_otp()),
        "vaultwarden" => ("vaultwarden", vaultwarden()),
        "gitea" => ("gitea", gitea()),
        "forgejo" => ("forgejo", gitea()),
        "nextcloud" => ("nextcloud", nextcloud()),
        other => {
            return Err(fail(
                Exit::Config,
                format!("unknown profile {:?}", crate::output::safe(other)),
            )
            .hint(format!("[schema] profile is one of: {}", NAMES.join(", "))));
        }
    };
    overrides(&mut map, s)?;
    Ok(App {
        profile,
        map,
        dialect: super::Dialect::Sqlite,
    })
}

/// The sample application (schema/app-schema.sql): everything in `users`, a `sessions` table
/// and a `settings` table.
fn default() -> Mapping {
    Mapping {
        users: q("users"),
        id: q("id"),
        username: q("username"),
        email: Email::Column(q("email")),
        password: Some(Password {
            hash: q("password_hash"),
            ..Password::default()
        }),
        admin: Admin::Flag(q("is_admin")),
        key: KeyStore::Columns {
            secret: q("totp_secret"),
            active: Active::Flag(q("totp_enabled")),
            cleared: Cleared::Null,
            encoding: Encoding::Base32,
        },
        also: Vec::new(),
        sessions: vec![Sessions {
            table: q("sessions"),
            user: q("user_id"),
        }],
        sessions_caveat: None,
        settings: Some(q("settings")),
    }
}

/// Kanboard (kanboard/kanboard v1.2.53): `app/Schema/Sqlite.php` (version_60: the two
/// columns; version_91: `role`), `app/Controller/TwoFactorController.php` (`deactivate()` and
/// `disable()` write `twofactor_activated = 0, twofactor_secret = ''`; `test()` writes the
/// base32 key and 1), `app/Model/UserModel.php::isAdmin()` (`role = 'app-admin'`),
/// `app/Model/RememberMeSessionModel.php` (`remember_me` rows per `user_id`: a remember-me
/// login skips the code, `app/Subscriber/AuthSubscriber.php`). PHP sessions are serialised
/// blobs in `sessions(data)` (or files): they are not ended.
fn kanboard() -> Mapping {
    Mapping {
        users: q("users"),
        id: q("id"),
        username: q("username"),
        email: Email::Column(q("email")),
        password: Some(Password {
            hash: q("password"),
            ..Password::default()
        }),
        admin: Admin::Equals(q("role"), "app-admin".to_owned()),
        key: KeyStore::Columns {
            secret: q("twofactor_secret"),
            active: Active::Flag(q("twofactor_activated")),
            cleared: Cleared::Empty,
            encoding: Encoding::Base32,
        },
        also: Vec::new(),
        sessions: vec![Sessions {
            table: q("remember_me"),
            user: q("user_id"),
        }],
        sessions_caveat: Some(
            "Kanboard's open browser sessions (PHP session data) were not ended; its remember-me logins were",
        ),
        settings: None,
    }
}

/// wallabag (wallabag/wallabag 2.6 / 2.7-dev): `src/Entity/User.php` (table `user` with the
/// `wallabag_` prefix; `googleAuthenticatorSecret`, `backupCodes`, `roles` serialised by
/// Doctrine's `array` type), `src/Controller/ConfigController.php::disableOtpAppAction()`
/// (the secret becomes `''`, `backupCodes` NULL). `ROLE_SUPER_ADMIN` in `roles` is an
/// administrator (`InstallCommand::setupAdmin()`). Up to 2.6 the key is active as soon as it is
/// set; the `google_authenticator` flag of 2.7 is mapped with `[schema] totp_enabled`.
/// Sessions are PHP's (files by default): not ended.
fn wallabag() -> Mapping {
    Mapping {
        users: q("wallabag_user"),
        id: q("id"),
        username: q("username"),
        email: Email::Column(q("email")),
        password: Some(Password {
            hash: q("password"),
            extra: vec![(q("salt"), "salt".to_owned())],
            scheme: Scheme::Wallabag,
            ..Password::default()
        }),
        admin: Admin::Contains(q("roles"), "ROLE_SUPER_ADMIN".to_owned()),
        key: KeyStore::Columns {
            secret: q("googleAuthenticatorSecret"),
            active: Active::Present,
            cleared: Cleared::Empty,
            encoding: Encoding::Base32,
        },
        also: vec![Also::Set {
            column: q("backupCodes"),
            value: Fill::Null,
        }],
        sessions: Vec::new(),
        sessions_caveat: Some(
            "wallabag keeps logins in PHP sessions outside its database: they were not ended",
        ),
        settings: None,
    }
}

/// Django with django-otp (django-otp 1.7.0, Django 5.2): `plugins/otp_totp/models.py`
/// (`TOTPDevice`: hex `key`, `confirmed`; several devices per user), the migrations of
/// `otp_totp` and `otp_static`; turning 2FA off means deleting the devices
/// (`plugins/otp_totp/admin.py`, `Model.delete()`), and the static backup tokens with their
/// devices. A new device is written as `TOTPDevice` defaults make it (step 30, digits 6,
/// tolerance 1, drift 0, last_t -1). Admin: `auth_user.is_superuser`. Sessions: signed
/// blobs in `django_session`, not ended here.
fn django_otp() -> Mapping {
    Mapping {
        users: q("auth_user"),
        id: q("id"),
        username: q("username"),
        email: Email::Column(q("email")),
        password: Some(Password {
            hash: q("password"),
            ..Password::default()
        }),
        admin: Admin::Flag(q("is_superuser")),
        key: KeyStore::Rows {
            table: q("otp_totp_totpdevice"),
            user: q("user_id"),
            secret: q("key"),
            kind: None,
            active: Active::Flag(q("confirmed")),
            encoding: Encoding::Hex,
            fill: vec![
                (q("name"), Fill::Text("twofactl".to_owned())),
                (q("step"), Fill::Int(30)),
                (q("t0"), Fill::Int(0)),
                (q("digits"), Fill::Int(6)),
                (q("tolerance"), Fill::Int(1)),
                (q("drift"), Fill::Int(0)),
                (q("last_t"), Fill::Int(-1)),
                (q("throttling_failure_count"), Fill::Int(0)),
                (q("throttling_failure_timestamp"), Fill::Null),
                (q("created_at"), Fill::NowText),
                (q("last_used_at"), Fill::Null),
            ],
        },
        also: vec![
            Also::DeleteChildren {
                table: q("otp_static_statictoken"),
                column: q("device_id"),
                parent: q("otp_static_staticdevice"),
                parent_id: q("id"),
                parent_user: q("user_id"),
            },
            Also::Delete {
                table: q("otp_static_staticdevice"),
                user: q("user_id"),
                only: None,
            },
        ],
        sessions: Vec::new(),
        sessions_caveat: Some(
            "Django's sessions (signed data in django_session) were not ended; a session verified with the removed device is no longer verified",
        ),
        settings: None,
    }
}

/// Vaultwarden (dani-garcia/vaultwarden 1.37): `src/db/models/two_factor.rs` (`twofactor`
/// rows, `atype` 0 = authenticator, base32 `data` of a 20-byte key), `src/api/admin.rs::
/// remove_2fa()` (every `twofactor` row of the user deleted, `totp_recover` cleared). Text
/// uuids are the users' keys. There are no administrator users (an admin token instead).
/// Logins are the `devices` rows' refresh tokens: deleted, so every client signs in again.
fn vaultwarden() -> Mapping {
    Mapping {
        users: q("users"),
        id: q("uuid"),
        username: q("email"),
        email: Email::Column(q("email")),
        password: Some(Password {
            hash: q("password_hash"),
            extra: vec![
                (q("salt"), "salt".to_owned()),
                (q("password_iterations"), "password_iterations".to_owned()),
                (q("client_kdf_type"), "client_kdf_type".to_owned()),
                (q("client_kdf_iter"), "client_kdf_iter".to_owned()),
                (q("client_kdf_memory"), "client_kdf_memory".to_owned()),
                (
                    q("client_kdf_parallelism"),
                    "client_kdf_parallelism".to_owned(),
                ),
                (q("email"), "email".to_owned()),
            ],
            scheme: Scheme::Vaultwarden,
            ..Password::default()
        }),
        admin: Admin::Nobody,
        key: KeyStore::Rows {
            table: q("twofactor"),
            user: q("user_uuid"),
            secret: q("data"),
            kind: Some((q("atype"), Value::Integer(0))),
            active: Active::Flag(q("enabled")),
            encoding: Encoding::Base32,
            fill: vec![(q("uuid"), Fill::Uuid), (q("last_used"), Fill::Int(0))],
        },
        // The admin panel's remove_2fa(): every 2FA row, the recovery code; and, as its
        // "deauthorize" does, a new security stamp so that every client must sign in again.
        also: vec![
            Also::Delete {
                table: q("twofactor"),
                user: q("user_uuid"),
                only: None,
            },
            Also::Set {
                column: q("totp_recover"),
                value: Fill::Null,
            },
            Also::Set {
                column: q("security_stamp"),
                value: Fill::Uuid,
            },
        ],
        sessions: vec![Sessions {
            table: q("devices"),
            user: q("user_uuid"),
        }],
        sessions_caveat: None,
        settings: None,
    }
}

/// Gitea and Forgejo (go-gitea/gitea `models/auth/twofactor.go`: a `two_factor` row per user
/// means 2FA is on, its `secret` encrypted with the instance's SECRET_KEY; turning it off
/// deletes the row, scratch token included). Admin: `user.is_admin`. Keys are encrypted, so
/// twofactl does not enrol; sessions live in Gitea's session store (memory by default).
fn gitea() -> Mapping {
    Mapping {
        users: q("user"),
        id: q("id"),
        username: q("lower_name"),
        email: Email::Column(q("email")),
        password: Some(Password {
            hash: q("passwd"),
            extra: vec![
                (q("salt"), "salt".to_owned()),
                (q("passwd_hash_algo"), "passwd_hash_algo".to_owned()),
            ],
            scheme: Scheme::Gitea,
            ..Password::default()
        }),
        admin: Admin::Flag(q("is_admin")),
        key: KeyStore::Rows {
            table: q("two_factor"),
            user: q("uid"),
            secret: q("secret"),
            kind: None,
            active: Active::Present,
            encoding: Encoding::Encrypted,
            fill: Vec::new(),
        },
        also: Vec::new(),
        sessions: Vec::new(),
        sessions_caveat: Some(
            "Gitea's sessions are in its session store, outside the database tables twofactl changes: they were not ended",
        ),
        settings: None,
    }
}

/// Nextcloud (nextcloud/twofactor_totp `lib/Db/TotpSecret.php`: `oc_twofactor_totp_secrets`,
/// the secret encrypted with ICrypto, `state` 2 = enabled, 1 = created; `Service/Totp.php::
/// deleteSecret()` deletes the row, and the provider registry `oc_twofactor_providers`
/// records `totp` disabled). Text uids; e-mail in `oc_preferences` (`settings`/`email`);
/// administrators are members of group `admin` (`oc_group_user`); logins are
/// `oc_authtoken` rows (deleted: every session and app password signs in again).
fn nextcloud() -> Mapping {
    Mapping {
        users: q("oc_users"),
        id: q("uid"),
        username: q("uid"),
        email: Email::Preference {
            table: q("oc_preferences"),
            user: q("userid"),
            section: (q("appid"), "settings".to_owned()),
            key_column: q("configkey"),
            key: "email".to_owned(),
            value: q("configvalue"),
        },
        password: Some(Password {
            hash: q("password"),
            ..Password::default()
        }),
        admin: Admin::Member {
            table: q("oc_group_user"),
            user: q("uid"),
            group: q("gid"),
            value: "admin".to_owned(),
        },
        key: KeyStore::Rows {
            table: q("oc_twofactor_totp_secrets"),
            user: q("user_id"),
            secret: q("secret"),
            kind: None,
            active: Active::State(q("state"), 2),
            encoding: Encoding::Encrypted,
            fill: Vec::new(),
        },
        // Totp::deleteSecret() and the registry's disableProviderFor(): Nextcloud asks the
        // registry first, so the `totp` provider must be recorded as disabled. Logins: the
        // user's oc_authtoken rows and remember-me tokens in oc_preferences.
        also: vec![
            Also::Update {
                table: q("oc_twofactor_providers"),
                user: q("uid"),
                only: (q("provider_id"), Value::Text("totp".to_owned())),
                column: q("enabled"),
                value: Fill::Int(0),
            },
            Also::Delete {
                table: q("oc_preferences"),
                user: q("userid"),
                only: Some((q("appid"), Value::Text("login_token".to_owned()))),
            },
            Also::Delete {
                table: q("oc_preferences"),
                user: q("userid"),
                only: Some((q("appid"), Value::Text("login_token_2fa".to_owned()))),
            },
        ],
        sessions: vec![Sessions {
            table: q("oc_authtoken"),
            user: q("uid"),
        }],
        sessions_caveat: None,
        settings: None,
    }
}

/// Explicit `[schema]` keys over the profile's names.
fn overrides(map: &mut Mapping, s: &SchemaSection) -> Result<(), Failure> {
    let set = |slot: &mut String, v: &Option<crate::config::Ident>| {
        if let Some(v) = v {
            *slot = v.quoted();
        }
    };
    set(&mut map.users, &s.users_table);
    set(&mut map.id, &s.id);
    set(&mut map.username, &s.username);
    if let Some(e) = &s.email {
        map.email = match &e.0 {
            Some(c) => Email::Column(c.quoted()),
            None => Email::None,
        };
    }
    if let (Some(p), Some(c)) = (&mut map.password, &s.password_hash) {
        p.hash = c.quoted();
    }
    if let (Some(p), Some(f)) = (&mut map.password, &s.password_format) {
        p.format = f.parse().map_err(|why: String| {
            fail(Exit::Config, format!("[schema] password_format: {why}"))
                .hint("auto detects the format from the stored value")
        })?;
    }
    if let Some(c) = &s.is_admin {
        map.admin = match (&s.admin_value, &s.admin_contains) {
            (Some(v), _) => Admin::Equals(c.quoted(), v.clone()),
            (None, Some(v)) => Admin::Contains(c.quoted(), v.clone()),
            (None, None) => Admin::Flag(c.quoted()),
        };
    }
    key_overrides(&mut map.key, s)?;
    if let Some(t) = &s.sessions_table {
        map.sessions = match &t.0 {
            Some(t) => vec![Sessions {
                table: t.quoted(),
                user: s
                    .sessions_user_id
                    .as_ref()
                    .map_or_else(|| q("user_id"), |c| c.quoted()),
            }],
            None => Vec::new(),
        };
    } else if let Some(c) = &s.sessions_user_id {
        for sess in &mut map.sessions {
            sess.user = c.quoted();
        }
    }
    if let Some(t) = &s.settings_table {
        map.settings = t.0.as_ref().map(|t| t.quoted());
    }
    Ok(())
}

/// `[schema]` keys for the TOTP key: its column (`totp_secret`), the active marker
/// (`totp_enabled`, with `totp_enabled_value` for a state), and for a key in a table of its
/// own `key_table`, `key_user_id`, `key_kind_column` / `key_kind_value`; `key_encoding`,
/// `key_cleared`.
fn key_overrides(key: &mut KeyStore, s: &SchemaSection) -> Result<(), Failure> {
    if let Some(t) = &s.key_table {
        // A key in a table of its own: start from rows, keeping what the profile had.
        let (secret, active, encoding) = match key {
            KeyStore::Columns {
                secret,
                active,
                encoding,
                ..
            }
            | KeyStore::Rows {
                secret,
                active,
                encoding,
                ..
            } => (secret.clone(), active.clone(), *encoding),
        };
        *key = KeyStore::Rows {
            table: t.quoted(),
            user: q("user_id"),
            secret,
            kind: None,
            active,
            encoding,
            fill: Vec::new(),
        };
    }
    match key {
        KeyStore::Columns {
            secret,
            active,
            cleared,
            encoding,
        } => {
            if let Some(c) = &s.totp_secret {
                *secret = c.quoted();
            }
            apply_active(active, s);
            if let Some(c) = s.key_cleared {
                *cleared = match c {
                    KeyCleared::Null => Cleared::Null,
                    KeyCleared::Empty => Cleared::Empty,
                };
            }
            if let Some(e) = s.key_encoding {
                *encoding = encoding_of(e);
            }
        }
        KeyStore::Rows {
            user,
            secret,
            kind,
            active,
            encoding,
            ..
        } => {
            if let Some(c) = &s.key_user_id {
                *user = c.quoted();
            }
            if let Some(c) = &s.totp_secret {
                *secret = c.quoted();
            }
            match (&s.key_kind_column, &s.key_kind_value) {
                (Some(c), Some(v)) => *kind = Some((c.quoted(), toml_value(v))),
                (None, None) => {}
                _ => {
                    return Err(fail(
                        Exit::Config,
                        "[schema] key_kind_column and key_kind_value go together",
                    )
                    .hint("set both, or neither"));
                }
            }
            apply_active(active, s);
            if let Some(e) = s.key_encoding {
                *encoding = encoding_of(e);
            }
        }
    }
    Ok(())
}

fn encoding_of(e: KeyEncoding) -> Encoding {
    match e {
        KeyEncoding::Base32 => Encoding::Base32,
        KeyEncoding::Hex => Encoding::Hex,
        KeyEncoding::Encrypted => Encoding::Encrypted,
    }
}

fn apply_active(active: &mut Active, s: &SchemaSection) {
    match (&s.totp_enabled, s.totp_enabled_value) {
        (Some(c), None) if c.0.is_none() => *active = Active::Present,
        (Some(c), Some(v)) => {
            if let Some(c) = &c.0 {
                *active = Active::State(c.quoted(), v);
            }
        }
        (Some(c), None) => {
            if let Some(c) = &c.0 {
                *active = Active::Flag(c.quoted());
            }
        }
        (None, Some(v)) => {
            if let Active::Flag(c) | Active::State(c, _) = active {
                *active = Active::State(c.clone(), v);
            }
        }
        (None, None) => {}
    }
}

fn toml_value(v: &crate::config::KindValue) -> Value {
    match v {
        crate::config::KindValue::Int(i) => Value::Integer(*i),
        crate::config::KindValue::Text(t) => Value::Text(t.clone()),
    }
}
