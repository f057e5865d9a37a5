//! `app.add_game_operation::<T>()`: registers a custom game operation (as bevy_replicon's
//! `replicate::<C>()` registers a component) with the table's registry, its typed message and
//! the system that writes it.

use std::marker::PhantomData;
use std::sync::Arc;

use bevy::prelude::*;
use bitcraps_consensus::codec;
use bitcraps_game::{CustomOperation, Operation, Seat};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::apply::apply_decisions;
use crate::game_messages::OperationDecided;
use crate::game_plugin::GameRegistry;
use crate::sets::BitCrapsSystems;

/// A custom operation with a typed payload, usable from Bevy systems.
pub trait GameOperation: CustomOperation + Default + 'static {
    /// The operation's payload (encoded with the project's codec inside
    /// `Operation::Custom { payload }`).
    type Payload: Serialize + DeserializeOwned + Clone + Send + Sync + std::fmt::Debug + 'static;

    /// The custom operation carrying `payload`.
    fn operation(payload: &Self::Payload) -> Result<Operation, bitcraps_consensus::EncodeError> {
        Ok(Operation::Custom {
            name: Self::default().name().to_string(),
            payload: codec::encode(payload)?,
        })
    }
}

/// A decided custom operation of type `T`.
#[derive(Message, Clone, Debug)]
pub struct CustomOperationDecided<T: GameOperation> {
    /// The height of the block.
    pub height: u64,
    /// The author's seat, if seated.
    pub seat: Option<Seat>,
    /// The decoded payload.
    pub payload: T::Payload,
    marker: PhantomData<fn() -> T>,
}

/// Registers custom game operations on an App.
pub trait GameAppExt {
    /// Registers `T` with the table's registry (before the App finishes building: the registry
    /// hash is part of the table config, so every player must register the same operations),
    /// adds [`CustomOperationDecided<T>`] and the system that writes it.
    fn add_game_operation<T: GameOperation>(&mut self) -> &mut Self;
}

impl GameAppExt for App {
    fn add_game_operation<T: GameOperation>(&mut self) -> &mut Self {
        let op = T::default();
        let name = op.name().to_string();
        let mut registry = self
            .world_mut()
            .remove_resource::<GameRegistry>()
            .unwrap_or_default();
        if let Err(e) = registry.0.register(Arc::new(op)) {
            log::error!("custom operation {name} not registered: {e}");
        }
        self.insert_resource(registry)
            .add_message::<CustomOperationDecided<T>>()
            .add_systems(
                Update,
                emit_custom::<T>
                    .in_set(BitCrapsSystems::Apply)
                    .after(apply_decisions),
            )
    }
}

/// Writes the typed message of each decided operation of `T`.
fn emit_custom<T: GameOperation>(
    mut decided: MessageReader<OperationDecided>,
    mut typed: MessageWriter<CustomOperationDecided<T>>,
) {
    let name = T::default().name().to_string();
    for d in decided.read().filter(|d| d.refused.is_none()) {
        if let Operation::Custom { name: n, payload } = &d.op.op {
            if *n == name {
                match codec::decode::<T::Payload>(payload, codec::MAX_MESSAGE_BYTES) {
                    Ok(payload) => {
                        typed.write(CustomOperationDecided {
                            height: d.height,
                            seat: d.seat,
                            payload,
                            marker: PhantomData,
                        });
                    }
                    Err(e) => log::warn!("decided {name} operation with a bad payload: {e}"),
                }
            }
        }
    }
}
