//! A test hook that makes the relay a bad network (or a hostile relay): it drops a share of the
//! messages it forwards and delays others. It cannot forge anything: messages are signed by
//! their authors.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use bevy_renet::renet::{Bytes, ClientId};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use crate::protocol::Lane;

/// What the relay does wrong, per forwarded message and recipient.
#[derive(Clone, Debug, PartialEq)]
pub struct RelayFaults {
    /// Probability of dropping a message (0.0–1.0).
    pub drop: f64,
    /// Messages not dropped are delayed by a uniform draw in `0..=max_delay` (relay time).
    pub max_delay: Duration,
    /// Seed of the draws.
    pub seed: u64,
}

impl RelayFaults {
    /// Drops `drop` of the messages and delays the others by up to `max_delay`.
    pub fn new(drop: f64, max_delay: Duration, seed: u64) -> RelayFaults {
        RelayFaults {
            drop,
            max_delay,
            seed,
        }
    }
}

/// Largest number of delayed messages held (beyond it, new ones are dropped).
const MAX_DELAYED: usize = 100_000;

/// A message held back by [`RelayFaults`].
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Delayed {
    due: Duration,
    seq: u64,
    client: ClientId,
    lane_channel: u8,
    bytes: Bytes,
}

/// The state of the fault hook: its random draws and the held-back messages.
#[derive(Debug)]
pub(crate) struct FaultState {
    faults: RelayFaults,
    rng: ChaCha8Rng,
    held: BinaryHeap<Reverse<Delayed>>,
    seq: u64,
    /// Messages dropped by the hook.
    pub dropped: u64,
    /// Messages delayed by the hook.
    pub delayed: u64,
}

/// What to do with one forwarded message.
pub(crate) enum Verdict {
    /// Forward it now.
    Now,
    /// Held back (or dropped).
    Held,
}

impl FaultState {
    pub(crate) fn new(faults: RelayFaults) -> FaultState {
        FaultState {
            rng: ChaCha8Rng::seed_from_u64(faults.seed),
            faults,
            held: BinaryHeap::new(),
            seq: 0,
            dropped: 0,
            delayed: 0,
        }
    }

    fn unit(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Decides the fate of a message to `client` on `lane` at time `now`.
    pub(crate) fn judge(
        &mut self,
        client: ClientId,
        lane: Lane,
        bytes: &Bytes,
        now: Duration,
    ) -> Verdict {
        if self.unit() < self.faults.drop {
            self.dropped += 1;
            return Verdict::Held;
        }
        let delay = self.faults.max_delay.mul_f64(self.unit());
        if delay.is_zero() {
            return Verdict::Now;
        }
        if self.held.len() >= MAX_DELAYED {
            self.dropped += 1;
            return Verdict::Held;
        }
        self.seq += 1;
        self.delayed += 1;
        self.held.push(Reverse(Delayed {
            due: now + delay,
            seq: self.seq,
            client,
            lane_channel: lane.channel(),
            bytes: bytes.clone(),
        }));
        Verdict::Held
    }

    /// Messages whose delay is over at `now`: (recipient, lane, bytes).
    pub(crate) fn due(&mut self, now: Duration) -> Vec<(ClientId, Lane, Bytes)> {
        let mut out = Vec::new();
        while self.held.peek().is_some_and(|Reverse(d)| d.due <= now) {
            if let Some(Reverse(d)) = self.held.pop() {
                let lane = Lane::ALL
                    .into_iter()
                    .find(|l| l.channel() == d.lane_channel)
                    .unwrap_or(Lane::Consensus);
                out.push((d.client, lane, d.bytes));
            }
        }
        out
    }
}
