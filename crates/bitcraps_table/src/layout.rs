//! The felt's layout: where every bet is printed, in felt coordinates, and how a point on the
//! felt maps to a bet and back. Pure geometry, shared by the felt drawing, the chips and the
//! picking, and tested without a GPU.
//!
//! Felt coordinates `(u, v)` run from `(0, 0)` at the back-left corner (the dealer's side, where
//! the dice hit the back wall) to `(1, 1)` at the front-right corner (the players' rail). The
//! proposition box (hardways and one-roll bets, the centre of a real table) takes the left
//! quarter; one end of a classic layout (don't come, the numbers, come, field, big 6/8, don't
//! pass bar, pass line) the rest.

use bevy::math::{Rect, Vec2, Vec3};
use bitcraps_game::{BetKind, BigNumber, Die, HardNumber, Hop, Phase, Point};

/// Felt width (x), world units.
pub const FELT_WIDTH: f32 = 6.0;
/// Felt depth (z), world units.
pub const FELT_DEPTH: f32 = 3.0;
/// Rail width around the felt.
pub const RAIL_WIDTH: f32 = 0.32;
/// Rail height above the felt.
pub const RAIL_HEIGHT: f32 = 0.22;
/// Height of the back wall above the felt (the dice bounce off it).
pub const BACK_WALL_HEIGHT: f32 = 0.45;

/// A printed area of the felt and what clicking it bets on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spot {
    /// Where it is printed (felt coordinates).
    pub rect: Rect,
    /// What is printed on it.
    pub label: &'static str,
    /// A second, smaller line (payout, numbers).
    pub detail: &'static str,
    /// What it holds.
    pub target: SpotTarget,
}

/// What a felt spot holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpotTarget {
    /// Bets of one kind.
    Bet(BetKind),
    /// A number box: place bets and come bets that moved to it.
    Number(Point),
    /// The buy strip of a number box.
    Buy(Point),
}

const fn rect(u0: f32, v0: f32, u1: f32, v1: f32) -> Rect {
    Rect {
        min: Vec2::new(u0, v0),
        max: Vec2::new(u1, v1),
    }
}

/// Left edge of the main layout (right of the proposition box).
const MAIN_LEFT: f32 = 0.30;
/// Left edge of the numbers, come and field (right of don't come and big 6/8).
const NUMBERS_LEFT: f32 = 0.41;
const RIGHT: f32 = 0.98;

/// The number boxes' labels, as printed on real tables.
const NUMBER_LABELS: [&str; 6] = ["4", "5", "SIX", "8", "NINE", "10"];

