//! Catch-up: a node that missed a height learns the decision from a peer that has it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bitcraps_consensus::*;
use common::*;

const LAGGARD: usize = 3;
const PEER: usize = 0;
const QUORUM: [usize; 3] = [0, 1, 2];

/// The `SendTo` outputs addressed to `peer`, as decisions.
fn decisions_sent_to(outputs: &[Output], peer: PeerId) -> Vec<Decision> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::SendTo {
                peer: to,
                message: WireMessage::Decision(d),
            } if *to == peer => Some(d.clone()),
            _ => None,
        })
        .collect()
}

/// The laggard's nil prevote of (height, round 0), after its propose timeout.
fn laggard_prevote(net: &mut Net, height: Height) -> WireMessage {
    let out = net.fire(LAGGARD, height, Round(0), TimeoutKind::Propose);
    WireMessage::Vote(votes(&out)[0].clone())
}

#[test]
fn a_node_that_missed_a_height_gets_the_decision_and_decides_it() {
    let mut net = Net::new(4);
    net.start(LAGGARD, H);
    let log = net.run_height(&QUORUM, H);
    let decided = decisions(&by(&log, PEER));
    assert_eq!(decided.len(), 1);
    assert_eq!(net.engines[PEER].step(), Step::Commit);
    assert!(decisions(&by(&log, LAGGARD)).is_empty());

    // In the gossip tick of its decision the peer takes a vote of that height for a peer that
    // is finishing the height on its own, and stays quiet...
    let prevote = laggard_prevote(&mut net, H);
    let quiet = net.deliver(PEER, prevote.clone()).unwrap();
    assert!(
        decisions_sent_to(&quiet, net.id(LAGGARD)).is_empty(),
        "{quiet:?}"
    );
    // ...but once a tick has passed, the laggard's repeated vote is answered with the decision.
    net.handle(PEER, Input::GossipTick).unwrap();
    let out = net.deliver(PEER, prevote.clone()).unwrap();
    let sent = decisions_sent_to(&out, net.id(LAGGARD));
    assert_eq!(sent.len(), 1, "{out:?}");
    assert_eq!(sent[0].value, decided[0].value);
    assert_eq!(sent[0].certificate, decided[0].certificate);
    // Not again within the catch-up interval (bounded replies), again after it.
    let interval = net.config().limits.catch_up_interval_ticks;
    assert!(interval > 1, "longer than one gossip tick");
    assert!(net.deliver(PEER, prevote.clone()).unwrap().is_empty());
    for _ in 1..interval {
        net.handle(PEER, Input::GossipTick).unwrap();
        assert!(net.deliver(PEER, prevote.clone()).unwrap().is_empty());
    }
    net.handle(PEER, Input::GossipTick).unwrap();
    let again = net.deliver(PEER, prevote).unwrap();
    assert_eq!(decisions_sent_to(&again, net.id(LAGGARD)).len(), 1);

    // The laggard decides from the decision.
    let out = net
        .deliver(LAGGARD, WireMessage::Decision(sent[0].clone()))
        .unwrap();
    let caught_up = decisions(&out);
    assert_eq!(caught_up.len(), 1, "{out:?}");
    assert_eq!(
        (caught_up[0].height, caught_up[0].round),
        (H, decided[0].round)
    );
    assert_eq!(caught_up[0].value, decided[0].value);
    assert_eq!(caught_up[0].certificate, decided[0].certificate);
    assert_eq!(net.engines[LAGGARD].step(), Step::Commit);
    net.start(LAGGARD, H.next());
    assert_eq!(net.engines[LAGGARD].height(), H.next());
}

#[test]
fn a_node_two_heights_behind_catches_up_on_both() {
    let mut net = Net::new(4);
    net.start(LAGGARD, H);
    let first = net.run_height(&QUORUM, H);
    let second = net.run_height(&QUORUM, H.next());
    let h1 = decisions(&by(&first, PEER)).remove(0);
    let h2 = decisions(&by(&second, PEER)).remove(0);
    // The peer has moved on to height 3 (whose proposer, the laggard, is silent).
    let h3 = Height(3);
    net.start(PEER, h3);
    assert_eq!(net.engines[PEER].height(), h3);

    let prevote = laggard_prevote(&mut net, H);
    let out = net.deliver(PEER, prevote).unwrap();
    let sent = decisions_sent_to(&out, net.id(LAGGARD));
    assert_eq!(sent.len(), 2, "heights 1 and 2, in order: {out:?}");
    assert_eq!((sent[0].height(), sent[1].height()), (H, H.next()));

    let mut out = Vec::new();
    for d in sent {
        out.extend(net.deliver(LAGGARD, WireMessage::Decision(d)).unwrap());
    }
    let caught_up = decisions(&out);
    assert_eq!(caught_up.len(), 1, "height 2 waits for StartHeight(2)");
    assert_eq!(caught_up[0].value, h1.value);
    let out = net.start(LAGGARD, H.next());
    let caught_up = decisions(&out);
    assert_eq!(
        caught_up.len(),
        1,
        "the buffered decision of height 2 is replayed"
    );
    assert_eq!(caught_up[0].height, H.next());
    assert_eq!(caught_up[0].value, h2.value);
    assert_eq!(caught_up[0].certificate, h2.certificate);
}

#[test]
fn a_decision_whose_value_is_invalid_here_is_refused() {
    let mut net = Net::new(4);
    net.start(LAGGARD, H);
    // Participants 0, 1, 2 certify a value the laggard's application rejects (a desync).
    let precommits: Vec<WireMessage> = QUORUM
        .iter()
        .map(|&i| net.vote(i, H, Round(0), VoteKind::Precommit, Some(&val("bad"))))
        .collect();
    let certificate = CommitCertificate {
        table: net.table,
        height: H,
        round: Round(0),
        value_id: val("bad").id(),
        precommits: precommits
            .iter()
            .map(|m| match m {
                WireMessage::Vote(v) => CommitSignature {
                    signer: v.vote.signer,
                    signature: v.signature,
                },
                _ => unreachable!(),
            })
            .collect(),
    };
    let decision = WireMessage::Decision(Decision {
        certificate,
        value: val("bad"),
    });
    assert!(matches!(
        net.deliver(LAGGARD, decision).unwrap_err(),
        InputError::InvalidDecidedValue { height: H, .. }
    ));
    assert_ne!(net.engines[LAGGARD].step(), Step::Commit);
}
