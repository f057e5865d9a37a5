//! The dice's geometry and their throw: which face points where, the pips of each face, and a
//! deterministic tumble from the shooter's end of the table to the back wall and back that
//! always comes to rest with the agreed faces up. Pure math, tested without a GPU.

use std::f32::consts::{PI, TAU};

use bevy::math::{Quat, Vec2, Vec3};
use bitcraps_game::Roll;

use crate::layout::{FELT_DEPTH, FELT_WIDTH};

/// Edge length of a die, world units.
pub const DIE_SIZE: f32 = 0.17;
/// How long a throw lasts, seconds.
pub const THROW_SECONDS: f32 = 2.4;
/// Share of the throw spent flying to the back wall.
const TO_WALL: f32 = 0.45;

/// The die-local outward normal of `face` (1–6): 1 on +Y, 2 on +X, 3 on +Z, and every pair of
/// opposite faces sums to 7, as on real dice.
pub fn face_normal(face: u8) -> Vec3 {
    match face {
        1 => Vec3::Y,
        2 => Vec3::X,
        3 => Vec3::Z,
        4 => Vec3::NEG_Z,
        5 => Vec3::NEG_X,
        _ => Vec3::NEG_Y,
    }
}

/// Two die-local axes spanning `face`, to lay its pips out on.
fn face_axes(face: u8) -> (Vec3, Vec3) {
    let n = face_normal(face);
    let a = if n.y.abs() > 0.5 { Vec3::X } else { Vec3::Y };
    (a, n.cross(a))
}

/// The pips of `face` in the face's own square, `-1..1` on each axis (the classic patterns).
pub fn pip_pattern(face: u8) -> Vec<Vec2> {
    let c = Vec2::ZERO;
    let (tl, tr, bl, br) = (
        Vec2::new(-1.0, 1.0),
        Vec2::new(1.0, 1.0),
        Vec2::new(-1.0, -1.0),
        Vec2::new(1.0, -1.0),
    );
    let (ml, mr) = (Vec2::new(-1.0, 0.0), Vec2::new(1.0, 0.0));
    match face {
        1 => vec![c],
        2 => vec![tl, br],
        3 => vec![tl, c, br],
        4 => vec![tl, tr, bl, br],
        5 => vec![tl, tr, c, bl, br],
        _ => vec![tl, tr, ml, mr, bl, br],
    }
}

/// Die-local centres of the pips of `face` (on the face's surface), for a die of edge `size`.
pub fn pip_positions(face: u8, size: f32) -> Vec<Vec3> {
    let n = face_normal(face);
    let (a, b) = face_axes(face);
    let spread = size * 0.27;
    pip_pattern(face)
        .into_iter()
        .map(|p| n * (size / 2.0) + (a * p.x + b * p.y) * spread)
        .collect()
}

/// The face pointing up (+Y) for a die turned by `rotation`.
pub fn face_up(rotation: Quat) -> u8 {
    (1..=6)
        .max_by(|a, b| {
            let ya = (rotation * face_normal(*a)).y;
            let yb = (rotation * face_normal(*b)).y;
            ya.total_cmp(&yb)
        })
        .unwrap_or(1)
}

/// The resting orientation showing `face` up, turned by `yaw` about the vertical.
pub fn rest_rotation(face: u8, yaw: f32) -> Quat {
    Quat::from_rotation_y(yaw) * Quat::from_rotation_arc(face_normal(face), Vec3::Y)
}

