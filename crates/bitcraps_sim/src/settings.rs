//! Per-seed fault settings ("swarm testing", as TigerBeetle's VOPR does): every run draws its
//! own network, crash and Byzantine configuration from its seed.

use rand_chacha::ChaCha20Rng;
use rand_core::RngCore;

use crate::rng::{chance, pick, uniform};
pub use bitcraps_byzantine::ByzantineKind;

/// Table sizes the swarm draws from.
pub const SIZES: [usize; 4] = [4, 7, 10, 16];

/// How a partition splits the network before global stabilisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Partition {
    /// No partition.
    None,
    /// Two groups that cannot reach each other.
    Symmetric(Vec<bool>),
    /// Messages from the first group to the second are lost; the other way works.
    Asymmetric(Vec<bool>),
    /// One instance cut off from everyone.
    IsolateOne(usize),
}

/// The latency model of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Latency {
    /// Minimum one-way delay, ms.
    pub base_ms: u64,
    /// Spread of the delay, ms (uniform or exponential-like, see `heavy_tail`).
    pub jitter_ms: u64,
    /// Probability that a message takes a slow path (10× jitter): reordering.
    pub slow_path: f64,
}

/// Everything a run needs, drawn from its seed and the command-line overrides.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The run's seed.
    pub seed: u64,
    /// Number of participants (keys).
    pub nodes: usize,
    /// Byzantine keys and their behaviour.
    pub byzantine: Vec<(usize, ByzantineKind)>,
    /// Keys run as two honest-code instances (Twins).
    pub twins: Vec<usize>,
    /// Latency model.
    pub latency: Latency,
    /// Loss probability before stabilisation.
    pub loss: f64,
    /// Duplication probability.
    pub duplicate: f64,
    /// Partition before stabilisation, over instances.
    pub partition: Partition,
    /// When the partition starts, ms.
    pub partition_start_ms: u64,
    /// Global stabilisation time, ms: partitions heal, loss stops, crashed nodes restart.
    pub gst_ms: u64,
    /// Crashes of honest instances: (instance, crash at ms, restart at ms).
    pub crashes: Vec<(usize, u64, u64)>,
    /// Delay between a value request and the value (the application's batching), ms.
    pub propose_delay_ms: u64,
    /// Interval between gossip re-broadcasts, ms.
    pub gossip_ms: u64,
    /// Honest engines ignore their lock (negative control only).
    pub disable_lock: bool,
    /// Keys beyond the genesis set (numbered `nodes..nodes + spares`); their instances observe
    /// until the churn seats them.
    pub spares: usize,
    /// Probability that a decided height changes the set two heights on
    /// ([`crate::membership`]); with `--craps`, the rate at which the bots ask to join and
    /// leave ([`crate::craps`]).
    pub churn: f64,
    /// Negative control: this instance's host declares each height's set one height early
    /// ([`crate::sim::HostBug::WrongHeightSet`]).
    pub wrong_height_set: Option<usize>,
}

/// Command-line constraints on what a run may draw.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// Fix the table size.
    pub nodes: Option<usize>,
    /// Make f Byzantine nodes, all of this kind.
    pub byzantine: Option<ByzantineKind>,
    /// Number of twinned keys (more than f breaks the fault assumption on purpose).
    pub twins: usize,
    /// Disable the lock rule on honest nodes (negative control).
    pub disable_lock: bool,
    /// Play real craps ([`crate::craps`]) instead of the plain simulated values.
    pub craps: bool,
    /// With `craps`: how many honest players withhold their reveals (`None`: 0 or 1, drawn
    /// from the seed).
    pub withholders: Option<usize>,
    /// Fix the number of spare keys (not seated at genesis).
    pub spares: Option<usize>,
    /// Fix the churn rate (probability per decided height of a set change).
    pub churn: Option<f64>,
    /// Negative control: one honest instance's host applies set changes one height early.
    pub wrong_height_set: bool,
}

impl Settings {
    /// Number of simulated instances (twinned keys run twice, spares run too).
    pub fn instances(&self) -> usize {
        self.nodes + self.twins.len() + self.spares
    }

    /// Number of keys: the genesis participants and the spares.
    pub fn keys(&self) -> usize {
        self.nodes + self.spares
    }

    /// The key each instance runs: genesis keys, then the twins' second instances, then the
    /// spares.
    pub fn instance_keys(&self) -> Vec<usize> {
        let mut keys: Vec<usize> = (0..self.nodes).collect();
        keys.extend(self.twins.iter().copied());
        keys.extend(self.nodes..self.nodes + self.spares);
        keys
    }

    /// The largest number of Byzantine keys tolerated.
    pub fn max_faulty(&self) -> usize {
        (self.nodes - 1) / 3
    }

