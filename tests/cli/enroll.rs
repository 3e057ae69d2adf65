//! Enrolment: `enroll` makes a pending key and shows it as a PNG or SVG QR code (decoded here
//! with `rqrr`, the SVG parsed as XML and rasterised), `enroll --code` confirms it with a code
//! computed by an HMAC-SHA1 TOTP written in this file from RFC 2104 / 4226 / 6238 (independent
//! of `src/`), `verify --enroll` goes straight into enrolment, and `demo` walks the whole flow.

use std::path::Path;
use std::process::Command as StdCommand;
use std::time::Duration;

use rusqlite::Connection;
use serde_json::Value;

use crate::self_service::{now, request_code, sandbox_with_mail};
use crate::support::*;

/// The users of these tests: dave and erin without 2FA, carol pending, bob active.
const USERS: &[U<'static>] = &[
    U {
        name: "bob",
        email: "bob@example.com",
        admin: false,
        state: State::Enabled,
        sessions: 1,
    },
    U {
        name: "carol",
        email: "carol@example.com",
        admin: false,
        state: State::Pending,
        sessions: 0,
    },
    U {
        name: "dave",
        email: "dave@example.com",
        admin: false,
        state: State::Disabled,
        sessions: 1,
    },
    U {
        name: "erin",
        email: "o'brien+2fa@example.com",
        admin: false,
        state: State::Disabled,
        sessions: 0,
    },
];

// ---- An independent TOTP: SHA-1 (FIPS 180-4), HMAC (RFC 2104), HOTP (RFC 4226) ----------------

fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (hi, v) in h.iter_mut().zip([a, b, c, d, e]) {
            *hi = hi.wrapping_add(v);
        }
    }
    let mut out = [0u8; 20];
    for (chunk, v) in out.chunks_mut(4).zip(h) {
        chunk.copy_from_slice(&v.to_be_bytes());
    }
    out
}

fn hmac_sha1(key: &[u8], msg: &[u8]) -> [u8; 20] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..20].copy_from_slice(&sha1(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    inner.extend_from_slice(msg);
    let mut outer: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    outer.extend_from_slice(&sha1(&inner));
    sha1(&outer)
}

/// RFC 4226 §5.3: dynamic truncation of HMAC-SHA1(key, counter), `digits` decimal digits.
fn hotp(key: &[u8], counter: u64, digits: u32) -> String {
    let mac = hmac_sha1(key, &counter.to_be_bytes());
    let offset = usize::from(mac[19] & 0x0f);
    let bin = u32::from_be_bytes([
        mac[offset] & 0x7f,
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]);
    format!(
        "{:0width$}",
        bin % 10u32.pow(digits),
        width = digits as usize
    )
}

/// RFC 6238 with the authenticator apps' parameters: SHA1, 30 s, 6 digits.
pub fn totp_at(base32_key: &str, unix: i64) -> String {
    let key = data_encoding::BASE32_NOPAD
        .decode(base32_key.as_bytes())
        .expect("the key is base32");
    hotp(&key, (unix / 30) as u64, 6)
}

#[test]
fn the_tests_totp_matches_the_rfc_vectors() {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    assert_eq!(
        hex(&sha1(b"abc")),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(
        hex(&sha1(&[b'a'; 1000])),
        "291e9a6c66994949b57ba5e650361e98fc36b1ba"
    );
    // RFC 2202 test case 2 and 6 (a key longer than a block).
    assert_eq!(
        hex(&hmac_sha1(b"Jefe", b"what do ya want for nothing?")),
        "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
    );
    assert_eq!(
        hex(&hmac_sha1(
            &[0xaa; 80],
            b"Test Using Larger Than Block-Size Key - Hash Key First"
        )),
        "aa4ae5e15272d00e95705637ce8a3b55ed402112"
    );
    // RFC 4226 appendix D.
    let secret = b"12345678901234567890";
    let expected = [
        "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
        "520489",
    ];
    for (counter, want) in expected.iter().enumerate() {
        assert_eq!(&hotp(secret, counter as u64, 6), want, "counter {counter}");
    }
    // RFC 6238 appendix B (SHA1, 8 digits).
    for (t, want) in [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000u64, "65353130"),
    ] {
        assert_eq!(hotp(secret, t / 30, 8), want, "t={t}");
    }
    assert_eq!(
        totp_at(&data_encoding::BASE32_NOPAD.encode(secret), 59),
        "287082"
    );
}

/// Wait, if needed, until at least 4 s remain in the current 30-second step, so that the
/// binary run next reads the same step as the test.
pub fn settle() {
    let secs = now().rem_euclid(30);
    if secs >= 26 {
        std::thread::sleep(Duration::from_millis(((30 - secs) as u64) * 1000 + 200));
    }
}

/// A 6-digit code that is not valid for `key` anywhere within +-1 step of now.
fn wrong_totp(key: &str) -> String {
    let t = now();
    let window: Vec<String> = (-2..=2).map(|o| totp_at(key, t + o * 30)).collect();
    (0..)
        .map(|n| format!("{:06}", (n * 7_919) % 1_000_000))
        .find(|c| !window.contains(c))
        .unwrap()
}

// ---- QR images -----------------------------------------------------------------------------

/// What a QR image holds: the text, the symbol's width in modules, the pixels per module.
#[derive(Debug, PartialEq, Eq)]
pub struct Symbol {
    pub text: String,
    pub modules: usize,
}

/// Decode the one QR code in a greyscale image given as a pixel function.
#[track_caller]
pub fn decode(width: usize, height: usize, pixel: impl FnMut(usize, usize) -> u8) -> Symbol {
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(width, height, pixel);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "expected one QR code in the image");
    let (meta, text) = grids[0].decode().expect("the QR code decodes");
    Symbol {
        text,
        modules: 17 + 4 * meta.version.0,
    }
}

