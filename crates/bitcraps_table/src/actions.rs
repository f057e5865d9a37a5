//! What the local player asks for — place a bet, take one down, roll — checked against the
//! decided table state first, so that an illegal request is explained at once instead of being
//! signed, broadcast and refused by the table.

use bevy::prelude::*;
use bevy_bitcraps::{LocalPlayer, PlayerError};
use bitcraps_game::{
    validate_bet, validate_removal, Bet, BetId, BetKind, BetRejection, RemovalRejection, Seat,
    TableState, Working,
};

use crate::layout::{spot_for, SpotTarget};

/// Why an action of the local player was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// The plugin refused it (not seated, betting closed, not the shooter...).
    #[error(transparent)]
    Player(#[from] PlayerError),
    /// The bet breaks a table rule.
    #[error("{0}")]
    Bet(#[from] BetRejection),
    /// The bet cannot come down.
    #[error("{0}")]
    Removal(#[from] RemovalRejection),
    /// Not enough chips in hand.
    #[error("not enough chips: {need} needed, {have} in hand")]
    NotEnoughChips {
        /// The stake.
        need: u64,
        /// The balance.
        have: u64,
    },
    /// No bet of the local player on that spot.
    #[error("you have no bet there to take down")]
    NothingToTakeDown,
    /// An earlier action is still waiting for its decision.
    #[error("wait: your last action is not decided yet")]
    Pending,
    /// The local player cannot leave now.
    #[error(transparent)]
    Leave(#[from] crate::ui::leave::LeaveError),
}

/// The answer to the local player's last action, shown under the chip selector.
#[derive(Resource, Clone, Debug, Default)]
pub struct ActionFeedback {
    /// What to show.
    pub text: String,
    /// An error (red) or a confirmation.
    pub error: bool,
}

impl ActionFeedback {
    /// Shows the outcome of an action.
    pub fn show(&mut self, result: Result<String, ActionError>) {
        match &result {
            Ok(text) => info!("you: {text}"),
            Err(e) => info!("you: refused: {e}"),
        }
        match result {
            Ok(text) => {
                self.text = text;
                self.error = false;
            }
            Err(e) => {
                self.text = e.to_string();
                self.error = true;
            }
        }
    }
}

/// Checks that `seat` may place `amount` on `kind` now.
pub fn check_bet(
    state: &TableState,
    seat: Seat,
    kind: BetKind,
    amount: u64,
) -> Result<(), ActionError> {
    if !state.stage().is_betting() {
        return Err(PlayerError::BettingClosed.into());
    }
    let bet = Bet {
        seat,
        kind,
        amount,
        working: Working::TableRule,
    };
    validate_bet(
        &state.config().rules,
        state.phase(),
        &state.plain_bets(),
        &bet,
    )?;
    let have = state.seat(seat).map_or(0, |s| s.balance);
    if have < amount {
        return Err(ActionError::NotEnoughChips { need: amount, have });
    }
    Ok(())
}

/// The bet of `seat` to take down from the felt spot `target`: the newest one that may come
/// down, or why none may.
pub fn removable_bet(
    state: &TableState,
    seat: Seat,
    target: SpotTarget,
) -> Result<(BetId, BetKind), ActionError> {
    if !state.stage().is_betting() {
        return Err(PlayerError::BettingClosed.into());
    }
    let plain = state.plain_bets();
    let mut refusal = None;
    for (index, open) in state.bets().iter().enumerate().rev() {
        let here = spot_for(open.bet.kind).is_some_and(|s| s.target == target);
        if open.bet.seat != seat || !here {
            continue;
        }
        match validate_removal(&state.config().rules, state.phase(), &plain, index) {
            Ok(()) => return Ok((open.id, open.bet.kind)),
            Err(e) => refusal = refusal.or(Some(e)),
        }
    }
    Err(refusal.map_or(ActionError::NothingToTakeDown, ActionError::Removal))
}

/// Places `amount` on `kind` as the local player, after checking it.
pub fn place(player: &mut LocalPlayer, kind: BetKind, amount: u64) -> Result<String, ActionError> {
    let (Some(state), Some(seat)) = (player.state(), player.seat()) else {
        return Err(PlayerError::NotSeated.into());
    };
    check_bet(state, seat, kind, amount)?;
    if player.pending() > 0 {
        return Err(ActionError::Pending);
    }
    player.place_bet(kind, amount)?;
    Ok(format!("{amount} on {kind}: sent to the table"))
}

/// Takes down the local player's bet on `target`, after checking it.
pub fn take_down(player: &mut LocalPlayer, target: SpotTarget) -> Result<String, ActionError> {
    let (Some(state), Some(seat)) = (player.state(), player.seat()) else {
        return Err(PlayerError::NotSeated.into());
    };
    let (id, kind) = removable_bet(state, seat, target)?;
    if player.pending() > 0 {
        return Err(ActionError::Pending);
    }
    player.remove_bet(id)?;
    Ok(format!("taking down your {kind}"))
}

/// Rolls: closes betting as the shooter (the dice are then committed, revealed and agreed).
pub fn roll(player: &mut LocalPlayer) -> Result<String, ActionError> {
    if player.pending() > 0 {
        return Err(ActionError::Pending);
    }
    player.close_betting()?;
    Ok("betting closed: the dice are being committed".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use bitcraps_consensus::{Keypair, TableId};
    use bitcraps_game::{Phase, Point, Registry, SeatConfig, TableConfig};

    fn table() -> TableState {
        let seats = (1..=4u8)
            .map(|i| SeatConfig {
                peer: Keypair::from_seed([i; 32]).peer_id(),
                stack: 1_000,
            })
            .collect();
        let registry = Arc::new(Registry::new());
        let config = TableConfig::new(
            TableId::from_name("actions"),
            1_700_000_000_000,
            seats,
            1_000_000,
            &registry,
        );
        TableState::genesis(config, registry).expect("genesis")
    }

    #[test]
    fn bets_are_checked_before_they_are_sent() {
        let state = table();
        assert_eq!(state.phase(), Phase::ComeOut);
        let seat = Seat(0);
        assert_eq!(check_bet(&state, seat, BetKind::PassLine, 25), Ok(()));
        let below = check_bet(&state, seat, BetKind::PassLine, 5).expect_err("below minimum");
        assert!(below.to_string().contains("minimum"), "{below}");
        let come = check_bet(&state, seat, BetKind::Come, 25).expect_err("come on the come-out");
        assert!(come.to_string().contains("come-out"), "{come}");
        let odds = check_bet(&state, seat, BetKind::PassOdds(Point::Six), 25).expect_err("odds");
        assert!(matches!(odds, ActionError::Bet(_)), "{odds}");
        let have = state.seat(seat).expect("seated").balance;
        assert!(have < 1_000, "the genesis bond comes out of the stack");
        assert_eq!(
            check_bet(&state, seat, BetKind::Field, 5_000),
            Err(ActionError::NotEnoughChips { need: 5_000, have })
        );
    }

    #[test]
    fn a_contract_bet_cannot_be_taken_down_and_says_why() {
        use bitcraps_game::driver::{LocalTable, RollPlan};
        use bitcraps_game::Operation;
        let mut table =
            LocalTable::new(4, 1_000, 1_000_000, Arc::new(Registry::new())).expect("table");
        let seat = Seat(0);
        let place = Operation::PlaceBet {
            kind: BetKind::PassLine,
            amount: 25,
            working: Working::TableRule,
        };
        let field = Operation::PlaceBet {
            kind: BetKind::Field,
            amount: 10,
            working: Working::TableRule,
        };
        let ops = vec![
            table.sign_seat(seat, place).expect("sign"),
            table.sign_seat(seat, field).expect("sign"),
        ];
        table.apply(ops).expect("bets placed");
        let pass = SpotTarget::Bet(BetKind::PassLine);
        // On the come-out a pass line bet is not yet a contract: it may come down.
        assert!(matches!(
            removable_bet(table.state(), seat, pass),
            Ok((_, BetKind::PassLine))
        ));
        // A 4 sets the point: now it is a contract bet.
        table.play_roll(&RollPlan::dice(1, 3)).expect("roll");
        assert_eq!(table.state().phase(), Phase::Point(Point::Four));
        let refusal = removable_bet(table.state(), seat, pass).expect_err("contract");
        assert_eq!(
            refusal.to_string(),
            "pass line is a contract bet and cannot be taken down"
        );
    }

    #[test]
    fn taking_down_nothing_is_explained() {
        let state = table();
        assert_eq!(
            removable_bet(&state, Seat(0), SpotTarget::Bet(BetKind::Field)),
            Err(ActionError::NothingToTakeDown)
        );
    }
}
