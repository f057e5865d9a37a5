//! Disputes.
//!
//! **Evidence** ([`GameEvidence`]) proves itself: every node checks it the same way and punishes
//! the offender in the same height (see [`seats`](crate::seats) for the penalty):
//! - a consensus double vote or double proposal, verified against the participant set of every
//!   key that has held a seat at the table (the offender must still be seated, and the offence
//!   signed during its current tenure);
//! - two different operations signed by one player under one nonce;
//! - a signed commitment and a signed reveal of one player for one roll that do not match (a
//!   mismatched reveal inside a block is punished the same way without a dispute).
//!
//! A **claim** ([`Dispute::Claim`](crate::ops::Dispute::Claim)) cannot be checked by a machine. It is opened with a deadline
//! ([`Deadlines::dispute_ms`](crate::Deadlines) of block time); its electorate is the validator
//! set of the height it was opened at (seated players who vote in consensus there, see
//! [`membership`](crate::membership)) except the accused. It is **upheld** once more than 2/3 of the electorate
//! voted yes (the accused is punished), **rejected** once more than 1/3 voted no, and **expires**
//! at the deadline otherwise (the electorate members who did not vote get a missed vote in their
//! [`Health`](crate::Health)). It is **moot** if the accused leaves the table by other means.

use std::collections::{BTreeMap, BTreeSet};

use bitcraps_consensus::{Evidence, ParticipantSet, PeerId};

use crate::apply::{Tx, MAX_OPEN_DISPUTES};
use crate::bets::Seat;
use crate::chips::ChipOverflow;
use crate::dice::check_reveal;
use crate::error::{EvidenceError, OpError};
use crate::events::{Event, PenaltyReason, Verdict};
use crate::membership::VALIDATOR_DELAY;
use crate::ops::{DisputeId, GameEvidence, Operation, RawSignedOp, MAX_STATEMENT_BYTES};
use crate::state::Claim;

