//! Configuration: flags > `TWOFACTL_*` environment > TOML file > the application's
//! `settings` table > defaults, resolved and validated in this one place.
//!
//! Files: `--config` / `TWOFACTL_CONFIG` names exactly one file, which must exist. Otherwise
//! `/etc/twofactl/config.toml` and then `$XDG_CONFIG_HOME/twofactl/config.toml` are read when
//! present, the later overriding the earlier key by key. Unknown keys and bad values are
//! errors naming the file and the key (exit 8). Relative paths in a file are relative to it.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Deserializer};

use crate::error::{Exit, Failure, fail};

pub const SYSTEM_CONFIG: &str = "/etc/twofactl/config.toml";

/// A duration written the humantime way ("5s", "10m", "1h 30m"), greater than zero and at
/// most `MAX_SECS` seconds. Every duration key has an upper bound, checked here so that the
/// error names the file and key, and so that no later arithmetic on it can overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration<const MAX_SECS: u64>(pub Duration);

/// `[database] busy_timeout`: SQLite counts it in milliseconds in a C `int` (24.8 days at
/// most), and a wait of more than minutes for the application's lock is a hang.
pub type BusyTimeout = HumanDuration<{ 10 * 60 }>;
/// `[smtp] timeout`: RFC 5321 section 4.5.3.2 gives 10 minutes as the longest server wait.
pub type SmtpTimeout = HumanDuration<{ 10 * 60 }>;
/// `[mail] sendmail_timeout`.
pub type SendmailTimeout = HumanDuration<{ 60 * 60 }>;
/// `[reset] code_ttl`: an e-mailed code is a short-lived secret.
pub type CodeTtl = HumanDuration<{ 24 * 60 * 60 }>;
/// `[reset] lockout`.
pub type Lockout = HumanDuration<{ 30 * 24 * 60 * 60 }>;

impl<'de, const MAX_SECS: u64> Deserialize<'de> for HumanDuration<MAX_SECS> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let dur = humantime::parse_duration(&s).map_err(|e| {
            serde::de::Error::custom(format!(
                "invalid duration {s:?} ({e}); write e.g. \"5s\" or \"10m\""
            ))
        })?;
        if dur.is_zero() {
            return Err(serde::de::Error::custom(format!(
                "duration {s:?} must be greater than zero"
            )));
        }
        if dur > Duration::from_secs(MAX_SECS) {
            return Err(serde::de::Error::custom(format!(
                "duration {s:?} is too long: at most {}",
                short_duration(MAX_SECS)
            )));
        }
        Ok(HumanDuration(dur))
    }
}

