//! ecs-migrate: run a database migration as a one-off ECS task, tracked to the end by AWS Step
//! Functions or by the embedded Amazon States Language engine. This file only re-exports.

pub mod asl;
pub mod cli;
pub mod common;
pub mod hook_adapter;
pub mod hook_event;
pub mod lambda;
pub mod local;
pub mod machine;
pub mod ports;
pub mod request;
pub mod settings;
pub mod steps;

pub use common::error::{MigrationError, StateError};
