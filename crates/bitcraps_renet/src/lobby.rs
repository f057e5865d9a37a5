//! The lobby: a relay that starts without knowing the table's seats.
//!
//! Each player connects with its own identity key and proves it by signing the lobby's
//! challenge ([`LobbyProof`], bound like a [`crate::SeatProof`] to the lobby, the protocol
//! version, the operation-registry hash and the renet client id). When `players` distinct keys
//! are in, the relay fixes the seat list (in join order), draws a random nonce, derives the
//! table id from both ([`Genesis::table_id`]) and sends every member the [`Genesis`]. Each
//! player checks that the genesis is well formed and seats its own key
//! ([`Genesis::check`]) and starts the BitCraps plugin with [`Genesis::config`]; the relay
//! switches to its seated mode ([`crate::Relay`]) for that table, where the players prove their
//! seats again on new connections.
//!
//! **What a hostile relay can do here.** It chooses who sits: it can admit or refuse anyone,
//! exactly as a host choosing the players would. It cannot seat a key without that key's
//! signature on this lobby, and it cannot give two players different seat lists without giving
//! them different table ids (the id is a hash of the seat list): players with different lists
//! sit at different tables whose signed messages are refused by each other — a split relay
//! only splits the table into groups that cannot talk to each other. Each player is shown the
//! seat list (short key hex) so that the players can compare it out of band.
//!
//! Refused, with a clear [`Refusal`] on both sides: a full table ([`Refusal::TableFull`]), a
//! key already in the lobby ([`Refusal::DuplicateKey`]), another protocol version or registry
//! ([`Refusal::WrongProtocol`], [`Refusal::WrongRegistry`]), a bad signature, and — as in the
//! seated relay — malformed, oversized or flooding input, slow handshakes and more than
//! [`RelayLimits::max_pending_per_ip`] unfinished handshakes from one address.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bevy::prelude::*;
use bevy_bitcraps::bitcraps_consensus::{ParticipantSet, PeerId, TableId, PROTOCOL_VERSION};
use bevy_bitcraps::bitcraps_game::Registry;
use bevy_bitcraps::wall_clock_ms;
use bevy_renet::netcode::generate_random_bytes;
use bevy_renet::renet::ClientId;
use bevy_renet::{RenetReceive, RenetServer, RenetServerEvent};

use crate::error::{Offence, Refusal};
use crate::gate::RelayTransport;
use crate::protocol::{self, ChannelBudget, ClientFrame, Lane, RelayFrame, TableTerms};
use crate::queue::TokenBucket;
use crate::relay::{Relay, RelayConfig, RelayLimits};

pub use crate::lobby_terms::{
    Genesis, GenesisError, LobbyProof, LobbyStatus, LobbyTerms, MAX_GENESIS_AGE_MS, MAX_PLAYERS,
    MIN_PLAYERS,
};

/// What a lobby relay serves.
#[derive(Clone, Debug)]
pub struct LobbyConfig {
    /// Seats at the table (4 to 16).
    pub players: u16,
    /// The registry hash of the table's custom operations.
    pub registry_hash: [u8; 32],
    /// Channel memory and message sizes (also those of the seated relay after).
    pub budget: ChannelBudget,
    /// Limits (also those of the seated relay after).
    pub limits: RelayLimits,
    /// How long a member's lobby connection is kept after the genesis was sent (players close
    /// it themselves and reconnect to the seated relay).
    pub linger: Duration,
    /// The table this relay served before it restarted, if it knows: an empty lobby then
    /// resumes that table only ([`Refusal::ResumesAnotherTable`] for any other), so that a
    /// stranger seated at some other table cannot take the restarted relay over before its own
    /// players come back. `None`: the first seat to hand in a genesis picks the table (a new
    /// relay at another address). Forming a new table in the lobby replaces it.
    pub resume_only: Option<TableId>,
}

impl LobbyConfig {
    /// A lobby for `players` seats (clamped to 4..=16) and a build with `registry`.
    pub fn new(players: u16, registry: &Registry) -> LobbyConfig {
        LobbyConfig {
            players: players.clamp(MIN_PLAYERS, MAX_PLAYERS),
            registry_hash: registry.hash(),
            budget: ChannelBudget::default(),
            limits: RelayLimits::default(),
            linger: Duration::from_secs(10),
            resume_only: None,
        }
    }
}