/// Every spot of the felt.
pub fn spots() -> Vec<Spot> {
    let mut spots = Vec::with_capacity(40);
    // Proposition box (left): any seven, hardways, one-roll bets, any craps, horn, C & E.
    let (pl, pr) = (0.02, 0.27);
    let pm = (pl + pr) / 2.0;
    spots.push(Spot {
        rect: rect(pl, 0.04, pr, 0.12),
        label: "SEVEN",
        detail: "4 TO 1",
        target: SpotTarget::Bet(BetKind::AnySeven),
    });
    let hard = [
        (HardNumber::Six, "HARD 6", "3-3  9 TO 1"),
        (HardNumber::Ten, "HARD 10", "5-5  7 TO 1"),
        (HardNumber::Eight, "HARD 8", "4-4  9 TO 1"),
        (HardNumber::Four, "HARD 4", "2-2  7 TO 1"),
    ];
    for (i, (number, label, detail)) in hard.into_iter().enumerate() {
        let (col, row) = ((i % 2) as f32, (i / 2) as f32);
        let (u0, v0) = (pl + col * (pm - pl), 0.13 + row * 0.15);
        spots.push(Spot {
            rect: rect(u0, v0, u0 + (pm - pl), v0 + 0.15),
            label,
            detail,
            target: SpotTarget::Bet(BetKind::Hardway(number)),
        });
    }
    let one_roll = [
        (BetKind::Aces, "ACES", "1-1  30 TO 1"),
        (BetKind::AceDeuce, "ACE-DEUCE", "1-2  15 TO 1"),
        (BetKind::Yo, "YO 11", "5-6  15 TO 1"),
        (BetKind::Boxcars, "BOXCARS", "6-6  30 TO 1"),
    ];
    for (i, (kind, label, detail)) in one_roll.into_iter().enumerate() {
        let (col, row) = ((i % 2) as f32, (i / 2) as f32);
        let (u0, v0) = (pl + col * (pm - pl), 0.44 + row * 0.12);
        spots.push(Spot {
            rect: rect(u0, v0, u0 + (pm - pl), v0 + 0.12),
            label,
            detail,
            target: SpotTarget::Bet(kind),
        });
    }
    spots.push(Spot {
        rect: rect(pl, 0.69, pr, 0.79),
        label: "ANY CRAPS",
        detail: "2 3 12  7 TO 1",
        target: SpotTarget::Bet(BetKind::AnyCraps),
    });
    spots.push(Spot {
        rect: rect(pl, 0.80, pm, 0.94),
        label: "HORN",
        detail: "2 3 11 12",
        target: SpotTarget::Bet(BetKind::Horn),
    });
    spots.push(Spot {
        rect: rect(pm, 0.80, pr, 0.94),
        label: "C & E",
        detail: "CRAPS  11",
        target: SpotTarget::Bet(BetKind::CrapsEleven),
    });

    // The main layout.
    spots.push(Spot {
        rect: rect(MAIN_LEFT, 0.04, NUMBERS_LEFT - 0.01, 0.29),
        label: "DON'T COME",
        detail: "BAR 12",
        target: SpotTarget::Bet(BetKind::DontCome),
    });
    let width = (RIGHT - NUMBERS_LEFT) / 6.0;
    for (i, point) in Point::ALL.into_iter().enumerate() {
        let u0 = NUMBERS_LEFT + i as f32 * width;
        spots.push(Spot {
            rect: rect(u0, 0.04, u0 + width, 0.23),
            label: NUMBER_LABELS[i],
            detail: "PLACE",
            target: SpotTarget::Number(point),
        });
        spots.push(Spot {
            rect: rect(u0, 0.23, u0 + width, 0.29),
            label: "BUY",
            detail: "",
            target: SpotTarget::Buy(point),
        });
    }
    spots.push(Spot {
        rect: rect(NUMBERS_LEFT, 0.31, RIGHT, 0.49),
        label: "COME",
        detail: "",
        target: SpotTarget::Bet(BetKind::Come),
    });
    spots.push(Spot {
        rect: rect(MAIN_LEFT, 0.31, NUMBERS_LEFT - 0.01, 0.49),
        label: "BIG 6",
        detail: "EVEN",
        target: SpotTarget::Bet(BetKind::Big(BigNumber::Six)),
    });
    spots.push(Spot {
        rect: rect(MAIN_LEFT, 0.49, NUMBERS_LEFT - 0.01, 0.67),
        label: "BIG 8",
        detail: "EVEN",
        target: SpotTarget::Bet(BetKind::Big(BigNumber::Eight)),
    });
    spots.push(Spot {
        rect: rect(NUMBERS_LEFT, 0.51, RIGHT, 0.67),
        label: "FIELD",
        detail: "2 DOUBLE  3 . 4 . 9 . 10 . 11  12 TRIPLE",
        target: SpotTarget::Bet(BetKind::Field),
    });
    spots.push(Spot {
        rect: rect(MAIN_LEFT, 0.69, RIGHT, 0.77),
        label: "DON'T PASS BAR",
        detail: "12",
        target: SpotTarget::Bet(BetKind::DontPass),
    });
    spots.push(Spot {
        rect: rect(MAIN_LEFT, 0.79, RIGHT, 0.94),
        label: "PASS LINE",
        detail: "",
        target: SpotTarget::Bet(BetKind::PassLine),
    });
    spots
}

/// The spot at felt point `uv`, if any.
pub fn spot_at(uv: Vec2) -> Option<Spot> {
    spots().into_iter().find(|s| s.rect.contains(uv))
}

/// What clicking `target` bets on in `phase`: the line spots take odds once a point is set.
pub fn bet_for_click(target: SpotTarget, phase: Phase) -> BetKind {
    match (target, phase.point()) {
        (SpotTarget::Bet(BetKind::PassLine), Some(p)) => BetKind::PassOdds(p),
        (SpotTarget::Bet(BetKind::DontPass), Some(p)) => BetKind::DontPassOdds(p),
        (SpotTarget::Bet(kind), _) => kind,
        (SpotTarget::Number(p), _) => BetKind::Place(p),
        (SpotTarget::Buy(p), _) => BetKind::Buy(p),
    }
}

