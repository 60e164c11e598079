//! The outside systems the migration talks to, one folder each: the trait and its domain values
//! in `mod.rs`, one file per adapter named for its backend (`sdk`, `memory`, `file`). Only the
//! `sdk` adapters name an `aws_sdk_*` crate; the local runner (`crate::local`) is the ECS and
//! log ports' adapter on one machine.

mod aws_error;
pub mod deployments;
pub mod ecs;
pub mod executions;
pub mod lock;
pub mod logs;
mod sdk;

pub use aws_error::{error_chain, AwsError};
