//! The migration steps: plain async functions over the ECS and log seams. They do not know
//! they run in a state machine: `crate::statemachine` binds them to the definition's Task states
//! (in Lambda, in the local engine and in the tests alike).
//!

use crate::common::clock::Clock;
use crate::migration::settings::Settings;
use crate::ports::deployments::Deployments;
use crate::ports::ecs::Ecs;
use crate::ports::executions::Executions;
use crate::ports::lock::LockTable;
use crate::ports::logs::Logs;

pub mod check_exit_code;
pub(crate) mod lock;
pub mod poll_status;
pub mod reconcile;
pub mod report_deployment;
pub mod run_task;
pub mod stop_task;
pub mod validate_event;

pub use check_exit_code::{check_exit_code, CheckInput};
pub use lock::{acquire_lock, release_lock, AcquireInput, ReleaseInput};
pub use poll_status::{poll_status, PollInput};
pub use report_deployment::{report_deployment, ReportInput};
pub use run_task::{run_task, RunTaskInput};
pub use stop_task::stop_task;
pub use validate_event::{validate_event, ValidateEventInput};

/// What every step runs against: the settings and the seams.
#[derive(Clone, Copy)]
pub struct StepEnv<'a> {
    pub settings: &'a Settings,
    pub ecs: &'a dyn Ecs,
    pub logs: &'a dyn Logs,
    pub clock: &'a dyn Clock,
    /// The migration lock's table (one migration per scope at a time).
    pub lock: &'a dyn LockTable,
    /// The service deployment a hook event's migration answers.
    pub deployments: &'a dyn Deployments,
    /// Step Functions: which execution stands behind a call, and whether it still runs.
    pub executions: &'a dyn Executions,
}
