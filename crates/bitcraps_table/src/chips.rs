//! Chips: a stack on every bet, in its owner's colour and as tall as its amount; each player's
//! chips in hand on the rail; and, once the dice rest, chips flying from lost bets to the bank
//! and from the bank to the winners.

use std::collections::{BTreeMap, HashMap};

use bevy::prelude::*;
use bevy_bitcraps::{BetResolved, TableView};
use bitcraps_game::{BetKind, Outcome, Seat, TableState};

use crate::dice::DiceShow;
use crate::layout::{bank_tray, chip_uv, seat_rail, uv_to_world};
use crate::palette::seat_color;
use crate::TableSystems;

/// Chip radius, world units.
pub const CHIP_RADIUS: f32 = 0.075;
/// Chip thickness.
pub const CHIP_HEIGHT: f32 = 0.02;
/// Most chips drawn in one stack.
pub const MAX_STACK: usize = 14;
/// Chip denominations used to size stacks, largest first.
pub const DENOMINATIONS: [u64; 8] = [5_000, 1_000, 500, 100, 25, 10, 5, 1];
/// Seconds a chip flight takes.
const FLIGHT_SECONDS: f32 = 1.1;

/// How many chips a stack of `amount` shows: the fewest chips of [`DENOMINATIONS`] making it,
/// at least one, at most [`MAX_STACK`].
pub fn chip_count(amount: u64) -> usize {
    let mut left = amount;
    let mut count = 0u64;
    for d in DENOMINATIONS {
        count += left / d;
        left %= d;
    }
    usize::try_from(count)
        .unwrap_or(MAX_STACK)
        .clamp(1, MAX_STACK)
}

/// The place of a seat's chips within a spot (16 places per spot).
pub fn seat_slot(seat: Seat) -> usize {
    usize::from(seat.0) % 16
}

/// A stack of chips on a bet.
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChipStack {
    /// The bet kind.
    pub kind: BetKind,
    /// The owner.
    pub seat: Seat,
    /// Chips on it.
    pub amount: u64,
}

/// A player's chips in hand, on the rail.
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq)]
pub struct RailStack {
    /// The player.
    pub seat: Seat,
}

/// Chips on their way between a bet, the bank and a player.
#[derive(Component, Clone, Debug)]
pub struct ChipFlight {
    /// The points it passes through.
    pub path: Vec<Vec3>,
    /// Seconds since it left.
    pub elapsed: f32,
    /// Seconds it takes.
    pub duration: f32,
}

impl ChipFlight {
    /// Where the chips are `elapsed` seconds in: along the path, hopping between its points.
    pub fn position(&self, elapsed: f32) -> Vec3 {
        let legs = self.path.len().saturating_sub(1);
        let (Some(first), Some(last)) = (self.path.first(), self.path.last()) else {
            return Vec3::ZERO;
        };
        if legs == 0 {
            return *first;
        }
        let s = (elapsed / self.duration).clamp(0.0, 1.0) * legs as f32;
        let leg = (s.floor() as usize).min(legs - 1);
        let k = s - leg as f32;
        if s >= legs as f32 {
            return *last;
        }
        let (a, b) = (self.path[leg], self.path[leg + 1]);
        a.lerp(b, k) + Vec3::Y * (0.35 * (std::f32::consts::PI * k).sin())
    }
}

/// Meshes and per-seat materials of the chips.
#[derive(Resource, Debug)]
struct ChipAssets {
    mesh: Handle<Mesh>,
    materials: HashMap<(u16, bool), Handle<StandardMaterial>>,
}

impl ChipAssets {
    fn material(
        &mut self,
        seat: Seat,
        light: bool,
        materials: &mut Assets<StandardMaterial>,
    ) -> Handle<StandardMaterial> {
        self.materials
            .entry((seat.0, light))
            .or_insert_with(|| {
                let base = seat_color(seat);
                let color = if light {
                    base.mix(&Color::WHITE, 0.35)
                } else {
                    base
                };
                materials.add(StandardMaterial {
                    base_color: color,
                    perceptual_roughness: 0.5,
                    ..default()
                })
            })
            .clone()
    }
}

