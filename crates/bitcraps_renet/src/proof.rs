//! [`ChallengeProof`]: a player's proof that it holds a key, for one connection: its signature
//! over the relay's challenge, a domain tag, the terms it joins under and the renet client id of
//! the connection (so it proves nothing on any other connection or under other terms). The
//! seated relay's [`crate::SeatProof`] and the lobby's [`crate::lobby::LobbyProof`] are this
//! proof over their own terms.

use bevy_bitcraps::bitcraps_consensus::{Keypair, PeerId, Signature};
use serde::{Deserialize, Serialize};

/// Terms a [`ChallengeProof`] binds: its domain tag and the bytes of the terms it signs.
pub trait ProofTerms {
    /// Domain tag of the signature (one per kind of proof).
    const DOMAIN: &'static [u8];
    /// Appends the signed encoding of the terms.
    fn write_signed(&self, out: &mut Vec<u8>);
}

/// A player's proof that it holds `peer`'s key, for one connection, under `terms`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeProof<T> {
    /// The key (the seat claimed, or the identity joining a lobby).
    pub peer: PeerId,
    /// The terms the player signed.
    pub terms: T,
    /// Signature over [`ChallengeProof::signing_bytes`].
    pub signature: Signature,
}

impl<T: ProofTerms> ChallengeProof<T> {
    /// The exact bytes signed: domain ‖ challenge ‖ terms ‖ client id (BE) ‖ key.
    pub fn signing_bytes(
        challenge: &[u8; 32],
        terms: &T,
        client_id: u64,
        peer: &PeerId,
    ) -> Vec<u8> {
        let mut out = Vec::with_capacity(T::DOMAIN.len() + 32 + 80 + 8 + 32);
        out.extend_from_slice(T::DOMAIN);
        out.extend_from_slice(challenge);
        terms.write_signed(&mut out);
        out.extend_from_slice(&client_id.to_be_bytes());
        out.extend_from_slice(&peer.0);
        out
    }

    /// Signs the challenge of connection `client_id` with `key`.
    pub fn sign(key: &Keypair, challenge: &[u8; 32], terms: T, client_id: u64) -> Self {
        let peer = key.peer_id();
        let signature = key.sign(&Self::signing_bytes(challenge, &terms, client_id, &peer));
        ChallengeProof {
            peer,
            terms,
            signature,
        }
    }

    /// True if the signature verifies strictly under the claimed key.
    pub fn verify(&self, challenge: &[u8; 32], client_id: u64) -> bool {
        let Ok(key) = self.peer.verifying_key() else {
            return false;
        };
        let bytes = Self::signing_bytes(challenge, &self.terms, client_id, &self.peer);
        key.verify_strict(&bytes, &self.signature).is_ok()
    }
}
