//! The proxy between a client socket and an echo server on 127.0.0.1: delay, loss, duplication,
//! partitions and the client bound, each measured over real UDP.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bitcraps_netem::{Impairment, Partition, Proxy, ProxyConfig};

/// An echo server on 127.0.0.1 that stops when dropped.
struct Echo {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Echo {
    fn start() -> Echo {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !flag.load(Ordering::Relaxed) {
                if let Ok((len, from)) = socket.recv_from(&mut buf) {
                    let _ = socket.send_to(&buf[..len], from);
                }
            }
        });
        Echo {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn client() -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(10)))
        .unwrap();
    socket
}

fn any() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// Sends datagrams `0..n` (paced so that no socket buffer overflows), then collects echoes until
/// `quiet` passes without one; returns how many copies of each number came back.
fn exchange(socket: &UdpSocket, to: SocketAddr, n: u32, quiet: Duration) -> HashMap<u32, u32> {
    let mut got: HashMap<u32, u32> = HashMap::new();
    let mut buf = [0u8; 64];
    let mut drain = |got: &mut HashMap<u32, u32>, until: Instant| loop {
        let now = Instant::now();
        if now >= until {
            break;
        }
        match socket.recv_from(&mut buf) {
            Ok((4, _)) => {
                let k = u32::from_be_bytes(buf[..4].try_into().unwrap());
                *got.entry(k).or_default() += 1;
            }
            Ok(_) => panic!("a datagram changed size"),
            Err(_) => {}
        }
    };
    for k in 0..n {
        socket.send_to(&k.to_be_bytes(), to).unwrap();
        if k % 50 == 49 {
            drain(&mut got, Instant::now() + Duration::from_millis(5));
        }
    }
    let mut last = got.values().sum::<u32>();
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < quiet {
        drain(&mut got, Instant::now() + Duration::from_millis(20));
        let now = got.values().sum::<u32>();
        if now != last {
            last = now;
            quiet_since = Instant::now();
        }
    }
    got
}

#[test]
fn zero_impairment_forwards_everything_exactly_once() {
    let echo = Echo::start();
    let proxy = Proxy::spawn(any(), echo.addr, Impairment::default(), 1).unwrap();
    let socket = client();
    let got = exchange(
        &socket,
        proxy.local_addr(),
        2_000,
        Duration::from_millis(300),
    );
    assert_eq!(got.len(), 2_000, "every datagram came back");
    assert!(got.values().all(|&c| c == 1), "exactly once");
    let stats = proxy.stop();
    assert_eq!(stats.forwarded, 4_000, "{stats:?}");
    assert_eq!(stats.dropped, 0, "{stats:?}");
    assert_eq!(stats.delayed, 0, "{stats:?}");
    assert_eq!(stats.clients, 1, "{stats:?}");
}

/// Round trips one datagram at a time; returns each round-trip time.
fn round_trips(socket: &UdpSocket, to: SocketAddr, n: u32) -> Vec<Duration> {
    let mut buf = [0u8; 64];
    (0..n)
        .map(|k| {
            let sent = Instant::now();
            socket.send_to(&k.to_be_bytes(), to).unwrap();
            loop {
                assert!(sent.elapsed() < Duration::from_secs(2), "echo {k} lost");
                if let Ok((4, _)) = socket.recv_from(&mut buf) {
                    if u32::from_be_bytes(buf[..4].try_into().unwrap()) == k {
                        return sent.elapsed();
                    }
                }
            }
        })
        .collect()
}

#[test]
fn the_measured_delay_is_within_the_mean_plus_minus_jitter_each_way() {
    let echo = Echo::start();
    let socket = client();
    // Negative control: straight to the echo server, a round trip is far below the delay.
    let direct = round_trips(&socket, echo.addr, 20);
    let direct_max = *direct.iter().max().unwrap();
    assert!(direct_max < Duration::from_millis(60), "{direct:?}");

    let impairment = Impairment {
        delay: Duration::from_millis(50),
        jitter: Duration::from_millis(10),
        ..Impairment::default()
    };
    let proxy = Proxy::spawn(any(), echo.addr, impairment, 2).unwrap();
    let rtts = round_trips(&socket, proxy.local_addr(), 40);
    // Two ways of 50 ± 10 ms: between 80 and 120 ms, plus scheduling slack above.
    let min = *rtts.iter().min().unwrap();
    let max = *rtts.iter().max().unwrap();
    assert!(min >= Duration::from_millis(80), "{rtts:?}");
    assert!(max <= Duration::from_millis(170), "{rtts:?}");
    let mean = rtts.iter().map(Duration::as_secs_f64).sum::<f64>() / rtts.len() as f64;
    assert!((0.090..0.125).contains(&mean), "mean {mean} s: {rtts:?}");
    // The jitter spreads them.
    assert!(max - min >= Duration::from_millis(10), "{rtts:?}");
    let stats = proxy.stop();
    assert_eq!(stats.delayed, 80, "{stats:?}");
}

