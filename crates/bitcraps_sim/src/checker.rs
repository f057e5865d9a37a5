//! Safety checks run on every decision and every piece of evidence: agreement, validity,
//! certificates against the set of their own height, and evidence that names only Byzantine
//! participants.
//!
//! The checker keeps its own [`SetSchedule`], fed with the first honest decision of each height
//! (the agreed chain, since agreement is checked too): the set a certificate must prove a
//! decision against is the one the decided chain implies for that height, whatever set the
//! deciding instance's host declared.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use bitcraps_consensus::{
    codec, CommitCertificate, Evidence, Height, PeerId, SignatureCache, TableId, Value, ValueId,
};
use sha2::{Digest, Sha256};

use crate::app::is_valid_value;
use crate::membership::{Change, SetInterner, SetSchedule};

/// What the churn did in one run, as the checker's schedule (the agreed chain) says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChurnReport {
    /// Keys that took a seat.
    pub joins: u64,
    /// Members that gave their seat up.
    pub leaves: u64,
    /// Members removed for good.
    pub unseats: u64,
    /// Heights whose certificate (of an honest decision) carries the precommit of a key that
    /// was not seated at genesis: newcomers took part.
    pub newcomer_heights: u64,
    /// Runs with at least one change (1 for a run; summed over a swarm).
    pub runs_with_churn: u64,
}

impl ChurnReport {
    /// Adds another run's (or swarm's) counts.
    pub fn add(&mut self, other: &ChurnReport) {
        self.joins += other.joins;
        self.leaves += other.leaves;
        self.unseats += other.unseats;
        self.newcomer_heights += other.newcomer_heights;
        self.runs_with_churn += other.runs_with_churn;
    }
}

/// The safety checker of one run.
#[derive(Debug)]
pub struct Checker {
    table: TableId,
    honest: BTreeSet<PeerId>,
    accusable: BTreeSet<PeerId>,
    decided: BTreeMap<Height, (ValueId, usize)>,
    schedule: SetSchedule,
    genesis: BTreeSet<PeerId>,
    newcomer_heights: BTreeSet<Height>,
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
    /// keys, the only ones evidence may name, are `accusable`; `schedule` computes the sets
    /// from the genesis set `genesis` on.
    pub fn new(
        table: TableId,
        honest: BTreeSet<PeerId>,
        accusable: BTreeSet<PeerId>,
        schedule: SetSchedule,
        genesis: BTreeSet<PeerId>,
    ) -> Checker {
        Checker {
            table,
            honest,
            accusable,
            decided: BTreeMap::new(),
            schedule,
            genesis,
            newcomer_heights: BTreeSet::new(),
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

    /// What the churn did so far.
    pub fn churn(&self) -> ChurnReport {
        let mut report = ChurnReport {
            newcomer_heights: self.newcomer_heights.len() as u64,
            ..ChurnReport::default()
        };
        for (_, change) in self.schedule.changes() {
            match change {
                Change::Join(_) => report.joins += 1,
                Change::Leave(_) => report.leaves += 1,
                Change::Unseat(_) => report.unseats += 1,
            }
        }
        report.runs_with_churn = u64::from(!self.schedule.changes().is_empty());
        report
    }

    /// Checks a decision of an honest instance; `sets` builds the participant sets.
    pub fn on_decided(
        &mut self,
        instance: usize,
        height: Height,
        value: &Value,
        certificate: &CommitCertificate,
        sets: &mut SetInterner,
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
                // The agreed chain: this decision fixes the set of height + 2.
                if let Err(e) = self.schedule.on_decided(height, value) {
                    self.violations
                        .push(format!("schedule: instance {instance} at {height}: {e}"));
                }
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
        if !self.newcomer_heights.contains(&height)
            && certificate.signers().any(|s| !self.genesis.contains(&s))
        {
            self.newcomer_heights.insert(height);
        }
        let digest = digest_of(certificate);
        if !digest.is_some_and(|d| self.verified_certificates.contains(&d)) {
            // `CommitCertificate::verify_at` with the agreed chain's set of the certificate's
            // own height, through the run's signature cache.
            let set = match self.schedule.at(certificate.height).map(|s| sets.get(s)) {
                Some(Ok((_, set))) => set,
                Some(Err(e)) => {
                    self.violations
                        .push(format!("schedule: set of {height}: {e}"));
                    return;
                }
                None => {
                    self.violations.push(format!(
                        "certificate: instance {instance} decided {height} before the set of that height follows from the decided chain"
                    ));
                    return;
                }
            };
            match certificate.verify_cached(&self.table, &set, Some(signatures)) {
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

    /// Checks evidence reported by an honest instance against the set of its height.
    pub fn on_evidence(&mut self, instance: usize, evidence: &Evidence, sets: &mut SetInterner) {
        let digest = digest_of(evidence);
        if digest.is_some_and(|d| self.verified_evidence.contains(&d)) {
            self.evidence += 1;
            return;
        }
        let height = evidence.height();
        let Some(Ok((_, set))) = self.schedule.at(height).map(|s| sets.get(s)) else {
            self.violations.push(format!(
                "evidence: instance {instance} reported evidence of {height}, whose set does not follow from the decided chain"
            ));
            return;
        };
        match evidence.verify(&self.table, &set) {
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
