//! `bitcraps_netem`: a small user-space UDP impairment proxy, for kernels without `netem`.
//!
//! A [`Proxy`] listens on a local UDP address and forwards every datagram to a target address
//! (a BitCraps relay), through one upstream socket per client source address so that the
//! target's replies route back to the right client. Each direction gets its own
//! [`Impairment`]: a delay (mean ± uniform jitter, so datagrams reorder when the jitter exceeds
//! their spacing), a loss probability and a duplication probability. [`Partition`]s drop
//! everything in both directions between given times after the start.
//!
//! Every random draw comes from ChaCha8 seeded by the proxy's seed, one stream per client and
//! direction: the n-th datagram a given client sends (or receives) meets the same fate in
//! every run with the same seed. Memory is bounded: at most [`ProxyConfig::max_queued`]
//! datagrams wait for their delivery time (beyond, a datagram is dropped and counted) and at
//! most [`ProxyConfig::max_clients`] client addresses are served at once (idle ones are
//! forgotten after [`ProxyConfig::idle_timeout`]).
//!
//! Standard library only: threads and `std::net::UdpSocket`.
//!
//! ```no_run
//! use std::time::Duration;
//! use bitcraps_netem::{Impairment, Proxy};
//!
//! let relay = "127.0.0.1:5000".parse()?;
//! let impairment = Impairment {
//!     delay: Duration::from_millis(100),
//!     jitter: Duration::from_millis(20),
//!     loss: 0.1,
//!     ..Impairment::default()
//! };
//! let proxy = Proxy::spawn("127.0.0.1:0".parse()?, relay, impairment, 7)?;
//! println!("join {} instead of the relay", proxy.local_addr());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::cmp::Ordering as CmpOrdering;
use std::collections::{BinaryHeap, HashMap};
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// How often blocked threads look at the stop flag.
const POLL: Duration = Duration::from_millis(20);

/// The largest UDP payload.
const MAX_DATAGRAM: usize = 65_535;

/// What the proxy does to the datagrams of one direction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Impairment {
    /// Mean one-way delay added to every datagram.
    pub delay: Duration,
    /// Each datagram's delay is drawn uniformly from `delay ± jitter` (clamped at zero);
    /// datagrams closer together than the jitter may arrive out of order.
    pub jitter: Duration,
    /// Probability that a datagram is dropped (0 to 1).
    pub loss: f64,
    /// Probability that a forwarded datagram is also sent a second time, with its own delay.
    pub duplicate: f64,
}

impl Default for Impairment {
    /// No impairment: every datagram forwarded at once, exactly once.
    fn default() -> Impairment {
        Impairment {
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            loss: 0.0,
            duplicate: 0.0,
        }
    }
}

impl Impairment {
    /// Checks the probabilities.
    pub fn validate(&self) -> Result<(), NetemError> {
        for (name, p) in [("loss", self.loss), ("duplicate", self.duplicate)] {
            if !(0.0..=1.0).contains(&p) {
                return Err(NetemError::Probability { name, value: p });
            }
        }
        Ok(())
    }
}

/// A span of time after the proxy started during which every datagram, both ways, is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// When the partition begins, counted from the proxy's start.
    pub start: Duration,
    /// When it heals.
    pub end: Duration,
}

impl Partition {
    /// Whether `elapsed` (since the proxy's start) falls inside the partition.
    pub fn contains(&self, elapsed: Duration) -> bool {
        self.start <= elapsed && elapsed < self.end
    }
}

/// Everything a [`Proxy`] does, per direction, and its bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyConfig {
    /// Datagrams from a client to the target.
    pub to_target: Impairment,
    /// Datagrams from the target back to a client.
    pub to_client: Impairment,
    /// Times when nothing passes either way.
    pub partitions: Vec<Partition>,
    /// At most this many datagrams wait for their delivery time; more are dropped (and counted
    /// in [`Stats::overflowed`]).
    pub max_queued: usize,
    /// At most this many client addresses are served at once; datagrams from further clients are
    /// dropped (and counted in [`Stats::refused`]).
    pub max_clients: usize,
    /// A client silent both ways for this long is forgotten (its upstream socket closed).
    pub idle_timeout: Duration,
}

impl ProxyConfig {
    /// The same impairment both ways, no partition, default bounds.
    pub fn symmetric(impairment: Impairment) -> ProxyConfig {
        ProxyConfig {
            to_target: impairment,
            to_client: impairment,
            partitions: Vec::new(),
            max_queued: 8_192,
            max_clients: 64,
            idle_timeout: Duration::from_secs(120),
        }
    }
}