impl Tx<'_> {
    pub(crate) fn dispute(
        &mut self,
        peer: PeerId,
        dispute: &crate::ops::Dispute,
    ) -> Result<(), OpError> {
        let seat = self.author_seat(&peer)?;
        match dispute {
            crate::ops::Dispute::Evidence(evidence) => {
                let (offender, reason) = match self.check_evidence(evidence) {
                    Ok(found) => found,
                    // Verified evidence against someone already punished and unseated (every
                    // honest player submits what it sees, so this is the common case): accepted
                    // as a no-op. Refusing it would leave the submitter's nonce unspent and
                    // stall its later operations — its commitments and reveals, whose absence
                    // the table punishes.
                    Err(
                        EvidenceError::OffenderNotSeated(offender)
                        | EvidenceError::EarlierTenure(offender),
                    ) => {
                        self.events.push(Event::EvidenceMoot {
                            by: seat,
                            offender,
                            kind: evidence.kind_name().to_string(),
                        });
                        return Ok(());
                    }
                    Err(reason) => return Err(OpError::Evidence { seat, reason }),
                };
                if let Some(p) = self.data.seat(offender).map(|s| s.peer) {
                    let h = self.data.health.entry(p).or_default();
                    h.evidence_count = h.evidence_count.saturating_add(1);
                }
                self.events.push(Event::EvidenceAccepted {
                    by: seat,
                    offender,
                    kind: evidence.kind_name().to_string(),
                });
                self.penalize(offender, reason)
                    .map_err(Self::overflow(peer))
            }
            crate::ops::Dispute::Claim { accused, statement } => {
                self.open_claim(seat, *accused, statement)
            }
        }
    }

    /// The offender's seat and the penalty, if the evidence holds.
    pub(crate) fn check_evidence(
        &self,
        evidence: &GameEvidence,
    ) -> Result<(Seat, PenaltyReason), EvidenceError> {
        let table = self.config.table_id;
        let seated = |peer: PeerId| {
            self.data
                .seat_of(&peer)
                .ok_or(EvidenceError::OffenderNotSeated(peer))
        };
        match evidence {
            GameEvidence::Consensus(e) => {
                // Every key that ever held a seat here (at least the four genesis seats): the
                // signatures are checked against them; the offender must still be seated.
                let keys: BTreeSet<PeerId> = self.data.seats.iter().map(|s| s.peer).collect();
                let participants = ParticipantSet::new(keys)?;
                let offender = e.verify(&self.config.consensus_table_id(), &participants)?;
                let reason = match e {
                    Evidence::DoubleVote { .. } => PenaltyReason::DoubleVote,
                    Evidence::DoubleProposal { .. } => PenaltyReason::DoubleProposal,
                };
                let seat = seated(offender)?;
                // Only the tenure in which the offence was signed answers for it: a key that
                // was punished (or left) and was admitted again starts with a clean slate.
                let tenure_from = self.data.seat(seat).map_or(u64::MAX, |s| {
                    if s.joined_at == 0 {
                        0
                    } else {
                        s.joined_at.saturating_add(VALIDATOR_DELAY)
                    }
                });
                if e.height().0 < tenure_from {
                    return Err(EvidenceError::EarlierTenure(offender));
                }
                Ok((seat, reason))
            }
            GameEvidence::DoubleSigned { first, second } => {
                same_author(first, second)?;
                if first.nonce != second.nonce {
                    return Err(EvidenceError::NotConflicting("different nonces"));
                }
                if (first.kind, &first.body) == (second.kind, &second.body) {
                    return Err(EvidenceError::NotConflicting("the same operation"));
                }
                verified(first, &table)?;
                verified(second, &table)?;
                let seat = seated(first.author)?;
                let binding = self
                    .data
                    .seat(seat)
                    .map_or(u64::MAX, |s| s.first_seated_nonce);
                if first.nonce < binding {
                    return Err(EvidenceError::NotConflicting(
                        "the nonce was signed before the player sat down",
                    ));
                }
                Ok((seat, PenaltyReason::DoubleSigned { nonce: first.nonce }))
            }
            GameEvidence::MismatchedReveal { commit, reveal } => {
                same_author(commit, reveal)?;
                verified(commit, &table)?;
                verified(reveal, &table)?;
                let (
                    Some(Operation::Commit {
                        roll,
                        seat,
                        commitment,
                    }),
                    Some(Operation::Reveal {
                        roll: revealed_roll,
                        seat: revealed_seat,
                        nonce,
                    }),
                ) = (commit.decode(), reveal.decode())
                else {
                    return Err(EvidenceError::NotCommitAndReveal);
                };
                if (roll, seat) != (revealed_roll, revealed_seat) {
                    return Err(EvidenceError::NotCommitAndReveal);
                }
                let current = seated(commit.author)?;
                let binding = self
                    .data
                    .seat(current)
                    .map_or(u64::MAX, |s| s.first_seated_nonce);
                if commit.nonce < binding {
                    return Err(EvidenceError::EarlierTenure(commit.author));
                }
                if check_reveal(&commitment, &table.0, roll, seat, &nonce).is_ok() {
                    return Err(EvidenceError::RevealMatches(seat));
                }
                Ok((
                    seated(commit.author)?,
                    PenaltyReason::MismatchedReveal { roll },
                ))
            }
        }
    }

    fn open_claim(&mut self, seat: Seat, accused: Seat, statement: &str) -> Result<(), OpError> {
        if statement.len() > MAX_STATEMENT_BYTES {
            return Err(OpError::TooLong {
                seat,
                what: "claim statement",
                len: statement.len(),
                max: MAX_STATEMENT_BYTES,
            });
        }
        let accused_seated = self.data.seat(accused).is_some_and(|s| s.is_seated());
        if accused == seat || !accused_seated {
            return Err(OpError::BadAccusation { seat, accused });
        }
        if self.data.disputes.len() >= MAX_OPEN_DISPUTES {
            return Err(OpError::TooManyDisputes {
                seat,
                max: MAX_OPEN_DISPUTES,
            });
        }
        let id = DisputeId(self.data.next_dispute_id);
        self.data.next_dispute_id = self.data.next_dispute_id.saturating_add(1);
        // The validator set of this height (still `validators_next` while it is applied), as
        // seats, less the accused: newcomers not yet voting in consensus do not vote here.
        let electorate: BTreeSet<Seat> = self
            .data
            .validators_next
            .iter()
            .filter_map(|peer| self.data.seat_of(peer))
            .filter(|s| *s != accused)
            .collect();
        let deadline_ms = self
            .data
            .timestamp_ms
            .saturating_add(self.config.deadlines.dispute_ms);
        self.data.disputes.insert(
            id,
            Claim {
                opened_by: seat,
                accused,
                statement: statement.to_string(),
                opened_at_ms: self.data.timestamp_ms,
                deadline_ms,
                electorate,
                votes: BTreeMap::new(),
            },
        );
        self.events.push(Event::DisputeOpened {
            id,
            by: seat,
            accused,
            deadline_ms,
        });
        Ok(())
    }

    pub(crate) fn vote(
        &mut self,
        peer: PeerId,
        id: DisputeId,
        uphold: bool,
    ) -> Result<(), OpError> {
        let seat = self.author_seat(&peer)?;
        let claim = self
            .data
            .disputes
            .get_mut(&id)
            .ok_or(OpError::NoSuchDispute { seat, dispute: id })?;
        if !claim.electorate.contains(&seat) {
            return Err(OpError::NotInElectorate { seat, dispute: id });
        }
        if claim.votes.contains_key(&seat) {
            return Err(OpError::AlreadyVoted { seat, dispute: id });
        }
        claim.votes.insert(seat, uphold);
        let n = claim.electorate.len();
        let yes = claim.votes.values().filter(|v| **v).count();
        let no = claim.votes.len() - yes;
        let accused = claim.accused;
        self.events.push(Event::DisputeVoted { id, seat, uphold });
        let verdict = if 3 * yes > 2 * n {
            Verdict::Upheld
        } else if 3 * no > n {
            Verdict::Rejected
        } else {
            return Ok(());
        };
        self.data.disputes.remove(&id);
        self.events.push(Event::DisputeResolved { id, verdict });
        if verdict == Verdict::Upheld {
            if let Some(p) = self.data.seat(accused).map(|s| s.peer) {
                let h = self.data.health.entry(p).or_default();
                h.claims_upheld = h.claims_upheld.saturating_add(1);
            }
            self.penalize(accused, PenaltyReason::ClaimUpheld(id))
                .map_err(Self::overflow(peer))?;
        }
        Ok(())
    }

    /// Claims whose deadline has passed at this height's block time expire.
    pub(crate) fn expire_disputes(&mut self) -> Result<(), ChipOverflow> {
        let now = self.data.timestamp_ms;
        let expired: Vec<DisputeId> = self
            .data
            .disputes
            .iter()
            .filter(|(_, c)| c.deadline_ms <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            let Some(claim) = self.data.disputes.remove(&id) else {
                continue;
            };
            for seat in claim
                .electorate
                .iter()
                .filter(|s| !claim.votes.contains_key(s))
            {
                if let Some(p) = self.data.seat(*seat).map(|s| s.peer) {
                    let h = self.data.health.entry(p).or_default();
                    h.missed_votes = h.missed_votes.saturating_add(1);
                }
            }
            self.events.push(Event::DisputeResolved {
                id,
                verdict: Verdict::Expired,
            });
        }
        Ok(())
    }
}

fn same_author(a: &RawSignedOp, b: &RawSignedOp) -> Result<(), EvidenceError> {
    if a.author != b.author {
        return Err(EvidenceError::NotConflicting("different authors"));
    }
    Ok(())
}

fn verified(op: &RawSignedOp, table: &bitcraps_consensus::TableId) -> Result<(), EvidenceError> {
    if op.verify(table) {
        Ok(())
    } else {
        Err(EvidenceError::BadSignature(op.author))
    }
}
