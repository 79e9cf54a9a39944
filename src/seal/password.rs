//! Secrets a person types (an account's password, a holder code), kept as argon2id PHC strings:
//! slow to test on purpose, so that a copied database does not give them up.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};

/// The argon2id PHC string of `secret`, with a fresh salt; `None` if the system random source fails.
pub fn hash(secret: &str) -> Option<String> {
    let mut salt = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut salt).ok()?;
    let salt = SaltString::encode_b64(&salt).ok()?;
    Some(Argon2::default().hash_password(secret.as_bytes(), &salt).ok()?.to_string())
}

/// Whether `secret` matches the PHC string `stored`; a stored string that does not parse matches
/// nothing.
pub fn matches(secret: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| Argon2::default().verify_password(secret.as_bytes(), &hash).is_ok())
}

/// Spends the time a check of a stored secret costs, when there is none to check: the answer's
/// delay then does not tell which names or ID numbers are known.
pub fn spend_a_check(secret: &str) {
    static DECOY: OnceLock<Option<String>> = OnceLock::new();
    if let Some(decoy) = DECOY.get_or_init(|| hash("decoy secret of nobody")) {
        matches(secret, decoy);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_matches_its_own_hash_only() {
        let stored = hash("correct horse battery").unwrap_or_default();
        assert!(stored.starts_with("$argon2id$"));
        assert!(matches("correct horse battery", &stored));
        assert!(!matches("correct horse batterz", &stored));
        assert!(!matches("correct horse battery", "not a PHC string"));
    }
}
