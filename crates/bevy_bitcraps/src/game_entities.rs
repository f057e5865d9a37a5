//! Game objects as entities: a [`Seat`] per player, a [`DiceCommitment`] and [`DiceReveal`] per
//! seat for the current roll, a [`Dispute`] per open claim and its [`DisputeVote`]s. They mirror
//! the latest decided table state and are despawned when the object leaves it.

use std::collections::BTreeMap;

use bevy::prelude::*;
use bitcraps_consensus::PeerId;
use bitcraps_game as game;
use bitcraps_game::{DisputeId, Stage};

use crate::application::TableApp;
use crate::game_app::GameApp;

/// A player's seat at the table.
#[derive(Component, Clone, Debug, PartialEq, Eq)]
pub struct Seat {
    /// The seat number.
    pub seat: game::Seat,
    /// The player.
    pub peer: PeerId,
    /// Chips in hand.
    pub balance: u64,
    /// Chips posted as bond.
    pub bond: u64,
    /// Still seated (false once left or removed; the entity then goes at the next sync).
    pub seated: bool,
    /// The table's health signals for the player (missed rolls, late reveals, evidence...).
    pub health: game::Health,
    /// The local player's seat.
    pub local: bool,
}

/// A seat's dice commitment for the current roll.
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiceCommitment {
    /// The roll number.
    pub roll: u64,
    /// The seat.
    pub seat: game::Seat,
    /// The commitment.
    pub commitment: game::Commitment,
}

/// A seat's decided reveal for the current roll.
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiceReveal {
    /// The roll number.
    pub roll: u64,
    /// The seat.
    pub seat: game::Seat,
    /// The revealed nonce.
    pub nonce: game::Nonce,
}

/// Relates a [`DiceReveal`] to its [`DiceCommitment`] entity.
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq)]
#[relationship(relationship_target = Revealed)]
pub struct RevealOf(pub Entity);

/// The reveal of a [`DiceCommitment`] (maintained by Bevy from [`RevealOf`]).
#[derive(Component, Debug, Default)]
#[relationship_target(relationship = RevealOf)]
pub struct Revealed(Vec<Entity>);

impl Revealed {
    /// The reveal entities (at most one).
    pub fn reveals(&self) -> &[Entity] {
        &self.0
    }
}

/// An open dispute claim.
#[derive(Component, Clone, Debug, PartialEq, Eq)]
pub struct Dispute {
    /// Its id.
    pub id: DisputeId,
    /// Who opened it.
    pub opened_by: game::Seat,
    /// Who is accused.
    pub accused: game::Seat,
    /// The claim.
    pub statement: String,
    /// Block time at which it expires.
    pub deadline_ms: u64,
}

/// A seated player's vote on a [`Dispute`].
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq)]
pub struct DisputeVote {
    /// The claim.
    pub dispute: DisputeId,
    /// The voter.
    pub seat: game::Seat,
    /// Uphold (true) or reject.
    pub uphold: bool,
}

/// Relates a [`DisputeVote`] to its [`Dispute`] entity.
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq)]
#[relationship(relationship_target = DisputeVotes)]
pub struct VoteOnDispute(pub Entity);

/// The votes on a [`Dispute`] (maintained by Bevy from [`VoteOnDispute`]).
#[derive(Component, Debug, Default)]
#[relationship_target(relationship = VoteOnDispute, linked_spawn)]
pub struct DisputeVotes(Vec<Entity>);

impl DisputeVotes {
    /// The vote entities.
    pub fn votes(&self) -> &[Entity] {
        &self.0
    }
}

/// Entities of the game objects, by their game ids.
#[derive(Resource, Default, Debug)]
pub struct GameEntities {
    synced_height: Option<u64>,
    seats: BTreeMap<game::Seat, Entity>,
    commitments: BTreeMap<(u64, game::Seat), Entity>,
    reveals: BTreeMap<(u64, game::Seat), Entity>,
    disputes: BTreeMap<DisputeId, Entity>,
    dispute_votes: BTreeMap<(DisputeId, game::Seat), Entity>,
}

impl GameEntities {
    /// The entity of a seat.
    pub fn seat(&self, seat: game::Seat) -> Option<Entity> {
        self.seats.get(&seat).copied()
    }

