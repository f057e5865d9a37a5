//! The signing guard: an engine never signs two different votes for one (height, round, kind),
//! nor two proposals for one (height, round), even across crashes and restores.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use bitcraps_consensus::codec;
use bitcraps_consensus::*;
use common::*;
use proptest::prelude::*;

const R0: Round = Round(0);
const R1: Round = Round(1);
const ME: usize = 0;

/// What the host persisted, through its on-disk encoding.
fn persisted(engine: &Engine) -> PersistentState {
    let bytes = codec::encode(&engine.persistent_state()).unwrap();
    codec::decode(&bytes, codec::MAX_MESSAGE_BYTES).unwrap()
}

/// Crashes participant `i` and restarts it from its persisted state; returns `StartHeight`'s
/// outputs.
fn crash_and_restore(net: &mut Net, i: usize) -> Vec<Output> {
    let state = persisted(&net.engines[i]);
    let height = state.height;
    net.engines[i] = Engine::restore(net.config(), net.keys[i].clone(), net.seats.clone(), state);
    net.start(i, height)
}

#[test]
fn a_node_restored_mid_round_repeats_its_votes_instead_of_equivocating() {
    let mut net = Net::new(4);
    net.start(ME, H);
    let (v, w) = (val("v"), val("w"));
    let out = net.deliver(ME, net.proposal_at(R0, &v, None)).unwrap();
    let prevote = votes(&out);
    assert_eq!(prevote.len(), 1);
    let out = net.deliver_all(ME, net.prevotes(&[1, 2], R0, Some(&v)));
    let precommit = votes(&out);
    assert_eq!(precommit.len(), 1);
    assert_eq!(precommit[0].vote.value, Some(v.id()));

    let out = crash_and_restore(&mut net, ME);
    let engine = &net.engines[ME];
    assert_eq!(
        (engine.height(), engine.round(), engine.step()),
        (H, R0, Step::Propose)
    );
    assert_eq!(
        engine.locked_round(),
        Some(R0),
        "the lock survives the crash"
    );
    assert!(votes(&out).is_empty());

    // The restored node forgot the round's messages. A Byzantine proposer now offers w and the
    // others claim nil prevotes: the rules want a nil prevote, then a nil precommit.
    let out = net.deliver(ME, net.proposal_at(R0, &w, None)).unwrap();
    assert_eq!(
        votes(&out),
        prevote,
        "the prevote for v is repeated, not re-signed"
    );
    let out = net.deliver_all(ME, net.prevotes(&[1, 2, 3], R0, None));
    assert_eq!(
        votes(&out),
        precommit,
        "the precommit for v is repeated, not re-signed"
    );
    // Gossip repeats the same messages.
    let gossip = net.handle(ME, Input::GossipTick).unwrap();
    for vote in votes(&gossip) {
        assert!(vote == prevote[0] || vote == precommit[0], "{vote:?}");
    }
}

#[test]
fn a_node_restored_in_a_later_round_resumes_it_with_its_lock() {
    let mut net = Net::new(4);
    net.start(ME, H);
    let v = val("v");
    net.deliver(ME, net.proposal_at(R0, &v, None)).unwrap();
    net.deliver_all(ME, net.prevotes(&[1, 2], R0, Some(&v)));
    net.fire(ME, H, R0, TimeoutKind::Precommit);
    let out = net.fire(ME, H, R1, TimeoutKind::Propose);
    let nil_prevote = votes(&out);
    assert_eq!(nil_prevote[0].vote.value, None);

    let out = crash_and_restore(&mut net, ME);
    assert_eq!(net.engines[ME].round(), R1);
    assert_eq!(net.engines[ME].locked_round(), Some(R0));
    assert_eq!(timeouts_of(&out, TimeoutKind::Propose)[0].0.round, R1);
    // lockedValue = v: the rules now want to prevote v in round 1; the guard repeats nil.
    let out = net.deliver(ME, net.proposal_at(R1, &v, None)).unwrap();
    assert_eq!(votes(&out), nil_prevote);
}

#[test]
fn a_restored_proposer_repeats_its_proposal() {
    let mut net = Net::new(4);
    let p = net.proposer(H, R0);
    net.start(p, H);
    let out = net
        .handle(
            p,
            Input::ValueReady {
                height: H,
                round: R0,
                value: val("v"),
            },
        )
        .unwrap();
    let proposal = proposals(&out);
    assert_eq!(proposal.len(), 1);

    let out = crash_and_restore(&mut net, p);
    assert!(out.contains(&Output::RequestValue {
        height: H,
        round: R0
    }));
    let out = net
        .handle(
            p,
            Input::ValueReady {
                height: H,
                round: R0,
                value: val("w"),
            },
        )
        .unwrap();
    assert_eq!(proposals(&out), proposal, "the proposal of v is repeated");
    assert_eq!(votes(&out)[0].vote.value, Some(val("v").id()));
}

