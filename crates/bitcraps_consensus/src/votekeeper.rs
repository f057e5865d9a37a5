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

/// Votes of one kind in one round.
#[derive(Debug, Default)]
pub(crate) struct VoteSet {
    votes: BTreeMap<PeerId, SignedVote>,
    tally: BTreeMap<Option<ValueId>, usize>,
    reported: BTreeSet<PeerId>,
}

impl VoteSet {
    fn add(&mut self, vote: SignedVote) -> AddVote {
        let signer = vote.vote.signer;
        match self.votes.get(&signer) {
            Some(existing) if existing.vote.value == vote.vote.value => AddVote::Duplicate,
            Some(existing) => {
                if self.reported.insert(signer) {
                    AddVote::Conflict(Some(Box::new(Evidence::DoubleVote {
                        first: existing.clone(),
                        second: vote,
                    })))
                } else {
                    AddVote::Conflict(None)
                }
            }
            None => {
                *self.tally.entry(vote.vote.value).or_insert(0) += 1;
                self.votes.insert(signer, vote);
                AddVote::Added
            }
        }
    }

    /// Distinct signers who voted for `value` (`None`: nil).
    pub(crate) fn count(&self, value: Option<ValueId>) -> usize {
        self.tally.get(&value).copied().unwrap_or(0)
    }

    /// Distinct signers who voted at all.
    pub(crate) fn total(&self) -> usize {
        self.votes.len()
    }

    /// Values (not nil) with their counts.
    pub(crate) fn value_counts(&self) -> impl Iterator<Item = (ValueId, usize)> + '_ {
        self.tally.iter().filter_map(|(v, c)| v.map(|v| (v, *c)))
    }

    /// The votes for `value`.
    pub(crate) fn votes_for(&self, value: Option<ValueId>) -> impl Iterator<Item = &SignedVote> {
        self.votes.values().filter(move |v| v.vote.value == value)
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
    pub(crate) fn add(&mut self, vote: Verified<SignedVote>) -> AddVote {
        let vote = vote.into_inner();
        let round = self.rounds.entry(vote.vote.round).or_default();
        round.senders.insert(vote.vote.signer);
        match vote.vote.kind {
            VoteKind::Prevote => round.prevotes.add(vote),
            VoteKind::Precommit => round.precommits.add(vote),
        }
    }

    pub(crate) fn mark_sender(&mut self, round: Round, sender: PeerId) {
        self.rounds.entry(round).or_default().senders.insert(sender);
    }

    pub(crate) fn round(&self, round: Round) -> Option<&RoundVotes> {
        self.rounds.get(&round)
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
