//! Engines whose participant set changes between heights, as a host following the
//! decided state would declare it: the set of height `h + 2` is declared once `h` is decided
//! (CometBFT's delay), so at height `h` every engine knows the sets of `h` and `h + 1`.
//!
//! Every message goes through the receiving engine's [`Engine::verify`] (against the set of
//! the message's height); refusals are recorded, not fatal. Decisions of heights whose set is
//! not known yet are handed in as [`Input::UnverifiedDecision`], as a host would.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use bitcraps_consensus::*;

use super::app;

/// Which keys sit at which height.
pub type SetOf = dyn Fn(Height) -> Arc<ParticipantSet>;

/// A refused message: (sender, receiver, height, why).
pub type Refusal = (usize, usize, Height, String);

/// `keys.len()` engines, each with its own declared sets.
pub struct Churn {
    /// Keys, in a fixed order (not necessarily canonical for any set).
    pub keys: Vec<Keypair>,
    /// The table.
    pub table: TableId,
    /// One engine per key.
    pub engines: Vec<Engine>,
    /// The set each engine's host declares for a height (index = engine).
    pub declared: Vec<Box<SetOf>>,
    /// Decisions per engine: height → (value, certificate).
    pub decided: Vec<BTreeMap<Height, (Value, CommitCertificate)>>,
    /// Every refused message.
    pub refusals: Vec<Refusal>,
    /// Engines to stop at this height (they decide it, then start nothing more).
    pub last: Height,
}

impl Churn {
    /// Engines for `keys`; engine `i`'s host declares `declared[i](h)` for every height.
    pub fn new(
        keys: Vec<Keypair>,
        declared: Vec<Box<SetOf>>,
        last: Height,
        tweak: impl Fn(&mut EngineConfig),
    ) -> Churn {
        let table = TableId::from_name("churn");
        let mut config = EngineConfig::new(table);
        tweak(&mut config);
        let engines = keys
            .iter()
            .zip(&declared)
            .map(|(k, set_of)| {
                let mut e = Engine::new(config.clone(), k.clone(), set_of(Height(1)));
                for h in [1, 2] {
                    e.set_participants(Height(h), set_of(Height(h))).unwrap();
                }
                e
            })
            .collect();
        Churn {
            decided: vec![BTreeMap::new(); keys.len()],
            keys,
            table,
            engines,
            declared,
            refusals: Vec::new(),
            last,
        }
    }

    /// Starts height 1 at every engine of `alive` and runs until quiet, firing the scheduled
    /// timeouts whenever the network is quiet, up to `rounds_of_timeouts` times.
    pub fn run(&mut self, alive: &[usize], rounds_of_timeouts: usize) {
        let mut queue: VecDeque<(usize, Output)> = VecDeque::new();
        for &i in alive {
            let out = self.engines[i]
                .handle(Input::StartHeight(Height(1)), &app)
                .unwrap();
            queue.extend(out.into_iter().map(|o| (i, o)));
        }
        let mut timeouts: Vec<(usize, Timeout)> = Vec::new();
        for _ in 0..=rounds_of_timeouts {
            while let Some((from, output)) = queue.pop_front() {
                self.carry_out(alive, from, output, &mut queue, &mut timeouts);
            }
            if timeouts.is_empty() {
                break;
            }
            for (i, t) in std::mem::take(&mut timeouts) {
                let out = self.engines[i]
                    .handle(Input::TimeoutElapsed(t), &app)
                    .unwrap();
                queue.extend(out.into_iter().map(|o| (i, o)));
            }
        }
    }

    fn deliver(
        &mut self,
        from: usize,
        to: usize,
        message: WireMessage,
        queue: &mut VecDeque<(usize, Output)>,
    ) {
        let height = message.height();
        let input = match self.engines[to].verify(message.clone()) {
            Ok(verified) => Input::Message(verified),
            Err(VerifyError::UnknownParticipants(_)) => match message {
                WireMessage::Decision(d) => Input::UnverifiedDecision(d),
                _ => {
                    self.refusals
                        .push((from, to, height, "unknown participants".into()));
                    return;
                }
            },
            Err(e) => {
                self.refusals.push((from, to, height, e.to_string()));
                return;
            }
        };
        match self.engines[to].handle(input, &app) {
            Ok(out) => queue.extend(out.into_iter().map(|o| (to, o))),
            Err(e) => self.refusals.push((from, to, height, e.to_string())),
        }
    }

    fn carry_out(
        &mut self,
        alive: &[usize],
        from: usize,
        output: Output,
        queue: &mut VecDeque<(usize, Output)>,
        timeouts: &mut Vec<(usize, Timeout)>,
    ) {
        match output {
            Output::Broadcast(message) => {
                for &to in alive {
                    if to != from {
                        self.deliver(from, to, message.clone(), queue);
                    }
                }
            }
            Output::SendTo { peer, message } => {
                if let Some(to) = self.keys.iter().position(|k| k.peer_id() == peer) {
                    if alive.contains(&to) {
                        self.deliver(from, to, message, queue);
                    }
                }
            }
            Output::RequestValue { height, round } => {
                let value =
                    Value::new(format!("h{} r{} by {from}", height.0, round.0).into_bytes());
                let input = Input::ValueReady {
                    height,
                    round,
                    value,
                };
                let out = self.engines[from].handle(input, &app).unwrap();
                queue.extend(out.into_iter().map(|o| (from, o)));
            }
            Output::ScheduleTimeout { timeout, .. } => timeouts.push((from, timeout)),
            Output::Decided {
                height,
                value,
                certificate,
                ..
            } => {
                self.decided[from].insert(height, (value, certificate));
                // The decided state of h fixes the set of h + 2.
                let next_set = (self.declared[from])(Height(height.0 + 2));
                self.engines[from]
                    .set_participants(Height(height.0 + 2), next_set)
                    .unwrap();
                if height < self.last {
                    let out = self.engines[from]
                        .handle(Input::StartHeight(height.next()), &app)
                        .unwrap();
                    queue.extend(out.into_iter().map(|o| (from, o)));
                }
            }
            _ => {}
        }
    }
}
