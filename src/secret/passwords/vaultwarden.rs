//! Vaultwarden's `users` columns. The server never sees the password: a Bitwarden client sends
//! the "master password hash", and the server stores PBKDF2-HMAC-SHA256 of it:
//! - master key: PBKDF2-HMAC-SHA256(password, salt = the e-mail trimmed and lowercased,
//!   `client_kdf_iter`, 32 bytes) for `client_kdf_type` 0, or Argon2id v=19(password, salt =
//!   SHA-256 of that e-mail, t = `client_kdf_iter`, m = `client_kdf_memory` MiB, p =
//!   `client_kdf_parallelism`, 32 bytes) for type 1 (bitwarden/sdk-internal
//!   crates/bitwarden-crypto/src/keys/kdf.rs, `derive`);
//! - master password hash: base64 of PBKDF2-HMAC-SHA256(master key, salt = password,
//!   1 iteration, 32 bytes) (keys/master_key.rs, `derive_master_key_hash`,
//!   HashPurpose::ServerAuthorization);
//! - stored: `password_hash` = PBKDF2-HMAC-SHA256(that base64 text, `salt` (64 random bytes),
//!   `password_iterations`, 32 bytes) (dani-garcia/vaultwarden src/db/models/user.rs,
//!   `set_password` and `check_valid_password`; src/crypto.rs, `hash_password`).

use data_encoding::BASE64;
use sha2::{Digest, Sha256};

use super::ClientKdf;
use super::kdf::{self, Argon2Params, Prf, Verdict};

/// The columns of one Vaultwarden user.
pub struct Columns<'a> {
    pub password_hash: &'a [u8],
    pub salt: &'a [u8],
    pub password_iterations: i64,
    pub email: &'a str,
    pub kdf: ClientKdf,
}

pub fn matches(password: &[u8], user: &Columns) -> Verdict {
    if user.password_hash.len() != 32 {
        return Err(format!(
            "password_hash is {} bytes, not 32",
            user.password_hash.len()
        ));
    }
    let iterations = u64::try_from(user.password_iterations)
        .map_err(|_| "password_iterations is negative".to_string())?;
    let email = user.email.trim().to_lowercase();
    let mut key = [0u8; 32];
    match user.kdf {
        ClientKdf::Pbkdf2 { iterations } => {
            kdf::pbkdf2(
                Prf::Sha256,
                password,
                email.as_bytes(),
                u64::from(iterations),
                &mut key,
            )?;
        }
        ClientKdf::Argon2id {
            iterations,
            memory_mib,
            parallelism,
        } => {
            let params = Argon2Params {
                algorithm: argon2::Algorithm::Argon2id,
                version: argon2::Version::V0x13,
                m: memory_mib
                    .checked_mul(1024)
                    .ok_or_else(|| format!("client_kdf_memory {memory_mib} MiB is out of range"))?,
                t: iterations,
                p: parallelism,
            };
            kdf::argon2(
                &params,
                password,
                &Sha256::digest(email.as_bytes()),
                &mut key,
            )?;
        }
    }
    let mut client_hash = [0u8; 32];
    kdf::pbkdf2(Prf::Sha256, &key, password, 1, &mut client_hash)?;
    let client_hash = BASE64.encode(&client_hash);
    kdf::pbkdf2_matches(
        Prf::Sha256,
        client_hash.as_bytes(),
        user.salt,
        iterations,
        user.password_hash,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// bitwarden/sdk-internal crates/bitwarden-crypto/src/keys/master_key.rs, tests
    /// `test_password_hash_pbkdf2` and `test_password_hash_argon2id`: the master password hash
    /// of "asdfasdf". Stored here as Vaultwarden would store it with one server iteration and
    /// an empty salt, so only the client side is under test.
    #[test]
    fn bitwarden_master_password_hash_vectors() {
        for (email, kdf, expected) in [
            (
                " TEST@bitwarden.com",
                ClientKdf::Pbkdf2 {
                    iterations: 100_000,
                },
                "wmyadRMyBZOH7P/a/ucTCbSghKgdzDpPqUnu/DAVtSw=",
            ),
            (
                "test_salt",
                ClientKdf::Argon2id {
                    iterations: 4,
                    memory_mib: 32,
                    parallelism: 2,
                },
                "PR6UjYmjmppTYcdyTiNbAhPJuQQOmynKbdEl1oyi/iQ=",
            ),
        ] {
            let mut stored = [0u8; 32];
            kdf::pbkdf2(Prf::Sha256, expected.as_bytes(), b"", 1, &mut stored).unwrap();
            let user = Columns {
                password_hash: &stored,
                salt: b"",
                password_iterations: 1,
                email,
                kdf,
            };
            assert_eq!(matches(b"asdfasdf", &user), Ok(true));
            assert_eq!(matches(b"asdfasdg", &user), Ok(false));
        }
    }
}
