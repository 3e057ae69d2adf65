//! The key-derivation primitives every format family shares, each behind the work-factor
//! limits, plus the encodings and the constant-time comparison. The cryptography is the
//! RustCrypto crates' (`argon2`, `pbkdf2`, `scrypt`, `sha1`, `sha2`, `hmac`) and the `bcrypt`
//! crate's; this module only checks what a stored value asks for before running it.
//!
//! The limits refuse a stored value whose parameters would cost unreasonable memory or time
//! (`Unreadable`, exit 8) rather than run it: a hostile or corrupted row must not make
//! `request-reset` allocate gigabytes or spin for minutes. Each is at least 8 times the
//! largest default of any application twofactl reads; the times are this project's 2-CPU
//! benchmark machine's (AMD EPYC, SHA-NI, AVX2), measured with `bench_argon2`:
//! - memory 1 GiB (Argon2 `m`, scrypt `128 * r * N`): the largest defaults are Gitea's scrypt
//!   (128 MiB) and Django's Argon2 (100 MiB); Bitwarden clients allow at most 1 GiB;
//! - Argon2 `m * t` 8 GiB of memory passes (about 11 s; 256 MiB x 4 took 1.4 s): PHP's default
//!   is 64 MiB x 4, RFC 9106's first recommendation 2 GiB x 1;
//! - scrypt `128 * r * N * p` 4 GiB of mixing (about 14 s; 128 MiB took 0.43 s): Gitea's
//!   default is 256 MiB, Django's 80 MiB, passlib's 64 MiB;
//! - PBKDF2 10,000,000 iterations (about 1.1 s with SHA-256, 1,000,000 took 0.11 s; SHA-1 and
//!   SHA-512 are of the same order): Django 5.2's default is 1,000,000, Bitwarden's and
//!   OWASP's 600,000;
//! - bcrypt cost 16 (2^16 rounds, about 5 s): PHP's default is 10 (12 from PHP 8.4), Django's
//!   12, and each step doubles the time (cost 31 would run for days);
//! - a derived key of at most 1 KiB (Gitea stores its length, 50 bytes by default), so that a
//!   PBKDF2 output of many blocks cannot multiply the iterations.

use data_encoding::{BASE64, BASE64_NOPAD, HEXLOWER_PERMISSIVE};
use subtle::ConstantTimeEq;

/// Why a stored value cannot be checked: said to people, never containing the value itself.
pub type Refusal = String;

/// Whether the password matched, or why the stored value cannot be checked.
pub type Verdict = Result<bool, Refusal>;

pub const MAX_MEMORY: u64 = 1 << 30;
pub const MAX_ARGON2_PASSES: u64 = 8 << 30;
pub const MAX_SCRYPT_WORK: u64 = 4 << 30;
pub const MAX_PBKDF2_ITERATIONS: u64 = 10_000_000;
pub const MAX_OUTPUT: usize = 1024;

/// Equal in constant time (the lengths are not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// The hash function under HMAC for PBKDF2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prf {
    Sha1,
    Sha256,
    Sha512,
}

impl Prf {
    pub fn output_len(self) -> usize {
        match self {
            Prf::Sha1 => 20,
            Prf::Sha256 => 32,
            Prf::Sha512 => 64,
        }
    }
}

fn check_output(len: usize) -> Result<(), Refusal> {
    if len == 0 || len > MAX_OUTPUT {
        return Err(format!(
            "a derived key of {len} bytes (1 to {MAX_OUTPUT} allowed)"
        ));
    }
    Ok(())
}

