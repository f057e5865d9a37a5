//! An in-memory transport: a hub shared by several Apps in one process (tests, local bots).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use bitcraps_consensus::PeerId;

use crate::transport::{Destination, InboundPacket, OutboundPacket, Transport};

#[derive(Default, Debug)]
struct HubInner {
    queues: BTreeMap<PeerId, VecDeque<InboundPacket>>,
    /// Directed links that drop everything: (from, to).
    cut: BTreeSet<(PeerId, PeerId)>,
    delivered: u64,
    dropped: u64,
}

/// A switchboard connecting the Apps of one process. Clone it into each App's
/// [`MemoryTransport`]; every clone shares the same queues.
///
/// Delivery is immediate (the packet waits in the recipient's queue until its next frame), in
/// order, and lossless unless a link is cut with [`MemoryHub::cut`].
#[derive(Clone, Default, Debug)]
pub struct MemoryHub {
    inner: Arc<Mutex<HubInner>>,
}

impl MemoryHub {
    /// An empty hub.
    pub fn new() -> MemoryHub {
        MemoryHub::default()
    }

    fn lock(&self) -> MutexGuard<'_, HubInner> {
        // A panic while holding the lock cannot leave the queues inconsistent (every operation
        // is a single push or drain), so a poisoned lock is still usable.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers `peer` and returns its transport.
    pub fn connect(&self, peer: PeerId) -> MemoryTransport {
        self.lock().queues.entry(peer).or_default();
        MemoryTransport {
            hub: self.clone(),
            me: peer,
        }
    }

    /// Drops every packet from `from` to `to` until [`MemoryHub::heal`].
    pub fn cut(&self, from: PeerId, to: PeerId) {
        self.lock().cut.insert((from, to));
    }

    /// Isolates `peer` in both directions from everyone.
    pub fn isolate(&self, peer: PeerId) {
        let mut inner = self.lock();
        let others: Vec<PeerId> = inner
            .queues
            .keys()
            .copied()
            .filter(|p| *p != peer)
            .collect();
        for other in others {
            inner.cut.insert((peer, other));
            inner.cut.insert((other, peer));
        }
    }

    /// Restores every link.
    pub fn heal(&self) {
        self.lock().cut.clear();
    }

    /// Injects raw bytes as if `from` had sent them to `to` (hostile-input tests).
    pub fn inject(&self, from: PeerId, to: PeerId, bytes: Vec<u8>) {
        if let Some(queue) = self.lock().queues.get_mut(&to) {
            queue.push_back(InboundPacket {
                from,
                bytes: bytes.into(),
            });
        }
    }

    /// Packets delivered and dropped so far.
    pub fn counts(&self) -> (u64, u64) {
        let inner = self.lock();
        (inner.delivered, inner.dropped)
    }

    fn send(&self, from: PeerId, packet: OutboundPacket) {
        let mut inner = self.lock();
        let HubInner {
            queues,
            cut,
            delivered,
            dropped,
        } = &mut *inner;
        for (peer, queue) in queues.iter_mut() {
            let addressed = match packet.to {
                Destination::Broadcast => *peer != from,
                Destination::Peer(to) => *peer == to,
            };
            if !addressed {
                continue;
            }
            if cut.contains(&(from, *peer)) {
                *dropped += 1;
                continue;
            }
            *delivered += 1;
            queue.push_back(InboundPacket {
                from,
                bytes: packet.bytes.clone(),
            });
        }
    }
}

/// One App's connection to a [`MemoryHub`].
#[derive(Clone, Debug)]
pub struct MemoryTransport {
    hub: MemoryHub,
    me: PeerId,
}

impl MemoryTransport {
    /// The hub this transport is connected to.
    pub fn hub(&self) -> &MemoryHub {
        &self.hub
    }
}

impl Transport for MemoryTransport {
    fn receive(&mut self, inbox: &mut VecDeque<InboundPacket>) {
        if let Some(queue) = self.hub.lock().queues.get_mut(&self.me) {
            inbox.extend(queue.drain(..));
        }
    }

    fn send(&mut self, packet: OutboundPacket) {
        self.hub.send(self.me, packet);
    }
}