/// A small deterministic generator (SplitMix64), so that every machine animates a roll alike.
#[derive(Clone, Copy, Debug)]
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi`.
    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        let unit = (self.next() >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * unit
    }
}

/// One die's throw: a flight to the back wall with hops, a bounce back, and a roll to rest, while
/// spinning about an axis that unwinds exactly onto the resting orientation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DieThrow {
    /// Where it leaves the shooter's hand.
    pub start: Vec3,
    /// Where it hits the back wall.
    pub wall: Vec3,
    /// Where it comes to rest.
    pub rest: Vec3,
    /// The resting orientation (the agreed face up).
    pub rest_rotation: Quat,
    /// The spin's axis.
    pub spin_axis: Vec3,
    /// Full turns unwound during the throw.
    pub turns: f32,
    /// Height of the first hop.
    pub hop: f32,
    /// Seconds.
    pub duration: f32,
}

/// Eases `t` in `0..1` out (fast, then slow).
fn ease_out(t: f32) -> f32 {
    1.0 - (1.0 - t).powi(3)
}

impl DieThrow {
    /// The die's position and orientation `t` seconds into the throw (at rest from `duration`
    /// on).
    pub fn pose(&self, t: f32) -> (Vec3, Quat) {
        let s = (t / self.duration).clamp(0.0, 1.0);
        let half = DIE_SIZE / 2.0;
        let position = if s < TO_WALL {
            // Flight to the wall: two hops of decreasing height.
            let k = s / TO_WALL;
            let ground = self.start.lerp(self.wall, k);
            let lift = self.hop * (1.0 - 0.45 * k) * (PI * 2.0 * k).sin().abs();
            Vec3::new(ground.x, half + lift, ground.z)
        } else {
            // Back off the wall, hopping lower and lower, easing to rest.
            let k = (s - TO_WALL) / (1.0 - TO_WALL);
            let ground = self.wall.lerp(self.rest, ease_out(k));
            let lift = self.hop * 0.35 * (1.0 - k).powi(2) * (PI * 3.0 * k).sin().abs();
            Vec3::new(ground.x, half + lift, ground.z)
        };
        let unwound = self.turns * TAU * (1.0 - ease_out(s));
        let rotation = if s >= 1.0 {
            self.rest_rotation
        } else {
            Quat::from_axis_angle(self.spin_axis, unwound) * self.rest_rotation
        };
        (position, rotation)
    }

    /// True once the die rests.
    pub fn finished(&self, t: f32) -> bool {
        t >= self.duration
    }
}

/// The two dice's throws for roll number `roll_number` showing `roll`: the same on every
/// machine, different from roll to roll. The first die rests left of the second.
pub fn throw(roll: Roll, roll_number: u64) -> [DieThrow; 2] {
    let seed = roll_number
        .wrapping_mul(0x2545_F491_4F6C_DD1D)
        .wrapping_add(u64::from(roll.first.face()) << 8 | u64::from(roll.second.face()));
    let mut rng = Mix(seed);
    let half = DIE_SIZE / 2.0;
    let back = -FELT_DEPTH / 2.0 + half;
    let rest_centre = Vec3::new(
        rng.range(0.2, 0.35) * FELT_WIDTH,
        half,
        rng.range(-0.18, 0.02) * FELT_DEPTH,
    );
    let mut die = |i: usize, face: u8| {
        let start = Vec3::new(
            rng.range(0.36, 0.44) * FELT_WIDTH,
            half,
            rng.range(0.36, 0.44) * FELT_DEPTH,
        );
        let wall = Vec3::new(rng.range(0.05, 0.3) * FELT_WIDTH, half, back);
        let spin_axis = Vec3::new(
            rng.range(-1.0, 1.0),
            rng.range(-0.3, 0.3),
            rng.range(0.4, 1.0),
        )
        .try_normalize()
        .unwrap_or(Vec3::X);
        // Side by side at rest, a die's width and a bit apart.
        let side = if i == 0 { -0.75 } else { 0.75 };
        DieThrow {
            start,
            wall,
            rest: rest_centre + Vec3::X * side * DIE_SIZE,
            rest_rotation: rest_rotation(face, rng.range(-0.6, 0.6)),
            spin_axis,
            turns: rng.range(2.0, 4.0).round(),
            hop: rng.range(0.25, 0.4),
            duration: THROW_SECONDS * rng.range(0.92, 1.0),
        }
    };
    [die(0, roll.first.face()), die(1, roll.second.face())]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::BACK_WALL_HEIGHT;

    #[test]
    fn opposite_faces_sum_to_seven_and_pips_count_their_face() {
        for face in 1..=6u8 {
            assert_eq!(face_normal(face), -face_normal(7 - face));
            let pips = pip_positions(face, DIE_SIZE);
            assert_eq!(pips.len(), usize::from(face));
            for p in pips {
                // On the face, inside its square.
                assert!((p.dot(face_normal(face)) - DIE_SIZE / 2.0).abs() < 1e-5);
                assert!(p.abs().max_element() <= DIE_SIZE / 2.0 + 1e-5);
            }
        }
    }

    #[test]
    fn rest_rotation_shows_the_face_up_whatever_the_yaw() {
        for face in 1..=6u8 {
            for yaw in [-3.0, -0.5, 0.0, 0.7, 2.9] {
                assert_eq!(
                    face_up(rest_rotation(face, yaw)),
                    face,
                    "face {face} yaw {yaw}"
                );
            }
        }
    }

    /// The animation always comes to rest with the agreed faces up: every one of the 36 rolls,
    /// over many roll numbers, at and after the end of the throw.
    #[test]
    fn every_throw_comes_to_rest_with_the_agreed_faces_up() {
        for roll_number in 0..50u64 {
            for roll in Roll::all() {
                let dice = throw(roll, roll_number);
                let faces = [roll.first.face(), roll.second.face()];
                for (die, face) in dice.iter().zip(faces) {
                    for t in [die.duration, die.duration + 0.01, die.duration + 10.0] {
                        let (position, rotation) = die.pose(t);
                        assert_eq!(face_up(rotation), face, "{roll} #{roll_number} at {t}");
                        // Flat on the felt: the up face's normal is vertical.
                        let up = rotation * face_normal(face);
                        assert!(up.y > 0.999, "{roll} #{roll_number}: tilted {up}");
                        assert!((position.y - DIE_SIZE / 2.0).abs() < 1e-5);
                        assert!(die.finished(t));
                    }
                }
                // The two dice do not rest inside each other.
                let (a, _) = dice[0].pose(dice[0].duration);
                let (b, _) = dice[1].pose(dice[1].duration);
                assert!(a.distance(b) >= DIE_SIZE * 1.2, "{roll}: dice overlap");
            }
        }
    }

    #[test]
    fn throws_tumble_inside_the_table_and_reach_the_back_wall() {
        for roll_number in 0..20u64 {
            for roll in Roll::all() {
                for die in throw(roll, roll_number) {
                    let mut min_z = f32::MAX;
                    let mut spun = false;
                    for step in 0..=200 {
                        let t = die.duration * step as f32 / 200.0;
                        let (p, r) = die.pose(t);
                        assert!(p.x.abs() <= FELT_WIDTH / 2.0 && p.z.abs() <= FELT_DEPTH / 2.0);
                        assert!(p.y >= DIE_SIZE / 2.0 - 1e-5 && p.y < BACK_WALL_HEIGHT + 0.3);
                        min_z = min_z.min(p.z);
                        spun |= r.angle_between(die.rest_rotation) > 1.0;
                    }
                    assert!(
                        min_z <= -FELT_DEPTH / 2.0 + DIE_SIZE,
                        "never reached the wall"
                    );
                    assert!(spun, "a throw that does not tumble");
                }
            }
        }
    }

    #[test]
    fn throws_are_deterministic_and_vary_between_rolls() {
        let roll = Roll::from_faces(3, 4).expect("roll");
        assert_eq!(throw(roll, 7), throw(roll, 7));
        assert_ne!(throw(roll, 7), throw(roll, 8));
    }
}
