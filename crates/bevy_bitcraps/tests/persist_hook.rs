//! The persist hook's contract: the engine's persistent state (its signing guard) is durable
//! before any message the engine signed leaves the node; when the hook fails, every outbound
//! message of that step is dropped, the failure is reported, and the node keeps running.
//!
//! The audit sits in the transport (a wrapper around the in-memory transport), so it sees
//! exactly what leaves the App, in the order it leaves.
//!
//! Negative control (tried by hand): in `crates/bevy_bitcraps/src/node.rs`, removing the match
//! arm `ref o if !send && guarded_by_me(o, me) => {}` of `ConsensusNode::handle` (so the step's
//! proposals and votes are queued even though the hook failed) makes
//! `a_failing_hook_sends_nothing_signed` fail: the audit sees 12 of the node's own proposals and
//! votes leave with no durable guard (`sent_signed` 12, expected 0).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use bevy::prelude::*;
use bevy_bitcraps::bitcraps_consensus::{
    Height, PeerId, PersistentState, Round, VoteKind, WireMessage,
};
use bevy_bitcraps::testing::TestTable;
use bevy_bitcraps::*;

/// What the hook and the transport saw, in order.
#[derive(Default)]
struct Audit {
    /// The hook fails while this is set.
    failing: bool,
    /// Hook calls.
    calls: usize,
    /// States made "durable" (the hook returned Ok), in order.
    durable: Vec<PersistentState>,
    /// Own proposals and votes that left the node.
    sent_signed: usize,
    /// Own proposals and votes that left the node with no durable guard covering them.
    unguarded: Vec<String>,
}

type Shared = Arc<Mutex<Audit>>;

/// Is `at` (a signed message's height and round) covered by the durable guard slot `slot`?
/// Covered: the guard holds this very message, or one of a later (height, round), after which
/// a restarted engine never signs another message of that kind at `at`.
fn covered<T: PartialEq>(slot: Option<(Height, Round, &T)>, at: (Height, Round), msg: &T) -> bool {
    match slot {
        Some((h, r, held)) if (h, r) == at => held == msg,
        Some((h, r, _)) => (h, r) > at,
        None => false,
    }
}

fn check_sent(audit: &mut Audit, me: PeerId, message: &WireMessage) {
    if message.author() != Some(me) {
        return;
    }
    let guarded = match message {
        WireMessage::Vote(vote) => audit.durable.iter().any(|s| {
            let slot = s
                .guard
                .last_vote(vote.vote.kind)
                .map(|v| (v.vote.height, v.vote.round, v));
            covered(slot, (vote.vote.height, vote.vote.round), vote)
        }),
        WireMessage::Proposal(proposal) => audit.durable.iter().any(|s| {
            let slot = s
                .guard
                .last_proposal()
                .map(|p| (p.header().height, p.header().round, p));
            covered(
                slot,
                (proposal.header().height, proposal.header().round),
                proposal,
            )
        }),
        _ => return,
    };
    audit.sent_signed += 1;
    if !guarded {
        audit.unguarded.push(format!("{message:?}"));
    }
}

/// The in-memory transport, with every outgoing packet audited.
struct Audited {
    inner: MemoryTransport,
    me: PeerId,
    audit: Shared,
}

impl Transport for Audited {
    fn receive(&mut self, inbox: &mut VecDeque<InboundPacket>) {
        self.inner.receive(inbox);
    }

    fn send(&mut self, packet: OutboundPacket) {
        if let Ok(Envelope::Consensus(message)) = Envelope::decode(&packet.bytes, 1 << 22) {
            check_sent(&mut self.audit.lock().unwrap(), self.me, &message);
        }
        self.inner.send(packet);
    }
}

#[derive(Resource, Default)]
struct Failures(Vec<PersistFailed>);

fn collect_failures(mut failures: ResMut<Failures>, mut reader: MessageReader<PersistFailed>) {
    failures.0.extend(reader.read().cloned());
}

