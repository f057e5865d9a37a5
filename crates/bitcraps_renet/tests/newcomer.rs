//! A newcomer at a running table, over real UDP on 127.0.0.1: four players form a table in a
//! lobby and play; a fifth asks the same relay's lobby for a seat and gets the running table's
//! genesis, comes in as a guest, catches up from the players' certificates, asks to sit down,
//! is admitted by the bots' policy and then votes; a sixth is refused by that policy and sees
//! why, and the players saw it too.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::thread;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_bitcraps::bitcraps_consensus::{Height, PeerId};
use bevy_bitcraps::bitcraps_game::{Event, JoinDeclined, Operation, Registry, TableState};
use bevy_bitcraps::testing::test_keys;
use bevy_bitcraps::{
    AdmissionPolicy, BitCrapsSystems, BotPlayer, ConsensusNode, GameApp, GameEvent, StateHashBook,
    TableApp, TableView,
};
use bitcraps_renet::testing::player_app;
use bitcraps_renet::{
    join_lobby, spawn_lobby, LobbyConfig, LobbyOutcome, NetClient, NetClientConfig, RelayHandle,
};
use common::*;

const ANY: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

/// Every game event a player's App saw.
#[derive(Resource, Default)]
struct Events(Vec<Event>);

fn collect(mut seen: ResMut<Events>, mut events: MessageReader<GameEvent>) {
    seen.0.extend(events.read().map(|e| e.event.clone()));
}

/// A bot player App for `config`: admits newcomers while fewer than five are seated.
fn player(i: usize, config: bevy_bitcraps::BitCrapsConfig, relay: &RelayHandle) -> App {
    let net = NetClientConfig::new(relay.local_address());
    player_app(config.with_fast_timings(), net, &mut |app| {
        bots(i, app);
        app.init_resource::<Events>()
            .add_systems(Update, collect.after(BitCrapsSystems::Cleanup));
        let world = app.world_mut();
        let mut q = world.query::<&mut BotPlayer>();
        for mut bot in q.iter_mut(world) {
            bot.admission = AdmissionPolicy::UpTo(5);
        }
    })
}

struct Table {
    apps: Vec<App>,
}

impl Table {
    fn run_until(&mut self, what: &str, mut done: impl FnMut(&Table) -> bool) {
        let start = Instant::now();
        while !done(self) {
            assert!(start.elapsed() < WALL, "timed out waiting: {what}");
            for app in &mut self.apps {
                app.update();
            }
            // The relay runs on its own clock: keep the players' virtual time near real time.
            thread::sleep(Duration::from_millis(2));
        }
    }

    fn state(&self, i: usize) -> TableState {
        self.apps[i]
            .world()
            .resource::<TableView>()
            .snapshot::<TableState>()
            .expect("craps state")
            .clone()
    }

    fn height(&self, which: &[usize]) -> u64 {
        which
            .iter()
            .map(|i| self.apps[*i].world().resource::<TableView>().height.0)
            .min()
            .unwrap_or(0)
    }

    fn seated_at_relay(&self, i: usize) -> bool {
        self.apps[i].world().resource::<NetClient>().is_seated()
    }

    fn ask_to_sit_down(&mut self, i: usize) {
        let mut app = self.apps[i].world_mut().resource_mut::<TableApp>();
        let game = app.get_mut::<GameApp>().expect("game");
        game.submit(Operation::Join { buy_in: 1_000 });
    }

    fn saw(&self, i: usize, what: impl Fn(&Event) -> bool) -> bool {
        self.apps[i].world().resource::<Events>().0.iter().any(what)
    }
}

#[test]
fn a_newcomer_asks_the_running_table_for_a_seat_and_plays() {
    let relay = spawn_lobby(LobbyConfig::new(4, &Registry::new()), ANY).expect("lobby");
    let keys = test_keys(4, 8101);
    let geneses = form_table(&relay, &keys);
    let mut t = Table {
        apps: keys
            .iter()
            .enumerate()
            .map(|(i, k)| player(i, geneses[i].config(k.clone()).unwrap(), &relay))
            .collect(),
    };
    let genesis = [0, 1, 2, 3];
    t.run_until("the table plays", |t| t.height(&genesis) >= 4);

    // A fifth player asks the lobby: the table already plays, here is its genesis.
    let newcomers = test_keys(2, 8102);
    let outcome = join_lobby(&lobby_request(&relay, &newcomers[0]), |_| {}).expect("an answer");
    let LobbyOutcome::Running(running) = outcome else {
        panic!("a latecomer gets the running table: {outcome:?}");
    };
    assert_eq!(running, geneses[0], "the same genesis the players hold");
    assert!(!running.seats(&newcomers[0].peer_id()));
    let config = running.newcomer_config(newcomers[0].clone()).unwrap();
    t.apps.push(player(4, config, &relay));
    t.run_until("the relay lets the newcomer in", |t| t.seated_at_relay(4));
    t.ask_to_sit_down(4);
    let fifth = newcomers[0].peer_id();
    let five = [0, 1, 2, 3, 4];
    t.run_until("the newcomer is seated everywhere", |t| {
        five.iter().all(|i| t.state(*i).seat_of(&fifth).is_some())
    });
    let seated_at = t.state(0).height();
    // Two heights later it is a validator: its precommits are in the certificates.
    t.run_until("the newcomer signs a certificate", |t| {
        let node = t.apps[0].world().resource::<ConsensusNode>();
        node.journal()
            .range(Height(seated_at + 2)..)
            .any(|(_, d)| d.certificate.signers().any(|s| s == fifth))
    });

    // A sixth: five are seated, so the bots refuse it, and both sides see why.
    let outcome = join_lobby(&lobby_request(&relay, &newcomers[1]), |_| {}).expect("an answer");
    let config = outcome
        .genesis()
        .newcomer_config(newcomers[1].clone())
        .unwrap();
    t.apps.push(player(5, config, &relay));
    t.run_until("the relay lets the sixth in", |t| t.seated_at_relay(5));
    t.ask_to_sit_down(5);
    let sixth: PeerId = newcomers[1].peer_id();
    let refused = |e: &Event| matches!(e, Event::JoinDeclined { peer, reason: JoinDeclined::Refused } if *peer == sixth);
    t.run_until("the sixth is refused on both sides", |t| {
        t.saw(0, refused) && t.saw(5, refused)
    });
    assert!(t.state(0).seat_of(&sixth).is_none());

    // The five agree on every state, and nobody was punished or out of step.
    let at = t.height(&five);
    t.run_until("five more heights", |t| t.height(&five) >= at + 5);
    let up_to = t.height(&five);
    for h in 1..=up_to {
        let hashes: Vec<_> = five
            .iter()
            .map(|i| {
                t.apps[*i]
                    .world()
                    .resource::<StateHashBook>()
                    .local(Height(h))
            })
            .collect();
        assert!(hashes[0].is_some(), "a hash at {h}");
        assert!(
            hashes.windows(2).all(|w| w[0] == w[1]),
            "hashes differ at {h}"
        );
    }
    for app in &t.apps {
        let seen = app.world().resource::<Seen>();
        assert!(seen.desync.is_empty(), "{:?}", seen.desync);
        assert!(seen.penalties.is_empty(), "{:?}", seen.penalties);
    }
    assert!(
        relay.offences().is_empty(),
        "no connection was punished: {:?}",
        relay.offences()
    );
}
