//! Sealing backed-up Secrets at rest: AES-256-GCM with the key from the
//! configuration (`backup_key`, base64 of 32 bytes), a random nonce per value.
//! Sealed text is `v1:` + base64(nonce ‖ ciphertext ‖ tag).

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::AdapterError;

/// A parsed backup key.
pub struct Key(LessSafeKey);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(redacted)")
    }
}

impl Key {
    pub fn parse(b64: &str) -> Result<Key, String> {
        let bytes = STANDARD.decode(b64.trim()).map_err(|_| "is not base64 (make one with `openssl rand -base64 32`)".to_string())?;
        let unbound = UnboundKey::new(&AES_256_GCM, &bytes)
            .map_err(|_| format!("must be 32 bytes, base64-encoded (got {} bytes)", bytes.len()))?;
        Ok(Key(LessSafeKey::new(unbound)))
    }

    pub fn seal(&self, plain: &[u8]) -> Result<String, AdapterError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).map_err(|_| AdapterError::Corrupt("no randomness for a nonce".into()))?;
        let mut data = plain.to_vec();
        self.0
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut data)
            .map_err(|_| AdapterError::Corrupt("sealing failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend(data);
        Ok(format!("v1:{}", STANDARD.encode(out)))
    }

    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, AdapterError> {
        let bad = || AdapterError::Corrupt("a sealed backup value cannot be opened with the configured backup_key".into());
        let raw = STANDARD.decode(sealed.strip_prefix("v1:").ok_or_else(bad)?).map_err(|_| bad())?;
        if raw.len() < NONCE_LEN {
            return Err(bad());
        }
        let (nonce, rest) = raw.split_at(NONCE_LEN);
        let mut data = rest.to_vec();
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| bad())?;
        let plain = self.0.open_in_place(nonce, Aad::empty(), &mut data).map_err(|_| bad())?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_only_with_the_same_key() {
        let k = Key::parse(&STANDARD.encode([7u8; 32])).unwrap();
        let sealed = k.seal(b"password: hunter2").unwrap();
        assert!(!sealed.contains("hunter2"));
        assert_eq!(k.open(&sealed).unwrap(), b"password: hunter2");
        let other = Key::parse(&STANDARD.encode([8u8; 32])).unwrap();
        assert!(other.open(&sealed).is_err());
        assert!(Key::parse("c2hvcnQ=").unwrap_err().contains("32 bytes"));
    }
}
