//! `ecs-migrate local`: not built yet (issue 4).

use super::{Outcome, UsageError};

#[derive(Debug, clap::Args)]
pub struct LocalArgs {}

pub async fn run(_args: LocalArgs) -> Result<Outcome, UsageError> {
    Err(UsageError::new("ecs-migrate local is not built yet"))
}
