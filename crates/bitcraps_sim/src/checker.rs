//! Safety checks run on every decision and every piece of evidence: agreement, validity,
//! certificates, and evidence that names only Byzantine participants.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use bitcraps_consensus::{
    codec, CommitCertificate, Evidence, Height, ParticipantSet, PeerId, SignatureCache, TableId,
    Value, ValueId,
};
use sha2::{Digest, Sha256};

use crate::app::is_valid_value;

/// The safety checker of one run.
#[derive(Debug)]
pub struct Checker {
    table: TableId,
    honest: BTreeSet<PeerId>,
    accusable: BTreeSet<PeerId>,
    decided: BTreeMap<Height, (ValueId, usize)>,
    verified_certificates: HashSet<[u8; 32]>,
    verified_evidence: HashSet<[u8; 32]>,
    /// Every violation found, in order.
    pub violations: Vec<String>,
    /// Evidence items reported by honest nodes (verified).
    pub evidence: u64,
    /// Require decided values to be the plain simulated application's valid values (an
    /// application with its own validity, such as `--craps`, checks its decisions itself).
    pub check_plain_values: bool,
}

impl Checker {
    /// A checker for a table whose honest keys are `honest` and whose Byzantine (or twinned)
    /// keys, the only ones evidence may name, are `accusable`.
    pub fn new(table: TableId, honest: BTreeSet<PeerId>, accusable: BTreeSet<PeerId>) -> Checker {
        Checker {
            table,
            honest,
            accusable,
            decided: BTreeMap::new(),
            verified_certificates: HashSet::new(),
            verified_evidence: HashSet::new(),
            violations: Vec::new(),
            evidence: 0,
            check_plain_values: true,
        }
    }

    /// True if `key` belongs to an honest participant.
    pub fn is_honest(&self, key: &PeerId) -> bool {
        self.honest.contains(key)
    }

    /// Checks a decision of an honest instance.
    pub fn on_decided(
        &mut self,
        instance: usize,
        height: Height,
        value: &Value,
        certificate: &CommitCertificate,
        participants: &ParticipantSet,
        signatures: &mut SignatureCache,
    ) {
        // Agreement.
        match self.decided.get(&height) {
            Some((id, other)) if *id != value.id() => self.violations.push(format!(
                "agreement: instance {instance} decided {} at {height}, instance {other} decided {id}",
                value.id()
            )),
            Some(_) => {}
            None => {
                self.decided.insert(height, (value.id(), instance));
            }
        }
        // Validity.
        if self.check_plain_values && !is_valid_value(height, value) {
            self.violations.push(format!(
                "validity: instance {instance} decided an invalid value {} at {height}",
                value.id()
            ));
        }
        // Certificate.
        if certificate.height != height || certificate.value_id != value.id() {
            self.violations.push(format!(
                "certificate: instance {instance} decided {} at {height} with a certificate for {} at {}",
                value.id(),
                certificate.value_id,
                certificate.height
            ));
            return;
        }
        let digest = digest_of(certificate);
        if !digest.is_some_and(|d| self.verified_certificates.contains(&d)) {
            match certificate.verify_cached(&self.table, participants, Some(signatures)) {
                Ok(()) => {
                    if let Some(d) = digest {
                        self.verified_certificates.insert(d);
                    }
                }
                Err(e) => self.violations.push(format!(
                    "certificate: instance {instance} decided {height} with a certificate that fails: {e}"
                )),
            }
        }
    }

    /// Checks evidence reported by an honest instance.
    pub fn on_evidence(
        &mut self,
        instance: usize,
        evidence: &Evidence,
        participants: &ParticipantSet,
    ) {
        let digest = digest_of(evidence);
        if digest.is_some_and(|d| self.verified_evidence.contains(&d)) {
            self.evidence += 1;
            return;
        }
        match evidence.verify(&self.table, participants) {
            Ok(offender) if self.accusable.contains(&offender) => {
                if let Some(d) = digest {
                    self.verified_evidence.insert(d);
                }
                self.evidence += 1;
            }
            Ok(offender) => self.violations.push(format!(
                "evidence: instance {instance} holds valid {} evidence against honest {offender}",
                evidence.kind_name()
            )),
            Err(e) => self.violations.push(format!(
                "evidence: instance {instance} reported evidence that does not verify: {e}"
            )),
        }
    }
}

/// SHA-256 of an item's encoding; `None` (never cached, checked every time) if unencodable.
fn digest_of<T: serde::Serialize>(item: &T) -> Option<[u8; 32]> {
    codec::encode(item)
        .ok()
        .map(|bytes| Sha256::digest(&bytes).into())
}
