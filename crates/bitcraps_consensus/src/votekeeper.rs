//! Counts the votes of one height, round by round, one vote per (signer, round, kind).

use std::collections::{BTreeMap, BTreeSet};

use crate::evidence::Evidence;
use crate::keys::PeerId;
use crate::message::{SignedVote, Verified};
use crate::types::{Round, ValueId, VoteKind};

/// The outcome of adding a vote.
#[derive(Debug)]
pub(crate) enum AddVote {
    /// Counted.
    Added,
    /// Already counted (gossip repeats messages).
    Duplicate,
    /// A second, different vote of the signer for this round and kind: not counted. The evidence
    /// is returned the first time only.
    Conflict(Option<Box<Evidence>>),
}

/// Conflicting votes kept per signer, round and kind, besides its first vote.
pub(crate) const MAX_EXTRA_VOTES_PER_SIGNER: usize = 3;

/// Votes of one kind in one round.
///
/// A signer's first vote counts towards the total (lines 34 and 47 count signers, not votes).
/// Its later, conflicting votes are evidence; they also count towards the tally of their own
/// value (up to [`MAX_EXTRA_VOTES_PER_SIGNER`] of them). That is safe: two quorums of one
/// round always share an honest signer, and honest signers vote once, so no two values can both
/// reach 2f+1. And it is needed for liveness: an equivocator's vote may complete a real polka
/// that some honest nodes could otherwise never count, having seen its other vote first
/// (CometBFT tracks such votes for claimed majorities for the same reason).
///
/// Votes keep how they were verified ([`Verified::is_strict`]); a vote that a batch equation
/// accepted but `verify_strict` later refuses (when a certificate is built) is removed with
/// [`VoteSet::refuse`] and never counted again unless it comes back strictly verified.
#[derive(Debug, Default)]
pub(crate) struct VoteSet {
    first: BTreeMap<PeerId, Verified<SignedVote>>,
    extra: BTreeMap<PeerId, Vec<Verified<SignedVote>>>,
    tally: BTreeMap<Option<ValueId>, usize>,
    reported: BTreeSet<PeerId>,
    refused: BTreeSet<(PeerId, Option<ValueId>)>,
}

impl VoteSet {
    /// Adds a vote. `relevant` tells which values matter in this round (nil and the values of
    /// known proposals): when a signer's conflicting votes fill their slots, an irrelevant one
    /// gives way to a relevant newcomer, so junk cannot crowd out a real polka.
    fn add(
        &mut self,
        vote: Verified<SignedVote>,
        relevant: &dyn Fn(Option<ValueId>) -> bool,
    ) -> AddVote {
        let signer = vote.vote.signer;
        let value = vote.vote.value;
        if !vote.is_strict() && self.refused.contains(&(signer, value)) {
            return AddVote::Duplicate;
        }
        let Some(first) = self.first.get(&signer) else {
            *self.tally.entry(value).or_insert(0) += 1;
            self.first.insert(signer, vote);
            return AddVote::Added;
        };
        if first.vote.value == value {
            return AddVote::Duplicate;
        }
        let extras = self.extra.entry(signer).or_default();
        if extras.iter().any(|v| v.vote.value == value) {
            return AddVote::Duplicate;
        }
        let evidence = if self.reported.insert(signer) {
            Some(Box::new(Evidence::DoubleVote {
                first: (**first).clone(),
                second: (*vote).clone(),
            }))
        } else {
            None
        };
        if extras.len() < MAX_EXTRA_VOTES_PER_SIGNER {
            extras.push(vote);
            *self.tally.entry(value).or_insert(0) += 1;
        } else if relevant(value) {
            if let Some(slot) = extras.iter_mut().find(|v| !relevant(v.vote.value)) {
                let old = slot.vote.value;
                *slot = vote;
                if let Some(count) = self.tally.get_mut(&old) {
                    *count = count.saturating_sub(1);
                }
                *self.tally.entry(value).or_insert(0) += 1;
            }
        }
        AddVote::Conflict(evidence)
    }

    /// Distinct signers who voted for `value` (`None`: nil).
    pub(crate) fn count(&self, value: Option<ValueId>) -> usize {
        self.tally.get(&value).copied().unwrap_or(0)
    }

    /// Distinct signers who voted at all.
    pub(crate) fn total(&self) -> usize {
        self.first.len()
    }

    /// The (first) vote of a signer.
    pub(crate) fn vote_of(&self, signer: &PeerId) -> Option<&SignedVote> {
        self.first.get(signer).map(|v| &**v)
    }

