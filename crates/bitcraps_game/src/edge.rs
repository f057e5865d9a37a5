//! The exact expected value of a bet, by a Markov chain over the crate's own resolution code.
//!
//! A bet's future depends only on the phase and on what the bet currently is (a come bet becomes
//! a come bet on its number). The evaluator explores every reachable `(phase, bet kind)` state by
//! feeding each of the 36 equally likely rolls to the resolver — [`resolve_roll`] unless a test
//! substitutes another —, collects the chips the player nets when the bet closes, and solves the
//! linear system `V = r + P·V` for the expected value (and `E = 1 + P·E` for the expected number
//! of rolls until a decision). Nothing here knows a payout: a wrong payout in the resolution code
//! shows up as a wrong edge.
//!
//! The house edge is `−E[net chips] / stake`: per bet made, with pushes counted as bets (the
//! convention of the published figures: don't pass 1.364 %, not 1.403 %). Use a stake that is a
//! multiple of [`BetKind::exact_unit`](crate::bets::BetKind::exact_unit) to avoid rounding (600
//! is one for every bet).

use std::collections::HashMap;

use crate::bets::{Bet, BetKind};
use crate::chips::ChipOverflow;
use crate::phase::Phase;
use crate::resolution::{resolve_roll, Outcome, Resolution};
use crate::roll::Roll;
use crate::rules::TableRules;

/// States explored before giving up (a real bet reaches at most a few dozen).
pub const MAX_STATES: usize = 4096;

/// The expected value of one bet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EdgeReport {
    /// Expected chips the player nets when the bet is decided (negative: the house's advantage).
    pub expected_net: f64,
    /// The stake the chain was run with.
    pub stake: u64,
    /// `−expected_net / stake`, as a fraction (0.01414 for the pass line).
    pub house_edge: f64,
    /// Expected number of rolls until the bet closes.
    pub expected_rolls: f64,
    /// Number of `(phase, kind)` states the chain visited.
    pub states: usize,
}

impl EdgeReport {
    /// The house edge in percent (1.414 for the pass line).
    pub fn house_edge_percent(&self) -> f64 {
        self.house_edge * 100.0
    }
}

/// Why a bet could not be evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EdgeError {
    /// A payout did not fit in a `u64`.
    #[error(transparent)]
    Chips(#[from] ChipOverflow),
    /// The bet can stay on the table forever (e.g. a place bet called off).
    #[error("the bet is never decided from some reachable state")]
    NeverDecided,
    /// More than [`MAX_STATES`] states.
    #[error("more than {MAX_STATES} states")]
    TooManyStates,
    /// The resolver returned a number of outcomes other than one for one bet.
    #[error("the resolver returned {0} outcomes for one bet")]
    ResolverMismatch(usize),
    /// A zero stake has no edge.
    #[error("the stake must be positive")]
    ZeroStake,
}

/// The expected value of `bet` placed in `phase`, through [`resolve_roll`].
pub fn evaluate(rules: &TableRules, phase: Phase, bet: &Bet) -> Result<EdgeReport, EdgeError> {
    evaluate_with(rules, phase, bet, resolve_roll)
}

