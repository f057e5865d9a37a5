//! A test harness in the spirit of bevy_replicon's test apps: N headless Apps (MinimalPlugins,
//! manual virtual time) seated at one table and connected by a [`MemoryHub`], stepped together.
//! Public so that integration tests, examples and benchmarks of other crates can use it.

use std::time::Duration;

use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use bitcraps_consensus::{Keypair, PeerId, TableId};

use crate::config::BitCrapsConfig;
use crate::memory::MemoryHub;
use crate::plugin::BitCrapsPlugin;
use crate::status::TableView;
use crate::transport::TransportAppExt;

/// Virtual time each harness frame advances by default (60 frames per second).
pub const FRAME: Duration = Duration::from_micros(16_667);

/// The keys of a test table of `n` players, derived from `seed`.
pub fn test_keys(n: usize, seed: u64) -> Vec<Keypair> {
    (0..n)
        .map(|i| {
            let mut s = [0u8; 32];
            s[..8].copy_from_slice(&seed.to_be_bytes());
            s[8..16].copy_from_slice(&(i as u64).to_be_bytes());
            s[16] = 0xB1;
            Keypair::from_seed(s)
        })
        .collect()
}

/// A headless App (MinimalPlugins, `ManualDuration(frame)` time) with the plugin and a
/// transport on `hub`. Call [`App::finish`] and [`App::cleanup`] (or [`TestTable::new`] does)
/// before stepping.
pub fn headless_app(config: BitCrapsConfig, hub: &MemoryHub, frame: Duration) -> App {
    let mut app = App::new();
    let peer = config.local_peer();
    app.add_plugins(MinimalPlugins)
        .insert_resource(TimeUpdateStrategy::ManualDuration(frame))
        .add_plugins(BitCrapsPlugin::new(config))
        .set_transport(hub.connect(peer));
    app
}

/// N Apps at one table, stepped together.
pub struct TestTable {
    /// The Apps, in seat-key order of [`TestTable::keys`].
    pub apps: Vec<App>,
    /// Their shared hub.
    pub hub: MemoryHub,
    /// Their keys.
    pub keys: Vec<Keypair>,
    /// The table id the Apps' consensus signs under (a craps game signs its operations under
    /// the id derived from its genesis: `TableState::config().table_id`).
    pub table: TableId,
    /// Frames stepped so far.
    pub frames: u64,
}

impl TestTable {
    /// `n` Apps with fast timings; `customize(i, config)` may adjust each configuration and
    /// `setup(i, app)` each App (add bots, a Byzantine plugin, an application...).
    pub fn new(
        n: usize,
        seed: u64,
        mut customize: impl FnMut(usize, BitCrapsConfig) -> BitCrapsConfig,
        mut setup: impl FnMut(usize, &mut App),
    ) -> Result<TestTable, crate::error::ConfigError> {
        let keys = test_keys(n, seed);
        let table = TableId::from_name(&format!("test-table-{seed}"));
        let hub = MemoryHub::new();
        let peers: Vec<PeerId> = keys.iter().map(Keypair::peer_id).collect();
        let mut apps = Vec::with_capacity(n);
        for (i, key) in keys.iter().enumerate() {
            let config =
                BitCrapsConfig::new(table, key.clone(), peers.iter().copied())?.with_fast_timings();
            let config = customize(i, config);
            let mut app = headless_app(config, &hub, FRAME);
            setup(i, &mut app);
            app.finish();
            app.cleanup();
            apps.push(app);
        }
        Ok(TestTable {
            apps,
            hub,
            keys,
            table,
            frames: 0,
        })
    }

    /// Updates every App once, in order.
    pub fn step(&mut self) {
        for app in &mut self.apps {
            app.update();
        }
        self.frames += 1;
    }

    /// Steps until `done` holds (true) or `max_frames` have passed (false).
    pub fn run_until(
        &mut self,
        max_frames: u64,
        mut done: impl FnMut(&mut TestTable) -> bool,
    ) -> bool {
        for _ in 0..max_frames {
            if done(self) {
                return true;
            }
            self.step();
        }
        done(self)
    }

    /// The table view of App `i`.
    pub fn view(&self, i: usize) -> &TableView {
        self.apps[i].world().resource::<TableView>()
    }

    /// The lowest decided height among the Apps in `which`.
    pub fn min_height(&self, which: &[usize]) -> u64 {
        which
            .iter()
            .map(|i| self.view(*i).height.0)
            .min()
            .unwrap_or(0)
    }
}
