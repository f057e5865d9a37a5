//! Safety checks run on every decision and every piece of evidence: agreement, validity,
//! certificates against the set of their own height, and evidence that names only Byzantine
//! participants.
//!
//! The checker keeps its own [`SetSchedule`], fed with the first honest decision of each height
//! (the agreed chain, since agreement is checked too): the set a certificate must prove a
//! decision against is the one the decided chain implies for that height, whatever set the
//! deciding instance's host declared. When the application seats the players (`--craps`:
//! [`Checker::game_sets`]), that set is the one the decided game state names, and two more
//! checks hold every decision to it: the deciding engine used exactly that set at that height
//! (`set:`), and its certificate counts no key outside its tenure — a player who left, was
//! unseated or is not admitted yet (`tenure:`).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use bitcraps_consensus::{
    codec, CommitCertificate, Evidence, Height, ParticipantSet, PeerId, SignatureCache, TableId,
    Value, ValueId,
};
use sha2::{Digest, Sha256};

use crate::app::is_valid_value;
use crate::application::NextSeats;
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
    /// Heights at which a checked engine's set differed from the one before it (the engines'
    /// own sets changed).
    pub engine_set_changes: u64,
    /// Votes signed by keys outside their tenure (departed players that linger; `--craps`),
    /// all of which honest nodes must refuse.
    pub ghost_votes: u64,
    /// Runs in which the game's decided seats left more faulty keys seated than the set
    /// tolerates (f of its n; e.g. an honest node's withholding player unseated while f
    /// Byzantine players sit): liveness is not required of them.
    pub runs_beyond_f: u64,
}

impl ChurnReport {
    /// Adds another run's (or swarm's) counts.
    pub fn add(&mut self, other: &ChurnReport) {
        self.joins += other.joins;
        self.leaves += other.leaves;
        self.unseats += other.unseats;
        self.newcomer_heights += other.newcomer_heights;
        self.runs_with_churn += other.runs_with_churn;
        self.engine_set_changes += other.engine_set_changes;
        self.ghost_votes += other.ghost_votes;
        self.runs_beyond_f += other.runs_beyond_f;
    }
}

/// One decision of a checked instance, as the checker sees it.
#[derive(Debug)]
pub struct Decided<'a> {
    /// The deciding instance.
    pub instance: usize,
    /// The height decided.
    pub height: Height,
    /// The value decided.
    pub value: &'a Value,
    /// Its certificate.
    pub certificate: &'a CommitCertificate,
    /// The set of `height + 2` that the instance's decided state gives.
    pub next: &'a NextSeats,
    /// The set the instance's engine used at `height`.
    pub engine_set: Option<&'a ParticipantSet>,
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
    /// The application seats the players (`--craps`): the agreed sets come from its decided
    /// states, and every engine's set and every certificate's signers are held to them.
    pub game_sets: bool,
    /// Votes signed outside their signer's tenure, counted by the hosts that sent them.
    pub ghost_votes: u64,
    /// Heights at which some checked engine's set changed from the height before.
    engine_set_changes: BTreeSet<Height>,
    /// The first height whose agreed set holds more faulty keys than it tolerates.
    pub beyond_f: Option<Height>,
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
            game_sets: false,
            ghost_votes: 0,
            engine_set_changes: BTreeSet::new(),
            beyond_f: None,
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
        report.engine_set_changes = self.engine_set_changes.len() as u64;
        report.ghost_votes = self.ghost_votes;
        report.runs_beyond_f = u64::from(self.beyond_f.is_some());
        report
    }

    /// Checks a decision of an honest instance; `sets` builds the participant sets.
    pub fn on_decided(
        &mut self,
        decided: &Decided<'_>,
        sets: &mut SetInterner,
        signatures: &mut SignatureCache,
    ) {
        let Decided {
            instance,
            height,
            value,
            certificate,
            ..
        } = *decided;
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
                let applied = match decided.next {
                    NextSeats::Rules => self.schedule.on_decided(height, value).map(|_| ()),
                    NextSeats::Seated(seats, changes) => self
                        .schedule
                        .push_decided(height, *seats, changes)
                        .map(|_| ()),
                    NextSeats::Ended => Ok(()),
                };
                if let Err(e) = applied {
                    self.violations
                        .push(format!("schedule: instance {instance} at {height}: {e}"));
                }
                self.note_fault_tolerance(Height(height.0 + 2), sets);
            }
        }
        if self.game_sets {
            self.check_sets(decided, sets);
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

    /// Notes the first height whose agreed set seats more faulty (Byzantine or twinned) keys
    /// than it tolerates: the churn rules never do that, the game's penalties may.
    fn note_fault_tolerance(&mut self, height: Height, sets: &mut SetInterner) {
        if self.beyond_f.is_some() {
            return;
        }
        let Some(Ok((_, set))) = self.schedule.at(height).map(|s| sets.get(s)) else {
            return;
        };
        let faulty = set
            .ids()
            .iter()
            .filter(|k| self.accusable.contains(k))
            .count();
        if faulty > set.len().saturating_sub(1) / 3 {
            self.beyond_f = Some(height);
        }
    }

    /// The game's sets: the deciding engine used the decided chain's set of `height`, and the
    /// certificate counts only keys seated at that height (a departed key's precommit, or a
    /// newcomer's before its tenure, counts for nothing).
    fn check_sets(&mut self, decided: &Decided<'_>, sets: &mut SetInterner) {
        let (instance, height) = (decided.instance, decided.height);
        let Some(Ok((_, agreed))) = self.schedule.at(height).map(|s| sets.get(s)) else {
            // Reported with the certificate below.
            return;
        };
        match decided.engine_set {
            Some(used) if used.ids() == agreed.ids() => {
                let before = height
                    .0
                    .checked_sub(1)
                    .and_then(|h| self.schedule.at(Height(h)));
                if before.is_some_and(|b| Some(b.seated) != self.schedule.at(height).map(|s| s.seated)) {
                    // The engine's own set changed at this height, as the game says.
                    self.engine_set_changes.insert(height);
                }
            }
            Some(used) => self.violations.push(format!(
                "set: instance {instance} decided {height} with a set of {} keys that is not the decided game's set of {height} ({} keys, {} in common)",
                used.len(),
                agreed.len(),
                used.ids().iter().filter(|k| agreed.key(k).is_some()).count()
            )),
            None => self.violations.push(format!(
                "set: instance {instance} decided {height} with no set declared for it"
            )),
        }
        for signer in decided.certificate.signers() {
            if agreed.key(&signer).is_none() {
                self.violations.push(format!(
                    "tenure: instance {instance} decided {height} with a certificate that counts {signer}, not seated at {height}"
                ));
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
#[path = "checker_tests.rs"]
mod tests;
