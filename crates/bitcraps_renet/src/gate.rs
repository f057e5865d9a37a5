//! The relay's gate: its UDP socket and netcode server, with the connection handshake taken in
//! front of netcode so that a flood of forged connection requests cannot lock players out.
//!
//! **The hole it closes.** renetcode's server keeps a *pending client* for every source address
//! that sends a well-formed connection request, until the request's connect token expires — a
//! time the sender writes. In unsecure mode (the relay's: players carry no server-issued
//! tokens) anybody can seal a token, so anybody can write "expires in a year". Pending clients
//! are capped at 4 096 in all, and past the cap every request from a new address is dropped
//! without an answer. 4 096 forged requests of 1 078 bytes — about 4.4 MB, from one machine and
//! as many source ports — fill the table and keep it full for as long as the attacker likes:
//! no new or returning player gets an answer, and the lobby told them "no relay answered".
//!
//! **What the gate does instead.** The relay owns the socket and reads every datagram first;
//! netcode ([`renetcode::NetcodeServer`], fed with `process_packet`) only sees traffic from
//! connected addresses and players whose address answered a challenge:
//!
//! - a connection request is read (length, version, protocol, expiry) without cryptography,
//!   charged to a budget per source IP address and one for all strangers, and only then opened;
//!   the gate answers it itself with a challenge sealed under the token's server key — about a
//!   third of the request's size, so the relay amplifies nothing — and remembers the handshake
//!   (keys and a random secret, about 200 bytes) for a few seconds. Handshakes are bounded in
//!   all, per IP address, and separately for the addresses the table's seats proved themselves
//!   from (a returning player's), and make room by forgetting the oldest — from the same address
//!   first — with a refusal ("full or busy") sent to it. A forged request's own expiry no longer
//!   matters: nothing lives longer than [`GateLimits::handshake_timeout`];
//! - a response that carries the secret proves the address is real (a spoofed flood never sees
//!   its challenges); only then does netcode get the client — the gate replays its handshake
//!   into netcode and netcode's keep-alive goes back to the player, who is connected. Completed
//!   connections are rate-limited and bounded per address, and the relay's own handshake limits
//!   (a seat proof within [`crate::RelayLimits::handshake_timeout`], at most
//!   [`crate::RelayLimits::max_pending_per_ip`] unproven connections per address) take it
//!   from there;
//! - anything else from an address with neither a handshake nor a connection is junk, dropped
//!   and counted without cryptography; a connection's datagrams are rate-limited too.
//!
//! The gate logs a summary of what it refused every few seconds while a flood lasts
//! ([`GateStats`] counts it). [`GateLimits::off`] hands every datagram to netcode as before —
//! the negative control of the tests.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use crate::netcode_wire::{self as wire, Kind, Token, CHALLENGE_TOKEN_BYTES};
use crate::protocol::NETCODE_PROTOCOL_ID;
use crate::queue::TokenBucket;

pub use crate::transport::{GatePlugin, RelayTransport, NETCODE_MAX_CLIENTS};

/// How often the gate forgets expired handshakes and idle addresses.
const SWEEP_EVERY: Duration = Duration::from_millis(250);

/// How often the gate logs what it refused, while it refuses anything.
const REPORT_EVERY: Duration = Duration::from_secs(5);

/// An address with no handshake and no connection is forgotten after this long (its budgets
/// are full again by then).
const IDLE_ADDRESS: Duration = Duration::from_secs(2);

/// Addresses the table's seats proved themselves from, remembered at most.
const KNOWN_ADDRESSES: usize = 256;

/// IP addresses tracked at most (about 200 bytes each): beyond, a request from an address not
/// tracked yet is dropped unopened, until idle ones are forgotten ([`IDLE_ADDRESS`]). Known
/// addresses are always tracked.
const MAX_ADDRESSES: usize = 65_536;

