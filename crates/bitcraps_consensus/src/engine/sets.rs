//! The participant set of each height, as the host declares it.
//!
//! An engine built with one set ([`Engine::new`]) uses it at every height: nothing changes for a
//! host that never declares another. A host whose validators change declares each height's set
//! with [`Engine::set_participants`] as soon as its application knows it. From the first
//! declaration on, the engine knows the sets up to the highest height declared and no further:
//! it refuses to start, or to verify messages of, a height beyond (typed errors), and keeps
//! far-future decisions unverified, within its byte bound, until their set is declared.
//!
//! The intended schedule (CometBFT's validator-update delay): the decided state after height
//! `h` determines the set of `h + 2`. So after applying the decision of `h` the host declares
//! `h + 2`, and while it works on `h + 1` it knows the sets of `h + 1` and `h + 2` — enough to
//! verify the messages of peers one height ahead. Declaring each height (an unchanged set too:
//! the engine stores only changes) is what keeps the horizon moving.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::certificate::{CommitCertificate, Decision};
use crate::engine::Engine;
use crate::error::{InputError, VerifyError};
use crate::message::Verified;
use crate::participants::ParticipantSet;
use crate::sigcache::SignatureCache;
use crate::types::Height;
use crate::wire::{VerifiedMessage, WireMessage};

/// The sets in force from each height on; the sets are known up to `horizon`.
#[derive(Debug)]
pub(crate) struct Schedule {
    /// The set from the first height on (the constructor's).
    base: Arc<ParticipantSet>,
    /// Heights where the set changes, and the set from there on.
    changes: BTreeMap<Height, Arc<ParticipantSet>>,
    /// The highest height whose set is known; `None`: every height (nothing declared).
    horizon: Option<Height>,
}

impl Schedule {
    pub(crate) fn new(base: Arc<ParticipantSet>) -> Schedule {
        Schedule {
            base,
            changes: BTreeMap::new(),
            horizon: None,
        }
    }

    /// The set of `height`, if known.
    pub(crate) fn at(&self, height: Height) -> Option<&Arc<ParticipantSet>> {
        if self.horizon.is_some_and(|horizon| height > horizon) {
            return None;
        }
        Some(self.in_force(height))
    }

    /// The set in force at `height`, ignoring the horizon.
    fn in_force(&self, height: Height) -> &Arc<ParticipantSet> {
        self.changes
            .range(..=height)
            .next_back()
            .map_or(&self.base, |(_, set)| set)
    }

    /// Declares the set of `height` (and of the heights after it until the next declaration).
    fn declare(&mut self, height: Height, set: Arc<ParticipantSet>) -> Result<(), InputError> {
        if let Some(horizon) = self.horizon {
            if height <= horizon && self.in_force(height).ids() != set.ids() {
                return Err(InputError::ParticipantsConflict(height));
            }
        }
        let previous = height.0.checked_sub(1).map(|h| self.in_force(Height(h)));
        if previous.is_none_or(|p| p.ids() != set.ids()) {
            if height.0 == 0 {
                self.base = set.clone();
            }
            self.changes.insert(height, set);
        }
        // Later change points were declared before this one and stay; none is dropped.
        self.horizon = Some(self.horizon.map_or(height, |h| h.max(height)));
        Ok(())
    }
}

impl Engine {
    /// Declares the participant set of `height`, which then also holds for the heights after
    /// it until the next declaration (see the crate documentation, *Validator sets per height*,
    /// for the intended use: declare `h + 2` once the decision of `h` is applied). From the
    /// first declaration on, sets are known only up to the highest height declared: declare
    /// every height (an unchanged set too), or the engine cannot start the heights beyond.
    ///
    /// Refused for a height already started (a height's set never changes once it runs), and
    /// for a height whose set was already declared differently. Declaring the same set again
    /// is allowed and changes nothing. Known sets are kept (one entry per change of the set).
    pub fn set_participants(
        &mut self,
        height: Height,
        set: Arc<ParticipantSet>,
    ) -> Result<(), InputError> {
        if self.started && height <= self.height {
            return Err(InputError::ParticipantsOfStartedHeight {
                height,
                current: self.height,
            });
        }
        self.sets.declare(height, set)?;
        if !self.started {
            if let Some(set) = self.sets.at(self.height) {
                self.participants = set.clone();
            }
        }
        Ok(())
    }

    /// The participant set of `height`, if known.
    pub fn participants_at(&self, height: Height) -> Option<&Arc<ParticipantSet>> {
        self.sets.at(height)
    }

    /// Verifies a wire message against this engine's table and the participant set of the
    /// message's height; [`VerifyError::UnknownParticipants`] if that set is not declared yet
    /// (a decision of such a height can still be handed in as [`crate::Input::UnverifiedDecision`]).
    pub fn verify(&self, message: WireMessage) -> Result<VerifiedMessage, VerifyError> {
        self.verify_cached(message, None)
    }

    /// [`Engine::verify`] through a [`SignatureCache`].
    pub fn verify_cached(
        &self,
        message: WireMessage,
        cache: Option<&mut SignatureCache>,
    ) -> Result<VerifiedMessage, VerifyError> {
        let height = message.height();
        let set = self
            .sets
            .at(height)
            .ok_or(VerifyError::UnknownParticipants(height))?;
        message.verify_cached(&self.config.table, set, cache)
    }

    /// Checks a certificate against this table and the participant set of its own height.
    pub fn verify_certificate(&self, certificate: &CommitCertificate) -> Result<(), VerifyError> {
        certificate.verify_at(&self.config.table, |h| self.sets.at(h).map(|s| &**s))
    }

    /// Checks a decision against this table and the participant set of its own height.
    pub fn verify_decision(&self, decision: Decision) -> Result<Verified<Decision>, VerifyError> {
        decision.verify_at(&self.config.table, |h| self.sets.at(h).map(|s| &**s))
    }
}
