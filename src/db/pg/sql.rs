//! PostgreSQL behind [`Sql`]: values converted to and from the types the server gives each
//! parameter and column, statements prepared once per connection.

use std::cell::RefCell;
use std::collections::HashMap;
use std::error::Error;

use anyhow::{Result, anyhow};
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{FromSql, IsNull, Kind, ToSql, Type, to_sql_checked};
use postgres::{Client, Statement};
use rusqlite::types::Value;

use crate::app::Dialect;
use crate::db::sql::{Each, Params, Sql, numbered};

type BoxError = Box<dyn Error + Sync + Send>;

/// A PostgreSQL session, usable through `&self` like an SQLite connection.
pub struct Pg {
    client: RefCell<Client>,
    /// Prepared statements by their SQL as twofactl wrote it, with the order of their
    /// named parameters.
    stmts: RefCell<HashMap<String, (Statement, Vec<String>)>>,
}

impl Pg {
    pub fn new(client: Client) -> Pg {
        Pg {
            client: RefCell::new(client),
            stmts: RefCell::new(HashMap::new()),
        }
    }

    /// The client, for what [`Sql`] does not cover (streaming the users' list).
    pub fn client(&self) -> Result<std::cell::RefMut<'_, Client>> {
        self.client
            .try_borrow_mut()
            .map_err(|_| anyhow!("the PostgreSQL connection is busy reading another query"))
    }

    fn prepare(
        &self,
        client: &mut Client,
        sql: &str,
        named: bool,
    ) -> Result<(Statement, Vec<String>)> {
        if let Some(s) = self.stmts.borrow().get(sql) {
            return Ok(s.clone());
        }
        let (text, names) = numbered(sql);
        debug_assert!(named || names.is_empty(), "named parameters in: {sql}");
        let stmt = client.prepare(&text)?;
        self.stmts
            .borrow_mut()
            .insert(sql.to_owned(), (stmt.clone(), names.clone()));
        Ok((stmt, names))
    }
}

impl Sql for Pg {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn copy_in(&self, copy: &str, data: &[u8]) -> Result<u64> {
        use std::io::Write;
        let mut client = self.client()?;
        let mut writer = client.copy_in(copy)?;
        writer.write_all(data)?;
        Ok(writer.finish()?)
    }

    fn batch(&self, sql: &str) -> Result<()> {
        Ok(self.client()?.batch_execute(sql)?)
    }

    fn run(&self, sql: &str, params: Params<'_>, each: Option<Each<'_>>) -> Result<u64> {
        let mut client = self.client()?;
        let (stmt, names) = self.prepare(&mut client, sql, matches!(params, Params::Named(_)))?;
        let values: Vec<Bind<'_>> = match params {
            Params::Pos(p) => p.iter().map(Bind).collect(),
            Params::Named(n) => names
                .iter()
                .map(|name| {
                    n.iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| Bind(v))
                        .ok_or_else(|| anyhow!("no value for {name} in: {sql}"))
                })
                .collect::<Result<_>>()?,
        };
        if stmt.params().len() != values.len() {
            return Err(anyhow!(
                "{} values for {} parameters in: {sql}",
                values.len(),
                stmt.params().len()
            ));
        }
        if stmt.columns().is_empty() {
            let refs: Vec<&(dyn ToSql + Sync)> =
                values.iter().map(|b| b as &(dyn ToSql + Sync)).collect();
            return Ok(client.execute(&stmt, &refs)?);
        }
        let mut rows = client.query_raw(&stmt, values)?;
        let mut n = 0;
        let mut buf = Vec::new();
        let mut each = each;
        while let Some(row) = rows.next()? {
            n += 1;
            if let Some(f) = each.as_mut() {
                buf.clear();
                for i in 0..row.len() {
                    buf.push(row.try_get::<_, Read>(i)?.0);
                }
                f(&buf)?;
            }
        }
        Ok(n)
    }
}

/// A value bound to a parameter of whatever type the server inferred for it.
#[derive(Debug)]
struct Bind<'a>(&'a Value);

fn text_like(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::JSON
    ) || matches!(ty.kind(), Kind::Enum(_))
        || (matches!(ty.kind(), Kind::Simple) && ty.name() == "citext")
}

fn mismatch(v: &Value, ty: &Type) -> BoxError {
    let what = match v {
        Value::Null => "NULL",
        Value::Integer(_) => "a number",
        Value::Real(_) => "a real number",
        Value::Text(_) => "text",
        Value::Blob(_) => "bytes",
    };
    format!("cannot store {what} in a column of type {ty}").into()
}

