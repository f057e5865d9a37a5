//! The table's input can be gated and rebound ([`TableInput`]): a game that shares the keyboard
//! switches it off, and the table's keys then do nothing.

use bevy::prelude::*;

use super::{key_of, local_table, you, Harness};
use crate::input::{ChipSelection, InputPlugin, TableInput};

/// Presses `key` for one frame.
fn tap(h: &mut Harness, key: KeyCode) {
    h.app
        .world_mut()
        .resource_mut::<ButtonInput<KeyCode>>()
        .press(key);
    h.app.update();
    let mut keys = h.app.world_mut().resource_mut::<ButtonInput<KeyCode>>();
    keys.release(key);
    keys.clear();
}

fn chip(h: &Harness) -> u64 {
    h.app.world().resource::<ChipSelection>().0
}

fn set_input(h: &mut Harness, f: impl FnOnce(&mut TableInput)) {
    f(&mut h.app.world_mut().resource_mut::<TableInput>());
}

#[test]
fn the_table_ignores_its_keys_when_switched_off_and_follows_rebinding() {
    let table = local_table(4);
    let me = key_of(&table, 1);
    let mut h = Harness::new(table, me.clone(), you(&me));
    h.app.add_plugins(InputPlugin);
    h.app.update();

    // On (the default): 4 picks the 500 chip, Space rolls (refused: not the shooter, but the
    // table answered).
    tap(&mut h, KeyCode::Digit4);
    assert_eq!(chip(&h), 500);
    tap(&mut h, KeyCode::Space);
    assert!(!h.feedback().text.is_empty(), "Space is the roll key");

    // Off: no key does anything.
    set_input(&mut h, |i| i.enabled = false);
    h.app
        .world_mut()
        .resource_mut::<crate::ActionFeedback>()
        .text = String::new();
    tap(&mut h, KeyCode::Digit1);
    tap(&mut h, KeyCode::Space);
    assert_eq!(chip(&h), 500, "switched off: 1 picked a chip");
    assert!(h.feedback().text.is_empty(), "switched off: Space rolled");

    // On again, with the roll key unbound and the chips on F1-F4: Space and 1 do nothing,
    // F2 picks the 25 chip.
    set_input(&mut h, |i| {
        i.enabled = true;
        i.roll = None;
        i.chips = [
            Some(KeyCode::F1),
            Some(KeyCode::F2),
            Some(KeyCode::F3),
            Some(KeyCode::F4),
        ];
    });
    tap(&mut h, KeyCode::Space);
    tap(&mut h, KeyCode::Digit1);
    assert!(h.feedback().text.is_empty(), "an unbound roll key rolled");
    assert_eq!(chip(&h), 500, "an unbound chip key picked a chip");
    tap(&mut h, KeyCode::F2);
    assert_eq!(chip(&h), 25);
}
