//! A tiny harness for the integration tests: `n` engines with their keys, in canonical order, so
//! that index `i` is `participants.ids()[i]` and the proposer of (h, r) is index `(h + r) % n`.
//!
//! A test either hand-crafts signed messages from any participant and delivers them to one
//! engine (every delivery goes through [`Engine::verify`], like a real host), or lets several
//! real engines talk through [`Net::flood`].

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bitcraps_consensus::*;

pub mod churn;

/// The height most tests play.
pub const H: Height = Height(1);

/// The application: every value is valid except those whose bytes start with `bad`.
pub fn app(_: Height, value: &Value) -> bool {
    !value.bytes().starts_with(b"bad")
}

/// A value from a label.
pub fn val(label: &str) -> Value {
    Value::new(label.as_bytes().to_vec())
}

/// `n` engines and their keys.
pub struct Net {
    /// Keys in canonical (participant) order.
    pub keys: Vec<Keypair>,
    /// The seats.
    pub seats: Arc<ParticipantSet>,
    /// The table every engine plays.
    pub table: TableId,
    /// One engine per key, same order.
    pub engines: Vec<Engine>,
}

impl Net {
    /// `n` engines with the default configuration.
    pub fn new(n: usize) -> Net {
        Net::with_config(n, |_| {})
    }

    /// `n` engines whose configuration `tweak` adjusts.
    pub fn with_config(n: usize, tweak: impl Fn(&mut EngineConfig)) -> Net {
        let mut keys: Vec<Keypair> = (0..n)
            .map(|i| Keypair::from_seed([i as u8 + 1; 32]))
            .collect();
        keys.sort_by_key(Keypair::peer_id);
        let seats = Arc::new(ParticipantSet::new(keys.iter().map(Keypair::peer_id)).unwrap());
        let table = TableId::from_name("integration");
        let mut config = EngineConfig::new(table);
        tweak(&mut config);
        let engines = keys
            .iter()
            .map(|k| Engine::new(config.clone(), k.clone(), seats.clone()))
            .collect();
        let net = Net {
            keys,
            seats,
            table,
            engines,
        };
        for (i, id) in net.seats.ids().iter().enumerate() {
            assert_eq!(net.keys[i].peer_id(), *id, "keys are in canonical order");
        }
        net
    }

    /// Number of participants.
    pub fn n(&self) -> usize {
        self.keys.len()
    }

    /// Identity of participant `i`.
    pub fn id(&self, i: usize) -> PeerId {
        self.keys[i].peer_id()
    }

    /// Index of a participant.
    pub fn index(&self, id: PeerId) -> usize {
        self.seats.position(&id).unwrap()
    }

    /// Index of the proposer of (height, round).
    pub fn proposer(&self, height: Height, round: Round) -> usize {
        self.index(self.seats.proposer(height, round))
    }

    /// A configuration like the engines'.
    pub fn config(&self) -> EngineConfig {
        self.engines[0].config().clone()
    }

    /// Feeds an input to engine `i`.
    pub fn handle(&mut self, i: usize, input: Input) -> Result<Vec<Output>, InputError> {
        self.engines[i].handle(input, &app)
    }

    /// Starts `height` at engine `i`.
    pub fn start(&mut self, i: usize, height: Height) -> Vec<Output> {
        self.handle(i, Input::StartHeight(height)).unwrap()
    }

    /// Verifies `message` as engine `i`'s host would, then feeds it to the engine.
    pub fn deliver(&mut self, i: usize, message: WireMessage) -> Result<Vec<Output>, InputError> {
        let verified = self.engines[i]
            .verify(message)
            .expect("test messages are validly signed");
        self.handle(i, Input::Message(verified))
    }

    /// Delivers several messages to engine `i`, concatenating the outputs.
    pub fn deliver_all(
        &mut self,
        i: usize,
        messages: impl IntoIterator<Item = WireMessage>,
    ) -> Vec<Output> {
        let mut out = Vec::new();
        for m in messages {
            out.extend(self.deliver(i, m).unwrap());
        }
        out
    }

    /// Fires a timeout at engine `i`.
    pub fn fire(
        &mut self,
        i: usize,
        height: Height,
        round: Round,
        kind: TimeoutKind,
    ) -> Vec<Output> {
        self.handle(
            i,
            Input::TimeoutElapsed(Timeout {
                height,
                round,
                kind,
            }),
        )
        .unwrap()
    }

    /// A vote signed by participant `signer` (a hand-crafted message).
    pub fn vote(
        &self,
        signer: usize,
        height: Height,
        round: Round,
        kind: VoteKind,
        value: Option<&Value>,
    ) -> WireMessage {
        WireMessage::Vote(self.signed_vote(signer, height, round, kind, value))
    }

    /// A signed vote of participant `signer`.
    pub fn signed_vote(
        &self,
        signer: usize,
        height: Height,
        round: Round,
        kind: VoteKind,
        value: Option<&Value>,
    ) -> SignedVote {
        Vote {
            table: self.table,
            height,
            round,
            kind,
            value: value.map(Value::id),
            signer: self.id(signer),
        }
        .sign(&self.keys[signer])
    }

    /// Prevotes of `signers` at (H, round).
    pub fn prevotes(
        &self,
        signers: &[usize],
        round: Round,
        value: Option<&Value>,
    ) -> Vec<WireMessage> {
        signers
            .iter()
            .map(|s| self.vote(*s, H, round, VoteKind::Prevote, value))
            .collect()
    }

    /// Precommits of `signers` at (H, round).
    pub fn precommits(
        &self,
        signers: &[usize],
        round: Round,
        value: Option<&Value>,
    ) -> Vec<WireMessage> {
        signers
            .iter()
            .map(|s| self.vote(*s, H, round, VoteKind::Precommit, value))
            .collect()
    }