#[derive(Debug)]
enum Step {
    Challenged { nonce: [u8; 32], since: Duration },
    Member(PeerId),
    Closing { until: Duration },
}

#[derive(Debug)]
struct Guest {
    step: Step,
    ip: Option<IpAddr>,
    messages: TokenBucket,
    bytes: TokenBucket,
}

/// The lobby's state (a resource of the relay's App, with [`LobbyPlugin`]).
#[derive(Resource, Debug)]
pub struct Lobby {
    config: LobbyConfig,
    terms: LobbyTerms,
    guests: BTreeMap<ClientId, Guest>,
    joined: Vec<(PeerId, ClientId)>,
    genesis: Option<(Genesis, Duration)>,
    offences: VecDeque<Offence>,
    refused: u64,
    outbox: Vec<(ClientId, RelayFrame)>,
}

impl Lobby {
    /// An empty lobby with a fresh random id.
    pub fn new(config: LobbyConfig) -> Lobby {
        let terms = LobbyTerms {
            lobby: generate_random_bytes(),
            protocol_version: PROTOCOL_VERSION,
            registry_hash: config.registry_hash,
            players: config.players,
        };
        Lobby {
            config,
            terms,
            guests: BTreeMap::new(),
            joined: Vec::new(),
            genesis: None,
            offences: VecDeque::new(),
            refused: 0,
            outbox: Vec::new(),
        }
    }

    /// The lobby's terms.
    pub fn terms(&self) -> &LobbyTerms {
        &self.terms
    }

    /// The keys in, in join order.
    pub fn joined(&self) -> Vec<PeerId> {
        self.joined.iter().map(|(p, _)| *p).collect()
    }

    /// The genesis, once the seats are fixed.
    pub fn genesis(&self) -> Option<&Genesis> {
        self.genesis.as_ref().map(|(g, _)| g)
    }

    /// Connections refused or closed, most recent last.
    pub fn offences(&self) -> impl Iterator<Item = &Offence> {
        self.offences.iter()
    }