/// A table of 4 where App 0 persists through an audited hook and sends through an audited
/// transport.
fn audited_table(seed: u64, audit: &Shared) -> TestTable {
    let mut t = TestTable::new(4, seed, |_, config| config, |_, _| {}).expect("valid table");
    let me = t.keys[0].peer_id();
    let inner = t.hub.connect(me);
    let app = &mut t.apps[0];
    app.init_resource::<Failures>()
        .add_systems(Update, collect_failures.after(BitCrapsSystems::Cleanup))
        .set_transport(Audited {
            inner,
            me,
            audit: audit.clone(),
        });
    let hook_audit = audit.clone();
    app.world_mut()
        .resource_mut::<ConsensusNode>()
        .set_persist_hook(Box::new(
            move |state: &PersistentState| -> Result<(), PersistError> {
                let mut audit = hook_audit.lock().map_err(|_| "audit poisoned")?;
                audit.calls += 1;
                if audit.failing {
                    return Err("disk full (simulated)".into());
                }
                audit.durable.push(state.clone());
                Ok(())
            },
        ));
    t
}

#[test]
fn every_signed_message_leaves_after_its_guard_is_durable() {
    let audit = Shared::default();
    let mut t = audited_table(71, &audit);
    assert!(
        t.run_until(2_000, |t| t.min_height(&[0, 1, 2, 3]) >= 6),
        "the table decides 6 heights"
    );
    let audit = audit.lock().unwrap();
    assert!(audit.calls > 0 && !audit.durable.is_empty());
    assert!(
        audit.sent_signed >= 12,
        "App 0 voted ({} signed messages sent)",
        audit.sent_signed
    );
    assert!(
        audit.unguarded.is_empty(),
        "signed messages left before their guard was durable: {:?}",
        audit.unguarded
    );
    assert_eq!(
        t.apps[0]
            .world()
            .resource::<ConsensusNode>()
            .persist_failures(),
        0
    );
    assert!(t.apps[0].world().resource::<Failures>().0.is_empty());
}

#[test]
fn a_failing_hook_sends_nothing_signed() {
    let audit = Shared::default();
    audit.lock().unwrap().failing = true;
    let mut t = audited_table(72, &audit);
    // The three others are a quorum: the table goes on without App 0's votes.
    assert!(
        t.run_until(2_000, |t| t.min_height(&[1, 2, 3]) >= 5),
        "the other three decide without App 0"
    );
    {
        let audit = audit.lock().unwrap();
        assert!(audit.calls > 0, "the hook was asked");
        assert!(audit.durable.is_empty());
        assert_eq!(
            audit.sent_signed, 0,
            "App 0 sent signed messages although its guard never became durable: {:?}",
            audit.unguarded
        );
    }
    // The node kept running (it follows the decisions) and said why it is silent.
    let node = t.apps[0].world().resource::<ConsensusNode>();
    assert!(node.persist_failures() > 0);
    let failures = &t.apps[0].world().resource::<Failures>().0;
    assert!(!failures.is_empty(), "PersistFailed was reported");
    assert!(failures.iter().all(|f| f.error.contains("disk full")));
    assert!(failures.iter().any(|f| f.dropped > 0));
    assert!(t.view(0).height.0 >= 4, "App 0 still applies decisions");

    // The disk recovers: App 0 votes again, every signed message behind a durable guard.
    audit.lock().unwrap().failing = false;
    let from = t.min_height(&[0, 1, 2, 3]);
    assert!(t.run_until(2_000, |t| t.min_height(&[0, 1, 2, 3]) >= from + 4));
    let audit = audit.lock().unwrap();
    assert!(
        audit.sent_signed > 0,
        "App 0 votes again once persisting works"
    );
    assert!(audit.unguarded.is_empty(), "{:?}", audit.unguarded);
    // Its votes are durable again: the last durable guard holds a precommit of a recent height.
    let last = audit
        .durable
        .last()
        .and_then(|s| s.guard.last_vote(VoteKind::Precommit))
        .map(|v| v.vote.height.0)
        .unwrap_or(0);
    assert!(
        last > from,
        "durable precommit at height {last}, resumed at {from}"
    );
}
