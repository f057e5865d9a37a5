//! Answering lagging peers with the decisions they lack, without amplifying their requests.
//!
//! A signed `Status` or a vote of an old height costs its sender a couple of hundred bytes and
//! may draw several decisions of up to a megabyte each. So each decision goes to a given peer
//! at most once per [`crate::Limits::catch_up_interval_ticks`] gossip ticks, whatever heights
//! and however often the peer asks (overlapping requests draw nothing twice), and all replies
//! together stay within [`crate::Limits::catch_up_bytes_per_tick`] per tick. A peer that really
//! lags asks again after the interval and gets the next ones; the host's journal serves peers
//! behind the retained decisions ([`crate::Output::CatchUp`], at most once per peer and
//! interval).

use std::collections::BTreeMap;

use crate::engine::Engine;
use crate::io::Output;
use crate::keys::PeerId;
use crate::types::Height;
use crate::wire::WireMessage;

/// What was sent to whom, and when (in gossip ticks).
#[derive(Debug, Default)]
pub(crate) struct CatchUpLog {
    /// Gossip ticks so far.
    tick: u64,
    /// (peer, decided height) → tick it was last sent.
    sent: BTreeMap<(PeerId, Height), u64>,
    /// Peer → tick it was last handed to the journal ([`Output::CatchUp`]).
    journal: BTreeMap<PeerId, u64>,
    /// Decision bytes sent in this tick.
    bytes: usize,
}

impl CatchUpLog {
    /// A gossip tick: a new byte budget; forget what is older than the interval.
    pub(crate) fn tick(&mut self, interval: u32) {
        self.tick = self.tick.saturating_add(1);
        self.bytes = 0;
        let now = self.tick;
        let fresh = |at: &u64| now.saturating_sub(*at) < u64::from(interval.max(1));
        self.sent.retain(|_, at| fresh(at));
        self.journal.retain(|_, at| fresh(at));
    }

    fn recent(&self, at: Option<&u64>, interval: u32) -> bool {
        at.is_some_and(|at| self.tick.saturating_sub(*at) < u64::from(interval.max(1)))
    }
}

/// Rough encoded size of a decision: its value, its precommits and the certificate's header.
pub(crate) fn decision_bytes(decision: &crate::certificate::Decision) -> usize {
    decision.value.bytes().len() + 128 + 100 * decision.certificate.precommits.len()
}

impl Engine {
    /// Answers a message about a height we have decided with the decisions the sender lacks
    /// (see the [module documentation](self) for the bounds).
    pub(crate) fn catch_up(&mut self, peer: PeerId, height: Height, out: &mut Vec<Output>) {
        if peer == self.peer_id() {
            return;
        }
        let limits = &self.config.limits;
        let interval = limits.catch_up_interval_ticks;
        let log = &mut self.catch_up_log;
        let oldest = self.decisions.keys().next().copied();
        if oldest.is_none_or(|oldest| height < oldest) {
            if !log.recent(log.journal.get(&peer), interval) {
                log.journal.insert(peer, log.tick);
                out.push(Output::CatchUp { peer, from: height });
            }
            return;
        }
        let mut sent = 0;
        for (decided, decision) in self.decisions.range(height..) {
            if sent >= limits.catch_up_batch {
                break;
            }
            if log.recent(log.sent.get(&(peer, *decided)), interval) {
                continue;
            }
            let size = decision_bytes(decision);
            if log.bytes > 0 && log.bytes.saturating_add(size) > limits.catch_up_bytes_per_tick {
                break;
            }
            log.bytes = log.bytes.saturating_add(size);
            log.sent.insert((peer, *decided), log.tick);
            sent += 1;
            out.push(Output::SendTo {
                peer,
                message: WireMessage::Decision(decision.clone()),
            });
        }
    }
}
