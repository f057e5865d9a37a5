//! The host side of an instance: its sets (declared to its engine from its own decisions),
//! the verification of what it receives, crashes and restarts, and carrying out its engine's
//! outputs.
//!
//! A host declares the sets of heights 1 and 2 (genesis) at start, and the set of `h + 2` once
//! it has applied the decision of `h` ([`crate::membership`]). A packet is verified against the
//! set of the message's own height as this host declared it; a decision of a height beyond is
//! handed in as [`Input::UnverifiedDecision`]; anything else beyond is refused. A signed
//! `Status` (a catch-up request) is verified against every key of the table, seated or not, so
//! that observers (spares before they join, members who left) can catch up too.

use std::collections::VecDeque;

use bitcraps_consensus::{Decision, Engine, Height, Input, Output, Status, Value, WireMessage};

use crate::application::NextSeats;
use crate::checker::Decided;
use crate::membership::Seats;
use crate::network::Packet;
use crate::rng::uniform;
use crate::sim::{engine_config, Event, HostBug, Role, Simulation, CATCH_UP_BATCH};

fn short(s: &str) -> String {
    s.chars().take(220).collect()
}

impl Simulation {
    /// The seats `to`'s host declares for `height`, if it knows them: its schedule's, except
    /// under an injected host bug.
    pub(crate) fn declared_at(&self, to: usize, height: Height) -> Option<Seats> {
        let instance = &self.instances[to];
        match instance.role {
            // The negative control: changes applied one height early (no delay).
            Role::Buggy(HostBug::WrongHeightSet) => instance.schedule.at(Height(height.0 + 1)),
            _ => instance.schedule.at(height),
        }
    }

    /// The highest height whose set `to`'s host knows.
    fn horizon(&self, to: usize) -> Height {
        let mut h = self.instances[to].schedule.known();
        while h.0 > 0 && self.declared_at(to, h).is_none() {
            h = Height(h.0 - 1);
        }
        h
    }

    /// Declares every known height's set to `to`'s engine (at start and after a restart).
    pub(crate) fn declare_known(&mut self, to: usize) {
        for h in 1..=self.horizon(to).0 {
            self.declare(to, Height(h));
        }
    }

