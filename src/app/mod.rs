//! The application seam: where an application keeps its users, their TOTP keys, its admin
//! notion and its sessions, and what its own "turn off 2FA" and enrolment write. Every
//! command reaches the application through [`App`]; none knows which application it is.
//!
//! An application is described by a [`Mapping`]: the generic `[schema]` keys build one, and
//! each profile (`profiles.rs`) is a preset built from the application's own source. SQL is
//! generated from the mapping's quoted identifiers; every value (a user's id, a role name, a
//! kind of key) is bound, never spliced: constants of the mapping are named parameters
//! (`:admin_value`, `:kind_value`, ...) that [`App::bind`] fills in.

pub mod profiles;

use anyhow::Result;
use rusqlite::types::Value;
use rusqlite::{Connection, Statement};

use crate::db::sql::{Params, Sql};

use crate::error::{Exit, Failure, fail};

/// A user's primary key as the application stores it: an integer or a text (uuid, uid).
pub type UserId = Value;

/// How a key is written in the application's column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// RFC 4648 base32, upper case, no padding.
    Base32,
    /// Lower-case hex.
    Hex,
    /// Encrypted with a secret of the application's (not readable or writable here).
    Encrypted,
}

impl Encoding {
    pub fn encode(self, key: &[u8]) -> Option<String> {
        match self {
            Encoding::Base32 => Some(data_encoding::BASE32_NOPAD.encode(key)),
            Encoding::Hex => Some(data_encoding::HEXLOWER.encode(key)),
            Encoding::Encrypted => None,
        }
    }

    pub fn decode(self, text: &str) -> Option<Vec<u8>> {
        let t = text.trim();
        match self {
            Encoding::Base32 => data_encoding::BASE32_NOPAD
                .decode(t.trim_end_matches('=').to_ascii_uppercase().as_bytes())
                .ok(),
            Encoding::Hex => data_encoding::HEXLOWER_PERMISSIVE.decode(t.as_bytes()).ok(),
            Encoding::Encrypted => None,
        }
    }
}

/// What a key column holds once 2FA is turned off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cleared {
    Null,
    /// `''` (Kanboard and wallabag write that).
    Empty,
}

/// Who is an administrator of the application, as an SQL condition on the user row `u`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admin {
    /// The application has no administrator users (Vaultwarden: an admin token instead).
    Nobody,
    /// A boolean column.
    Flag(String),
    /// A column equal to a value (Kanboard: `role = 'app-admin'`).
    Equals(String, String),
    /// A column containing a value (wallabag: `ROLE_SUPER_ADMIN` in the serialised roles).
    Contains(String, String),
    /// Membership of a group in another table (Nextcloud: group `admin` in `oc_group_user`).
    Member {
        table: String,
        user: String,
        group: String,
        value: String,
    },
}

/// Where a user's e-mail address is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Email {
    /// The application keeps none: users cannot be named by e-mail, and cannot be mailed.
    None,
    Column(String),
    /// A key/value row per user (Nextcloud: `oc_preferences`, appid `settings`, key `email`).
    /// The key is only the address in the application's own section: other sections may use
    /// the same key for other addresses (Nextcloud's integrations keep the e-mail of an
    /// account elsewhere under theirs).
    Preference {
        table: String,
        user: String,
        /// The section column and the application's own section (`appid`, `settings`).
        section: (String, String),
        key_column: String,
        key: String,
        value: String,
    },
}

/// When a key row (or column) counts as an active authenticator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Active {
    /// A key is active as soon as it is there.
    Present,
    /// A boolean column set (`totp_enabled`, `twofactor_activated`, `confirmed`, `enabled`).
    Flag(String),
    /// A column equal to a value (Nextcloud: `state = 2`).
    State(String, i64),
}

/// A value a new key row gets besides the user, the key and the active marker.
#[derive(Debug, Clone, PartialEq)]
pub enum Fill {
    Int(i64),
    Text(String),
    Null,
    /// A new random UUID (Vaultwarden's row ids).
    Uuid,
    /// The time now, `YYYY-MM-DD HH:MM:SS.ffffff` in UTC (Django's `created_at`).
    NowText,
    /// The time now, unix seconds.
    NowUnix,
}

/// Where the TOTP key lives.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyStore {
    /// Columns of the users table.
    Columns {
        secret: String,
        active: Active,
        cleared: Cleared,
        encoding: Encoding,
    },
    /// Rows of another table, one (or several) per user.
    Rows {
        table: String,
        user: String,
        secret: String,
        /// Only rows with this column equal to this value are TOTP keys (Vaultwarden: atype 0).
        kind: Option<(String, Value)>,
        active: Active,
        encoding: Encoding,
        /// Other columns a new row needs, as the application fills them when a user enrols.
        fill: Vec<(String, Fill)>,
    },
}

/// One more thing the application's own "turn off 2FA" does, besides the key itself.
#[derive(Debug, Clone, PartialEq)]
pub enum Also {
    /// Delete the user's rows of a table (backup codes, remember-me tokens), or only those
    /// whose column equals a value.
    Delete {
        table: String,
        user: String,
        only: Option<(String, Value)>,
    },
    /// Set a column of the user's rows of another table whose column equals a value
    /// (Nextcloud: the `totp` provider recorded as disabled).
    Update {
        table: String,
        user: String,
        only: (String, Value),
        column: String,
        value: Fill,
    },
    /// Delete the rows of `table` whose `column` is the id of one of the user's rows in
    /// `parent` (Django's static tokens under the user's static devices).
    DeleteChildren {
        table: String,
        column: String,
        parent: String,
        parent_id: String,
        parent_user: String,
    },
    /// Set a column of the user's row.
    Set { column: String, value: Fill },
}

