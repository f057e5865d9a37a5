//! A reliable channel that would overflow must not kill an honest player: the relay keeps what
//! does not fit in a bounded queue and drops the oldest messages, and the player, once it
//! reads again, catches up. Negative control: renet itself disconnects a connection whose
//! reliable channel overflows.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::time::Duration;

use bevy_bitcraps::testing::FRAME;
use bitcraps_renet::bevy_renet::renet::{
    ChannelError, DisconnectReason, RenetClient as RawRenetClient,
};
use bitcraps_renet::client::LINK_TIMEOUT_SECONDS;
use bitcraps_renet::queue::{LaneQueues, LaneSink};
use bitcraps_renet::{connection_config, ChannelBudget, Lane};
use common::*;

const ALL: [usize; 4] = [0, 1, 2, 3];

fn small() -> ChannelBudget {
    ChannelBudget {
        max_message_bytes: 8 * 1024,
        consensus_bytes: 32 * 1024,
        catch_up_bytes: 32 * 1024,
        heartbeat_bytes: 4 * 1024,
        ..ChannelBudget::default()
    }
}

#[test]
fn a_frozen_player_loses_old_messages_not_its_connection() {
    let mut t = bot_table(91, |mut r| {
        r.budget = small();
        r
    });
    assert!(t.run_until(3_000, WALL, |t| t.all_seated(&ALL)));
    assert!(progresses(&mut t, &ALL, 3, 10_000, |_| {}));
    // Player 3 stops reading (a frozen window, a stalled machine) while the others play on, for
    // less than the link's silence timeout (a longer freeze costs a reconnect, by design).
    let frozen = t.min_height(&[0, 1, 2]);
    let longest = Duration::from_secs(LINK_TIMEOUT_SECONDS as u64 - 1);
    let mut steps = 0u32;
    while t.relay_state().stats().backpressure_drops == 0
        || t.min_height(&[0, 1, 2]) <= frozen + 10
        || steps < 200
    {
        t.relay.update();
        for app in &mut t.apps[..3] {
            app.update();
        }
        steps += 1;
        assert!(
            FRAME * steps < longest,
            "the relay had nothing to drop within {longest:?} of play"
        );
    }
    let seat = t.keys[3].peer_id();
    assert!(t.relay_state().client_of(&seat).is_some(), "still seated");
    assert_eq!(t.relay_state().stats().kicked, 0);
    // It reads again: same connection, and it catches up.
    let client = t.client(3).client_id();
    let target = t.min_height(&[0, 1, 2]);
    assert!(t.run_until(20_000, WALL, |t| t.view(3).height.0 >= target + 2));
    assert_eq!(
        t.client(3).client_id(),
        client,
        "never disconnected: {:?}",
        t.client(3).last_error()
    );
    assert_eq!(t.client(3).connections(), 1);
    same_hashes(&t, &ALL, target).unwrap();
}

/// A renet connection as the relay sees one, never acknowledged by its peer.
fn unacknowledged() -> RawRenetClient {
    let mut c = RawRenetClient::new(connection_config(&small()));
    c.set_connected();
    c
}

struct Sink<'a>(&'a mut RawRenetClient);

impl LaneSink for Sink<'_> {
    fn can_send(&self, lane: Lane, len: usize) -> bool {
        self.0.can_send_message(lane.channel(), len)
    }
    fn send(&mut self, lane: Lane, message: bitcraps_renet::bevy_renet::renet::Bytes) {
        self.0.send_message(lane.channel(), message);
    }
}

#[test]
fn renet_kills_an_overflowing_channel_and_the_queues_prevent_it() {
    // Without back-pressure: renet disconnects.
    let mut raw = unacknowledged();
    for _ in 0..100 {
        raw.send_message(Lane::Consensus.channel(), vec![0u8; 1024]);
    }
    assert_eq!(
        raw.disconnect_reason(),
        Some(DisconnectReason::SendChannelError {
            channel_id: Lane::Consensus.channel(),
            error: ChannelError::ReliableChannelMaxMemoryReached
        })
    );
    // Through the queues: the channel fills, the queue holds the rest and drops the oldest.
    let mut guarded = unacknowledged();
    let mut queues = LaneQueues::new(&small());
    for _ in 0..100 {
        queues.push(Lane::Consensus, vec![0u8; 1024].into());
        queues.flush(&mut Sink(&mut guarded));
        guarded.update(Duration::from_millis(16));
    }
    assert!(guarded.is_connected());
    assert!(queues.dropped() > 0);
    assert!(queues.bytes(Lane::Consensus) <= small().consensus_bytes);
}