/// Bet stacks and rail stacks.
type AnyStack = Or<(With<ChipStack>, With<RailStack>)>;

/// Bet results waiting for the dice to land.
#[derive(Resource, Default, Debug)]
struct PendingResults(Vec<BetResolved>);

/// Stacks to rebuild once the dice rest.
#[derive(Resource, Default, Debug)]
struct StacksDirty(bool);

/// Draws and moves the chips.
#[derive(Clone, Copy, Debug, Default)]
pub struct ChipsPlugin;

impl Plugin for ChipsPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<PendingResults>()
            .init_resource::<StacksDirty>()
            .add_systems(Startup, load_chips)
            .add_systems(
                Update,
                (collect_results, settle, rebuild_stacks, fly)
                    .chain()
                    .in_set(TableSystems::Animate)
                    .after(crate::dice::animate_dice),
            );
    }
}

fn load_chips(mut commands: Commands, mut meshes: ResMut<Assets<Mesh>>) {
    commands.insert_resource(ChipAssets {
        mesh: meshes.add(Cylinder::new(CHIP_RADIUS, CHIP_HEIGHT)),
        materials: HashMap::new(),
    });
}

fn collect_results(
    mut results: MessageReader<BetResolved>,
    mut pending: ResMut<PendingResults>,
    view: Res<TableView>,
    mut dirty: ResMut<StacksDirty>,
) {
    pending.0.extend(results.read().copied());
    if view.is_changed() {
        dirty.0 = true;
    }
}

/// Once the dice rest: chips of lost bets go to the bank, winners are paid from it.
fn settle(
    mut commands: Commands,
    mut pending: ResMut<PendingResults>,
    show: Res<DiceShow>,
    view: Res<TableView>,
    mut assets: ResMut<ChipAssets>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    if show.in_flight() || pending.0.is_empty() {
        return;
    }
    let seats = view.snapshot::<TableState>().map_or(4, |s| s.seats().len());
    for result in pending.0.drain(..) {
        let Some(uv) = chip_uv(result.kind, seat_slot(result.seat)) else {
            continue;
        };
        let spot = uv_to_world(uv);
        let rail = seat_rail(usize::from(result.seat.0), seats);
        let path = match result.outcome {
            Outcome::Win { .. } => vec![bank_tray(), spot, rail],
            Outcome::Lose => vec![spot, bank_tray()],
            Outcome::Push => vec![spot, rail],
            Outcome::Move(_) | Outcome::Stay => continue,
        };
        let amount = result.paid.max(result.amount);
        let material = assets.material(result.seat, true, &mut materials);
        let duration = FLIGHT_SECONDS * (path.len() - 1) as f32;
        commands
            .spawn((
                ChipFlight {
                    path: path.clone(),
                    elapsed: 0.0,
                    duration,
                },
                Transform::from_translation(path[0]),
                Visibility::default(),
                Pickable::IGNORE,
            ))
            .with_children(|flight| {
                for i in 0..chip_count(amount).min(5) {
                    flight.spawn((
                        Mesh3d(assets.mesh.clone()),
                        MeshMaterial3d(material.clone()),
                        Transform::from_xyz(0.0, CHIP_HEIGHT * (i as f32 + 0.5), 0.0),
                        Pickable::IGNORE,
                    ));
                }
            });
    }
}

