//! The simulated application: what values the engines agree on. The default is the plain
//! tagged byte strings of [`crate::app`]; `--craps` plugs in a real craps table
//! ([`crate::craps::CrapsApp`]).

use bitcraps_consensus::{Evidence, Height, Round, Value, ValueValidity};

use crate::app::{make_value, SimApp};
use crate::craps::GameReport;
use crate::membership::{Change, Seats};

/// Where the validator set of height `h + 2` comes from, once `h` is decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NextSeats {
    /// The application does not seat players: the run's churn rules draw the set
    /// ([`crate::membership::ChurnRules`]).
    Rules,
    /// The players seated in the instance's decided state after `h`, and what `h` changed.
    Seated(Seats, Vec<Change>),
    /// No set follows: the table closed at `h` (no later height is decided), or the instance
    /// could not apply `h`.
    Ended,
}

/// The application side of every simulated instance.
pub trait Application {
    /// The validity the engine of `instance` judges values with, at simulated time `now_ms`.
    fn validity<'a>(&'a self, instance: usize, now_ms: u64) -> Box<dyn ValueValidity + 'a>;

    /// The value `instance` proposes at (height, round); `nonce` is a fresh draw of the run's RNG.
    fn propose(
        &mut self,
        instance: usize,
        height: Height,
        round: Round,
        nonce: u64,
        now_ms: u64,
    ) -> Value;

    /// `instance` decided `value` at `height`.
    fn on_decided(&mut self, _instance: usize, _height: Height, _value: &Value, _now_ms: u64) {}

    /// The validator set of `height + 2` as `instance`'s own decided state after `height` gives
    /// it (called right after [`Application::on_decided`]).
    fn next_seats(&self, _instance: usize, _height: Height) -> NextSeats {
        NextSeats::Rules
    }

    /// `instance`'s engine reported evidence.
    fn on_evidence(&mut self, _instance: usize, _evidence: &Evidence) {}

    /// Whether the checker should require decided values to be the plain application's valid
    /// values (an application with its own validity checks it on every honest decision).
    fn checks_plain_values(&self) -> bool {
        true
    }

    /// Heights honest nodes must decide after stabilisation on top of
    /// [`LIVENESS_HEIGHTS`](crate::sim::LIVENESS_HEIGHTS).
    fn extra_liveness_heights(&self) -> u64 {
        0
    }

    /// Simulated time allowed for them on top of
    /// [`LIVENESS_BOUND_MS`](crate::sim::LIVENESS_BOUND_MS).
    fn extra_liveness_ms(&self) -> u64 {
        0
    }

    /// The last height the application can decide, once it knows it (a craps table that
    /// closed: no block after the closing one is valid). Liveness is then met when every honest
    /// instance has decided it.
    fn last_height(&self) -> Option<Height> {
        None
    }

    /// Safety violations found since the last call.
    fn take_violations(&mut self) -> Vec<String> {
        Vec::new()
    }

    /// End of the run: final checks (violations) and the game's report, if any.
    fn finish(&mut self) -> (Vec<String>, Option<GameReport>) {
        (Vec::new(), None)
    }
}

/// The default application: [`make_value`] proposals judged by [`SimApp`].
#[derive(Copy, Clone, Debug, Default)]
pub struct PlainApp;

impl Application for PlainApp {
    fn validity<'a>(&'a self, _instance: usize, _now_ms: u64) -> Box<dyn ValueValidity + 'a> {
        Box::new(SimApp)
    }

    fn propose(
        &mut self,
        instance: usize,
        height: Height,
        round: Round,
        nonce: u64,
        _now_ms: u64,
    ) -> Value {
        make_value(height, round, instance, nonce, true)
    }
}
