//! What the plugin sends over a transport: consensus messages, signed state-hash announcements
//! and opaque application payloads, in one size-limited encoding.

use bitcraps_consensus::{
    codec, DecodeError, EncodeError, Height, Keypair, ParticipantSet, PeerId, Signature, TableId,
    WireMessage,
};
use serde::{Deserialize, Serialize};

/// Domain tag of a state-hash announcement signature.
const STATE_HASH_DOMAIN: &[u8] = b"bitcraps/state-hash/v1";

/// The state hash of a table after a decided height (SHA-256 of the application's canonical
/// state encoding).
pub type StateHash = [u8; 32];

/// One packet of the plugin's protocol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Envelope {
    /// A consensus message (proposal, vote, decision, status).
    Consensus(WireMessage),
    /// "After height h my table state hashes to x": lets peers detect a desync.
    StateHash(SignedStateHash),
    /// An application payload (for example a signed game operation for the proposers' pools).
    /// The application authenticates it itself.
    Application(Vec<u8>),
}

impl Envelope {
    /// Encodes the packet.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        codec::encode(self)
    }

    /// Decodes one packet of at most `limit` bytes.
    pub fn decode(bytes: &[u8], limit: usize) -> Result<Envelope, DecodeError> {
        codec::decode(bytes, limit)
    }
}

/// A participant's signed statement of its state hash after a height.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedStateHash {
    /// The table.
    pub table: TableId,
    /// The decided height.
    pub height: Height,
    /// The state hash after applying it.
    pub hash: StateHash,
    /// Who states it.
    pub signer: PeerId,
    /// Signature over [`SignedStateHash::signing_bytes`].
    pub signature: Signature,
}

impl SignedStateHash {
    fn bytes(table: &TableId, height: Height, hash: &StateHash, signer: &PeerId) -> Vec<u8> {
        let mut out = Vec::with_capacity(STATE_HASH_DOMAIN.len() + 32 + 8 + 32 + 32);
        out.extend_from_slice(STATE_HASH_DOMAIN);
        out.extend_from_slice(&table.0);
        out.extend_from_slice(&height.0.to_be_bytes());
        out.extend_from_slice(hash);
        out.extend_from_slice(&signer.0);
        out
    }

    /// Signs a statement.
    pub fn sign(key: &Keypair, table: TableId, height: Height, hash: StateHash) -> Self {
        let signer = key.peer_id();
        let signature = key.sign(&Self::bytes(&table, height, &hash, &signer));
        SignedStateHash {
            table,
            height,
            hash,
            signer,
            signature,
        }
    }

    /// The exact bytes signed.
    pub fn signing_bytes(&self) -> Vec<u8> {
        Self::bytes(&self.table, self.height, &self.hash, &self.signer)
    }

    /// True if the table matches, the signer is seated and the signature verifies strictly.
    pub fn verify(&self, table: &TableId, participants: &ParticipantSet) -> bool {
        if &self.table != table {
            return false;
        }
        participants.key(&self.signer).is_some_and(|key| {
            key.verify_strict(&self.signing_bytes(), &self.signature)
                .is_ok()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_hash_signature_binds_every_field() {
        let keys: Vec<Keypair> = (1..=4u8).map(|i| Keypair::from_seed([i; 32])).collect();
        let set = ParticipantSet::new(keys.iter().map(Keypair::peer_id)).expect("set");
        let table = TableId::from_name("t");
        let s = SignedStateHash::sign(&keys[0], table, Height(3), [7; 32]);
        assert!(s.verify(&table, &set));
        let mut other = s.clone();
        other.hash = [8; 32];
        assert!(!other.verify(&table, &set));
        let mut other = s.clone();
        other.height = Height(4);
        assert!(!other.verify(&table, &set));
        assert!(!s.verify(&TableId::from_name("u"), &set));
        let bytes = Envelope::StateHash(s.clone()).encode().expect("encodes");
        assert_eq!(
            Envelope::decode(&bytes, 1 << 16).expect("decodes"),
            Envelope::StateHash(s)
        );
        assert!(Envelope::decode(&bytes[..bytes.len() - 1], 1 << 16).is_err());
    }
}