/// Whole seconds in the largest unit that divides them: "10m", "24h", "30d".
fn short_duration(secs: u64) -> String {
    match secs {
        s if s > 86_400 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s >= 3600 && s % 3600 == 0 => format!("{}h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// Whole-file shape. Every key is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileConfig {
    pub database: DatabaseSection,
    pub schema: SchemaSection,
    pub mail: MailSection,
    pub smtp: SmtpSection,
    pub reset: ResetSection,
    pub totp: TotpSection,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSection {
    pub path: Option<PathBuf>,
    /// A `postgres://` or `postgresql://` URL, without a password.
    pub url: Option<String>,
    /// PostgreSQL: a file whose first line is the role's password.
    pub password_file: Option<PathBuf>,
    /// PostgreSQL: a CA certificate (PEM) to trust besides the system's.
    pub ca_file: Option<PathBuf>,
    pub busy_timeout: Option<BusyTimeout>,
}

/// Where the application's database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// An SQLite file.
    File(PathBuf),
    /// A PostgreSQL URL (`postgres://` or `postgresql://`).
    Url(String),
}

impl Database {
    /// `--db` / `TWOFACTL_DB`: a URL when it starts with a PostgreSQL scheme, else a path.
    pub fn from_arg(value: &Path) -> Database {
        match value.to_str() {
            Some(s) if is_postgres_url(s) => Database::Url(s.to_owned()),
            _ => Database::File(value.to_owned()),
        }
    }
}

/// Whether `s` is a PostgreSQL URL rather than a file name.
pub fn is_postgres_url(s: &str) -> bool {
    ["postgres://", "postgresql://"].iter().any(|scheme| {
        s.get(..scheme.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(scheme))
    })
}

/// The application: a profile, and names of its tables and columns that override the
/// profile's (every key optional; absent keys keep the profile's names).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct SchemaSection {
    /// `default` (the sample application), `kanboard`, `wallabag`, `django-otp`,
    /// `vaultwarden`, `gitea`, `forgejo`, `nextcloud`.
    pub profile: Option<String>,
    pub users_table: Option<Ident>,
    pub id: Option<Ident>,
    pub username: Option<Ident>,
    /// `""`: the application keeps no e-mail address.
    pub email: Option<OptIdent>,
    pub password_hash: Option<Ident>,
    /// `auto` (detect from the stored value) or one format every hash must be in.
    pub password_format: Option<String>,
    /// An administrator: this column non-zero, or equal to `admin_value`, or containing
    /// `admin_contains`.
    pub is_admin: Option<Ident>,
    pub admin_value: Option<String>,
    pub admin_contains: Option<String>,
    pub totp_secret: Option<Ident>,
    /// The active marker: a flag, or a state equal to `totp_enabled_value`; `""`: a stored
    /// key is active.
    pub totp_enabled: Option<OptIdent>,
    pub totp_enabled_value: Option<i64>,
    /// A table of keys (one or more rows per user) instead of columns of the users table.
    pub key_table: Option<Ident>,
    pub key_user_id: Option<Ident>,
    pub key_kind_column: Option<Ident>,
    pub key_kind_value: Option<KindValue>,
    pub key_encoding: Option<KeyEncoding>,
    pub key_cleared: Option<KeyCleared>,
    /// `""` when the application has no sessions table.
    pub sessions_table: Option<OptIdent>,
    pub sessions_user_id: Option<Ident>,
    /// `""` when the application has no settings table.
    pub settings_table: Option<OptIdent>,
}

/// How the application writes a TOTP key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyEncoding {
    Base32,
    Hex,
    /// Encrypted by the application: reset and list only.
    Encrypted,
}

/// What a key column holds once 2FA is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyCleared {
    Null,
    Empty,
}

/// A value of `key_kind_column` that marks TOTP keys: a number or a text.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum KindValue {
    Int(i64),
    Text(String),
}

/// An SQL identifier from the configuration: letters, digits and `_`, not starting with a
/// digit, at most 64 characters. It is still quoted wherever it is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident(String);

