//! Bots: a [`BotPlayer`] plays the local seat with a simple betting strategy (and, with the
//! `cheats` feature, optionally withholds its dice reveals like a cheater would).

use bevy::prelude::*;
use std::collections::BTreeSet;

use bitcraps_consensus::PeerId;
use bitcraps_game::{BetKind, Stage, TableState};

use crate::player::LocalPlayer;
use crate::sets::BitCrapsSystems;

/// A simple betting strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BotStrategy {
    /// A pass-line bet of `amount` whenever it has none (the classic "right" bettor).
    PassLine {
        /// Stake.
        amount: u64,
    },
    /// A field bet of `amount` every roll.
    Field {
        /// Stake.
        amount: u64,
    },
    /// A don't-pass bet of `amount` whenever it has none.
    DontPass {
        /// Stake.
        amount: u64,
    },
}

/// How a bot answers a newcomer's request to sit down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdmissionPolicy {
    /// Admits while fewer than this many players are seated, refuses beyond (the default:
    /// up to 16, every seat).
    UpTo(usize),
    /// Refuses everyone.
    RefuseAll,
}

impl Default for AdmissionPolicy {
    fn default() -> Self {
        AdmissionPolicy::UpTo(bitcraps_game::MAX_SEATED)
    }
}

/// Plays the local seat. Spawn one on any entity of an App with [`crate::GamePlugin`] and add
/// [`BotPlugin`]. As shooter it closes betting once `wait_heights` heights of betting have
/// passed (so the others' bets get in).
#[derive(Component, Clone, Debug)]
pub struct BotPlayer {
    /// How it bets.
    pub strategy: BotStrategy,
    /// Heights of open betting the shooter waits before closing.
    pub wait_heights: u64,
    /// Withhold dice reveals (a Byzantine bot: its bond is slashed and it loses its seat;
    /// `cheats` feature only).
    #[cfg(feature = "cheats")]
    pub withhold_reveals: bool,
    /// How it answers newcomers asking to sit down.
    pub admission: AdmissionPolicy,
    answered: BTreeSet<(PeerId, u64)>,
    bet_on_roll: Option<u64>,
    closed_roll: Option<(u64, u64)>,
}

impl BotPlayer {
    /// A bot with `strategy` that waits 2 heights before closing betting.
    pub fn new(strategy: BotStrategy) -> BotPlayer {
        BotPlayer {
            strategy,
            wait_heights: 2,
            #[cfg(feature = "cheats")]
            withhold_reveals: false,
            admission: AdmissionPolicy::default(),
            answered: BTreeSet::new(),
            bet_on_roll: None,
            closed_roll: None,
        }
    }

    /// The same bot, answering newcomers with `policy`.
    pub fn admitting(mut self, policy: AdmissionPolicy) -> BotPlayer {
        self.admission = policy;
        self
    }

    /// The same bot, withholding its reveals (`cheats` feature only).
    #[cfg(feature = "cheats")]
    pub fn withholding(mut self) -> BotPlayer {
        self.withhold_reveals = true;
        self
    }
}

/// Runs [`BotPlayer`]s, before the consensus set (so their operations leave in the same frame).
#[derive(Clone, Copy, Debug, Default)]
pub struct BotPlugin;

impl Plugin for BotPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Update, play_bots.before(BitCrapsSystems::Consensus));
        #[cfg(feature = "cheats")]
        app.add_systems(
            Update,
            sync_withholding
                .before(play_bots)
                .before(BitCrapsSystems::Consensus),
        );
    }
}

fn play_bots(mut bots: Query<&mut BotPlayer>, mut player: LocalPlayer) {
    for mut bot in &mut bots {
        play(&mut bot, &mut player);
    }
}

fn play(bot: &mut BotPlayer, player: &mut LocalPlayer) {
    let Some(state) = player.state() else {
        return;
    };
    let Some(seat) = player.seat() else {
        return;
    };
    answer_newcomers(bot, player, state.clone());
    let Some(state) = player.state() else {
        return;
    };
    let Stage::Betting { since, .. } = *state.stage() else {
        return;
    };
    let (roll, height) = (state.roll_number(), state.height());
    let has = |kind: BetKind| state.bets_of(seat).any(|b| b.bet.kind == kind);
    if bot.bet_on_roll != Some(roll) && player.pending() == 0 {
        bot.bet_on_roll = Some(roll);
        let (kind, amount) = match bot.strategy {
            BotStrategy::PassLine { amount } => (BetKind::PassLine, amount),
            BotStrategy::Field { amount } => (BetKind::Field, amount),
            BotStrategy::DontPass { amount } => (BetKind::DontPass, amount),
        };
        // Line bets are placed on the come-out only and stay until decided.
        let line = matches!(kind, BetKind::PassLine | BetKind::DontPass);
        let come_out = state.phase() == bitcraps_game::Phase::ComeOut;
        if !has(kind) && (!line || come_out) {
            if let Err(e) = player.place_bet(kind, amount) {
                log::debug!("bot could not bet: {e}");
            }
        }
    }
    if player.is_shooter()
        && height >= since + bot.wait_heights
        && bot.closed_roll != Some((roll, since))
        && player.pending() == 0
    {
        bot.closed_roll = Some((roll, since));
        if let Err(e) = player.close_betting() {
            log::debug!("bot could not close betting: {e}");
        }
    }
}

/// Answers each waiting join request once, by the bot's [`AdmissionPolicy`].
fn answer_newcomers(bot: &mut BotPlayer, player: &mut LocalPlayer, state: TableState) {
    let me = player.peer();
    let seated = state.seated().len();
    for (newcomer, request) in state.join_requests() {
        let key = (*newcomer, request.requested_at);
        let may_answer = me.is_some_and(|me| request.admitters.contains(&me));
        if !may_answer || bot.answered.contains(&key) {
            continue;
        }
        let admit = match bot.admission {
            AdmissionPolicy::UpTo(most) => seated < most,
            AdmissionPolicy::RefuseAll => false,
        };
        bot.answered.insert(key);
        if let Err(e) = player.answer_join(*newcomer, admit) {
            log::debug!("bot could not answer a join request: {e}");
        }
    }
    // Forget answers to requests that are gone.
    bot.answered.retain(|(peer, at)| {
        state
            .join_requests()
            .get(peer)
            .is_some_and(|r| r.requested_at == *at)
    });
}

/// Applies [`BotPlayer::withhold_reveals`] to the game application.
#[cfg(feature = "cheats")]
pub(crate) fn sync_withholding(
    bots: Query<&BotPlayer>,
    mut app: ResMut<crate::application::TableApp>,
) {
    let withhold = bots.iter().any(|b| b.withhold_reveals);
    if let Some(game) = app.get_mut::<crate::game_app::GameApp>() {
        game.set_withhold_reveals(withhold);
    }
}
