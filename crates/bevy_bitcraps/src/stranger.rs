//! Messages from keys that hold no vote at any height this node knows: a newcomer asking to
//! sit down (its join request) or catching up first (its signed status), or a player who left.
//!
//! Anyone can make a key, and the relay lets newcomers in, so what strangers may cost a player
//! is bounded here, before any signature check: each stranger at most
//! [`PER_STRANGER_PER_SECOND`] packets per second, all strangers together at most
//! [`ALL_STRANGERS_PER_SECOND`]; the rest is dropped unread. An honest newcomer sends its join
//! request and a status every 30 frames, far below either bound.

use std::collections::BTreeMap;
use std::time::Duration;

use bitcraps_consensus::{
    ParticipantSet, PeerId, SignedStatus, TableId, VerifiedMessage, WireMessage,
};

/// Packets one stranger may have read per second.
pub const PER_STRANGER_PER_SECOND: u32 = 20;
/// Packets all strangers together may have read per second.
pub const ALL_STRANGERS_PER_SECOND: u32 = 100;

/// Counts strangers' packets in windows of one second.
#[derive(Debug, Default)]
pub(crate) struct StrangerLimit {
    window: Duration,
    total: u32,
    by_peer: BTreeMap<PeerId, u32>,
}

impl StrangerLimit {
    /// True if a packet from `peer` at time `now` may be read (and counts it).
    pub(crate) fn admit(&mut self, peer: PeerId, now: Duration) -> bool {
        if now >= self.window + Duration::from_secs(1) || now < self.window {
            self.window = now;
            self.total = 0;
            self.by_peer.clear();
        }
        if self.total >= ALL_STRANGERS_PER_SECOND {
            return false;
        }
        let count = self.by_peer.entry(peer).or_default();
        if *count >= PER_STRANGER_PER_SECOND {
            return false;
        }
        *count += 1;
        self.total += 1;
        true
    }
}

/// A status signed by `from` itself, who is not a validator: verified against its own key.
pub(crate) fn stranger_status(
    table: &TableId,
    directory: &ParticipantSet,
    from: PeerId,
    status: SignedStatus,
) -> Option<VerifiedMessage> {
    if status.status.signer != from {
        return None;
    }
    let mut keys: Vec<PeerId> = directory.ids().to_vec();
    keys.push(from);
    let keys = ParticipantSet::new(keys).ok()?;
    WireMessage::Status(status).verify(table, &keys).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strangers_are_bounded_each_and_together_per_second() {
        let mut limit = StrangerLimit::default();
        let t0 = Duration::from_secs(10);
        let one = PeerId([1; 32]);
        let admitted = (0..50).filter(|_| limit.admit(one, t0)).count();
        assert_eq!(admitted, PER_STRANGER_PER_SECOND as usize);
        // Others still get in, up to the total.
        let mut others = 0;
        for i in 2..=255u8 {
            for _ in 0..PER_STRANGER_PER_SECOND {
                others += usize::from(limit.admit(PeerId([i; 32]), t0));
            }
        }
        assert_eq!(
            others + admitted,
            ALL_STRANGERS_PER_SECOND as usize,
            "the total bound holds"
        );
        // A second later the window is fresh.
        assert!(limit.admit(one, t0 + Duration::from_secs(1)));
    }
}