/// Rebuilds the bet and rail stacks from the decided state (while the dice fly, the table still
/// shows the bets as they were when the dice left the shooter's hand).
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn rebuild_stacks(
    mut commands: Commands,
    mut dirty: ResMut<StacksDirty>,
    show: Res<DiceShow>,
    view: Res<TableView>,
    stacks: Query<Entity, AnyStack>,
    mut assets: ResMut<ChipAssets>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    if !dirty.0 || show.in_flight() {
        return;
    }
    let Some(state) = view.snapshot::<TableState>() else {
        return;
    };
    dirty.0 = false;
    for entity in &stacks {
        commands.entity(entity).despawn();
    }
    let mut totals: BTreeMap<(BetKind, Seat), u64> = BTreeMap::new();
    for open in state.bets() {
        *totals.entry((open.bet.kind, open.bet.seat)).or_default() += open.bet.amount;
    }
    for ((kind, seat), amount) in totals {
        let Some(uv) = chip_uv(kind, seat_slot(seat)) else {
            continue;
        };
        let stack = ChipStack { kind, seat, amount };
        spawn_stack(
            &mut commands,
            &mut assets,
            &mut materials,
            stack,
            uv_to_world(uv),
            chip_count(amount),
        );
    }
    let count = state.seats().len();
    for (i, seat) in state.seats().iter().enumerate() {
        let Ok(number) = u16::try_from(i) else {
            continue;
        };
        if !seat.is_seated() {
            continue;
        }
        // Chips in hand: one chip per 1,000, at least one, as two stacks side by side.
        let chips = usize::try_from(seat.balance / 1_000)
            .unwrap_or(2 * MAX_STACK)
            .clamp(1, 2 * MAX_STACK);
        let at = seat_rail(i, count);
        for (column, n) in [(0.0, chips.div_ceil(2)), (1.0, chips / 2)] {
            if n == 0 {
                continue;
            }
            let offset = Vec3::new((column - 0.5) * CHIP_RADIUS * 2.2, 0.0, 0.0);
            spawn_stack(
                &mut commands,
                &mut assets,
                &mut materials,
                RailStack { seat: Seat(number) },
                at + offset,
                n,
            );
        }
    }
}

fn spawn_stack(
    commands: &mut Commands,
    assets: &mut ChipAssets,
    materials: &mut Assets<StandardMaterial>,
    marker: impl Bundle + HasSeat,
    at: Vec3,
    count: usize,
) {
    let seat = marker.seat();
    let (dark, light) = (
        assets.material(seat, false, materials),
        assets.material(seat, true, materials),
    );
    let mesh = assets.mesh.clone();
    commands
        .spawn((
            marker,
            Transform::from_translation(at),
            Visibility::default(),
        ))
        .with_children(|stack| {
            for i in 0..count {
                let material = if i % 2 == 0 {
                    dark.clone()
                } else {
                    light.clone()
                };
                stack.spawn((
                    Mesh3d(mesh.clone()),
                    MeshMaterial3d(material),
                    Transform::from_xyz(0.0, CHIP_HEIGHT * (i as f32 + 0.5), 0.0),
                    Pickable::IGNORE,
                ));
            }
        });
}

/// Markers that know whose chips they hold.
trait HasSeat {
    fn seat(&self) -> Seat;
}

impl HasSeat for ChipStack {
    fn seat(&self) -> Seat {
        self.seat
    }
}

impl HasSeat for RailStack {
    fn seat(&self) -> Seat {
        self.seat
    }
}

fn fly(
    mut commands: Commands,
    time: Res<Time>,
    mut flights: Query<(Entity, &mut ChipFlight, &mut Transform)>,
) {
    for (entity, mut flight, mut transform) in &mut flights {
        flight.elapsed += time.delta_secs();
        transform.translation = flight.position(flight.elapsed);
        if flight.elapsed >= flight.duration {
            commands.entity(entity).despawn();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacks_grow_with_the_amount() {
        assert_eq!(chip_count(0), 1);
        assert_eq!(chip_count(10), 1);
        assert_eq!(chip_count(25), 1);
        assert_eq!(chip_count(35), 2);
        assert_eq!(chip_count(140), 4, "100 + 25 + 10 + 5");
        assert_eq!(chip_count(99), MAX_STACK.min(9));
        assert_eq!(chip_count(u64::MAX), MAX_STACK);
        assert!(chip_count(600) > chip_count(500));
    }

    #[test]
    fn flights_start_and_end_on_their_path() {
        let flight = ChipFlight {
            path: vec![Vec3::ZERO, Vec3::X, Vec3::Z],
            elapsed: 0.0,
            duration: 2.0,
        };
        assert_eq!(flight.position(0.0), Vec3::ZERO);
        assert!((flight.position(1.0) - Vec3::X).length() < 1e-5);
        assert_eq!(flight.position(2.0), Vec3::Z);
        assert_eq!(flight.position(9.0), Vec3::Z);
        assert!(flight.position(0.5).y > 0.3, "chips arc between points");
    }
}