    /// Game entities alive.
    pub fn len(&self) -> usize {
        self.seats.len()
            + self.commitments.len()
            + self.reveals.len()
            + self.disputes.len()
            + self.dispute_votes.len()
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Mirrors the latest decided state into entities (once per decided height).
pub(crate) fn sync_game_entities(
    app: Res<TableApp>,
    mut index: ResMut<GameEntities>,
    mut commands: Commands,
    mut seats: Query<&mut Seat>,
) {
    let Some(game) = app.get::<GameApp>() else {
        return;
    };
    let state = game.state();
    if index.synced_height == Some(state.height()) {
        return;
    }
    index.synced_height = Some(state.height());
    let me = game.peer();

    // Seats: one entity per seated player.
    let mut alive = BTreeMap::new();
    for (i, s) in state.seats().iter().enumerate() {
        let Ok(number) = u16::try_from(i) else {
            continue;
        };
        let seat = game::Seat(number);
        if !s.is_seated() {
            continue;
        }
        let component = Seat {
            seat,
            peer: s.peer,
            balance: s.balance,
            bond: s.bond,
            seated: true,
            health: state.health(&s.peer),
            local: s.peer == me,
        };
        let entity = match index.seats.get(&seat) {
            Some(e) => {
                if let Ok(mut existing) = seats.get_mut(*e) {
                    existing.set_if_neq(component);
                }
                *e
            }
            None => commands.spawn(component).id(),
        };
        alive.insert(seat, entity);
    }
    for (seat, entity) in std::mem::take(&mut index.seats) {
        if !alive.contains_key(&seat) {
            commands.entity(entity).try_despawn();
        }
    }
    index.seats = alive;

    // Dice of the current roll.
    let roll = state.roll_number();
    let (commitments, reveals) = match state.stage() {
        Stage::Betting { .. } => (BTreeMap::new(), BTreeMap::new()),
        Stage::Committing { commitments, .. } => (commitments.clone(), BTreeMap::new()),
        Stage::Revealing {
            commitments,
            reveals,
            ..
        } => (commitments.clone(), reveals.clone()),
    };
    index.commitments.retain(|key, entity| {
        let keep = key.0 == roll && commitments.contains_key(&key.1);
        if !keep {
            commands.entity(*entity).try_despawn();
        }
        keep
    });
    index.reveals.retain(|key, entity| {
        let keep = key.0 == roll && reveals.contains_key(&key.1);
        if !keep {
            commands.entity(*entity).try_despawn();
        }
        keep
    });
    for (seat, commitment) in &commitments {
        index.commitments.entry((roll, *seat)).or_insert_with(|| {
            commands
                .spawn(DiceCommitment {
                    roll,
                    seat: *seat,
                    commitment: *commitment,
                })
                .id()
        });
    }
    for (seat, nonce) in &reveals {
        if !index.reveals.contains_key(&(roll, *seat)) {
            let mut spawned = commands.spawn(DiceReveal {
                roll,
                seat: *seat,
                nonce: *nonce,
            });
            if let Some(c) = index.commitments.get(&(roll, *seat)) {
                spawned.insert(RevealOf(*c));
            }
            let e = spawned.id();
            index.reveals.insert((roll, *seat), e);
        }
    }

    // Disputes and their votes.
    let open = state.disputes();
    index.disputes.retain(|id, entity| {
        let keep = open.contains_key(id);
        if !keep {
            commands.entity(*entity).try_despawn();
        }
        keep
    });
    index
        .dispute_votes
        .retain(|(id, _), _| open.contains_key(id));
    for (id, claim) in open {
        let entity = match index.disputes.get(id) {
            Some(e) => *e,
            None => {
                let e = commands
                    .spawn(Dispute {
                        id: *id,
                        opened_by: claim.opened_by,
                        accused: claim.accused,
                        statement: claim.statement.clone(),
                        deadline_ms: claim.deadline_ms,
                    })
                    .id();
                index.disputes.insert(*id, e);
                e
            }
        };
        for (seat, uphold) in &claim.votes {
            index.dispute_votes.entry((*id, *seat)).or_insert_with(|| {
                commands
                    .spawn((
                        DisputeVote {
                            dispute: *id,
                            seat: *seat,
                            uphold: *uphold,
                        },
                        VoteOnDispute(entity),
                    ))
                    .id()
            });
        }
    }
}
