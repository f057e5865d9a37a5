//! Back-pressure and rate limits.
//!
//! renet disconnects a connection whose reliable send channel overflows its memory. So nothing
//! here ever calls `send_message` on a reliable channel without checking `can_send_message`
//! first: what does not fit waits in a per-lane queue bounded in bytes, and when that queue is
//! full its oldest messages are dropped (consensus recovers them through gossip and catch-up).
//! A slow honest player therefore loses old messages, never its connection.

use std::collections::VecDeque;
use std::time::Duration;

use bevy_renet::renet::Bytes;

use crate::protocol::{ChannelBudget, Lane};

/// Where queued messages go: one renet connection.
pub trait LaneSink {
    /// True if the lane's channel has room for `len` more bytes within its send window
    /// ([`ChannelBudget::send_window`]; see [`fits_window`]).
    fn can_send(&self, lane: Lane, len: usize) -> bool;
    /// Sends one message (only called after `can_send` said yes).
    fn send(&mut self, lane: Lane, message: Bytes);
}

/// True if a message of `len` bytes keeps a channel with `available` free bytes (of its
/// memory) within the lane's send window.
pub fn fits_window(budget: &ChannelBudget, lane: Lane, available: usize, len: usize) -> bool {
    let used = budget.lane_bytes(lane).saturating_sub(available);
    used + len <= budget.send_window(lane)
}

/// Messages waiting for room in their renet channel, per lane, bounded in bytes.
#[derive(Debug, Default)]
pub struct LaneQueues {
    queues: [VecDeque<Bytes>; 3],
    bytes: [usize; 3],
    limits: [usize; 3],
    windows: [usize; 3],
    dropped: u64,
}

fn index(lane: Lane) -> usize {
    usize::from(lane.channel())
}

impl LaneQueues {
    /// Queues holding at most the channel memory of each lane again.
    pub fn new(budget: &ChannelBudget) -> LaneQueues {
        LaneQueues {
            limits: Lane::ALL.map(|lane| budget.lane_bytes(lane)),
            windows: Lane::ALL.map(|lane| budget.send_window(lane)),
            ..LaneQueues::default()
        }
    }

    /// Queues `message` on `lane`, dropping the lane's oldest messages if it is full. Returns
    /// how many were dropped (the message itself, if it could never fit the lane's send
    /// window).
    pub fn push(&mut self, lane: Lane, message: Bytes) -> usize {
        let i = index(lane);
        let mut dropped = 0;
        if message.len() > self.windows[i] {
            self.dropped += 1;
            return 1;
        }
        while self.bytes[i] + message.len() > self.limits[i] {
            match self.queues[i].pop_front() {
                Some(old) => {
                    self.bytes[i] -= old.len();
                    dropped += 1;
                }
                None => break,
            }
        }
        self.bytes[i] += message.len();
        self.queues[i].push_back(message);
        self.dropped += dropped as u64;
        dropped
    }

    /// Hands queued messages to `sink`, oldest first per lane, while the sink's channel has
    /// room. Unreliable messages that do not fit are dropped (they are only worth something
    /// now).
    pub fn flush(&mut self, sink: &mut impl LaneSink) {
        for lane in Lane::ALL {
            let i = index(lane);
            while let Some(front) = self.queues[i].front() {
                let len = front.len();
                if !sink.can_send(lane, len) {
                    if lane.is_reliable() {
                        break;
                    }
                    self.queues[i].pop_front();
                    self.bytes[i] -= len;
                    self.dropped += 1;
                    continue;
                }
                if let Some(message) = self.queues[i].pop_front() {
                    self.bytes[i] -= len;
                    sink.send(lane, message);
                }
            }
        }
    }

    /// Messages waiting on `lane`.
    pub fn len(&self, lane: Lane) -> usize {
        self.queues[index(lane)].len()
    }

    /// Bytes waiting on `lane`.
    pub fn bytes(&self, lane: Lane) -> usize {
        self.bytes[index(lane)]
    }

    /// True if nothing waits.
    pub fn is_empty(&self) -> bool {
        self.queues.iter().all(VecDeque::is_empty)
    }

