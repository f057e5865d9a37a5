//! Identities and signatures: a participant is its ed25519 public key.

use std::fmt;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::error::KeyError;
use crate::types::short_hex;

pub use ed25519_dalek::Signature;

/// A participant's identity: its ed25519 public key bytes.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PeerId(pub [u8; 32]);

impl PeerId {
    /// The raw public key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses the public key, refusing malformed points and weak (small-order) keys.
    pub fn verifying_key(&self) -> Result<VerifyingKey, KeyError> {
        let key = VerifyingKey::from_bytes(&self.0).map_err(|_| KeyError::Malformed(*self))?;
        if key.is_weak() {
            return Err(KeyError::Weak(*self));
        }
        Ok(key)
    }
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerId({})", short_hex(&self.0))
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&short_hex(&self.0))
    }
}

/// A participant's secret signing key together with its public identity.
#[derive(Clone)]
pub struct Keypair {
    signing: SigningKey,
    peer: PeerId,
}

impl Keypair {
    /// Builds a keypair from a 32-byte secret seed (draw it from a cryptographically secure
    /// source such as the OS; tests and the simulator use a seeded ChaCha RNG).
    pub fn from_seed(seed: [u8; 32]) -> Keypair {
        let signing = SigningKey::from_bytes(&seed);
        let peer = PeerId(signing.verifying_key().to_bytes());
        Keypair { signing, peer }
    }

    /// The secret seed (to persist an identity).
    pub fn seed(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    /// The public identity.
    pub fn peer_id(&self) -> PeerId {
        self.peer
    }

    /// Signs raw bytes. Callers sign domain-separated bytes only (see [`crate::message`]).
    pub fn sign(&self, bytes: &[u8]) -> Signature {
        self.signing.sign(bytes)
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keypair({})", self.peer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_key_is_refused() {
        // The identity point (small order) encoded as a public key.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(matches!(
            PeerId(identity).verifying_key(),
            Err(KeyError::Weak(_))
        ));
    }

    #[test]
    fn keypair_round_trips_its_seed() {
        let k = Keypair::from_seed([7; 32]);
        assert_eq!(Keypair::from_seed(k.seed()).peer_id(), k.peer_id());
        assert!(k.peer_id().verifying_key().is_ok());
    }
}
