//! wallabag's `password` and `salt` columns (FOSUserBundle users): wallabag/wallabag
//! app/config/security.yml sets the `sha512` encoder, which is Symfony's
//! MessageDigestPasswordHasher with its defaults, base64 and 5000 iterations
//! (symfony/symfony src/Symfony/Component/PasswordHasher/Hasher/MessageDigestPasswordHasher.php):
//! `salted = password + "{" + salt + "}"` (the password alone for an empty salt; a salt with a
//! brace is an error), `digest = sha512(salted)`, then 4999 times
//! `digest = sha512(digest + salted)`, stored as base64. Passwords over 4096 bytes never match
//! (Symfony's CheckPasswordLengthTrait). A value with a `$` is not this hasher's (Symfony's
//! `verify` says so too): the caller reads it as a self-describing format.

use sha2::{Digest, Sha512};

use super::kdf::{self, Verdict};

const ITERATIONS: usize = 5000;
const MAX_PASSWORD_LENGTH: usize = 4096;

pub fn matches(password: &[u8], stored: &str, salt: &str) -> Verdict {
    if salt.contains(['{', '}']) {
        return Err("the salt has a brace, which Symfony refuses".into());
    }
    let expected = kdf::base64(stored).map_err(|e| format!("the password column is {e}"))?;
    if expected.len() != 64 {
        return Err(format!(
            "the password column is {} bytes, not a SHA-512 digest",
            expected.len()
        ));
    }
    if password.len() > MAX_PASSWORD_LENGTH {
        return Ok(false);
    }
    let mut salted = password.to_vec();
    if !salt.is_empty() {
        salted.extend_from_slice(format!("{{{salt}}}").as_bytes());
    }
    let mut digest = Sha512::digest(&salted);
    for _ in 1..ITERATIONS {
        digest = Sha512::new()
            .chain_update(digest)
            .chain_update(&salted)
            .finalize();
    }
    Ok(kdf::ct_eq(&digest, &expected))
}
