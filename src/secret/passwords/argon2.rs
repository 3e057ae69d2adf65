//! Argon2 PHC strings: `$argon2id$v=19$m=..,t=..,p=..$<salt>$<hash>` (argon2id, argon2i,
//! argon2d; v=16 or v=19, or no `v=` at all, which libargon2 reads as 16: P-H-C/phc-winner-argon2
//! src/encoding.c, decode_string), as libargon2, argon2-cffi, PHP's `password_hash` and
//! RustCrypto write them; salt and hash in unpadded standard base64. Parsed here rather than by
//! the `phc` crate, whose salt (48 bytes) and output (64 bytes) limits are narrower than
//! libargon2's; computed by the `argon2` crate.

use argon2::{Algorithm, Version};

use super::kdf::{self, Argon2Params, Verdict};

pub fn matches(password: &[u8], phc: &str) -> Verdict {
    let mut fields = phc.split('$');
    if fields.next() != Some("") {
        return Err("not a PHC string".into());
    }
    let algorithm = match fields.next() {
        Some("argon2id") => Algorithm::Argon2id,
        Some("argon2i") => Algorithm::Argon2i,
        Some("argon2d") => Algorithm::Argon2d,
        _ => return Err("not an Argon2 PHC string".into()),
    };
    let rest: Vec<&str> = fields.collect();
    let (version, params, salt, hash) = match rest.as_slice() {
        [v, params, salt, hash] => (version(v)?, *params, *salt, *hash),
        [params, salt, hash] if !params.starts_with("v=") => {
            (Version::V0x10, *params, *salt, *hash)
        }
        _ => return Err("an Argon2 PHC string needs parameters, a salt and a hash".into()),
    };
    let (m, t, p) = costs(params)?;
    let salt = kdf::base64(salt).map_err(|e| format!("the salt is {e}"))?;
    let hash = kdf::base64(hash).map_err(|e| format!("the hash is {e}"))?;
    let params = Argon2Params {
        algorithm,
        version,
        m,
        t,
        p,
    };
    kdf::argon2_matches(&params, password, &salt, &hash)
}

fn version(field: &str) -> Result<Version, String> {
    match field {
        "v=16" => Ok(Version::V0x10),
        "v=19" => Ok(Version::V0x13),
        _ => Err("an Argon2 version other than 16 or 19".into()),
    }
}

/// `m=..,t=..,p=..` in any order, each once, nothing else (no `keyid` or `data`).
fn costs(params: &str) -> Result<(u32, u32, u32), String> {
    let (mut m, mut t, mut p) = (None, None, None);
    for param in params.split(',') {
        let (name, value) = param
            .split_once('=')
            .ok_or_else(|| "malformed Argon2 parameters".to_string())?;
        let slot = match name {
            "m" => &mut m,
            "t" => &mut t,
            "p" => &mut p,
            _ => return Err("an Argon2 parameter other than m, t and p".into()),
        };
        let n = kdf::number(value, "Argon2 parameter")?;
        let n = u32::try_from(n).map_err(|_| format!("Argon2 {name}={n} is out of range"))?;
        if slot.replace(n).is_some() {
            return Err("a repeated Argon2 parameter".into());
        }
    }
    match (m, t, p) {
        (Some(m), Some(t), Some(p)) => Ok((m, t, p)),
        _ => Err("Argon2 parameters need m, t and p".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_and_costly_strings_are_refused() {
        let ok = "$argon2id$v=19$m=4096,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert_eq!(matches(b"x", ok), Ok(false));
        for bad in [
            "$argon2id$v=19$m=1048577,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "$argon2id$v=19$m=1048576,t=17,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "$argon2id$v=18$m=4096,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "$argon2id$v=19$m=4096,t=2,p=1,keyid=AA$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "$argon2id$v=19$m=4096,t=2$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "$argon2id$v=19$m=4096,t=2,p=1,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "$argon2id$v=19$m=99999999999,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "$argon2id$v=19$m=4096,t=2,p=1$c29tZXNhbHRzb21lc2FsdA",
            "$argon2x$v=19$m=4096,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$AAAA",
            "$argon2id$v=19$m=4096,t=2,p=1$!!!$AAAA",
        ] {
            assert!(matches(b"x", bad).is_err(), "{bad}");
        }
    }
}