impl Ident {
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !s.starts_with(|c: char| c.is_ascii_digit());
        if ok {
            Ok(Ident(s.to_owned()))
        } else {
            Err(format!(
                "invalid SQL identifier {s:?}: use letters, digits and _ (not starting with a digit)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The identifier as a quoted SQL name.
    pub fn quoted(&self) -> String {
        // Ident::parse admits no quote character; doubling keeps this safe regardless.
        format!("\"{}\"", self.0.replace('"', "\"\""))
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Ident {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ident::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An identifier that may be configured as "" (the application has no such table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptIdent(pub Option<Ident>);

impl<'de> Deserialize<'de> for OptIdent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.is_empty() {
            return Ok(OptIdent(None));
        }
        Ident::parse(&s)
            .map(|i| OptIdent(Some(i)))
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    Smtp,
    Sendmail,
    File,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailSection {
    pub transport: Option<TransportKind>,
    pub from: Option<String>,
    pub file_dir: Option<PathBuf>,
    pub sendmail_command: Option<PathBuf>,
    pub sendmail_timeout: Option<SendmailTimeout>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    None,
    Starttls,
    Tls,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpSection {
    pub host: Option<String>,
    pub port: Option<Port>,
    pub security: Option<Security>,
    pub username: Option<String>,
    pub password_file: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
    pub timeout: Option<SmtpTimeout>,
    /// Log in even when `security = "none"` sends the password in cleartext.
    pub allow_insecure_auth: Option<bool>,
}

/// A TCP port, 1 to 65535.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Port(pub u16);

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        match u16::try_from(n) {
            Ok(p) if p > 0 => Ok(Port(p)),
            _ => Err(serde::de::Error::custom(format!(
                "port {n} is out of range (1 to 65535)"
            ))),
        }
    }
}

/// A count that must be at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count(pub u32);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        match u32::try_from(n) {
            Ok(c) if c > 0 => Ok(Count(c)),
            _ => Err(serde::de::Error::custom(format!(
                "{n} is out of range (at least 1)"
            ))),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResetSection {
    pub code_ttl: Option<CodeTtl>,
    pub max_attempts: Option<Count>,
    pub max_requests_per_hour: Option<Count>,
    pub max_password_failures: Option<Count>,
    pub lockout: Option<Lockout>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TotpSection {
    pub issuer: Option<Issuer>,
}

/// A TOTP issuer: non-empty, no colon (the Key URI Format uses it as the label separator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer(pub String);

impl<'de> Deserialize<'de> for Issuer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.trim().is_empty() || s.contains(':') || s.chars().any(char::is_control) {
            return Err(serde::de::Error::custom(format!(
                "invalid issuer {s:?}: it must be non-empty, without ':' or control characters"
            )));
        }
        Ok(Issuer(s))
    }
}

/// Where the configuration comes from besides the files' contents: `--db` / `TWOFACTL_DB`
/// and `--config` / `TWOFACTL_CONFIG`.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub db: Option<PathBuf>,
    pub config: Option<PathBuf>,
    /// `--profile` / `TWOFACTL_PROFILE`.
    pub profile: Option<String>,
}

/// The resolved configuration (before the application's settings table is consulted).
#[derive(Debug, Clone)]
pub struct Config {
    /// The config files that were read, in order.
    pub files: Vec<PathBuf>,
    pub database: Option<Database>,
    /// `[database] password_file`.
    pub db_password_file: Option<PathBuf>,
    /// `[database] ca_file`.
    pub db_ca_file: Option<PathBuf>,
    pub busy_timeout: Duration,
    pub schema: SchemaSection,
    pub mail: MailSection,
    pub smtp: SmtpSection,
    pub reset: ResetSection,
    pub totp: TotpSection,
}

pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

impl Config {
    /// Load the config files `sources` point at.
    pub fn load(sources: &Sources) -> Result<Config> {
        let files = match &sources.config {
            Some(path) => {
                if !path.is_file() {
                    return Err(fail(
                        Exit::Config,
                        format!("config file not found: {}", path.display()),
                    )
                    .hint("check --config / TWOFACTL_CONFIG")
                    .into());
                }
                vec![path.clone()]
            }
            None => default_files()
                .into_iter()
                .filter(|p| p.is_file())
                .collect(),
        };
        let mut merged = toml::Table::new();
        for file in &files {
            let table = read_file(file)?;
            merge(&mut merged, table);
        }
        let file_config = parse_table(merged, &files)?;
        Config::from_parts(files, file_config, sources)
    }

    /// The configuration in one file (the sandbox's).
    pub fn from_file(path: PathBuf) -> Result<Config> {
        Config::load(&Sources {
            db: None,
            config: Some(path),
            profile: None,
        })
    }

    fn from_parts(files: Vec<PathBuf>, fc: FileConfig, sources: &Sources) -> Result<Config> {
        let from_file = match (fc.database.path, fc.database.url) {
            (Some(_), Some(_)) => {
                return Err(fail(
                    Exit::Config,
                    "[database] has both path and url; nothing was done",
                )
                .hint("keep path for an SQLite file, or url for PostgreSQL")
                .into());
            }
            (Some(p), None) if p.to_str().is_some_and(is_postgres_url) => {
                return Err(fail(
                    Exit::Config,
                    "[database] path holds a PostgreSQL URL; nothing was done",
                )
                .hint("put the URL in [database] url")
                .into());
            }
            (Some(p), None) => Some(Database::File(p)),
            (None, Some(u)) if is_postgres_url(&u) => Some(Database::Url(u)),
            (None, Some(_)) => {
                return Err(fail(
                    Exit::Config,
                    "[database] url must start with postgres:// or postgresql://",
                )
                .hint("use [database] path for an SQLite file")
                .into());
            }
            (None, None) => None,
        };
        Ok(Config {
            files,
            database: sources.db.as_deref().map(Database::from_arg).or(from_file),
            db_password_file: fc.database.password_file,
            db_ca_file: fc.database.ca_file,
            busy_timeout: fc
                .database
                .busy_timeout
                .map_or(DEFAULT_BUSY_TIMEOUT, |d| d.0),
            schema: SchemaSection {
                profile: sources.profile.clone().or(fc.schema.profile.clone()),
                ..fc.schema
            },
            mail: fc.mail,
            smtp: fc.smtp,
            reset: fc.reset,
            totp: fc.totp,
        })
    }

    /// The database, or a configuration error saying how to give one.
    pub fn require_database(&self) -> Result<&Database, Failure> {
        self.database.as_ref().ok_or_else(|| {
            fail(Exit::Config, "no database given")
                .hint("pass --db PATH, set TWOFACTL_DB, or set [database] path in the config file")
        })
    }
}

fn default_files() -> Vec<PathBuf> {
    let mut files = vec![PathBuf::from(SYSTEM_CONFIG)];
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
    if let Some(dir) = xdg {
        files.push(dir.join("twofactl").join("config.toml"));
    }
    files
}

/// Read and check one file on its own, so that an error names the file it is in.
fn read_file(path: &Path) -> Result<toml::Table> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read config file {}", path.display()))
        .map_err(|e| fail(Exit::Config, format!("{e:#}")))?;
    let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let line = e
            .span()
            .map(|s| text[..s.start].matches('\n').count() + 1)
            .unwrap_or(1);
        fail(
            Exit::Config,
            format!(
                "config file {} line {line}: {}",
                path.display(),
                e.message().trim()
            ),
        )
    })?;
    // Validate this file alone so errors carry its name.
    parse_table(table.clone(), std::slice::from_ref(&path.to_path_buf()))?;
    absolutize_paths(&mut table, path.parent().unwrap_or(Path::new(".")));
    Ok(table)
}

fn parse_table(table: toml::Table, files: &[PathBuf]) -> Result<FileConfig> {
    serde_path_to_error::deserialize::<_, FileConfig>(table).map_err(|e| {
        let where_ = match files {
            [one] => format!("config file {}", one.display()),
            _ => "config".to_owned(),
        };
        let path = e.path().to_string();
        let inner = e.into_inner().message().trim().to_owned();
        let inner = inner.replace("unknown field", "unknown key");
        let msg = if path == "." || path.is_empty() {
            format!("{where_}: {inner}")
        } else {
            format!("{where_}: {path}: {inner}")
        };
        fail(Exit::Config, msg).into()
    })
}

/// Keys holding paths, made absolute against the directory of the file that set them.
const PATH_KEYS: &[(&str, &str)] = &[
    ("database", "path"),
    ("database", "password_file"),
    ("database", "ca_file"),
    ("mail", "file_dir"),
    ("smtp", "password_file"),
    ("smtp", "ca_file"),
];

fn absolutize_paths(table: &mut toml::Table, base: &Path) {
    for (section, key) in PATH_KEYS {
        if let Some(toml::Value::Table(t)) = table.get_mut(*section)
            && let Some(toml::Value::String(s)) = t.get_mut(*key)
            && Path::new(s.as_str()).is_relative()
            && !s.is_empty()
            && !is_postgres_url(s)
        {
            *s = base.join(&*s).to_string_lossy().into_owned();
        }
    }
}

/// Deep-merge `over` into `base`: tables merge key by key, everything else replaces.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// The limits of the self-service reset, with their defaults.
#[derive(Debug, Clone, Copy)]
pub struct ResetPolicy {
    pub code_ttl: Duration,
    pub max_attempts: u32,
    pub max_requests_per_hour: u32,
    pub max_password_failures: u32,
    pub lockout: Duration,
}

impl Config {
    /// The TOTP issuer: `[totp] issuer`, else the application's `app.name`.
    pub fn issuer(&self, app: &AppSettings) -> Result<String> {
        if let Some(i) = &self.totp.issuer {
            return Ok(i.0.clone());
        }
        match app.app_name() {
            Some(name) if !name.contains(':') && !name.chars().any(char::is_control) => {
                Ok(name.trim().to_owned())
            }
            Some(name) => Err(fail(
                Exit::Config,
                format!(
                    "the application's app.name {:?} cannot be a TOTP issuer (it has a ':' or a control character)",
                    crate::output::safe(name)
                ),
            )
            .hint("set [totp] issuer = \"Name\" in the config file")
            .into()),
            None => Err(fail(Exit::Config, "no TOTP issuer: the application has no app.name setting")
                .hint("set [totp] issuer = \"Name\" in the config file; authenticator apps show it beside the account")
                .into()),
        }
    }

