//! Checking a password against what the application stored: which format it is (from the
//! value, and for Gitea, wallabag and Vaultwarden from the columns the caller supplies), an
//! optional pinned format, and the verification, always by a well-kept crate and compared in
//! constant time. An unknown, malformed or too costly value is `Unreadable`, with a reason that
//! names the format it looked like and never contains the value.
//!
//! One module per format family; `kdf` holds the shared primitives and their limits.

mod argon2;
mod bcrypt;
mod django;
mod gitea;
mod kdf;
mod nextcloud;
mod passlib;
mod vaultwarden;
mod wallabag;

use std::fmt;
use std::str::FromStr;

use kdf::{Prf, Verdict};

/// The result of checking a password.
#[derive(Debug, PartialEq, Eq)]
pub enum PasswordCheck {
    Match,
    Mismatch,
    /// The stored value cannot be checked: the format it looked like and why (never the value).
    Unreadable(String),
}

/// What the application stored for one user. Not `Debug`: it holds hashes and salts.
#[derive(Clone, Copy)]
pub enum StoredPassword<'a> {
    /// A value that says what it is: PHC and modular-crypt strings, Django's and Nextcloud's
    /// encodings.
    Encoded(&'a str),
    /// Gitea's or Forgejo's `passwd`, `salt` and `passwd_hash_algo` columns.
    Gitea {
        passwd: &'a str,
        salt: &'a str,
        algo: &'a str,
    },
    /// wallabag's `password` and `salt` columns (the salt may be empty).
    Wallabag { password: &'a str, salt: &'a str },
    /// Vaultwarden's `password_hash`, `salt` and `password_iterations` (blobs and an integer),
    /// the user's `email` and the client KDF columns.
    Vaultwarden {
        password_hash: &'a [u8],
        salt: &'a [u8],
        password_iterations: i64,
        email: &'a str,
        kdf: ClientKdf,
    },
}

/// A Bitwarden client's key derivation, from Vaultwarden's `client_kdf_*` columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKdf {
    Pbkdf2 {
        iterations: u32,
    },
    Argon2id {
        iterations: u32,
        memory_mib: u32,
        parallelism: u32,
    },
}

impl ClientKdf {
    /// From `client_kdf_type` (0 PBKDF2, 1 Argon2id), `client_kdf_iter`, `client_kdf_memory`
    /// (MiB) and `client_kdf_parallelism` (dani-garcia/vaultwarden src/db/models/user.rs).
    pub fn from_columns(
        kdf_type: i64,
        iterations: i64,
        memory: Option<i64>,
        parallelism: Option<i64>,
    ) -> Result<Self, String> {
        let positive = |n: i64, what: &str| {
            u32::try_from(n)
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("client_kdf_{what} {n} is not a positive 32-bit number"))
        };
        match (kdf_type, memory, parallelism) {
            (0, _, _) => Ok(Self::Pbkdf2 {
                iterations: positive(iterations, "iter")?,
            }),
            (1, Some(memory), Some(parallelism)) => Ok(Self::Argon2id {
                iterations: positive(iterations, "iter")?,
                memory_mib: positive(memory, "memory")?,
                parallelism: positive(parallelism, "parallelism")?,
            }),
            (1, _, _) => Err("Argon2id needs client_kdf_memory and client_kdf_parallelism".into()),
            (n, _, _) => Err(format!(
                "client_kdf_type {n} is unknown (0 and 1 are known)"
            )),
        }
    }
}

/// A format twofactl reads. `name()` is the `[schema] password_format` value that pins it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Argon2,
    Bcrypt,
    DjangoPbkdf2Sha256,
    DjangoPbkdf2Sha1,
    DjangoArgon2,
    DjangoBcryptSha256,
    DjangoBcrypt,
    DjangoScrypt,
    PasslibPbkdf2Sha256,
    PasslibPbkdf2Sha512,
    PasslibPbkdf2Sha1,
    PasslibScrypt,
    Nextcloud,
    Gitea,
    Wallabag,
    Vaultwarden,
}

