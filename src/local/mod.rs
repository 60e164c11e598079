//! The local task runner: ECS and CloudWatch Logs on one machine, so `ecs-migrate local` runs
//! the real state machine and the real steps against a real database.
//!
//! - [`taskdef`]: loads an ECS task definition file (RegisterTaskDefinition JSON).
//! - [`LocalEcs`]: implements [`crate::ports::ecs::Ecs`] and [`crate::ports::logs::Logs`]; each task is a
//!   child process ([`process`]) or a Docker container ([`docker`]), the two back ends of one
//!   trait (`backend`), driven through ECS's statuses by [`task`].
//! - [`LocalEvent`]: what observers ([`LocalEcs::observe`], [`LocalEcs::subscribe`]) see while
//!   tasks run.
//! - [`user`]: a container's `user`, resolved for the process runner.
//! - [`orphan`]: a task dies with its runner, even one killed outright.

mod backend;
mod docker;
mod ecs;
mod events;
mod orphan;
mod process;
mod task;
pub mod taskdef;
pub mod user;

pub use docker::{DockerError, DockerOptions};
pub use ecs::{LocalEcs, Runner};
pub use events::{LocalEvent, OutputStream, TaskObserver};
pub use taskdef::{LocalContainer, LocalTaskDefinition, Secret, TaskDefError};
