//! The table's colours.

use bevy::prelude::*;
use bitcraps_game::Seat;

/// The felt.
pub const FELT: Color = Color::srgb(0.05, 0.36, 0.16);
/// Lines and labels printed on the felt.
pub const FELT_INK: Color = Color::srgb(0.96, 0.95, 0.88);
/// Payout text printed on the felt.
pub const FELT_GOLD: Color = Color::srgb(0.98, 0.80, 0.25);
/// The padded rail.
pub const RAIL: Color = Color::srgb(0.22, 0.10, 0.05);
/// The table's wooden body.
pub const WOOD: Color = Color::srgb(0.38, 0.22, 0.10);
/// The dice (casino red).
pub const DIE: Color = Color::srgb(0.78, 0.04, 0.06);
/// The dice's pips.
pub const PIP: Color = Color::srgb(0.97, 0.97, 0.97);
/// The room's floor.
pub const FLOOR: Color = Color::srgb(0.10, 0.09, 0.11);
/// Panels of the interface.
pub const PANEL: Color = Color::srgba(0.04, 0.05, 0.07, 0.82);
/// Text of the interface.
pub const TEXT: Color = Color::srgb(0.92, 0.93, 0.95);
/// Dimmed text.
pub const TEXT_DIM: Color = Color::srgb(0.62, 0.65, 0.70);
/// Alerts.
pub const ALERT: Color = Color::srgb(0.85, 0.12, 0.10);
/// Good news (wins, decisions).
pub const GOOD: Color = Color::srgb(0.35, 0.85, 0.45);

/// Player colours (chips and names), by seat.
const SEAT_COLORS: [(f32, f32, f32); 8] = [
    (0.15, 0.45, 0.95), // blue: usually you
    (0.95, 0.60, 0.10), // orange
    (0.70, 0.25, 0.85), // purple
    (0.95, 0.90, 0.20), // yellow
    (0.10, 0.80, 0.80), // cyan
    (0.95, 0.35, 0.55), // pink
    (0.55, 0.85, 0.25), // lime
    (0.85, 0.85, 0.85), // white
];

/// The colour of `seat`'s chips and name.
pub fn seat_color(seat: Seat) -> Color {
    let (r, g, b) = SEAT_COLORS[usize::from(seat.0) % SEAT_COLORS.len()];
    Color::srgb(r, g, b)
}