    /// Messages dropped so far (queue full, or larger than a whole lane).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Forgets everything queued (the connection is gone).
    pub fn clear(&mut self) {
        for q in &mut self.queues {
            q.clear();
        }
        self.bytes = [0; 3];
    }
}

/// A token bucket: `rate` tokens per second, at most `burst` saved up.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Duration,
}

impl TokenBucket {
    /// A full bucket at time `now`.
    pub fn new(rate: u64, burst: u64, now: Duration) -> TokenBucket {
        TokenBucket {
            rate: rate as f64,
            burst: burst as f64,
            tokens: burst as f64,
            last: now,
        }
    }

    /// Takes `n` tokens at time `now`; false if there are not enough (nothing is taken then).
    pub fn take(&mut self, n: u64, now: Duration) -> bool {
        let elapsed = now.saturating_sub(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        let n = n as f64;
        if self.tokens >= n {
            self.tokens -= n;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used)]

    use super::*;

    /// Accepts up to `room` bytes on the consensus lane only (or everything if `open`).
    struct Sink {
        room: usize,
        open: bool,
        sent: Vec<u8>,
    }

    impl LaneSink for Sink {
        fn can_send(&self, lane: Lane, len: usize) -> bool {
            self.open || (lane == Lane::Consensus && len <= self.room)
        }
        fn send(&mut self, _: Lane, message: Bytes) {
            self.room = self.room.saturating_sub(message.len());
            self.sent.push(message[0]);
        }
    }

    fn open() -> Sink {
        Sink {
            room: 0,
            open: true,
            sent: Vec::new(),
        }
    }

    fn budget() -> ChannelBudget {
        ChannelBudget {
            consensus_bytes: 100,
            catch_up_bytes: 50,
            heartbeat_bytes: 10,
            ..ChannelBudget::default()
        }
    }

    #[test]
    fn a_full_lane_drops_its_oldest_messages_and_stays_bounded() {
        let mut q = LaneQueues::new(&budget());
        for i in 0..10u8 {
            q.push(Lane::Consensus, Bytes::from(vec![i; 30]));
        }
        assert!(fits_window(&budget(), Lane::Consensus, 100, 50));
        assert!(!fits_window(&budget(), Lane::Consensus, 100, 51));
        assert!(!fits_window(&budget(), Lane::Consensus, 60, 20));
        assert_eq!(q.len(Lane::Consensus), 3);
        assert!(q.bytes(Lane::Consensus) <= 100);
        assert_eq!(q.dropped(), 7);
        let mut sink = open();
        q.flush(&mut sink);
        assert_eq!(sink.sent, vec![7, 8, 9], "the newest survive, in order");
        assert_eq!(
            q.push(Lane::CatchUp, Bytes::from(vec![0; 26])),
            1,
            "too big for the lane's send window"
        );
    }

    #[test]
    fn reliable_lanes_wait_for_room_and_unreliable_ones_drop() {
        let mut q = LaneQueues::new(&budget());
        q.push(Lane::Consensus, Bytes::from(vec![1; 20]));
        q.push(Lane::Consensus, Bytes::from(vec![2; 20]));
        q.push(Lane::Heartbeat, Bytes::from(vec![3; 5]));
        let mut sink = Sink {
            room: 25,
            open: false,
            sent: Vec::new(),
        };
        q.flush(&mut sink);
        assert_eq!(sink.sent, vec![1]);
        assert_eq!(q.len(Lane::Consensus), 1, "the second waits");
        assert_eq!(q.len(Lane::Heartbeat), 0, "the heartbeat is dropped");
        let mut sink = open();
        q.flush(&mut sink);
        assert_eq!(sink.sent, vec![2]);
        assert!(q.is_empty());
    }

    #[test]
    fn a_token_bucket_refills_at_its_rate() {
        let mut b = TokenBucket::new(10, 20, Duration::ZERO);
        assert!(b.take(20, Duration::ZERO));
        assert!(!b.take(1, Duration::ZERO));
        assert!(b.take(5, Duration::from_millis(500)));
        assert!(!b.take(1, Duration::from_millis(500)));
        assert!(b.take(20, Duration::from_secs(100)), "capped at the burst");
        assert!(!b.take(1, Duration::from_secs(100)));
    }
}
