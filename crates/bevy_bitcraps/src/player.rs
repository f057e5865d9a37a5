//! [`LocalPlayer`]: a system parameter to act as the local player at the craps table. Dice
//! commitments and reveals are automatic.

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bitcraps_consensus::PeerId;
use bitcraps_game::{BetId, BetKind, Dispute, DisputeId, Operation, Seat, TableState, Working};

use crate::application::TableApp;
use crate::custom_ops::GameOperation;
use crate::game_app::GameApp;

/// Why the local player could not act.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlayerError {
    /// The table application is not the craps game ([`crate::GamePlugin`] missing).
    #[error("no craps table in this App")]
    NoGame,
    /// The local player has no seat.
    #[error("the local player is not seated")]
    NotSeated,
    /// Betting is closed for the current roll.
    #[error("betting is closed")]
    BettingClosed,
    /// Only the shooter closes betting.
    #[error(
        "only the shooter{} closes betting",
        .0.map(|s| format!(" ({s})")).unwrap_or_default()
    )]
    NotShooter(Option<Seat>),
    /// The payload could not be encoded.
    #[error(transparent)]
    Encode(#[from] bitcraps_consensus::EncodeError),
    /// The local player already has a seat.
    #[error("you already have a seat")]
    AlreadySeated,
    /// No such request to sit down is waiting.
    #[error("that player is not waiting for a seat")]
    NoRequest,
}

/// Acts as the local player. Operations are signed with the local key, broadcast to every
/// proposer and decided by the table; watch [`crate::OperationDecided`] and
/// [`crate::GameEvent`] for the outcome.
#[derive(SystemParam)]
pub struct LocalPlayer<'w> {
    app: ResMut<'w, TableApp>,
}

impl LocalPlayer<'_> {
    fn game(&mut self) -> Result<&mut GameApp, PlayerError> {
        self.app.get_mut::<GameApp>().ok_or(PlayerError::NoGame)
    }

    /// The latest decided table state.
    pub fn state(&self) -> Option<&TableState> {
        self.app.get::<GameApp>().map(GameApp::state)
    }

    /// The local game clock, ms since the Unix epoch (see [`crate::GameClock`]): compare it
    /// with [`TableState::stage_deadline`](bitcraps_game::TableState::stage_deadline) for a
    /// countdown.
    pub fn now_ms(&self) -> Option<u64> {
        self.app.get::<GameApp>().map(GameApp::now_ms)
    }

    /// The local player's key.
    pub fn peer(&self) -> Option<PeerId> {
        self.app.get::<GameApp>().map(GameApp::peer)
    }

    /// The local player's seat.
    pub fn seat(&self) -> Option<Seat> {
        self.app.get::<GameApp>().and_then(GameApp::seat)
    }

    /// True if the local player holds the dice.
    pub fn is_shooter(&self) -> bool {
        self.state()
            .is_some_and(|s| s.shooter().is_some() && s.shooter() == self.seat())
    }

    /// Operations of the local player not yet decided.
    pub fn pending(&self) -> usize {
        self.app.get::<GameApp>().map_or(0, GameApp::pending_local)
    }

    fn seated_game(&mut self) -> Result<&mut GameApp, PlayerError> {
        let game = self.game()?;
        if game.seat().is_none() {
            return Err(PlayerError::NotSeated);
        }
        Ok(game)
    }

    /// Submits any operation as the local player.
    pub fn submit(&mut self, op: Operation) -> Result<(), PlayerError> {
        self.game()?.submit(op);
        Ok(())
    }

    /// Places a bet (working by the table rule).
    pub fn place_bet(&mut self, kind: BetKind, amount: u64) -> Result<(), PlayerError> {
        self.place_bet_working(kind, amount, Working::TableRule)
    }

    /// Places a bet with an explicit on/off call.
    pub fn place_bet_working(
        &mut self,
        kind: BetKind,
        amount: u64,
        working: Working,
    ) -> Result<(), PlayerError> {
        let game = self.seated_game()?;
        if !game.state().stage().is_betting() {
            return Err(PlayerError::BettingClosed);
        }
        game.submit(Operation::PlaceBet {
            kind,
            amount,
            working,
        });
        Ok(())
    }

    /// Takes a bet down.
    pub fn remove_bet(&mut self, bet: BetId) -> Result<(), PlayerError> {
        self.seated_game()?.submit(Operation::RemoveBet { bet });
        Ok(())
    }

    /// Closes betting for the current roll (the shooter only).
    pub fn close_betting(&mut self) -> Result<(), PlayerError> {
        let game = self.seated_game()?;
        let state = game.state();
        if !state.stage().is_betting() {
            return Err(PlayerError::BettingClosed);
        }
        if state.shooter() != game.seat() {
            return Err(PlayerError::NotShooter(state.shooter()));
        }
        let roll = state.roll_number();
        game.submit(Operation::CloseBetting { roll });
        Ok(())
    }

    /// Opens a dispute claim against `accused`.
    pub fn raise_dispute(
        &mut self,
        accused: Seat,
        statement: impl Into<String>,
    ) -> Result<(), PlayerError> {
        self.seated_game()?
            .submit(Operation::Dispute(Dispute::Claim {
                accused,
                statement: statement.into(),
            }));
        Ok(())
    }

    /// Votes on an open claim.
    pub fn vote_dispute(&mut self, dispute: DisputeId, uphold: bool) -> Result<(), PlayerError> {
        self.seated_game()?
            .submit(Operation::DisputeVote { dispute, uphold });
        Ok(())
    }

    /// Asks for a seat with `buy_in` chips (the local player must not be seated). It sits
    /// down once more than 2/3 of the table's validators admitted it; watch
    /// [`crate::GameEvent`] for `SeatJoined` or `JoinDeclined`.
    pub fn join(&mut self, buy_in: u64) -> Result<(), PlayerError> {
        let game = self.game()?;
        if game.seat().is_some() {
            return Err(PlayerError::AlreadySeated);
        }
        game.submit(Operation::Join { buy_in });
        Ok(())
    }

    /// Leaves the table, cashing out balance and bond (only with no open bet and outside an
    /// active roll). If fewer than four players would be left, the table closes.
    pub fn leave(&mut self) -> Result<(), PlayerError> {
        self.seated_game()?.submit(Operation::Leave);
        Ok(())
    }

    /// Answers `newcomer`'s waiting request to sit down: `admit` true admits, false refuses.
    pub fn answer_join(&mut self, newcomer: PeerId, admit: bool) -> Result<(), PlayerError> {
        let game = self.seated_game()?;
        let requested_at = game
            .state()
            .join_requests()
            .get(&newcomer)
            .map(|r| r.requested_at)
            .ok_or(PlayerError::NoRequest)?;
        game.submit(Operation::Admit {
            newcomer,
            requested_at,
            admit,
        });
        Ok(())
    }

    /// Submits a registered custom operation with its typed payload.
    pub fn submit_custom<T: GameOperation>(
        &mut self,
        payload: &T::Payload,
    ) -> Result<(), PlayerError> {
        let op = T::operation(payload)?;
        self.seated_game()?.submit(op);
        Ok(())
    }
}
