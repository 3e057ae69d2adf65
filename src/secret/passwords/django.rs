//! Django's encodings, `<algorithm>$...`, as django/django django/contrib/auth/hashers.py
//! (Django 5.2) writes them with `make_password`:
//! - `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>` and `pbkdf2_sha1$...`
//!   (PBKDF2PasswordHasher: the salt used as text, the digest's length, padded base64);
//! - `argon2$argon2id$v=19$m=..,t=..,p=..$<salt>$<hash>` (Argon2PasswordHasher prefixes
//!   argon2-cffi's PHC string with `argon2`, which verify strips again);
//! - `bcrypt_sha256$$2b$..` (BCryptSHA256PasswordHasher: bcrypt over the lowercase hex of
//!   SHA-256 of the password) and `bcrypt$$2b$..` (BCryptPasswordHasher: plain bcrypt);
//! - `scrypt$<N>$<salt>$<r>$<p>$<base64 hash>` (ScryptPasswordHasher: N comes before the salt,
//!   64-byte key).
//!
//! Django re-encodes and compares the whole strings (`constant_time_compare`); twofactl
//! compares the derived bytes in constant time, which is the same test.

use sha2::{Digest, Sha256};

use super::kdf::{self, Prf, Verdict};
use super::{argon2, bcrypt};

/// `pbkdf2_sha256$...` or `pbkdf2_sha1$...`.
pub fn pbkdf2(prf: Prf, password: &[u8], encoded: &str) -> Verdict {
    let [_, iterations, salt, hash] = fields::<4>(encoded)?;
    let iterations = kdf::number(iterations, "iteration count")?;
    let hash = kdf::base64(hash).map_err(|e| format!("the hash is {e}"))?;
    if hash.len() != prf.output_len() {
        return Err(format!(
            "the hash is {} bytes, not {}",
            hash.len(),
            prf.output_len()
        ));
    }
    kdf::pbkdf2_matches(prf, password, salt.as_bytes(), iterations, &hash)
}

/// `argon2$argon2id$...`.
pub fn argon2(password: &[u8], encoded: &str) -> Verdict {
    let phc = encoded
        .strip_prefix("argon2")
        .ok_or_else(|| "not Django's argon2 encoding".to_string())?;
    argon2::matches(password, phc)
}

/// `bcrypt_sha256$$2b$...`.
pub fn bcrypt_sha256(password: &[u8], encoded: &str) -> Verdict {
    let inner = encoded
        .strip_prefix("bcrypt_sha256$")
        .ok_or_else(|| "not Django's bcrypt_sha256 encoding".to_string())?;
    let digest = data_encoding::HEXLOWER.encode(&Sha256::digest(password));
    bcrypt::matches(digest.as_bytes(), inner)
}

/// `bcrypt$$2b$...`.
pub fn bcrypt(password: &[u8], encoded: &str) -> Verdict {
    let inner = encoded
        .strip_prefix("bcrypt$")
        .ok_or_else(|| "not Django's bcrypt encoding".to_string())?;
    bcrypt::matches(password, inner)
}

/// `scrypt$<N>$<salt>$<r>$<p>$<hash>`.
pub fn scrypt(password: &[u8], encoded: &str) -> Verdict {
    let [_, n, salt, r, p, hash] = fields::<6>(encoded)?;
    let n = kdf::number(n, "scrypt work factor")?;
    let r = kdf::number(r, "scrypt block size")?;
    let p = kdf::number(p, "scrypt parallelism")?;
    let hash = kdf::base64(hash).map_err(|e| format!("the hash is {e}"))?;
    if hash.len() != 64 {
        return Err(format!("the hash is {} bytes, not 64", hash.len()));
    }
    kdf::scrypt_matches(password, salt.as_bytes(), n, r, p, &hash)
}

/// Exactly `N` `$`-separated fields.
fn fields<const N: usize>(encoded: &str) -> Result<[&str; N], String> {
    let parts: Vec<&str> = encoded.split('$').collect();
    <[&str; N]>::try_from(parts).map_err(|_| format!("not {N} fields separated by $"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_encodings_are_refused() {
        assert!(pbkdf2(Prf::Sha256, b"x", "pbkdf2_sha256$1000$salt").is_err());
        assert!(pbkdf2(Prf::Sha256, b"x", "pbkdf2_sha256$x$salt$AAAA").is_err());
        assert!(pbkdf2(Prf::Sha256, b"x", "pbkdf2_sha256$1000$salt$AAAA").is_err());
        assert!(
            pbkdf2(
                Prf::Sha256,
                b"x",
                "pbkdf2_sha256$99999999999$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
            )
            .is_err()
        );
        assert!(scrypt(b"x", "scrypt$16384$salt$8$5").is_err());
        assert!(scrypt(b"x", "scrypt$16385$salt$8$5$AAAA").is_err());
        assert!(argon2(b"x", "argon2$bogus").is_err());
        assert!(bcrypt(b"x", "bcrypt$$2b$12$short").is_err());
    }
}
