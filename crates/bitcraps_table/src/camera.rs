//! A camera that orbits the table and zooms: drag with the right (or middle) mouse button, the
//! wheel, or the arrow keys and `+` / `-`; `Home` resets it.

use bevy::input::mouse::{AccumulatedMouseMotion, AccumulatedMouseScroll, MouseScrollUnit};
use bevy::prelude::*;

use crate::input::TableInput;
use crate::TableSystems;

/// Closest zoom, world units from the target.
pub const MIN_DISTANCE: f32 = 2.5;
/// Farthest zoom.
pub const MAX_DISTANCE: f32 = 14.0;
/// Lowest pitch (radians above the felt).
pub const MIN_PITCH: f32 = 0.2;
/// Highest pitch (almost straight down).
pub const MAX_PITCH: f32 = 1.5;

/// Where the camera looks from: angles around a target point.
#[derive(Component, Clone, Copy, Debug, PartialEq)]
pub struct OrbitCamera {
    /// The point looked at.
    pub target: Vec3,
    /// Turn around the vertical, radians (0: from the players' side).
    pub yaw: f32,
    /// Height angle above the felt, radians.
    pub pitch: f32,
    /// Distance from the target.
    pub distance: f32,
}

impl Default for OrbitCamera {
    fn default() -> Self {
        OrbitCamera {
            target: Vec3::new(0.0, 0.0, 0.15),
            yaw: 0.0,
            pitch: 0.82,
            distance: 6.6,
        }
    }
}

impl OrbitCamera {
    /// Turns by `dyaw`, tilts by `dpitch` and zooms by `factor`, within the limits.
    pub fn orbit(&mut self, dyaw: f32, dpitch: f32, factor: f32) {
        self.yaw = (self.yaw + dyaw).rem_euclid(std::f32::consts::TAU);
        self.pitch = (self.pitch + dpitch).clamp(MIN_PITCH, MAX_PITCH);
        self.distance = (self.distance * factor).clamp(MIN_DISTANCE, MAX_DISTANCE);
    }

    /// The camera's transform.
    pub fn transform(&self) -> Transform {
        orbit_transform(self.target, self.yaw, self.pitch, self.distance)
    }
}

/// The transform of a camera `distance` from `target`, turned `yaw` around it and `pitch` above
/// the felt, looking at it.
pub fn orbit_transform(target: Vec3, yaw: f32, pitch: f32, distance: f32) -> Transform {
    let offset = Vec3::new(
        distance * pitch.cos() * yaw.sin(),
        distance * pitch.sin(),
        distance * pitch.cos() * yaw.cos(),
    );
    Transform::from_translation(target + offset).looking_at(target, Vec3::Y)
}

/// Moves the [`OrbitCamera`].
#[derive(Clone, Copy, Debug, Default)]
pub struct CameraPlugin;

impl Plugin for CameraPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(
            Update,
            drive_camera
                .in_set(TableSystems::Animate)
                .run_if(camera_takes_input),
        );
    }
}

/// The orbit camera follows the player's mouse and keys (see [`TableInput`]).
fn camera_takes_input(input: Option<Res<TableInput>>) -> bool {
    input.is_none_or(|i| i.enabled && i.camera)
}

fn drive_camera(
    mut cameras: Query<(&mut OrbitCamera, &mut Transform)>,
    buttons: Option<Res<ButtonInput<MouseButton>>>,
    keys: Option<Res<ButtonInput<KeyCode>>>,
    motion: Option<Res<AccumulatedMouseMotion>>,
    scroll: Option<Res<AccumulatedMouseScroll>>,
    time: Res<Time>,
) {
    let dt = time.delta_secs();
    let (mut dyaw, mut dpitch, mut zoom) = (0.0, 0.0, 1.0);
    let dragging =
        buttons.is_some_and(|b| b.any_pressed([MouseButton::Right, MouseButton::Middle]));
    if dragging {
        if let Some(motion) = &motion {
            dyaw -= motion.delta.x * 0.006;
            dpitch += motion.delta.y * 0.004;
        }
    }
    if let Some(scroll) = &scroll {
        let lines = match scroll.unit {
            MouseScrollUnit::Line => scroll.delta.y,
            MouseScrollUnit::Pixel => scroll.delta.y / 40.0,
        };
        zoom *= 0.9f32.powf(lines);
    }
    let mut reset = false;
    if let Some(keys) = &keys {
        let speed = 1.4 * dt;
        if keys.pressed(KeyCode::ArrowLeft) {
            dyaw -= speed;
        }
        if keys.pressed(KeyCode::ArrowRight) {
            dyaw += speed;
        }
        if keys.pressed(KeyCode::ArrowUp) {
            dpitch += speed * 0.6;
        }
        if keys.pressed(KeyCode::ArrowDown) {
            dpitch -= speed * 0.6;
        }
        if keys.any_pressed([KeyCode::Equal, KeyCode::NumpadAdd]) {
            zoom *= 1.0 - dt;
        }
        if keys.any_pressed([KeyCode::Minus, KeyCode::NumpadSubtract]) {
            zoom *= 1.0 + dt;
        }
        reset = keys.just_pressed(KeyCode::Home);
    }
    for (mut orbit, mut transform) in &mut cameras {
        if reset {
            *orbit = OrbitCamera::default();
        }
        orbit.orbit(dyaw, dpitch, zoom);
        let next = orbit.transform();
        if *transform != next {
            *transform = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_camera_looks_at_its_target_from_its_distance() {
        let orbit = OrbitCamera::default();
        let t = orbit.transform();
        assert!((t.translation.distance(orbit.target) - orbit.distance).abs() < 1e-4);
        let looking = t.forward();
        let to_target = (orbit.target - t.translation).normalize();
        assert!(looking.dot(to_target) > 0.9999);
        assert!(t.translation.z > orbit.target.z, "from the players' side");
        assert!(t.translation.y > 0.0, "above the felt");
    }

    #[test]
    fn orbit_and_zoom_stay_within_limits() {
        let mut orbit = OrbitCamera::default();
        orbit.orbit(10.0, 10.0, 100.0);
        assert_eq!(orbit.pitch, MAX_PITCH);
        assert_eq!(orbit.distance, MAX_DISTANCE);
        assert!((0.0..std::f32::consts::TAU).contains(&orbit.yaw));
        orbit.orbit(0.0, -10.0, 0.001);
        assert_eq!(orbit.pitch, MIN_PITCH);
        assert_eq!(orbit.distance, MIN_DISTANCE);
        assert!(orbit.transform().translation.y > 0.0);
    }
}
