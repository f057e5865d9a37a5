//! Connection floods on purpose, for tests and measurements (std threads, no Bevy): what an
//! attacker who knows a relay's address can send without any key.
//!
//! - [`Flood`]: forged netcode connection requests — well formed, sealed like a real client's
//!   (unsecure mode: anybody can make one), each new, with a random client id and keys and an
//!   expiry a year ahead — and junk datagrams, at a set byte rate, from several source addresses (on
//!   Linux every `127.x.y.z` is a local address a socket can bind), each sending from ever new
//!   source ports. It never answers a challenge, like a flood from spoofed addresses.
//! - [`Loris`]: real netcode clients that complete the connection and then never prove a key
//!   (slow-loris), reconnecting as soon as the relay drops them.
//!
//! Both stop when dropped.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use renetcode::{ClientAuthentication, NetcodeClient};

use crate::netcode_wire::{self, Token, REQUEST_BYTES};
use crate::protocol::NETCODE_PROTOCOL_ID;

/// `count` consecutive loopback source addresses from `127.0.0.0` + `first` on (`first` 2:
/// 127.0.0.2, 127.0.0.3, …; `first` 256: 127.0.1.0, …), each a distinct IP address for the relay.
pub fn loopback_sources(first: u32, count: u32) -> Vec<IpAddr> {
    (0..count)
        .map(|i| {
            let host = first.wrapping_add(i) & 0x00FF_FFFF;
            IpAddr::V4(Ipv4Addr::from(0x7F00_0000 | host))
        })
        .collect()
}

/// What a [`Flood`] sends.
#[derive(Clone, Debug, PartialEq)]
pub struct FloodConfig {
    /// The relay.
    pub target: SocketAddr,
    /// Source addresses, each bound by its own sockets.
    pub sources: Vec<IpAddr>,
    /// Bytes per second, all sources together.
    pub bytes_per_second: u64,
    /// Share of the datagrams that are junk (random bytes of random lengths, some shaped like
    /// netcode packets) rather than connection requests.
    pub junk: f64,
    /// Live sockets per source; each sends [`FloodConfig::sends_per_port`] datagrams and is
    /// replaced by one on a new port, so the relay sees ever new source addresses.
    pub sockets_per_source: usize,
    /// Datagrams a socket sends before it is replaced.
    pub sends_per_port: u32,
    /// Seed of every draw.
    pub seed: u64,
}

impl FloodConfig {
    /// 10 MiB/s at `target` from `sources`: 90 % forged connection requests, 10 % junk.
    pub fn new(target: SocketAddr, sources: Vec<IpAddr>) -> FloodConfig {
        FloodConfig {
            target,
            sources,
            bytes_per_second: 10 * 1024 * 1024,
            junk: 0.1,
            sockets_per_source: 64,
            sends_per_port: 2,
            seed: 1,
        }
    }
}

/// What a [`Flood`] sent so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FloodStats {
    /// Datagrams sent.
    pub datagrams: u64,
    /// Bytes sent.
    pub bytes: u64,
    /// Forged connection requests among them.
    pub requests: u64,
    /// Sends that failed (a full socket buffer, or no route).
    pub errors: u64,
    /// Source ports used.
    pub ports: u64,
}