/// PBKDF2-HMAC with `out.len()` bytes of output, refused past the iteration limit.
pub fn pbkdf2(
    prf: Prf,
    password: &[u8],
    salt: &[u8],
    iterations: u64,
    out: &mut [u8],
) -> Result<(), Refusal> {
    if iterations == 0 || iterations > MAX_PBKDF2_ITERATIONS {
        return Err(format!(
            "PBKDF2 with {iterations} iterations (1 to {MAX_PBKDF2_ITERATIONS} allowed)"
        ));
    }
    check_output(out.len())?;
    let rounds = u32::try_from(iterations).map_err(|_| "too many iterations".to_string())?;
    // pbkdf2_hmac_with_params is the same function, instantiated for SHA-256 and SHA-512 inside
    // the pbkdf2 crate, so it runs at that crate's opt-level in dev and test builds (a generic
    // instantiated here would run at twofactl's, about ten times slower); it takes 1000
    // rounds or more.
    let algorithm = match prf {
        Prf::Sha256 => Some(pbkdf2::Algorithm::Pbkdf2Sha256),
        Prf::Sha512 => Some(pbkdf2::Algorithm::Pbkdf2Sha512),
        Prf::Sha1 => None,
    };
    match (algorithm, pbkdf2::Params::new(rounds)) {
        (Some(algorithm), Ok(params)) => {
            pbkdf2::pbkdf2_hmac_with_params(password, salt, algorithm, params, out);
        }
        _ => match prf {
            Prf::Sha1 => pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password, salt, rounds, out),
            Prf::Sha256 => pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, rounds, out),
            Prf::Sha512 => pbkdf2::pbkdf2_hmac::<sha2::Sha512>(password, salt, rounds, out),
        },
    }
    Ok(())
}

/// Compare PBKDF2-HMAC of the password with `expected` (its length is the output length).
pub fn pbkdf2_matches(
    prf: Prf,
    password: &[u8],
    salt: &[u8],
    iterations: u64,
    expected: &[u8],
) -> Verdict {
    let mut out = vec![0u8; expected.len()];
    pbkdf2(prf, password, salt, iterations, &mut out)?;
    Ok(ct_eq(&out, expected))
}

/// scrypt with cost `n` (a power of two), block size `r` and parallelism `p`.
pub fn scrypt_matches(
    password: &[u8],
    salt: &[u8],
    n: u64,
    r: u64,
    p: u64,
    expected: &[u8],
) -> Verdict {
    if n < 2 || !n.is_power_of_two() || r == 0 || p == 0 {
        return Err(format!(
            "scrypt with N={n}, r={r}, p={p} (N a power of two >= 2, r and p >= 1)"
        ));
    }
    let memory = 128u64.saturating_mul(r).saturating_mul(n);
    if memory > MAX_MEMORY {
        return Err(format!(
            "scrypt with N={n}, r={r} needs {} MiB (at most {} allowed)",
            memory >> 20,
            MAX_MEMORY >> 20
        ));
    }
    if memory.saturating_mul(p) > MAX_SCRYPT_WORK {
        return Err(format!(
            "scrypt with N={n}, r={r}, p={p} mixes {} GiB (at most {} allowed)",
            memory.saturating_mul(p) >> 30,
            MAX_SCRYPT_WORK >> 30
        ));
    }
    check_output(expected.len())?;
    let log_n = u8::try_from(n.trailing_zeros()).map_err(|_| "scrypt N too large".to_string())?;
    let (r, p) = (
        u32::try_from(r).map_err(|_| "scrypt r too large".to_string())?,
        u32::try_from(p).map_err(|_| "scrypt p too large".to_string())?,
    );
    let params = scrypt::Params::new(log_n, r, p)
        .map_err(|e| format!("scrypt parameters N={n}, r={r}, p={p} refused ({e})"))?;
    let mut out = vec![0u8; expected.len()];
    scrypt::scrypt(password, salt, &params, &mut out)
        .map_err(|e| format!("scrypt failed ({e})"))?;
    Ok(ct_eq(&out, expected))
}

/// One Argon2 computation: `m` KiB, `t` passes, `p` lanes, compared with `expected`.
pub struct Argon2Params {
    pub algorithm: argon2::Algorithm,
    pub version: argon2::Version,
    pub m: u32,
    pub t: u32,
    pub p: u32,
}