/// The spot whose area shows bets of `kind` (odds sit with the bet they back; hop bets and lay
/// bets, which have no printed box, sit with the number or proposition they resemble).
pub fn spot_for(kind: BetKind) -> Option<Spot> {
    let target = match kind {
        BetKind::PassLine | BetKind::PassOdds(_) => SpotTarget::Bet(BetKind::PassLine),
        BetKind::DontPass | BetKind::DontPassOdds(_) => SpotTarget::Bet(BetKind::DontPass),
        BetKind::ComePoint(p) | BetKind::ComeOdds(p) | BetKind::Place(p) => SpotTarget::Number(p),
        BetKind::DontComePoint(_) | BetKind::DontComeOdds(_) => SpotTarget::Bet(BetKind::DontCome),
        BetKind::Buy(p) | BetKind::Lay(p) => SpotTarget::Buy(p),
        BetKind::Hop(hop) => SpotTarget::Bet(hop_home(hop)),
        other => SpotTarget::Bet(other),
    };
    spots().into_iter().find(|s| s.target == target)
}

/// The proposition box a hop bet's chips sit in.
fn hop_home(hop: Hop) -> BetKind {
    let (a, b) = hop.faces();
    match (a.face(), b.face()) {
        (1, 1) => BetKind::Aces,
        (1, 2) => BetKind::AceDeuce,
        (5, 6) => BetKind::Yo,
        (6, 6) => BetKind::Boxcars,
        (x, y) if x == y => match x {
            2 => BetKind::Hardway(HardNumber::Four),
            3 => BetKind::Hardway(HardNumber::Six),
            4 => BetKind::Hardway(HardNumber::Eight),
            _ => BetKind::Hardway(HardNumber::Ten),
        },
        _ => BetKind::AnyCraps,
    }
}

/// A hop bet on `a`-`b` (for buttons and tests).
pub fn hop(a: u8, b: u8) -> Option<BetKind> {
    Some(BetKind::Hop(Hop::new(Die::new(a).ok()?, Die::new(b).ok()?)))
}

/// Where the chips of bet `kind` owned by the `slot`-th player (0..16) stack, in felt
/// coordinates: players share a spot on a 4 × 4 grid, odds and moved bets shifted within it so
/// that they do not hide the flat bet.
pub fn chip_uv(kind: BetKind, slot: usize) -> Option<Vec2> {
    let spot = spot_for(kind)?;
    let size = spot.rect.size();
    let cell = Vec2::new((slot % 4) as f32 + 0.5, ((slot / 4) % 4) as f32 + 0.5) / 4.0;
    let shift = match kind {
        BetKind::PassOdds(_) | BetKind::DontPassOdds(_) | BetKind::ComeOdds(_) => 0.06,
        BetKind::DontComeOdds(_) | BetKind::Lay(_) => 0.06,
        BetKind::ComePoint(_) | BetKind::DontComePoint(_) => -0.06,
        _ => 0.0,
    };
    let inner = Rect::from_center_size(spot.rect.center(), size * 0.8);
    let uv = inner.min + inner.size() * cell + Vec2::new(shift * size.x, 0.0);
    Some(uv.clamp(spot.rect.min, spot.rect.max))
}

/// The point puck's place: on the point's number box when ON, in the don't come box when OFF.
pub fn puck_uv(phase: Phase) -> Vec2 {
    let target = match phase.point() {
        Some(p) => SpotTarget::Number(p),
        None => SpotTarget::Bet(BetKind::DontCome),
    };
    spots()
        .into_iter()
        .find(|s| s.target == target)
        .map_or(Vec2::splat(0.5), |s| {
            Vec2::new(s.rect.center().x, s.rect.min.y + s.rect.height() * 0.3)
        })
}

/// Felt coordinates to a point on the felt's surface (y = 0).
pub fn uv_to_world(uv: Vec2) -> Vec3 {
    Vec3::new((uv.x - 0.5) * FELT_WIDTH, 0.0, (uv.y - 0.5) * FELT_DEPTH)
}

/// A point on the felt to felt coordinates (outside `0..1` when off the felt).
pub fn world_to_uv(p: Vec3) -> Vec2 {
    Vec2::new(p.x / FELT_WIDTH + 0.5, p.z / FELT_DEPTH + 0.5)
}

