//! Phase 3: a pause hook still AWAITING_ACTION for an execution that ended without answering
//! it is answered ROLLBACK (an aborted or timed-out execution runs no Catch, so nothing else
//! answers it before the hook's own timeout). The executions looked at are the ended ones this
//! run met and the newest ended ones ListExecutions shows, stopped within [`HOOK_WINDOW`].

use serde_json::Value;

use super::tasks::ecs_failed;
use super::{FixKind, Halt, Liveness, Run};
use crate::common::error::{ErrorKind, MigrationError};
use crate::migration::hook_event::{
    check_configured_service, parse_hook_event, HookEvent, HookType,
};
use crate::ports::deployments::{HookAction, HOOK_AWAITING_ACTION};

/// Ended executions looked at for an unanswered hook: those stopped this recently.
const HOOK_WINDOW: chrono::Duration = chrono::Duration::hours(1);
/// ListExecutions page size per ended status.
const LIST_ENDED_MAX: i32 = 20;
const ENDED: [&str; 3] = ["ABORTED", "TIMED_OUT", "FAILED"];

impl Run<'_, '_> {
    pub(super) async fn answer_abandoned_hooks(&mut self) -> Result<(), Halt> {
        let mut candidates: Vec<String> = self.seen.keys().cloned().collect();
        let since = self.env.clock.now() - HOOK_WINDOW;
        for status in ENDED {
            self.spend(1)?;
            let ended = self
                .env
                .executions
                .list_ended(&self.machine, status, LIST_ENDED_MAX)
                .await
                .map_err(list_failed)?;
            for execution in ended {
                let recent = execution.stop_date.is_none_or(|at| at >= since);
                if recent && !candidates.contains(&execution.execution_arn) {
                    candidates.push(execution.execution_arn);
                }
            }
        }
        candidates.sort();
        for arn in candidates {
            let Some(Liveness::Ended(status)) = self.liveness(&arn).await? else {
                continue;
            };
            if let Some(hook) = self.pause_hook_of(&arn) {
                self.roll_back(&hook, &arn, &status).await?;
            }
        }
        Ok(())
    }

    /// The pause hook of a configured service the execution was started for, if any.
    fn pause_hook_of(&self, arn: &str) -> Option<HookEvent> {
        self.hook_of(arn).filter(|hook| {
            hook.hook_type == HookType::Pause
                && check_configured_service(self.env.settings, hook).is_ok()
        })
    }

    /// A live execution this run met that was started for the same hook answers it itself.
    fn hook_has_live_execution(&self, hook: &HookEvent) -> bool {
        self.seen.iter().any(|(arn, (liveness, _))| {
            *liveness == Liveness::Live
                && self.hook_of(arn).is_some_and(|h| {
                    h.service_deployment_arn == hook.service_deployment_arn
                        && h.hook_id == hook.hook_id
                })
        })
    }

    /// The hook the execution's input (as Step Functions keeps it) names.
    fn hook_of(&self, arn: &str) -> Option<HookEvent> {
        let (_, view) = self.seen.get(arn)?;
        let input: Value = serde_json::from_str(view.input.as_deref()?).ok()?;
        parse_hook_event(&input)?.ok()
    }

    async fn roll_back(
        &mut self,
        hook: &HookEvent,
        execution: &str,
        status: &str,
    ) -> Result<(), Halt> {
        if self.hook_has_live_execution(hook) {
            return Ok(());
        }
        let arn = &hook.service_deployment_arn;
        self.spend(1)?;
        let deployment = self
            .env
            .deployments
            .describe_deployment(arn)
            .await
            .map_err(|e| {
                ecs_failed(
                    e,
                    &format!("describing deployment {arn}"),
                    "ecs:DescribeServiceDeployments",
                )
            })?;
        // As report-deployment judges it: an in-progress deployment whose hook still waits.
        let waiting = deployment.as_ref().is_some_and(|d| {
            d.in_progress()
                && d.hook(&hook.hook_id)
                    .is_none_or(|h| h.status == HOOK_AWAITING_ACTION)
        });
        if !waiting {
            return Ok(());
        }
        if !self.limits.dry_run {
            self.spend(1)?;
            self.env
                .deployments
                .continue_deployment(arn, &hook.hook_id, HookAction::Rollback)
                .await
                .map_err(|e| {
                    ecs_failed(
                        e,
                        &format!("answering ROLLBACK to hook {} of {arn}", hook.hook_id),
                        "ecs:ContinueServiceDeployment",
                    )
                })?;
        }
        let target = format!("{arn}#{}", hook.hook_id);
        self.fixed(FixKind::RollBackHook, &target, execution, status);
        Ok(())
    }
}

fn list_failed(err: crate::ports::AwsError) -> MigrationError {
    let message = format!("reconcile: ListExecutions: {err}");
    if err.transient {
        MigrationError::new(ErrorKind::AwsTransient, message)
    } else {
        MigrationError::new(
            ErrorKind::Misconfigured,
            format!(
                "{message}; grant the reconciler's role states:ListExecutions on the state machine"
            ),
        )
    }
}
