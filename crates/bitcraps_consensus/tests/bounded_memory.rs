//! Memory stays bounded whatever peers send: far-future heights and rounds are refused, the
//! future-height buffer is capped per signer, and refused inputs change nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bitcraps_consensus::*;
use common::*;

const ME: usize = 0;

#[test]
fn messages_before_the_first_height_are_refused() {
    let mut net = Net::new(4);
    let err = net
        .deliver(ME, net.vote(1, H, Round(0), VoteKind::Prevote, None))
        .unwrap_err();
    assert_eq!(err, InputError::NotStarted);
}

#[test]
fn heights_far_ahead_are_refused_and_near_ones_buffered() {
    let mut net = Net::new(4);
    net.start(ME, H);
    let ahead = net.config().limits.max_future_heights;
    let last = Height(H.0 + ahead);
    let too_far = Height(H.0 + ahead + 1);

    let out = net
        .deliver(ME, net.vote(1, last, Round(0), VoteKind::Prevote, None))
        .unwrap();
    assert!(out.is_empty());
    assert_eq!(net.engines[ME].buffered_messages(), 1);

    for message in [
        net.vote(1, too_far, Round(0), VoteKind::Prevote, None),
        net.proposal(
            net.proposer(too_far, Round(0)),
            too_far,
            Round(0),
            &val("v"),
            None,
        ),
        net.vote(2, Height(u64::MAX), Round(0), VoteKind::Precommit, None),
    ] {
        let height = message.height();
        assert_eq!(
            net.deliver(ME, message).unwrap_err(),
            InputError::HeightTooFarAhead { height, current: H }
        );
    }
    assert_eq!(
        net.engines[ME].buffered_messages(),
        1,
        "refusals change nothing"
    );
}

#[test]
fn the_future_buffer_is_capped_per_signer_and_replayed_at_the_next_height() {
    let cap = 3;
    let mut net = Net::with_config(4, |c| c.limits.max_buffered_per_signer = cap);
    net.start(ME, H);
    let next = H.next();
    let v = val("v");
    let from_1: Vec<WireMessage> = (0..cap as u32 + 1)
        .map(|r| {
            net.vote(
                1,
                next,
                Round(r / 2),
                if r % 2 == 0 {
                    VoteKind::Prevote
                } else {
                    VoteKind::Precommit
                },
                Some(&v),
            )
        })
        .collect();
    for m in &from_1[..cap] {
        assert!(net.deliver(ME, m.clone()).unwrap().is_empty());
    }
    // The same message again is not counted twice.
    net.deliver(ME, from_1[0].clone()).unwrap();
    assert_eq!(net.engines[ME].buffered_messages(), cap);
    assert_eq!(
        net.deliver(ME, from_1[cap].clone()).unwrap_err(),
        InputError::BufferFull(net.id(1))
    );
    // Other signers have their own share.
    net.deliver(ME, net.vote(2, next, Round(0), VoteKind::Prevote, Some(&v)))
        .unwrap();
    assert_eq!(net.engines[ME].buffered_messages(), cap + 1);

    // Decide height 1; the buffered messages of height 2 are replayed and the buffer drained.
    let h1 = val("h1");
    net.deliver(ME, net.proposal_at(Round(0), &h1, None))
        .unwrap();
    let out = net.deliver_all(ME, net.precommits(&[1, 2, 3], Round(0), Some(&h1)));
    assert_eq!(decisions(&out).len(), 1);
    net.start(ME, next);
    assert_eq!(net.engines[ME].buffered_messages(), 0);
    assert_eq!(net.engines[ME].votes_seen(Round(0), VoteKind::Prevote), 2);
    assert_eq!(net.engines[ME].votes_seen(Round(0), VoteKind::Precommit), 1);
    assert_eq!(net.engines[ME].votes_seen(Round(1), VoteKind::Prevote), 1);
    // The share is free again.
    let later = Height(next.0 + 1);
    net.deliver(ME, net.vote(1, later, Round(0), VoteKind::Prevote, None))
        .unwrap();
    assert_eq!(net.engines[ME].buffered_messages(), 1);
}

#[test]
fn rounds_far_ahead_are_refused() {
    let mut net = Net::new(4);
    net.start(ME, H);
    let ahead = net.config().limits.max_rounds_ahead;
    let last = Round(ahead);
    let too_far = Round(ahead + 1);

    net.deliver(ME, net.vote(1, H, last, VoteKind::Prevote, None))
        .unwrap();
    assert_eq!(net.engines[ME].votes_seen(last, VoteKind::Prevote), 1);

    assert_eq!(
        net.deliver(ME, net.vote(2, H, too_far, VoteKind::Prevote, None))
            .unwrap_err(),
        InputError::RoundTooFarAhead {
            from: net.id(2),
            round: too_far,
            current: Round(0)
        }
    );
    assert_eq!(net.engines[ME].votes_seen(too_far, VoteKind::Prevote), 0);
    let p = net.proposer(H, too_far);
    assert!(matches!(
        net.deliver(ME, net.proposal(p, H, too_far, &val("v"), None))
            .unwrap_err(),
        InputError::RoundTooFarAhead { .. }
    ));
    assert_eq!(
        net.deliver(
            ME,
            net.vote(3, H, Round(u32::MAX), VoteKind::Precommit, None)
        )
        .unwrap_err(),
        InputError::RoundTooFarAhead {
            from: net.id(3),
            round: Round(u32::MAX),
            current: Round(0)
        }
    );
    // Nothing of the refused messages counted towards a round skip.
    assert_eq!(net.engines[ME].round(), Round(0));
}

#[test]
fn the_round_window_moves_with_the_round() {
    let mut net = Net::new(4);
    net.start(ME, H);
    let ahead = net.config().limits.max_rounds_ahead;
    net.fire(ME, H, Round(0), TimeoutKind::Precommit);
    assert_eq!(net.engines[ME].round(), Round(1));
    net.deliver(
        ME,
        net.vote(1, H, Round(ahead + 1), VoteKind::Prevote, None),
    )
    .unwrap();
    assert_eq!(
        net.engines[ME].votes_seen(Round(ahead + 1), VoteKind::Prevote),
        1
    );
}

#[test]
fn a_flood_of_conflicting_votes_counts_its_signer_once() {
    let mut net = Net::new(4);
    net.start(ME, H);
    for i in 0..20u8 {
        // A flood of distinct votes from one signer in one round: one signer, however many votes.
        let value = val(&format!("v{i}"));
        let _ = net
            .deliver(
                ME,
                net.vote(1, H, Round(5), VoteKind::Prevote, Some(&value)),
            )
            .unwrap();
    }
    assert_eq!(net.engines[ME].votes_seen(Round(5), VoteKind::Prevote), 1);
}
