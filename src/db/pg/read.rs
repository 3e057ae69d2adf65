//! Reading the application's users on PostgreSQL, with the SQL the application seam
//! generates for both engines (`App` in its PostgreSQL dialect).

use std::borrow::Cow;
use std::collections::HashMap;

use anyhow::Result;
use postgres::types::{ToSql, Type};
use postgres::{Client, Row};
use rusqlite::types::Value;

use crate::app::{App, Dialect};
use crate::db::migrate;
use crate::db::sql::numbered;
use crate::db::users::{self, Filter, ListRow};

/// A bound value.
#[derive(Debug)]
enum Param {
    Text(String),
    Int(i64),
}

impl Param {
    fn sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Param::Text(t) => t,
            Param::Int(i) => i,
        }
    }
}

/// The mapping's constants as PostgreSQL binds them: as text (the SQL compares the column
/// as text).
fn constants(app: &App) -> HashMap<&'static str, Param> {
    app.constants()
        .into_iter()
        .map(|(name, v)| (name, Param::Text(crate::app::text((&v).into()))))
        .collect()
}

/// Stream the users matching `f`, in id order, to `each`: rows are read from the server as
/// they are used (the client's channel holds one message at a time), so memory stays flat.
///
/// Once twofactl's tables are there (`own`, their version, and now), each user's last 2FA
/// change, open reset request and pending key are joined from them, aggregated once per
/// table (hash joins, not a lookup per user).
pub fn for_each_user<F>(
    client: &mut Client,
    app: &App,
    (own, now): (usize, i64),
    f: &Filter,
    mut each: F,
) -> Result<()>
where
    F: FnMut(&ListRow<'_>) -> Result<()>,
{
    debug_assert_eq!(app.dialect, Dialect::Postgres);
    let id = id_expr(client, app)?;
    let limit = if f.limit.is_some() {
        "LIMIT :limit"
    } else {
        ""
    };
    let ours = own >= migrate::VERSION;
    let select = if ours {
        let uid = app.dialect.text(&format!("u.{}", app.map.id));
        app.select_users_joined(
            &id.expr,
            "c.last, o.until, p.user_id IS NOT NULL",
            &format!(
                "LEFT JOIN (SELECT user_id, max(time) AS last FROM twofactl_audit
                            WHERE changed = 1 GROUP BY user_id) c ON c.user_id = {uid}
                 LEFT JOIN (SELECT user_id, max(expires) AS until FROM twofactl_reset_requests
                            WHERE state = 'open' AND expires > :now GROUP BY user_id) o
                   ON o.user_id = {uid}
                 LEFT JOIN twofactl_pending_keys p ON p.user_id = {uid}"
            ),
        )
    } else {
        app.select_users_as(&id.expr)
    };
    let sql = format!(
        "{select} {} ORDER BY u.{} {limit}",
        users::list_where(app, own, f),
        app.map.id
    );
    let (sql, names) = numbered(&sql);
    let mut values = constants(app);
    if let Some(p) = f.pattern {
        values.insert(":pattern", Param::Text(p.to_owned()));
    }
    if let Some(l) = f.limit {
        values.insert(":limit", Param::Int(i64::try_from(l).unwrap_or(i64::MAX)));
    }
    values.insert(":now", Param::Int(now));
    let params: Vec<&(dyn ToSql + Sync)> = names
        .iter()
        .map(|n| {
            values
                .get(n.as_str())
                .map(Param::sql)
                .ok_or_else(|| anyhow::anyhow!("no value for {n} in the users query"))
        })
        .collect::<Result<_>>()?;
    let stmt = client.prepare(&sql)?;
    let mut rows = client.query_raw(&stmt, params)?;
    while let Some(row) = postgres::fallible_iterator::FallibleIterator::next(&mut rows)? {
        each(&list_row(&row, id.integer, ours)?)?;
    }
    Ok(())
}

