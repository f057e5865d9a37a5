//! The upon-rules of Algorithm 1, one scenario per rule, named after the paper's line numbers.
//!
//! Unless said otherwise the engine under test is participant 0 of four (f = 1, 2f+1 = 3) at
//! height 1, where the proposer of round r is participant (1 + r) mod 4: round 0 → 1,
//! round 1 → 2, round 2 → 3, round 3 → 0 (the engine itself).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bitcraps_consensus::*;
use common::*;

const R0: Round = Round(0);
const R1: Round = Round(1);
const R2: Round = Round(2);
const R3: Round = Round(3);
const ME: usize = 0;

/// Four engines; participant 0 has started height 1.
fn started() -> Net {
    let mut net = Net::new(4);
    let out = net.start(ME, H);
    assert_eq!(net.engines[ME].round(), R0);
    assert_eq!(net.engines[ME].step(), Step::Propose);
    assert_eq!(timeouts_of(&out, TimeoutKind::Propose).len(), 1);
    net
}

/// Participant 0 locks `value` in round 0: proposal, its own prevote and two more (lines 22, 36).
fn lock_in_round_0(net: &mut Net, value: &Value) {
    let out = net.deliver(ME, net.proposal_at(R0, value, None)).unwrap();
    assert_eq!(the_vote(&out, VoteKind::Prevote), (R0, Some(value.id())));
    let out = net.deliver_all(ME, net.prevotes(&[1, 2], R0, Some(value)));
    assert_eq!(the_vote(&out, VoteKind::Precommit), (R0, Some(value.id())));
    assert_eq!(net.engines[ME].locked_round(), Some(R0));
}

