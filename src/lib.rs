//! ecs-migrate: run a database migration as a one-off ECS task, tracked to the end by AWS Step
//! Functions or by the embedded Amazon States Language engine. This file only re-exports.

pub mod asl;
pub mod aws;
pub mod cli;
pub mod clock;
pub mod deployment;
pub mod ecs;
pub mod error;
pub mod files;
pub mod hook_adapter;
pub mod hook_event;
pub mod lambda;
pub mod local;
pub mod lock;
pub mod logs;
pub mod machine;
pub mod request;
pub mod settings;
pub mod steps;

pub use error::{MigrationError, StateError};