#[test]
fn a_node_restored_below_its_persisted_height_keeps_the_lock_for_that_height() {
    // The host persisted the guard for height 2 (round 1, locked on v in round 0) but lost the
    // decision of height 1 in the crash: it restarts at height 1 and catches up.
    let mut net = Net::new(4);
    let (v, w) = (val("v"), val("w"));
    let h2 = Height(2);
    let state = PersistentState {
        height: h2,
        round: R1,
        locked: Some((R0, v.clone())),
        valid: Some((R0, v.clone())),
        guard: SigningGuard::default(),
    };
    net.engines[ME] = Engine::restore(
        net.config(),
        net.keys[ME].clone(),
        net.seats.clone(),
        state.clone(),
    );
    net.start(ME, H);
    assert_eq!(net.engines[ME].round(), R0);
    assert_eq!(net.engines[ME].locked_round(), None, "no lock at height 1");
    assert_eq!(
        persisted(&net.engines[ME]),
        state,
        "what to resume at height 2 stays durable while height 1 is caught up"
    );
    net.deliver(ME, net.proposal_at(R0, &w, None)).unwrap();
    let out = net.deliver_all(ME, net.precommits(&[1, 2, 3], R0, Some(&w)));
    assert_eq!(decisions(&out).len(), 1, "height 1 decided");

    net.start(ME, h2);
    assert_eq!(net.engines[ME].round(), R1, "height 2 resumes in round 1");
    assert_eq!(
        net.engines[ME].locked_round(),
        Some(R0),
        "the lock of height 2 survived"
    );
    assert_eq!(net.engines[ME].persistent_state().height, h2);
}

// ---------------------------------------------------------------------------------------------
// Property: whatever arrives, and however often the node crashes, it never equivocates.

#[derive(Clone, Debug)]
enum Action {
    Proposal {
        round: u32,
        value: u8,
        valid_round: Option<u32>,
    },
    Vote {
        signer: usize,
        round: u32,
        precommit: bool,
        value: Option<u8>,
    },
    Timeout {
        round: u32,
        kind: u8,
    },
    Restart,
    Gossip,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        3 => (0..4u32, 0..4u8, proptest::option::of(0..4u32)).prop_map(|(round, value, valid_round)| {
            Action::Proposal { round, value, valid_round }
        }),
        8 => (1..4usize, 0..4u32, any::<bool>(), proptest::option::of(0..4u8)).prop_map(
            |(signer, round, precommit, value)| Action::Vote { signer, round, precommit, value }
        ),
        3 => (0..4u32, 0..3u8).prop_map(|(round, kind)| Action::Timeout { round, kind }),
        1 => Just(Action::Restart),
        1 => Just(Action::Gossip),
    ]
}

fn value_of(label: u8) -> Value {
    // Label 3 is invalid for the application.
    if label == 3 {
        val("bad")
    } else {
        val(&format!("value {label}"))
    }
}

#[derive(Default)]
struct Ledger {
    votes: BTreeMap<(Height, Round, VoteKind), SignedVote>,
    proposals: BTreeMap<(Height, Round), SignedProposal>,
}

impl Ledger {
    fn record(&mut self, me: PeerId, outputs: &[Output]) -> Result<(), TestCaseError> {
        for message in outputs.iter().filter_map(|o| match o {
            Output::Broadcast(m) | Output::SendTo { message: m, .. } => Some(m),
            _ => None,
        }) {
            match message {
                WireMessage::Vote(v) if v.vote.signer == me => {
                    let key = (v.vote.height, v.vote.round, v.vote.kind);
                    let first = self.votes.entry(key).or_insert_with(|| v.clone());
                    prop_assert_eq!(&*first, v, "two different votes for {:?}", key);
                }
                WireMessage::Proposal(p) if p.header().proposer == me => {
                    let key = (p.header().height, p.header().round);
                    let first = self.proposals.entry(key).or_insert_with(|| p.clone());
                    prop_assert_eq!(&*first, p, "two different proposals for {:?}", key);
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn run(actions: Vec<Action>) -> Result<(), TestCaseError> {
    let mut net = Net::new(4);
    let me = net.id(ME);
    let mut signed = Ledger::default();
    let mut pending = net.start(ME, H);
    for action in actions {
        // Carry out what the engine asked for: propose when asked, start the next height.
        while !pending.is_empty() {
            signed.record(me, &pending)?;
            let mut next = Vec::new();
            for output in &pending {
                match output {
                    Output::RequestValue { height, round } => next.extend(
                        net.handle(
                            ME,
                            Input::ValueReady {
                                height: *height,
                                round: *round,
                                value: val(&format!("mine {} {}", height.0, round.0)),
                            },
                        )
                        .unwrap(),
                    ),
                    Output::Decided { height, .. } => next.extend(net.start(ME, height.next())),
                    _ => {}
                }
            }
            pending = next;
        }

        let h = net.engines[ME].height();
        let result = match action {
            Action::Proposal {
                round,
                value,
                valid_round,
            } => {
                let round = Round(round);
                let proposer = net.proposer(h, round);
                let valid_round = valid_round.filter(|vr| *vr < round.0).map(Round);
                if proposer == ME {
                    continue;
                }
                net.deliver(
                    ME,
                    net.proposal(proposer, h, round, &value_of(value), valid_round),
                )
            }
            Action::Vote {
                signer,
                round,
                precommit,
                value,
            } => {
                let kind = if precommit {
                    VoteKind::Precommit
                } else {
                    VoteKind::Prevote
                };
                let value = value.map(value_of);
                net.deliver(ME, net.vote(signer, h, Round(round), kind, value.as_ref()))
            }
            Action::Timeout { round, kind } => {
                let kind = [
                    TimeoutKind::Propose,
                    TimeoutKind::Prevote,
                    TimeoutKind::Precommit,
                ][usize::from(kind)];
                net.handle(
                    ME,
                    Input::TimeoutElapsed(Timeout {
                        height: h,
                        round: Round(round),
                        kind,
                    }),
                )
            }
            Action::Restart => Ok(crash_and_restore(&mut net, ME)),
            Action::Gossip => net.handle(ME, Input::GossipTick),
        };
        // Refusals (e.g. a double proposal beyond the second) are fine; the outputs are checked.
        pending = result.unwrap_or_default();
    }
    signed.record(me, &pending)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_engine_never_equivocates_across_crashes(actions in proptest::collection::vec(action(), 1..80)) {
        run(actions)?;
    }
}
