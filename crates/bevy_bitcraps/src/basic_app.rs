//! A minimal table application: a hash chain of blocks carrying opaque payloads and evidence,
//! with a penalty count per offender. It exercises every path of the plugin (validity, proposal,
//! application, state hashes, penalties) without the craps rules.

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bitcraps_consensus::{
    codec, CommitCertificate, Evidence, Height, ParticipantSet, PeerId, Round, TableId, Value,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::application::TableApplication;
use crate::envelope::StateHash;
use crate::error::ApplyError;

/// Largest payload a block may carry, bytes.
pub const MAX_BASIC_PAYLOAD: usize = 64 * 1024;
/// Most evidence items per block.
pub const MAX_BASIC_EVIDENCE: usize = 16;

/// The value [`BasicApp`] agrees on at each height.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BasicBlock {
    /// The height this block is for.
    pub height: Height,
    /// The state hash the block builds on.
    pub prev_state: StateHash,
    /// Verified misbehaviour evidence to punish.
    pub evidence: Vec<Evidence>,
    /// Opaque application payloads.
    pub payload: Vec<Vec<u8>>,
}

/// Identifies one offence, so that it is punished once however often its evidence is included.
type Offence = (PeerId, Height, Round, &'static str);

fn offence(evidence: &Evidence) -> Offence {
    (
        evidence.offender(),
        evidence.height(),
        evidence.round(),
        evidence.kind_name(),
    )
}

/// The read-only snapshot [`BasicApp`] publishes in [`crate::TableView`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BasicSnapshot {
    /// Last applied height.
    pub height: Height,
    /// Penalties per offender.
    pub penalties: BTreeMap<PeerId, u32>,
    /// Payloads applied so far.
    pub payloads: u64,
}

/// A minimal deterministic application (see the module documentation).
#[derive(Debug)]
pub struct BasicApp {
    table: TableId,
    participants: Arc<ParticipantSet>,
    height: Height,
    state: StateHash,
    penalties: BTreeMap<PeerId, u32>,
    punished: BTreeSet<Offence>,
    payloads: u64,
    pending_evidence: Vec<Evidence>,
    pending_payload: Vec<Vec<u8>>,
}

impl BasicApp {
    /// A fresh application for a table.
    pub fn new(table: TableId, participants: Arc<ParticipantSet>) -> BasicApp {
        let mut h = Sha256::new();
        h.update(b"bitcraps/basic-genesis/v1");
        h.update(table.0);
        for p in participants.ids() {
            h.update(p.0);
        }
        BasicApp {
            table,
            participants,
            height: Height(0),
            state: h.finalize().into(),
            penalties: BTreeMap::new(),
            punished: BTreeSet::new(),
            payloads: 0,
            pending_evidence: Vec::new(),
            pending_payload: Vec::new(),
        }
    }

    /// Queues a payload for the next block this node proposes.
    pub fn submit(&mut self, payload: Vec<u8>) {
        self.pending_payload.push(payload);
    }

    /// The last applied height.
    pub fn height(&self) -> Height {
        self.height
    }

    /// Penalties applied to each offender.
    pub fn penalties(&self) -> &BTreeMap<PeerId, u32> {
        &self.penalties
    }

    /// Payloads applied so far.
    pub fn payloads(&self) -> u64 {
        self.payloads
    }

    /// Test hook: damages the local state, as a bug or a tampered save file would.
    pub fn corrupt_state(&mut self) {
        self.state[0] ^= 0xFF;
    }

    fn decode(value: &Value) -> Option<BasicBlock> {
        codec::decode(value.bytes(), codec::MAX_MESSAGE_BYTES).ok()
    }
}

impl TableApplication for BasicApp {
    fn is_valid(&self, height: Height, value: &Value) -> bool {
        let Some(block) = Self::decode(value) else {
            return false;
        };
        block.height == height
            && block.prev_state == self.state
            && block.evidence.len() <= MAX_BASIC_EVIDENCE
            && block.payload.iter().map(Vec::len).sum::<usize>() <= MAX_BASIC_PAYLOAD
            && block
                .evidence
                .iter()
                .all(|e| e.verify(&self.table, &self.participants).is_ok())
    }

    fn has_pending(&self) -> bool {
        !self.pending_evidence.is_empty() || !self.pending_payload.is_empty()
    }

    fn propose(&mut self, height: Height, _round: Round) -> Option<Value> {
        let mut size = 0;
        let payload: Vec<Vec<u8>> = self
            .pending_payload
            .iter()
            .take_while(|p| {
                size += p.len();
                size <= MAX_BASIC_PAYLOAD
            })
            .cloned()
            .collect();
        let block = BasicBlock {
            height,
            prev_state: self.state,
            evidence: self
                .pending_evidence
                .iter()
                .take(MAX_BASIC_EVIDENCE)
                .cloned()
                .collect(),
            payload,
        };
        codec::encode(&block).ok().map(Value::new)
    }

    fn apply(
        &mut self,
        height: Height,
        value: &Value,
        _certificate: &CommitCertificate,
    ) -> Result<StateHash, ApplyError> {
        let block = Self::decode(value).ok_or_else(|| ApplyError {
            height: height.0,
            reason: "the decided value is not a basic block".to_string(),
        })?;
        for evidence in &block.evidence {
            if self.punished.insert(offence(evidence)) {
                *self.penalties.entry(evidence.offender()).or_insert(0) += 1;
            }
        }
        self.pending_evidence
            .retain(|e| !self.punished.contains(&offence(e)));
        self.pending_payload.retain(|p| !block.payload.contains(p));
        self.payloads += block.payload.len() as u64;
        let mut h = Sha256::new();
        h.update(b"bitcraps/basic-state/v1");
        h.update(self.state);
        h.update(height.0.to_be_bytes());
        h.update(value.id().0);
        for (peer, count) in &self.penalties {
            h.update(peer.0);
            h.update(count.to_be_bytes());
        }
        self.state = h.finalize().into();
        self.height = height;
        Ok(self.state)
    }

    fn state_hash(&self) -> StateHash {
        self.state
    }

    fn on_evidence(&mut self, evidence: &Evidence) {
        if !self.punished.contains(&offence(evidence))
            && !self
                .pending_evidence
                .iter()
                .any(|e| offence(e) == offence(evidence))
        {
            self.pending_evidence.push(evidence.clone());
        }
    }

    fn snapshot(&self) -> Option<Arc<dyn Any + Send + Sync>> {
        Some(Arc::new(BasicSnapshot {
            height: self.height,
            penalties: self.penalties.clone(),
            payloads: self.payloads,
        }))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