/// The expected value of `bet` placed in `phase`, through any resolver with the signature of
/// [`resolve_roll`] (for tests that plant a wrong payout, and for layers that wrap resolution
/// with their own bets).
pub fn evaluate_with<F>(
    rules: &TableRules,
    phase: Phase,
    bet: &Bet,
    resolve: F,
) -> Result<EdgeReport, EdgeError>
where
    F: Fn(&TableRules, Phase, &[Bet], Roll) -> Result<Resolution, ChipOverflow>,
{
    if bet.amount == 0 {
        return Err(EdgeError::ZeroStake);
    }
    let stake = bet.amount;
    let mut index: HashMap<(Phase, BetKind), usize> = HashMap::new();
    let mut states: Vec<(Phase, BetKind)> = vec![(phase, bet.kind)];
    index.insert((phase, bet.kind), 0);
    // Per state: the expected immediate net, and the transition counts (out of 36).
    let mut reward: Vec<f64> = Vec::new();
    let mut moves: Vec<Vec<(usize, f64)>> = Vec::new();
    let mut next = 0;
    while next < states.len() {
        let (ph, kind) = states[next];
        let current = Bet { kind, ..*bet };
        let mut r = 0.0;
        let mut out: Vec<(usize, f64)> = Vec::new();
        for roll in Roll::all() {
            let res = resolve(rules, ph, std::slice::from_ref(&current), roll)?;
            let [outcome] = res.outcomes[..] else {
                return Err(EdgeError::ResolverMismatch(res.outcomes.len()));
            };
            let continues_as = match outcome {
                Outcome::Move(k) => Some(k),
                Outcome::Stay => Some(kind),
                Outcome::Win { .. } | Outcome::Lose | Outcome::Push => None,
            };
            match continues_as {
                None => {
                    let s = outcome.settle(stake)?;
                    // Net to the player: what comes back minus the stake.
                    r += s.to_owner as f64 - stake as f64;
                }
                Some(k) => {
                    let key = (res.phase, k);
                    let j = match index.get(&key) {
                        Some(&j) => j,
                        None => {
                            if states.len() >= MAX_STATES {
                                return Err(EdgeError::TooManyStates);
                            }
                            states.push(key);
                            index.insert(key, states.len() - 1);
                            states.len() - 1
                        }
                    };
                    match out.iter_mut().find(|(t, _)| *t == j) {
                        Some((_, w)) => *w += 1.0,
                        None => out.push((j, 1.0)),
                    }
                }
            }
        }
        reward.push(r / 36.0);
        moves.push(out);
        next += 1;
    }
    let n = states.len();
    // (I − P) x = [reward | 1]
    let mut a = vec![vec![0.0f64; n + 2]; n];
    for (i, row) in a.iter_mut().enumerate() {
        row[i] += 1.0;
        for &(j, w) in &moves[i] {
            row[j] -= w / 36.0;
        }
        row[n] = reward[i];
        row[n + 1] = 1.0;
    }
    let x = solve(a, n).ok_or(EdgeError::NeverDecided)?;
    let expected_net = x[0].0;
    Ok(EdgeReport {
        expected_net,
        stake,
        house_edge: -expected_net / stake as f64,
        expected_rolls: x[0].1,
        states: n,
    })
}

/// Gaussian elimination with partial pivoting on an `n × (n + 2)` augmented matrix with two
/// right-hand sides; `None` if singular.
fn solve(mut a: Vec<Vec<f64>>, n: usize) -> Option<Vec<(f64, f64)>> {
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        let p = a[col][col];
        for v in &mut a[col][col..] {
            *v /= p;
        }
        let pivot_row = a[col].clone();
        for (i, row) in a.iter_mut().enumerate() {
            let f = row[col];
            if i != col && f != 0.0 {
                for (v, pv) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                    *v -= f * pv;
                }
            }
        }
    }
    Some(a.iter().map(|row| (row[n], row[n + 1])).collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::bets::{Seat, Working};
    use crate::roll::Point;

    #[test]
    fn pass_line_chain() {
        let bet = Bet::new(Seat(0), BetKind::PassLine, 600);
        let r = evaluate(&TableRules::default(), Phase::ComeOut, &bet).unwrap();
        // Exactly 7/495.
        assert!((r.house_edge - 7.0 / 495.0).abs() < 1e-12, "{r:?}");
        assert_eq!(r.states, 7);
        // 557/165 rolls per pass line decision.
        assert!((r.expected_rolls - 557.0 / 165.0).abs() < 1e-9, "{r:?}");
    }

    #[test]
    fn a_bet_called_off_is_never_decided() {
        let bet = Bet::new(Seat(0), BetKind::Place(Point::Six), 600).with_working(Working::Off);
        assert_eq!(
            evaluate(&TableRules::default(), Phase::ComeOut, &bet),
            Err(EdgeError::NeverDecided)
        );
    }

    #[test]
    fn zero_stake() {
        let bet = Bet::new(Seat(0), BetKind::Field, 0);
        assert_eq!(
            evaluate(&TableRules::default(), Phase::ComeOut, &bet),
            Err(EdgeError::ZeroStake)
        );
    }

    #[test]
    fn resolver_mismatch_is_reported() {
        let bet = Bet::new(Seat(0), BetKind::Field, 10);
        let r = evaluate_with(
            &TableRules::default(),
            Phase::ComeOut,
            &bet,
            |_, ph, _, roll| {
                Ok(Resolution {
                    outcomes: vec![],
                    phase: ph.after(roll).0,
                    event: ph.after(roll).1,
                })
            },
        );
        assert_eq!(r, Err(EdgeError::ResolverMismatch(0)));
    }
}
