//! Batch verification of **live** consensus messages: votes, proposals, statuses, the precommits
//! of catch-up decisions, and application statements travelling with them.
//!
//! A host that receives many signed messages at once (a game frame, a network poll) checks
//! them with one batch equation — ed25519-dalek's `verify_batch`, a single multiscalar
//! multiplication — at well under half the cost per signature of one-by-one `verify_strict`.
//! [`BatchVerifier`] returns, in input order, exactly the typed results the one-by-one checks
//! ([`WireMessage::verify_cached`]) return, with the one exception described under *Residual*
//! below, which only a Byzantine signer can trigger and only against its own messages.
//!
//! # How a batch is settled
//!
//! Table and membership checks come first, as in the one-by-one path. Each remaining signature
//! is answered from the [`SignatureCache`] (either tier) if it is there; duplicates within the
//! batch are checked once. The rest is split:
//!
//! - Signatures that are not *batch-safe* (below) are checked one by one with `verify_strict`.
//! - The others are verified in chunks of at most [`MAX_BATCH`] signatures. A chunk that fails
//!   is bisected: its halves are verified as batches in turn, down to groups smaller than
//!   [`MIN_BATCH`], which are checked one by one with `verify_strict`. So one forged signature
//!   costs a few extra smaller batches, never the rejection of an honest message sharing its
//!   batch, and every rejection comes from `verify_strict` and names the signer
//!   ([`VerifyError::BadSignature`]).
//!
//! Only signatures whose check succeeded enter the cache: a strict success its strict tier, a
//! batch success its batch tier, which only batch verification consults.
//!
//! # Batch equation versus `verify_strict`
//!
//! `verify_strict(A, M, (R, s))` accepts iff `s` is canonical (`s < ℓ`), `R` decodes, neither
//! `R` nor `A` has small order, and the canonical encoding of `[s]B − [k]A` is byte-for-byte
//! `R`, with `k = H(R ‖ A ‖ M)`: the cofactorless equation, with `R` canonically encoded.
//! dalek's batch checks `Σ zᵢ·([sᵢ]B − Rᵢ − [kᵢ]Aᵢ) = 0` (cofactorless) with 128-bit `zᵢ`
//! derived from a hash of all the batch's inputs. Write `Dᵢ = [sᵢ]B − Rᵢ − [kᵢ]Aᵢ`; strict
//! acceptance is `Dᵢ = 0` plus the encoding checks. The two can disagree on:
//!
//! 1. **Non-canonical `R` encodings** (a `y ≥ p`): the batch reduces `y` mod `p`, strict
//!    compares bytes and always refuses. *Pre-rejected:* a byte comparison; such signatures go
//!    to `verify_strict`, which refuses them.
//! 2. **Small-order `R`**: strict refuses, the batch may accept when `zᵢ` kills the torsion.
//!    *Pre-rejected:* `R` is compared (sign bit aside) with the seven encodings of the eight
//!    small-order points (libsodium's list); matches go to `verify_strict`.
//! 3. **Non-canonical `s`**: both refuse, but the batch refuses *all* its signatures. *Pre-checked*
//!    (byte comparison with `ℓ`) so that one such signature does not force a bisection.
//! 4. **Keys with a torsion component** (mixed-order `A`, which seating does not refuse): strict
//!    depends on `k mod 8`, the batch on `zᵢ·k mod 8`. *Never batched:* whether each seated key is
//!    torsion-free is computed once per [`ParticipantSet`]; signers with mixed-order keys are
//!    always checked one by one. Honestly generated keys are always torsion-free.
//! 5. **`R` with a torsion component** (`R = R′ + T`, `T ≠ 0` of order 2, 4 or 8, `R` not of
//!    small order) and otherwise right (`[s]B = R′ + [k]A`): strict always refuses
//!    (`[s]B − [k]A` is torsion-free since `A` is, so it cannot be `R`), while a batch holding it
//!    accepts iff the `zᵢ·T` terms cancel — probability at least 1/8 for a single such
//!    signature, depending on the whole batch. Recognising a torsion component takes `[ℓ]R`, a
//!    scalar multiplication that costs about as much as `verify_strict` itself (≈ 41 µs against
//!    ≈ 61 µs here), which would undo the saving. This is the **residual** disagreement.
//!
//! A *forged* signature (one whose `Dᵢ` has a prime-order component) passes a batch only with
//! probability about 2⁻¹²⁸ (the `zᵢ` come from a hash of every input, so the signer cannot aim
//! at them), as with any random-linear-combination batch check.
//!
//! # Why the residual is no worse than a Byzantine signer sending selectively
//!
//! - *Only the key's holder can produce such a signature.* It needs `[s]B = R′ + [k]A` with `k`
//!   hashed from the mixed-order `R`: that is a signature under `A`. Tweaking someone else's
//!   valid signature does not work — changing `R` changes `k`, leaving a prime-order defect
//!   `[k − k′]A`; changing `s` leaves `[Δs]B`. So every message a batch accepts was authored by
//!   its signer, and no honest participant can be made to appear to vote, propose or report.
//! - *What it buys the signer*: some honest nodes accept its message (as if it had sent them a
//!   valid one) while others refuse it (as if it had sent them garbage or nothing). A Byzantine
//!   participant can do exactly that by sending a strictly valid message to some peers and
//!   nothing to others. Tendermint's safety and liveness hold against up to `f` participants
//!   behaving arbitrarily, including sending different messages to different peers; vote
//!   counts are per distinct signer, so an accepted message counts no more than the valid
//!   message the signer could have sent instead.
//! - *Honest messages are never refused because of it*: a batch that fails is bisected down to
//!   `verify_strict`, which accepts every honest signature.
//!
//! # What stays strict
//!
//! Everything whose validity must be identical on every node keeps deterministic
//! `verify_strict`: [`crate::Evidence::verify`] (the game checks evidence when it applies a
//! block), [`crate::CommitCertificate::verify`] and `verify_cached` (they consult only the
//! cache's strict tier), [`WireMessage::verify`] and `verify_cached`, and the game's own
//! operation signatures. Use this module only for messages on their way into an engine.
//!
//! Derived artifacts: every [`Verified`] message remembers whether a batch equation or
//! `verify_strict` accepted it ([`Verified::is_strict`]; a decision is strict only if all its
//! precommits were). A batch-accepted message may steer the engine's round as the signer's
//! valid message could, but nothing built from it leaves the engine without a strict check:
//! evidence is re-checked strictly before it is emitted; a commit certificate is built only from
//! precommits that pass `verify_strict` (batch-accepted ones are checked once, when the
//! certificate is built; one that fails is dropped from the tally for good, and the engine
//! waits for 2f+1 that pass); a catch-up decision's certificate is cut to its strictly valid
//! precommits, which must still be 2f+1. So every certificate, decision and piece of evidence
//! an engine outputs — what hosts persist and send to lagging nodes — verifies strictly.