/// How much the gate lets through before netcode sees a packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GateLimits {
    /// `false` hands every datagram straight to netcode (no gate: the behaviour before it, for
    /// tests' negative controls).
    pub enabled: bool,
    /// Connection requests opened per second from addresses that are not known, in all.
    pub requests_per_second: u64,
    /// Connection requests opened per second from the addresses the table's seats proved
    /// themselves from, in all (a budget strangers cannot spend).
    pub known_requests_per_second: u64,
    /// Connection requests opened per second from one IP address.
    pub requests_per_ip: u64,
    /// Unanswered challenges remembered, at most, for addresses that are not known.
    pub handshakes: usize,
    /// Unanswered challenges remembered, at most, for known addresses.
    pub known_handshakes: usize,
    /// Unanswered challenges remembered for one IP address, at most.
    pub handshakes_per_ip: usize,
    /// Time a challenge waits for its answer.
    pub handshake_timeout: Duration,
    /// Connections completed per second from one IP address (sustained; twice that at once).
    pub connects_per_ip: u64,
    /// Connections open from one IP address, at most.
    pub connections_per_ip: usize,
    /// Datagrams a connection may send per second (sustained; twice that at once).
    pub datagrams_per_connection: u64,
    /// Datagrams read per update at most (the rest waits for the next update).
    pub datagrams_per_update: usize,
}

impl Default for GateLimits {
    /// 20 000 connection requests a second from strangers (about 21 MB/s of them, twice the
    /// flood the tests send), 5 000 from one address, 2 000 from the seats' addresses; 16 384
    /// waiting challenges (1 024 per address, 1 024 more for the seats' addresses) of 5 s each;
    /// 20 connections a second and 64 open per address; 10 000 datagrams a second per
    /// connection.
    fn default() -> Self {
        GateLimits {
            enabled: true,
            requests_per_second: 20_000,
            known_requests_per_second: 2_000,
            requests_per_ip: 5_000,
            handshakes: 16_384,
            known_handshakes: 1_024,
            handshakes_per_ip: 1_024,
            handshake_timeout: Duration::from_secs(5),
            connects_per_ip: 20,
            connections_per_ip: 64,
            datagrams_per_connection: 10_000,
            datagrams_per_update: 16_384,
        }
    }
}

impl GateLimits {
    /// No gate: netcode gets every datagram, as before the gate existed.
    pub fn off() -> GateLimits {
        GateLimits {
            enabled: false,
            ..GateLimits::default()
        }
    }
}

/// What the gate saw and did (counters since the start, and sizes now).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GateStats {
    /// Datagrams read.
    pub datagrams: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Datagrams dropped unopened: not netcode packets, from addresses with neither a handshake
    /// nor a connection, or over a connection's rate.
    pub junk: u64,
    /// Connection requests read.
    pub requests: u64,
    /// Connection requests dropped unopened, over a rate limit.
    pub over_budget: u64,
    /// Connection requests that were malformed, expired, for another game or did not open.
    pub bad_requests: u64,
    /// Challenges sent.
    pub challenges: u64,
    /// Responses that did not carry the challenge sent to their address.
    pub bad_responses: u64,
    /// Unanswered challenges forgotten to make room for newer ones.
    pub evicted: u64,
    /// Unanswered challenges forgotten after their time.
    pub expired: u64,
    /// Refusals sent ("full or busy").
    pub denied: u64,
    /// Connections handed to netcode.
    pub connected: u64,
    /// Challenges waiting for an answer now.
    pub handshakes: usize,
    /// IP addresses tracked now.
    pub addresses: usize,
    /// Addresses the seats proved themselves from, remembered now.
    pub known: usize,
    /// netcode connections now.
    pub connections: usize,
}

/// A challenge sent, waiting for its answer.
#[derive(Debug)]
pub(crate) struct Handshake {
    pub(crate) token: Token,
    /// The tag of the request's token (the same request again gets the same challenge).
    tag: [u8; 16],
    secret: [u8; 32],
    sequence: u64,
    created: Duration,
    order: u64,
    known: bool,
}

/// What the gate knows of one IP address.
#[derive(Debug)]
struct Address {
    requests: TokenBucket,
    connects: TokenBucket,
    /// Its waiting handshakes, oldest first.
    handshakes: BTreeMap<u64, SocketAddr>,
    connections: usize,
    touched: Duration,
    /// Requests since the last report.
    recent: u64,
}

impl Address {
    fn new(limits: &GateLimits, now: Duration) -> Address {
        Address {
            requests: TokenBucket::new(limits.requests_per_ip, limits.requests_per_ip, now),
            connects: TokenBucket::new(limits.connects_per_ip, limits.connects_per_ip * 2, now),
            handshakes: BTreeMap::new(),
            connections: 0,
            touched: now,
            recent: 0,
        }
    }
}

