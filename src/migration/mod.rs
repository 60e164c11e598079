//! The migration itself, in domain terms: the inputs it starts from (the event, a deployment's
//! hook event, the functions' settings), the state data the steps hand on, and the steps, plain
//! async functions over the ports. Nothing here knows the SDK, the engine or a terminal:
//! `crate::statemachine` binds the steps to the definition's Task states.

pub mod event;
pub mod execution;
pub mod hook_event;
pub(crate) mod lease;
pub(crate) mod log_tail;
pub(crate) mod redact;
pub mod settings;
mod state;
pub mod steps;
pub mod tasks;

pub use lease::{Holder, LockHeld, LockReleased, LockState, LockWait};
pub(crate) use state::CAPACITY_ATTEMPTS;
pub use state::{
    CapacityWait, DeploymentAnswer, DeploymentRef, DuplicateRun, ExecutionContext,
    MigrationRequest, MigrationResult, Phase, RunOutcome, StartedTask, StopResult, TaskStatus,
};
