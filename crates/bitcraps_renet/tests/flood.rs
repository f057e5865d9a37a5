//! Floods at a relay, over real UDP on 127.0.0.1 (port 0): 10 MiB/s of forged netcode
//! connection requests (each new, sealed like a real client's, a random client id, an expiry a
//! year ahead) and junk from eight source addresses (127.0.0.2–9, ever new source ports), with
//! slow-loris connections from the same addresses that connect and never prove a key.
//!
//! - A seated player whose App dies during the flood comes back (a new App with its key and
//!   genesis) within 5 s, and the table plays on with the same state hashes and no penalty; a
//!   newcomer still reaches the flooded relay's lobby and gets the running table.
//! - Four new players form a table in a flooded lobby, and in a lobby flooded from 200
//!   addresses (127.0.1.0–199).
//! - A newcomer crowded out by a flood from its own address is told the relay answered and is
//!   full or busy, never that nobody answered.
//! - A single junk datagram with a bad sequence length, from an address that just sent a
//!   connection request, leaves the relay standing.
//! - Controls, with the gate off ([`GateLimits::off`], what the relay did before it): three
//!   seconds of forged requests lock the lobby against every newcomer even after they stopped,
//!   slow-loris connections from eight addresses fill it ("full or busy"), and the junk
//!   datagram kills the relay's thread (renetcode panics on it); with the gate, the same
//!   newcomer gets in.
//!
//! The tests take turns (two 10 MiB/s floods at once would measure the machine, not the relay).
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_bitcraps::bitcraps_consensus::{Height, Keypair};
use bevy_bitcraps::bitcraps_game::Registry;
use bevy_bitcraps::testing::test_keys;
use bevy_bitcraps::{StateHashBook, TableView};
use bitcraps_renet::flood::{
    forged_request, loopback_sources, Flood, FloodConfig, FloodStats, Loris, LorisConfig,
    LorisStats,
};
use bitcraps_renet::testing::player_app;
use bitcraps_renet::{
    join_lobby, spawn_lobby, GateLimits, Genesis, LobbyConfig, LobbyError, LobbyOutcome, NetClient,
    NetClientConfig, RelayHandle,
};
use common::*;
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

const ANY: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

/// A seated player must be back within this time of its restart.
const BACK_WITHIN: Duration = Duration::from_secs(5);

/// One flood at a time.
static TURN: Mutex<()> = Mutex::new(());

fn lobby(gate: GateLimits) -> RelayHandle {
    let mut config = LobbyConfig::new(4, &Registry::new());
    config.limits.gate = gate;
    spawn_lobby(config, ANY).expect("lobby relay")
}

/// The flood of the module documentation at `relay`, with `junk` of the datagrams junk.
fn flood_at(relay: &RelayHandle, junk: f64) -> (Flood, Loris) {
    flood_from(relay, loopback_sources(2, 8), junk)
}

/// 10 MiB/s from `sources` at `relay`, and 12 slow-loris connections from each of the first
/// eight (more than the relay keeps unproven per address, and together more connections than
/// the relay took in all before the gate).
fn flood_from(relay: &RelayHandle, sources: Vec<IpAddr>, junk: f64) -> (Flood, Loris) {
    let mut config = FloodConfig::new(relay.local_address(), sources.clone());
    config.junk = junk;
    config.sockets_per_source = (512 / sources.len()).max(2);
    let flood = Flood::spawn(config).expect("flood");
    let loris = Loris::spawn(LorisConfig {
        target: relay.local_address(),
        sources: sources.into_iter().take(8).collect(),
        per_source: 12,
    })
    .expect("slow-loris connections");
    (flood, loris)
}

fn step_until(apps: &mut [App], limit: Duration, mut done: impl FnMut(&[App]) -> bool) -> bool {
    let start = Instant::now();
    while !done(apps) {
        if start.elapsed() > limit {
            return false;
        }
        for app in apps.iter_mut() {
            app.update();
        }
        thread::sleep(Duration::from_millis(2));
    }
    true
}