/// A netcode connection, by address.
#[derive(Debug)]
pub(crate) struct Connection {
    pub(crate) datagrams: TokenBucket,
}

/// The gate's state (see the module documentation).
#[derive(Debug)]
pub(crate) struct Gate {
    pub(crate) limits: GateLimits,
    pub(crate) rng: ChaCha8Rng,
    handshakes: HashMap<SocketAddr, Handshake>,
    strangers: BTreeMap<u64, SocketAddr>,
    known_order: BTreeMap<u64, SocketAddr>,
    addresses: HashMap<IpAddr, Address>,
    known: HashMap<IpAddr, Duration>,
    pub(crate) connections: HashMap<SocketAddr, Connection>,
    stranger_budget: TokenBucket,
    known_budget: TokenBucket,
    next_order: u64,
    next_sequence: u64,
    pub(crate) stats: GateStats,
    reported: GateStats,
    last_sweep: Duration,
    last_report: Duration,
}

/// What to do with a response.
pub(crate) enum Answer {
    /// Nothing (dropped and counted).
    Drop,
    /// Send this to the address.
    Reply(Vec<u8>),
    /// The address answered its challenge: connect it.
    Connect(Box<Handshake>, u64),
}

impl Gate {
    pub(crate) fn new(limits: GateLimits, now: Duration) -> Gate {
        let seed: [u8; 32] = bevy_renet::netcode::generate_random_bytes();
        Gate {
            stranger_budget: TokenBucket::new(
                limits.requests_per_second,
                limits.requests_per_second,
                now,
            ),
            known_budget: TokenBucket::new(
                limits.known_requests_per_second,
                limits.known_requests_per_second,
                now,
            ),
            limits,
            rng: ChaCha8Rng::from_seed(seed),
            handshakes: HashMap::new(),
            strangers: BTreeMap::new(),
            known_order: BTreeMap::new(),
            addresses: HashMap::new(),
            known: HashMap::new(),
            connections: HashMap::new(),
            next_order: 0,
            next_sequence: 0,
            stats: GateStats::default(),
            reported: GateStats::default(),
            last_sweep: now,
            last_report: now,
        }
    }

    fn address(&mut self, ip: IpAddr, now: Duration) -> &mut Address {
        let limits = &self.limits;
        let address = self
            .addresses
            .entry(ip)
            .or_insert_with(|| Address::new(limits, now));
        address.touched = now;
        address
    }

    /// Forgets the handshake of `addr`.
    fn remove(&mut self, addr: SocketAddr) -> Option<Handshake> {
        let handshake = self.handshakes.remove(&addr)?;
        if handshake.known {
            self.known_order.remove(&handshake.order);
        } else {
            self.strangers.remove(&handshake.order);
        }
        if let Some(address) = self.addresses.get_mut(&addr.ip()) {
            address.handshakes.remove(&handshake.order);
        }
        Some(handshake)
    }

    /// A refusal for a forgotten handshake, if the player can read one.
    fn denial(&mut self, handshake: &Handshake) -> Option<Vec<u8>> {
        self.next_sequence += 1;
        self.stats.denied += 1;
        wire::seal(
            Kind::Denied,
            self.next_sequence,
            &[],
            &handshake.token.server_to_client,
            NETCODE_PROTOCOL_ID,
        )
        .ok()
    }

    /// Forgets the oldest handshakes until one from `ip` (known or not) fits; returns refusals
    /// for the forgotten ones.
    fn make_room(&mut self, ip: IpAddr, known: bool, out: &mut Vec<(SocketAddr, Vec<u8>)>) {
        loop {
            let here = self.addresses.get(&ip).map_or(0, |a| a.handshakes.len());
            let oldest_here = self
                .addresses
                .get(&ip)
                .and_then(|a| a.handshakes.values().next().copied());
            let victim = if here >= self.limits.handshakes_per_ip {
                oldest_here
            } else if known && self.known_order.len() >= self.limits.known_handshakes {
                self.known_order.values().next().copied()
            } else if !known && self.strangers.len() >= self.limits.handshakes {
                self.strangers.values().next().copied()
            } else {
                None
            };
            let Some(victim) = victim else {
                return;
            };
            match self.remove(victim) {
                Some(handshake) => {
                    self.stats.evicted += 1;
                    if let Some(denial) = self.denial(&handshake) {
                        out.push((victim, denial));
                    }
                }
                None => return,
            }
        }
    }