    /// Connections refused or closed so far.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    fn open(&mut self, client: ClientId, ip: Option<IpAddr>, now: Duration, real: Duration) {
        if self.genesis.is_some() {
            return; // the seated relay answers new connections
        }
        let limits = &self.config.limits;
        let pending_here = self
            .guests
            .values()
            .filter(|g| g.ip == ip && matches!(g.step, Step::Challenged { .. }))
            .count();
        let nonce: [u8; 32] = generate_random_bytes();
        self.guests.insert(
            client,
            Guest {
                step: Step::Challenged { nonce, since: now },
                ip,
                messages: TokenBucket::new(limits.messages_per_second, limits.message_burst, real),
                bytes: TokenBucket::new(limits.bytes_per_second, limits.byte_burst, real),
            },
        );
        if let Some(ip) = ip.filter(|_| pending_here >= limits.max_pending_per_ip) {
            let limit = limits.max_pending_per_ip;
            let ip = ip.to_string();
            return self.refuse(client, Refusal::TooManyPending { ip, limit }, now);
        }
        let (terms, client_id) = (self.terms, client);
        self.outbox.push((
            client,
            RelayFrame::LobbyChallenge {
                nonce,
                terms,
                client_id,
            },
        ));
        log::info!("lobby: client {client} connected, challenge sent");
    }

    fn close(&mut self, client: ClientId) {
        if self.guests.remove(&client).is_none() {
            return;
        }
        if self.genesis.is_some() {
            return; // the seats are fixed
        }
        let before = self.joined.len();
        self.joined.retain(|(_, c)| *c != client);
        if self.joined.len() != before {
            log::info!("lobby: client {client} left the lobby");
            self.announce();
        }
    }

    fn refuse(&mut self, client: ClientId, refusal: Refusal, now: Duration) {
        let grace = self.config.limits.close_grace;
        let Some(guest) = self.guests.get_mut(&client) else {
            return;
        };
        let seat = match guest.step {
            Step::Closing { .. } => return,
            Step::Member(peer) => Some(peer),
            Step::Challenged { .. } => None,
        };
        guest.step = Step::Closing { until: now + grace };
        self.refused += 1;
        self.outbox
            .push((client, RelayFrame::Refused(refusal.clone())));
        let offence = Offence {
            client,
            seat,
            refusal,
        };
        log::warn!("lobby: {offence}");
        self.offences.push_back(offence);
        while self.offences.len() > self.config.limits.offences_kept {
            self.offences.pop_front();
        }
        if self.genesis.is_none() {
            let before = self.joined.len();
            self.joined.retain(|(_, c)| *c != client);
            if before != self.joined.len() {
                self.announce();
            }
        }
    }

    fn announce(&mut self) {
        let status = LobbyStatus {
            joined: self.joined(),
            players: self.terms.players,
        };
        for (_, client) in &self.joined {
            self.outbox
                .push((*client, RelayFrame::Lobby(status.clone())));
        }
    }

    fn handle(&mut self, client: ClientId, raw: &[u8], now: Duration, real: Duration) {
        let Some(guest) = self.guests.get_mut(&client) else {
            return;
        };
        if matches!(guest.step, Step::Closing { .. }) {
            return;
        }
        let limits = &self.config.limits;
        if !guest.messages.take(1, real) || !guest.bytes.take(raw.len() as u64, real) {
            let refusal = Refusal::RateLimited {
                what: "lobby frames".into(),
                limit: limits.messages_per_second,
            };
            return self.refuse(client, refusal, now);
        }
        let limit = self.config.budget.max_frame_bytes();
        let frame: ClientFrame = match protocol::decode(raw, limit) {
            Ok(frame) => frame,
            Err(e) => {
                let reason = format!("lobby frame: {e}");
                return self.refuse(client, Refusal::Malformed { reason }, now);
            }
        };
        match (&guest.step, frame) {
            (Step::Challenged { nonce, .. }, ClientFrame::Join(proof)) => {
                let nonce = *nonce;
                self.join(client, nonce, proof, now);
            }
            (Step::Challenged { nonce, .. }, ClientFrame::Resume { genesis, proof }) => {
                let nonce = *nonce;
                self.resume(client, nonce, genesis, proof, now);
            }
            (Step::Challenged { .. }, ClientFrame::Hello(_)) => {
                // A seated player's proof: it wants a table this relay has not formed yet.
                let refusal = Refusal::UnexpectedFrame {
                    frame: "seat proof (this relay is still a lobby)".into(),
                };
                self.refuse(client, refusal, now);
            }
            _ => {
                let frame = "lobby data".to_string();
                self.refuse(client, Refusal::UnexpectedFrame { frame }, now);
            }
        }
    }

    fn join(&mut self, client: ClientId, nonce: [u8; 32], proof: LobbyProof, now: Duration) {
        if proof.terms.protocol_version != self.terms.protocol_version {
            let refusal = Refusal::WrongProtocol {
                expected: self.terms.protocol_version,
                got: proof.terms.protocol_version,
            };
            return self.refuse(client, refusal, now);
        }
        if proof.terms.registry_hash != self.terms.registry_hash {
            let refusal = Refusal::WrongRegistry {
                expected: self.terms.registry_hash,
                got: proof.terms.registry_hash,
            };
            return self.refuse(client, refusal, now);
        }
        let peer = proof.peer;
        if proof.terms != self.terms || !proof.verify(&nonce, client) {
            return self.refuse(client, Refusal::BadProof { peer }, now);
        }
        if self.joined.iter().any(|(p, _)| *p == peer) {
            return self.refuse(client, Refusal::DuplicateKey { peer }, now);
        }
        if self.genesis.is_some() || self.joined.len() >= usize::from(self.terms.players) {
            let players = self.terms.players;
            return self.refuse(client, Refusal::TableFull { players }, now);
        }
        if let Some(guest) = self.guests.get_mut(&client) {
            guest.step = Step::Member(peer);
        }
        self.joined.push((peer, client));
        log::info!(
            "lobby: client {client} joined as {peer} ({} / {})",
            self.joined.len(),
            self.terms.players
        );
        self.announce();
        if self.joined.len() == usize::from(self.terms.players) {
            self.form(now);
        }
    }

    /// A seated player of a table whose relay came back as an empty lobby (restarted): once
    /// its genesis is well formed for this lobby's registry and its seat proof — bound to that
    /// table and this lobby's challenge — is valid, the lobby serves that table again (as if it
    /// had formed it) and tells the player to reconnect to the seated relay. A lobby that is
    /// gathering a new table refuses; another seat of the table being resumed (its request
    /// crossed the first) is told to reconnect too.
    fn resume(
        &mut self,
        client: ClientId,
        nonce: [u8; 32],
        genesis: Genesis,
        proof: crate::protocol::SeatProof,
        now: Duration,
    ) {
        let peer = proof.peer;
        let same_table = self.genesis.as_ref().is_some_and(|(g, _)| *g == genesis);
        if !self.joined.is_empty() || (self.genesis.is_some() && !same_table) {
            let frame = "a table to resume (this lobby is gathering another table)".into();
            return self.refuse(client, Refusal::UnexpectedFrame { frame }, now);
        }
        if let Some(serves) = self.config.resume_only.filter(|_| self.genesis.is_none()) {
            if genesis.terms.table != serves {
                let got = genesis.terms.table;
                return self.refuse(client, Refusal::ResumesAnotherTable { serves, got }, now);
            }
        }
        if genesis.check_running(&self.terms.registry_hash).is_err() {
            let refusal = Refusal::WrongRegistry {
                expected: self.terms.registry_hash,
                got: genesis.terms.registry_hash,
            };
            return self.refuse(client, refusal, now);
        }
        if proof.terms != genesis.terms || !proof.verify(&nonce, client) {
            return self.refuse(client, Refusal::BadProof { peer }, now);
        }
        if !genesis.seats(&peer) {
            return self.refuse(client, Refusal::NotSeated { peer }, now);
        }
        if !same_table {
            log::info!(
                "lobby: seat {peer} (client {client}) resumes table {}: serving it again",
                genesis.terms.table
            );
        }
        self.outbox
            .push((client, RelayFrame::Running(genesis.clone())));
        if let Some(guest) = self.guests.get_mut(&client) {
            guest.step = Step::Closing {
                until: now + self.config.limits.close_grace,
            };
        }
        if !same_table {
            self.genesis = Some((genesis, now));
        }
    }

    /// Fixes the seats and sends the genesis to every member.
    fn form(&mut self, now: Duration) {
        let seats = self.joined();
        let nonce: [u8; 32] = generate_random_bytes();
        // The table starts on the relay's clock; each player checks it against its own.
        let formed_ms = wall_clock_ms();
        let table = Genesis::table_id(&self.terms.lobby, &seats, &nonce, formed_ms);
        let genesis = Genesis {
            lobby: self.terms.lobby,
            seats,
            nonce,
            formed_ms,
            terms: TableTerms {
                table,
                protocol_version: self.terms.protocol_version,
                registry_hash: self.terms.registry_hash,
            },
        };
        log::info!("lobby: table {table} formed: {}", genesis.describe_seats());
        for (_, client) in &self.joined {
            self.outbox
                .push((*client, RelayFrame::Genesis(genesis.clone())));
        }
        self.genesis = Some((genesis, now));
    }

    /// The seated relay's configuration, once the genesis is sent.
    fn relay_config(&self) -> Option<RelayConfig> {
        let (genesis, _) = self.genesis.as_ref()?;
        let seats = ParticipantSet::new(genesis.seats.iter().copied()).ok()?;
        let mut config = RelayConfig::new(genesis.terms, Arc::new(seats));
        config.genesis = Some(genesis.clone());
        config.budget = self.config.budget.clone();
        config.limits = self.config.limits.clone();
        Some(config)
    }

    fn tick(&mut self, server: &mut RenetServer, now: Duration) {
        let timeout = self.config.limits.handshake_timeout;
        let late: Vec<ClientId> = self
            .guests
            .iter()
            .filter(
                |(_, g)| matches!(g.step, Step::Challenged { since, .. } if now >= since + timeout),
            )
            .map(|(c, _)| *c)
            .collect();
        for client in late {
            let seconds = timeout.as_secs();
            self.refuse(client, Refusal::HandshakeTimeout { seconds }, now);
        }
        for (client, frame) in self.outbox.drain(..) {
            match protocol::encode(&frame) {
                Ok(bytes) => server.send_message(client, Lane::Consensus.channel(), bytes),
                Err(e) => log::error!("lobby: cannot encode a frame: {e}"),
            }
        }
        let linger_over = self
            .genesis
            .as_ref()
            .is_some_and(|(_, at)| now >= *at + self.config.linger);
        let gone: Vec<ClientId> = self
            .guests
            .iter()
            .filter(|(_, g)| match g.step {
                Step::Closing { until } => now >= until,
                _ => linger_over,
            })
            .map(|(c, _)| *c)
            .collect();
        for client in gone {
            server.disconnect(client);
            self.guests.remove(&client);
        }
    }
}

