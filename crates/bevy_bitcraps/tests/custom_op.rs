//! `add_game_operation`: a custom operation registered on every App, submitted by the local
//! player with a typed payload, decided by the table, and read back as a typed message.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use bevy::prelude::*;
use bevy_bitcraps::bitcraps_game::{
    CustomContext, CustomError, CustomOperation, RegistryError, Seat as SeatNo, TableConfig,
    TableData,
};
use bevy_bitcraps::testing::TestTable;
use bevy_bitcraps::*;

/// "Shout": a table-wide chat line, decided like any operation (no chips move).
#[derive(Default)]
struct Shout;

impl CustomOperation for Shout {
    fn name(&self) -> &str {
        "shout"
    }

    fn validate(
        &self,
        _table: &TableData,
        _config: &TableConfig,
        _author: SeatNo,
        payload: &[u8],
    ) -> Result<(), CustomError> {
        if payload.len() > 64 {
            return Err(CustomError::Rejected("too long".into()));
        }
        Ok(())
    }

    fn apply(
        &self,
        ctx: &mut CustomContext<'_>,
        author: SeatNo,
        payload: &[u8],
    ) -> Result<(), CustomError> {
        ctx.emit(Some(author), payload.to_vec());
        Ok(())
    }
}

impl GameOperation for Shout {
    type Payload = String;
}

#[derive(Resource, Default)]
struct Heard(Vec<(Option<SeatNo>, String)>);

fn hear(mut heard: ResMut<Heard>, mut shouts: MessageReader<CustomOperationDecided<Shout>>) {
    heard
        .0
        .extend(shouts.read().map(|s| (s.seat, s.payload.clone())));
}

#[derive(Resource, Default)]
struct Said(bool);

fn say(mut said: ResMut<Said>, mut player: LocalPlayer) {
    if !said.0 && player.seat().is_some() {
        said.0 = player.submit_custom::<Shout>(&"seven!".to_string()).is_ok();
    }
}

#[test]
fn a_custom_operation_is_decided_and_delivered_typed_on_every_app() {
    let mut t = TestTable::new(
        4,
        31,
        |_, config| config,
        |i, app| {
            app.add_plugins(GamePlugin::default())
                .add_game_operation::<Shout>()
                .init_resource::<Heard>()
                .add_systems(Update, hear.after(BitCrapsSystems::Apply));
            if i == 2 {
                app.init_resource::<Said>()
                    .add_systems(Update, say.before(BitCrapsSystems::Consensus));
            }
        },
    )
    .expect("table");
    let heard = |t: &TestTable, i: usize| t.apps[i].world().resource::<Heard>().0.clone();
    assert!(t.run_until(2_000, |t| (0..4).all(|i| !heard(t, i).is_empty())));
    let shouter = t.apps[2]
        .world()
        .resource::<TableApp>()
        .get::<GameApp>()
        .and_then(GameApp::seat);
    for i in 0..4 {
        assert_eq!(heard(&t, i), vec![(shouter, "seven!".to_string())]);
        let registry = t.apps[i].world().resource::<RegistryInUse>();
        assert!(registry.0.get("shout").is_some());
    }
}

/// Four craps Apps that finished building (their registries are fixed), without custom
/// operations.
fn finished_craps_table(seed: u64) -> TestTable {
    TestTable::new(
        4,
        seed,
        |_, config| config,
        |_, app| {
            app.add_plugins(GamePlugin::default());
        },
    )
    .expect("table")
}

/// Registering an operation twice, or after the App finished (when the table's registry is
/// already fixed in its config), is an error the game sees at once; before, the duplicate was
/// only logged and the late one silently dropped (every later operation then refused).
#[test]
fn a_late_or_duplicate_registration_is_an_error() {
    let mut app = App::new();
    app.add_plugins(GamePlugin::default())
        .add_game_operation::<Shout>();
    let twice = app.try_add_game_operation::<Shout>().map(|_| ());
    assert!(
        matches!(
            &twice,
            Err(GameOperationError::Refused {
                source: RegistryError::Duplicate(_),
                ..
            })
        ),
        "{twice:?}"
    );
    let mut t = finished_craps_table(32);
    let late = t.apps[0].try_add_game_operation::<Shout>().map(|_| ());
    let Err(error) = late else {
        panic!("a late registration was accepted");
    };
    assert!(matches!(error, GameOperationError::AfterFinish { .. }));
    assert!(
        error
            .to_string()
            .contains("registered after the App finished"),
        "{error}"
    );
}

#[test]
#[should_panic(expected = "custom operation shout was registered after the App finished")]
fn add_game_operation_after_finish_panics_with_the_reason() {
    let mut t = finished_craps_table(33);
    t.apps[0].add_game_operation::<Shout>();
}