    fn challenge(&mut self, handshake: &Handshake) -> Option<Vec<u8>> {
        let mut token = [0u8; CHALLENGE_TOKEN_BYTES];
        token[..32].copy_from_slice(&handshake.secret);
        self.next_sequence += 1;
        self.stats.challenges += 1;
        wire::seal(
            Kind::Challenge,
            self.next_sequence,
            &wire::challenge_body(handshake.sequence, &token),
            &handshake.token.server_to_client,
            NETCODE_PROTOCOL_ID,
        )
        .ok()
    }

    /// A connection request from `from` (not connected): what to send back.
    pub(crate) fn on_request(
        &mut self,
        from: SocketAddr,
        packet: &[u8],
        now: Duration,
        unix_seconds: u64,
        out: &mut Vec<(SocketAddr, Vec<u8>)>,
    ) {
        self.stats.requests += 1;
        let ip = from.ip();
        let known = self.known.contains_key(&ip);
        if !known && self.addresses.len() >= MAX_ADDRESSES && !self.addresses.contains_key(&ip) {
            self.stats.over_budget += 1;
            return;
        }
        let address = self.address(ip, now);
        address.recent += 1;
        let within_ip = address.requests.take(1, now);
        let within_all = within_ip
            && if known {
                self.known_budget.take(1, now)
            } else {
                self.stranger_budget.take(1, now)
            };
        if !within_all {
            self.stats.over_budget += 1;
            return;
        }
        let Ok(header) = wire::request_header(packet, NETCODE_PROTOCOL_ID, unix_seconds) else {
            self.stats.bad_requests += 1;
            return;
        };
        let mut tag = [0; 16];
        tag.copy_from_slice(&packet[packet.len() - 16..]);
        if let Some(handshake) = self.handshakes.get(&from).filter(|h| h.tag == tag) {
            // The same request again (the first challenge was lost): the same challenge.
            let handshake = Handshake {
                token: handshake.token.clone(),
                secret: handshake.secret,
                ..*handshake
            };
            if let Some(challenge) = self.challenge(&handshake) {
                out.push((from, challenge));
            }
            return;
        }
        let Ok(token) = wire::open_token(packet, &header) else {
            self.stats.bad_requests += 1;
            return;
        };
        self.remove(from);
        self.make_room(ip, known, out);
        let mut secret = [0; 32];
        self.rng.fill_bytes(&mut secret);
        self.next_order += 1;
        let handshake = Handshake {
            token,
            tag,
            secret,
            sequence: self.rng.next_u64() >> 1,
            created: now,
            order: self.next_order,
            known,
        };
        if let Some(challenge) = self.challenge(&handshake) {
            out.push((from, challenge));
        }
        if known {
            self.known_order.insert(handshake.order, from);
        } else {
            self.strangers.insert(handshake.order, from);
        }
        self.address(ip, now)
            .handshakes
            .insert(handshake.order, from);
        self.handshakes.insert(from, handshake);
    }

    /// A response from `from` (not connected).
    pub(crate) fn on_response(&mut self, from: SocketAddr, packet: &[u8], now: Duration) -> Answer {
        let Some(handshake) = self.handshakes.get(&from) else {
            self.stats.junk += 1;
            return Answer::Drop;
        };
        let opened = wire::open(
            packet,
            &handshake.token.client_to_server,
            NETCODE_PROTOCOL_ID,
        );
        let Ok((Kind::Response, sequence, body)) = opened else {
            self.stats.bad_responses += 1;
            return Answer::Drop;
        };
        let answered = wire::read_challenge(&body).is_ok_and(|(token_sequence, token)| {
            token_sequence == handshake.sequence && token[..32] == handshake.secret
        });
        if !answered {
            self.stats.bad_responses += 1;
            return Answer::Drop;
        }
        let limits = self.limits.clone();
        let address = self.address(from.ip(), now);
        if address.connections >= limits.connections_per_ip {
            let Some(handshake) = self.remove(from) else {
                return Answer::Drop;
            };
            return match self.denial(&handshake) {
                Some(denial) => Answer::Reply(denial),
                None => Answer::Drop,
            };
        }
        if !address.connects.take(1, now) {
            // Too many connections from this address at once: the player sends its response
            // again in a quarter of a second.
            self.stats.over_budget += 1;
            return Answer::Drop;
        }
        match self.remove(from) {
            Some(handshake) => Answer::Connect(Box::new(handshake), sequence),
            None => Answer::Drop,
        }
    }