/// Decode a PNG file and check it is an opaque black-on-white image with a 4-module quiet
/// zone and `px` pixels per module.
#[track_caller]
fn decode_png(path: &Path, px: usize) -> Symbol {
    let bytes = std::fs::read(path).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        path.display()
    );
    let img = image::load_from_memory(&bytes).expect("the PNG decodes");
    assert!(
        img.to_rgba8().pixels().all(|p| p.0[3] == 255),
        "the PNG is not opaque"
    );
    let img = img.to_luma8();
    let (w, h) = (img.width() as usize, img.height() as usize);
    assert!(
        img.pixels().all(|p| p.0[0] == 0 || p.0[0] == 255),
        "not pure black on white"
    );
    let symbol = decode(w, h, |x, y| img.get_pixel(x as u32, y as u32).0[0]);
    assert_eq!(w, h, "the PNG is not square");
    assert_eq!(
        w,
        (symbol.modules + 8) * px,
        "{px} px per module and a 4-module quiet zone"
    );
    let quiet = 4 * px;
    for y in 0..h {
        for x in 0..w {
            if x < quiet || y < quiet || x >= w - quiet || y >= h - quiet {
                assert_eq!(
                    img.get_pixel(x as u32, y as u32).0[0],
                    255,
                    "a dark pixel in the quiet zone at {x},{y}"
                );
            }
        }
    }
    symbol
}

/// A parsed XML element (enough of XML 1.0 to check the SVG is well-formed).
#[derive(Debug)]
struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Element>,
}

impl Element {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A small, strict XML parser: declaration, comments, processing instructions, one root
/// element, matched tags, quoted unique attributes, valid entity references.
struct Xml<'a> {
    s: &'a str,
    i: usize,
}

impl Xml<'_> {
    fn parse(text: &str) -> Result<Element, String> {
        let mut p = Xml { s: text, i: 0 };
        if p.rest().starts_with("<?xml") {
            p.skip_past("?>")?;
        }
        p.misc()?;
        if p.rest().starts_with("<!DOCTYPE") {
            return Err("unexpected DOCTYPE".into());
        }
        let root = p.element()?;
        p.misc()?;
        if p.i != p.s.len() {
            return Err(format!("content after the root element at byte {}", p.i));
        }
        Ok(root)
    }

    fn rest(&self) -> &str {
        &self.s[self.i..]
    }

    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!(
            "{what} at byte {}: {:?}",
            self.i,
            self.rest().chars().take(30).collect::<String>()
        ))
    }

    fn skip_ws(&mut self) -> bool {
        let n = self.rest().len() - self.rest().trim_start().len();
        self.i += n;
        n > 0
    }

    fn skip_past(&mut self, end: &str) -> Result<(), String> {
        match self.rest().find(end) {
            Some(n) => {
                self.i += n + end.len();
                Ok(())
            }
            None => self.err(&format!("no closing {end}")),
        }
    }

    /// Whitespace, comments and processing instructions.
    fn misc(&mut self) -> Result<(), String> {
        loop {
            self.skip_ws();
            if self.rest().starts_with("<!--") {
                self.skip_past("-->")?;
            } else if self.rest().starts_with("<?") {
                self.skip_past("?>")?;
            } else {
                return Ok(());
            }
        }
    }

    fn name(&mut self) -> Result<String, String> {
        let ok_first = |c: char| c.is_ascii_alphabetic() || c == '_' || c == ':' || !c.is_ascii();
        let ok = |c: char| ok_first(c) || c.is_ascii_digit() || c == '-' || c == '.';
        let mut chars = self.rest().char_indices();
        match chars.next() {
            Some((_, c)) if ok_first(c) => {}
            _ => return self.err("expected a name"),
        }
        let len = chars
            .find(|&(_, c)| !ok(c))
            .map_or(self.rest().len(), |(n, _)| n);
        let name = self.rest()[..len].to_owned();
        self.i += len;
        Ok(name)
    }

    fn reference(&mut self) -> Result<(), String> {
        let Some(end) = self.rest().find(';') else {
            return self.err("unterminated reference");
        };
        let r = &self.rest()[1..end];
        let ok = matches!(r, "amp" | "lt" | "gt" | "quot" | "apos")
            || r.strip_prefix("#x")
                .is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()))
            || r.strip_prefix('#')
                .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()));
        if !ok {
            return self.err("bad reference");
        }
        self.i += end + 1;
        Ok(())
    }

    fn element(&mut self) -> Result<Element, String> {
        if !self.rest().starts_with('<') {
            return self.err("expected an element");
        }
        self.i += 1;
        let name = self.name()?;
        let mut attrs: Vec<(String, String)> = Vec::new();
        loop {
            let spaced = self.skip_ws();
            if self.rest().starts_with("/>") {
                self.i += 2;
                return Ok(Element {
                    name,
                    attrs,
                    children: Vec::new(),
                });
            }
            if self.rest().starts_with('>') {
                self.i += 1;
                break;
            }
            if !spaced {
                return self.err("expected whitespace before an attribute");
            }
            let attr = self.name()?;
            self.skip_ws();
            if !self.rest().starts_with('=') {
                return self.err("expected =");
            }
            self.i += 1;
            self.skip_ws();
            let Some(quote) = self
                .rest()
                .chars()
                .next()
                .filter(|c| *c == '"' || *c == '\'')
            else {
                return self.err("expected a quoted value");
            };
            self.i += 1;
            let start = self.i;
            loop {
                match self.rest().chars().next() {
                    None => return self.err("unterminated attribute value"),
                    Some('<') => return self.err("< in an attribute value"),
                    Some('&') => self.reference()?,
                    Some(c) if c == quote => break,
                    Some(c) => self.i += c.len_utf8(),
                }
            }
            let value = self.s[start..self.i].to_owned();
            self.i += 1;
            if attrs.iter().any(|(n, _)| *n == attr) {
                return self.err(&format!("duplicate attribute {attr}"));
            }
            attrs.push((attr, value));
        }
        let mut children = Vec::new();
        loop {
            let rest = self.rest();
            if rest.starts_with("</") {
                self.i += 2;
                let end = self.name()?;
                self.skip_ws();
                if !self.rest().starts_with('>') || end != name {
                    return self.err(&format!("</{end}> does not close <{name}>"));
                }
                self.i += 1;
                return Ok(Element {
                    name,
                    attrs,
                    children,
                });
            } else if rest.starts_with("<!--") {
                self.skip_past("-->")?;
            } else if rest.starts_with("<![CDATA[") {
                self.skip_past("]]>")?;
            } else if rest.starts_with("<?") {
                self.skip_past("?>")?;
            } else if rest.starts_with('<') {
                children.push(self.element()?);
            } else if rest.starts_with('&') {
                self.reference()?;
            } else if let Some(c) = rest.chars().next() {
                self.i += c.len_utf8();
            } else {
                return self.err(&format!("<{name}> is not closed"));
            }
        }
    }
}