impl From<Impairment> for ProxyConfig {
    fn from(impairment: Impairment) -> ProxyConfig {
        ProxyConfig::symmetric(impairment)
    }
}

/// Why a proxy could not start.
#[derive(Debug, thiserror::Error)]
pub enum NetemError {
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A socket could not be configured or a thread started.
    #[error("cannot start the proxy: {0}")]
    Io(#[from] std::io::Error),
    /// A probability outside 0..=1.
    #[error("{name} probability {value} is not between 0 and 1")]
    Probability {
        /// Which one.
        name: &'static str,
        /// The value given.
        value: f64,
    },
    /// A bound of zero.
    #[error("max_queued and max_clients must be at least 1")]
    ZeroBound,
    /// A partition that ends before it starts.
    #[error("a partition ends ({end:?}) before it starts ({start:?})")]
    Partition {
        /// Its start.
        start: Duration,
        /// Its end.
        end: Duration,
    },
}

/// What a proxy has done so far (both directions together).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Datagrams received from clients or the target.
    pub received: u64,
    /// Datagrams sent on (duplicates included).
    pub forwarded: u64,
    /// Datagrams dropped for any reason (loss, partition, overflow, refused client).
    pub dropped: u64,
    /// Of those, dropped during a partition.
    pub partitioned: u64,
    /// Of those, dropped because the queue was full.
    pub overflowed: u64,
    /// Of those, dropped because the client map was full.
    pub refused: u64,
    /// Extra copies scheduled.
    pub duplicated: u64,
    /// Datagrams (copies included) scheduled with a non-zero delay.
    pub delayed: u64,
    /// Client addresses currently served.
    pub clients: u64,
}