/// Argon2 into `out`, refused past the memory and time limits.
pub fn argon2(
    params: &Argon2Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), Refusal> {
    let Argon2Params { m, t, p, .. } = *params;
    let memory = u64::from(m) << 10;
    if memory > MAX_MEMORY {
        return Err(format!(
            "Argon2 with m={m} KiB (at most {} KiB allowed)",
            MAX_MEMORY >> 10
        ));
    }
    if memory.saturating_mul(u64::from(t)) > MAX_ARGON2_PASSES {
        return Err(format!(
            "Argon2 with m={m} KiB and t={t} passes (m * t at most {} GiB allowed)",
            MAX_ARGON2_PASSES >> 30
        ));
    }
    check_output(out.len())?;
    let argon2_params = argon2::Params::new(m, t, p, Some(out.len()))
        .map_err(|e| format!("Argon2 parameters m={m}, t={t}, p={p} refused ({e})"))?;
    argon2::Argon2::new(params.algorithm, params.version, argon2_params)
        .hash_password_into(password, salt, out)
        .map_err(|e| format!("Argon2 refused the salt or parameters ({e})"))
}

/// Compare Argon2 of the password with `expected` (its length is the output length).
pub fn argon2_matches(
    params: &Argon2Params,
    password: &[u8],
    salt: &[u8],
    expected: &[u8],
) -> Verdict {
    let mut out = vec![0u8; expected.len()];
    argon2(params, password, salt, &mut out)?;
    Ok(ct_eq(&out, expected))
}

/// Standard base64, with or without `=` padding.
pub fn base64(s: &str) -> Result<Vec<u8>, Refusal> {
    let bare = s.trim_end_matches('=');
    BASE64_NOPAD
        .decode(bare.as_bytes())
        .or_else(|_| BASE64.decode(s.as_bytes()))
        .map_err(|_| "not valid base64".to_string())
}

/// passlib's "adapted base64": `.` for `+`, no padding (passlib.utils.binary.ab64_decode,
/// which also accepts `+`).
pub fn ab64(s: &str) -> Result<Vec<u8>, Refusal> {
    base64(&s.replace('.', "+"))
}

/// Hexadecimal, either case.
pub fn hex(s: &str) -> Result<Vec<u8>, Refusal> {
    HEXLOWER_PERMISSIVE
        .decode(s.as_bytes())
        .map_err(|_| "not valid hexadecimal".to_string())
}

/// A decimal parameter, named in the refusal.
pub fn number(s: &str, what: &str) -> Result<u64, Refusal> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("the {what} is not a number"));
    }
    s.parse().map_err(|_| format!("the {what} is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_refuse_before_running() {
        let mut out = [0u8; 32];
        assert!(pbkdf2(Prf::Sha256, b"x", b"salt", 10_000_001, &mut out).is_err());
        assert!(pbkdf2(Prf::Sha256, b"x", b"salt", 0, &mut out).is_err());
        assert!(pbkdf2(Prf::Sha256, b"x", b"salt", 1, &mut [0u8; 4096]).is_err());
        assert!(scrypt_matches(b"x", b"salt", 1 << 21, 8, 1, &out).is_err());
        assert!(scrypt_matches(b"x", b"salt", 1 << 20, 8, 5, &out).is_err());
        assert!(scrypt_matches(b"x", b"salt", 1000, 8, 1, &out).is_err());
        let huge = Argon2Params {
            algorithm: argon2::Algorithm::Argon2id,
            version: argon2::Version::V0x13,
            m: (1 << 20) + 1,
            t: 1,
            p: 1,
        };
        assert!(argon2_matches(&huge, b"x", b"saltsalt", &out).is_err());
        let long = Argon2Params {
            m: 1 << 20,
            t: 17,
            ..huge
        };
        assert!(argon2_matches(&long, b"x", b"saltsalt", &out).is_err());
    }

    #[test]
    fn rfc_6070_and_7914_vectors() {
        // RFC 6070 (PBKDF2-HMAC-SHA1) and RFC 7914 section 12 (scrypt).
        let mut out = [0u8; 20];
        pbkdf2(Prf::Sha1, b"password", b"salt", 4096, &mut out).unwrap();
        assert_eq!(
            hex("4b007901b765489abead49d926f721d065a429c1").unwrap(),
            out
        );
        let expected = hex(concat!(
            "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2",
            "d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887"
        ))
        .unwrap();
        assert_eq!(
            scrypt_matches(b"pleaseletmein", b"SodiumChloride", 16384, 8, 1, &expected),
            Ok(true)
        );
        assert_eq!(
            scrypt_matches(b"pleaseletmeout", b"SodiumChloride", 16384, 8, 1, &expected),
            Ok(false)
        );
    }
}
