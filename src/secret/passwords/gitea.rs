//! Gitea's and Forgejo's `user` columns (go-gitea/gitea modules/auth/password/hash/):
//! `passwd` is the lowercase hex of the derived key (bcrypt: the bcrypt string itself), `salt`
//! is hex, or 10 raw characters for accounts from before hex salts (hash.go, `Hash`), and
//! `passwd_hash_algo` names the function with its parameters. A bare name means the function's
//! original defaults, not today's aliases (hash.go, `Parse`; setting.go):
//! - `pbkdf2` or empty: PBKDF2-HMAC-SHA256, 10,000 iterations, 50 bytes (pbkdf2.go);
//!   `pbkdf2$<iter>$<keyLen>` (pbkdf2_v2 is `pbkdf2$50000$50`, pbkdf2_hi `pbkdf2$320000$50`);
//! - `argon2`: Argon2id v=19, t=2, m=65536 KiB, 8 lanes, 50 bytes (argon2.go);
//!   `argon2$<time>$<memory>$<threads>$<keyLen>`;
//! - `scrypt`: N=65536, r=16, p=2, 50 bytes (scrypt.go); `scrypt$<n>$<r>$<p>$<keyLen>`;
//! - `bcrypt` or `bcrypt$<cost>`: golang.org/x/crypto/bcrypt over `passwd` (bcrypt.go).

use argon2::{Algorithm, Version};

use super::bcrypt;
use super::kdf::{self, Argon2Params, Prf, Verdict};

pub fn matches(password: &[u8], passwd: &str, salt: &str, algo: &str) -> Verdict {
    let (kind, config) = algo.split_once('$').unwrap_or((algo, ""));
    if kind == "bcrypt" {
        return bcrypt::matches(password, passwd);
    }
    let salt = if salt.len() == 10 {
        salt.as_bytes().to_vec()
    } else {
        kdf::hex(salt).map_err(|e| format!("the salt column is {e}"))?
    };
    let hash = kdf::hex(passwd).map_err(|e| format!("passwd is {e}"))?;
    let key_len = |n: u64| {
        if usize::try_from(n).ok() == Some(hash.len()) {
            Ok(())
        } else {
            Err(format!(
                "passwd is {} bytes but passwd_hash_algo says {n}",
                hash.len()
            ))
        }
    };
    match kind {
        "" | "pbkdf2" => {
            let [iter, len] = spec(config, [10_000, 50])?;
            key_len(len)?;
            kdf::pbkdf2_matches(Prf::Sha256, password, &salt, iter, &hash)
        }
        "argon2" => {
            let [t, m, p, len] = spec(config, [2, 65_536, 8, 50])?;
            key_len(len)?;
            let narrow = |n: u64, max: u64| {
                u32::try_from(n)
                    .ok()
                    .filter(|_| n <= max)
                    .ok_or_else(|| format!("argon2 parameter {n} is out of range"))
            };
            let params = Argon2Params {
                algorithm: Algorithm::Argon2id,
                version: Version::V0x13,
                m: narrow(m, u64::from(u32::MAX))?,
                t: narrow(t, u64::from(u32::MAX))?,
                // Gitea parses threads as a uint8.
                p: narrow(p, 255)?,
            };
            kdf::argon2_matches(&params, password, &salt, &hash)
        }
        "scrypt" => {
            let [n, r, p, len] = spec(config, [65_536, 16, 2, 50])?;
            key_len(len)?;
            kdf::scrypt_matches(password, &salt, n, r, p, &hash)
        }
        _ => Err("an unknown passwd_hash_algo".into()),
    }
}

/// The numbers after the name, or the function's defaults when there are none.
fn spec<const N: usize>(config: &str, defaults: [u64; N]) -> Result<[u64; N], String> {
    if config.is_empty() {
        return Ok(defaults);
    }
    let values = config
        .split('$')
        .map(|v| kdf::number(v, "passwd_hash_algo parameter"))
        .collect::<Result<Vec<_>, _>>()?;
    <[u64; N]>::try_from(values).map_err(|_| format!("passwd_hash_algo needs {N} parameters"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_columns_are_refused() {
        let salt = "00112233445566778899aabbccddeeff";
        let hash50 = "00".repeat(50);
        assert_eq!(matches(b"x", &hash50, salt, "pbkdf2$1000$50"), Ok(false));
        assert!(matches(b"x", &hash50, salt, "pbkdf2$1000$32").is_err());
        assert!(matches(b"x", &hash50, salt, "pbkdf2$1000").is_err());
        assert!(matches(b"x", &hash50, salt, "pbkdf2$99999999$50").is_err());
        assert!(matches(b"x", &hash50, salt, "md5").is_err());
        assert!(matches(b"x", &hash50, "zz", "pbkdf2").is_err());
        assert!(matches(b"x", "not hex", salt, "pbkdf2").is_err());
        assert!(matches(b"x", &hash50, salt, "argon2$2$65536$256$50").is_err());
        assert!(matches(b"x", &hash50, salt, "argon2$2$2097152$8$50").is_err());
        assert!(matches(b"x", &hash50, salt, "scrypt$2097152$8$1$50").is_err());
        assert!(
            matches(
                b"x",
                "$2a$17$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234",
                salt,
                "bcrypt$17"
            )
            .is_err()
        );
    }
}