impl Format {
    pub const ALL: [Format; 16] = [
        Format::Argon2,
        Format::Bcrypt,
        Format::DjangoPbkdf2Sha256,
        Format::DjangoPbkdf2Sha1,
        Format::DjangoArgon2,
        Format::DjangoBcryptSha256,
        Format::DjangoBcrypt,
        Format::DjangoScrypt,
        Format::PasslibPbkdf2Sha256,
        Format::PasslibPbkdf2Sha512,
        Format::PasslibPbkdf2Sha1,
        Format::PasslibScrypt,
        Format::Nextcloud,
        Format::Gitea,
        Format::Wallabag,
        Format::Vaultwarden,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Argon2 => "argon2",
            Format::Bcrypt => "bcrypt",
            Format::DjangoPbkdf2Sha256 => "django-pbkdf2-sha256",
            Format::DjangoPbkdf2Sha1 => "django-pbkdf2-sha1",
            Format::DjangoArgon2 => "django-argon2",
            Format::DjangoBcryptSha256 => "django-bcrypt-sha256",
            Format::DjangoBcrypt => "django-bcrypt",
            Format::DjangoScrypt => "django-scrypt",
            Format::PasslibPbkdf2Sha256 => "passlib-pbkdf2-sha256",
            Format::PasslibPbkdf2Sha512 => "passlib-pbkdf2-sha512",
            Format::PasslibPbkdf2Sha1 => "passlib-pbkdf2-sha1",
            Format::PasslibScrypt => "passlib-scrypt",
            Format::Nextcloud => "nextcloud",
            Format::Gitea => "gitea",
            Format::Wallabag => "wallabag",
            Format::Vaultwarden => "vaultwarden",
        }
    }

    /// The format a self-describing value is in, from its prefix alone.
    fn of_encoded(value: &str) -> Result<Format, String> {
        const PREFIXES: [(&str, Format); 15] = [
            ("$argon2id$", Format::Argon2),
            ("$argon2i$", Format::Argon2),
            ("$argon2d$", Format::Argon2),
            ("$2a$", Format::Bcrypt),
            ("$2b$", Format::Bcrypt),
            ("$2y$", Format::Bcrypt),
            ("pbkdf2_sha256$", Format::DjangoPbkdf2Sha256),
            ("pbkdf2_sha1$", Format::DjangoPbkdf2Sha1),
            ("argon2$argon2", Format::DjangoArgon2),
            ("bcrypt_sha256$", Format::DjangoBcryptSha256),
            ("bcrypt$", Format::DjangoBcrypt),
            ("scrypt$", Format::DjangoScrypt),
            ("$pbkdf2-sha256$", Format::PasslibPbkdf2Sha256),
            ("$pbkdf2-sha512$", Format::PasslibPbkdf2Sha512),
            ("$pbkdf2$", Format::PasslibPbkdf2Sha1),
        ];
        if let Some((_, format)) = PREFIXES.iter().find(|(p, _)| value.starts_with(p)) {
            return Ok(*format);
        }
        if value.starts_with("$scrypt$") {
            return Ok(Format::PasslibScrypt);
        }
        if value
            .split_once('|')
            .is_some_and(|(v, _)| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        {
            return Ok(Format::Nextcloud);
        }
        Err(unknown_encoding(value))
    }
}

/// Why a value in no known format is refused, naming what it looks like where that is known.
fn unknown_encoding(value: &str) -> String {
    const KNOWN: [(&str, &str); 11] = [
        (
            "$2x$",
            "bcrypt $2x$ (crypt_blowfish's bug-compatible variant)",
        ),
        ("$2$", "bcrypt $2$ (the original, pre-1997 variant)"),
        ("$1$", "MD5-crypt"),
        ("$5$", "SHA-256-crypt"),
        ("$6$", "SHA-512-crypt"),
        ("$7$", "scrypt in its $7$ encoding"),
        ("$P$", "phpass"),
        ("$H$", "phpass"),
        ("md5$", "Django's salted MD5"),
        ("sha1$", "Django's salted SHA-1"),
        ("unsalted_", "Django's unsalted hashers"),
    ];
    if value.is_empty() {
        return "the stored password is empty".into();
    }
    if value.starts_with('!') {
        return "an unusable password (Django's set_unusable_password, or a locked account)".into();
    }
    if value.len() == 40 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return "looks like an unsalted SHA-1 hex digest (ownCloud's legacy format): refused, \
                an unsalted digest proves nothing once the table has been read"
            .into();
    }
    if let Some((_, name)) = KNOWN.iter().find(|(p, _)| value.starts_with(p)) {
        return format!("looks like {name}, which twofactl does not read");
    }
    "not a password hash format twofactl reads".into()
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `[schema] password_format`: `auto` (detect from the stored value), or one format, which
/// every stored value must then be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PasswordFormat {
    #[default]
    Auto,
    Pinned(Format),
}