/// A table of the user's logins, deleted to end them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sessions {
    pub table: String,
    pub user: String,
}

/// Which columns a password check reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scheme {
    /// One value that says what it is (PHC, modular crypt, Django, Nextcloud).
    #[default]
    Encoded,
    /// Gitea's and Forgejo's `passwd`, `salt`, `passwd_hash_algo`.
    Gitea,
    /// wallabag's `password` and `salt`.
    Wallabag,
    /// Vaultwarden's hash, salt, iterations, e-mail and client KDF columns.
    Vaultwarden,
}

/// The password hash and what else its format needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Password {
    pub hash: String,
    /// Extra columns of the users row passed to the format, by name (salt, algorithm, KDF
    /// settings).
    pub extra: Vec<(String, String)>,
    pub scheme: Scheme,
    /// `[schema] password_format`: detected, or pinned to one format.
    pub format: crate::secret::PasswordFormat,
}

/// A user's password columns as stored (blobs stay bytes).
#[derive(Debug, Clone)]
pub struct StoredColumns {
    pub scheme: Scheme,
    pub format: crate::secret::PasswordFormat,
    pub hash: Value,
    /// (name, value) of the extra columns.
    pub extra: Vec<(String, Value)>,
}

impl StoredColumns {
    /// An extra column's value.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.extra.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

/// How an application keeps what twofactl needs. Identifiers are stored quoted.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    pub users: String,
    pub id: String,
    pub username: String,
    pub email: Email,
    pub password: Option<Password>,
    pub admin: Admin,
    pub key: KeyStore,
    pub also: Vec<Also>,
    pub sessions: Vec<Sessions>,
    /// Why the logins cannot all be ended exactly (said in the output, the audit row and the
    /// user's e-mail), or `None` when they can.
    pub sessions_caveat: Option<&'static str>,
    /// The application's key/value settings table (`key`, `value`), if any.
    pub settings: Option<String>,
}

/// A user as the seam reports them.
#[derive(Debug, Clone, PartialEq)]
pub struct AppUser {
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub is_admin: bool,
    /// A key is stored (active or not).
    pub has_key: bool,
    /// The key is active: the application asks for a code at login.
    pub active: bool,
}

/// The application, as every command sees it.
#[derive(Debug, Clone)]
pub struct App {
    /// The profile's name (`default` for the sample application and plain `[schema]` keys).
    pub profile: &'static str,
    pub map: Mapping,
    /// The SQL the database speaks.
    pub dialect: Dialect,
}

/// The SQL of a database engine, where the two differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    #[default]
    Sqlite,
    /// PostgreSQL: typed columns, so a column compared with a constant is compared as text
    /// (constants are bound as text), and booleans are real booleans.
    Postgres,
}

impl Dialect {
    /// SQL that is true when `expr` counts as true (see [`truthy`]; on PostgreSQL a
    /// boolean, or a number or text read the same way).
    pub fn truthy(self, expr: &str) -> String {
        match self {
            Dialect::Sqlite => truthy(expr),
            Dialect::Postgres => {
                format!("coalesce(({expr})::text NOT IN ('', '0', 'false', 'f'), false)")
            }
        }
    }

    /// The literal false.
    pub fn falsum(self) -> &'static str {
        match self {
            Dialect::Sqlite => "0",
            Dialect::Postgres => "false",
        }
    }

    /// A column as compared with a bound constant, or read as text.
    pub fn text(self, col: &str) -> String {
        match self {
            Dialect::Sqlite => col.to_owned(),
            Dialect::Postgres => format!("({col})::text"),
        }
    }

    /// SQL that is true when texts `a` and `b` are equal but for the case of ASCII letters
    /// (SQLite's NOCASE, which leaves other letters as they are).
    pub fn nocase_eq(self, a: &str, b: &str) -> String {
        match self {
            Dialect::Sqlite => format!("{a} = {b} COLLATE NOCASE"),
            Dialect::Postgres => format!("{} = {}", ascii_lower(a), ascii_lower(b)),
        }
    }

    /// SQL that is true when text `needle` occurs in text `hay`.
    pub fn contains(self, hay: &str, needle: &str) -> String {
        match self {
            Dialect::Sqlite => format!("instr({hay}, {needle}) > 0"),
            Dialect::Postgres => format!("strpos({hay}, {needle}) > 0"),
        }
    }
}

/// SQL that is 1 when the value of `expr` counts as true: non-zero numbers, text other than
/// `''` and `'0'` (as applications store booleans in SQLite), and 0 for NULL.
pub fn truthy(expr: &str) -> String {
    format!(
        "(CASE typeof({expr}) WHEN 'null' THEN 0 WHEN 'integer' THEN {expr} <> 0 \
          WHEN 'real' THEN {expr} <> 0.0 WHEN 'text' THEN {expr} NOT IN ('', '0') \
          ELSE {expr} NOT IN (X'', X'30') END)"
    )
}

/// Whether a value counts as true, as [`truthy`] reads it in SQL: non-zero numbers, text and
/// blobs other than empty and `0`; NULL is false.
pub fn truthy_value(v: rusqlite::types::ValueRef<'_>) -> bool {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => false,
        ValueRef::Integer(n) => n != 0,
        ValueRef::Real(f) => f != 0.0,
        ValueRef::Text(t) | ValueRef::Blob(t) => !matches!(t, b"" | b"0"),
    }
}