use std::collections::BTreeSet;

use ed25519_dalek::Signature;

use crate::certificate::Decision;
use crate::error::VerifyError;
use crate::keys::PeerId;
use crate::message::Verified;
use crate::participants::ParticipantSet;
use crate::sigcache::SignatureCache;
use crate::types::TableId;
use crate::wire::{VerifiedMessage, WireMessage};

/// Groups of fewer signatures are checked one by one: below four a batch saves little or
/// nothing (measured: 2 → 54 µs, 3 → 48 µs, 4 → 30 µs per signature, against 61 µs strictly).
pub const MIN_BATCH: usize = 4;

/// Largest batch equation: bigger batches gain nothing per signature here and make a failed
/// batch costlier to bisect.
pub const MAX_BATCH: usize = 32;

/// One signature to check.
#[derive(Debug)]
struct Check {
    signer: PeerId,
    bytes: Vec<u8>,
    signature: Signature,
}

/// What a pushed item needs and how its result is formed.
#[derive(Debug)]
enum Item {
    /// A message that failed before any signature had to be checked.
    Failed(VerifyError),
    /// A proposal, vote or status: one signature, by `signer`.
    Single {
        message: WireMessage,
        signer: PeerId,
        check: usize,
    },
    /// A decision: its precommits' signatures in certificate order, then `rest` — the error
    /// that stopped the walk over the precommits (duplicate or unknown signer), or the number
    /// of distinct signers if the walk went through.
    Decision {
        decision: Decision,
        checks: Vec<usize>,
        rest: Result<usize, VerifyError>,
    },
    /// An application statement: one signature, by `signer`.
    Statement { signer: PeerId, check: usize },
    /// A statement by a signer who is not seated.
    StatementFailed(VerifyError),
}

/// The result of one item of a [`BatchVerifier`], in push order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchOutcome {
    /// A wire message: what [`WireMessage::verify_cached`] returns for it.
    Message(Result<VerifiedMessage, VerifyError>),
    /// An application statement: `Ok` if its signer is seated and its signature verifies.
    Statement(Result<(), VerifyError>),
}