impl FromStr for PasswordFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "auto" {
            return Ok(Self::Auto);
        }
        Format::ALL
            .iter()
            .find(|f| f.name() == s)
            .map(|f| Self::Pinned(*f))
            .ok_or_else(|| {
                let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
                format!(
                    "unknown password format (accepted: auto, {})",
                    names.join(", ")
                )
            })
    }
}

/// The format of a stored value, or why none fits.
pub fn detect(stored: &StoredPassword) -> Result<Format, String> {
    match stored {
        StoredPassword::Encoded(value) => Format::of_encoded(value.trim()),
        StoredPassword::Gitea { .. } => Ok(Format::Gitea),
        // A newer wallabag (or a migrated hasher) stores a self-describing string, no salt.
        StoredPassword::Wallabag { password, .. } if password.contains('$') => {
            Format::of_encoded(password.trim())
        }
        StoredPassword::Wallabag { .. } => Ok(Format::Wallabag),
        StoredPassword::Vaultwarden { .. } => Ok(Format::Vaultwarden),
    }
}

/// Check `password` against the stored value, in the pinned format if there is one.
pub fn check_password(
    password: &[u8],
    stored: &StoredPassword,
    pinned: PasswordFormat,
) -> PasswordCheck {
    let format = match (detect(stored), pinned) {
        (Ok(found), PasswordFormat::Pinned(want)) if found != want => {
            return PasswordCheck::Unreadable(format!(
                "not in the pinned format {want} (password_format = \"{want}\"); it looks like {found}"
            ));
        }
        (Err(why), PasswordFormat::Pinned(want)) => {
            return PasswordCheck::Unreadable(format!(
                "not in the pinned format {want} (password_format = \"{want}\"): {why}"
            ));
        }
        (Err(why), PasswordFormat::Auto) => return PasswordCheck::Unreadable(why),
        (Ok(found), _) => found,
    };
    match verify(format, password, stored) {
        Ok(true) => PasswordCheck::Match,
        Ok(false) => PasswordCheck::Mismatch,
        Err(why) => PasswordCheck::Unreadable(format!("a {format} hash: {why}")),
    }
}

fn verify(format: Format, password: &[u8], stored: &StoredPassword) -> Verdict {
    match *stored {
        StoredPassword::Encoded(value) => verify_encoded(format, password, value.trim()),
        StoredPassword::Gitea { passwd, salt, algo } => {
            gitea::matches(password, passwd.trim(), salt, algo.trim())
        }
        StoredPassword::Wallabag { password: hash, .. } if format != Format::Wallabag => {
            verify_encoded(format, password, hash.trim())
        }
        StoredPassword::Wallabag {
            password: hash,
            salt,
        } => wallabag::matches(password, hash.trim(), salt),
        StoredPassword::Vaultwarden {
            password_hash,
            salt,
            password_iterations,
            email,
            kdf,
        } => vaultwarden::matches(
            password,
            &vaultwarden::Columns {
                password_hash,
                salt,
                password_iterations,
                email,
                kdf,
            },
        ),
    }
}

fn verify_encoded(format: Format, password: &[u8], value: &str) -> Verdict {
    match format {
        Format::Argon2 => argon2::matches(password, value),
        Format::Bcrypt => bcrypt::matches(password, value),
        Format::DjangoPbkdf2Sha256 => django::pbkdf2(Prf::Sha256, password, value),
        Format::DjangoPbkdf2Sha1 => django::pbkdf2(Prf::Sha1, password, value),
        Format::DjangoArgon2 => django::argon2(password, value),
        Format::DjangoBcryptSha256 => django::bcrypt_sha256(password, value),
        Format::DjangoBcrypt => django::bcrypt(password, value),
        Format::DjangoScrypt => django::scrypt(password, value),
        Format::PasslibPbkdf2Sha256 => passlib::pbkdf2(Prf::Sha256, password, value),
        Format::PasslibPbkdf2Sha512 => passlib::pbkdf2(Prf::Sha512, password, value),
        Format::PasslibPbkdf2Sha1 => passlib::pbkdf2(Prf::Sha1, password, value),
        Format::PasslibScrypt => passlib::scrypt(password, value),
        Format::Nextcloud => nextcloud::matches(password, value),
        Format::Gitea | Format::Wallabag | Format::Vaultwarden => {
            Err(format!("{format} needs its columns, not one stored value"))
        }
    }
}

#[cfg(test)]
mod tests;
