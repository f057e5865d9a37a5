//! `app.add_game_operation::<T>()`: registers a custom game operation (as bevy_replicon's
//! `replicate::<C>()` registers a component) with the table's registry, its typed message and
//! the system that writes it.

use std::marker::PhantomData;
use std::sync::Arc;

use bevy::prelude::*;
use bitcraps_consensus::codec;
use bitcraps_game::{CustomOperation, Operation, RegistryError, Seat};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::apply::apply_decisions;
use crate::game_messages::OperationDecided;
use crate::game_plugin::{GameRegistry, RegistryInUse};
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

/// Why a custom operation could not be registered.
#[derive(Debug, thiserror::Error)]
pub enum GameOperationError {
    /// Registered after the App finished: the table's operations are fixed at genesis (the
    /// registry's hash is in the table's config and every player must have the same).
    #[error(
        "custom operation {name} was registered after the App finished: a table's operations \
         are fixed at genesis, so register every one before `app.finish()` or `app.run()`"
    )]
    AfterFinish {
        /// The operation's name.
        name: String,
    },
    /// The registry refused it (a duplicate name, or a name that is empty or too long).
    #[error("custom operation {name} cannot be registered: {source}")]
    Refused {
        /// The operation's name.
        name: String,
        /// Why.
        source: RegistryError,
    },
}

/// Registers custom game operations on an App.
pub trait GameAppExt {
    /// Registers `T` with the table's registry (before the App finishes building: the registry
    /// hash is part of the table config, so every player must register the same operations),
    /// adds [`CustomOperationDecided<T>`] and the system that writes it.
    ///
    /// # Panics
    /// On a registration error ([`GameAppExt::try_add_game_operation`] returns it instead):
    /// a duplicate or malformed name, or an App that already finished. Like adding a plugin
    /// twice, it is a mistake of the game's code, found when the App is built.
    fn add_game_operation<T: GameOperation>(&mut self) -> &mut Self;

    /// [`GameAppExt::add_game_operation`], returning the registration error instead of
    /// panicking (nothing is added then).
    fn try_add_game_operation<T: GameOperation>(&mut self)
        -> Result<&mut Self, GameOperationError>;
}

impl GameAppExt for App {
    fn add_game_operation<T: GameOperation>(&mut self) -> &mut Self {
        if let Err(error) = self.try_add_game_operation::<T>() {
            panic!("{error}");
        }
        self
    }

    fn try_add_game_operation<T: GameOperation>(
        &mut self,
    ) -> Result<&mut Self, GameOperationError> {
        let op = T::default();
        let name = op.name().to_string();
        if self.world().contains_resource::<RegistryInUse>() {
            return Err(GameOperationError::AfterFinish { name });
        }
        let mut registry = self
            .world_mut()
            .remove_resource::<GameRegistry>()
            .unwrap_or_default();
        let registered = registry.0.register(Arc::new(op));
        self.insert_resource(registry);
        registered.map_err(|source| GameOperationError::Refused { name, source })?;
        Ok(self.add_message::<CustomOperationDecided<T>>().add_systems(
            Update,
            emit_custom::<T>
                .in_set(BitCrapsSystems::Apply)
                .after(apply_decisions),
        ))
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
