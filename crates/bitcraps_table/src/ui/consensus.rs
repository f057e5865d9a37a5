//! The consensus at work: height, round and step, the proposer, the votes of the current round
//! as "k / n", the last decision's latency, each seat's dice commitment and reveal, and the open
//! disputes with their votes and deadlines.

use std::collections::BTreeMap;

use bevy::prelude::*;
use bevy_bitcraps::{
    BitCrapsConfig, ConsensusStatus, DiceCommitment, DiceReveal, Dispute, DisputeVote, TableView,
};
use bitcraps_consensus::Step;
use bitcraps_game::{Stage, TableState};

use super::{panel, text, title};
use crate::names::PlayerNames;
use crate::palette;

/// The panel's text.
#[derive(Component, Debug)]
pub struct ConsensusText;

pub(super) fn spawn(mut commands: Commands) {
    commands
        .spawn(panel(Node {
            right: px(12),
            top: px(12),
            width: px(400),
            ..default()
        }))
        .with_children(|p| {
            p.spawn(title("CONSENSUS  (Tendermint, in your machine)"));
            p.spawn((
                text("waiting for the first height", palette::TEXT),
                ConsensusText,
            ));
        });
}

/// A round step in words.
fn step_text(step: Step) -> &'static str {
    match step {
        Step::Propose => "waiting for the proposal",
        Step::Prevote => "prevoting",
        Step::Precommit => "precommitting",
        Step::Commit => "decided",
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn refresh(
    status: Option<Res<ConsensusStatus>>,
    config: Option<Res<BitCrapsConfig>>,
    view: Res<TableView>,
    names: Res<PlayerNames>,
    commitments: Query<&DiceCommitment>,
    reveals: Query<&DiceReveal>,
    disputes: Query<&Dispute>,
    votes: Query<&DisputeVote>,
    mut texts: Query<&mut Text, With<ConsensusText>>,
) {
    let (Some(status), Some(config)) = (status, config) else {
        return;
    };
    let Ok(mut out) = texts.single_mut() else {
        return;
    };
    let n = config.participants.len();
    let mut lines = vec![
        format!(
            "height {}  round {}  step: {}",
            status.height.0,
            status.round.0,
            step_text(status.step)
        ),
        format!("proposer: {}", names.of(&status.proposer)),
        format!(
            "prevotes {} / {}   precommits {} / {}   (quorum {})",
            status.prevotes, n, status.precommits, n, status.quorum
        ),
        match (status.last_decided, status.last_decision_latency) {
            (Some(h), Some(latency)) => format!(
                "last decision h{} in {} ms  ({} decided)",
                h.0,
                latency.as_millis(),
                status.decided_count
            ),
            _ => "no decision yet".into(),
        },
        format!(
            "state hash {} at h{}",
            bitcraps_consensus::short_hex(&view.state_hash),
            view.height.0
        ),
    ];
    if let Some(state) = view.snapshot::<TableState>() {
        lines.push(String::new());
        lines.extend(dice_lines(state, &names, &commitments, &reveals));
        lines.push(String::new());
        lines.extend(dispute_lines(state, &names, &disputes, &votes));
    }
    let joined = lines.join("\n");
    if out.0 != joined {
        out.0 = joined;
    }
}

/// Each seat's commitment and reveal for the current roll.
fn dice_lines(
    state: &TableState,
    names: &PlayerNames,
    commitments: &Query<&DiceCommitment>,
    reveals: &Query<&DiceReveal>,
) -> Vec<String> {
    let roll = state.roll_number();
    let expected: Vec<bitcraps_game::Seat> = match state.stage() {
        Stage::Betting { .. } => {
            return vec![format!("DICE roll #{roll}: betting, no commitments yet")];
        }
        Stage::Committing { eligible, .. } => eligible.iter().copied().collect(),
        Stage::Revealing { commitments, .. } => commitments.keys().copied().collect(),
    };
    let committed: BTreeMap<_, _> = commitments
        .iter()
        .filter(|c| c.roll == roll)
        .map(|c| (c.seat, ()))
        .collect();
    let revealed: BTreeMap<_, _> = reveals
        .iter()
        .filter(|r| r.roll == roll)
        .map(|r| (r.seat, ()))
        .collect();
    let mut lines = vec![format!("DICE roll #{roll}: commit, then reveal")];
    for seat in expected {
        let mark = |done: bool| if done { "yes" } else { "..." };
        lines.push(format!(
            "  {:<14} committed {:<3}  revealed {}",
            names.of_seat(state, seat),
            mark(committed.contains_key(&seat)),
            mark(revealed.contains_key(&seat)),
        ));
    }
    lines
}

/// Open disputes with their votes and time left.
fn dispute_lines(
    state: &TableState,
    names: &PlayerNames,
    disputes: &Query<&Dispute>,
    votes: &Query<&DisputeVote>,
) -> Vec<String> {
    let mut open: Vec<&Dispute> = disputes.iter().collect();
    if open.is_empty() {
        return vec!["DISPUTES: none open".into()];
    }
    open.sort_by_key(|d| d.id);
    let mut lines = vec!["DISPUTES".to_string()];
    for d in open {
        let (yes, no) = votes
            .iter()
            .filter(|v| v.dispute == d.id)
            .fold(
                (0, 0),
                |(y, n), v| if v.uphold { (y + 1, n) } else { (y, n + 1) },
            );
        let electorate = state
            .disputes()
            .get(&d.id)
            .map_or(0, |c| c.electorate.len());
        let left_s = d.deadline_ms.saturating_sub(state.timestamp_ms()) / 1_000;
        lines.push(format!(
            "  {} accuses {}: \"{}\"\n    uphold {yes} / reject {no} of {electorate}, {}m{:02}s left",
            names.of_seat(state, d.opened_by),
            names.of_seat(state, d.accused),
            d.statement,
            left_s / 60,
            left_s % 60
        ));
    }
    lines
}