/// Runs a [`Lobby`] on the App's renet server next to [`crate::RelayPlugin`]: once the seats
/// are fixed it inserts the [`Relay`] resource for the new table. Insert the resources with
/// [`crate::RelayAppExt::add_lobby_on`] rather than by hand.
#[derive(Clone, Copy, Debug, Default)]
pub struct LobbyPlugin;

impl Plugin for LobbyPlugin {
    fn build(&self, app: &mut App) {
        app.add_observer(on_lobby_event).add_systems(
            PreUpdate,
            lobby_messages
                .after(RenetReceive)
                .run_if(resource_exists::<Lobby>)
                .run_if(resource_exists::<RenetServer>),
        );
    }
}

fn on_lobby_event(
    event: On<RenetServerEvent>,
    lobby: Option<ResMut<Lobby>>,
    transport: Option<Res<RelayTransport>>,
    time: Res<Time>,
    real: Res<Time<Real>>,
) {
    let Some(mut lobby) = lobby else {
        return;
    };
    match &event.0 {
        bevy_renet::renet::ServerEvent::ClientConnected { client_id } => {
            let ip = transport
                .as_ref()
                .and_then(|t| t.client_addr(*client_id))
                .map(|a| a.ip());
            lobby.open(*client_id, ip, time.elapsed(), real.elapsed());
        }
        bevy_renet::renet::ServerEvent::ClientDisconnected { client_id, .. } => {
            lobby.close(*client_id);
        }
    }
}

