//! The seat's interface (admission prompts, leaving, the end-of-play and rules panels) run in a
//! headless App: MinimalPlugins, the [`SeatUiPlugin`] and the event log, over a craps state
//! built with the game's [`LocalTable`] driver and handed to a [`GameApp`] as the local
//! player's table (no consensus, no window). Decided blocks are simulated by applying them to
//! the driver, installing the new state and writing their events as [`GameEvent`] messages.

use std::sync::Arc;

use bevy::ecs::query::QueryFilter;
use bevy::prelude::*;
use bevy_bitcraps::{GameApp, GameEvent, OperationDecided, TableApp, TableView};
use bitcraps_consensus::{Keypair, PeerId};
use bitcraps_game::driver::{test_keys, LocalTable};
use bitcraps_game::{
    BetKind, Event, Operation, Registry, Seat, SeatConfig, SignedOp, TableConfig, Working,
};

use super::admission::{AdmissionAnswers, AdmissionButton, AdmissionPrompt, PromptText};
use super::leave::{EndOfPlay, EndPanel, EndText, LeaveButton};
use super::rules::{rules_text, RulesButton, RulesPanel, RulesText};
use super::{log, EventLog, SeatUiPlugin};
use crate::actions::ActionFeedback;
use crate::names::PlayerNames;
use crate::TableSystems;

struct Harness {
    app: App,
    table: LocalTable,
    me: Keypair,
}

impl Harness {
    /// The seat UI of `me` over `table`'s current state, with `names`.
    fn new(table: LocalTable, me: Keypair, names: PlayerNames) -> Harness {
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .insert_resource(names)
            .add_message::<GameEvent>()
            .add_message::<OperationDecided>()
            .init_resource::<EventLog>()
            .init_resource::<ButtonInput<KeyCode>>()
            .configure_sets(
                Update,
                (TableSystems::Input, TableSystems::Animate, TableSystems::Ui).chain(),
            )
            .add_plugins(SeatUiPlugin)
            .add_systems(Update, log::record_game_events.in_set(TableSystems::Ui));
        let mut h = Harness { app, table, me };
        h.install_state();
        h.app.update();
        h
    }

    /// Makes the driver's state the local player's decided state (a fresh GameApp: operations
    /// in flight are dropped, as after their block was decided).
    fn install_state(&mut self) {
        let state = self.table.state().clone();
        let world = self.app.world_mut();
        world.insert_resource(TableView {
            snapshot: Some(Arc::new(state.clone())),
            ..Default::default()
        });
        world.insert_resource(TableApp::new(GameApp::new(state, self.me.clone())));
    }

    /// Applies `ops` as the next decided block: new state, its events as messages, one frame.
    fn decide(&mut self, ops: Vec<SignedOp>) -> Vec<Event> {
        let events = self.table.apply(ops).expect("block applies");
        let height = self.table.state().height();
        self.install_state();
        for event in &events {
            self.app.world_mut().write_message(GameEvent {
                height,
                event: event.clone(),
            });
        }
        self.app.update();
        events
    }

    fn sign(&mut self, seat: u16, op: Operation) -> SignedOp {
        self.table.sign_seat(Seat(seat), op).expect("signed")
    }

    fn in_flight(&self) -> Vec<Operation> {
        let app = self.app.world().resource::<TableApp>();
        let game = app.get::<GameApp>().expect("craps table");
        game.in_flight().iter().map(|op| op.op.clone()).collect()
    }

    fn prompts(&mut self) -> Vec<AdmissionPrompt> {
        let world = self.app.world_mut();
        let mut q = world.query::<&AdmissionPrompt>();
        q.iter(world).copied().collect()
    }

    fn prompt_texts(&mut self) -> Vec<String> {
        let world = self.app.world_mut();
        let mut q = world.query_filtered::<&Text, With<PromptText>>();
        q.iter(world).map(|t| t.0.clone()).collect()
    }

    fn press<F: QueryFilter>(&mut self, pick: impl Fn(&EntityRef) -> bool) {
        let world = self.app.world_mut();
        let mut q = world.query_filtered::<EntityRef, F>();
        let target: Vec<Entity> = q.iter(world).filter(|e| pick(e)).map(|e| e.id()).collect();
        assert_eq!(target.len(), 1, "one button to press");
        world.entity_mut(target[0]).insert(Interaction::Pressed);
        self.app.update();
    }

    fn press_admission(&mut self, admit: bool) {
        self.press::<With<AdmissionButton>>(|e| {
            e.get::<AdmissionButton>().is_some_and(|b| b.admit == admit)
        });
    }

    /// Presses every admission button there is (none expected).
    fn press_admission_if_any(&mut self) {
        let world = self.app.world_mut();
        let mut q = world.query_filtered::<Entity, With<AdmissionButton>>();
        let buttons: Vec<Entity> = q.iter(world).collect();
        for b in buttons {
            world.entity_mut(b).insert(Interaction::Pressed);
        }
        self.app.update();
    }

    fn feedback(&self) -> ActionFeedback {
        self.app.world().resource::<ActionFeedback>().clone()
    }

    fn log_text(&self) -> String {
        let log = self.app.world().resource::<EventLog>();
        log.lines
            .iter()
            .map(|(l, _)| l.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn single_text<C: Component>(&mut self) -> String {
        let world = self.app.world_mut();
        let mut q = world.query_filtered::<&Text, With<C>>();
        q.single(world).expect("one text").0.clone()
    }

    fn display<C: Component>(&mut self) -> Display {
        let world = self.app.world_mut();
        let mut q = world.query_filtered::<&Node, With<C>>();
        q.single(world).expect("one node").display
    }
}

fn local_table(seats: usize) -> LocalTable {
    LocalTable::new(seats, 1_000, 1_000_000, Arc::new(Registry::new())).expect("table")
}

fn key_of(table: &LocalTable, seat: u16) -> Keypair {
    table.key(Seat(seat)).expect("seat key").clone()
}

/// "You" for `me`, no name for the others.
fn you(me: &Keypair) -> PlayerNames {
    let mut names = PlayerNames::default();
    names.0.insert(me.peer_id(), "You".into());
    names
}

fn newcomer() -> Keypair {
    Keypair::from_seed([0x77; 32])
}

/// No Debug text, no long hex: what a player reads.
fn assert_plain(text: &str, key: &PeerId) {
    assert!(!text.contains("PeerId") && !text.contains('{'), "{text}");
    assert!(!text.contains(&key.to_string()), "a whole key: {text}");
}

mod admission;
mod countdown;
mod input;
mod leave;
mod network;
mod rules;