    pub(crate) fn on_connected(&mut self, addr: SocketAddr, now: Duration) {
        self.stats.connected += 1;
        let rate = self.limits.datagrams_per_connection;
        self.connections.insert(
            addr,
            Connection {
                datagrams: TokenBucket::new(rate, rate * 2, now),
            },
        );
        self.address(addr.ip(), now).connections += 1;
    }

    pub(crate) fn on_disconnected(&mut self, addr: SocketAddr, now: Duration) {
        if self.connections.remove(&addr).is_some() {
            let address = self.address(addr.ip(), now);
            address.connections = address.connections.saturating_sub(1);
        }
    }

    /// Remembers that a seat proved itself from `ip`.
    pub(crate) fn note_known(&mut self, ip: IpAddr, now: Duration) {
        self.known.insert(ip, now);
        if self.known.len() > KNOWN_ADDRESSES {
            if let Some(oldest) = self
                .known
                .iter()
                .min_by_key(|(_, t)| **t)
                .map(|(ip, _)| *ip)
            {
                self.known.remove(&oldest);
            }
        }
    }

    /// Forgets expired handshakes and idle addresses.
    pub(crate) fn sweep(&mut self, now: Duration) {
        if now < self.last_sweep + SWEEP_EVERY {
            return;
        }
        self.last_sweep = now;
        let timeout = self.limits.handshake_timeout;
        let expired = |addr: &&SocketAddr| {
            self.handshakes
                .get(*addr)
                .is_some_and(|h| now >= h.created + timeout)
        };
        // Each partition is in the order the handshakes were made: the expired ones come first.
        let expired: Vec<SocketAddr> = (self.strangers.values().take_while(expired))
            .chain(self.known_order.values().take_while(expired))
            .copied()
            .collect();
        for addr in expired {
            if self.remove(addr).is_some() {
                self.stats.expired += 1;
            }
        }
        self.addresses.retain(|_, a| {
            !a.handshakes.is_empty() || a.connections > 0 || now < a.touched + IDLE_ADDRESS
        });
    }

    pub(crate) fn stats(&self) -> GateStats {
        GateStats {
            handshakes: self.handshakes.len(),
            addresses: self.addresses.len(),
            known: self.known.len(),
            connections: self.connections.len(),
            ..self.stats.clone()
        }
    }