    /// Declares the set of `height` to `to`'s engine; a refusal is a host bug (a violation).
    fn declare(&mut self, to: usize, height: Height) {
        let Some(seats) = self.declared_at(to, height) else {
            return;
        };
        if self.trace {
            eprintln!(
                "{:>7} #{to} declares {height}: keys {:#b}",
                self.now, seats.seated
            );
        }
        let declared = self
            .sets
            .get(seats)
            .map_err(|e| e.to_string())
            .and_then(|(_, set)| {
                self.instances[to]
                    .engine
                    .set_participants(height, set)
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = declared {
            self.checker.violations.push(format!(
                "host: instance {to} declaring the set of {height}: {e}"
            ));
        }
    }

    /// The host of `to` applied the decision of `height`: the set two heights on follows, from
    /// the churn rules or from the application's decided state (`next`).
    fn apply_decision(&mut self, to: usize, height: Height, value: &Value, next: &NextSeats) {
        let schedule = &mut self.instances[to].schedule;
        let applied = match next {
            NextSeats::Rules => schedule.on_decided(height, value).map(|_| ()),
            NextSeats::Seated(seats, changes) => {
                schedule.push_decided(height, *seats, changes).map(|_| ())
            }
            // A closed table decides nothing after `height`: no set follows.
            NextSeats::Ended => return,
        };
        if let Err(e) = applied {
            self.checker
                .violations
                .push(format!("host: instance {to} applying {height}: {e}"));
            return;
        }
        let horizon = self.horizon(to);
        self.declare(to, horizon);
    }

    /// What a delivered packet becomes at `to`: a verified message, an unverified decision of a
    /// height whose set `to` does not know yet, or nothing (refused).
    pub(crate) fn admit(&mut self, to: usize, packet: &Packet) -> Option<Input> {
        let message = self.cache.decode(packet).ok()?;
        let (id, set) = match &message {
            WireMessage::Status(_) => self.everyone.clone(),
            _ => match self.declared_at(to, message.height()) {
                Some(seats) => self.sets.get(seats).ok()?,
                None => {
                    return match message {
                        WireMessage::Decision(d) => Some(Input::UnverifiedDecision(d)),
                        _ => {
                            self.instances[to].behind_horizon = true;
                            None
                        }
                    };
                }
            },
        };
        self.cache
            .verify(packet, message, &self.table, id, &set)
            .ok()
            .map(Input::Message)
    }

    /// After a gossip tick: a host that refused messages beyond the sets it knows broadcasts a
    /// signed `Status` for the height its engine works on, so that peers send it decisions
    /// (its engine asks only when it sees such messages itself, and an observer has no votes of
    /// its own that would tell its peers it lags).
    pub(crate) fn ask_for_decisions(&mut self, to: usize) {
        if !std::mem::take(&mut self.instances[to].behind_horizon) {
            return;
        }
        let instance = &self.instances[to];
        let status = Status {
            table: self.table,
            height: instance.engine.persistent_state().height,
            signer: self.keys[instance.key].peer_id(),
        }
        .sign(&self.keys[instance.key]);
        self.broadcast(to, WireMessage::Status(status));
    }

    pub(crate) fn live(&self, to: usize, epoch: u64) -> bool {
        let i = &self.instances[to];
        i.up && i.epoch == epoch
    }

    pub(crate) fn crash(&mut self, to: usize) {
        let i = &mut self.instances[to];
        i.up = false;
        i.crash_mid_input = false;
        i.epoch += 1;
    }

    pub(crate) fn restart(&mut self, to: usize) {
        if self.instances[to].up {
            // A crash planned for the middle of an input that never came: it never happens.
            self.instances[to].crash_mid_input = false;
            return;
        }
        let state = self.instances[to].engine.persistent_state();
        let key = self.instances[to].key;
        let role = self.instances[to].role;
        let config = engine_config(&self.settings, self.table, role);
        let inst = &mut self.instances[to];
        // Everything not persisted (votes, buffers, retained decisions) is lost.
        inst.engine = Engine::restore(
            config,
            self.keys[key].clone(),
            self.genesis.clone(),
            state.clone(),
        );
        inst.up = true;
        let epoch = inst.epoch;
        // The sets are not persisted by the engine: the host declares them again from its
        // journal of decisions (the schedule it derived from them survives the crash).
        self.declare_known(to);
        self.feed(to, Input::StartHeight(state.height));
        let offset = uniform(&mut self.rng, 0, self.settings.gossip_ms);
        self.push(offset, Event::Gossip { to, epoch });
    }

    /// Feeds an input to an instance and carries out the outputs, following up decisions with
    /// the next height as an application would.
    pub(crate) fn feed(&mut self, to: usize, input: Input) {
        let mut pending = VecDeque::from([input]);
        while let Some(input) = pending.pop_front() {
            if !self.instances[to].up {
                return;
            }
            let trace = self.trace && !matches!(input, Input::GossipTick);
            let described = if trace {
                format!("{input:?}")
            } else {
                String::new()
            };
            let validity = self.app.validity(to, self.now);
            let handled = self.instances[to].engine.handle(input, &*validity);
            drop(validity);
            let outputs = match handled {
                Ok(outputs) => outputs,
                Err(e) => {
                    if trace {
                        eprintln!("{:>7} #{to} {} REFUSED {e}", self.now, short(&described));
                    }
                    self.refused += 1;
                    continue;
                }
            };
            if trace {
                let e = &self.instances[to].engine;
                eprintln!(
                    "{:>7} #{to} [{} {} {:?} lock={:?} valid={:?}] <- {}",
                    self.now,
                    e.height(),
                    e.round(),
                    e.step(),
                    e.locked_round(),
                    e.valid_round(),
                    short(&described)
                );
                for o in &outputs {
                    eprintln!("            -> {}", short(&format!("{o:?}")));
                }
            }
            // The host persists `persistent_state()` here, before anything leaves the node; a
            // crash now loses the outputs but not the state (see `restart`).
            let crashing = std::mem::take(&mut self.instances[to].crash_mid_input);
            for output in outputs {
                match output {
                    Output::Broadcast(message) if !crashing => self.broadcast(to, message),
                    Output::SendTo { peer, message } if !crashing => {
                        self.send_to_key(to, peer, &message)
                    }
                    Output::CatchUp { peer, from } if !crashing => {
                        let batch: Vec<Decision> = self.instances[to]
                            .journal
                            .range(from..)
                            .take(CATCH_UP_BATCH)
                            .map(|(_, d)| d.clone())
                            .collect();
                        for decision in batch {
                            self.send_to_key(to, peer, &WireMessage::Decision(decision));
                        }
                    }
                    Output::Broadcast(_) | Output::SendTo { .. } | Output::CatchUp { .. } => {}
                    Output::ScheduleTimeout { timeout, after } => {
                        let epoch = self.instances[to].epoch;
                        let after = u64::try_from(after.as_millis()).unwrap_or(u64::MAX / 4);
                        self.push(after, Event::Timeout { to, epoch, timeout });
                    }
                    Output::RequestValue { height, round } => {
                        let epoch = self.instances[to].epoch;
                        self.push(
                            self.settings.propose_delay_ms,
                            Event::ValueReady {
                                to,
                                epoch,
                                height,
                                round,
                            },
                        );
                    }
                    Output::Decided {
                        height,
                        value,
                        certificate,
                        ..
                    } => {
                        self.instances[to].last_decided = Some(height);
                        self.instances[to].journal.insert(
                            height,
                            Decision {
                                certificate: certificate.clone(),
                                value: value.clone(),
                            },
                        );
                        // The application applies the decision first: a table that seats
                        // its players names the set of `height + 2` in its decided state.
                        self.app.on_decided(to, height, &value, self.now);
                        let next = self.app.next_seats(to, height);
                        // Applying the decision of `height` fixes the set of `height + 2`.
                        self.apply_decision(to, height, &value, &next);
                        if self.instances[to].role.is_checked() {
                            let engine_set = self.instances[to].engine.participants_at(height);
                            self.checker.on_decided(
                                &Decided {
                                    instance: to,
                                    height,
                                    value: &value,
                                    certificate: &certificate,
                                    next: &next,
                                    engine_set: engine_set.map(|s| &**s),
                                },
                                &mut self.sets,
                                &mut self.cache.signatures,
                            );
                        }
                        let found = self.app.take_violations();
                        self.checker.violations.extend(found);
                        if !crashing {
                            pending.push_back(Input::StartHeight(height.next()));
                        }
                    }
                    Output::Evidence(evidence) => {
                        if self.instances[to].role.is_checked() {
                            self.checker.on_evidence(to, &evidence, &mut self.sets);
                        }
                        self.app.on_evidence(to, &evidence);
                    }
                }
            }
            if crashing {
                self.crash(to);
                return;
            }
        }
    }
}
