//! Secrets: TOTP keys and verification codes from the OS CSPRNG, codes hashed with Argon2id,
//! and (in `passwords`) checking a password against what the application stored. Comparisons
//! of secrets are constant-time (password-hash and `subtle`).

pub mod passwords;

use anyhow::{Context, Result};
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};

pub use passwords::{ClientKdf, PasswordCheck, PasswordFormat, StoredPassword, check_password};

/// Digits in a verification code.
pub const CODE_DIGITS: usize = 8;

/// A verification code: 8 digits, uniform, from the OS CSPRNG.
pub fn new_code() -> Result<String> {
    // Rejection sampling: the largest multiple of 10^8 that fits in a u32 keeps it unbiased.
    const LIMIT: u32 = 4_200_000_000;
    loop {
        let n = getrandom::u32().context("the OS random number generator failed")?;
        if n < LIMIT {
            return Ok(format!("{:08}", n % 100_000_000));
        }
    }
}

/// Normalise what a person typed as a code: digits only (spaces and dashes dropped).
pub fn normalise_code(input: &str) -> Option<String> {
    let digits: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    (digits.len() == CODE_DIGITS && digits.chars().all(|c| c.is_ascii_digit())).then_some(digits)
}

/// Hash a code for storage: Argon2id with a random salt (OWASP's m=19 MiB, t=2, p=1), so a
/// copy of the database does not reveal an open code within its lifetime.
pub fn hash_code(code: &str) -> Result<String> {
    Ok(Argon2::default()
        .hash_password(code.as_bytes())
        .map_err(|e| anyhow::anyhow!("could not hash the code: {e}"))?
        .to_string())
}

/// Whether `code` matches the stored hash (constant-time comparison).
pub fn code_matches(code: &str, stored: &str) -> bool {
    PasswordHash::new(stored).ok().is_some_and(|h| {
        Argon2::default()
            .verify_password(code.as_bytes(), &h)
            .is_ok()
    })
}

/// The TOTP key length: 160 bits, as RFC 4226 recommends.
pub const TOTP_KEY_BYTES: usize = 20;

/// A new TOTP key from the OS CSPRNG, base32 without padding (32 characters).
pub fn new_totp_key() -> Result<String> {
    let mut key = [0u8; TOTP_KEY_BYTES];
    getrandom::fill(&mut key).context("the OS random number generator failed")?;
    Ok(data_encoding::BASE32_NOPAD.encode(&key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_eight_digits() {
        for _ in 0..50 {
            let c = new_code().unwrap();
            assert_eq!(c.len(), 8);
            assert!(c.chars().all(|d| d.is_ascii_digit()));
        }
        assert_ne!(new_code().unwrap(), new_code().unwrap());
    }

    #[test]
    fn codes_hash_and_verify() {
        let h = hash_code("01234567").unwrap();
        assert!(!h.contains("01234567"));
        assert!(h.starts_with("$argon2id$"));
        assert!(code_matches("01234567", &h));
        assert!(!code_matches("01234568", &h));
        assert!(!code_matches("01234567", "garbage"));
    }

    #[test]
    fn typed_codes_are_normalised() {
        assert_eq!(normalise_code("0123 4567").as_deref(), Some("01234567"));
        assert_eq!(normalise_code("0123-4567").as_deref(), Some("01234567"));
        assert_eq!(normalise_code("1234567"), None);
        assert_eq!(normalise_code("1234567a"), None);
    }

    #[test]
    fn keys_are_32_base32_characters_and_differ() {
        let a = new_totp_key().unwrap();
        let b = new_totp_key().unwrap();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert_eq!(
            data_encoding::BASE32_NOPAD
                .decode(a.as_bytes())
                .unwrap()
                .len(),
            20
        );
    }
}