    /// Logs what the gate refused since the last report, if anything.
    pub(crate) fn report(&mut self, now: Duration) {
        if now < self.last_report + REPORT_EVERY {
            return;
        }
        let seconds = (now - self.last_report).as_secs_f64();
        self.last_report = now;
        let (s, r) = (self.stats(), &self.reported);
        let refused = (s.over_budget - r.over_budget)
            + (s.bad_requests - r.bad_requests)
            + (s.evicted - r.evicted)
            + (s.junk - r.junk)
            + (s.bad_responses - r.bad_responses);
        let unanswered = (s.expired - r.expired) + (s.evicted - r.evicted);
        let busiest = self
            .addresses
            .iter()
            .max_by_key(|(_, a)| a.recent)
            .map(|(ip, a)| (*ip, a.recent));
        for address in self.addresses.values_mut() {
            address.recent = 0;
        }
        if refused > 0 || unanswered > 100 {
            let busiest = busiest.map_or(String::new(), |(ip, n)| {
                format!(", the busiest address {ip} sent {n}")
            });
            log::warn!(
                "relay: connection flood: {} datagrams ({:.1} MB/s) in {seconds:.0} s: {} \
                 connection requests ({} over the rate limits, {} malformed or expired{busiest}), \
                 {} challenges never answered ({} forgotten to make room), {} junk datagrams; \
                 {} connections completed; {} challenges waiting (at most {})",
                s.datagrams - r.datagrams,
                (s.bytes - r.bytes) as f64 / seconds / 1e6,
                s.requests - r.requests,
                s.over_budget - r.over_budget,
                s.bad_requests - r.bad_requests,
                unanswered,
                s.evicted - r.evicted,
                (s.junk - r.junk) + (s.bad_responses - r.bad_responses),
                s.connected - r.connected,
                s.handshakes,
                self.limits.handshakes + self.limits.known_handshakes,
            );
        } else if s.datagrams > r.datagrams {
            log::debug!(
                "relay: {} datagrams, {} connection requests, {} connections completed in \
                 {seconds:.0} s",
                s.datagrams - r.datagrams,
                s.requests - r.requests,
                s.connected - r.connected
            );
        }
        self.reported = s;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used)]

    use super::*;

    const RELAY: &str = "127.0.0.1:5000";
    const NOW_UNIX: u64 = 1_000_000;

    fn token(id: u64) -> Token {
        Token {
            client_id: id,
            timeout_seconds: 15,
            client_to_server: [id as u8; 32],
            server_to_client: [id as u8 ^ 0xFF; 32],
        }
    }

    fn request(id: u64) -> Vec<u8> {
        let relay = RELAY.parse().unwrap();
        let nonce = [id as u8; 24];
        wire::connection_request(
            NETCODE_PROTOCOL_ID,
            NOW_UNIX + 60,
            &nonce,
            &token(id),
            relay,
        )
        .unwrap()
        .to_vec()
    }

    fn from(ip: u8, port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, ip], port))
    }

    /// Sends request `id` from `addr`; returns what the gate sent back to `addr`.
    fn ask(gate: &mut Gate, addr: SocketAddr, id: u64, at: Duration) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        gate.on_request(addr, &request(id), at, NOW_UNIX, &mut out);
        out.into_iter()
            .filter(|(to, _)| *to == addr)
            .map(|(_, p)| p)
            .collect()
    }

    /// The client's response to a challenge, as a netcode client sends it.
    fn respond(challenge: &[u8], id: u64) -> Vec<u8> {
        let t = token(id);
        let (kind, _, body) = wire::open(challenge, &t.server_to_client, NETCODE_PROTOCOL_ID)
            .expect("a challenge the client opens");
        assert_eq!(kind, Kind::Challenge);
        let (sequence, data) = wire::read_challenge(&body).unwrap();
        let body = wire::challenge_body(sequence, &data);
        wire::seal(
            Kind::Response,
            9,
            &body,
            &t.client_to_server,
            NETCODE_PROTOCOL_ID,
        )
        .unwrap()
    }

    fn is_denial(packet: &[u8], id: u64) -> bool {
        let key = token(id).server_to_client;
        matches!(
            wire::open(packet, &key, NETCODE_PROTOCOL_ID),
            Ok((Kind::Denied, ..))
        )
    }

    #[test]
    fn an_answered_challenge_connects_and_a_forged_answer_does_not() {
        let mut gate = Gate::new(GateLimits::default(), Duration::ZERO);
        let at = Duration::from_secs(1);
        let challenge = ask(&mut gate, from(1, 40_000), 1, at).remove(0);
        // The same request again (its challenge was lost): the same challenge, no new state.
        let again = ask(&mut gate, from(1, 40_000), 1, at).remove(0);
        assert_eq!(gate.stats().handshakes, 1);
        assert_eq!(
            wire::open(&again, &token(1).server_to_client, NETCODE_PROTOCOL_ID)
                .unwrap()
                .2,
            wire::open(&challenge, &token(1).server_to_client, NETCODE_PROTOCOL_ID)
                .unwrap()
                .2
        );
        // A response that does not carry the secret: dropped.
        let mut forged_data = [0u8; CHALLENGE_TOKEN_BYTES];
        forged_data[0] = 1;
        let forged = wire::seal(
            Kind::Response,
            3,
            &wire::challenge_body(0, &forged_data),
            &token(1).client_to_server,
            NETCODE_PROTOCOL_ID,
        )
        .unwrap();
        assert!(matches!(
            gate.on_response(from(1, 40_000), &forged, at),
            Answer::Drop
        ));
        // From another address: junk.
        let response = respond(&challenge, 1);
        assert!(matches!(
            gate.on_response(from(1, 40_001), &response, at),
            Answer::Drop
        ));
        assert_eq!(gate.stats().junk, 1);
        match gate.on_response(from(1, 40_000), &response, at) {
            Answer::Connect(handshake, sequence) => {
                assert_eq!(handshake.token, token(1));
                assert_eq!(sequence, 9);
            }
            _ => panic!("the answered challenge connects"),
        }
        assert_eq!(gate.stats().handshakes, 0);
    }

    #[test]
    fn a_flood_from_one_address_forgets_its_own_handshakes_first() {
        let limits = GateLimits {
            handshakes_per_ip: 4,
            ..GateLimits::default()
        };
        let mut gate = Gate::new(limits, Duration::ZERO);
        let at = Duration::from_secs(1);
        let honest = ask(&mut gate, from(1, 1), 1, at).remove(0);
        for port in 0..50 {
            let replies = ask(&mut gate, from(2, 1_000 + port), 100 + u64::from(port), at);
            assert!(!replies.is_empty());
        }
        let stats = gate.stats();
        assert_eq!(stats.handshakes, 5, "four of the flooder's, the honest one");
        assert_eq!(stats.evicted, 46);
        assert_eq!(stats.denied, 46, "each forgotten one is told");
        assert!(matches!(
            gate.on_response(from(1, 1), &respond(&honest, 1), at),
            Answer::Connect(..)
        ));
    }

    #[test]
    fn strangers_cannot_take_the_room_of_the_seats_addresses() {
        let limits = GateLimits {
            handshakes: 8,
            known_handshakes: 2,
            ..GateLimits::default()
        };
        let mut gate = Gate::new(limits, Duration::ZERO);
        let at = Duration::from_secs(1);
        gate.note_known(from(1, 0).ip(), at);
        let seat = ask(&mut gate, from(1, 7), 1, at).remove(0);
        let newcomer = ask(&mut gate, from(3, 7), 2, at).remove(0);
        // Strangers from 100 addresses.
        let mut denials = Vec::new();
        for ip in 10..110u8 {
            let mut out = Vec::new();
            gate.on_request(
                from(ip, 9),
                &request(u64::from(ip) + 1_000),
                at,
                NOW_UNIX,
                &mut out,
            );
            denials.extend(out.into_iter().filter(|(to, _)| *to == from(3, 7)));
        }
        assert_eq!(gate.stats().handshakes, 9, "eight strangers, one seat");
        // The seat's address kept its handshake; the newcomer's was forgotten, and it was told.
        assert!(matches!(
            gate.on_response(from(1, 7), &respond(&seat, 1), at),
            Answer::Connect(..)
        ));
        assert!(matches!(
            gate.on_response(from(3, 7), &respond(&newcomer, 2), at),
            Answer::Drop
        ));
        assert!(denials.iter().any(|(_, p)| is_denial(p, 2)));
    }

    #[test]
    fn rates_expiry_and_bad_requests() {
        let limits = GateLimits {
            requests_per_ip: 10,
            connects_per_ip: 1,
            ..GateLimits::default()
        };
        let mut gate = Gate::new(limits, Duration::ZERO);
        let at = Duration::from_secs(1);
        for id in 0..15 {
            ask(&mut gate, from(2, 100 + id as u16), 10 + id, at);
        }
        let stats = gate.stats();
        assert_eq!((stats.requests, stats.over_budget), (15, 5));
        assert_eq!(stats.challenges, 10);
        // Expired, another game, a broken seal: no challenge.
        let mut out = Vec::new();
        gate.on_request(from(4, 1), &request(1), at, NOW_UNIX + 60, &mut out);
        let mut other = request(2);
        other[14] ^= 1;
        gate.on_request(from(4, 2), &other, at, NOW_UNIX, &mut out);
        let mut broken = request(3);
        broken[500] ^= 1;
        gate.on_request(from(4, 3), &broken, at, NOW_UNIX, &mut out);
        assert!(out.is_empty());
        assert_eq!(gate.stats().bad_requests, 3);
        // Connections per address per second (twice that at once): the third answer waits.
        let challenges: Vec<Vec<u8>> = (0..3)
            .map(|i| ask(&mut gate, from(5, i), 50 + u64::from(i), at).remove(0))
            .collect();
        let answers: Vec<bool> = (0..3)
            .map(|i| {
                let response = respond(&challenges[usize::from(i)], 50 + u64::from(i));
                matches!(
                    gate.on_response(from(5, i), &response, at),
                    Answer::Connect(..)
                )
            })
            .collect();
        assert_eq!(answers, [true, true, false]);
        // Unanswered challenges are forgotten after their time.
        gate.sweep(at + Duration::from_secs(10));
        let stats = gate.stats();
        assert_eq!(stats.handshakes, 0);
        assert_eq!(stats.expired, 11);
    }
}
