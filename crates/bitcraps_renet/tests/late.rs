//! A player who joins late catches up from genesis through the relay: every decided height
//! comes with its commit certificate, checked before it is applied (and each block names the
//! state hash it builds on). A seat that serves a forged certificate is reported, never
//! trusted.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use bevy::prelude::*;
use bevy_bitcraps::bitcraps_consensus::{PeerId, Value, WireMessage};
use bevy_bitcraps::*;
use bitcraps_renet::testing::NetTable;
use common::*;

const ALL: [usize; 4] = [0, 1, 2, 3];

/// Test hook on seat 2: serve `to` the decision of height 1 — forged if `forge`.
#[derive(Resource, Default)]
struct Serve {
    to: Option<PeerId>,
    forge: bool,
    sent: u32,
    frames: u64,
}

fn serve(mut serve: ResMut<Serve>, node: Res<ConsensusNode>, mut outbox: ResMut<NetOutbox>) {
    serve.frames += 1;
    let Some(to) = serve.to else {
        return;
    };
    if serve.sent >= 3 || !serve.frames.is_multiple_of(10) {
        return;
    }
    let Some(mut decision) = node.journal().values().next().cloned() else {
        return;
    };
    if serve.forge {
        decision.value = Value::new(b"a block nobody decided".to_vec());
    }
    let bytes = Envelope::Consensus(WireMessage::Decision(decision))
        .encode()
        .unwrap();
    outbox.0.push(OutboundPacket {
        to: Destination::Peer(to),
        bytes: bytes.into(),
    });
    serve.sent += 1;
}

fn table(seed: u64) -> NetTable {
    NetTable::new(4, seed, |r| r, |_, c| c, &mut |i, app| {
        bots(i, app);
        if i == 2 {
            app.init_resource::<Serve>().add_systems(
                Update,
                serve
                    .in_set(BitCrapsSystems::Send)
                    .before(TransportSystems::Flush),
            );
        }
    })
    .unwrap()
}

fn reported(t: &NetTable, i: usize, offender: PeerId) -> bool {
    seen(t, i).misbehaviour.iter().any(|m| {
        m.offender == offender
            && matches!(
                &m.misbehaviour,
                Misbehaviour::InvalidInput(RejectError::Verify { .. })
            )
    })
}

/// Plays without player 3, then lets it join and has seat 2 serve it a (forged) decision.
fn late_join(seed: u64, forge: bool) -> NetTable {
    let mut t = table(seed);
    let late = t.apps.pop().unwrap();
    assert!(t.run_until(20_000, WALL, |t| t.min_height(&[0, 1, 2]) >= 30));
    assert_eq!(late.world().resource::<TableView>().height.0, 0);
    t.apps.push(late);
    assert!(t.run_until(3_000, WALL, |t| t.all_seated(&ALL)));
    let late_peer = t.keys[3].peer_id();
    {
        let mut hook = t.apps[2].world_mut().resource_mut::<Serve>();
        hook.to = Some(late_peer);
        hook.forge = forge;
    }
    let target = t.min_height(&[0, 1, 2]);
    assert!(
        t.run_until(20_000, WALL, |t| t.view(3).height.0 >= target + 5
            && t.apps[2].world().resource::<Serve>().sent >= 3),
        "player 3 at {} of {target}",
        t.view(3).height
    );
    same_hashes(&t, &ALL, target).unwrap();
    assert!(seen(&t, 3).desync.is_empty());
    t
}

#[test]
fn a_late_player_catches_up_and_reports_a_forged_certificate() {
    let t = late_join(101, true);
    let forger = t.keys[2].peer_id();
    assert!(reported(&t, 3, forger), "the forged decision is reported");
    assert!(
        seen(&t, 3)
            .misbehaviour
            .iter()
            .all(|m| m.offender == forger),
        "nobody else is accused"
    );
    for i in [0, 1, 2] {
        assert!(seen(&t, i).misbehaviour.is_empty());
    }
}

#[test]
fn a_genuine_decision_served_late_is_not_reported() {
    // Negative control of `reported`: the same hook serving the real decision.
    let t = late_join(102, false);
    assert!(!reported(&t, 3, t.keys[2].peer_id()));
    assert!(seen(&t, 3).misbehaviour.is_empty());
}