/// Verifies many live messages together (see the [module documentation](self)).
///
/// ```
/// use bitcraps_consensus::*;
///
/// let keys: Vec<Keypair> = (1..=4u8).map(|i| Keypair::from_seed([i; 32])).collect();
/// let seats = ParticipantSet::new(keys.iter().map(Keypair::peer_id))?;
/// let table = TableId::from_name("doc");
/// let mut batch = BatchVerifier::new(table, &seats);
/// for key in &keys {
///     let vote = Vote {
///         table,
///         height: Height(1),
///         round: Round(0),
///         kind: VoteKind::Prevote,
///         value: None,
///         signer: key.peer_id(),
///     };
///     batch.push_message(WireMessage::Vote(vote.sign(key)));
/// }
/// let mut cache = SignatureCache::default();
/// let outcomes = batch.verify(Some(&mut cache));
/// assert!(outcomes.iter().all(|o| matches!(o, BatchOutcome::Message(Ok(_)))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct BatchVerifier<'a> {
    table: TableId,
    participants: &'a ParticipantSet,
    checks: Vec<Check>,
    items: Vec<Item>,
}

impl<'a> BatchVerifier<'a> {
    /// An empty batch for a table and its participants.
    pub fn new(table: TableId, participants: &'a ParticipantSet) -> BatchVerifier<'a> {
        BatchVerifier {
            table,
            participants,
            checks: Vec::new(),
            items: Vec::new(),
        }
    }

    /// Items pushed.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True if nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Signatures the pushed items need checked (before the cache is consulted).
    pub fn signatures(&self) -> usize {
        self.checks.len()
    }

    fn check(&mut self, signer: PeerId, bytes: Vec<u8>, signature: Signature) -> usize {
        self.checks.push(Check {
            signer,
            bytes,
            signature,
        });
        self.checks.len() - 1
    }

    /// The table and membership checks of one signed part, as in the one-by-one path.
    fn admit(&self, table: &TableId, signer: &PeerId) -> Result<(), VerifyError> {
        if table != &self.table {
            return Err(VerifyError::WrongTable {
                expected: self.table,
                got: *table,
            });
        }
        if !self.participants.contains(signer) {
            return Err(VerifyError::UnknownSigner(*signer));
        }
        Ok(())
    }

    /// Adds a wire message; its result will be what [`WireMessage::verify_cached`] returns.
    pub fn push_message(&mut self, message: WireMessage) {
        let item = match message {
            WireMessage::Vote(v) => match self.admit(&v.vote.table, &v.vote.signer) {
                Err(e) => Item::Failed(e),
                Ok(()) => {
                    let signer = v.vote.signer;
                    let check = self.check(signer, v.vote.signing_bytes(), v.signature);
                    Item::Single {
                        message: WireMessage::Vote(v),
                        signer,
                        check,
                    }
                }
            },
            WireMessage::Proposal(p) => {
                let header = p.header();
                match self.admit(&header.table, &header.proposer) {
                    Err(e) => Item::Failed(e),
                    Ok(()) => {
                        let signer = header.proposer;
                        let check = self.check(signer, header.signing_bytes(), p.signed.signature);
                        Item::Single {
                            message: WireMessage::Proposal(p),
                            signer,
                            check,
                        }
                    }
                }
            }
            WireMessage::Status(s) => match self.admit(&s.status.table, &s.status.signer) {
                Err(e) => Item::Failed(e),
                Ok(()) => {
                    let signer = s.status.signer;
                    let check = self.check(signer, s.status.signing_bytes(), s.signature);
                    Item::Single {
                        message: WireMessage::Status(s),
                        signer,
                        check,
                    }
                }
            },
            WireMessage::Decision(d) => self.plan_decision(d),
        };
        self.items.push(item);
    }

    /// Walks a certificate's precommits as [`crate::CommitCertificate::verify_cached`] does,
    /// queueing a check for each precommit reached.
    fn plan_decision(&mut self, decision: Decision) -> Item {
        let certificate = &decision.certificate;
        let mut seen = BTreeSet::new();
        let mut checks = Vec::with_capacity(certificate.precommits.len());
        let mut stop = None;
        for commit in &certificate.precommits {
            if !seen.insert(commit.signer) {
                stop = Some(VerifyError::DuplicateSigner(commit.signer));
                break;
            }
            if let Err(e) = self.admit(&certificate.table, &commit.signer) {
                stop = Some(e);
                break;
            }
            let bytes = certificate.precommit_of(commit.signer).signing_bytes();
            checks.push(self.check(commit.signer, bytes, commit.signature));
        }
        if checks.is_empty() {
            if let Some(e) = stop {
                return Item::Failed(e);
            }
        }
        Item::Decision {
            rest: stop.map_or(Ok(seen.len()), Err),
            decision,
            checks,
        }
    }

    /// Adds an application statement: `signature` over `bytes` by `signer`, a seated
    /// participant. The bytes must be domain-separated by the application (they share the
    /// cache with consensus messages) and carry whatever table id it needs: only membership
    /// and the signature are checked here.
    pub fn push_statement(&mut self, signer: PeerId, bytes: Vec<u8>, signature: Signature) {
        let item = if self.participants.contains(&signer) {
            Item::Statement {
                signer,
                check: self.check(signer, bytes, signature),
            }
        } else {
            Item::StatementFailed(VerifyError::UnknownSigner(signer))
        };
        self.items.push(item);
    }

    /// Checks every pushed item, through `cache` if given; results in push order.
    pub fn verify(self, cache: Option<&mut SignatureCache>) -> Vec<BatchOutcome> {
        let ok = settle(&self.checks, self.participants, cache);
        let participants = self.participants;
        self.items
            .into_iter()
            .map(|item| resolve(item, &ok, participants))
            .collect()
    }
}

/// Verifies wire messages together; the results, in input order, are those of
/// [`WireMessage::verify_cached`] on each (see the [module documentation](self) for the one
/// residual difference, which only a Byzantine signer can cause, on its own messages).
pub fn verify_batch(
    messages: impl IntoIterator<Item = WireMessage>,
    table: &TableId,
    participants: &ParticipantSet,
    cache: Option<&mut SignatureCache>,
) -> Vec<Result<VerifiedMessage, VerifyError>> {
    let mut batch = BatchVerifier::new(*table, participants);
    for message in messages {
        batch.push_message(message);
    }
    batch
        .verify(cache)
        .into_iter()
        .filter_map(|outcome| match outcome {
            BatchOutcome::Message(result) => Some(result),
            BatchOutcome::Statement(_) => None,
        })
        .collect()
}

/// The result of an item, from the results of the signature checks.
fn resolve(item: Item, ok: &[Settled], participants: &ParticipantSet) -> BatchOutcome {
    let settled = |check: usize| ok.get(check).copied().unwrap_or(Settled::Invalid);
    let passed = |check: usize| settled(check).passed();
    match item {
        Item::Failed(e) => BatchOutcome::Message(Err(e)),
        Item::StatementFailed(e) => BatchOutcome::Statement(Err(e)),
        Item::Statement { signer, check } => BatchOutcome::Statement(if passed(check) {
            Ok(())
        } else {
            Err(VerifyError::BadSignature(signer))
        }),
        Item::Single {
            message,
            signer,
            check,
        } => BatchOutcome::Message(if passed(check) {
            let strict = settled(check) == Settled::Strict;
            Ok(match message {
                WireMessage::Proposal(p) => {
                    if p.value.id() != p.signed.header.value_id {
                        return BatchOutcome::Message(Err(VerifyError::ValueMismatch(
                            p.signed.header.proposer,
                        )));
                    }
                    VerifiedMessage::Proposal(wrap_as(strict, p))
                }
                WireMessage::Vote(v) => VerifiedMessage::Vote(wrap_as(strict, v)),
                WireMessage::Status(s) => VerifiedMessage::Status(wrap_as(strict, s)),
                WireMessage::Decision(d) => VerifiedMessage::Decision(wrap_as(strict, d)),
            })
        } else {
            Err(VerifyError::BadSignature(signer))
        }),
        Item::Decision {
            decision,
            checks,
            rest,
        } => BatchOutcome::Message(resolve_decision(decision, &checks, rest, ok, participants)),
    }
}

/// A verified message, marked with how its signatures were checked.
fn wrap_as<T>(strict: bool, message: T) -> Verified<T> {
    if strict {
        Verified::strict(message)
    } else {
        Verified::batch(message)
    }
}

fn resolve_decision(
    decision: Decision,
    checks: &[usize],
    rest: Result<usize, VerifyError>,
    ok: &[Settled],
    participants: &ParticipantSet,
) -> Result<VerifiedMessage, VerifyError> {
    let certificate = &decision.certificate;
    let mut strict = true;
    for (commit, &check) in certificate.precommits.iter().zip(checks) {
        match ok.get(check).copied().unwrap_or(Settled::Invalid) {
            Settled::Invalid => return Err(VerifyError::BadSignature(commit.signer)),
            Settled::Batch => strict = false,
            Settled::Strict => {}
        }
    }
    let signers = rest?;
    if !participants.is_quorum(signers) {
        return Err(VerifyError::NoQuorum {
            height: certificate.height,
            got: signers,
            needed: participants.quorum(),
        });
    }
    if decision.value.id() != certificate.value_id {
        return Err(VerifyError::DecisionValueMismatch(certificate.height));
    }
    Ok(VerifiedMessage::Decision(wrap_as(strict, decision)))
}

mod settle;

use settle::{settle, Settled};

#[cfg(test)]
mod tests;
