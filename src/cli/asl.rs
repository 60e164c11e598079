//! `ecs-migrate asl run|validate|graph`: not built yet (issue 3).

use super::{Outcome, UsageError};

#[derive(Debug, clap::Subcommand)]
pub enum AslCommand {
    /// Run a definition.
    Run,
}

pub async fn run(_cmd: AslCommand) -> Result<Outcome, UsageError> {
    Err(UsageError::new("ecs-migrate asl is not built yet"))
}
