//! ecs-migrate: run a database migration as a one-off ECS task, tracked to the end by AWS Step
//! Functions or by the embedded Amazon States Language engine. This file only re-exports.

pub mod asl;
pub mod cli;
pub mod common;
pub mod lambda;
pub mod local;
pub mod migration;
pub mod ports;
pub mod statemachine;

pub use common::error::{ErrorKind, MigrationError, StateError};