#[test]
fn the_loss_rate_is_near_the_setting_and_fixed_by_the_seed() {
    let echo = Echo::start();
    let lost_with = |seed: u64| {
        let mut config = ProxyConfig::symmetric(Impairment::default());
        config.to_target.loss = 0.1;
        let proxy = Proxy::spawn_with(any(), echo.addr, config, seed).unwrap();
        let socket = client();
        let got = exchange(
            &socket,
            proxy.local_addr(),
            2_000,
            Duration::from_millis(300),
        );
        let stats = proxy.stop();
        assert_eq!(stats.dropped as usize, 2_000 - got.len(), "{stats:?}");
        let mut lost: Vec<u32> = (0..2_000).filter(|k| !got.contains_key(k)).collect();
        lost.sort_unstable();
        lost
    };
    let lost = lost_with(7);
    // 10 % of 2,000 is 200, with a standard deviation of about 13.
    assert!((150..=250).contains(&lost.len()), "lost {}", lost.len());
    assert_eq!(lost_with(7), lost, "the same seed loses the same datagrams");
    assert_ne!(lost_with(8), lost, "another seed loses others");
}

#[test]
fn duplicates_arrive_at_about_the_set_rate() {
    let echo = Echo::start();
    let mut config = ProxyConfig::symmetric(Impairment::default());
    config.to_client.duplicate = 0.2;
    config.to_client.delay = Duration::from_millis(5);
    config.to_client.jitter = Duration::from_millis(5);
    let proxy = Proxy::spawn_with(any(), echo.addr, config, 3).unwrap();
    let socket = client();
    let got = exchange(
        &socket,
        proxy.local_addr(),
        1_000,
        Duration::from_millis(300),
    );
    assert_eq!(got.len(), 1_000, "no loss configured");
    let twice = got.values().filter(|&&c| c == 2).count();
    assert!(got.values().all(|&c| c <= 2));
    assert!((130..=270).contains(&twice), "{twice} of 1,000 doubled");
    let stats = proxy.stop();
    assert_eq!(stats.duplicated as usize, twice, "{stats:?}");
}

#[test]
fn nothing_passes_during_a_partition_and_everything_after() {
    let echo = Echo::start();
    let mut config = ProxyConfig::symmetric(Impairment::default());
    config.partitions.push(Partition {
        start: Duration::ZERO,
        end: Duration::from_millis(400),
    });
    let proxy = Proxy::spawn_with(any(), echo.addr, config, 4).unwrap();
    let socket = client();
    let during = exchange(&socket, proxy.local_addr(), 100, Duration::from_millis(100));
    assert!(during.is_empty(), "{} passed a partition", during.len());
    while proxy.stats().dropped < 100 {
        thread::sleep(Duration::from_millis(5));
    }
    thread::sleep(Duration::from_millis(400));
    let after = exchange(&socket, proxy.local_addr(), 100, Duration::from_millis(200));
    assert_eq!(after.len(), 100, "the partition healed");
    let stats = proxy.stop();
    assert_eq!(stats.partitioned, 100, "{stats:?}");
}

#[test]
fn clients_beyond_the_bound_are_refused_and_replies_route_to_their_own_client() {
    let echo = Echo::start();
    let mut config = ProxyConfig::symmetric(Impairment::default());
    config.max_clients = 2;
    let proxy = Proxy::spawn_with(any(), echo.addr, config, 5).unwrap();
    let a = client();
    let b = client();
    let c = client();
    assert_eq!(
        exchange(&a, proxy.local_addr(), 10, Duration::from_millis(100)).len(),
        10
    );
    let from_b = exchange(&b, proxy.local_addr(), 10, Duration::from_millis(100));
    assert_eq!(from_b.len(), 10, "b got its own echoes");
    assert!(exchange(&c, proxy.local_addr(), 10, Duration::from_millis(100)).is_empty());
    let stats = proxy.stop();
    assert_eq!(stats.refused, 10, "{stats:?}");
    assert_eq!(stats.clients, 2, "{stats:?}");
}

#[test]
fn dropping_the_handle_stops_the_proxy() {
    let echo = Echo::start();
    let proxy = Proxy::spawn(any(), echo.addr, Impairment::default(), 6).unwrap();
    let addr = proxy.local_addr();
    drop(proxy);
    let socket = client();
    assert!(exchange(&socket, addr, 10, Duration::from_millis(100)).is_empty());
}