/// Moves participant 0 from `round` to the next one through its precommit timeout (line 65).
fn next_round(net: &mut Net, round: Round) {
    let out = net.fire(ME, H, round, TimeoutKind::Precommit);
    assert_eq!(net.engines[ME].round(), round.next());
    assert_eq!(net.engines[ME].step(), Step::Propose);
    assert_eq!(timeouts_of(&out, TimeoutKind::Propose).len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Line 22: PROPOSAL(h, r, v, −1)

#[test]
fn line_22_fresh_valid_proposal_is_prevoted() {
    let mut net = started();
    let v = val("v");
    let out = net.deliver(ME, net.proposal_at(R0, &v, None)).unwrap();
    assert_eq!(the_vote(&out, VoteKind::Prevote), (R0, Some(v.id())));
    assert_eq!(net.engines[ME].step(), Step::Prevote);
    // Exactly one prevote: a repeated proposal changes nothing.
    let again = net.deliver(ME, net.proposal_at(R0, &v, None)).unwrap();
    assert!(votes(&again).is_empty(), "{again:?}");
}

#[test]
fn line_22_invalid_value_is_prevoted_nil() {
    let mut net = started();
    let bad = val("bad value");
    let out = net.deliver(ME, net.proposal_at(R0, &bad, None)).unwrap();
    assert_eq!(the_vote(&out, VoteKind::Prevote), (R0, None));
    assert_eq!(net.engines[ME].step(), Step::Prevote);
}

#[test]
fn line_22_locked_on_another_value_prevotes_nil_and_on_the_same_value_prevotes_it() {
    let mut net = started();
    let (v, w) = (val("v"), val("w"));
    lock_in_round_0(&mut net, &v);
    next_round(&mut net, R0);

    let out = net.deliver(ME, net.proposal_at(R1, &w, None)).unwrap();
    assert_eq!(
        the_vote(&out, VoteKind::Prevote),
        (R1, None),
        "the lock on v is respected"
    );
    assert_eq!(net.engines[ME].locked_round(), Some(R0));

    next_round(&mut net, R1);
    let out = net.deliver(ME, net.proposal_at(R2, &v, None)).unwrap();
    assert_eq!(
        the_vote(&out, VoteKind::Prevote),
        (R2, Some(v.id())),
        "lockedValue = v"
    );
}

// ---------------------------------------------------------------------------------------------
// Line 28: PROPOSAL(h, r, v, vr) with a polka at vr

#[test]
fn line_28_polka_at_vr_unlocks_a_node_locked_at_an_earlier_round() {
    let mut net = started();
    let (v, w) = (val("v"), val("w"));
    lock_in_round_0(&mut net, &v);
    next_round(&mut net, R0);
    let out = net.fire(ME, H, R1, TimeoutKind::Propose);
    assert_eq!(the_vote(&out, VoteKind::Prevote), (R1, None));
    next_round(&mut net, R1);

    // Re-proposal of w justified by round 1; the polka has not arrived yet: wait.
    let out = net.deliver(ME, net.proposal_at(R2, &w, Some(R1))).unwrap();
    assert!(
        votes(&out).is_empty(),
        "no prevote before the polka: {out:?}"
    );
    assert_eq!(net.engines[ME].step(), Step::Propose);
    let out = net.deliver_all(ME, net.prevotes(&[1, 2], R1, Some(&w)));
    assert!(
        votes(&out).is_empty(),
        "two prevotes are not a polka: {out:?}"
    );

    // The third prevote completes the polka at vr = 1 ≥ lockedRound = 0: prevote w.
    let out = net
        .deliver(ME, net.vote(3, H, R1, VoteKind::Prevote, Some(&w)))
        .unwrap();
    assert_eq!(the_vote(&out, VoteKind::Prevote), (R2, Some(w.id())));
    assert_eq!(net.engines[ME].step(), Step::Prevote);
    // Line 28 only prevotes; the lock moves at line 36.
    assert_eq!(net.engines[ME].locked_round(), Some(R0));
}

/// Participant 0 restarted at (H, `round`) with the given lock and nothing signed yet.
fn restored_with_lock(round: Round, locked: (Round, Value)) -> Net {
    let mut net = Net::new(4);
    let state = PersistentState {
        height: H,
        round,
        locked: Some(locked.clone()),
        valid: Some(locked),
        guard: SigningGuard::default(),
    };
    net.engines[ME] = Engine::restore(net.config(), net.keys[ME].clone(), net.seats.clone(), state);
    net.start(ME, H);
    assert_eq!(net.engines[ME].round(), round);
    net
}

#[test]
fn line_28_polka_at_vr_equal_to_the_locked_round_unlocks() {
    // lockedRound = vr = 1 with different values takes more than f equivocators in round 1; the
    // rule still says lockedRound ≤ vr: prevote the re-proposed value.
    let (v, w) = (val("v"), val("w"));
    let mut net = restored_with_lock(R2, (R1, v.clone()));
    net.deliver_all(ME, net.prevotes(&[1, 2, 3], R1, Some(&w)));
    let out = net.deliver(ME, net.proposal_at(R2, &w, Some(R1))).unwrap();
    assert_eq!(the_vote(&out, VoteKind::Prevote), (R2, Some(w.id())));

    // The same, locked in round 2 instead: lockedRound 2 > vr 1 and another value: nil.
    let r4 = Round(4);
    let mut net = restored_with_lock(r4, (R2, v.clone()));
    net.deliver_all(ME, net.prevotes(&[1, 2, 3], R1, Some(&w)));
    let out = net.deliver(ME, net.proposal_at(r4, &w, Some(R1))).unwrap();
    assert_eq!(the_vote(&out, VoteKind::Prevote), (r4, None));
}

#[test]
fn line_28_locked_above_vr_on_another_value_prevotes_nil() {
    let mut net = started();
    let (v, w) = (val("v"), val("w"));
    // Round 0: no proposal arrives (prevote nil); round 1: lock v.
    net.fire(ME, H, R0, TimeoutKind::Propose);
    next_round(&mut net, R0);
    let out = net.deliver(ME, net.proposal_at(R1, &v, None)).unwrap();
    assert_eq!(the_vote(&out, VoteKind::Prevote), (R1, Some(v.id())));
    let out = net.deliver_all(ME, net.prevotes(&[2, 3], R1, Some(&v)));
    assert_eq!(the_vote(&out, VoteKind::Precommit), (R1, Some(v.id())));
    assert_eq!(net.engines[ME].locked_round(), Some(R1));
    next_round(&mut net, R1);

    // A polka for w in round 0 that this node missed, and a proposal of w justified by it.
    net.deliver_all(ME, net.prevotes(&[1, 2, 3], R0, Some(&w)));
    let out = net.deliver(ME, net.proposal_at(R2, &w, Some(R0))).unwrap();
    assert_eq!(
        the_vote(&out, VoteKind::Prevote),
        (R2, None),
        "lockedRound 1 > vr 0 and lockedValue ≠ w"
    );
    assert_eq!(net.engines[ME].locked_round(), Some(R1));
}

#[test]
fn line_28_invalid_value_with_a_polka_is_prevoted_nil() {
    let mut net = started();
    let bad = val("bad but with a polka");
    net.fire(ME, H, R0, TimeoutKind::Propose);
    next_round(&mut net, R0);
    net.deliver_all(ME, net.prevotes(&[1, 2, 3], R0, Some(&bad)));
    let out = net
        .deliver(ME, net.proposal_at(R1, &bad, Some(R0)))
        .unwrap();
    assert_eq!(the_vote(&out, VoteKind::Prevote), (R1, None));
}

// ---------------------------------------------------------------------------------------------
// Lines 34, 36, 44, 47, 49

#[test]
fn line_34_prevote_timeout_is_scheduled_once_on_mixed_prevotes() {
    let mut net = started();
    let (v, w) = (val("v"), val("w"));
    let mut all = net.deliver(ME, net.proposal_at(R0, &v, None)).unwrap();
    assert_eq!(the_vote(&all, VoteKind::Prevote), (R0, Some(v.id())));

    let out = net
        .deliver(ME, net.vote(1, H, R0, VoteKind::Prevote, None))
        .unwrap();
    assert!(
        timeouts_of(&out, TimeoutKind::Prevote).is_empty(),
        "2 prevotes: {out:?}"
    );
    all.extend(out);

    // v, nil, w: 2f+1 prevotes, no polka for anything.
    let out = net
        .deliver(ME, net.vote(2, H, R0, VoteKind::Prevote, Some(&w)))
        .unwrap();
    let scheduled = timeouts_of(&out, TimeoutKind::Prevote);
    let config = net.config();
    assert_eq!(
        scheduled,
        vec![(
            Timeout {
                height: H,
                round: R0,
                kind: TimeoutKind::Prevote
            },
            config.timeouts.duration(TimeoutKind::Prevote, R0)
        )]
    );
    assert!(votes(&out).is_empty(), "no polka, no precommit: {out:?}");
    all.extend(out);

    // The fourth prevote does not schedule it again.
    all.extend(
        net.deliver(ME, net.vote(3, H, R0, VoteKind::Prevote, None))
            .unwrap(),
    );
    assert_eq!(timeouts_of(&all, TimeoutKind::Prevote).len(), 1);
    assert_eq!(net.engines[ME].step(), Step::Prevote);
    assert_eq!(net.engines[ME].votes_seen(R0, VoteKind::Prevote), 4);
}

#[test]
fn line_36_polka_in_prevote_step_locks_precommits_and_sets_valid() {
    let mut net = started();
    let v = val("v");
    net.deliver(ME, net.proposal_at(R0, &v, None)).unwrap();
    let out = net
        .deliver(ME, net.vote(1, H, R0, VoteKind::Prevote, Some(&v)))
        .unwrap();
    assert!(votes(&out).is_empty());
    assert_eq!(net.engines[ME].locked_round(), None);

    let out = net
        .deliver(ME, net.vote(2, H, R0, VoteKind::Prevote, Some(&v)))
        .unwrap();
    assert_eq!(the_vote(&out, VoteKind::Precommit), (R0, Some(v.id())));
    let engine = &net.engines[ME];
    assert_eq!(engine.step(), Step::Precommit);
    let state = engine.persistent_state();
    assert_eq!(state.locked, Some((R0, v.clone())));
    assert_eq!(state.valid, Some((R0, v.clone())));

    // "For the first time": more prevotes for v do not precommit again.
    let out = net
        .deliver(ME, net.vote(3, H, R0, VoteKind::Prevote, Some(&v)))
        .unwrap();
    assert!(votes(&out).is_empty(), "{out:?}");
}

#[test]
fn line_36_polka_in_precommit_step_only_updates_valid() {
    let mut net = started();
    let v = val("v");
    // Prevote nil (no proposal), see 2f+1 mixed prevotes, precommit nil on the prevote timeout.
    net.fire(ME, H, R0, TimeoutKind::Propose);
    let out = net.deliver_all(ME, net.prevotes(&[1, 2], R0, Some(&v)));
    assert_eq!(timeouts_of(&out, TimeoutKind::Prevote).len(), 1);
    let out = net.fire(ME, H, R0, TimeoutKind::Prevote);
    assert_eq!(the_vote(&out, VoteKind::Precommit), (R0, None));
    assert_eq!(net.engines[ME].step(), Step::Precommit);

    // Now the proposal and a third prevote for v arrive: a polka, seen in the precommit step.
    let mut out = net.deliver(ME, net.proposal_at(R0, &v, None)).unwrap();
    out.extend(
        net.deliver(ME, net.vote(3, H, R0, VoteKind::Prevote, Some(&v)))
            .unwrap(),
    );
    assert!(
        votes(&out).is_empty(),
        "no vote in the precommit step: {out:?}"
    );
    let state = net.engines[ME].persistent_state();
    assert_eq!(
        state.valid,
        Some((R0, v.clone())),
        "validValue/validRound updated"
    );
    assert_eq!(state.locked, None, "but no lock");
    assert_eq!(net.engines[ME].step(), Step::Precommit);
}

#[test]
fn line_44_nil_polka_precommits_nil() {
    let mut net = started();
    let v = val("v");
    net.deliver(ME, net.proposal_at(R0, &v, None)).unwrap();
    let out = net.deliver_all(ME, net.prevotes(&[1, 2], R0, None));
    assert!(
        votes(&out).is_empty(),
        "v, nil, nil is no nil polka: {out:?}"
    );
    let out = net
        .deliver(ME, net.vote(3, H, R0, VoteKind::Prevote, None))
        .unwrap();
    assert_eq!(the_vote(&out, VoteKind::Precommit), (R0, None));
    assert_eq!(net.engines[ME].step(), Step::Precommit);
    assert_eq!(net.engines[ME].locked_round(), None);
}

#[test]
fn line_47_precommit_timeout_is_scheduled_once_on_mixed_precommits() {
    let mut net = started();
    let (v, w) = (val("v"), val("w"));
    let mut all = net.deliver_all(
        ME,
        [
            net.vote(1, H, R0, VoteKind::Precommit, None),
            net.vote(2, H, R0, VoteKind::Precommit, Some(&w)),
        ],
    );
    assert!(timeouts_of(&all, TimeoutKind::Precommit).is_empty());
    let out = net
        .deliver(ME, net.vote(3, H, R0, VoteKind::Precommit, Some(&v)))
        .unwrap();
    assert_eq!(
        timeouts_of(&out, TimeoutKind::Precommit),
        vec![(
            Timeout {
                height: H,
                round: R0,
                kind: TimeoutKind::Precommit
            },
            net.config().timeouts.duration(TimeoutKind::Precommit, R0)
        )],
        "any step, any values"
    );
    all.extend(out);
    // Our own precommit (nil, after nil prevotes) is a fourth: not scheduled again.
    all.extend(net.fire(ME, H, R0, TimeoutKind::Propose));
    all.extend(net.deliver_all(ME, net.prevotes(&[1, 2], R0, None)));
    assert_eq!(votes_of(&all, VoteKind::Precommit), vec![(R0, None)]);
    assert_eq!(timeouts_of(&all, TimeoutKind::Precommit).len(), 1);
}

#[test]
fn line_49_decides_with_a_proposal_and_2f_plus_1_precommits() {
    let mut net = started();
    let v = val("v");
    net.deliver(ME, net.proposal_at(R0, &v, None)).unwrap();
    let out = net.deliver_all(ME, net.precommits(&[1, 2], R0, Some(&v)));
    assert!(decisions(&out).is_empty());
    let out = net
        .deliver(ME, net.vote(3, H, R0, VoteKind::Precommit, Some(&v)))
        .unwrap();
    let decided = decisions(&out);
    assert_eq!(decided.len(), 1);
    let d = &decided[0];
    assert_eq!((d.height, d.round, &d.value), (H, R0, &v));
    assert_eq!(d.certificate.value_id, v.id());
    assert_eq!(d.certificate.signers().count(), 3);
    d.certificate.verify(&net.table, &net.seats).unwrap();
    assert_eq!(net.engines[ME].step(), Step::Commit);
    assert_eq!(
        net.engines[ME].decision(H).map(|d| d.value.clone()),
        Some(v)
    );

    // Only the next height can start.
    assert_eq!(
        net.handle(ME, Input::StartHeight(Height(3))).unwrap_err(),
        InputError::BadStartHeight {
            requested: Height(3),
            expected: Height(2)
        }
    );
    net.start(ME, Height(2));
    assert_eq!(net.engines[ME].height(), Height(2));
    assert_eq!(net.engines[ME].locked_round(), None);
}

#[test]
fn line_49_decides_for_an_earlier_round_than_the_current_one() {
    let mut net = started();
    let v = val("v");
    for round in [R0, R1] {
        net.fire(ME, H, round, TimeoutKind::Propose);
        next_round(&mut net, round);
    }
    assert_eq!(net.engines[ME].round(), R2);

    // Precommits alone do not decide: the value is unknown without the proposal.
    let out = net.deliver_all(ME, net.precommits(&[1, 2, 3], R0, Some(&v)));
    assert!(decisions(&out).is_empty());
    let out = net.deliver(ME, net.proposal_at(R0, &v, None)).unwrap();
    let decided = decisions(&out);
    assert_eq!(decided.len(), 1, "{out:?}");
    assert_eq!((decided[0].height, decided[0].round), (H, R0));
    assert_eq!(decided[0].value, v);
    assert_eq!(decided[0].certificate.round, R0);
    decided[0]
        .certificate
        .verify(&net.table, &net.seats)
        .unwrap();
    assert_eq!(net.engines[ME].step(), Step::Commit);
}

#[test]
fn line_49_never_decides_an_invalid_value() {
    let mut net = started();
    let bad = val("bad");
    net.deliver(ME, net.proposal_at(R0, &bad, None)).unwrap();
    let out = net.deliver_all(ME, net.precommits(&[1, 2, 3], R0, Some(&bad)));
    assert!(decisions(&out).is_empty());
    assert_ne!(net.engines[ME].step(), Step::Commit);
}

// ---------------------------------------------------------------------------------------------
// Line 55: round skip

#[test]
fn line_55_skips_on_f_plus_1_messages_of_a_higher_round_but_not_on_f() {
    let mut net = started();
    let (v, w) = (val("v"), val("w"));
    // f = 1 sender (with two messages) is not enough.
    let out = net.deliver_all(
        ME,
        [
            net.vote(1, H, R2, VoteKind::Prevote, Some(&v)),
            net.vote(1, H, R2, VoteKind::Precommit, Some(&v)),
        ],
    );
    assert_eq!(net.engines[ME].round(), R0, "{out:?}");
    assert!(timeouts(&out).is_empty());

    // A message of another kind from a second sender (the round-2 proposal) makes f+1.
    let out = net.deliver(ME, net.proposal_at(R2, &w, None)).unwrap();
    assert_eq!(net.engines[ME].round(), R2);
    let propose = timeouts_of(&out, TimeoutKind::Propose);
    assert_eq!(propose.len(), 1);
    assert_eq!(propose[0].0.round, R2);
    // And round 2 proceeds at once: its proposal is already there (line 22).
    assert_eq!(the_vote(&out, VoteKind::Prevote), (R2, Some(w.id())));
}

#[test]
fn line_55_with_seven_participants_needs_three_senders() {
    let mut net = Net::new(7);
    net.start(ME, H);
    let v = val("v");
    let out = net.deliver_all(
        ME,
        [
            net.vote(1, H, R3, VoteKind::Prevote, Some(&v)),
            net.vote(2, H, R3, VoteKind::Precommit, None),
        ],
    );
    assert_eq!(net.engines[ME].round(), R0, "f = 2 senders: {out:?}");
    let out = net
        .deliver(ME, net.vote(4, H, R3, VoteKind::Prevote, None))
        .unwrap();
    assert_eq!(net.engines[ME].round(), R3);
    assert_eq!(net.engines[ME].step(), Step::Propose);
    assert_eq!(timeouts_of(&out, TimeoutKind::Propose)[0].0.round, R3);
}

#[test]
fn line_55_ignores_messages_of_lower_rounds() {
    let mut net = started();
    next_round(&mut net, R0);
    next_round(&mut net, R1);
    net.deliver_all(ME, net.prevotes(&[1, 2, 3], R1, None));
    assert_eq!(net.engines[ME].round(), R2);
}

// ---------------------------------------------------------------------------------------------
// Lines 57, 61, 65: the timeouts

/// One round of participant 0 with no proposal and no polka, through all three timeouts.
/// Returns the scheduled durations (propose, prevote, precommit).
fn timeout_round(net: &mut Net, round: Round) -> [std::time::Duration; 3] {
    let (v, w) = (val("v"), val("w"));
    // A stale timeout (another round) does nothing.
    assert!(net
        .fire(ME, H, round.next(), TimeoutKind::Propose)
        .is_empty());

    // Line 57: OnTimeoutPropose → prevote nil.
    let out = net.fire(ME, H, round, TimeoutKind::Propose);
    assert_eq!(the_vote(&out, VoteKind::Prevote), (round, None));
    assert_eq!(net.engines[ME].step(), Step::Prevote);
    assert!(
        net.fire(ME, H, round, TimeoutKind::Propose).is_empty(),
        "not in propose any more"
    );

    let out = net.deliver_all(
        ME,
        [
            net.vote(1, H, round, VoteKind::Prevote, Some(&v)),
            net.vote(2, H, round, VoteKind::Prevote, Some(&w)),
        ],
    );
    let prevote = timeouts_of(&out, TimeoutKind::Prevote);
    assert_eq!(prevote.len(), 1);

    // Line 61: OnTimeoutPrevote → precommit nil.
    let out = net.fire(ME, H, round, TimeoutKind::Prevote);
    assert_eq!(the_vote(&out, VoteKind::Precommit), (round, None));
    assert_eq!(net.engines[ME].step(), Step::Precommit);
    assert!(
        net.fire(ME, H, round, TimeoutKind::Prevote).is_empty(),
        "not in prevote any more"
    );

    let out = net.deliver_all(
        ME,
        [
            net.vote(1, H, round, VoteKind::Precommit, None),
            net.vote(2, H, round, VoteKind::Precommit, Some(&w)),
        ],
    );
    let precommit = timeouts_of(&out, TimeoutKind::Precommit);
    assert_eq!(precommit.len(), 1);

    // Line 65: OnTimeoutPrecommit → StartRound(round + 1).
    let out = net.fire(ME, H, round, TimeoutKind::Precommit);
    assert_eq!(net.engines[ME].round(), round.next());
    assert_eq!(net.engines[ME].step(), Step::Propose);
    let next_propose = timeouts_of(&out, TimeoutKind::Propose);
    assert_eq!(next_propose.len(), 1);
    assert_eq!(next_propose[0].0.round, round.next());
    [next_propose[0].1, prevote[0].1, precommit[0].1]
}

#[test]
fn lines_57_61_65_timeouts_act_and_grow_with_the_round() {
    let mut net = Net::new(4);
    let start = net.start(ME, H);
    let first_propose = timeouts_of(&start, TimeoutKind::Propose)[0].1;
    let r0 = timeout_round(&mut net, R0);
    let r1 = timeout_round(&mut net, R1);
    let r2 = timeout_round(&mut net, R2);
    // Propose timeouts of rounds 0, 1, 2, 3.
    assert!(first_propose < r0[0] && r0[0] < r1[0] && r1[0] < r2[0]);
    for kind in 1..3 {
        assert!(
            r0[kind] < r1[kind] && r1[kind] < r2[kind],
            "kind {kind}: {r0:?} {r1:?} {r2:?}"
        );
    }
    // Round 3: this node proposes; it asks the application for a value.
    assert_eq!(net.engines[ME].round(), R3);
    assert_eq!(net.engines[ME].proposer(), net.id(ME));
}

#[test]
fn a_stale_timeout_of_an_earlier_height_does_nothing() {
    let mut net = started();
    assert!(net
        .fire(ME, Height(0), R0, TimeoutKind::Precommit)
        .is_empty());
    assert_eq!(net.engines[ME].round(), R0);
}

// ---------------------------------------------------------------------------------------------
// Proposer rotation and proposing

#[test]
fn a_proposal_from_a_non_proposer_is_refused() {
    let mut net = started();
    let v = val("v");
    assert_eq!(net.proposer(H, R0), 1);
    for signer in [0, 2, 3] {
        let err = net
            .deliver(ME, net.proposal(signer, H, R0, &v, None))
            .unwrap_err();
        assert_eq!(
            err,
            InputError::NotProposer {
                from: net.id(signer),
                height: H,
                round: R0
            }
        );
    }
    // The round-0 proposer is not the round-1 proposer.
    let err = net
        .deliver(ME, net.proposal(1, H, R1, &v, None))
        .unwrap_err();
    assert!(
        matches!(err, InputError::NotProposer { round: R1, .. }),
        "{err:?}"
    );
    // The refused proposals changed nothing: the rightful one is still prevoted.
    assert_eq!(net.engines[ME].step(), Step::Propose);
    let out = net.deliver(ME, net.proposal_at(R0, &v, None)).unwrap();
    assert_eq!(the_vote(&out, VoteKind::Prevote), (R0, Some(v.id())));
}

#[test]
fn the_proposer_rotates_with_height_and_round() {
    let net = Net::new(4);
    for h in 1..5u64 {
        for r in 0..5u32 {
            assert_eq!(
                net.proposer(Height(h), Round(r)),
                ((h + u64::from(r)) % 4) as usize
            );
        }
    }
}

#[test]
fn a_proposal_whose_valid_round_is_not_below_its_round_is_refused() {
    let mut net = started();
    let v = val("v");
    let err = net
        .deliver(ME, net.proposal_at(R0, &v, Some(R0)))
        .unwrap_err();
    assert!(matches!(err, InputError::BadValidRound { .. }), "{err:?}");
}

#[test]
fn the_proposer_asks_for_a_value_proposes_it_and_prevotes_it() {
    let mut net = Net::new(4);
    let p = net.proposer(H, R0);
    let out = net.start(p, H);
    assert!(out.contains(&Output::RequestValue {
        height: H,
        round: R0
    }));
    let v = val("mine");
    let out = net
        .handle(
            p,
            Input::ValueReady {
                height: H,
                round: R0,
                value: v.clone(),
            },
        )
        .unwrap();
    let proposed = proposals(&out);
    assert_eq!(proposed.len(), 1);
    assert_eq!(proposed[0].value, v);
    assert_eq!(proposed[0].header().valid_round, None);
    assert_eq!(the_vote(&out, VoteKind::Prevote), (R0, Some(v.id())));
    // A late second answer does not make it propose twice.
    let again = net
        .handle(
            p,
            Input::ValueReady {
                height: H,
                round: R0,
                value: val("other"),
            },
        )
        .unwrap();
    assert!(proposals(&again).is_empty());
}

// ---------------------------------------------------------------------------------------------
// The hidden lock

/// Round 0: participant 0 alone sees the polka for v and locks it. Round 1: the proposer (2) did
/// not see the polka and proposes w; participant 0 respects its lock and prevotes nil. Its gossip
/// tick forwards the round-0 polka; round 1 ends without a polka; the round-2 proposer (3)
/// re-proposes v with validRound 0, and everyone decides v.
#[test]
fn hidden_lock_is_respected_and_gossip_lets_the_next_proposer_repropose_it() {
    let mut net = Net::new(4);
    let all = [0, 1, 2, 3];
    let (v, w) = (val("v"), val("w"));
    for i in all {
        net.start(i, H);
    }

    // Round 0. Proposer 1 proposes v; 3 never receives it.
    let out1 = net
        .handle(
            1,
            Input::ValueReady {
                height: H,
                round: R0,
                value: v.clone(),
            },
        )
        .unwrap();
    let p0 = WireMessage::Proposal(proposals(&out1)[0].clone());
    let pv1 = WireMessage::Vote(votes(&out1)[0].clone());
    let pv0 = WireMessage::Vote(votes(&net.deliver(0, p0.clone()).unwrap())[0].clone());
    let pv2 = WireMessage::Vote(votes(&net.deliver(2, p0.clone()).unwrap())[0].clone());
    let pv3 = WireMessage::Vote(votes(&net.fire(3, H, R0, TimeoutKind::Propose))[0].clone());

    // 0 sees the polka {0, 1, 2} and locks v; the others see only two prevotes for v.
    let out = net.deliver_all(0, [pv1.clone(), pv2]);
    assert_eq!(the_vote(&out, VoteKind::Precommit), (R0, Some(v.id())));
    let mut precommits = votes(&out);
    for (i, seen) in [
        (1, [pv3.clone(), pv0.clone()]),
        (2, [pv3.clone(), pv0.clone()]),
        (3, [pv0, pv1]),
    ] {
        let out = net.deliver_all(i, seen);
        assert_eq!(timeouts_of(&out, TimeoutKind::Prevote).len(), 1);
        let out = net.fire(i, H, R0, TimeoutKind::Prevote);
        assert_eq!(the_vote(&out, VoteKind::Precommit), (R0, None));
        precommits.extend(votes(&out));
        assert_eq!(net.engines[i].locked_round(), None);
        assert_eq!(net.engines[i].valid_round(), None);
    }
    let initial = precommits
        .into_iter()
        .map(|pc| {
            (
                net.index(pc.vote.signer),
                vec![Output::Broadcast(WireMessage::Vote(pc))],
            )
        })
        .collect();
    net.flood(&all, initial, |_, _| unreachable!());
    let mut round_1 = Vec::new();
    for i in all {
        round_1.push((i, net.fire(i, H, R0, TimeoutKind::Precommit)));
        assert_eq!(net.engines[i].round(), R1);
    }

    // Round 1. Proposer 2 did not see the polka: it asks for a fresh value.
    assert!(round_1[2].1.contains(&Output::RequestValue {
        height: H,
        round: R1
    }));
    let out2 = net
        .handle(
            2,
            Input::ValueReady {
                height: H,
                round: R1,
                value: w.clone(),
            },
        )
        .unwrap();
    let p1 = proposals(&out2)[0].clone();
    assert_eq!(
        (p1.value.clone(), p1.header().valid_round),
        (w.clone(), None)
    );
    let out0 = net.deliver(0, WireMessage::Proposal(p1.clone())).unwrap();
    assert_eq!(
        the_vote(&out0, VoteKind::Prevote),
        (R1, None),
        "0 is locked on v"
    );
    let out1 = net.deliver(1, WireMessage::Proposal(p1)).unwrap();
    assert_eq!(the_vote(&out1, VoteKind::Prevote), (R1, Some(w.id())));
    let out3 = net.fire(3, H, R1, TimeoutKind::Propose);
    assert_eq!(the_vote(&out3, VoteKind::Prevote), (R1, None));

    // 0's gossip tick forwards the proposal and the polka behind its valid value.
    let gossip = net.handle(0, Input::GossipTick).unwrap();
    let forwarded = broadcasts(&gossip);
    assert!(forwarded
        .iter()
        .any(|m| matches!(m, WireMessage::Proposal(p) if p.header().round == R0)));
    let polka: std::collections::BTreeSet<PeerId> = votes(&gossip)
        .into_iter()
        .filter(|pv| pv.vote.round == R0 && pv.vote.kind == VoteKind::Prevote)
        .inspect(|pv| assert_eq!(pv.vote.value, Some(v.id())))
        .map(|pv| pv.vote.signer)
        .collect();
    assert_eq!(polka, [0, 1, 2].map(|i| net.id(i)).into(), "{gossip:?}");
    net.flood(&all, vec![(0, gossip)], |_, _| unreachable!());
    for i in [1, 2, 3] {
        assert_eq!(
            net.engines[i].valid_round(),
            Some(R0),
            "{i} learnt the polka"
        );
        assert_eq!(net.engines[i].locked_round(), None);
    }

    // Round 1 ends without a polka (w: 1, 2; nil: 0, 3).
    net.flood(
        &all,
        vec![(0, out0), (1, out1), (2, out2), (3, out3)],
        |_, _| unreachable!(),
    );
    let mut nil_precommits = Vec::new();
    for i in all {
        let out = net.fire(i, H, R1, TimeoutKind::Prevote);
        assert_eq!(
            the_vote(&out, VoteKind::Precommit),
            (R1, None),
            "participant {i}"
        );
        nil_precommits.push((i, out));
    }
    net.flood(&all, nil_precommits, |_, _| unreachable!());
    let mut round_2 = Vec::new();
    for i in all {
        round_2.push((i, net.fire(i, H, R1, TimeoutKind::Precommit)));
    }

    // Round 2. Proposer 3 re-proposes v with validRound 0, and it is decided.
    let p2 = proposals(&round_2[3].1);
    assert_eq!(p2.len(), 1);
    assert_eq!(p2[0].value, v);
    assert_eq!(p2[0].header().valid_round, Some(R0));
    let log = net.flood(&all, round_2, |_, _| unreachable!());
    for i in all {
        let decided = decisions(&by(&log, i));
        assert_eq!(decided.len(), 1, "participant {i} decides");
        assert_eq!((decided[0].height, decided[0].round), (H, R2));
        assert_eq!(decided[0].value, v);
        decided[0]
            .certificate
            .verify(&net.table, &net.seats)
            .unwrap();
        // 0 prevoted v in round 2 (line 28: lockedRound 0 ≤ vr 0).
        let prevotes = votes_of(&by(&log, i), VoteKind::Prevote);
        assert_eq!(prevotes, vec![(R2, Some(v.id()))], "participant {i}");
    }
}