fn lobby_messages(
    mut lobby: ResMut<Lobby>,
    mut server: ResMut<RenetServer>,
    relay: Option<Res<Relay>>,
    time: Res<Time>,
    real: Res<Time<Real>>,
    mut commands: Commands,
) {
    let (now, real) = (time.elapsed(), real.elapsed());
    let clients: Vec<ClientId> = lobby.guests.keys().copied().collect();
    for client in clients {
        for lane in Lane::ALL {
            while let Some(message) = server.receive_message(client, lane.channel()) {
                lobby.handle(client, &message, now, real);
            }
        }
    }
    lobby.tick(&mut server, now);
    if relay.is_none() {
        if let Some(config) = lobby.relay_config() {
            log::info!(
                "relay: serving table {} as seated relay",
                config.terms.table
            );
            commands.insert_resource(Relay::new(config));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used)]

    use super::*;
    use bevy_bitcraps::bitcraps_consensus::Keypair;
    use bevy_bitcraps::GameSetup;

    fn key(i: u8) -> Keypair {
        Keypair::from_seed([i; 32])
    }

    fn terms() -> LobbyTerms {
        LobbyTerms {
            lobby: [3; 32],
            protocol_version: PROTOCOL_VERSION,
            registry_hash: Registry::new().hash(),
            players: 4,
        }
    }

    /// When the test tables form: a fixed time, so the checks below use their own clock.
    const FORMED_MS: u64 = 1_800_000_000_000;

    fn genesis(seats: Vec<PeerId>) -> Genesis {
        let t = terms();
        let nonce = [5; 32];
        Genesis {
            lobby: t.lobby,
            terms: TableTerms {
                table: Genesis::table_id(&t.lobby, &seats, &nonce, FORMED_MS),
                protocol_version: t.protocol_version,
                registry_hash: t.registry_hash,
            },
            seats,
            nonce,
            formed_ms: FORMED_MS,
        }
    }

    #[test]
    fn a_lobby_proof_binds_challenge_lobby_connection_and_key() {
        let proof = LobbyProof::sign(&key(1), &[7; 32], terms(), 42);
        assert!(proof.verify(&[7; 32], 42));
        assert!(!proof.verify(&[8; 32], 42));
        assert!(!proof.verify(&[7; 32], 43));
        let mut other = proof.clone();
        other.terms.lobby = [4; 32];
        assert!(!other.verify(&[7; 32], 42));
        let mut other = proof;
        other.peer = key(2).peer_id();
        assert!(!other.verify(&[7; 32], 42));
    }

    #[test]
    fn a_genesis_is_checked() {
        let seats: Vec<PeerId> = (1..=4).map(|i| key(i).peer_id()).collect();
        let g = genesis(seats.clone());
        assert_eq!(g.check(&seats[2], &terms(), FORMED_MS), Ok(()));
        assert!(g.config(key(3)).is_ok());
        assert_eq!(
            g.check(&key(9).peer_id(), &terms(), FORMED_MS),
            Err(GenesisError::NotSeated(key(9).peer_id()))
        );
        let mut swapped = g.clone();
        swapped.seats.swap(0, 1);
        assert!(matches!(
            swapped.check(&seats[0], &terms(), FORMED_MS),
            Err(GenesisError::TableId { .. })
        ));
        let dup = genesis(vec![seats[0], seats[1], seats[2], seats[0]]);
        assert_eq!(
            dup.check(&seats[0], &terms(), FORMED_MS),
            Err(GenesisError::Duplicate(seats[0]))
        );
        let short = genesis(seats[..3].to_vec());
        assert!(matches!(
            short.check(&seats[0], &terms(), FORMED_MS),
            Err(GenesisError::SeatCount { .. })
        ));
        let mut other_registry = terms();
        other_registry.registry_hash = [1; 32];
        assert_eq!(
            g.check(&seats[0], &other_registry, FORMED_MS),
            Err(GenesisError::Terms)
        );
        // Two sessions of the same players are different tables.
        let mut again = g.clone();
        again.nonce = [6; 32];
        assert_ne!(
            Genesis::table_id(&again.lobby, &again.seats, &again.nonce, g.formed_ms),
            g.terms.table
        );
        // The formation time is part of the table id: a relay cannot move it unseen.
        let mut moved = g.clone();
        moved.formed_ms += 1;
        assert!(matches!(
            moved.check(&seats[0], &terms(), FORMED_MS),
            Err(GenesisError::TableId { .. })
        ));
    }

    /// A fresh table must have formed on the player's clock: not after it (give or take the
    /// players' clock skew), and not more than [`MAX_GENESIS_AGE_MS`] before it. A running
    /// table may be any age, never from the future.
    #[test]
    fn a_genesis_formed_at_another_time_is_refused() {
        let seats: Vec<PeerId> = (1..=4).map(|i| key(i).peer_id()).collect();
        let g = genesis(seats.clone());
        let skew = bevy_bitcraps::bitcraps_game::MAX_CLOCK_SKEW_MS;
        for now in [FORMED_MS - skew, FORMED_MS, FORMED_MS + MAX_GENESIS_AGE_MS] {
            assert_eq!(g.check(&seats[0], &terms(), now), Ok(()), "clock {now}");
        }
        for now in [FORMED_MS - skew - 1, FORMED_MS + MAX_GENESIS_AGE_MS + 1, 0] {
            assert_eq!(
                g.check(&seats[0], &terms(), now),
                Err(GenesisError::FormedAt {
                    formed_ms: FORMED_MS,
                    now_ms: now
                }),
                "clock {now}"
            );
        }
        assert_eq!(g.check_formed_by(FORMED_MS + 400 * 86_400_000), Ok(()));
        assert!(g.check_formed_by(FORMED_MS - skew - 1).is_err());
        let words = GenesisError::FormedAt {
            formed_ms: FORMED_MS,
            now_ms: FORMED_MS - 3 * 86_400_000,
        }
        .to_string();
        assert!(words.contains("3 days later"), "{words}");
        assert_eq!(
            g.game_setup(GameSetup::default()).genesis_time_ms,
            FORMED_MS
        );
    }
}