#[derive(Default)]
struct Counters {
    received: AtomicU64,
    forwarded: AtomicU64,
    dropped: AtomicU64,
    partitioned: AtomicU64,
    overflowed: AtomicU64,
    refused: AtomicU64,
    duplicated: AtomicU64,
    delayed: AtomicU64,
    clients: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// A datagram waiting for its delivery time.
struct Pending {
    due: Instant,
    seq: u64,
    socket: Arc<UdpSocket>,
    to: SocketAddr,
    bytes: Vec<u8>,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Pending) -> bool {
        self.due == other.due && self.seq == other.seq
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Pending) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    /// Reversed: the earliest due datagram is the greatest (top of the max-heap).
    fn cmp(&self, other: &Pending) -> CmpOrdering {
        other
            .due
            .cmp(&self.due)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

#[derive(Default)]
struct Queue {
    heap: BinaryHeap<Pending>,
    seq: u64,
}

/// State shared by the proxy's threads.
struct Shared {
    config: ProxyConfig,
    start: Instant,
    stop: AtomicBool,
    counters: Counters,
    queue: Mutex<Queue>,
    wake: Condvar,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A uniform float in [0, 1).
fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

impl Shared {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn partitioned(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.start);
        self.config.partitions.iter().any(|p| p.contains(elapsed))
    }

    /// Applies `impairment` to one datagram and queues what survives for `socket` to send to
    /// `to`. The draws per datagram are fixed (loss, delay, duplicate, duplicate's delay) so a
    /// stream's fates do not depend on earlier outcomes.
    fn impair(
        &self,
        impairment: &Impairment,
        rng: &mut ChaCha8Rng,
        socket: &Arc<UdpSocket>,
        to: SocketAddr,
        bytes: &[u8],
    ) {
        let now = Instant::now();
        bump(&self.counters.received);
        let lost = unit(rng) < impairment.loss;
        let delay = draw_delay(impairment, rng);
        let duplicate = unit(rng) < impairment.duplicate;
        let second_delay = draw_delay(impairment, rng);
        if self.partitioned(now) {
            bump(&self.counters.dropped);
            bump(&self.counters.partitioned);
            return;
        }
        if lost {
            bump(&self.counters.dropped);
            return;
        }
        self.enqueue(now, delay, socket, to, bytes.to_vec());
        if duplicate {
            bump(&self.counters.duplicated);
            self.enqueue(now, second_delay, socket, to, bytes.to_vec());
        }
    }

    fn enqueue(
        &self,
        now: Instant,
        delay: Duration,
        socket: &Arc<UdpSocket>,
        to: SocketAddr,
        bytes: Vec<u8>,
    ) {
        if delay.is_zero() {
            // Nothing to wait for: send now, keeping the queue for delayed datagrams.
            self.send(socket, to, &bytes);
            return;
        }
        let mut queue = lock(&self.queue);
        if queue.heap.len() >= self.config.max_queued {
            drop(queue);
            bump(&self.counters.dropped);
            bump(&self.counters.overflowed);
            return;
        }
        queue.seq += 1;
        let seq = queue.seq;
        let due = now + delay;
        // The sender sleeps until the earliest due datagram: wake it only if this one is earlier.
        let earliest = queue.heap.peek().is_none_or(|next| due < next.due);
        queue.heap.push(Pending {
            due,
            seq,
            socket: Arc::clone(socket),
            to,
            bytes,
        });
        drop(queue);
        bump(&self.counters.delayed);
        if earliest {
            self.wake.notify_one();
        }
    }

    fn send(&self, socket: &UdpSocket, to: SocketAddr, bytes: &[u8]) {
        // A send error (the client went away, ICMP unreachable...) is the network's business: the
        // datagram is lost, as it would be on a wire.
        if socket.send_to(bytes, to).is_ok() {
            bump(&self.counters.forwarded);
        } else {
            bump(&self.counters.dropped);
        }
    }

    fn stats(&self) -> Stats {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Stats {
            received: get(&c.received),
            forwarded: get(&c.forwarded),
            dropped: get(&c.dropped),
            partitioned: get(&c.partitioned),
            overflowed: get(&c.overflowed),
            refused: get(&c.refused),
            duplicated: get(&c.duplicated),
            delayed: get(&c.delayed),
            clients: get(&c.clients),
        }
    }
}

fn draw_delay(impairment: &Impairment, rng: &mut ChaCha8Rng) -> Duration {
    let u = unit(rng);
    let mean = impairment.delay.as_secs_f64();
    let jitter = impairment.jitter.as_secs_f64();
    let secs = (mean + jitter * (2.0 * u - 1.0)).max(0.0);
    Duration::try_from_secs_f64(secs).unwrap_or(Duration::ZERO)
}

/// The random stream of one client and direction.
fn stream(seed: u64, client: u64, to_target: bool) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(client.wrapping_mul(2).wrapping_add(u64::from(to_target)));
    rng
}

/// One client address served by the proxy.
struct Client {
    upstream: Arc<UdpSocket>,
    rng: ChaCha8Rng,
    /// Last datagram either way, in milliseconds since the proxy's start.
    last_seen: Arc<AtomicU64>,
    gone: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Client {
    fn retire(&mut self) {
        self.gone.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn millis_since(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The impairment proxy. Start one with [`Proxy::spawn`] or [`Proxy::spawn_with`].
#[derive(Debug)]
pub struct Proxy;

impl Proxy {
    /// Listens on `listen` and forwards to `target` with the same `impairment` both ways;
    /// `seed` fixes every random draw.
    pub fn spawn(
        listen: SocketAddr,
        target: SocketAddr,
        impairment: Impairment,
        seed: u64,
    ) -> Result<ProxyHandle, NetemError> {
        Proxy::spawn_with(listen, target, ProxyConfig::symmetric(impairment), seed)
    }

    /// Listens on `listen` and forwards to `target` as `config` says; `seed` fixes every random
    /// draw.
    pub fn spawn_with(
        listen: SocketAddr,
        target: SocketAddr,
        config: ProxyConfig,
        seed: u64,
    ) -> Result<ProxyHandle, NetemError> {
        config.to_target.validate()?;
        config.to_client.validate()?;
        if config.max_queued == 0 || config.max_clients == 0 {
            return Err(NetemError::ZeroBound);
        }
        if let Some(p) = config.partitions.iter().find(|p| p.end < p.start) {
            return Err(NetemError::Partition {
                start: p.start,
                end: p.end,
            });
        }
        let socket = UdpSocket::bind(listen).map_err(|source| NetemError::Bind {
            addr: listen,
            source,
        })?;
        socket.set_read_timeout(Some(POLL))?;
        let local_addr = socket.local_addr()?;
        let socket = Arc::new(socket);
        let shared = Arc::new(Shared {
            config,
            start: Instant::now(),
            stop: AtomicBool::new(false),
            counters: Counters::default(),
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
        });
        let sender = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("netem-sender".into())
                .spawn(move || run_sender(&shared))?
        };
        let listener = {
            let shared = Arc::clone(&shared);
            let socket = Arc::clone(&socket);
            thread::Builder::new()
                .name("netem-listen".into())
                .spawn(move || run_listener(&shared, &socket, target, seed))
        };
        let listener = match listener {
            Ok(listener) => listener,
            Err(e) => {
                shared.stop.store(true, Ordering::Relaxed);
                shared.wake.notify_all();
                let _ = sender.join();
                return Err(e.into());
            }
        };
        Ok(ProxyHandle {
            local_addr,
            shared,
            threads: vec![listener, sender],
        })
    }
}

/// A running proxy: its address, its counters, and the way to stop it (dropping the handle
/// stops it too).
#[derive(Debug)]
pub struct ProxyHandle {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ProxyHandle {
    /// The address clients send to (the port the OS chose if `listen` had port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// What the proxy has done so far.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// Stops forwarding, closes the sockets and waits for the proxy's threads (datagrams still
    /// queued are dropped).
    pub fn stop(mut self) -> Stats {
        self.shutdown();
        self.stats()
    }

    fn shutdown(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.shared.wake.notify_all();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Drop for ProxyHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Sends each queued datagram when it is due.
fn run_sender(shared: &Shared) {
    let mut queue = lock(&shared.queue);
    while !shared.stopped() {
        let now = Instant::now();
        let wait = match queue.heap.peek() {
            Some(next) if next.due <= now => {
                if let Some(next) = queue.heap.pop() {
                    drop(queue);
                    shared.send(&next.socket, next.to, &next.bytes);
                    queue = lock(&shared.queue);
                }
                continue;
            }
            Some(next) => (next.due - now).min(POLL),
            None => POLL,
        };
        queue = shared
            .wake
            .wait_timeout(queue, wait)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
    queue.heap.clear();
}

/// The unspecified address of `target`'s family, port 0: where upstream sockets bind.
fn upstream_bind(target: SocketAddr) -> SocketAddr {
    match target.ip() {
        IpAddr::V4(ip) if ip.is_loopback() => SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        IpAddr::V4(_) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        IpAddr::V6(ip) if ip.is_loopback() => SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 0),
        IpAddr::V6(_) => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
    }
}

/// Receives from clients, opens an upstream socket per new client, and impairs toward the target.
fn run_listener(shared: &Arc<Shared>, socket: &Arc<UdpSocket>, target: SocketAddr, seed: u64) {
    let mut clients: HashMap<SocketAddr, Client> = HashMap::new();
    let mut next_client: u64 = 0;
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let idle_ms = u64::try_from(shared.config.idle_timeout.as_millis()).unwrap_or(u64::MAX);
    let mut last_sweep = Instant::now();
    while !shared.stopped() {
        if last_sweep.elapsed() >= Duration::from_secs(1) {
            last_sweep = Instant::now();
            let now_ms = millis_since(shared.start);
            clients.retain(|_, client| {
                let idle =
                    now_ms.saturating_sub(client.last_seen.load(Ordering::Relaxed)) >= idle_ms;
                if idle {
                    client.retire();
                }
                !idle
            });
            shared
                .counters
                .clients
                .store(clients.len() as u64, Ordering::Relaxed);
        }
        let (len, from) = match socket.recv_from(&mut buf) {
            Ok(got) => got,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            // ICMP errors from earlier sends and the like: keep serving.
            Err(_) => continue,
        };
        if !clients.contains_key(&from) {
            if clients.len() >= shared.config.max_clients {
                bump(&shared.counters.received);
                bump(&shared.counters.dropped);
                bump(&shared.counters.refused);
                continue;
            }
            match open_client(shared, socket, target, from, seed, next_client) {
                Ok(client) => {
                    next_client += 1;
                    clients.insert(from, client);
                    shared
                        .counters
                        .clients
                        .store(clients.len() as u64, Ordering::Relaxed);
                }
                Err(_) => {
                    bump(&shared.counters.received);
                    bump(&shared.counters.dropped);
                    continue;
                }
            }
        }
        if let Some(client) = clients.get_mut(&from) {
            client
                .last_seen
                .store(millis_since(shared.start), Ordering::Relaxed);
            shared.impair(
                &shared.config.to_target,
                &mut client.rng,
                &client.upstream,
                target,
                &buf[..len],
            );
        }
    }
    for client in clients.values_mut() {
        client.retire();
    }
}

/// Opens the upstream socket of client `from` (number `index`) and its reply thread.
fn open_client(
    shared: &Arc<Shared>,
    listen: &Arc<UdpSocket>,
    target: SocketAddr,
    from: SocketAddr,
    seed: u64,
    index: u64,
) -> std::io::Result<Client> {
    let upstream = UdpSocket::bind(upstream_bind(target))?;
    upstream.set_read_timeout(Some(POLL))?;
    let upstream = Arc::new(upstream);
    let last_seen = Arc::new(AtomicU64::new(millis_since(shared.start)));
    let gone = Arc::new(AtomicBool::new(false));
    let thread = {
        let shared = Arc::clone(shared);
        let listen = Arc::clone(listen);
        let upstream = Arc::clone(&upstream);
        let last_seen = Arc::clone(&last_seen);
        let gone = Arc::clone(&gone);
        let mut rng = stream(seed, index, false);
        thread::Builder::new()
            .name(format!("netem-client-{index}"))
            .spawn(move || {
                let mut buf = vec![0u8; MAX_DATAGRAM];
                while !shared.stopped() && !gone.load(Ordering::Relaxed) {
                    let (len, sender) = match upstream.recv_from(&mut buf) {
                        Ok(got) => got,
                        Err(_) => continue,
                    };
                    if sender != target {
                        continue;
                    }
                    last_seen.store(millis_since(shared.start), Ordering::Relaxed);
                    shared.impair(
                        &shared.config.to_client,
                        &mut rng,
                        &listen,
                        from,
                        &buf[..len],
                    );
                }
            })?
    };
    Ok(Client {
        upstream,
        rng: stream(seed, index, true),
        last_seen,
        gone,
        thread: Some(thread),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_stay_within_mean_plus_minus_jitter() {
        let imp = Impairment {
            delay: Duration::from_millis(100),
            jitter: Duration::from_millis(20),
            ..Impairment::default()
        };
        let mut rng = stream(1, 0, true);
        let draws: Vec<Duration> = (0..10_000).map(|_| draw_delay(&imp, &mut rng)).collect();
        assert!(draws.iter().all(|d| *d >= Duration::from_millis(80)));
        assert!(draws.iter().all(|d| *d <= Duration::from_millis(120)));
        let mean = draws.iter().map(Duration::as_secs_f64).sum::<f64>() / draws.len() as f64;
        assert!((mean - 0.1).abs() < 0.002, "mean {mean}");
    }

    #[test]
    fn streams_are_fixed_by_the_seed_and_differ_between_clients_and_directions() {
        let a: Vec<u64> = (0..4).map(|_| stream(9, 3, true).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(
            stream(9, 3, true).next_u64(),
            stream(9, 3, false).next_u64()
        );
        assert_ne!(stream(9, 3, true).next_u64(), stream(9, 4, true).next_u64());
        assert_ne!(
            stream(9, 3, true).next_u64(),
            stream(10, 3, true).next_u64()
        );
    }

    #[test]
    fn bad_settings_are_refused() {
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap_or_else(|_| unreachable!());
        let bad = Impairment {
            loss: 1.5,
            ..Impairment::default()
        };
        assert!(matches!(
            Proxy::spawn(any, any, bad, 0),
            Err(NetemError::Probability { name: "loss", .. })
        ));
        let mut config = ProxyConfig::symmetric(Impairment::default());
        config.partitions.push(Partition {
            start: Duration::from_secs(2),
            end: Duration::from_secs(1),
        });
        assert!(matches!(
            Proxy::spawn_with(any, any, config, 0),
            Err(NetemError::Partition { .. })
        ));
    }

    #[test]
    fn the_queue_pops_the_earliest_first() {
        let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}")));
        let to: SocketAddr = "127.0.0.1:9".parse().unwrap_or_else(|_| unreachable!());
        let now = Instant::now();
        let mut heap = BinaryHeap::new();
        for (seq, ms) in [(0, 30), (1, 10), (2, 20), (3, 10)] {
            heap.push(Pending {
                due: now + Duration::from_millis(ms),
                seq,
                socket: Arc::clone(&socket),
                to,
                bytes: Vec::new(),
            });
        }
        let order: Vec<u64> = std::iter::from_fn(|| heap.pop().map(|p| p.seq)).collect();
        assert_eq!(order, vec![1, 3, 2, 0]);
    }
}
