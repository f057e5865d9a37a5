//! The game belongs to the players, not to the relay: four players form a table in a lobby and
//! play; the relay process dies and a new one starts at the same address — an empty lobby. The
//! players notice, reconnect with backoff, hand the new lobby the genesis they hold with a seat
//! proof, and it serves their table again: they play on with the same state hashes. Negative
//! control: players that do not hold the genesis (so cannot hand it over) stay unseated.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::thread;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_bitcraps::bitcraps_consensus::{Height, TableId};
use bevy_bitcraps::bitcraps_game::Registry;
use bevy_bitcraps::testing::test_keys;
use bevy_bitcraps::{StateHashBook, TableView};
use bitcraps_renet::testing::player_app;
use bitcraps_renet::{spawn_lobby, LobbyConfig, NetClient, NetClientConfig, RelayHandle};
use common::*;

fn step_until(apps: &mut [App], limit: Duration, mut done: impl FnMut(&[App]) -> bool) -> bool {
    let start = Instant::now();
    while !done(apps) {
        if start.elapsed() > limit {
            return false;
        }
        for app in apps.iter_mut() {
            app.update();
        }
        // The relay runs on its own clock: keep the players' virtual time near real time.
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

fn all_seated(apps: &[App]) -> bool {
    apps.iter()
        .all(|a| a.world().resource::<NetClient>().is_seated())
}

/// A table of four formed at a lobby on `port`, its players holding the genesis if `hold`.
fn table(seed: u64, hold: bool) -> (RelayHandle, Vec<App>) {
    let (relay, apps, _) = table_with_id(seed, hold);
    (relay, apps)
}

/// The same, with the table's id.
fn table_with_id(seed: u64, hold: bool) -> (RelayHandle, Vec<App>, TableId) {
    let any = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let relay = spawn_lobby(LobbyConfig::new(4, &Registry::new()), any).expect("lobby");
    let keys = test_keys(4, seed);
    let geneses = form_table(&relay, &keys);
    let id = geneses[0].terms.table;
    let apps = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let config = geneses[i].config(k.clone()).unwrap().with_fast_timings();
            let net = NetClientConfig {
                genesis: hold.then(|| geneses[i].clone()),
                ..NetClientConfig::new(relay.local_address())
            };
            player_app(config, net, &mut |app| {
                if i == 0 && std::env::var_os("RESTART_DEBUG").is_some() {
                    app.add_plugins(bevy::log::LogPlugin::default());
                }
                bots(i, app)
            })
        })
        .collect();
    (relay, apps, id)
}

/// Kills the relay and starts an empty lobby at the same address.
fn restart(relay: RelayHandle, apps: &mut [App]) -> RelayHandle {
    restart_pinned(relay, apps, None)
}

/// Kills the relay and starts an empty lobby at the same address that resumes only `pin`.
fn restart_pinned(relay: RelayHandle, apps: &mut [App], pin: Option<TableId>) -> RelayHandle {
    let addr = relay.local_address();
    relay.stop();
    // The players notice the loss.
    assert!(
        step_until(apps, WALL, |apps| apps
            .iter()
            .all(|a| !a.world().resource::<NetClient>().is_seated())),
        "the players noticed the relay died"
    );
    let config = LobbyConfig {
        resume_only: pin,
        ..LobbyConfig::new(4, &Registry::new())
    };
    spawn_lobby(config, addr).expect("the same address again")
}

#[test]
fn a_restarted_relay_serves_the_players_table_again() {
    let (relay, mut apps) = table(8201, true);
    assert!(step_until(&mut apps, WALL, |a| height(a) >= 5));
    let before = height(&apps);
    let relay = restart(relay, &mut apps);
    assert!(
        step_until(&mut apps, WALL, all_seated),
        "the players are seated again"
    );
    assert_eq!(
        relay.lobby(),
        Some((0, true)),
        "the new lobby serves the table"
    );
    assert!(step_until(&mut apps, WALL, |a| height(a) >= before + 10));
    let up_to = height(&apps);
    for h in 1..=up_to {
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
    for app in &apps {
        let seen = app.world().resource::<Seen>();
        assert!(seen.desync.is_empty() && seen.penalties.is_empty());
    }
}

#[test]
fn control_players_without_the_genesis_cannot_bring_the_table_back() {
    let (relay, mut apps) = table(8202, false);
    assert!(step_until(&mut apps, WALL, |a| height(a) >= 5));
    let relay = restart(relay, &mut apps);
    assert!(
        !step_until(&mut apps, Duration::from_secs(6), all_seated),
        "without the genesis nobody is seated again"
    );
    assert_eq!(relay.lobby(), Some((0, false)), "the lobby still waits");
}

#[test]
fn a_restarted_relay_resumes_only_the_table_it_served() {
    // Pinned to another table (as if a stranger's table had been served there): refused.
    let (relay, mut apps, _) = table_with_id(8203, true);
    assert!(step_until(&mut apps, WALL, |a| height(a) >= 5));
    let relay = restart_pinned(relay, &mut apps, Some(TableId::from_name("another table")));
    assert!(
        !step_until(&mut apps, Duration::from_secs(6), all_seated),
        "a relay pinned to another table does not serve this one"
    );
    assert_eq!(relay.lobby(), Some((0, false)), "the lobby still waits");
    relay.stop();

    // Pinned to the players' own table: served again.
    let (relay, mut apps, id) = table_with_id(8204, true);
    assert!(step_until(&mut apps, WALL, |a| height(a) >= 5));
    let before = height(&apps);
    let relay = restart_pinned(relay, &mut apps, Some(id));
    assert!(step_until(&mut apps, WALL, all_seated), "seated again");
    assert_eq!(relay.lobby(), Some((0, true)));
    assert!(step_until(&mut apps, WALL, |a| height(a) >= before + 5));
}
