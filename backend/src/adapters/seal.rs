//! Sealing backed-up Secrets at rest: AES-256-GCM with the configured
//! `backup_keys` (each base64 of 32 bytes), a random nonce per value, and
//! associated data naming what is sealed (the environment and the Secret), so
//! a sealed value cannot be moved to another environment or object.
//!
//! Rotation: the first key seals, every key opens. Sealed text is
//! `v2:<key id>:` + base64(nonce ‖ ciphertext ‖ tag), the key id being the
//! first 8 hex digits of the key's SHA-256. `v1:` values (one key, no
//! associated data) are still opened, with any key.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::AdapterError;

/// One parsed key.
pub struct Key {
    id: String,
    key: LessSafeKey,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({}, redacted)", self.id)
    }
}

impl Key {
    pub fn parse(b64: &str) -> Result<Key, String> {
        let bytes = STANDARD.decode(b64.trim()).map_err(|_| "is not base64 (make one with `openssl rand -base64 32`)".to_string())?;
        let unbound =
            UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| format!("must be 32 bytes, base64-encoded (got {} bytes)", bytes.len()))?;
        let id = digest(&SHA256, &bytes).as_ref()[..4].iter().map(|b| format!("{b:02x}")).collect();
        Ok(Key { id, key: LessSafeKey::new(unbound) })
    }

    /// The key id written in sealed values.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The configured keys: the first seals, all open.
#[derive(Debug)]
pub struct Keys(Vec<Key>);

fn corrupt(m: &str) -> AdapterError {
    AdapterError::Corrupt(m.to_string())
}

impl Keys {
    /// Parses every key; `None` when the list is empty.
    pub fn parse<'a>(list: impl IntoIterator<Item = &'a str>) -> Result<Option<Keys>, String> {
        let keys = list
            .into_iter()
            .enumerate()
            .map(|(i, k)| Key::parse(k).map_err(|e| format!("backup_keys[{i}] {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((!keys.is_empty()).then_some(Keys(keys)))
    }

    /// Seals `plain` with the first key; `context` (e.g. `dev/secret/repo-x`) must be given again to open it.
    pub fn seal(&self, plain: &[u8], context: &str) -> Result<String, AdapterError> {
        let k = &self.0[0];
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).map_err(|_| corrupt("no randomness for a nonce"))?;
        let mut data = plain.to_vec();
        k.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(context.as_bytes()), &mut data)
            .map_err(|_| corrupt("sealing failed"))?;
        let mut out = nonce.to_vec();
        out.extend(data);
        Ok(format!("v2:{}:{}", k.id, STANDARD.encode(out)))
    }

    /// Opens a sealed value with the key it names (any key for `v1:`).
    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, AdapterError> {
        if let Some(rest) = sealed.strip_prefix("v2:") {
            let (id, body) = rest.split_once(':').ok_or_else(|| corrupt("a sealed backup value is malformed"))?;
            let k = self.0.iter().find(|k| k.id == id).ok_or_else(|| {
                AdapterError::Corrupt(format!(
                    "a sealed backup value needs backup key {id}, which is not among the configured backup_keys ({}): add it back",
                    self.0.iter().map(|k| k.id.as_str()).collect::<Vec<_>>().join(", ")
                ))
            })?;
            return open_with(&k.key, body, context.as_bytes()).ok_or_else(|| {
                AdapterError::Corrupt(format!(
                    "a sealed backup value does not open with key {id} for {context}: altered, or sealed for another object"
                ))
            });
        }
        if let Some(body) = sealed.strip_prefix("v1:") {
            return self
                .0
                .iter()
                .find_map(|k| open_with(&k.key, body, &[]))
                .ok_or_else(|| corrupt("a sealed backup value (v1) opens with none of the configured backup_keys"));
        }
        Err(corrupt("a sealed backup value has an unknown format"))
    }
}

fn open_with(key: &LessSafeKey, b64: &str, aad: &[u8]) -> Option<Vec<u8>> {
    let raw = STANDARD.decode(b64).ok()?;
    if raw.len() < NONCE_LEN {
        return None;
    }
    let (nonce, rest) = raw.split_at(NONCE_LEN);
    let mut data = rest.to_vec();
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    key.open_in_place(nonce, Aad::from(aad), &mut data).ok().map(|p| p.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(bytes: &[u8]) -> Vec<String> {
        bytes.iter().map(|b| STANDARD.encode([*b; 32])).collect()
    }

    #[test]
    fn rotation_first_key_seals_every_key_opens() {
        let old = Keys::parse(keys(&[7]).iter().map(String::as_str)).unwrap().unwrap();
        let sealed_old = old.seal(b"password: hunter2", "dev/secret/repo").unwrap();
        assert!(!sealed_old.contains("hunter2") && sealed_old.starts_with("v2:"));
        let rotated = Keys::parse(keys(&[8, 7]).iter().map(String::as_str)).unwrap().unwrap();
        assert_eq!(rotated.open(&sealed_old, "dev/secret/repo").unwrap(), b"password: hunter2", "the old key still opens");
        let sealed_new = rotated.seal(b"x", "dev/secret/repo").unwrap();
        assert!(sealed_new.starts_with(&format!("v2:{}:", rotated.0[0].id())));
        let err = old.open(&sealed_new, "dev/secret/repo").unwrap_err().to_string();
        assert!(err.contains("not among the configured backup_keys"), "{err}");
        assert!(rotated.open(&sealed_old, "prod/secret/repo").is_err(), "sealed for another environment");
        assert!(Keys::parse(["c2hvcnQ="]).unwrap_err().contains("32 bytes"));
        assert!(Keys::parse([]).unwrap().is_none());
    }

    #[test]
    fn v1_values_still_open() {
        let k = Key::parse(&keys(&[9])[0]).unwrap();
        let mut nonce = [1u8; NONCE_LEN];
        nonce[0] = 2;
        let mut data = b"legacy".to_vec();
        k.key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut data).unwrap();
        let mut raw = nonce.to_vec();
        raw.extend(data);
        let v1 = format!("v1:{}", STANDARD.encode(raw));
        let ks = Keys::parse(keys(&[3, 9]).iter().map(String::as_str)).unwrap().unwrap();
        assert_eq!(ks.open(&v1, "ignored").unwrap(), b"legacy");
    }
}
