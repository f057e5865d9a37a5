//! The room and the table: the felt (showing the printed layout), the padded rails, the back
//! wall the dice bounce off, the wooden body, the floor, and lights with shadows.

use bevy::light::CascadeShadowConfigBuilder;
use bevy::prelude::*;

use crate::camera::OrbitCamera;
use crate::felt::FeltTexture;
use crate::layout::{bank_tray, BACK_WALL_HEIGHT, FELT_DEPTH, FELT_WIDTH, RAIL_HEIGHT, RAIL_WIDTH};
use crate::palette;

/// The felt's mesh entity (clicks on it place bets).
#[derive(Component, Debug)]
pub struct Felt;

/// The camera that shows the table (and carries the interface).
#[derive(Component, Debug)]
pub struct TableCamera;

/// Builds the room and the table.
#[derive(Clone, Copy, Debug, Default)]
pub struct ScenePlugin;

impl Plugin for ScenePlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Startup, build_table);
    }
}

fn build_table(
    mut commands: Commands,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
    felt: Option<Res<FeltTexture>>,
) {
    let orbit = OrbitCamera::default();
    commands.spawn((
        Camera3d::default(),
        Camera {
            order: 0,
            clear_color: ClearColorConfig::Custom(Color::srgb(0.02, 0.02, 0.03)),
            ..default()
        },
        orbit.transform(),
        orbit,
        TableCamera,
        IsDefaultUiCamera,
        AmbientLight {
            color: Color::srgb(0.95, 0.92, 0.85),
            brightness: 320.0,
            ..default()
        },
    ));
    // A warm key light above the players' shoulders, casting the dice's and chips' shadows.
    commands.spawn((
        DirectionalLight {
            illuminance: 9_000.0,
            shadow_maps_enabled: true,
            color: Color::srgb(1.0, 0.96, 0.88),
            ..default()
        },
        CascadeShadowConfigBuilder {
            num_cascades: 1,
            maximum_distance: 14.0,
            ..default()
        }
        .build(),
        Transform::from_xyz(2.5, 8.0, 4.0).looking_at(Vec3::ZERO, Vec3::Y),
    ));
    // A soft fill from the dealer's side.
    commands.spawn((
        PointLight {
            intensity: 900_000.0,
            range: 20.0,
            color: Color::srgb(0.85, 0.9, 1.0),
            ..default()
        },
        Transform::from_xyz(-3.0, 4.0, -3.0),
    ));

    // The felt, with its layout.
    let felt_material = materials.add(StandardMaterial {
        base_color: Color::WHITE,
        base_color_texture: felt.map(|f| f.0.clone()),
        perceptual_roughness: 0.95,
        reflectance: 0.05,
        ..default()
    });
    commands.spawn((
        Mesh3d(meshes.add(Plane3d::default().mesh().size(FELT_WIDTH, FELT_DEPTH))),
        MeshMaterial3d(felt_material),
        Transform::IDENTITY,
        Felt,
    ));

    // Padded rails around the felt; the back one is the wall the dice bounce off.
    let rail = materials.add(StandardMaterial {
        base_color: palette::RAIL,
        perceptual_roughness: 0.55,
        ..default()
    });
    let (w, d, r) = (FELT_WIDTH, FELT_DEPTH, RAIL_WIDTH);
    let rails = [
        // front (players)
        (
            Vec3::new(w + 2.0 * r, RAIL_HEIGHT, r),
            Vec3::new(0.0, RAIL_HEIGHT / 2.0, d / 2.0 + r / 2.0),
        ),
        // back wall
        (
            Vec3::new(w + 2.0 * r, BACK_WALL_HEIGHT, r),
            Vec3::new(0.0, BACK_WALL_HEIGHT / 2.0, -d / 2.0 - r / 2.0),
        ),
        // sides
        (
            Vec3::new(r, BACK_WALL_HEIGHT, d),
            Vec3::new(-w / 2.0 - r / 2.0, BACK_WALL_HEIGHT / 2.0, 0.0),
        ),
        (
            Vec3::new(r, BACK_WALL_HEIGHT, d),
            Vec3::new(w / 2.0 + r / 2.0, BACK_WALL_HEIGHT / 2.0, 0.0),
        ),
    ];
    for (size, at) in rails {
        commands.spawn((
            Mesh3d(meshes.add(Cuboid::from_size(size))),
            MeshMaterial3d(rail.clone()),
            Transform::from_translation(at),
            Pickable::IGNORE,
        ));
    }

    // The wooden body under the felt, and the floor.
    let wood = materials.add(StandardMaterial {
        base_color: palette::WOOD,
        perceptual_roughness: 0.7,
        ..default()
    });
    commands.spawn((
        Mesh3d(meshes.add(Cuboid::new(w + 2.0 * r, 0.9, d + 2.0 * r))),
        MeshMaterial3d(wood),
        Transform::from_xyz(0.0, -0.46, 0.0),
        Pickable::IGNORE,
    ));
    commands.spawn((
        Mesh3d(meshes.add(Plane3d::default().mesh().size(40.0, 40.0))),
        MeshMaterial3d(materials.add(StandardMaterial {
            base_color: palette::FLOOR,
            perceptual_roughness: 1.0,
            ..default()
        })),
        Transform::from_xyz(0.0, -0.9, 0.0),
        Pickable::IGNORE,
    ));

    // The bank's chip tray on the back rail.
    commands.spawn((
        Mesh3d(meshes.add(Cuboid::new(1.6, 0.05, 0.28))),
        MeshMaterial3d(materials.add(StandardMaterial {
            base_color: Color::srgb(0.12, 0.12, 0.13),
            perceptual_roughness: 0.4,
            ..default()
        })),
        Transform::from_translation(bank_tray() + Vec3::Y * 0.025),
        Pickable::IGNORE,
    ));
}
