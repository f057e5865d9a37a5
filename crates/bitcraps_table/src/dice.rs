//! The two dice: red casino dice with white pips that tumble across the felt on every agreed
//! roll ([`bevy_bitcraps::DiceRolled`]) and come to rest showing it.

use bevy::prelude::*;
use bevy_bitcraps::DiceRolled;
use bitcraps_game::Roll;

use crate::dice_motion::{face_normal, pip_positions, throw, DieThrow, DIE_SIZE};
use crate::palette;
use crate::TableSystems;

/// One of the two dice (0 or 1).
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Die(pub usize);

/// The dice's current throw.
#[derive(Resource, Clone, Debug, Default)]
pub struct DiceShow {
    /// The throw being shown (or last shown).
    pub throw: Option<[DieThrow; 2]>,
    /// Seconds since it started.
    pub elapsed: f32,
    /// The roll it shows.
    pub roll: Option<Roll>,
    /// Its roll number.
    pub roll_number: u64,
    /// Rolls seen since the App started.
    pub rolls_seen: u64,
    /// Throws that came to rest since the App started.
    pub throws_landed: u64,
}

impl DiceShow {
    /// True while the dice are in the air or rolling.
    pub fn in_flight(&self) -> bool {
        self.throw
            .is_some_and(|t| t.iter().any(|d| !d.finished(self.elapsed)))
    }

    /// Seconds until the dice rest (0 at rest).
    pub fn remaining(&self) -> f32 {
        self.throw.map_or(0.0, |t| {
            t.iter()
                .map(|d| (d.duration - self.elapsed).max(0.0))
                .fold(0.0, f32::max)
        })
    }
}

/// Spawns and throws the dice.
#[derive(Clone, Copy, Debug, Default)]
pub struct DicePlugin;

impl Plugin for DicePlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<DiceShow>()
            .add_systems(Startup, spawn_dice)
            .add_systems(
                Update,
                (start_throws, animate_dice)
                    .chain()
                    .in_set(TableSystems::Animate),
            );
    }
}

fn spawn_dice(
    mut commands: Commands,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    let body = meshes.add(Cuboid::from_length(DIE_SIZE));
    let pip = meshes.add(Cylinder::new(DIE_SIZE * 0.085, DIE_SIZE * 0.03));
    let red = materials.add(StandardMaterial {
        base_color: palette::DIE,
        perceptual_roughness: 0.25,
        reflectance: 0.6,
        ..default()
    });
    let white = materials.add(StandardMaterial {
        base_color: palette::PIP,
        emissive: LinearRgba::rgb(0.25, 0.25, 0.25),
        perceptual_roughness: 0.6,
        ..default()
    });
    // At rest before the first roll: a 6-1 seven, as the table sets them out.
    let Ok(first) = Roll::from_faces(6, 1) else {
        return;
    };
    let idle = throw(first, 0);
    for (i, die) in idle.iter().enumerate() {
        let (position, rotation) = die.pose(die.duration);
        commands
            .spawn((
                Die(i),
                Mesh3d(body.clone()),
                MeshMaterial3d(red.clone()),
                Transform::from_translation(position).with_rotation(rotation),
                Pickable::IGNORE,
            ))
            .with_children(|d| {
                for face in 1..=6u8 {
                    let n = face_normal(face);
                    let turn = Quat::from_rotation_arc(Vec3::Y, n);
                    for p in pip_positions(face, DIE_SIZE) {
                        d.spawn((
                            Mesh3d(pip.clone()),
                            MeshMaterial3d(white.clone()),
                            Transform::from_translation(p).with_rotation(turn),
                            Pickable::IGNORE,
                        ));
                    }
                }
            });
    }
}

fn start_throws(mut rolls: MessageReader<DiceRolled>, mut show: ResMut<DiceShow>) {
    for rolled in rolls.read() {
        show.throw = Some(throw(rolled.roll, rolled.roll_number));
        show.elapsed = 0.0;
        show.roll = Some(rolled.roll);
        show.roll_number = rolled.roll_number;
        show.rolls_seen += 1;
    }
}

pub(crate) fn animate_dice(
    time: Res<Time>,
    mut show: ResMut<DiceShow>,
    mut dice: Query<(&Die, &mut Transform)>,
) {
    let Some(throws) = show.throw else {
        return;
    };
    let was_flying = show.in_flight();
    if !was_flying {
        return;
    }
    show.elapsed += time.delta_secs();
    for (die, mut transform) in &mut dice {
        if let Some(t) = throws.get(die.0) {
            let (position, rotation) = t.pose(show.elapsed);
            transform.translation = position;
            transform.rotation = rotation;
        }
    }
    if !show.in_flight() {
        show.throws_landed += 1;
    }
}