impl ToSql for Bind<'_> {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
        let v = self.0;
        match v {
            Value::Null => Ok(IsNull::Yes),
            Value::Integer(i) => match *ty {
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT8 => i.to_sql(ty, out),
                #[allow(clippy::cast_precision_loss)]
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                _ if text_like(ty) => i.to_string().as_str().to_sql(&Type::TEXT, out),
                _ => Err(mismatch(v, ty)),
            },
            Value::Real(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                _ if text_like(ty) => f.to_string().as_str().to_sql(&Type::TEXT, out),
                _ => Err(mismatch(v, ty)),
            },
            Value::Text(t) => match *ty {
                Type::INT2 => t.parse::<i16>()?.to_sql(ty, out),
                Type::INT4 => t.parse::<i32>()?.to_sql(ty, out),
                Type::INT8 => t.parse::<i64>()?.to_sql(ty, out),
                Type::BOOL => (!matches!(t.as_str(), "" | "0" | "f" | "false")).to_sql(ty, out),
                Type::BYTEA => t.as_bytes().to_sql(ty, out),
                Type::UUID => {
                    out.extend_from_slice(&uuid_bytes(t).ok_or_else(|| mismatch(v, ty))?);
                    Ok(IsNull::No)
                }
                Type::TIMESTAMP | Type::TIMESTAMPTZ => {
                    let micros = timestamp_micros(t).ok_or_else(|| mismatch(v, ty))?;
                    micros.to_sql(&Type::INT8, out)
                }
                _ if text_like(ty) => t.as_str().to_sql(&Type::TEXT, out),
                _ => Err(mismatch(v, ty)),
            },
            Value::Blob(b) => match *ty {
                Type::BYTEA => b.as_slice().to_sql(ty, out),
                _ if text_like(ty) => std::str::from_utf8(b)?.to_sql(&Type::TEXT, out),
                _ => Err(mismatch(v, ty)),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A column's value, whatever its type, as one of SQLite's kinds.
struct Read(Value);

impl<'a> FromSql<'a> for Read {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Read, BoxError> {
        Ok(Read(match *ty {
            Type::BOOL => Value::Integer(i64::from(bool::from_sql(ty, raw)?)),
            Type::INT2 => Value::Integer(i64::from(i16::from_sql(ty, raw)?)),
            Type::INT4 => Value::Integer(i64::from(i32::from_sql(ty, raw)?)),
            Type::INT8 => Value::Integer(i64::from_sql(ty, raw)?),
            Type::OID => Value::Integer(i64::from(u32::from_sql(ty, raw)?)),
            Type::FLOAT4 => Value::Real(f64::from(f32::from_sql(ty, raw)?)),
            Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
            Type::BYTEA => Value::Blob(raw.to_vec()),
            Type::UUID => Value::Text(uuid_text(raw)?),
            _ if text_like(ty) => Value::Text(String::from_utf8_lossy(raw).into_owned()),
            _ => return Err(format!("cannot read a column of type {ty}").into()),
        }))
    }

    fn from_sql_null(_: &Type) -> Result<Read, BoxError> {
        Ok(Read(Value::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

fn uuid_text(raw: &[u8]) -> Result<String, BoxError> {
    let b: &[u8; 16] = raw.try_into().map_err(|_| "a uuid of the wrong length")?;
    Ok(crate::app::uuid_text(b))
}

fn uuid_bytes(text: &str) -> Option<Vec<u8>> {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    let b = data_encoding::HEXLOWER_PERMISSIVE
        .decode(hex.as_bytes())
        .ok()?;
    (b.len() == 16).then_some(b)
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]` (UTC) as microseconds since 2000-01-01, PostgreSQL's
/// timestamp.
fn timestamp_micros(t: &str) -> Option<i64> {
    let num = |s: &str| s.parse::<i64>().ok();
    let (date, time) = t.split_once([' ', 'T'])?;
    let mut d = date.splitn(3, '-');
    let (y, m, day) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut h = hms.splitn(3, ':');
    let (hh, mm, ss) = (num(h.next()?)?, num(h.next()?)?, num(h.next()?)?);
    let frac = frac.trim_end_matches(['Z', 'z']);
    let micros = num(&format!("{frac:0<6}")[..6])?;
    // Days from civil (Howard Hinnant's algorithm), then from 2000-01-01 (day 10957).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468 - 10_957;
    Some(((days * 24 + hh) * 60 + mm) * 60_000_000 + ss * 1_000_000 + micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_count_from_2000() {
        assert_eq!(timestamp_micros("2000-01-01 00:00:00"), Some(0));
        assert_eq!(
            timestamp_micros("2026-11-30 13:58:49.000001"),
            Some((1_796_047_129 - 946_684_800) * 1_000_000 + 1)
        );
        assert_eq!(timestamp_micros("yesterday"), None);
    }

    #[test]
    fn uuids_round_trip() {
        let t = "0190f3a2-7c1e-4b7a-9f00-0123456789ab";
        assert_eq!(uuid_text(&uuid_bytes(t).unwrap()).unwrap(), t);
        assert_eq!(uuid_bytes("not-a-uuid"), None);
    }
}