/// Where the `index`-th of `count` players sits on the front rail (world).
pub fn seat_rail(index: usize, count: usize) -> Vec3 {
    let count = count.max(1);
    let span = FELT_WIDTH * 0.8;
    let x = if count == 1 {
        0.0
    } else {
        -span / 2.0 + span * index as f32 / (count - 1) as f32
    };
    Vec3::new(x, RAIL_HEIGHT, FELT_DEPTH / 2.0 + RAIL_WIDTH / 2.0)
}

/// Where the bank's chip tray sits (world): on top of the back wall, behind the numbers.
pub fn bank_tray() -> Vec3 {
    Vec3::new(0.9, BACK_WALL_HEIGHT, -FELT_DEPTH / 2.0 - RAIL_WIDTH / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcraps_game::BetKind;

    #[test]
    fn spots_stay_on_the_felt_and_do_not_overlap() {
        let all = spots();
        for s in &all {
            assert!(s.rect.min.cmpge(Vec2::ZERO).all() && s.rect.max.cmple(Vec2::ONE).all());
            assert!(s.rect.width() > 0.05 && s.rect.height() > 0.04, "{s:?}");
        }
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                let overlap = a.rect.intersect(b.rect);
                assert!(
                    overlap.is_empty() || overlap.width() * overlap.height() < 1e-6,
                    "{} overlaps {}",
                    a.label,
                    b.label
                );
            }
        }
    }

    #[test]
    fn every_bet_kind_has_a_home_and_clicking_it_bets_on_it() {
        for kind in BetKind::all() {
            let spot = spot_for(kind).unwrap_or_else(|| panic!("{kind} has no spot"));
            let uv = chip_uv(kind, 15).expect("chips");
            assert!(spot.rect.contains(uv), "{kind}: chips outside their spot");
        }
        // The printed spots bet on what they say.
        let come_out = Phase::ComeOut;
        for kind in [
            BetKind::PassLine,
            BetKind::DontPass,
            BetKind::Come,
            BetKind::DontCome,
            BetKind::Field,
            BetKind::Place(Point::Six),
            BetKind::Buy(Point::Ten),
            BetKind::Hardway(HardNumber::Eight),
            BetKind::Yo,
            BetKind::CrapsEleven,
        ] {
            let spot = spot_for(kind).expect("spot");
            let clicked = spot_at(spot.rect.center()).expect("a spot at its own centre");
            assert_eq!(bet_for_click(clicked.target, come_out), kind);
        }
        // With a point on, the line spots take odds.
        let pass = spot_for(BetKind::PassLine).expect("pass line");
        assert_eq!(
            bet_for_click(pass.target, Phase::Point(Point::Nine)),
            BetKind::PassOdds(Point::Nine)
        );
        assert_eq!(
            spot_at(Vec2::new(0.285, 0.5)),
            None,
            "the gap between boxes"
        );
    }

    #[test]
    fn felt_and_world_coordinates_round_trip() {
        for uv in [Vec2::ZERO, Vec2::ONE, Vec2::new(0.3, 0.7)] {
            assert!((world_to_uv(uv_to_world(uv)) - uv).length() < 1e-6);
        }
        assert!(
            uv_to_world(Vec2::new(0.5, 1.0)).z > 0.0,
            "players sit at +z"
        );
        assert_eq!(seat_rail(0, 1).x, 0.0);
        assert!(seat_rail(0, 4).x < seat_rail(3, 4).x);
    }

    #[test]
    fn the_puck_sits_on_the_point() {
        let six = spots()
            .into_iter()
            .find(|s| s.target == SpotTarget::Number(Point::Six))
            .expect("six");
        assert!(six.rect.contains(puck_uv(Phase::Point(Point::Six))));
        let dc = spot_for(BetKind::DontCome).expect("don't come");
        assert!(dc.rect.contains(puck_uv(Phase::ComeOut)));
    }

    #[test]
    fn hop_bets_sit_in_the_proposition_box() {
        let hop = hop(2, 2).expect("hop");
        assert_eq!(
            spot_for(hop).map(|s| s.target),
            Some(SpotTarget::Bet(BetKind::Hardway(HardNumber::Four)))
        );
        assert_eq!(super::hop(0, 3), None);
    }
}