    /// A proposal signed by participant `signer`.
    pub fn proposal(
        &self,
        signer: usize,
        height: Height,
        round: Round,
        value: &Value,
        valid_round: Option<Round>,
    ) -> WireMessage {
        WireMessage::Proposal(SignedProposal::sign(
            &self.keys[signer],
            self.table,
            height,
            round,
            value.clone(),
            valid_round,
        ))
    }

    /// The proposal of the rightful proposer of (H, round).
    pub fn proposal_at(
        &self,
        round: Round,
        value: &Value,
        valid_round: Option<Round>,
    ) -> WireMessage {
        self.proposal(self.proposer(H, round), H, round, value, valid_round)
    }

    /// Delivers every broadcast of `outputs` (emitted by engine `from`) to every other engine in
    /// `alive`, and so on until the network is quiet. `RequestValue` is answered with
    /// `value_for(height, round)`. Returns every output, tagged with the engine that emitted it.
    pub fn flood(
        &mut self,
        alive: &[usize],
        initial: Vec<(usize, Vec<Output>)>,
        value_for: impl Fn(Height, Round) -> Value,
    ) -> Vec<(usize, Output)> {
        let mut queue: VecDeque<(usize, Output)> = initial
            .into_iter()
            .flat_map(|(i, outs)| outs.into_iter().map(move |o| (i, o)))
            .collect();
        let mut log = Vec::new();
        while let Some((from, output)) = queue.pop_front() {
            log.push((from, output.clone()));
            match output {
                Output::Broadcast(message) => {
                    for &to in alive {
                        if to != from {
                            let outs = self.deliver(to, message.clone()).unwrap();
                            queue.extend(outs.into_iter().map(|o| (to, o)));
                        }
                    }
                }
                Output::RequestValue { height, round } => {
                    let value = value_for(height, round);
                    let outs = self
                        .handle(
                            from,
                            Input::ValueReady {
                                height,
                                round,
                                value,
                            },
                        )
                        .unwrap();
                    queue.extend(outs.into_iter().map(|o| (from, o)));
                }
                _ => {}
            }
        }
        log
    }

    /// Starts `height` at every engine of `alive` and floods until quiet.
    pub fn run_height(&mut self, alive: &[usize], height: Height) -> Vec<(usize, Output)> {
        let initial = alive.iter().map(|&i| (i, self.start(i, height))).collect();
        self.flood(alive, initial, |h, r| {
            val(&format!("value {} {}", h.0, r.0))
        })
    }
}

/// The messages broadcast in `outputs`.
pub fn broadcasts(outputs: &[Output]) -> Vec<WireMessage> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Broadcast(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

/// The votes broadcast in `outputs`.
pub fn votes(outputs: &[Output]) -> Vec<SignedVote> {
    broadcasts(outputs)
        .into_iter()
        .filter_map(|m| match m {
            WireMessage::Vote(v) => Some(v),
            _ => None,
        })
        .collect()
}

/// The votes of one kind broadcast in `outputs`, as (round, value).
pub fn votes_of(outputs: &[Output], kind: VoteKind) -> Vec<(Round, Option<ValueId>)> {
    votes(outputs)
        .into_iter()
        .filter(|v| v.vote.kind == kind)
        .map(|v| (v.vote.round, v.vote.value))
        .collect()
}

/// The single vote of `kind` broadcast in `outputs` (panics unless exactly one).
pub fn the_vote(outputs: &[Output], kind: VoteKind) -> (Round, Option<ValueId>) {
    let found = votes_of(outputs, kind);
    assert_eq!(
        found.len(),
        1,
        "expected exactly one {kind}, outputs: {outputs:#?}"
    );
    found[0]
}

/// The proposals broadcast in `outputs`.
pub fn proposals(outputs: &[Output]) -> Vec<SignedProposal> {
    broadcasts(outputs)
        .into_iter()
        .filter_map(|m| match m {
            WireMessage::Proposal(p) => Some(p),
            _ => None,
        })
        .collect()
}

/// The timeouts scheduled in `outputs`.
pub fn timeouts(outputs: &[Output]) -> Vec<(Timeout, Duration)> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::ScheduleTimeout { timeout, after } => Some((*timeout, *after)),
            _ => None,
        })
        .collect()
}

/// The timeouts of one kind scheduled in `outputs`.
pub fn timeouts_of(outputs: &[Output], kind: TimeoutKind) -> Vec<(Timeout, Duration)> {
    timeouts(outputs)
        .into_iter()
        .filter(|(t, _)| t.kind == kind)
        .collect()
}

/// A decision in `outputs`.
pub struct Decided {
    /// Height.
    pub height: Height,
    /// Round.
    pub round: Round,
    /// Value.
    pub value: Value,
    /// Certificate.
    pub certificate: CommitCertificate,
}

/// The decisions in `outputs`.
pub fn decisions(outputs: &[Output]) -> Vec<Decided> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Decided {
                height,
                round,
                value,
                certificate,
            } => Some(Decided {
                height: *height,
                round: *round,
                value: value.clone(),
                certificate: certificate.clone(),
            }),
            _ => None,
        })
        .collect()
}

/// The evidence in `outputs`.
pub fn evidence(outputs: &[Output]) -> Vec<Evidence> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Evidence(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

/// The outputs of `log` emitted by engine `i`.
pub fn by(log: &[(usize, Output)], i: usize) -> Vec<Output> {
    log.iter()
        .filter(|(from, _)| *from == i)
        .map(|(_, o)| o.clone())
        .collect()
}
