//! Output helpers shared by the commands: times as RFC 3339, untrusted text made safe for a
//! terminal, and an aligned table that streams (widths come from the first rows only, so
//! memory stays flat however many rows follow).

use std::borrow::Cow;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// A unix time as RFC 3339 in UTC, to the second: `2026-11-27T22:23:15Z`. RFC 3339 years have
/// four digits, so a time outside 0000..=9999 (only a hand-edited or corrupt row holds one) is
/// shown as the nearest end of that range; no value of an `i64` makes this panic.
pub fn rfc3339(unix: i64) -> String {
    const FIRST: i64 = -62_167_219_200; // 0000-01-01T00:00:00Z
    const LAST: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    let t = unix.clamp(FIRST, LAST);
    let (year, month, day) = civil_from_days(t.div_euclid(86_400));
    let secs = t.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The proleptic Gregorian date of a day number counted from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, <https://howardhinnant.github.io/date_algorithms.html>).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Now, as unix seconds. Commands read the clock once and pass `now` down.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Text from the database or from input, with control characters escaped so that a hostile
/// value cannot move the cursor, clear the screen or forge extra lines.
pub fn safe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One JSON value and a newline: a line of JSON Lines output. Strings escape every control
/// character (see [`EscapeControls`]), so JSON read on a terminal cannot drive it either.
pub fn json_line<W: Write, T: serde::Serialize + ?Sized>(out: &mut W, value: &T) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(&mut *out, EscapeControls);
    value.serialize(&mut ser)?;
    out.write_all(b"\n")
}

/// serde_json's compact format, with DEL and the C1 controls (U+007F to U+009F) escaped as
/// `\u007f` ... `\u009f` like the C0 controls serde_json already escapes: terminals act on C1
/// controls too (U+009B is a one-character CSI, as good as ESC `[`).
struct EscapeControls;

impl serde_json::ser::Formatter for EscapeControls {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let bytes = fragment.as_bytes();
        // In UTF-8, DEL is 0x7F and U+0080..=U+009F are 0xC2 0x80..=0xC2 0x9F; a byte scan
        // keeps the common case (none) as fast as serde_json's own.
        if !bytes.iter().any(|&b| b == 0x7f || b == 0xc2) {
            return writer.write_all(bytes);
        }
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if ('\u{7f}'..='\u{9f}').contains(&c) {
                writer.write_all(&bytes[start..i])?;
                write!(writer, "\\u{:04x}", u32::from(c))?;
                start = i + c.len_utf8();
            }
        }
        writer.write_all(&bytes[start..])
    }
}

/// Stdout, buffered for bulk output.
pub fn stdout() -> BufWriter<io::StdoutLock<'static>> {
    BufWriter::with_capacity(64 * 1024, io::stdout().lock())
}

/// A private file (mode 0600) written in full next to where it belongs, not yet visible
/// under its name: `persist` it once the change it goes with has committed.
pub struct Staged {
    file: tempfile::NamedTempFile,
    path: PathBuf,
}

impl Staged {
    /// Write `bytes` to a temporary file in `path`'s directory; `durable`: flush it to disk
    /// before it can be named (for files that record a delivery).
    pub fn new(path: &Path, bytes: &[u8], durable: bool) -> io::Result<Staged> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".twofactl-");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o600));
        }
        let mut file = builder.tempfile_in(dir)?;
        file.write_all(bytes)?;
        if durable {
            file.as_file().sync_all()?;
        }
        Ok(Staged {
            file,
            path: path.to_owned(),
        })
    }

    /// Give the file its name, atomically; over an existing file only with `replace`.
    pub fn persist(self, replace: bool) -> io::Result<()> {
        let result = if replace {
            self.file.persist(&self.path).map(drop)
        } else {
            self.file.persist_noclobber(&self.path).map(drop)
        };
        result.map_err(|e| e.error)
    }
}

/// Write `bytes` to `dir/name` atomically and durably with mode 0600, never over an
/// existing file.
pub fn write_private_file(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    Staged::new(&dir.join(name), bytes, true)?.persist(false)
}

/// How many rows decide the column widths.
const SAMPLE_ROWS: usize = 1000;

/// An aligned text table that streams after its first `SAMPLE_ROWS` rows.
pub struct Table<W: Write> {
    out: W,
    widths: Vec<usize>,
    pending: Option<Vec<Vec<String>>>,
}

impl<W: Write> Table<W> {
    pub fn new(out: W, header: &[&str]) -> Self {
        let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
        Table {
            out,
            widths: header.iter().map(|h| h.chars().count()).collect(),
            pending: Some(vec![header]),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) -> io::Result<()> {
        match &mut self.pending {
            Some(rows) => {
                for (w, c) in self.widths.iter_mut().zip(&cells) {
                    *w = (*w).max(c.chars().count());
                }
                rows.push(cells);
                if rows.len() > SAMPLE_ROWS {
                    self.flush_pending()?;
                }
                Ok(())
            }
            None => write_row(&mut self.out, &self.widths, &cells),
        }
    }

    fn flush_pending(&mut self) -> io::Result<()> {
        if let Some(rows) = self.pending.take() {
            for r in &rows {
                write_row(&mut self.out, &self.widths, r)?;
            }
        }
        Ok(())
    }

    pub fn finish(mut self) -> io::Result<()> {
        self.flush_pending()?;
        self.out.flush()
    }
}

fn write_row<W: Write>(out: &mut W, widths: &[usize], cells: &[String]) -> io::Result<()> {
    let last = cells.len().saturating_sub(1);
    for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
        if i == last {
            writeln!(out, "{c}")?;
        } else {
            let pad = w.saturating_sub(c.chars().count());
            write!(out, "{c}{:pad$}  ", "")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn times_are_utc_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_000_000), "2026-11-18T11:06:40Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(i64::MAX), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(i64::MIN), "0000-01-01T00:00:00Z");
    }

    #[test]
    fn rfc3339_agrees_with_humantime() {
        for t in (0..253_402_300_799_u64).step_by(9_876_543) {
            let ours = rfc3339(i64::try_from(t).unwrap());
            let theirs = humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(t));
            assert_eq!(ours, theirs.to_string());
        }
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(safe("alice"), "alice");
        assert_eq!(safe("a\nb\x1b[2J"), "a\\nb\\u{1b}[2J");
    }

    #[test]
    fn json_escapes_every_control_character() {
        let mut buf = Vec::new();
        json_line(
            &mut buf,
            &["a\u{1b}[2J\u{7f}\u{80}\u{9b}\u{9f}\u{a0}é\u{c2}"],
        )
        .unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(
            text,
            "[\"a\\u001b[2J\\u007f\\u0080\\u009b\\u009f\u{a0}é\u{c2}\"]\n"
        );
        let back: Vec<String> = serde_json::from_str(&text).unwrap();
        assert_eq!(back[0], "a\u{1b}[2J\u{7f}\u{80}\u{9b}\u{9f}\u{a0}é\u{c2}");
    }

    #[test]
    fn table_aligns_columns() {
        let mut buf = Vec::new();
        let mut t = Table::new(&mut buf, &["ID", "NAME", "X"]);
        t.row(vec!["1".into(), "alice".into(), "y".into()]).unwrap();
        t.row(vec!["22".into(), "bo".into(), "n".into()]).unwrap();
        t.finish().unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "ID  NAME   X\n1   alice  y\n22  bo     n\n"
        );
    }
}