    pub fn reset_policy(&self) -> ResetPolicy {
        let r = &self.reset;
        ResetPolicy {
            code_ttl: r.code_ttl.map_or(Duration::from_secs(600), |d| d.0),
            max_attempts: r.max_attempts.map_or(5, |c| c.0),
            max_requests_per_hour: r.max_requests_per_hour.map_or(3, |c| c.0),
            max_password_failures: r.max_password_failures.map_or(5, |c| c.0),
            lockout: r.lockout.map_or(Duration::from_secs(900), |d| d.0),
        }
    }
}

/// The application's own settings (its `settings` table), read once per run.
#[derive(Debug, Default, Clone)]
pub struct AppSettings(pub HashMap<String, String>);

impl AppSettings {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// The product name for subjects and the TOTP issuer.
    pub fn app_name(&self) -> Option<&str> {
        self.get("app.name")
    }
}

/// One configuration key, for the reference (README table, twofactl.toml(5)).
#[derive(Debug, Clone, Copy)]
pub struct KeyDoc {
    pub section: &'static str,
    pub key: &'static str,
    pub default: &'static str,
    /// An environment variable that gives the same value.
    pub env: &'static str,
    pub doc: &'static str,
}

/// Every key a config file may hold, in file order. A unit test checks that each parses and
/// that the shipped example config lists exactly these.
pub const KEYS: &[KeyDoc] = &[
    KeyDoc {
        section: "database",
        key: "path",
        default: "none",
        env: "TWOFACTL_DB (and --db)",
        doc: "The application's SQLite database. twofactl never creates it.",
    },
    KeyDoc {
        section: "database",
        key: "url",
        default: "none",
        env: "TWOFACTL_DB (and --db)",
        doc: "Instead of path: the application's PostgreSQL database, as postgres://USER@HOST:PORT/DBNAME?sslmode=MODE (no password in it). sslmode is disable, prefer, require, verify-ca or verify-full; verify-full unless the host is local.",
    },
    KeyDoc {
        section: "database",
        key: "password_file",
        default: "none",
        env: "PGPASSWORD, ~/.pgpass",
        doc: "PostgreSQL: a file (mode 0600) whose first line is the role's password. Else PGPASSWORD, else ~/.pgpass (or PGPASSFILE).",
    },
    KeyDoc {
        section: "database",
        key: "ca_file",
        default: "none",
        env: "",
        doc: "PostgreSQL: a CA certificate (PEM) trusted besides the system's, for verify-ca and verify-full.",
    },
    KeyDoc {
        section: "database",
        key: "busy_timeout",
        default: "5s",
        env: "",
        doc: "How long to wait while the application holds its write lock, then exit 7. At most 10m.",
    },
    KeyDoc {
        section: "schema",
        key: "profile",
        default: "default",
        env: "TWOFACTL_PROFILE (and --profile)",
        doc: "The application: default (the sample schema), kanboard, wallabag, django-otp, vaultwarden, gitea, forgejo or nextcloud. The keys below override the profile's names.",
    },
    KeyDoc {
        section: "schema",
        key: "users_table",
        default: "the profile's (users)",
        env: "",
        doc: "The application's users table. Names in [schema] are validated identifiers (letters, digits, _), always quoted.",
    },
    KeyDoc {
        section: "schema",
        key: "id",
        default: "id",
        env: "",
        doc: "The users' primary key column.",
    },
    KeyDoc {
        section: "schema",
        key: "username",
        default: "username",
        env: "",
        doc: "The login name column.",
    },
    KeyDoc {
        section: "schema",
        key: "email",
        default: "email",
        env: "",
        doc: "The e-mail address column; \"\" when the application keeps none.",
    },
    KeyDoc {
        section: "schema",
        key: "password_hash",
        default: "password_hash",
        env: "",
        doc: "The stored password hash (a PHC string).",
    },
    KeyDoc {
        section: "schema",
        key: "password_format",
        default: "auto",
        env: "",
        doc: "auto (detected from the stored value) or one format every stored hash must be in: argon2, bcrypt, django-pbkdf2-sha256 and the others listed by an unknown value's error.",
    },
    KeyDoc {
        section: "schema",
        key: "is_admin",
        default: "is_admin",
        env: "",
        doc: "Non-zero for the application's administrators.",
    },
    KeyDoc {
        section: "schema",
        key: "admin_value",
        default: "none",
        env: "",
        doc: "An administrator has is_admin equal to this value (e.g. app-admin) instead of non-zero.",
    },
    KeyDoc {
        section: "schema",
        key: "admin_contains",
        default: "none",
        env: "",
        doc: "An administrator has is_admin containing this value (e.g. ROLE_SUPER_ADMIN).",
    },
    KeyDoc {
        section: "schema",
        key: "totp_secret",
        default: "totp_secret",
        env: "",
        doc: "The base32 TOTP key; NULL when the user has no authenticator.",
    },
    KeyDoc {
        section: "schema",
        key: "totp_enabled",
        default: "totp_enabled",
        env: "",
        doc: "Non-zero when the key is active (the application asks for a code at login); \"\": a stored key is active.",
    },
    KeyDoc {
        section: "schema",
        key: "totp_enabled_value",
        default: "none",
        env: "",
        doc: "The key is active when totp_enabled equals this number (a state) rather than non-zero.",
    },
    KeyDoc {
        section: "schema",
        key: "key_table",
        default: "none",
        env: "",
        doc: "A table holding the keys (one or more rows per user) instead of columns of the users table; totp_secret and totp_enabled then name its columns.",
    },
    KeyDoc {
        section: "schema",
        key: "key_user_id",
        default: "user_id",
        env: "",
        doc: "The key table's user id column (an integer or text id).",
    },
    KeyDoc {
        section: "schema",
        key: "key_kind_column",
        default: "none",
        env: "",
        doc: "With key_kind_value: only rows whose column equals the value are TOTP keys.",
    },
    KeyDoc {
        section: "schema",
        key: "key_kind_value",
        default: "none",
        env: "",
        doc: "See key_kind_column (a number or a text).",
    },
    KeyDoc {
        section: "schema",
        key: "key_encoding",
        default: "base32",
        env: "",
        doc: "base32, hex, or encrypted (then keys are reset and listed, never written).",
    },
    KeyDoc {
        section: "schema",
        key: "key_cleared",
        default: "null",
        env: "",
        doc: "What a reset writes in a key column: null or empty (\"\").",
    },
    KeyDoc {
        section: "schema",
        key: "sessions_table",
        default: "sessions",
        env: "",
        doc: "The logged-in sessions; \"\" when the application has none.",
    },
    KeyDoc {
        section: "schema",
        key: "sessions_user_id",
        default: "user_id",
        env: "",
        doc: "The sessions' user id column.",
    },
    KeyDoc {
        section: "schema",
        key: "settings_table",
        default: "settings",
        env: "",
        doc: "The application's key/value settings (app.name, app.url, smtp.*); \"\" when it has none.",
    },
    KeyDoc {
        section: "mail",
        key: "transport",
        default: "smtp when an SMTP host is known",
        env: "",
        doc: "smtp, sendmail or file.",
    },
    KeyDoc {
        section: "mail",
        key: "from",
        default: "the application's smtp.from setting",
        env: "",
        doc: "The sender, e.g. \"CYMETRICX <no-reply@example.com>\".",
    },
    KeyDoc {
        section: "mail",
        key: "file_dir",
        default: "outbox",
        env: "",
        doc: "For transport = \"file\": one .eml file (mode 0600) per message in this directory.",
    },
    KeyDoc {
        section: "mail",
        key: "sendmail_command",
        default: "/usr/sbin/sendmail",
        env: "",
        doc: "For transport = \"sendmail\": run as COMMAND -i -f FROM -- TO with the message on its stdin; exit status 0 means sent.",
    },
    KeyDoc {
        section: "mail",
        key: "sendmail_timeout",
        default: "30s",
        env: "",
        doc: "How long the command may take per message before it is killed (the message stays in the outbox, exit 6). At most 1h.",
    },
    KeyDoc {
        section: "smtp",
        key: "host",
        default: "the application's smtp.host setting",
        env: "",
        doc: "The SMTP server.",
    },
    KeyDoc {
        section: "smtp",
        key: "port",
        default: "smtp.port, else 587 (465 for tls, 25 for none)",
        env: "",
        doc: "",
    },
    KeyDoc {
        section: "smtp",
        key: "security",
        default: "smtp.security, else starttls (tls on port 465)",
        env: "",
        doc: "none, starttls or tls. The server's certificate is always verified.",
    },
    KeyDoc {
        section: "smtp",
        key: "username",
        default: "the application's smtp.username setting",
        env: "",
        doc: "Absent: no AUTH.",
    },
    KeyDoc {
        section: "smtp",
        key: "allow_insecure_auth",
        default: "false",
        env: "",
        doc: "true: log in even with security = \"none\", sending the password in cleartext (only for a server on this host or a trusted network); otherwise that is refused (exit 8).",
    },
    KeyDoc {
        section: "smtp",
        key: "password_file",
        default: "the application's smtp.password setting",
        env: "TWOFACTL_SMTP_PASSWORD (wins over both)",
        doc: "A file holding the SMTP password. Never give a password on the command line.",
    },
    KeyDoc {
        section: "smtp",
        key: "ca_file",
        default: "the system's roots",
        env: "",
        doc: "An extra trusted CA (PEM) for an internal mail server.",
    },
    KeyDoc {
        section: "smtp",
        key: "timeout",
        default: "10s",
        env: "",
        doc: "Connect and read timeout. At most 10m.",
    },
    KeyDoc {
        section: "reset",
        key: "code_ttl",
        default: "10m",
        env: "",
        doc: "Lifetime of an e-mailed code. At most 24h.",
    },
    KeyDoc {
        section: "reset",
        key: "max_attempts",
        default: "5",
        env: "",
        doc: "Wrong codes before a request is void; also wrong confirmation codes before enrolment locks.",
    },
    KeyDoc {
        section: "reset",
        key: "max_requests_per_hour",
        default: "3",
        env: "",
        doc: "request-reset runs per user and hour.",
    },
    KeyDoc {
        section: "reset",
        key: "max_password_failures",
        default: "5",
        env: "",
        doc: "Wrong passwords per user, within lockout, before request-reset locks until the time it announces.",
    },
    KeyDoc {
        section: "reset",
        key: "lockout",
        default: "15m",
        env: "",
        doc: "How long a lock lasts, and the window in which failures count. At most 30d.",
    },
    KeyDoc {
        section: "totp",
        key: "issuer",
        default: "the application's app.name setting",
        env: "",
        doc: "Shown in the authenticator app beside the account; no colon.",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FileConfig> {
        parse_table(text.parse().unwrap(), &[PathBuf::from("t.toml")])
    }

    const EXAMPLE_CONFIG: &str = include_str!("../tests/fixtures/example-config.toml");

    #[test]
    fn example_config_parses() {
        let c = parse(EXAMPLE_CONFIG).unwrap();
        assert_eq!(
            c.database.busy_timeout,
            Some(HumanDuration(Duration::from_secs(5)))
        );
        assert_eq!(c.smtp.port, Some(Port(587)));
        assert_eq!(c.smtp.security, Some(Security::Starttls));
        assert_eq!(c.mail.transport, Some(TransportKind::Smtp));
        assert_eq!(
            c.reset.code_ttl,
            Some(HumanDuration(Duration::from_secs(600)))
        );
        // The example's [schema] names are the default profile's.
        assert_eq!(
            crate::app::profiles::app(&c.schema).unwrap().map,
            crate::app::profiles::app(&SchemaSection::default())
                .unwrap()
                .map
        );
    }

    #[test]
    fn the_key_reference_is_the_example_config() {
        // Every `# key = value` of the shipped example, in order, is a documented key.
        let mut section = "";
        let mut shipped = Vec::new();
        for l in include_str!("../packaging/config.toml").lines() {
            if let Some(s) = l.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = s;
            } else if let Some(rest) = l.strip_prefix("# ")
                && let Some((key, _)) = rest.split_once(" = ")
                && !key.contains(' ')
            {
                shipped.push(format!("{section}.{key}"));
            }
        }
        let documented: Vec<String> = KEYS
            .iter()
            .map(|k| format!("{}.{}", k.section, k.key))
            .collect();
        assert_eq!(shipped, documented);
    }

    #[test]
    fn packaged_example_config_documents_valid_keys() {
        // Uncomment every `# key = value` line of the shipped example: it must parse.
        let text: String = include_str!("../packaging/config.toml")
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest) if rest.contains(" = ") && !rest.starts_with(' ') => rest,
                _ => l,
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let c = parse(&text).unwrap();
        assert_eq!(c.smtp.port, Some(Port(587)));
        assert_eq!(c.reset.max_requests_per_hour, Some(Count(3)));
        assert_eq!(
            c.mail.sendmail_timeout,
            Some(HumanDuration(
                crate::mail::settings::DEFAULT_SENDMAIL_TIMEOUT
            ))
        );
        assert_eq!(c.smtp.allow_insecure_auth, Some(false));
        assert_eq!(c.schema.profile.as_deref(), Some("default"));
    }

