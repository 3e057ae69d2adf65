//! Nextcloud's `N|<hash>` (nextcloud/server lib/private/Security/Hasher.php): `hash()` writes
//! `1|` before PHP's bcrypt, `2|` before argon2i and `3|` before argon2id; `verify()` hands
//! versions 1 to 3 alike to PHP's `password_verify`, which reads whichever of bcrypt and Argon2
//! follows, and twofactl does the same.
//!
//! Values without the prefix are ownCloud's legacy formats (`legacyHashVerify`): a 60-character
//! bcrypt string is verified as plain bcrypt (Nextcloud's second try, without the instance's
//! `passwordsalt`, which twofactl does not have), and a 40-character unsalted SHA-1 hex digest is
//! refused: it proves nothing about who typed the password once the table has been read, and
//! Nextcloud rewrites it at the user's next login (ownCloud 8, 2015, stopped writing it).

use super::kdf::Verdict;
use super::{argon2, bcrypt};

pub fn matches(password: &[u8], value: &str) -> Verdict {
    let (version, inner) = value
        .split_once('|')
        .ok_or_else(|| "no version prefix".to_string())?;
    if !matches!(version, "1" | "2" | "3") {
        return Err("a Nextcloud hash version other than 1, 2 or 3".into());
    }
    if inner.starts_with("$2") {
        bcrypt::matches(password, inner)
    } else if inner.starts_with("$argon2") {
        argon2::matches(password, inner)
    } else {
        Err("the hash after the version is neither bcrypt nor Argon2".into())
    }
}