/// PostgreSQL: `expr` with its ASCII capitals in lower case (and nothing else changed, whatever
/// the collation: `lower()` would fold other letters too).
pub fn ascii_lower(expr: &str) -> String {
    format!("translate({expr}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')")
}

/// Quote an SQL identifier.
pub fn q(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl App {
    /// The named parameters of the mapping's constants, with their values.
    pub(crate) fn constants(&self) -> Vec<(&'static str, Value)> {
        let mut c = Vec::new();
        match &self.map.admin {
            Admin::Equals(_, v) | Admin::Contains(_, v) | Admin::Member { value: v, .. } => {
                c.push((":admin_value", Value::Text(v.clone())));
            }
            Admin::Nobody | Admin::Flag(_) => {}
        }
        if let KeyStore::Rows {
            kind: Some((_, v)), ..
        } = &self.map.key
        {
            c.push((":kind_value", v.clone()));
        }
        let active = match &self.map.key {
            KeyStore::Columns { active, .. } | KeyStore::Rows { active, .. } => active,
        };
        if let Active::State(_, v) = active {
            c.push((":state_value", Value::Integer(*v)));
        }
        if let Email::Preference {
            key,
            section: (_, section),
            ..
        } = &self.map.email
        {
            c.push((":email_key", Value::Text(key.clone())));
            c.push((":email_section", Value::Text(section.clone())));
        }
        c
    }

    /// Bind the mapping's constants that `stmt` uses.
    pub fn bind(&self, stmt: &mut Statement<'_>) -> Result<()> {
        for (name, value) in self.constants() {
            if let Some(i) = stmt.parameter_index(name)? {
                stmt.raw_bind_parameter(i, value)?;
            }
        }
        Ok(())
    }

    /// The SQL condition "`u` is an administrator".
    pub fn admin_sql(&self) -> String {
        let d = self.dialect;
        match &self.map.admin {
            Admin::Nobody => d.falsum().to_owned(),
            Admin::Flag(c) => d.truthy(&format!("u.{c}")),
            Admin::Equals(c, _) => format!(
                "coalesce({} = :admin_value, {})",
                d.text(&format!("u.{c}")),
                d.falsum()
            ),
            Admin::Contains(c, _) => format!(
                "coalesce({}, {})",
                d.contains(&d.text(&format!("u.{c}")), ":admin_value"),
                d.falsum()
            ),
            Admin::Member {
                table, user, group, ..
            } => format!(
                "EXISTS (SELECT 1 FROM {table} g WHERE g.{user} = u.{id} AND {g} = :admin_value)",
                id = self.map.id,
                g = d.text(&format!("g.{group}")),
            ),
        }
    }

    /// The SQL value "`u`'s e-mail address" (`''` when there is none).
    pub fn email_sql(&self) -> String {
        let d = self.dialect;
        match &self.map.email {
            Email::None => "''".to_owned(),
            Email::Column(c) => format!("coalesce({}, '')", d.text(&format!("u.{c}"))),
            Email::Preference {
                table,
                user,
                section: (section, _),
                key_column,
                value,
                ..
            } => format!(
                "coalesce((SELECT {value} FROM {table} p WHERE p.{user} = u.{id} AND {section} = :email_section AND {key} = :email_key LIMIT 1), '')",
                id = self.map.id,
                value = d.text(&format!("p.{value}")),
                section = d.text(&format!("p.{section}")),
                key = d.text(&format!("p.{key_column}")),
            ),
        }
    }

    /// A condition on the key store's rows `k` of user `u` (the kind filter included).
    fn rows_of_user(&self, table: &str, user: &str, kind: &Option<(String, Value)>) -> String {
        let mut w = format!("FROM {table} k WHERE k.{user} = u.{}", self.map.id);
        if let Some((col, _)) = kind {
            let col = self.dialect.text(&format!("k.{col}"));
            w.push_str(&format!(" AND {col} = :kind_value"));
        }
        w
    }

    /// The SQL conditions (has a key, the key is active) on the user row `u`.
    pub fn state_sql(&self) -> (String, String) {
        let d = self.dialect;
        match &self.map.key {
            KeyStore::Columns { secret, active, .. } => {
                let has = format!("(u.{secret} IS NOT NULL AND u.{secret} <> '')");
                let on = match active {
                    Active::Present => has.clone(),
                    Active::Flag(f) => format!("({has} AND {})", d.truthy(&format!("u.{f}"))),
                    Active::State(c, _) => {
                        format!("({has} AND {} = :state_value)", d.text(&format!("u.{c}")))
                    }
                };
                (has, on)
            }
            KeyStore::Rows {
                table,
                user,
                secret,
                kind,
                active,
                ..
            } => {
                let rows = self.rows_of_user(table, user, kind);
                let has = format!(
                    "EXISTS (SELECT 1 {rows} AND k.{secret} IS NOT NULL AND k.{secret} <> '')"
                );
                let on = match active {
                    Active::Present => has.clone(),
                    Active::Flag(f) => {
                        format!(
                            "EXISTS (SELECT 1 {rows} AND {})",
                            d.truthy(&format!("k.{f}"))
                        )
                    }
                    Active::State(c, _) => format!(
                        "EXISTS (SELECT 1 {rows} AND {} = :state_value)",
                        d.text(&format!("k.{c}"))
                    ),
                };
                (has, on)
            }
        }
    }

    /// `SELECT` of a user's columns in [`AppUser`] order, from the users table as `u`.
    pub fn select_users(&self) -> String {
        self.select_users_as(&format!("u.{}", self.map.id))
    }

    /// [`App::select_users`] with the id read as `id` (an SQL expression).
    ///
    /// On SQLite, the username, an e-mail column and flag columns (the admin flag, the key's
    /// enabled flag) are selected as stored, and read by [`App::flags`] and as text by the
    /// caller: the same answers as `coalesce` and [`truthy`] in SQL, but a CASE per row and
    /// column cost SQLite about as much as reading the rows (1.4 s instead of 0.9 s for a
    /// million users).
    pub fn select_users_as(&self, id: &str) -> String {
        let (has, on) = self.state_sql();
        let m = &self.map;
        let raw = self.dialect == Dialect::Sqlite;
        let name = if raw {
            format!("u.{}", m.username)
        } else {
            format!(
                "coalesce({}, '')",
                self.dialect.text(&format!("u.{}", m.username))
            )
        };
        let email = match (&m.email, raw) {
            (Email::Column(c), true) => format!("u.{c}"),
            _ => self.email_sql(),
        };
        let admin = match (&m.admin, raw) {
            (Admin::Flag(c), true) => format!("u.{c}"),
            _ => self.admin_sql(),
        };
        let on = self.raw_active().map_or(on, |f| format!("u.{f}"));
        format!(
            "SELECT {id}, {name}, {email}, {admin}, {has}, {on} FROM {users} u",
            users = m.users,
        )
    }

    /// [`App::select_users_as`] with `more` columns after the user's, and `joins` after the
    /// users table.
    pub fn select_users_joined(&self, id: &str, more: &str, joins: &str) -> String {
        let plain = self.select_users_as(id);
        let from = format!(" FROM {} u", self.map.users);
        let (select, _) = plain.rsplit_once(&from).expect("select_users_as ends so");
        format!("{select}, {more}{from} {joins}")
    }

    /// The key's enabled flag, when [`App::select_users`] selects it as stored (SQLite, a
    /// flag column of the users table).
    fn raw_active(&self) -> Option<&str> {
        match (&self.map.key, self.dialect) {
            (
                KeyStore::Columns {
                    active: Active::Flag(f),
                    ..
                },
                Dialect::Sqlite,
            ) => Some(f),
            _ => None,
        }
    }

    /// (is administrator, has a key, the key is active) from columns 3 to 5 of
    /// [`App::select_users`].
    pub fn flags(&self, row: &rusqlite::Row<'_>) -> rusqlite::Result<(bool, bool, bool)> {
        let has = truthy_value(row.get_ref(4)?);
        let on = truthy_value(row.get_ref(5)?);
        Ok((
            truthy_value(row.get_ref(3)?),
            has,
            if self.raw_active().is_some() {
                has && on
            } else {
                on
            },
        ))
    }

    /// A row of [`App::select_users`], as values (of either engine).
    pub fn user_from_values(&self, row: &[Value]) -> Result<AppUser> {
        let flag = |i: usize| row.get(i).is_some_and(|v| truthy_value(v.into()));
        let (has, on) = (flag(4), flag(5));
        Ok(AppUser {
            id: row.first().cloned().unwrap_or(Value::Null),
            username: row.get(1).map(|v| text(v.into())).unwrap_or_default(),
            email: row.get(2).map(|v| text(v.into())).unwrap_or_default(),
            is_admin: flag(3),
            has_key: has,
            active: if self.raw_active().is_some() {
                has && on
            } else {
                on
            },
        })
    }

    /// A row of [`App::select_users`].
    pub fn user_from_row(&self, row: &rusqlite::Row<'_>) -> rusqlite::Result<AppUser> {
        let (is_admin, has_key, active) = self.flags(row)?;
        Ok(AppUser {
            id: row.get(0)?,
            username: text(row.get_ref(1)?),
            email: text(row.get_ref(2)?),
            is_admin,
            has_key,
            active,
        })
    }

    /// The SQL condition on `u` for a user named `:name` by username, or e-mail (case
    /// insensitive) when `by_email`.
    pub fn name_sql(&self, by_email: bool) -> Option<String> {
        if !by_email {
            return Some(format!("u.{} = :name", self.map.username));
        }
        match &self.map.email {
            Email::None => None,
            _ => Some(self.dialect.nocase_eq(&self.email_sql(), ":name")),
        }
    }

    /// One user by id.
    pub fn user_by_id(&self, conn: &dyn Sql, id: &UserId) -> Result<Option<AppUser>> {
        self.user_by_id_as(conn, id, "")
    }

    /// [`App::user_by_id`] inside a write transaction: on PostgreSQL the user's row is
    /// locked (`FOR UPDATE`) until the commit, so that what is read is what is changed; on
    /// SQLite the transaction holds the database's write lock already.
    pub fn lock_user(&self, conn: &dyn Sql, id: &UserId) -> Result<Option<AppUser>> {
        let lock = match conn.dialect() {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE OF u",
        };
        self.user_by_id_as(conn, id, lock)
    }

    fn user_by_id_as(&self, conn: &dyn Sql, id: &UserId, lock: &str) -> Result<Option<AppUser>> {
        let sql = format!(
            "{} WHERE u.{} = :id{lock}",
            self.select_users(),
            self.map.id
        );
        let params = self.named(vec![(":id", id.clone())]);
        conn.row_with(&sql, Params::Named(&params))?
            .map(|r| self.user_from_values(&r))
            .transpose()
    }

    /// The mapping's constants and `extra`, as named parameters.
    pub fn named(&self, mut extra: Vec<(&'static str, Value)>) -> Vec<(&'static str, Value)> {
        extra.extend(self.constants());
        extra
    }

    /// Turn off the user's 2FA as the application's own "turn off 2FA" does, and end their
    /// logins; returns how many login rows were deleted.
    pub fn reset(&self, conn: &dyn Sql, id: &UserId) -> Result<u64> {
        self.reset_users(conn, &Who::one(id))
    }

    /// [`App::reset`] for every user `who` names, a few statements in all; returns how many
    /// login rows were deleted.
    pub fn reset_users(&self, conn: &dyn Sql, who: &Who) -> Result<u64> {
        for s in self.reset_statements(&who.cond)? {
            self.exec(conn, &s, who)?;
        }
        self.end_sessions_of(conn, who)
    }

    /// Delete the user's login rows; how many there were.
    pub fn end_sessions(&self, conn: &dyn Sql, id: &UserId) -> Result<u64> {
        self.end_sessions_of(conn, &Who::one(id))
    }

    fn end_sessions_of(&self, conn: &dyn Sql, who: &Who) -> Result<u64> {
        let mut n = 0;
        for s in &self.map.sessions {
            let sql = format!("DELETE FROM {} WHERE {} {}", s.table, s.user, who.cond);
            n += self.exec(conn, &Stmt::new(sql), who)?;
        }
        Ok(n)
    }

    /// SQL for how many login rows the user whose id is `id` (an SQL expression) has: what
    /// [`App::reset`] would delete.
    pub fn sessions_sql(&self, id: &str) -> String {
        if self.map.sessions.is_empty() {
            return "0".to_owned();
        }
        self.map
            .sessions
            .iter()
            .map(|s| format!("(SELECT count(*) FROM {} WHERE {} = {id})", s.table, s.user))
            .collect::<Vec<_>>()
            .join(" + ")
    }

    /// The statements of a reset but for the logins, for the users whose id is `cond`
    /// (`= :id`, `IN (…)`).
    fn reset_statements(&self, cond: &str) -> Result<Vec<Stmt>> {
        let mut out = Vec::new();
        let (users, id) = (&self.map.users, &self.map.id);
        match &self.map.key {
            KeyStore::Columns {
                secret,
                active,
                cleared,
                ..
            } => {
                let value = match cleared {
                    Cleared::Null => "NULL",
                    Cleared::Empty => "''",
                };
                // The flag's 0 is bound: PostgreSQL stores it in a boolean column as false.
                let mut set = format!("{secret} = {value}");
                match active {
                    Active::Flag(f) => set.push_str(&format!(", {f} = :off")),
                    Active::State(c, _) => set.push_str(&format!(", {c} = :off")),
                    Active::Present => {}
                }
                let mut s = Stmt::new(format!("UPDATE {users} SET {set} WHERE {id} {cond}"));
                s.params.push((":off", Value::Integer(0)));
                out.push(s);
            }
            KeyStore::Rows {
                table, user, kind, ..
            } => {
                let mut sql = format!("DELETE FROM {table} WHERE {user} {cond}");
                if let Some((col, _)) = kind {
                    sql.push_str(&format!(" AND {col} = :kind_value"));
                }
                out.push(Stmt::new(sql));
            }
        }
        for also in &self.map.also {
            out.push(also_statement(self.dialect, users, id, also, cond)?);
        }
        Ok(out)
    }

    /// Run `s` for the users `who` names (with the mapping's constants bound); how many rows
    /// it changed.
    fn exec(&self, conn: &dyn Sql, s: &Stmt, who: &Who) -> Result<u64> {
        let params = self.named(who.params.iter().chain(&s.params).cloned().collect());
        conn.execute_named(&s.sql, &params)
    }

    /// Run `sql` with `:id` bound to the user (and the mapping's constants).
    fn exec_user(&self, conn: &dyn Sql, sql: &str, id: &UserId) -> Result<u64> {
        self.exec(conn, &Stmt::new(sql.to_owned()), &Who::one(id))
    }

    /// Whether twofactl can write a key the application reads (not when it encrypts keys).
    pub fn check_enrol(&self) -> Result<(), Failure> {
        let encoding = match &self.map.key {
            KeyStore::Columns { encoding, .. } | KeyStore::Rows { encoding, .. } => *encoding,
        };
        if encoding == Encoding::Encrypted {
            return Err(fail(
                Exit::Config,
                format!(
                    "{} encrypts TOTP keys with a secret of its own: twofactl cannot write one",
                    self.profile
                ),
            )
            .hint("reset the user's 2FA (twofactl admin-reset, or request-reset and verify), then the user enrols in the application's own page"));
        }
        Ok(())
    }

    /// Make `key` the user's active authenticator, written as the application's enrolment
    /// writes it (replacing any key of theirs).
    pub fn activate(&self, conn: &dyn Sql, id: &UserId, key: &[u8], now: i64) -> Result<()> {
        self.check_enrol()?;
        match &self.map.key {
            KeyStore::Columns {
                secret,
                active,
                encoding,
                ..
            } => {
                let mut set = format!("{secret} = :key");
                match active {
                    Active::Flag(f) => set.push_str(&format!(", {f} = :on")),
                    Active::State(c, _) => set.push_str(&format!(", {c} = :state_value")),
                    Active::Present => {}
                }
                let sql = format!(
                    "UPDATE {} SET {set} WHERE {} = :id",
                    self.map.users, self.map.id
                );
                let params = self.named(vec![
                    (
                        ":key",
                        Value::Text(encoding.encode(key).unwrap_or_default()),
                    ),
                    (":id", id.clone()),
                    (":on", Value::Integer(1)),
                ]);
                conn.execute_named(&sql, &params)?;
            }
            KeyStore::Rows {
                table,
                user,
                secret,
                kind,
                active,
                encoding,
                fill: extra,
            } => {
                let mut sql = format!("DELETE FROM {table} WHERE {user} = :id");
                if let Some((col, _)) = kind {
                    sql.push_str(&format!(" AND {col} = :kind_value"));
                }
                self.exec_user(conn, &sql, id)?;
                let mut cols = vec![user.clone(), secret.clone()];
                let mut values = vec![
                    id.clone(),
                    Value::Text(encoding.encode(key).unwrap_or_default()),
                ];
                if let Some((col, v)) = kind {
                    cols.push(col.clone());
                    values.push(v.clone());
                }
                match active {
                    Active::Flag(f) => {
                        cols.push(f.clone());
                        values.push(Value::Integer(1));
                    }
                    Active::State(c, v) => {
                        cols.push(c.clone());
                        values.push(Value::Integer(*v));
                    }
                    Active::Present => {}
                }
                for (c, f) in extra {
                    cols.push(c.clone());
                    values.push(fill_at(f, now)?);
                }
                let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
                let sql = format!(
                    "INSERT INTO {table} ({}) VALUES ({})",
                    cols.join(", "),
                    marks.join(", ")
                );
                conn.execute(&sql, &values)?;
            }
        }
        Ok(())
    }

    /// A key the application itself holds for the user but has not activated (its own
    /// enrolment in progress), which a code may confirm.
    pub fn inactive_key(&self, conn: &dyn Sql, id: &UserId) -> Result<Option<Vec<u8>>> {
        let (sql, encoding) = match &self.map.key {
            KeyStore::Columns {
                secret,
                active: Active::Flag(_) | Active::State(..),
                encoding,
                ..
            } => {
                let (_, on) = self.state_sql();
                (
                    format!(
                        "SELECT u.{secret} FROM {} u WHERE u.{} = :id AND NOT {on}",
                        self.map.users, self.map.id
                    ),
                    *encoding,
                )
            }
            KeyStore::Rows {
                table,
                user,
                secret,
                kind,
                active: active @ (Active::Flag(_) | Active::State(..)),
                encoding,
                ..
            } => {
                let mut sql = format!("SELECT k.{secret} FROM {table} k WHERE k.{user} = :id");
                if let Some((col, _)) = kind {
                    sql.push_str(&format!(" AND k.{col} = :kind_value"));
                }
                match active {
                    Active::Flag(f) => {
                        let on = self.dialect.truthy(&format!("k.{f}"));
                        sql.push_str(&format!(" AND NOT {on}"));
                    }
                    Active::State(c, _) => sql.push_str(&format!(" AND k.{c} <> :state_value")),
                    Active::Present => {}
                }
                sql.push_str(" LIMIT 1");
                (sql, *encoding)
            }
            _ => return Ok(None),
        };
        let params = self.named(vec![(":id", id.clone())]);
        let Some(row) = conn.row_with(&sql, Params::Named(&params))? else {
            return Ok(None);
        };
        Ok(encoding.decode(&text((&row[0]).into())))
    }

    /// The user's stored password hash, with the extra columns its format needs.
    pub fn password(&self, conn: &dyn Sql, id: &UserId) -> Result<Option<StoredColumns>> {
        let Some(p) = &self.map.password else {
            return Ok(None);
        };
        let mut cols = vec![p.hash.clone()];
        cols.extend(p.extra.iter().map(|(c, _)| c.clone()));
        let sql = format!(
            "SELECT {} FROM {} WHERE {} = :id",
            cols.join(", "),
            self.map.users,
            self.map.id
        );
        let Some(mut row) = conn.row_with(&sql, Params::Named(&[(":id", id.clone())]))? else {
            return Ok(None);
        };
        let extra = p
            .extra
            .iter()
            .zip(row.drain(1..))
            .map(|((_, name), v)| (name.clone(), v))
            .collect();
        Ok(Some(StoredColumns {
            scheme: p.scheme,
            format: p.format,
            hash: row.swap_remove(0),
            extra,
        }))
    }

    /// Check that every table and column the mapping names exists; name the first missing.
    pub fn check(&self, conn: &Connection) -> Result<()> {
        self.check_with(|table| columns(conn, table))
    }

    /// [`App::check`] with the columns of a table (by its quoted name; none when there is no
    /// such table) listed by `columns`.
    pub fn check_with(&self, mut columns: impl FnMut(&str) -> Result<Vec<String>>) -> Result<()> {
        for (table, cols) in self.needed() {
            let have = columns(&table)?;
            if have.is_empty() {
                return Err(fail(
                    Exit::Config,
                    format!("the database has no table {table} (profile {})", self.profile),
                )
                .hint("point --db at the application's database, choose its profile with [schema] profile (or --profile), or map the table with [schema] keys")
                .into());
            }
            for col in cols {
                if !have.iter().any(|c| q(c).eq_ignore_ascii_case(&col)) {
                    return Err(fail(
                        Exit::Config,
                        format!("table {table} has no column {col} (profile {})", self.profile),
                    )
                    .hint("choose the application's profile with [schema] profile, or map the column with [schema] keys")
                    .into());
                }
            }
        }
        Ok(())
    }

    /// Every (table, columns) the mapping reads or writes.
    /// The rights a reset and an enrolment need on the application's tables: (table,
    /// privilege), each once, in the order first needed.
    pub fn changed_tables(&self) -> Vec<(String, &'static str)> {
        let m = &self.map;
        let mut out: Vec<(String, &'static str)> = Vec::new();
        let mut add = |t: &str, p: &'static str| {
            if !out.iter().any(|(x, y)| x == t && *y == p) {
                out.push((t.to_owned(), p));
            }
        };
        match &m.key {
            KeyStore::Columns { .. } => add(&m.users, "UPDATE"),
            KeyStore::Rows { table, .. } => {
                add(table, "DELETE");
                add(table, "INSERT");
            }
        }
        for also in &m.also {
            match also {
                Also::Delete { table, .. } | Also::DeleteChildren { table, .. } => {
                    add(table, "DELETE");
                }
                Also::Update { table, .. } => add(table, "UPDATE"),
                Also::Set { .. } => add(&m.users, "UPDATE"),
            }
        }
        for s in &m.sessions {
            add(&s.table, "DELETE");
        }
        out
    }

    pub(crate) fn needed(&self) -> Vec<(String, Vec<String>)> {
        let m = &self.map;
        let mut users = vec![m.id.clone(), m.username.clone()];
        if let Email::Column(c) = &m.email {
            users.push(c.clone());
        }
        if let Some(p) = &m.password {
            users.push(p.hash.clone());
            users.extend(p.extra.iter().map(|(c, _)| c.clone()));
        }
        let mut others = Vec::new();
        match &m.admin {
            Admin::Flag(c) | Admin::Equals(c, _) | Admin::Contains(c, _) => users.push(c.clone()),
            Admin::Member {
                table, user, group, ..
            } => others.push((table.clone(), vec![user.clone(), group.clone()])),
            Admin::Nobody => {}
        }
        if let Email::Preference {
            table,
            user,
            section: (section, _),
            key_column,
            value,
            ..
        } = &m.email
        {
            others.push((
                table.clone(),
                vec![
                    user.clone(),
                    section.clone(),
                    key_column.clone(),
                    value.clone(),
                ],
            ));
        }
        others.extend(self.needed_elsewhere(&mut users));
        let mut all = vec![(m.users.clone(), users)];
        all.extend(others);
        all
    }

    /// The key store's, the extra actions' and the logins' tables (and the users' columns
    /// they add).
    fn needed_elsewhere(&self, users: &mut Vec<String>) -> Vec<(String, Vec<String>)> {
        let m = &self.map;
        let mut others = Vec::new();
        match &m.key {
            KeyStore::Columns { secret, active, .. } => {
                users.push(secret.clone());
                if let Active::Flag(c) | Active::State(c, _) = active {
                    users.push(c.clone());
                }
            }
            KeyStore::Rows {
                table,
                user,
                secret,
                kind,
                active,
                fill,
                ..
            } => {
                let mut cols = vec![user.clone(), secret.clone()];
                if let Some((c, _)) = kind {
                    cols.push(c.clone());
                }
                if let Active::Flag(c) | Active::State(c, _) = active {
                    cols.push(c.clone());
                }
                cols.extend(fill.iter().map(|(c, _)| c.clone()));
                others.push((table.clone(), cols));
            }
        }
        for a in &m.also {
            match a {
                Also::Delete { table, user, only } => {
                    let mut cols = vec![user.clone()];
                    cols.extend(only.iter().map(|(c, _)| c.clone()));
                    others.push((table.clone(), cols));
                }
                Also::Update {
                    table,
                    user,
                    only,
                    column,
                    ..
                } => others.push((
                    table.clone(),
                    vec![user.clone(), only.0.clone(), column.clone()],
                )),
                Also::DeleteChildren {
                    table,
                    column,
                    parent,
                    parent_id,
                    parent_user,
                } => {
                    others.push((table.clone(), vec![column.clone()]));
                    others.push((parent.clone(), vec![parent_id.clone(), parent_user.clone()]));
                }
                Also::Set { column, .. } => users.push(column.clone()),
            }
        }
        for s in &m.sessions {
            others.push((s.table.clone(), vec![s.user.clone()]));
        }
        if let Some(t) = &m.settings {
            others.push((t.clone(), vec![q("key"), q("value")]));
        }
        others
    }
}

/// The columns of `table` (a quoted name), empty when there is no such table.
/// The columns of `table` (a quoted name) in an SQLite database; none when there is no such
/// table.
pub fn columns(conn: &Connection, table: &str) -> Result<Vec<String>> {
    let bare = table.trim_matches('"').replace("\"\"", "\"");
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
    let cols = stmt
        .query_map([bare], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(cols)
}

/// Which users a change applies to: one, bound as `:id`, or those an SQL query selects.
#[derive(Debug, Clone)]
pub struct Who {
    /// `= :id`, or `IN (SELECT …)`.
    cond: String,
    params: Vec<(&'static str, Value)>,
}

impl Who {
    /// The user whose id is `id`.
    pub fn one(id: &UserId) -> Who {
        Who {
            cond: "= :id".to_owned(),
            params: vec![(":id", id.clone())],
        }
    }

    /// The users whose ids `select` (a SELECT of one column) gives, with its named
    /// parameters bound to `params`.
    pub fn selected(select: &str, params: Vec<(&'static str, Value)>) -> Who {
        Who {
            cond: format!("IN ({select})"),
            params,
        }
    }
}

/// A statement with values of its own to bind (besides the mapping's constants and the users').
struct Stmt {
    sql: String,
    params: Vec<(&'static str, Value)>,
}

impl Stmt {
    fn new(sql: String) -> Stmt {
        Stmt {
            sql,
            params: Vec::new(),
        }
    }
}

/// The statement of one more thing a reset does, for the users whose id is `cond`.
fn also_statement(d: Dialect, users: &str, id: &str, also: &Also, cond: &str) -> Result<Stmt> {
    Ok(match also {
        Also::Delete { table, user, only } => {
            let mut s = Stmt::new(format!("DELETE FROM {table} WHERE {user} {cond}"));
            if let Some((col, v)) = only {
                s.sql.push_str(&format!(" AND {col} = :only"));
                s.params.push((":only", v.clone()));
            }
            s
        }
        Also::Update {
            table,
            user,
            only: (col, v),
            column,
            value,
        } => {
            let (expr, bound) = fill_sql(d, value)?;
            let mut s = Stmt::new(format!(
                "UPDATE {table} SET {column} = {expr} WHERE {user} {cond} AND {col} = :only"
            ));
            s.params.push((":only", v.clone()));
            s.params.extend(bound.map(|b| (":value", b)));
            s
        }
        Also::DeleteChildren {
            table,
            column,
            parent,
            parent_id,
            parent_user,
        } => Stmt::new(format!(
            "DELETE FROM {table} WHERE {column} IN \
             (SELECT {parent_id} FROM {parent} WHERE {parent_user} {cond})"
        )),
        Also::Set { column, value } => {
            let (expr, bound) = fill_sql(d, value)?;
            let mut s = Stmt::new(format!(
                "UPDATE {users} SET {column} = {expr} WHERE {id} {cond}"
            ));
            s.params.extend(bound.map(|b| (":value", b)));
            s
        }
    })
}

/// A fill value in a statement that may change many rows: an SQL expression, and the value
/// it binds as `:value`. A UUID is made per row, by [`register_functions`]'s `twofactl_uuid()`.
/// On PostgreSQL, `gen_random_uuid()` (from the server's strong random source).
fn fill_sql(d: Dialect, f: &Fill) -> Result<(&'static str, Option<Value>)> {
    Ok(match f {
        Fill::Uuid if d == Dialect::Postgres => ("gen_random_uuid()", None),
        Fill::Uuid => ("twofactl_uuid()", None),
        other => (":value", Some(fill(other)?)),
    })
}

/// Add twofactl's SQL functions to `conn`: `twofactl_uuid()`, a new random UUID (from the
/// OS's CSPRNG, as every secret twofactl makes), and `twofactl_text(x)`, a value as text
/// the way twofactl reads text columns (invalid UTF-8 replaced, numbers written out).
pub fn register_functions(conn: &Connection) -> Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function("twofactl_uuid", 0, FunctionFlags::SQLITE_UTF8, |_| {
        new_uuid().map_err(|e| rusqlite::Error::UserFunctionError(e.into()))
    })?;
    conn.create_scalar_function(
        "twofactl_text",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| Ok(text(ctx.get_raw(0))),
    )?;
    Ok(())
}

fn fill(f: &Fill) -> Result<Value> {
    fill_at(f, crate::output::now())
}

fn fill_at(f: &Fill, now: i64) -> Result<Value> {
    Ok(match f {
        Fill::Int(n) => Value::Integer(*n),
        Fill::Text(t) => Value::Text(t.clone()),
        Fill::Null => Value::Null,
        Fill::Uuid => Value::Text(new_uuid()?),
        Fill::NowUnix => Value::Integer(now),
        Fill::NowText => {
            let t = crate::output::rfc3339(now);
            Value::Text(format!("{} {}.000000", &t[..10], &t[11..19]))
        }
    })
}

/// A random (version 4) UUID in its usual text form.
fn new_uuid() -> Result<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)
        .map_err(|e| anyhow::anyhow!("the OS random number generator failed: {e}"))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    Ok(uuid_text(&b))
}

/// 16 bytes as a UUID's usual text (lower-case hex, 8-4-4-4-12).
pub(crate) fn uuid_text(b: &[u8; 16]) -> String {
    let h = data_encoding::HEXLOWER.encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// A column as text, whatever its storage class (invalid UTF-8 replaced).
pub(crate) fn text(v: rusqlite::types::ValueRef<'_>) -> String {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Text(b) | ValueRef::Blob(b) => String::from_utf8_lossy(b).into_owned(),
        ValueRef::Null => String::new(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => f.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_in_each_encoding() {
        let key = [0xA5u8; 20];
        for e in [Encoding::Base32, Encoding::Hex] {
            let text = e.encode(&key).unwrap();
            assert_eq!(e.decode(&text).unwrap(), key, "{e:?}");
        }
        assert_eq!(Encoding::Base32.encode(&key).unwrap().len(), 32);
        assert_eq!(Encoding::Hex.encode(&key).unwrap(), "a5".repeat(20));
        // Lower case and padding, as some applications write base32, still read.
        assert_eq!(
            Encoding::Base32.decode("mfrgg===").unwrap(),
            b"abc".to_vec()
        );
        assert_eq!(Encoding::Encrypted.encode(&key), None);
        assert_eq!(Encoding::Encrypted.decode("x"), None);
    }

    #[test]
    fn uuids_are_version_4() {
        let u = new_uuid().unwrap();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!("89ab".contains(&u[19..20]));
        assert_ne!(u, new_uuid().unwrap());
    }

    #[test]
    fn truthy_reads_booleans_as_applications_store_them() {
        let conn = Connection::open_in_memory().unwrap();
        for (value, want) in [
            ("1", true),
            ("0", false),
            ("NULL", false),
            ("'0'", false),
            ("''", false),
            ("'yes'", true),
            ("0.5", true),
            ("X'30'", false),
        ] {
            let got: bool = conn
                .query_row(&format!("SELECT {}", truthy(value)), [], |r| r.get(0))
                .unwrap();
            assert_eq!(got, want, "{value}");
        }
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(q("users"), "\"users\"");
        assert_eq!(q("a\"b"), "\"a\"\"b\"");
    }
}