    /// Draws the settings of one run.
    pub fn draw(seed: u64, rng: &mut ChaCha20Rng, overrides: &Overrides) -> Settings {
        let nodes = overrides.nodes.unwrap_or_else(|| *pick(rng, &SIZES));
        let f = (nodes.max(1) - 1) / 3;
        let mut keys: Vec<usize> = (0..nodes).collect();
        shuffle(rng, &mut keys);
        let twins: Vec<usize> = keys.iter().copied().take(overrides.twins).collect();
        let rest = &keys[twins.len().min(keys.len())..];
        let budget = f.saturating_sub(twins.len());
        let count = match overrides.byzantine {
            Some(_) => budget,
            None => uniform(rng, 0, budget as u64 + 1) as usize,
        };
        let byzantine = rest
            .iter()
            .take(count)
            .map(|k| {
                let kind = overrides
                    .byzantine
                    .unwrap_or_else(|| *pick(rng, &ByzantineKind::ALL));
                (*k, kind)
            })
            .collect();

        let latency = Latency {
            base_ms: uniform(rng, 1, 30),
            jitter_ms: *pick(rng, &[0, 5, 20, 80, 200]),
            slow_path: *pick(rng, &[0.0, 0.01, 0.05, 0.2]),
        };
        let loss = *pick(rng, &[0.0, 0.0, 0.05, 0.1, 0.2, 0.3]);
        let duplicate = *pick(rng, &[0.0, 0.0, 0.02, 0.1]);
        let gst_ms = uniform(rng, 2_000, 20_000);
        // Churn: spare keys and a rate. At the craps table the rate drives the bots (joins,
        // admissions, leaves: [`crate::craps`]); none unless asked for.
        let (spare_draw, rate_draw) = (
            *pick(rng, &[0usize, 1, 2, 3]),
            *pick(rng, &[0.0, 0.05, 0.15, 0.3]),
        );
        let (default_spares, default_churn) = if overrides.craps && overrides.wrong_height_set {
            (2, 0.3)
        } else if overrides.craps {
            (0, 0.0)
        } else if overrides.wrong_height_set {
            (2, 0.5)
        } else {
            (spare_draw, rate_draw)
        };
        let spares = overrides.spares.unwrap_or(default_spares);
        let churn = overrides.churn.unwrap_or(default_churn);
        let instances = nodes + twins.len() + spares;
        let partition = if !twins.is_empty() && chance(rng, 0.9) {
            // Twins: split every twin pair across the two sides, as Diem's Twins does.
            let mut side: Vec<bool> = (0..instances).map(|_| chance(rng, 0.5)).collect();
            for (i, key) in twins.iter().enumerate() {
                side[*key] = false;
                side[nodes + i] = true;
            }
            Partition::Symmetric(side)
        } else {
            match uniform(rng, 0, 5) {
                0 | 1 => Partition::None,
                2 => Partition::Symmetric((0..instances).map(|_| chance(rng, 0.5)).collect()),
                3 => Partition::Asymmetric((0..instances).map(|_| chance(rng, 0.5)).collect()),
                _ => Partition::IsolateOne(uniform(rng, 0, instances as u64) as usize),
            }
        };
        let partition_start_ms = uniform(rng, 0, gst_ms / 2 + 1);
        let crash_probability = *pick(rng, &[0.0, 0.0, 0.1, 0.3]);
        let byzantine_keys: Vec<usize> = rest.iter().take(count).copied().collect();
        let mut crashes = Vec::new();
        let spare_instances = nodes + twins.len()..instances;
        for instance in (0..nodes).chain(spare_instances) {
            if twins.contains(&instance) || byzantine_keys.contains(&instance) {
                continue;
            }
            if chance(rng, crash_probability) {
                let at = uniform(rng, 0, gst_ms);
                let back = (at + uniform(rng, 200, 5_000)).min(gst_ms);
                crashes.push((instance, at, back));
            }
        }
        Settings {
            seed,
            nodes,
            byzantine,
            twins,
            latency,
            loss,
            duplicate,
            partition,
            partition_start_ms,
            gst_ms,
            crashes,
            propose_delay_ms: uniform(rng, 100, 800),
            gossip_ms: uniform(rng, 300, 1_200),
            disable_lock: overrides.disable_lock,
            spares,
            churn,
            wrong_height_set: None,
        }
        .with_wrong_height_set(rng, overrides.wrong_height_set)
    }

    /// Picks the instance of the wrong-height-set control: an honest genesis key's.
    fn with_wrong_height_set(mut self, rng: &mut ChaCha20Rng, wanted: bool) -> Settings {
        if wanted {
            let honest: Vec<usize> = (0..self.nodes)
                .filter(|k| !self.twins.contains(k) && !self.byzantine.iter().any(|(b, _)| b == k))
                .collect();
            if !honest.is_empty() {
                self.wrong_height_set = Some(*pick(rng, &honest));
            }
        }
        self
    }

    /// A one-line description for failure reports.
    pub fn describe(&self) -> String {
        let byz: Vec<String> = self
            .byzantine
            .iter()
            .map(|(k, kind)| format!("{k}:{kind}"))
            .collect();
        format!(
            "n={} spares={} churn={}{} byzantine=[{}] twins={:?} loss={} dup={} latency={}+{}ms slow={} partition={} gst={}ms crashes={} gossip={}ms",
            self.nodes,
            self.spares,
            self.churn,
            self.wrong_height_set
                .map_or(String::new(), |i| format!(" wrong-height-set=#{i}")),
            byz.join(","),
            self.twins,
            self.loss,
            self.duplicate,
            self.latency.base_ms,
            self.latency.jitter_ms,
            self.latency.slow_path,
            match &self.partition {
                Partition::None => "none",
                Partition::Symmetric(_) => "symmetric",
                Partition::Asymmetric(_) => "asymmetric",
                Partition::IsolateOne(_) => "isolate-one",
            },
            self.gst_ms,
            self.crashes.len(),
            self.gossip_ms,
        )
    }
}

fn shuffle<T>(rng: &mut ChaCha20Rng, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}