    /// Removes the vote of `signer` for `value` (its signature failed `verify_strict`): it no
    /// longer counts, and the same vote checked by a batch again is ignored. If it was the
    /// signer's first vote, its next conflicting vote (already counted) takes its place.
    pub(crate) fn refuse(&mut self, signer: PeerId, value: Option<ValueId>) {
        let mut removed = false;
        if self
            .first
            .get(&signer)
            .is_some_and(|v| v.vote.value == value)
        {
            self.first.remove(&signer);
            removed = true;
            if let Some(extras) = self.extra.get_mut(&signer) {
                if !extras.is_empty() {
                    let next = extras.remove(0);
                    self.first.insert(signer, next);
                }
            }
        } else if let Some(extras) = self.extra.get_mut(&signer) {
            let before = extras.len();
            extras.retain(|v| v.vote.value != value);
            removed = extras.len() < before;
        }
        if self.extra.get(&signer).is_some_and(Vec::is_empty) {
            self.extra.remove(&signer);
        }
        if removed {
            if let Some(count) = self.tally.get_mut(&value) {
                *count = count.saturating_sub(1);
            }
        }
        self.refused.insert((signer, value));
    }

    /// Values (not nil) with their counts.
    pub(crate) fn value_counts(&self) -> impl Iterator<Item = (ValueId, usize)> + '_ {
        self.tally.iter().filter_map(|(v, c)| v.map(|v| (v, *c)))
    }

    /// The votes for `value`, one per signer, in signer order.
    pub(crate) fn votes_for(
        &self,
        value: Option<ValueId>,
    ) -> impl Iterator<Item = &Verified<SignedVote>> {
        self.first.iter().filter_map(move |(signer, first)| {
            if first.vote.value == value {
                Some(first)
            } else {
                self.extra
                    .get(signer)?
                    .iter()
                    .find(|v| v.vote.value == value)
            }
        })
    }
}

/// Everything seen in one round.
#[derive(Debug, Default)]
pub(crate) struct RoundVotes {
    pub(crate) prevotes: VoteSet,
    pub(crate) precommits: VoteSet,
    /// Everyone who sent any message (proposal or vote) for this round: the f+1 skip rule.
    pub(crate) senders: BTreeSet<PeerId>,
}

impl RoundVotes {
    pub(crate) fn of(&self, kind: VoteKind) -> &VoteSet {
        match kind {
            VoteKind::Prevote => &self.prevotes,
            VoteKind::Precommit => &self.precommits,
        }
    }
}

/// The votes of the current height.
#[derive(Debug, Default)]
pub(crate) struct VoteKeeper {
    rounds: BTreeMap<Round, RoundVotes>,
}

impl VoteKeeper {
    /// Adds a verified vote; `relevant` as in [`VoteSet`]'s `add`.
    pub(crate) fn add(
        &mut self,
        vote: Verified<SignedVote>,
        relevant: &dyn Fn(Option<ValueId>) -> bool,
    ) -> AddVote {
        let round = self.rounds.entry(vote.vote.round).or_default();
        round.senders.insert(vote.vote.signer);
        match vote.vote.kind {
            VoteKind::Prevote => round.prevotes.add(vote, relevant),
            VoteKind::Precommit => round.precommits.add(vote, relevant),
        }
    }

    pub(crate) fn mark_sender(&mut self, round: Round, sender: PeerId) {
        self.rounds.entry(round).or_default().senders.insert(sender);
    }

    pub(crate) fn round(&self, round: Round) -> Option<&RoundVotes> {
        self.rounds.get(&round)
    }

    /// The precommits of `round`, to refuse some of them.
    pub(crate) fn precommits_mut(&mut self, round: Round) -> Option<&mut VoteSet> {
        self.rounds.get_mut(&round).map(|r| &mut r.precommits)
    }

    pub(crate) fn rounds(&self) -> impl DoubleEndedIterator<Item = (&Round, &RoundVotes)> {
        self.rounds.iter()
    }

    pub(crate) fn count(&self, round: Round, kind: VoteKind, value: Option<ValueId>) -> usize {
        self.round(round).map_or(0, |r| r.of(kind).count(value))
    }

    pub(crate) fn total(&self, round: Round, kind: VoteKind) -> usize {
        self.round(round).map_or(0, |r| r.of(kind).total())
    }

    pub(crate) fn clear(&mut self) {
        self.rounds.clear();
    }
}