/// Parse an SVG file as XML, rasterise its dark rectangles, and decode the QR code in it.
/// Returns the symbol and the SVG's width in user units.
#[track_caller]
fn decode_svg(path: &Path) -> (Symbol, usize) {
    let text = std::fs::read_to_string(path).unwrap();
    let svg = Xml::parse(&text).unwrap_or_else(|e| panic!("the SVG is not well-formed XML: {e}"));
    assert_eq!(svg.name, "svg");
    assert_eq!(svg.attr("xmlns"), Some("http://www.w3.org/2000/svg"));
    let num = |e: &Element, a: &str| -> usize {
        e.attr(a)
            .unwrap_or_else(|| panic!("<{}> has no {a}", e.name))
            .parse()
            .unwrap_or_else(|_| panic!("<{}> {a} is not a whole number", e.name))
    };
    let (w, h) = (num(&svg, "width"), num(&svg, "height"));
    assert_eq!(w, h, "the SVG is not square");
    assert_eq!(svg.attr("viewBox"), Some(format!("0 0 {w} {h}").as_str()));
    let mut dark = vec![false; w * h];
    let mut background = false;
    for child in &svg.children {
        match child.name.as_str() {
            "rect" => {
                assert_eq!(child.attr("fill"), Some("#ffffff"), "a white background");
                assert_eq!(
                    (num(child, "x"), num(child, "y")),
                    (0, 0),
                    "the background covers the image"
                );
                assert_eq!((num(child, "width"), num(child, "height")), (w, h));
                background = true;
            }
            "path" => {
                assert_eq!(child.attr("fill"), Some("#000000"), "black modules");
                let d = child.attr("d").expect("a path has d");
                for (x0, y0, x1, y1) in rectangles(d) {
                    assert!(x1 <= w && y1 <= h, "a rectangle outside the image");
                    for y in y0..y1 {
                        for x in x0..x1 {
                            dark[y * w + x] = true;
                        }
                    }
                }
            }
            other => panic!("unexpected <{other}> in the SVG"),
        }
    }
    assert!(background, "the SVG has no background");
    let symbol = decode(w, h, |x, y| if dark[y * w + x] { 0 } else { 255 });
    (symbol, w)
}

