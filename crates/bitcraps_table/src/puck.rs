//! The point puck: white side "ON" on the point's number box while a point is set, black side
//! "OFF" in the don't come box on the come-out. Its faces are drawn in code with a tiny pixel
//! font.

use bevy::asset::RenderAssetUsages;
use bevy::prelude::*;
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat};
use bevy_bitcraps::TableView;
use bitcraps_game::{Phase, TableState};

use crate::layout::{puck_uv, uv_to_world};
use crate::TableSystems;

/// Puck radius, world units.
pub const PUCK_RADIUS: f32 = 0.13;
const PUCK_HEIGHT: f32 = 0.03;
/// Face texture size, pixels.
const FACE: usize = 64;

/// The point puck.
#[derive(Component, Debug)]
pub struct Puck {
    on: Handle<StandardMaterial>,
    off: Handle<StandardMaterial>,
    /// The phase it shows.
    pub phase: Phase,
}

/// Moves and flips the puck.
#[derive(Clone, Copy, Debug, Default)]
pub struct PuckPlugin;

impl Plugin for PuckPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Startup, spawn_puck)
            .add_systems(Update, follow_phase.in_set(TableSystems::Animate));
    }
}

/// 5 × 7 glyphs of the letters the puck needs (a set bit is ink, top row first).
fn glyph(c: char) -> [u8; 7] {
    match c {
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'N' => [0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x11],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        _ => [0; 7],
    }
}

/// An RGBA face: a disc of `background` with `text` in `ink`, centred.
pub fn face_pixels(text: &str, background: [u8; 4], ink: [u8; 4]) -> Vec<u8> {
    let mut pixels = vec![0u8; FACE * FACE * 4];
    for px in pixels.chunks_exact_mut(4) {
        px.copy_from_slice(&background);
    }
    let letters: Vec<char> = text.chars().collect();
    let scale = 3usize;
    let width = (letters.len() * 6 * scale).saturating_sub(scale);
    let x0 = FACE.saturating_sub(width) / 2;
    let y0 = (FACE - 7 * scale) / 2;
    for (n, c) in letters.iter().enumerate() {
        let rows = glyph(*c);
        for (row, bits) in rows.iter().enumerate() {
            for col in 0..5 {
                if bits & (0x10 >> col) == 0 {
                    continue;
                }
                for dy in 0..scale {
                    for dx in 0..scale {
                        // Upside down: the cylinder's cap shows its texture flipped.
                        let x = x0 + (n * 6 + col) * scale + dx;
                        let Some(y) = (FACE - 1).checked_sub(y0 + row * scale + dy) else {
                            continue;
                        };
                        if x < FACE {
                            let at = (y * FACE + x) * 4;
                            pixels[at..at + 4].copy_from_slice(&ink);
                        }
                    }
                }
            }
        }
    }
    pixels
}

fn face_image(text: &str, background: [u8; 4], ink: [u8; 4]) -> Image {
    Image::new(
        Extent3d {
            width: FACE as u32,
            height: FACE as u32,
            depth_or_array_layers: 1,
        },
        TextureDimension::D2,
        face_pixels(text, background, ink),
        TextureFormat::Rgba8UnormSrgb,
        RenderAssetUsages::RENDER_WORLD,
    )
}

fn spawn_puck(
    mut commands: Commands,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
    mut images: ResMut<Assets<Image>>,
) {
    let white = [240, 240, 236, 255];
    let black = [18, 18, 20, 255];
    let on = materials.add(StandardMaterial {
        base_color_texture: Some(images.add(face_image("ON", white, black))),
        perceptual_roughness: 0.5,
        ..default()
    });
    let off = materials.add(StandardMaterial {
        base_color_texture: Some(images.add(face_image("OFF", black, white))),
        perceptual_roughness: 0.5,
        ..default()
    });
    let phase = Phase::ComeOut;
    commands.spawn((
        Mesh3d(meshes.add(Cylinder::new(PUCK_RADIUS, PUCK_HEIGHT))),
        MeshMaterial3d(off.clone()),
        Transform::from_translation(uv_to_world(puck_uv(phase)) + Vec3::Y * PUCK_HEIGHT / 2.0),
        Puck { on, off, phase },
        Pickable::IGNORE,
    ));
}

fn follow_phase(
    view: Res<TableView>,
    show: Res<crate::dice::DiceShow>,
    mut pucks: Query<(
        &mut Puck,
        &mut Transform,
        &mut MeshMaterial3d<StandardMaterial>,
    )>,
) {
    // The puck moves once the dice rest, like the dealer's hand would.
    if show.in_flight() {
        return;
    }
    let Some(state) = view.snapshot::<TableState>() else {
        return;
    };
    let phase = state.phase();
    for (mut puck, mut transform, mut material) in &mut pucks {
        if puck.phase == phase {
            continue;
        }
        puck.phase = phase;
        transform.translation = uv_to_world(puck_uv(phase)) + Vec3::Y * PUCK_HEIGHT / 2.0;
        material.0 = if phase.is_come_out() {
            puck.off.clone()
        } else {
            puck.on.clone()
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_faces_carry_ink() {
        let white = [255, 255, 255, 255];
        let black = [0, 0, 0, 255];
        let on = face_pixels("ON", white, black);
        let off = face_pixels("OFF", black, white);
        let ink = |p: &[u8], c: [u8; 4]| p.chunks_exact(4).filter(|px| *px == c).count();
        assert!(ink(&on, black) > 100);
        assert!(ink(&off, white) > ink(&on, black), "OFF has more letters");
        assert_eq!(ink(&face_pixels("", white, black), black), 0);
    }
}
