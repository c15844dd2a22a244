//! Random secrets (session cookies, API tokens, PKCE verifiers, OAuth
//! `state` and `nonce`) and the SHA-256 under which they are stored.

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// `bytes` random bytes, base64url without padding.
pub fn random(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    SystemRandom::new().fill(&mut buf).expect("the system's random number generator works");
    URL_SAFE_NO_PAD.encode(buf)
}

/// Hex SHA-256 of a secret: what the database keeps.
pub fn hash(secret: &str) -> String {
    digest(&SHA256, secret.as_bytes()).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The PKCE `code_challenge` (S256) of a verifier.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()).as_ref())
}

/// `sha256=<hex HMAC-SHA256 of body under secret>`: a webhook's signature as
/// GitHub's `X-Hub-Signature-256` (and Gitea's, Forgejo's) writes it.
pub fn webhook_signature(secret: &[u8], body: &[u8]) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, body);
    format!("sha256={}", tag.as_ref().iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// Whether `signature` is the body's under `secret` (compared in constant time).
pub fn hmac_sha256_signed(secret: &[u8], body: &[u8], signature: &str) -> bool {
    same(&webhook_signature(secret, body), &signature.trim().to_ascii_lowercase())
}

/// Compares two strings in time independent of where they differ.
pub fn same(a: &str, b: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn pkce_challenge_and_hash() {
        // Expected values computed with Python's hashlib + base64.urlsafe_b64encode.
        assert_eq!(super::pkce_challenge("dBjftJeZ4CVP-mB92K1uhbF1rrnxITKDSmbDfw4RAXYR"), "5jh3QpFWJC8n43Z-Jhs3HdhKBvjsrvQSDnQ9iAYNp2A");
        assert_eq!(super::hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_ne!(super::random(32), super::random(32));
        assert!(super::same("x", "x") && !super::same("x", "y"));
    }

    #[test]
    fn webhook_signatures() {
        // GitHub's documented example: secret "It's a Secret to Everybody", payload "Hello, World!".
        let sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(super::hmac_sha256_signed(b"It's a Secret to Everybody", b"Hello, World!", sig));
        assert!(!super::hmac_sha256_signed(b"It's a Secret to Everybody", b"Hello, World?", sig));
        assert!(!super::hmac_sha256_signed(b"another secret", b"Hello, World!", sig));
        assert!(!super::hmac_sha256_signed(b"It's a Secret to Everybody", b"Hello, World!", &sig.replace("sha256=", "sha1=")));
        assert!(!super::hmac_sha256_signed(b"x", b"y", "sha256=zz"));
        assert_eq!(super::webhook_signature(b"It's a Secret to Everybody", b"Hello, World!"), sig);
    }
}
