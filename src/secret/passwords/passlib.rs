//! passlib's PHC-like strings (passlib 1.7, passlib/handlers/pbkdf2.py and scrypt.py):
//! - `$pbkdf2-sha256$<rounds>$<salt>$<hash>`, `$pbkdf2-sha512$...` and `$pbkdf2$...` (SHA-1),
//!   salt and hash in passlib's "adapted base64" (`.` for `+`, no padding), the hash the
//!   digest's length;
//! - `$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>`, salt and hash in unpadded base64.

use super::kdf::{self, Prf, Verdict};

/// `$pbkdf2-sha256$...`, `$pbkdf2-sha512$...`, `$pbkdf2$...`.
pub fn pbkdf2(prf: Prf, password: &[u8], encoded: &str) -> Verdict {
    let parts: Vec<&str> = encoded.split('$').collect();
    let [_, _, rounds, salt, hash] = parts.as_slice() else {
        return Err("not 5 fields separated by $".into());
    };
    let rounds = kdf::number(rounds, "round count")?;
    let salt = kdf::ab64(salt).map_err(|e| format!("the salt is {e}"))?;
    let hash = kdf::ab64(hash).map_err(|e| format!("the hash is {e}"))?;
    if hash.len() != prf.output_len() {
        return Err(format!(
            "the hash is {} bytes, not {}",
            hash.len(),
            prf.output_len()
        ));
    }
    kdf::pbkdf2_matches(prf, password, &salt, rounds, &hash)
}

/// `$scrypt$ln=..,r=..,p=..$<salt>$<hash>`.
pub fn scrypt(password: &[u8], encoded: &str) -> Verdict {
    let parts: Vec<&str> = encoded.split('$').collect();
    let ["", "scrypt", params, salt, hash] = parts.as_slice() else {
        return Err("not 5 fields separated by $".into());
    };
    let mut values = [None; 3];
    for param in params.split(',') {
        let (name, value) = param
            .split_once('=')
            .ok_or_else(|| "malformed scrypt parameters".to_string())?;
        let i = ["ln", "r", "p"]
            .iter()
            .position(|n| *n == name)
            .ok_or_else(|| "an scrypt parameter other than ln, r and p".to_string())?;
        if values[i]
            .replace(kdf::number(value, "scrypt parameter")?)
            .is_some()
        {
            return Err("a repeated scrypt parameter".into());
        }
    }
    let [Some(ln), Some(r), Some(p)] = values else {
        return Err("scrypt parameters need ln, r and p".into());
    };
    if ln >= 63 {
        return Err(format!("scrypt with ln={ln}"));
    }
    let salt = kdf::ab64(salt).map_err(|e| format!("the salt is {e}"))?;
    let hash = kdf::ab64(hash).map_err(|e| format!("the hash is {e}"))?;
    kdf::scrypt_matches(password, &salt, 1 << ln, r, p, &hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_strings_are_refused() {
        assert!(pbkdf2(Prf::Sha256, b"x", "$pbkdf2-sha256$29000$c2FsdA").is_err());
        assert!(pbkdf2(Prf::Sha256, b"x", "$pbkdf2-sha256$29000$c2FsdA$AAAA").is_err());
        assert!(scrypt(b"x", "$scrypt$ln=16,r=8$c2FsdA$AAAA").is_err());
        assert!(scrypt(b"x", "$scrypt$ln=70,r=8,p=1$c2FsdA$AAAA").is_err());
        assert!(scrypt(b"x", "$scrypt$ln=21,r=8,p=1$c2FsdA$AAAA").is_err());
        assert!(scrypt(b"x", "$scrypt$ln=10,r=8,p=1,x=1$c2FsdA$AAAA").is_err());
    }
}
