//! bcrypt strings, `$2a$`, `$2b$` and `$2y$` (OpenBSD's format, as PHP's `password_hash`,
//! Python's bcrypt, Go's x/crypto/bcrypt and passlib write it), checked by the `bcrypt` crate,
//! which compares the outputs in constant time.

use super::kdf::Verdict;

/// The highest cost run (see `kdf`'s limits): 2^16 rounds, about 5 s here.
pub const MAX_COST: u32 = 16;

/// Check a bcrypt string (`$2a$`, `$2b$`, `$2y$`, cost 04 to 16, 60 characters).
///
/// Passwords over 72 bytes: bcrypt reads at most 72 bytes of key. PHP's `password_verify`
/// (crypt_blowfish), Go's x/crypto/bcrypt, passlib and Python's bcrypt before 5.0 truncate
/// there, so the hashes they wrote for longer passwords verify with the first 72 bytes; Python's
/// bcrypt 5.0 refuses such passwords (ValueError) in both `hashpw` and `checkpw`, so it never
/// wrote one. Verifying with truncation accepts exactly what the applications accept
/// (`bcrypt::verify`, not `non_truncating_verify`, which would lock out PHP users with long
/// passwords). `$2x$` (crypt_blowfish's bug-compatible mode for 8-bit passwords) is refused:
/// the crate would compute the correct algorithm for it and so reject its users silently.
/// crypt_blowfish's `$2a$` differs from `$2b$` only for the rare 8-bit passwords whose buggy
/// and correct key schedules collide (its "safety" countermeasure); those are not supported.
pub fn matches(password: &[u8], mcf: &str) -> Verdict {
    let b = mcf.as_bytes();
    if b.len() != 60 || !mcf.is_ascii() || b[0] != b'$' || b[3] != b'$' || b[6] != b'$' {
        return Err("not a 60-character bcrypt string".into());
    }
    match &mcf[1..3] {
        "2a" | "2b" | "2y" => {}
        "2x" => {
            return Err("$2x$ (crypt_blowfish's bug-compatible variant) is not supported".into());
        }
        _ => return Err("an unknown bcrypt prefix".into()),
    }
    let cost: u32 = mcf[4..6]
        .parse()
        .map_err(|_| "the bcrypt cost is not a number".to_string())?;
    if !(4..=MAX_COST).contains(&cost) {
        return Err(format!("bcrypt cost {cost} (4 to {MAX_COST} allowed)"));
    }
    bcrypt::verify(password, mcf).map_err(|e| format!("a malformed bcrypt string ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_over_the_limit_are_refused_before_running() {
        let cost17 = "$2y$17$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234";
        assert_eq!(cost17.len(), 60);
        assert!(matches(b"x", cost17).unwrap_err().contains("cost 17"));
        assert!(matches(b"x", &cost17.replace("$17$", "$31$")).is_err());
        assert!(matches(b"x", &cost17.replace("$17$", "$03$")).is_err());
        assert!(matches(b"x", &cost17.replace("$2y$", "$2x$")).is_err());
        assert!(matches(b"x", "$2y$10$short").is_err());
    }

    #[test]
    fn long_passwords_are_read_to_72_bytes_as_php_does() {
        // PHP 8.2: password_hash(str_repeat("x", 80), PASSWORD_BCRYPT, ["cost" => 4]).
        let php = "$2y$04$4T1gQy/LP3bKCPdsvuVdA.t9SFJXSsK32sgOsByTBusb4G3YcuMjy";
        assert_eq!(matches(&[b'x'; 80], php), Ok(true));
        assert_eq!(matches(&[b'x'; 72], php), Ok(true));
        assert_eq!(matches(&[b'x'; 71], php), Ok(false));
    }
}