fn height(apps: &[App]) -> u64 {
    apps.iter()
        .map(|a| a.world().resource::<TableView>().height.0)
        .min()
        .unwrap_or(0)
}

fn seated(app: &App) -> bool {
    app.world().resource::<NetClient>().is_seated()
}

/// Seat `i`'s App: its key, the genesis it holds, a bot.
fn player(relay: &RelayHandle, genesis: &Genesis, key: &Keypair, i: usize) -> App {
    let config = genesis.config(key.clone()).unwrap().with_fast_timings();
    let net = NetClientConfig {
        genesis: Some(genesis.clone()),
        ..NetClientConfig::new(relay.local_address())
    };
    player_app(config, net, &mut |app| bots(i, app))
}

/// The state hashes of the last up to 250 heights every App decided are the same.
fn same_hashes(apps: &[App]) {
    let up_to = height(apps);
    for h in up_to.saturating_sub(250).max(1)..=up_to {
        let hashes: Vec<_> = apps
            .iter()
            .map(|a| a.world().resource::<StateHashBook>().local(Height(h)))
            .collect();
        assert!(hashes[0].is_some(), "a hash at {h}");
        assert!(
            hashes.windows(2).all(|w| w[0] == w[1]),
            "hashes differ at {h}"
        );
    }
}

#[test]
fn a_seated_player_comes_back_within_5_s_through_a_flood() {
    let _turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
    let relay = lobby(GateLimits::default());
    let keys = test_keys(4, 9301);
    let geneses = form_table(&relay, &keys);
    let mut apps: Vec<App> = (0..4)
        .map(|i| player(&relay, &geneses[i], &keys[i], i))
        .collect();
    assert!(step_until(&mut apps, WALL, |a| height(a) >= 5));

    let (flood, loris) = flood_at(&relay, 0.1);
    // The table plays on under the flood (for 3 s: 30 MiB, seven times what locked a relay).
    let (before, flooded) = (height(&apps), Instant::now());
    assert!(
        step_until(&mut apps, WALL, |a| height(a) >= before + 3
            && flooded.elapsed() > Duration::from_secs(3)),
        "the table plays under the flood"
    );
    // Seat 3's App dies; the others play on without it for a moment.
    drop(apps.remove(3));
    let at = height(&apps);
    assert!(step_until(&mut apps, WALL, |a| height(a) >= at + 2));
    // It starts again, with its key and the genesis it holds.
    apps.push(player(&relay, &geneses[3], &keys[3], 3));
    let restarted = Instant::now();
    assert!(
        step_until(&mut apps, BACK_WITHIN, |a| seated(&a[3])),
        "seat 3 is back within {BACK_WITHIN:?} of its restart; gate {:?}",
        relay.gate_stats()
    );
    let back = restarted.elapsed();

    // A newcomer still reaches the lobby of the flooded relay and gets the running table.
    let newcomer = test_keys(5, 9301)[4].clone();
    let asked = Instant::now();
    let outcome = join_lobby(&lobby_request(&relay, &newcomer), |_| {});
    assert!(
        matches!(outcome, Ok(LobbyOutcome::Running(_))),
        "the newcomer got the running table: {outcome:?}"
    );
    let newcomer_in = asked.elapsed();

    let at = height(&apps);
    assert!(
        step_until(&mut apps, WALL, |a| height(a) >= at + 10),
        "the four play on"
    );
    same_hashes(&apps);
    for app in &apps {
        let seen = app.world().resource::<Seen>();
        assert!(seen.desync.is_empty(), "{:?}", seen.desync);
        assert!(seen.penalties.is_empty(), "{:?}", seen.penalties);
    }
    let (sent, loris) = (flood.stop(), loris.stats());
    let gate = relay.gate_stats();
    eprintln!(
        "seat 3 back after {:.2} s, newcomer answered after {:.2} s; flood {sent:?}; \
         slow-loris {loris:?}; gate {gate:?}",
        back.as_secs_f64(),
        newcomer_in.as_secs_f64()
    );
    assert!(sent.bytes > 30 * 1024 * 1024, "the flood ran: {sent:?}");
    assert!(gate.requests > 5_000 && gate.junk > 500, "{gate:?}");
    let limits = GateLimits::default();
    assert!(gate.handshakes <= limits.handshakes + limits.known_handshakes);
}

