//! TOTP (RFC 6238) as Google and Microsoft Authenticator honour it: HMAC-SHA1, 6 digits,
//! 30-second steps. Pure functions of (key, time): the otpauth URI in the Key URI Format,
//! and the check of a code at the current step +-1, through totp-rs (constant-time compare).

use anyhow::{Context, Result};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use totp_rs::{Algorithm, Builder, Totp};

pub const DIGITS: u8 = 6;
pub const STEP_SECS: u64 = 30;

/// Everything but RFC 3986's unreserved characters is percent-encoded.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn totp(base32_key: &str) -> Result<Totp> {
    let key = data_encoding::BASE32_NOPAD
        .decode(base32_key.trim().trim_end_matches('=').as_bytes())
        .context("the stored TOTP key is not base32")?;
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_skew(1)
        .with_step_duration(STEP_SECS)
        .with_secret(key)
        .build()
        .map_err(|e| anyhow::anyhow!("the stored TOTP key is unusable: {e}"))
}

/// The code for `key` at unix time `time`.
pub fn code_at(base32_key: &str, time: u64) -> Result<String> {
    Ok(totp(base32_key)?.generate(time).to_string())
}

/// The time step a typed code matched at `now` (current step +-1), or None.
pub fn check(base32_key: &str, code: &str, now: u64) -> Result<Option<u64>> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != usize::from(DIGITS) || !code.chars().all(|c| c.is_ascii_digit()) {
        return Ok(None);
    }
    Ok(totp(base32_key)?.check(&code, now))
}

/// `otpauth://totp/ISSUER:ACCOUNT?secret=KEY&issuer=ISSUER`, both names percent-encoded.
pub fn otpauth_uri(issuer: &str, account: &str, base32_key: &str) -> String {
    let issuer = utf8_percent_encode(issuer, ENCODE).to_string();
    let account = utf8_percent_encode(account, ENCODE).to_string();
    format!("otpauth://totp/{issuer}:{account}?secret={base32_key}&issuer={issuer}")
}

/// The key in groups of four, for typing into an app by hand.
pub fn grouped(base32_key: &str) -> String {
    base32_key
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B: the SHA1 key "12345678901234567890", 8 digits.
    /// With 6 digits the codes are the last six of the RFC's.
    #[test]
    fn rfc6238_vectors() {
        let key = data_encoding::BASE32_NOPAD.encode(b"12345678901234567890");
        for (t, full) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(code_at(&key, t).unwrap(), &full[2..], "t={t}");
        }
    }

    #[test]
    fn window_is_plus_minus_one_step() {
        let key = data_encoding::BASE32_NOPAD.encode(b"12345678901234567890");
        let now = 1_111_111_111;
        for (offset, ok) in [
            (-60, false),
            (-30, true),
            (0, true),
            (30, true),
            (60, false),
        ] {
            let code = code_at(&key, (now + offset) as u64).unwrap();
            assert_eq!(
                check(&key, &code, now as u64).unwrap().is_some(),
                ok,
                "offset {offset}"
            );
        }
        assert_eq!(check(&key, "12345", now as u64).unwrap(), None);
        assert_eq!(check(&key, "abcdef", now as u64).unwrap(), None);
    }

    #[test]
    fn uri_follows_the_key_uri_format() {
        assert_eq!(
            otpauth_uri("ACME Co", "alice@example.com", "JBSWY3DPEHPK3PXP"),
            "otpauth://totp/ACME%20Co:alice%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co"
        );
    }

    #[test]
    fn keys_are_grouped_by_four() {
        assert_eq!(grouped("ABCDEFGHIJ"), "ABCD EFGH IJ");
    }
}
