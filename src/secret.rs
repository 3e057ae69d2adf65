//! Secrets from the OS CSPRNG: TOTP keys (20 bytes, RFC 4648 base32, upper case, unpadded).

use anyhow::{Context, Result};

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