#[test]
fn four_new_players_form_a_table_in_a_flooded_lobby() {
    let _turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
    let relay = lobby(GateLimits::default());
    let (flood, _loris) = flood_at(&relay, 0.1);
    thread::sleep(Duration::from_secs(2));
    let keys = test_keys(4, 9302);
    let start = Instant::now();
    let geneses = form_table(&relay, &keys);
    let took = start.elapsed();
    assert!(geneses.windows(2).all(|g| g[0] == g[1]));
    eprintln!(
        "table formed in {:.2} s under {:?}; gate {:?}",
        took.as_secs_f64(),
        flood.stats(),
        relay.gate_stats()
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn four_new_players_form_a_table_while_200_addresses_flood_the_lobby() {
    let _turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
    let relay = lobby(GateLimits::default());
    // 127.0.1.0 to 127.0.1.199.
    let (flood, _loris) = flood_from(&relay, loopback_sources(256, 200), 0.1);
    thread::sleep(Duration::from_secs(3));
    let keys = test_keys(4, 9306);
    let start = Instant::now();
    let geneses = form_table(&relay, &keys);
    let took = start.elapsed();
    assert!(geneses.windows(2).all(|g| g[0] == g[1]));
    let gate = relay.gate_stats();
    eprintln!(
        "table formed in {:.2} s under {:?} from 200 addresses; gate {gate:?}",
        took.as_secs_f64(),
        flood.stats(),
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(gate.addresses >= 100, "{gate:?}");
    let limits = GateLimits::default();
    assert!(gate.handshakes <= limits.handshakes + limits.known_handshakes);
}

#[test]
fn a_newcomer_crowded_out_is_told_the_relay_is_busy_not_that_nobody_answered() {
    let _turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
    // A relay that remembers one waiting challenge per address, flooded from the newcomer's
    // own address: its challenge is forgotten before its answer comes back.
    let relay = lobby(GateLimits {
        handshakes_per_ip: 1,
        ..GateLimits::default()
    });
    let mut config = FloodConfig::new(relay.local_address(), loopback_sources(1, 1));
    config.junk = 0.0;
    let _flood = Flood::spawn(config).expect("flood");
    thread::sleep(Duration::from_millis(500));
    let (outcome, took) = one_join(&relay, 9308);
    let error = outcome.unwrap_err();
    let text = error.to_string();
    eprintln!("after {took:?}: {text}; gate {:?}", relay.gate_stats());
    assert!(
        matches!(error, LobbyError::NotConnected { .. }),
        "{error:?}"
    );
    assert!(text.contains("answered but did not let you in"), "{text}");
    assert!(text.contains("full or busy"), "{text}");
    assert!(relay.gate_stats().denied > 0);
}

/// A forged connection request, then a datagram whose prefix claims a 9-byte sequence, from
/// the same address.
fn poison(relay: &RelayHandle) {
    let socket = UdpSocket::bind("127.0.0.2:0").unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let request = forged_request(relay.local_address(), now + 3600, &mut rng).unwrap();
    socket.send_to(&request, relay.local_address()).unwrap();
    thread::sleep(Duration::from_millis(100));
    let mut junk = [0x91u8; 60];
    junk[1..9].copy_from_slice(&[7; 8]);
    socket.send_to(&junk, relay.local_address()).unwrap();
    thread::sleep(Duration::from_millis(200));
}

/// A lobby join with one key: whether the lobby let it in (it heard who waits there) or why
/// not, and how long that took.
fn one_join(relay: &RelayHandle, seed: u64) -> (Result<(), LobbyError>, Duration) {
    let key = test_keys(1, seed)[0].clone();
    let mut join = lobby_request(relay, &key);
    // The table of four never fills: give up a second after the connection timeout.
    join.wait_timeout = Some(join.connect_timeout + Duration::from_secs(1));
    let start = Instant::now();
    let mut let_in = None;
    let outcome = join_lobby(&join, |_| {
        let_in.get_or_insert(start.elapsed());
    });
    match (outcome, let_in) {
        (Err(LobbyError::Timeout { .. }), Some(at)) => (Ok(()), at),
        (Err(e), _) => (Err(e), start.elapsed()),
        (Ok(other), _) => panic!("a table of one: {other:?}"),
    }
}

#[test]
fn a_junk_datagram_leaves_the_relay_standing() {
    let _turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
    let relay = lobby(GateLimits::default());
    poison(&relay);
    let (outcome, _) = one_join(&relay, 9303);
    assert!(outcome.is_ok(), "{outcome:?}");
    assert!(relay.gate_stats().junk >= 1);
}

/// Forged connection requests only (no junk, no slow-loris) at `relay` for three seconds.
fn forged_only(relay: &RelayHandle) -> FloodStats {
    let mut config = FloodConfig::new(relay.local_address(), loopback_sources(2, 8));
    config.junk = 0.0;
    let flood = Flood::spawn(config).expect("flood");
    thread::sleep(Duration::from_secs(3));
    flood.stop()
}

/// Slow-loris connections at `relay` until `joined` is over: 12 from each of 127.0.0.2–9.
fn with_loris<T>(relay: &RelayHandle, joined: impl FnOnce() -> T) -> (T, LorisStats) {
    let loris = Loris::spawn(LorisConfig {
        target: relay.local_address(),
        sources: loopback_sources(2, 8),
        per_source: 12,
    })
    .expect("slow-loris connections");
    thread::sleep(Duration::from_secs(2));
    let out = joined();
    (out, loris.stats())
}

#[test]
fn control_without_the_gate_floods_lock_the_lobby_and_junk_kills_it() {
    let _turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
    // Three seconds of forged requests, then none: yet nobody gets in, the forged requests hold
    // every pending slot of netcode until the expiry they wrote, a year from now.
    let relay = lobby(GateLimits::off());
    let sent = forged_only(&relay);
    let (outcome, took) = one_join(&relay, 9304);
    eprintln!("without the gate, after {sent:?}: {outcome:?} after {took:?}");
    assert!(
        matches!(outcome, Err(LobbyError::Unreachable { .. })),
        "{outcome:?}"
    );
    // With the gate, the same flood leaves the lobby open.
    let relay = lobby(GateLimits::default());
    forged_only(&relay);
    let (outcome, _) = one_join(&relay, 9304);
    assert!(outcome.is_ok(), "{outcome:?}");

    // Slow-loris connections from eight addresses fill a relay without the gate (it took a
    // few dozen connections in all); the refusal says so.
    let relay = lobby(GateLimits::off());
    let ((outcome, _), loris) = with_loris(&relay, || one_join(&relay, 9305));
    eprintln!("without the gate, slow-loris {loris:?}: {outcome:?}");
    let error = outcome.unwrap_err();
    assert!(
        matches!(error, LobbyError::NotConnected { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("full or busy"), "{error}");
    let relay = lobby(GateLimits::default());
    let ((outcome, _), _) = with_loris(&relay, || one_join(&relay, 9305));
    assert!(outcome.is_ok(), "{outcome:?}");

    // One junk datagram kills a relay without the gate.
    let relay = lobby(GateLimits::off());
    poison(&relay);
    let (outcome, _) = one_join(&relay, 9307);
    assert!(
        matches!(outcome, Err(LobbyError::Unreachable { .. })),
        "{outcome:?}"
    );
}