    #[test]
    fn errors_name_the_key() {
        let e = parse("[reset]\ncode_tt = \"1m\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("reset") && e.contains("code_tt"), "{e}");
        let e = parse("[smtp]\nport = 70000\n").unwrap_err().to_string();
        assert!(e.contains("smtp.port"), "{e}");
        let e = parse("[database]\nbusy_timeout = \"soon\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("database.busy_timeout"), "{e}");
        let e = parse("[schema]\nusers_table = \"users; DROP TABLE x\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("schema.users_table"), "{e}");
        let e = parse("[totp]\nissuer = \"a:b\"\n").unwrap_err().to_string();
        assert!(e.contains("totp.issuer"), "{e}");
    }

    #[test]
    fn empty_table_names_mean_none() {
        let c = parse("[schema]\nsessions_table = \"\"\n").unwrap();
        assert_eq!(c.schema.sessions_table, Some(OptIdent(None)));
        assert!(parse("[schema]\nusers_table = \"\"\n").is_err());
    }

    #[test]
    fn merge_is_key_by_key() {
        let mut a: toml::Table = "[reset]\nmax_attempts = 3\ncode_ttl = \"5m\"\n"
            .parse()
            .unwrap();
        let b: toml::Table = "[reset]\nmax_attempts = 7\n".parse().unwrap();
        merge(&mut a, b);
        let c = parse_table(a, &[]).unwrap();
        assert_eq!(c.reset.max_attempts, Some(Count(7)));
        assert_eq!(
            c.reset.code_ttl,
            Some(HumanDuration(Duration::from_secs(300)))
        );
    }

    #[test]
    fn durations_have_upper_bounds() {
        let c = parse("[database]\nbusy_timeout = \"10m\"\n[reset]\ncode_ttl = \"24h\"\n").unwrap();
        assert_eq!(
            c.reset.code_ttl,
            Some(HumanDuration(Duration::from_secs(86_400)))
        );
        for (text, key, max) in [
            (
                "[database]\nbusy_timeout = \"25days\"\n",
                "database.busy_timeout",
                "10m",
            ),
            ("[smtp]\ntimeout = \"601s\"\n", "smtp.timeout", "10m"),
            (
                "[reset]\ncode_ttl = \"10000000000y\"\n",
                "reset.code_ttl",
                "24h",
            ),
            ("[reset]\nlockout = \"31d\"\n", "reset.lockout", "30d"),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(
                e.contains(key) && e.ends_with(&format!("at most {max}")),
                "{e}"
            );
        }
        assert_eq!(short_duration(45), "45s");
        assert_eq!(short_duration(3600), "1h");
        assert_eq!(short_duration(86_400), "24h");
    }

    #[test]
    fn relative_paths_follow_the_file() {
        let mut t: toml::Table = "[database]\npath = \"app.db\"\n".parse().unwrap();
        absolutize_paths(&mut t, Path::new("/etc/twofactl"));
        assert_eq!(t["database"]["path"].as_str(), Some("/etc/twofactl/app.db"));
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(Ident::parse("users").unwrap().quoted(), "\"users\"");
        assert!(Ident::parse("1x").is_err());
        assert!(Ident::parse("a\"b").is_err());
    }
}