/// The axis-aligned rectangles (x0, y0, x1, y1) a path of `M x y` subpaths with `h v H V`
/// (absolute and relative) and `z` draws; panics on anything else.
fn rectangles(d: &str) -> Vec<(usize, usize, usize, usize)> {
    let mut tokens: Vec<(char, Vec<i64>)> = Vec::new();
    let mut number = String::new();
    let flush = |number: &mut String, tokens: &mut Vec<(char, Vec<i64>)>| {
        if !number.is_empty() {
            let n = number.parse().expect("a whole number in the path");
            tokens
                .last_mut()
                .expect("a number before any command")
                .1
                .push(n);
            number.clear();
        }
    };
    for c in d.chars() {
        if c.is_ascii_digit() || (c == '-' && number.is_empty()) {
            number.push(c);
        } else {
            flush(&mut number, &mut tokens);
            if c == '-' {
                number.push(c);
            } else if c.is_ascii_alphabetic() {
                tokens.push((c, Vec::new()));
            } else {
                assert!(c == ' ' || c == ',', "unexpected {c:?} in the path");
            }
        }
    }
    flush(&mut number, &mut tokens);

    let mut rects = Vec::new();
    let mut points: Vec<(i64, i64)> = Vec::new();
    let mut close = |points: &mut Vec<(i64, i64)>| {
        if points.is_empty() {
            return;
        }
        let xs = points.iter().map(|p| p.0);
        let ys = points.iter().map(|p| p.1);
        let (x0, x1) = (xs.clone().min().unwrap(), xs.max().unwrap());
        let (y0, y1) = (ys.clone().min().unwrap(), ys.max().unwrap());
        assert!(
            points
                .iter()
                .all(|&(x, y)| (x == x0 || x == x1) && (y == y0 || y == y1)),
            "a subpath that is not a rectangle: {points:?}"
        );
        rects.push((x0 as usize, y0 as usize, x1 as usize, y1 as usize));
        points.clear();
    };
    let (mut x, mut y) = (0i64, 0i64);
    for (cmd, args) in tokens {
        let one = || -> i64 {
            assert_eq!(args.len(), 1, "{cmd} takes one number");
            args[0]
        };
        match cmd {
            'M' => {
                close(&mut points);
                assert_eq!(args.len(), 2, "M takes two numbers");
                (x, y) = (args[0], args[1]);
            }
            'h' => x += one(),
            'v' => y += one(),
            'H' => x = one(),
            'V' => y = one(),
            'z' | 'Z' => {}
            other => panic!("unexpected path command {other:?}"),
        }
        points.push((x, y));
    }
    close(&mut points);
    rects
}

/// Octal permission bits of a file.
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The key in groups of four, as a person types it.
fn grouped(key: &str) -> String {
    key.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The user's stored (pending or active) key.
#[track_caller]
fn key_of(sb: &Sandbox, user: &str) -> String {
    sb.pending_key(user)
        .or_else(|| sb.totp(user).0)
        .expect("the user has a key")
}

/// A key of 32 base32 characters (upper case, no padding) that decodes to 20 bytes.
#[track_caller]
fn assert_key_shape(key: &str) {
    assert_eq!(key.len(), 32, "key {key:?}");
    assert!(
        key.bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)),
        "key {key:?} is not upper-case base32"
    );
    let bytes = data_encoding::BASE32_NOPAD
        .decode(key.as_bytes())
        .expect("the key decodes as base32");
    assert_eq!(bytes.len(), 20);
}

