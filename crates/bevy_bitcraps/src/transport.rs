//! The transport seam: how packets get in and out of the plugin.
//!
//! The plugin reads inbound packets from [`NetInbox`] in [`BitCrapsSystems::Receive`] and leaves
//! outbound packets in [`NetOutbox`] during [`BitCrapsSystems::Send`]. A transport either
//! implements [`Transport`] and is installed with [`TransportAppExt::set_transport`] (the plugin
//! then polls and flushes it in those sets), or runs its own systems that fill [`NetInbox`]
//! before `Receive` and drain [`NetOutbox`] after `Send`. The sender of an inbound packet must
//! be authenticated by the transport (for renet: by the seat-key handshake).

use std::collections::VecDeque;
use std::sync::Arc;

use bevy::prelude::*;
use bitcraps_consensus::PeerId;

use crate::sets::BitCrapsSystems;

/// Where an outbound packet goes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Destination {
    /// Every other participant.
    Broadcast,
    /// One participant.
    Peer(PeerId),
}

/// Bytes received from a peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboundPacket {
    /// The authenticated sender.
    pub from: PeerId,
    /// The encoded [`crate::Envelope`] (possibly garbage).
    pub bytes: Arc<[u8]>,
}

/// Bytes to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboundPacket {
    /// Recipient(s).
    pub to: Destination,
    /// The encoded [`crate::Envelope`], shared by every recipient of a broadcast.
    pub bytes: Arc<[u8]>,
}

/// Packets received and not yet decoded. Transports push to the back.
#[derive(Resource, Default, Debug)]
pub struct NetInbox(pub VecDeque<InboundPacket>);

/// Packets produced this frame and not yet handed to a transport.
#[derive(Resource, Default, Debug)]
pub struct NetOutbox(pub Vec<OutboundPacket>);

/// A carrier of packets between participants (in-memory hub, renet, ...).
pub trait Transport: Send + Sync + 'static {
    /// Moves every packet that arrived since the last call into `inbox`.
    fn receive(&mut self, inbox: &mut VecDeque<InboundPacket>);
    /// Sends one packet (best effort; consensus tolerates loss through gossip).
    fn send(&mut self, packet: OutboundPacket);
}

/// The installed [`Transport`], polled in `Receive` and flushed at the end of `Send`.
#[derive(Resource)]
pub struct TransportResource(pub Box<dyn Transport>);

/// Installs a [`Transport`] on an App.
pub trait TransportAppExt {
    /// Uses `transport` to carry this App's packets (replacing any installed before).
    fn set_transport(&mut self, transport: impl Transport) -> &mut Self;
}

impl TransportAppExt for App {
    fn set_transport(&mut self, transport: impl Transport) -> &mut Self {
        self.insert_resource(TransportResource(Box::new(transport)))
    }
}

/// Marks the systems that pump the installed transport, so that other systems can be ordered
/// around them within [`BitCrapsSystems::Receive`] and [`BitCrapsSystems::Send`].
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportSystems {
    /// Pull packets from the transport into [`NetInbox`] (first in `Receive`).
    Poll,
    /// Push [`NetOutbox`] into the transport (last in `Send`).
    Flush,
}

pub(crate) fn build(app: &mut App) {
    app.init_resource::<NetInbox>()
        .init_resource::<NetOutbox>()
        .configure_sets(
            Update,
            (
                TransportSystems::Poll.in_set(BitCrapsSystems::Receive),
                TransportSystems::Flush.in_set(BitCrapsSystems::Send),
            ),
        )
        .add_systems(
            Update,
            (
                poll_transport.in_set(TransportSystems::Poll),
                flush_transport.in_set(TransportSystems::Flush),
            ),
        );
}

fn poll_transport(transport: Option<ResMut<TransportResource>>, mut inbox: ResMut<NetInbox>) {
    if let Some(mut transport) = transport {
        transport.0.receive(&mut inbox.0);
    }
}

fn flush_transport(transport: Option<ResMut<TransportResource>>, mut outbox: ResMut<NetOutbox>) {
    if let Some(mut transport) = transport {
        for packet in outbox.0.drain(..) {
            transport.0.send(packet);
        }
    }
}