fn list_row(row: &Row, integer: bool, ours: bool) -> Result<ListRow<'_>> {
    let id = if integer {
        Value::Integer(row.try_get::<_, i64>(0)?)
    } else {
        Value::Text(row.try_get::<_, String>(0)?)
    };
    let text =
        |i| -> Result<Cow<'_, [u8]>> { Ok(Cow::Borrowed(row.try_get::<_, &str>(i)?.as_bytes())) };
    let flag = |i| -> Result<bool> { Ok(row.try_get::<_, Option<bool>>(i)?.unwrap_or(false)) };
    let (last, until, pending) = if ours {
        (row.try_get(6)?, row.try_get(7)?, flag(8)?)
    } else {
        (None, None, false)
    };
    Ok(ListRow {
        id,
        username: text(1)?,
        email: text(2)?,
        is_admin: flag(3)?,
        // A key twofactl holds pending makes a user without an authenticator `pending`.
        status: match users::status(flag(4)?, flag(5)?) {
            users::Status::Disabled if pending => users::Status::Pending,
            s => s,
        },
        reset_open_until: until,
        last_2fa_change: last,
    })
}

/// How the users' ids are read: as `bigint` when the column is an integer (so they print as
/// numbers, as on SQLite), else as text (uuids, uids).
struct IdExpr {
    expr: String,
    integer: bool,
}

fn id_expr(client: &mut Client, app: &App) -> Result<IdExpr> {
    let col = format!("u.{}", app.map.id);
    let probe = client.prepare(&format!("SELECT {col} FROM {} u LIMIT 0", app.map.users))?;
    let integer = matches!(
        probe.columns().first().map(postgres::Column::type_),
        Some(&Type::INT2 | &Type::INT4 | &Type::INT8)
    );
    Ok(if integer {
        IdExpr {
            expr: format!("({col})::bigint"),
            integer,
        }
    } else {
        IdExpr {
            expr: format!("({col})::text"),
            integer,
        }
    })
}

/// The columns of `table` (a quoted name, looked up in the search path), none when there
/// is no such table.
pub fn columns(client: &mut Client, table: &str) -> Result<Vec<String>> {
    let rows = client.query(
        "SELECT a.attname::text FROM pg_catalog.pg_attribute a
         WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
         ORDER BY a.attnum",
        &[&table],
    )?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

/// The server's version, and the TLS version of this session (`None`: not encrypted).
pub fn session(client: &mut Client) -> Result<(String, Option<String>)> {
    let row = client.query_one(
        "SELECT current_setting('server_version'),
                (SELECT CASE WHEN s.ssl THEN s.version END FROM pg_catalog.pg_stat_ssl s
                 WHERE s.pid = pg_backend_pid())",
        &[],
    )?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// The tables the mapping needs that the role may not read.
pub fn unreadable(client: &mut Client, app: &App) -> Result<Vec<String>> {
    let mut missing = Vec::new();
    for (table, _) in app.needed() {
        let row = client.query_one("SELECT has_table_privilege($1, 'SELECT')", &[&table])?;
        if !row.try_get::<_, bool>(0)? {
            missing.push(table);
        }
    }
    Ok(missing)
}

/// What the role may not do that a change needs: `PRIVILEGE on table` for the application's
/// tables a reset or an enrolment changes, and, before twofactl's tables exist, `CREATE on
/// schema S` to make them there.
pub fn unwritable(client: &mut Client, app: &App) -> Result<Vec<String>> {
    let mut missing = Vec::new();
    for (table, privilege) in app.changed_tables() {
        let row = client.query_one("SELECT has_table_privilege($1, $2)", &[&table, &privilege])?;
        if !row.try_get::<_, bool>(0)? {
            missing.push(format!("{privilege} on {table}"));
        }
    }
    let row = client.query_one(
        "SELECT to_regclass('twofactl_meta') IS NOT NULL, current_schema()::text,
                has_schema_privilege(current_schema(), 'CREATE')",
        &[],
    )?;
    let (ours, schema, create): (bool, String, bool) =
        (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
    if !ours && !create {
        missing.push(format!("CREATE on schema {schema}"));
    }
    Ok(missing)
}
