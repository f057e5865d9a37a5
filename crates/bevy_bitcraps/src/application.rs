//! The seam between consensus and the game: what a table application must provide.
//!
//! The consensus engine agrees on opaque [`Value`]s; the application says which values are
//! valid, builds the value to propose, applies decided values and hashes its state. The craps
//! table of `bitcraps_game` is one application; [`crate::BasicApp`] is a minimal one used to test
//! the consensus plumbing on its own.

use std::any::Any;
use std::sync::Arc;

use bevy::prelude::Resource;
use bitcraps_consensus::{
    CommitCertificate, Evidence, Height, ParticipantSet, Round, Value, ValueValidity,
};

use crate::envelope::StateHash;
use crate::error::ApplyError;

/// A deterministic replicated application driven by the consensus.
///
/// Every method that influences the decided state (`is_valid`, `apply`, `state_hash`) must be a
/// pure function of the previously decided state and its arguments, identical on every honest
/// node. `propose`, `acceptable_now` and `on_evidence` may depend on local circumstances.
pub trait TableApplication: Send + Sync + 'static {
    /// Deterministic validity of `value` as the block of `height`.
    fn is_valid(&self, height: Height, value: &Value) -> bool;

    /// Local acceptance of a fresh proposal (e.g. timestamp near the local clock).
    fn acceptable_now(&self, _height: Height, _value: &Value) -> bool {
        true
    }

    /// True if there is something to propose (pending operations). The proposer proposes at
    /// once when this is true, else after the configured empty-block delay.
    fn has_pending(&self) -> bool {
        false
    }

    /// The value to propose at (height, round), or `None` to be asked again next frame.
    fn propose(&mut self, height: Height, round: Round) -> Option<Value>;

    /// Applies the value decided at `height` and returns the new state hash.
    fn apply(
        &mut self,
        height: Height,
        value: &Value,
        certificate: &CommitCertificate,
    ) -> Result<StateHash, ApplyError>;

    /// The hash of the current state.
    fn state_hash(&self) -> StateHash;

    /// The validator set of `height`, if the application's decided state determines it and
    /// knows it yet (the craps table: the seated players after height − 2). `None` (the
    /// default) keeps the configured participants at every height. The node declares the sets
    /// of the height it starts and the next one to its engine; a message, vote or certificate
    /// then counts only for the set of its own height.
    fn participants_at(&self, _height: Height) -> Option<Arc<ParticipantSet>> {
        None
    }

    /// A participant misbehaved (the evidence has been verified): queue its penalty.
    fn on_evidence(&mut self, _evidence: &Evidence) {}

    /// A cheap read-only snapshot of the state for [`crate::TableView`], if the application has
    /// one (e.g. an `Arc` of its table state).
    fn snapshot(&self) -> Option<Arc<dyn Any + Send + Sync>> {
        None
    }

    /// The application as `Any`, for typed access through [`TableApp::get`].
    fn as_any(&self) -> &dyn Any;

    /// The application as mutable `Any`, for typed access through [`TableApp::get_mut`].
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

/// The table application of this App. Insert it before (or instead of) the default
/// [`crate::BasicApp`] with `app.insert_resource(TableApp::new(my_app))`.
#[derive(Resource)]
pub struct TableApp(pub Box<dyn TableApplication>);

impl TableApp {
    /// Wraps an application.
    pub fn new(app: impl TableApplication) -> TableApp {
        TableApp(Box::new(app))
    }

    /// The application as its concrete type, if it is a `T`.
    pub fn get<T: TableApplication>(&self) -> Option<&T> {
        self.0.as_any().downcast_ref()
    }

    /// The application as its concrete type, mutably, if it is a `T`.
    pub fn get_mut<T: TableApplication>(&mut self) -> Option<&mut T> {
        self.0.as_any_mut().downcast_mut()
    }
}

/// Adapts an application to the engine's validity callback.
pub(crate) struct Validity<'a>(pub &'a dyn TableApplication);

impl ValueValidity for Validity<'_> {
    fn is_valid(&self, height: Height, value: &Value) -> bool {
        self.0.is_valid(height, value)
    }

    fn acceptable_now(&self, height: Height, value: &Value) -> bool {
        self.0.acceptable_now(height, value)
    }
}