/// Rows of the audit log for `user` and `action`, as (outcome, changed).
fn audit_of(sb: &Sandbox, user: &str, action: &str) -> Vec<(String, bool)> {
    sb.conn()
        .prepare(
            "SELECT outcome, changed FROM twofactl_audit WHERE username = ?1 AND action = ?2
             ORDER BY id",
        )
        .unwrap()
        .query_map([user, action], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// Begin an enrolment that must succeed, with a PNG in the sandbox; returns the new key.
#[track_caller]
fn begin(sb: &Sandbox, user: &str, extra: &[&str]) -> String {
    let png = sb.path(&format!("{user}-{}.png", now_nanos()));
    let mut args = vec!["enroll", user, "--qr-png", png.to_str().unwrap()];
    args.extend_from_slice(extra);
    let run = sb.run(&args);
    run.ok();
    let key = key_of(sb, user);
    run.never_shows(&key);
    assert_eq!(
        sb.pending_key(user).as_deref(),
        Some(key.as_str()),
        "the new key is pending in twofactl's table"
    );
    key
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

// ---- Making a key ----------------------------------------------------------------------------

#[test]
fn enroll_writes_a_png_of_the_exact_otpauth_uri_of_the_pending_key() {
    let (sb, server) = sandbox_with_mail(USERS, "");
    let png = sb.path("dave.png");
    let run = sb.run(["enroll", "dave", "--qr-png", png.to_str().unwrap()]);
    run.ok();

    let key = key_of(&sb, "dave");
    assert_key_shape(&key);
    assert_eq!(sb.pending_key("dave"), Some(key.clone()), "pending");
    sb.assert_untouched(&USERS[2]);
    let uri = format!(
        "otpauth://totp/Fixture%20App:dave%40example.com?secret={key}&issuer=Fixture%20App"
    );
    let symbol = decode_png(&png, 8);
    assert_eq!(symbol.text, uri);
    assert_eq!(mode(&png), 0o600, "the QR file holds the key");

    // No secret in any output; the next step is spelled out.
    run.never_shows(&key)
        .never_shows(&grouped(&key))
        .never_shows(&key.to_lowercase())
        .never_shows("otpauth")
        .stderr_contains("twofactl enroll dave --code");
    // A pending key is not yet a change of the user's 2FA: the application's columns are
    // untouched until a code confirms it.
    assert_eq!(
        audit_of(&sb, "dave", "enroll"),
        [("key_created".to_owned(), false)]
    );
    assert!(!format!("{:?}", sb.audit()).contains(&key));
    // Nothing but the user's row changed: others untouched.
    sb.assert_untouched(&USERS[0]);
    sb.assert_untouched(&USERS[1]);
    assert!(
        server.messages().is_empty(),
        "a pending key is not news yet"
    );

    // A second enrolment (--force: a key is pending) makes a different key.
    let png2 = sb.path("dave2.png");
    sb.run([
        "enroll",
        "dave",
        "--qr-png",
        png2.to_str().unwrap(),
        "--force",
    ])
    .ok();
    let key2 = key_of(&sb, "dave");
    assert_key_shape(&key2);
    assert_ne!(key, key2);
    assert_eq!(decode_png(&png2, 8).text, uri.replace(&key, &key2));
}

#[test]
fn issuer_and_account_are_percent_encoded() {
    let (sb, _server) = sandbox_with_mail(USERS, "");
    // The account: an e-mail address with characters the Key URI Format must encode.
    let png = sb.path("erin.png");
    sb.run(["enroll", "erin", "--qr-png", png.to_str().unwrap()])
        .ok();
    let key = key_of(&sb, "erin");
    assert_eq!(
        decode_png(&png, 8).text,
        format!(
            "otpauth://totp/Fixture%20App:o%27brien%2B2fa%40example.com?secret={key}&issuer=Fixture%20App"
        )
    );

    // [totp] issuer overrides app.name; UTF-8 and reserved characters are encoded.
    let (sb, server) = sandbox_with_mail(USERS, "[totp]\nissuer = \"Société & Co/IT\"\n");
    drop(server);
    let png = sb.path("dave.png");
    sb.run(["enroll", "dave", "--qr-png", png.to_str().unwrap()])
        .ok();
    let key = key_of(&sb, "dave");
    let issuer = "Soci%C3%A9t%C3%A9%20%26%20Co%2FIT";
    assert_eq!(
        decode_png(&png, 8).text,
        format!("otpauth://totp/{issuer}:dave%40example.com?secret={key}&issuer={issuer}")
    );

    // The application's app.name, when it is the only issuer.
    let (sb, _server) = sandbox_with_mail(USERS, "");
    sb.conn()
        .execute(
            "UPDATE settings SET value = 'Acme+Portal 2' WHERE key = 'app.name'",
            [],
        )
        .unwrap();
    let png = sb.path("dave.png");
    sb.run(["enroll", "dave", "--qr-png", png.to_str().unwrap()])
        .ok();
    let key = key_of(&sb, "dave");
    assert_eq!(
        decode_png(&png, 8).text,
        format!(
            "otpauth://totp/Acme%2BPortal%202:dave%40example.com?secret={key}&issuer=Acme%2BPortal%202"
        )
    );
}

#[test]
fn no_issuer_is_a_configuration_error() {
    let (sb, _server) = sandbox_with_mail(USERS, "");
    sb.conn()
        .execute("DELETE FROM settings WHERE key = 'app.name'", [])
        .unwrap();
    let before = sb.hash();
    let png = sb.path("dave.png");
    let run = sb.run(["enroll", "dave", "--qr-png", png.to_str().unwrap()]);
    run.code(8).stderr_contains("issuer");
    assert!(!png.exists(), "a QR file was written");
    sb.assert_unchanged(&before);
    sb.assert_untouched(&USERS[2]);
}

#[test]
fn an_existing_qr_file_is_kept_without_force_and_replaced_with_it() {
    let (sb, _server) = sandbox_with_mail(USERS, "");
    let png = sb.write("qr.png", "precious");
    chmod(&png, 0o644);
    let svg = sb.path("qr.svg");
    let before = sb.hash();
    let run = sb.run([
        "enroll",
        "dave",
        "--qr-svg",
        svg.to_str().unwrap(),
        "--qr-png",
        png.to_str().unwrap(),
    ]);
    run.code(2).stderr_contains("already exists");
    assert_eq!(std::fs::read(&png).unwrap(), b"precious");
    assert!(!svg.exists(), "the other file was written anyway");
    sb.assert_unchanged(&before);
    sb.assert_untouched(&USERS[2]);

    let run = sb.run([
        "enroll",
        "dave",
        "--qr-png",
        png.to_str().unwrap(),
        "--force",
    ]);
    run.ok();
    let key = key_of(&sb, "dave");
    assert!(decode_png(&png, 8).text.contains(&key));
    assert_eq!(mode(&png), 0o600, "the replaced file is private again");
    assert_eq!(sb.pending_key("dave"), Some(key));
}

#[test]
fn a_qr_file_that_cannot_be_written_changes_nothing() {
    let (sb, _server) = sandbox_with_mail(USERS, "");
    // The parent of the QR file is a regular file, so the file cannot be made (even by root).
    sb.write("blocker", "not a directory");
    let png = sb.path("blocker/bob.png");
    let before = sb.hash();
    let run = sb.run([
        "enroll",
        "bob",
        "--force",
        "--reason",
        "new phone",
        "--qr-png",
        png.to_str().unwrap(),
    ]);
    assert_ne!(run.status.code(), Some(0), "{}", run.err());
    assert_eq!(
        sb.totp("bob"),
        (Some(secret_of("bob")), 1),
        "bob's working authenticator was replaced by a key nobody was shown"
    );
    sb.assert_unchanged(&before);
    assert!(
        !run.err().contains("already exists"),
        "the error claims the file exists: {}",
        run.err()
    );
}

#[test]
fn the_svg_is_well_formed_and_holds_the_same_symbol_as_the_png() {
    let (sb, _server) = sandbox_with_mail(USERS, "");
    let png = sb.path("dave.png");
    let svg = sb.path("dave.svg");
    sb.run([
        "enroll",
        "dave",
        "--qr-png",
        png.to_str().unwrap(),
        "--qr-svg",
        svg.to_str().unwrap(),
        "--qr-size",
        "5",
    ])
    .ok();
    let from_png = decode_png(&png, 5);
    let (from_svg, width) = decode_svg(&svg);
    assert_eq!(from_svg, from_png);
    assert_eq!(width, (from_png.modules + 8) * 5, "the same module size");
    assert!(from_png.text.contains(&key_of(&sb, "dave")));
    assert_eq!(mode(&svg), 0o600);

    // The parser used here refuses what is not XML (so that its verdict means something).
    for bad in [
        "<svg><path></svg>",
        "<svg a=\"1\" a=\"2\"/>",
        "<svg a=1/>",
        "<svg/><svg/>",
        "<svg>&nbsp;</svg>",
    ] {
        assert!(Xml::parse(bad).is_err(), "{bad} parsed");
    }
}

#[test]
fn show_secret_prints_the_key_in_groups_of_four_and_the_uri() {
    let (sb, _server) = sandbox_with_mail(USERS, "");
    let png = sb.path("dave.png");
    let run = sb.run([
        "enroll",
        "dave",
        "--show-secret",
        "--qr-png",
        png.to_str().unwrap(),
    ]);
    run.ok();
    let key = key_of(&sb, "dave");
    let uri = decode_png(&png, 8).text;
    let groups = grouped(&key);
    assert_eq!(groups.split(' ').count(), 8);
    run.stdout_contains(&groups).stdout_contains(&uri);
    // Only the outputs asked for: --show-secret alone needs no file.
    let run = sb.run(["enroll", "erin", "--show-secret"]);
    run.ok();
    let key = key_of(&sb, "erin");
    run.stdout_contains(&grouped(&key)).stdout_contains(&format!(
        "otpauth://totp/Fixture%20App:o%27brien%2B2fa%40example.com?secret={key}&issuer=Fixture%20App"
    ));
}

#[test]
fn nothing_to_show_the_key_on_is_a_usage_error() {
    let (sb, _server) = sandbox_with_mail(USERS, "");
    let before = sb.hash();
    sb.run(["enroll", "dave"])
        .code(2)
        .stderr_contains("--qr-png");
    sb.assert_unchanged(&before);
}

#[test]
fn json_output_of_enroll() {
    let (sb, server) = sandbox_with_mail(USERS, "");
    let png = sb.path("dave.png");
    let run = sb.run([
        "--format",
        "json",
        "enroll",
        "dave",
        "--qr-png",
        png.to_str().unwrap(),
    ]);
    run.ok();
    let key = key_of(&sb, "dave");
    run.never_shows(&key);
    let lines = run.json_lines();
    assert_eq!(lines.len(), 1, "{}", run.out());
    let v = &lines[0];
    assert_eq!(keys(v), sorted(&["username", "status", "qr_files"]));
    assert_eq!(v["username"], "dave");
    assert_eq!(v["status"], "pending");
    assert_eq!(v["qr_files"], serde_json::json!([png.to_str().unwrap()]));

    let run = sb.run(["--format", "json", "enroll", "erin", "--show-secret"]);
    run.ok();
    let v = &run.json_lines()[0];
    assert_eq!(
        keys(v),
        sorted(&["username", "status", "qr_files", "secret", "otpauth_uri"])
    );
    let key = key_of(&sb, "erin");
    assert_eq!(v["secret"], key.as_str());
    assert_eq!(
        v["otpauth_uri"],
        format!(
            "otpauth://totp/Fixture%20App:o%27brien%2B2fa%40example.com?secret={key}&issuer=Fixture%20App"
        )
        .as_str()
    );
    assert_eq!(v["qr_files"], serde_json::json!([]));

    settle();
    let code = totp_at(&key, now());
    let run = sb.run(["--format", "json", "enroll", "erin", "--code", &code]);
    run.ok();
    let v = &run.json_lines()[0];
    assert_eq!(keys(v), sorted(&["username", "status", "notified"]));
    assert_eq!(v["username"], "erin");
    assert_eq!(v["status"], "enabled");
    assert_eq!(v["notified"], true);
    assert_eq!(server.messages().len(), 1);
}

// ---- Confirming a key ------------------------------------------------------------------------

#[test]
#[ignore = "needs oathtool (.ci/run installs it)"]
fn oathtool_agrees_with_the_tests_totp() {
    // A second opinion on the test's TOTP, from liboath.
    let (sb, _server) = sandbox_with_mail(USERS, "");
    let oathtool = find_in_path("oathtool").expect("oathtool is not installed");
    let key = begin(&sb, "dave", &[]);
    settle();
    let out = StdCommand::new(oathtool)
        .args(["--totp", "-b", &key])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        totp_at(&key, now())
    );
}

#[test]
fn codes_within_one_step_confirm_the_key() {
    let (sb, server) = sandbox_with_mail(USERS, "");
    for (n, offset) in [-1i64, 0, 1].into_iter().enumerate() {
        let key = begin(&sb, "dave", &["--force", "--reason", "new phone"]);
        settle();
        let code = totp_at(&key, now() + offset * 30);
        let run = sb.run(["enroll", "dave", "--code", &code]);
        run.ok().stdout_contains("dave");
        assert_eq!(
            sb.totp("dave"),
            (Some(key.clone()), 1),
            "offset {offset}: active"
        );
        let confirmed = audit_of(&sb, "dave", "enroll")
            .into_iter()
            .filter(|(o, _)| o == "confirmed")
            .count();
        assert_eq!(confirmed, n + 1, "an audit row per confirmation");
        // The notification.
        let messages = server.messages();
        assert_eq!(messages.len(), n + 1);
        let last = messages.last().unwrap();
        assert_eq!(last.rcpt_to, vec!["dave@example.com".to_owned()]);
        let subject = last.parsed().subject().unwrap_or_default().to_owned();
        assert!(subject.contains("new authenticator"), "subject {subject:?}");
        assert!(!last.text().unwrap().contains(&key));
        // The same code cannot confirm twice: the key is already active.
        let run = sb.run(["enroll", "dave", "--code", &code]);
        run.code(2).stderr_contains("already active");
        assert_eq!(sb.totp("dave"), (Some(key.clone()), 1));
        assert_eq!(server.messages().len(), n + 1);
        run.never_shows(&key);
    }
}

#[test]
fn codes_two_steps_away_are_rejected_and_the_key_stays_pending() {
    let (sb, server) = sandbox_with_mail(USERS, "");
    let key = begin(&sb, "dave", &[]);
    settle();
    let t = now();
    let window: Vec<String> = (-1..=1).map(|o| totp_at(&key, t + o * 30)).collect();
    for offset in [-2i64, 2] {
        let code = totp_at(&key, t + offset * 30);
        if window.contains(&code) {
            eprintln!("note: the code at {offset} steps equals one in the window; skipped");
            continue;
        }
        let run = sb.run(["enroll", "dave", "--code", &code]);
        run.code(3).stderr_contains("wrong code").never_shows(&key);
        assert_eq!(sb.pending_key("dave"), Some(key.clone()), "still pending");
    }
    assert!(server.messages().is_empty());
    assert!(
        !audit_of(&sb, "dave", "enroll")
            .iter()
            .any(|(o, _)| o == "confirmed")
    );
    // The pending key still confirms with a right code.
    settle();
    sb.run(["enroll", "dave", "--code", &totp_at(&key, now())])
        .ok();
    assert_eq!(sb.totp("dave"), (Some(key), 1));
}

#[test]
fn too_many_wrong_confirmation_codes_are_limited() {
    let (sb, _server) = sandbox_with_mail(USERS, "[reset]\nmax_attempts = 3\n");
    let key = begin(&sb, "dave", &[]);
    let wrong = wrong_totp(&key);
    for _ in 0..3 {
        sb.run(["enroll", "dave", "--code", &wrong]).code(3);
    }
    settle();
    let run = sb.run(["enroll", "dave", "--code", &totp_at(&key, now())]);
    run.code(5).never_shows(&key);
    assert_eq!(sb.pending_key("dave"), Some(key.clone()), "still pending");
    // A new key (--force: one is pending) starts the count again.
    let key = begin(&sb, "dave", &["--force"]);
    settle();
    sb.run(["enroll", "dave", "--code", &totp_at(&key, now())])
        .ok();
    assert_eq!(sb.totp("dave"), (Some(key), 1));
}

#[test]
fn a_code_without_a_pending_key_is_a_usage_error() {
    let (sb, _server) = sandbox_with_mail(USERS, "");
    let before = sb.hash();
    sb.run(["enroll", "dave", "--code", "123456"]).code(2);
    sb.assert_unchanged(&before);
    sb.assert_untouched(&USERS[2]);
}

#[test]
fn an_active_authenticator_is_replaced_only_with_force() {
    let (sb, _server) = sandbox_with_mail(USERS, "");
    let before = sb.hash();
    let png = sb.path("bob.png");
    let run = sb.run(["enroll", "bob", "--qr-png", png.to_str().unwrap()]);
    run.code(2)
        .stderr_contains("already has an active authenticator")
        .stderr_contains("--force");
    assert!(!png.exists());
    sb.assert_unchanged(&before);
    sb.assert_untouched(&USERS[0]);

    sb.run([
        "enroll",
        "bob",
        "--qr-png",
        png.to_str().unwrap(),
        "--force",
        "--reason",
        "new phone",
    ])
    .ok();
    let key = key_of(&sb, "bob");
    assert_ne!(key, secret_of("bob"));
    assert_eq!(sb.pending_key("bob"), Some(key.clone()));
    sb.assert_untouched(&USERS[0]);
    assert!(decode_png(&png, 8).text.contains(&key));
}

#[test]
fn a_pending_user_can_be_enrolled_again() {
    let (sb, _server) = sandbox_with_mail(USERS, "");
    let key = begin(&sb, "carol", &[]);
    assert_ne!(key, secret_of("carol"));
}

// ---- verify --enroll -------------------------------------------------------------------------

#[test]
fn verify_with_enroll_goes_straight_into_enrolment() {
    let (sb, server) = sandbox_with_mail(USERS, "");
    let code = request_code(&sb, &server, "bob");

    // A QR file that would be overwritten stops the run before the code is spent.
    let taken = sb.write("taken.png", "precious");
    sb.run([
        "verify",
        "bob",
        &code,
        "--enroll",
        "--qr-png",
        taken.to_str().unwrap(),
    ])
    .code(2)
    .stderr_contains("already exists");
    sb.assert_untouched(&USERS[0]);
    assert_eq!(std::fs::read(&taken).unwrap(), b"precious");

    let png = sb.path("bob.png");
    let run = sb.run([
        "verify",
        "bob",
        &code,
        "--enroll",
        "--qr-png",
        png.to_str().unwrap(),
    ]);
    run.ok();
    let key = key_of(&sb, "bob");
    assert_key_shape(&key);
    assert_ne!(key, secret_of("bob"));
    assert_eq!(sb.totp("bob"), (None, 0), "the old key is cleared");
    assert_eq!(
        sb.pending_key("bob"),
        Some(key.clone()),
        "a new pending key"
    );
    assert_eq!(sb.sessions("bob"), 0);
    assert_eq!(
        decode_png(&png, 8).text,
        format!("otpauth://totp/Fixture%20App:bob%40example.com?secret={key}&issuer=Fixture%20App")
    );
    assert_eq!(mode(&png), 0o600);
    run.never_shows(&key).never_shows(&code);
    assert_eq!(audit_of(&sb, "bob", "verify"), [("reset".to_owned(), true)]);

    settle();
    sb.run(["enroll", "bob", "--code", &totp_at(&key, now())])
        .ok();
    assert_eq!(sb.totp("bob"), (Some(key), 1));
    let subjects: Vec<String> = server
        .messages()
        .iter()
        .map(|m| m.parsed().subject().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(subjects.len(), 3, "{subjects:?}");
    assert!(subjects[0].contains("verification code"), "{subjects:?}");
    assert!(subjects[1].contains("was reset"), "{subjects:?}");
    assert!(subjects[2].contains("new authenticator"), "{subjects:?}");
}

#[test]
fn verify_with_enroll_prints_one_json_object() {
    let (sb, server) = sandbox_with_mail(USERS, "");
    let code = request_code(&sb, &server, "bob");
    let png = sb.path("bob.png");
    let run = sb.run([
        "--format",
        "json",
        "verify",
        "bob",
        &code,
        "--enroll",
        "--qr-png",
        png.to_str().unwrap(),
    ]);
    run.ok();
    assert_eq!(sb.totp("bob").1, 0, "a new pending key");
    // JSON: a single object for single-user commands.
    let value: Value = serde_json::from_slice(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout of verify --enroll --format json is not one JSON value ({e}):\n{}",
            run.out()
        )
    });
    assert_eq!(value["username"], "bob", "{value}");
    run.never_shows(&key_of(&sb, "bob"));
}

// ---- The sandbox -----------------------------------------------------------------------------

#[test]
fn demo_walks_the_whole_flow_to_an_active_authenticator() {
    let sb = Sandbox::empty();
    let run = sb.run_raw(["demo", "walk"]);
    run.ok();
    let dir = sb.path("walk");
    let conn = Connection::open(dir.join("app.db")).unwrap();
    let (key, enabled): (String, i64) = conn
        .query_row(
            "SELECT totp_secret, totp_enabled FROM users WHERE username = 'carol'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(enabled, 1, "carol's new authenticator is active");
    assert_key_shape(&key);

    let png = dir.join("carol-qr.png");
    assert_eq!(
        decode_png(&png, 8).text,
        format!(
            "otpauth://totp/CYMETRICX%20Demo:carol%40example.com?secret={key}&issuer=CYMETRICX%20Demo"
        )
    );
    assert_eq!(mode(&png), 0o600);

    let mut mails: Vec<_> = std::fs::read_dir(dir.join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    mails.sort();
    assert_eq!(mails.len(), 3, "{mails:?}");
    let mut subjects = Vec::new();
    for m in &mails {
        let bytes = std::fs::read(m).unwrap();
        let msg = mail_parser::MessageParser::default()
            .parse(&bytes)
            .expect("an .eml file parses");
        let to = msg
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_owned();
        assert_eq!(to, "carol@example.com");
        subjects.push(msg.subject().unwrap_or_default().to_owned());
    }
    subjects.sort();
    assert!(
        subjects.iter().any(|s| s.contains("verification code"))
            && subjects.iter().any(|s| s.contains("was reset"))
            && subjects.iter().any(|s| s.contains("new authenticator")),
        "{subjects:?}"
    );
    let actions: Vec<(String, String)> = conn
        .prepare("SELECT action, outcome FROM twofactl_audit WHERE username = 'carol' ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    for want in [
        ("verify", "reset"),
        ("enroll", "key_created"),
        ("enroll", "confirmed"),
    ] {
        assert!(
            actions
                .iter()
                .any(|(a, o)| (a.as_str(), o.as_str()) == want),
            "no {want:?} in {actions:?}"
        );
    }
    // The walk-through ends by showing how to repeat it by hand.
    run.stdout_contains("twofactl verify")
        .stdout_contains("twofactl enroll");
}