/// A running flood ([`FloodConfig`]); stops when dropped.
pub struct Flood {
    stop: Arc<AtomicBool>,
    stats: Arc<Mutex<FloodStats>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Flood {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flood")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// One source's sockets.
struct Source {
    ip: IpAddr,
    sockets: Vec<(UdpSocket, u32)>,
}

impl Source {
    fn new(ip: IpAddr, count: usize, stats: &mut FloodStats) -> io::Result<Source> {
        let mut sockets = Vec::with_capacity(count);
        for _ in 0..count.max(1) {
            sockets.push((bind(ip)?, 0));
            stats.ports += 1;
        }
        Ok(Source { ip, sockets })
    }
}

fn bind(ip: IpAddr) -> io::Result<UdpSocket> {
    let socket = UdpSocket::bind(SocketAddr::new(ip, 0))?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// A forged connection request to `target`: a random client id and keys, sealed like an
/// unsecure netcode client's, expiring `expire` (seconds since the Unix epoch). Each one is new
/// (netcode refuses a token it saw from another address).
pub fn forged_request(
    target: SocketAddr,
    expire: u64,
    rng: &mut ChaCha8Rng,
) -> Option<[u8; REQUEST_BYTES]> {
    let mut token = Token {
        client_id: rng.next_u64(),
        timeout_seconds: 15,
        client_to_server: [0; 32],
        server_to_client: [0; 32],
    };
    rng.fill_bytes(&mut token.client_to_server);
    rng.fill_bytes(&mut token.server_to_client);
    let mut nonce = [0; 24];
    rng.fill_bytes(&mut nonce);
    netcode_wire::connection_request(NETCODE_PROTOCOL_ID, expire, &nonce, &token, target).ok()
}

/// A junk datagram: random bytes, of a random length, sometimes with a netcode packet's prefix.
fn junk(rng: &mut ChaCha8Rng, out: &mut Vec<u8>) {
    let len = 1 + (rng.next_u32() % 1_450) as usize;
    out.clear();
    out.resize(len, 0);
    rng.fill_bytes(out);
    match rng.next_u32() % 4 {
        // A payload, a response or a keep-alive with a short sequence.
        0 => out[0] = 0x15,
        1 => out[0] = 0x13,
        2 => out[0] = 0x14,
        _ => {}
    }
}

impl Flood {
    /// Binds the sockets and starts the flood on its own thread.
    pub fn spawn(config: FloodConfig) -> io::Result<Flood> {
        let mut stats = FloodStats::default();
        let mut sources = Vec::with_capacity(config.sources.len());
        for ip in &config.sources {
            sources.push(Source::new(*ip, config.sockets_per_source, &mut stats)?);
        }
        if sources.is_empty() {
            return Err(io::Error::other(
                "a flood needs at least one source address",
            ));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Mutex::new(stats));
        let (stop_flag, counters) = (stop.clone(), shared.clone());
        let thread = std::thread::Builder::new()
            .name("bitcraps-flood".into())
            .spawn(move || run_flood(config, sources, &stop_flag, &counters))?;
        Ok(Flood {
            stop,
            stats: shared,
            thread: Some(thread),
        })
    }

    /// What it sent so far.
    pub fn stats(&self) -> FloodStats {
        *self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stops the flood and waits for its thread; returns what it sent.
    pub fn stop(mut self) -> FloodStats {
        self.shutdown();
        self.stats()
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run_flood(
    config: FloodConfig,
    mut sources: Vec<Source>,
    stop: &AtomicBool,
    shared: &Mutex<FloodStats>,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    // A year ahead: the attacker writes the expiry.
    let expire = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + 365 * 24 * 3600;
    let mut stats = *shared.lock().unwrap_or_else(PoisonError::into_inner);
    let mut scratch = Vec::with_capacity(1_500);
    let started = Instant::now();
    let mut next_source = 0usize;
    let junk_threshold = (config.junk.clamp(0.0, 1.0) * f64::from(u32::MAX)) as u32;
    while !stop.load(Ordering::Relaxed) {
        let due = (started.elapsed().as_secs_f64() * config.bytes_per_second as f64) as u64;
        let mut sent_now = 0;
        while stats.bytes < due && sent_now < 4_096 {
            if rng.next_u32() < junk_threshold {
                junk(&mut rng, &mut scratch);
            } else if let Some(request) = forged_request(config.target, expire, &mut rng) {
                scratch.clear();
                scratch.extend_from_slice(&request);
                stats.requests += 1;
            } else {
                continue;
            }
            let datagram: &[u8] = &scratch;
            next_source = (next_source + 1) % sources.len();
            let source = &mut sources[next_source];
            let slot = (rng.next_u32() as usize) % source.sockets.len();
            let (socket, sends) = &mut source.sockets[slot];
            match socket.send_to(datagram, config.target) {
                Ok(_) => {
                    stats.datagrams += 1;
                    stats.bytes += datagram.len() as u64;
                }
                Err(_) => {
                    stats.errors += 1;
                    // Count it anyway: the rate is what was attempted.
                    stats.bytes += datagram.len() as u64;
                }
            }
            sent_now += 1;
            *sends += 1;
            if *sends >= config.sends_per_port {
                if let Ok(fresh) = bind(source.ip) {
                    *socket = fresh;
                    *sends = 0;
                    stats.ports += 1;
                }
            }
        }
        *shared.lock().unwrap_or_else(PoisonError::into_inner) = stats;
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// What a [`Loris`] does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LorisConfig {
    /// The relay.
    pub target: SocketAddr,
    /// Source addresses.
    pub sources: Vec<IpAddr>,
    /// Connections kept open (or being reopened) per source.
    pub per_source: usize,
}

/// What a [`Loris`] achieved so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LorisStats {
    /// Connections the relay completed (netcode connected).
    pub connected: u64,
    /// Connections the relay refused or dropped.
    pub dropped: u64,
    /// Connections open now.
    pub open: u64,
}

/// Slow-loris connections ([`LorisConfig`]); stop when dropped.
pub struct Loris {
    stop: Arc<AtomicBool>,
    stats: Arc<Mutex<LorisStats>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Loris {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loris")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

struct LorisClient {
    ip: IpAddr,
    socket: UdpSocket,
    client: NetcodeClient,
    connected: bool,
}

impl LorisClient {
    fn new(ip: IpAddr, target: SocketAddr, rng: &mut ChaCha8Rng) -> io::Result<LorisClient> {
        let socket = bind(ip)?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(io::Error::other)?;
        let client = NetcodeClient::new(
            now,
            ClientAuthentication::Unsecure {
                protocol_id: NETCODE_PROTOCOL_ID,
                client_id: rng.next_u64(),
                server_addr: target,
                user_data: None,
            },
        )
        .map_err(io::Error::other)?;
        Ok(LorisClient {
            ip,
            socket,
            client,
            connected: false,
        })
    }
}

impl Loris {
    /// Starts the connections on their own thread.
    pub fn spawn(config: LorisConfig) -> io::Result<Loris> {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut clients = Vec::new();
        for ip in &config.sources {
            for _ in 0..config.per_source {
                clients.push(LorisClient::new(*ip, config.target, &mut rng)?);
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Mutex::new(LorisStats::default()));
        let (stop_flag, shared) = (stop.clone(), stats.clone());
        let target = config.target;
        let thread = std::thread::Builder::new()
            .name("bitcraps-loris".into())
            .spawn(move || run_loris(target, clients, rng, &stop_flag, &shared))?;
        Ok(Loris {
            stop,
            stats,
            thread: Some(thread),
        })
    }

    /// What it achieved so far.
    pub fn stats(&self) -> LorisStats {
        *self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Loris {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run_loris(
    target: SocketAddr,
    mut clients: Vec<LorisClient>,
    mut rng: ChaCha8Rng,
    stop: &AtomicBool,
    shared: &Mutex<LorisStats>,
) {
    let mut stats = LorisStats::default();
    let mut buffer = [0u8; 1_500];
    let mut last = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let elapsed = last.elapsed();
        last = Instant::now();
        for c in &mut clients {
            while let Ok((len, from)) = c.socket.recv_from(&mut buffer) {
                if from == target {
                    c.client.process_packet(&mut buffer[..len]);
                }
            }
            if let Some((packet, to)) = c.client.update(elapsed) {
                let _ = c.socket.send_to(packet, to);
            }
            if c.client.is_connected() && !c.connected {
                c.connected = true;
                stats.connected += 1;
            }
            if c.client.is_disconnected() {
                stats.dropped += u64::from(c.connected);
                if let Ok(fresh) = LorisClient::new(c.ip, target, &mut rng) {
                    *c = fresh;
                }
            }
        }
        stats.open = clients.iter().filter(|c| c.client.is_connected()).count() as u64;
        *shared.lock().unwrap_or_else(PoisonError::into_inner) = stats;
        std::thread::sleep(Duration::from_millis(5));
    }
}
