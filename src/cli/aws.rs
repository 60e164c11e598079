//! `ecs-migrate start|wait|run` on AWS Step Functions: not built yet (issue 5).

use super::{Outcome, UsageError};

#[derive(Debug, clap::Args)]
pub struct StartArgs {}
#[derive(Debug, clap::Args)]
pub struct WaitArgs {}
#[derive(Debug, clap::Args)]
pub struct RunArgs {}

pub async fn start(_args: StartArgs) -> Result<Outcome, UsageError> {
    Err(UsageError::new("ecs-migrate start is not built yet"))
}
pub async fn wait(_args: WaitArgs) -> Result<Outcome, UsageError> {
    Err(UsageError::new("ecs-migrate wait is not built yet"))
}
pub async fn run(_args: RunArgs) -> Result<Outcome, UsageError> {
    Err(UsageError::new("ecs-migrate run is not built yet"))
}
