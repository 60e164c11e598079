//! The in-memory deployment double, as strict as the API reference.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::*;
use crate::common::clock::Clock;
use crate::common::sync::lock;
use crate::ports::AwsError;

/// An answer the double was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedAnswer {
    pub(crate) deployment_arn: String,
    pub hook_id: String,
    pub action: HookAction,
}

/// A call of the deployment port, for [`MemoryDeployments::fail_next`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeploymentCall {
    DescribeDeployment,
    DescribeRevision,
    Continue,
}

/// A stand-in for ECS's deployments, for `ecs-migrate local` and the tests, as strict as the API
/// reference:
/// - ContinueServiceDeployment
///   (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContinueServiceDeployment.html>):
///   an unknown deployment is `ServiceDeploymentNotFoundException`; the hook must be
///   AWAITING_ACTION and the deployment IN_PROGRESS ("Continuing service deployments",
///   <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/continue-service-deployment.html>:
///   "The deployment must be in the IN_PROGRESS state"), so a PENDING deployment or an answered
///   hook is refused with `InvalidParameterException` (ECS's wording is not documented, so
///   nothing may depend on the message);
/// - after CONTINUE the deployment goes on to its next stage and ends SUCCESSFUL; after ROLLBACK
///   it is ROLLBACK_IN_PROGRESS, then ROLLBACK_SUCCESSFUL (ServiceDeployment `status`,
///   <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeployment.html>).
///   Given a clock the deployment stays IN_PROGRESS (ROLLBACK_IN_PROGRESS) for
///   [`MemoryDeployments::moving_on_for`] after the answer; without one it ends at once;
/// - DescribeServiceDeployments
///   (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServiceDeployments.html>):
///   an unknown deployment is a `failures[]` MISSING (here `None`); an ARN that is not a
///   service-deployment ARN is `InvalidParameterException`, as on ContinueServiceDeployment;
/// - any call fails once on request ([`MemoryDeployments::fail_next`]) with the errors both
///   pages list (`AccessDeniedException`, `ServerException`) or the common `ThrottlingException`
///   (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/CommonErrors.html>);
/// - given a clock, a hook still waiting at its `expiresAt` becomes TIMED_OUT and ECS takes its
///   timeout action (DeploymentLifecycleHookDetail: "If the hook has not been completed by this
///   time, Amazon ECS takes the timeout action").
#[derive(Default)]
pub struct MemoryDeployments {
    state: Mutex<MemoryState>,
    clock: Option<std::sync::Arc<dyn Clock>>,
    moving_on: chrono::Duration,
}

#[derive(Default)]
struct MemoryState {
    deployments: HashMap<String, ServiceDeployment>,
    revisions: HashMap<String, ServiceRevision>,
    answers: Vec<RecordedAnswer>,
    /// Deployments on their way to a final status: the status and when it is reached.
    ending: HashMap<String, (&'static str, Option<DateTime<Utc>>)>,
    faults: VecDeque<(DeploymentCall, AwsError)>,
    /// The next accepted answer's reply is lost: ECS acted, the caller sees a transient error.
    lose_next_answer: bool,
}

/// How long a deployment takes after its hook's answer when a clock is given: its later
/// stages (scale-up, traffic shift, bake time) take minutes on ECS.
const MOVING_ON: chrono::Duration = chrono::Duration::minutes(5);

impl MemoryDeployments {
    /// Hooks time out by this clock, and a deployment ends [`MOVING_ON`] after its answer.
    pub fn with_clock(clock: std::sync::Arc<dyn Clock>) -> Self {
        Self {
            state: Mutex::default(),
            clock: Some(clock),
            moving_on: MOVING_ON,
        }
    }

    /// How long the deployment goes on after an answer before it ends (with a clock).
    pub fn moving_on_for(mut self, duration: chrono::Duration) -> Self {
        self.moving_on = duration;
        self
    }

    /// The next `call` fails with `code` (throttling and 5xx codes are transient, as the SDK
    /// adapter classifies them); later calls are answered as usual.
    pub fn fail_next(&self, call: DeploymentCall, code: &str) {
        let operation = match call {
            DeploymentCall::DescribeDeployment => "ecs:DescribeServiceDeployments",
            DeploymentCall::DescribeRevision => "ecs:DescribeServiceRevisions",
            DeploymentCall::Continue => "ecs:ContinueServiceDeployment",
        };
        let mut err = AwsError::permanent(operation, Some(code), "injected by the test");
        err.transient = err.is_throttling() || code == "ServerException";
        lock(&self.state).faults.push_back((call, err));
    }

    /// The next accepted ContinueServiceDeployment takes effect, but its reply is lost (a
    /// timeout or a dropped connection): the caller sees a transient error.
    pub fn lose_next_answer(&self) {
        lock(&self.state).lose_next_answer = true;
    }

    pub fn add_deployment(&self, deployment: ServiceDeployment) {
        self.lock()
            .deployments
            .insert(deployment.arn.clone(), deployment);
    }

    pub fn add_revision(&self, revision: ServiceRevision) {
        self.lock().revisions.insert(revision.arn.clone(), revision);
    }

    /// A deployment's status set directly (the unit tests' way to make one PENDING).
    #[cfg(test)]
    pub(crate) fn set_deployment_status(&self, deployment_arn: &str, status: &str) {
        let mut state = self.lock();
        state.ending.remove(deployment_arn);
        if let Some(d) = state.deployments.get_mut(deployment_arn) {
            d.status = status.to_string();
        }
    }

    /// What ECS does on its own: a hook's timeout, or a hook ended by another answer (the
    /// tests' way to set it directly).
    pub fn set_hook_status(&self, deployment_arn: &str, hook_id: &str, status: &str) {
        let mut state = self.lock();
        if let Some(hook) = state
            .deployments
            .get_mut(deployment_arn)
            .and_then(|d| d.hooks.iter_mut().find(|h| h.hook_id == hook_id))
        {
            hook.status = status.to_string();
        }
    }

    /// Every accepted ContinueServiceDeployment, in order.
    pub fn answers(&self) -> Vec<RecordedAnswer> {
        self.lock().answers.clone()
    }

    fn now(&self) -> Option<DateTime<Utc>> {
        self.clock.as_ref().map(|c| c.now())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        // A panic elsewhere while holding the lock leaves plain data behind: keep using it.
        let mut state = lock(&self.state);
        if let Some(now) = self.now() {
            state.expire_hooks(now, self.moving_on);
        }
        state.end_deployments(self.now());
        state
    }

    /// The injected failure for `call`, if one is queued for it.
    fn fault(state: &mut MemoryState, call: DeploymentCall) -> Result<(), AwsError> {
        match state.faults.iter().position(|(c, _)| *c == call) {
            Some(at) => Err(state.faults.remove(at).map(|(_, e)| e).unwrap_or_else(|| {
                AwsError::permanent("ecs", None, "fault queue changed under its lock")
            })),
            None => Ok(()),
        }
    }

    /// The deployment moves on after an answer: at once without a clock, else after
    /// `moving_on`.
    fn move_on(&self, state: &mut MemoryState, arn: &str, action: HookAction) {
        let final_status = match action {
            // Another hook still waiting (a later stage's) keeps the deployment going.
            HookAction::Continue
                if state
                    .deployments
                    .get(arn)
                    .is_some_and(|d| d.hooks.iter().any(|h| h.status == HOOK_AWAITING_ACTION)) =>
            {
                return
            }
            HookAction::Continue => "SUCCESSFUL",
            HookAction::Rollback => {
                if let Some(d) = state.deployments.get_mut(arn) {
                    d.status = "ROLLBACK_IN_PROGRESS".to_string();
                }
                "ROLLBACK_SUCCESSFUL"
            }
        };
        let at = self.now().map(|now| now + self.moving_on);
        state.ending.insert(arn.to_string(), (final_status, at));
        state.end_deployments(self.now());
    }
}

/// A service-deployment ARN: `arn:PARTITION:ecs:REGION:ACCOUNT:service-deployment/CLUSTER/SERVICE/ID`
/// (ServiceDeployment `serviceDeploymentArn`).
fn well_formed(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    let path: Vec<&str> = resource.split('/').collect();
    prefix == "arn"
        && partition.starts_with("aws")
        && service == "ecs"
        && !region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && path.len() == 4
        && path[0] == "service-deployment"
        && path[1..].iter().all(|p| !p.is_empty())
}

fn malformed(operation: &'static str, arn: &str) -> AwsError {
    AwsError::permanent(
        operation,
        Some("InvalidParameterException"),
        format!("{arn:?} is not a service deployment ARN"),
    )
}

impl MemoryState {
    fn expire_hooks(&mut self, now: DateTime<Utc>, moving_on: chrono::Duration) {
        for deployment in self.deployments.values_mut() {
            let mut roll_back = None;
            for hook in &mut deployment.hooks {
                let due = hook.expires_at.filter(|at| *at <= now);
                if let (Some(at), HOOK_AWAITING_ACTION) = (due, hook.status.as_str()) {
                    hook.status = HOOK_TIMED_OUT.to_string();
                    if hook.timeout_action == Some(HookAction::Rollback) {
                        roll_back = Some(at);
                    }
                }
            }
            if let (Some(at), true) = (roll_back, deployment.in_progress()) {
                // Rolled back from the hook's expiry on, whenever the double is next asked.
                deployment.status = "ROLLBACK_IN_PROGRESS".to_string();
                self.ending.insert(
                    deployment.arn.clone(),
                    ("ROLLBACK_SUCCESSFUL", Some(at + moving_on)),
                );
            }
        }
    }

    /// Deployments whose time has come reach their final status.
    fn end_deployments(&mut self, now: Option<DateTime<Utc>>) {
        let due: Vec<String> = self
            .ending
            .iter()
            .filter(|(_, (_, at))| match (at, now) {
                (Some(at), Some(now)) => *at <= now,
                _ => true,
            })
            .map(|(arn, _)| arn.clone())
            .collect();
        for arn in due {
            if let (Some((status, _)), Some(d)) =
                (self.ending.remove(&arn), self.deployments.get_mut(&arn))
            {
                d.status = status.to_string();
            }
        }
    }
}

#[async_trait]
impl Deployments for MemoryDeployments {
    async fn describe_deployment(&self, arn: &str) -> Result<Option<ServiceDeployment>, AwsError> {
        let mut state = self.lock();
        Self::fault(&mut state, DeploymentCall::DescribeDeployment)?;
        if !well_formed(arn) {
            return Err(malformed("ecs:DescribeServiceDeployments", arn));
        }
        Ok(state.deployments.get(arn).cloned())
    }

    async fn describe_revision(&self, arn: &str) -> Result<Option<ServiceRevision>, AwsError> {
        let mut state = self.lock();
        Self::fault(&mut state, DeploymentCall::DescribeRevision)?;
        Ok(state.revisions.get(arn).cloned())
    }

    async fn continue_deployment(
        &self,
        arn: &str,
        hook_id: &str,
        action: HookAction,
    ) -> Result<(), AwsError> {
        const OP: &str = "ecs:ContinueServiceDeployment";
        let mut state = self.lock();
        Self::fault(&mut state, DeploymentCall::Continue)?;
        if !well_formed(arn) {
            return Err(malformed(OP, arn));
        }
        let refused = |why: String| {
            Err(AwsError::permanent(
                OP,
                Some("InvalidParameterException"),
                why,
            ))
        };
        let Some(deployment) = state.deployments.get_mut(arn) else {
            return Err(AwsError::permanent(
                OP,
                Some("ServiceDeploymentNotFoundException"),
                format!("service deployment {arn} not found"),
            ));
        };
        if deployment.status != "IN_PROGRESS" {
            return refused(format!("service deployment {arn} is {}", deployment.status));
        }
        let Some(hook) = deployment.hooks.iter_mut().find(|h| h.hook_id == hook_id) else {
            return refused(format!(
                "hook {hook_id} not found in service deployment {arn}"
            ));
        };
        if hook.status != HOOK_AWAITING_ACTION {
            return refused(format!(
                "hook {hook_id} is {}, not {HOOK_AWAITING_ACTION}",
                hook.status
            ));
        }
        hook.status = match action {
            HookAction::Continue => HOOK_SUCCEEDED,
            HookAction::Rollback => HOOK_FAILED,
        }
        .to_string();
        self.move_on(&mut state, arn, action);
        state.answers.push(RecordedAnswer {
            deployment_arn: arn.to_string(),
            hook_id: hook_id.to_string(),
            action,
        });
        if std::mem::take(&mut state.lose_next_answer) {
            let mut lost = AwsError::permanent(OP, None, "the reply was lost (injected)");
            lost.transient = true;
            return Err(lost);
        }
        Ok(())
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/app/d1";

    fn awaiting() -> MemoryDeployments {
        let double = MemoryDeployments::default();
        double.add_deployment(ServiceDeployment {
            arn: ARN.into(),
            service_arn: None,
            cluster_arn: None,
            status: "IN_PROGRESS".into(),
            status_reason: None,
            target_revision_arn: None,
            lifecycle_stage: None,
            hooks: vec![HookState {
                hook_id: "h1".into(),
                target_type: Some("PAUSE".into()),
                status: HOOK_AWAITING_ACTION.into(),
                expires_at: None,
                timeout_action: None,
            }],
        });
        double
    }

    #[tokio::test]
    async fn the_double_takes_one_answer_per_hook_and_refuses_the_rest() {
        let double = awaiting();
        double
            .continue_deployment(ARN, "h1", HookAction::Continue)
            .await
            .unwrap();
        let again = double
            .continue_deployment(ARN, "h1", HookAction::Rollback)
            .await
            .unwrap_err();
        assert_eq!(again.code.as_deref(), Some("InvalidParameterException"));
        let unknown = double
            .continue_deployment(&ARN.replace("/d1", "/d9"), "h1", HookAction::Continue)
            .await
            .unwrap_err();
        assert_eq!(
            unknown.code.as_deref(),
            Some("ServiceDeploymentNotFoundException")
        );
        assert_eq!(double.answers().len(), 1);
        let d = double.describe_deployment(ARN).await.unwrap().unwrap();
        assert_eq!(d.hook("h1").unwrap().status, HOOK_SUCCEEDED);
    }

    #[tokio::test]
    async fn a_timed_out_hook_or_a_rolled_back_deployment_takes_no_answer() {
        let double = awaiting();
        double.set_hook_status(ARN, "h1", HOOK_TIMED_OUT);
        let refused = double
            .continue_deployment(ARN, "h1", HookAction::Continue)
            .await
            .unwrap_err();
        assert_eq!(refused.code.as_deref(), Some("InvalidParameterException"));
        let double = awaiting();
        double
            .continue_deployment(ARN, "h1", HookAction::Rollback)
            .await
            .unwrap();
        let d = double.describe_deployment(ARN).await.unwrap().unwrap();
        assert_eq!(d.status, "ROLLBACK_SUCCESSFUL");
        assert_eq!(d.hook("h1").unwrap().status, HOOK_FAILED);
    }

    /// "The deployment must be in the IN_PROGRESS state": PENDING is not enough.
    #[tokio::test]
    async fn a_pending_deployment_takes_no_answer() {
        let double = awaiting();
        double.set_deployment_status(ARN, "PENDING");
        let refused = double
            .continue_deployment(ARN, "h1", HookAction::Continue)
            .await
            .unwrap_err();
        assert_eq!(refused.code.as_deref(), Some("InvalidParameterException"));
        assert!(double.answers().is_empty());
    }

    /// With a clock the deployment goes on for a while after the answer, then ends.
    #[tokio::test]
    async fn the_deployment_moves_on_after_an_answer() {
        use crate::common::clock::VirtualClock;
        for (action, between, end) in [
            (HookAction::Continue, "IN_PROGRESS", "SUCCESSFUL"),
            (
                HookAction::Rollback,
                "ROLLBACK_IN_PROGRESS",
                "ROLLBACK_SUCCESSFUL",
            ),
        ] {
            let clock = std::sync::Arc::new(VirtualClock::starting_at(Utc::now()));
            let double = MemoryDeployments::with_clock(clock.clone());
            double.add_deployment(awaiting().lock().deployments[ARN].clone());
            double.continue_deployment(ARN, "h1", action).await.unwrap();
            let d = double.describe_deployment(ARN).await.unwrap().unwrap();
            assert_eq!(d.status, between, "{action:?}");
            clock.advance(std::time::Duration::from_secs(299));
            let d = double.describe_deployment(ARN).await.unwrap().unwrap();
            assert_eq!(d.status, between, "{action:?}");
            clock.advance(std::time::Duration::from_secs(1));
            let d = double.describe_deployment(ARN).await.unwrap().unwrap();
            assert_eq!(d.status, end, "{action:?}");
        }
    }

    /// Describes fail on request, once each, and a malformed ARN is refused by name.
    #[tokio::test]
    async fn describes_fail_on_request_and_on_a_malformed_arn() {
        let double = awaiting();
        for (code, transient) in [
            ("AccessDeniedException", false),
            ("ThrottlingException", true),
            ("ServerException", true),
        ] {
            double.fail_next(DeploymentCall::DescribeDeployment, code);
            let err = double.describe_deployment(ARN).await.unwrap_err();
            assert_eq!(err.code.as_deref(), Some(code));
            assert_eq!(err.transient, transient, "{code}");
            assert!(double.describe_deployment(ARN).await.unwrap().is_some());
        }
        for arn in [
            "d1",
            "arn:aws:ecs:eu-west-1:123456789012:service/prod/app",
            "arn:aws:ecs:eu-west-1:1234:service-deployment/prod/app/d1",
        ] {
            let err = double.describe_deployment(arn).await.unwrap_err();
            assert_eq!(
                err.code.as_deref(),
                Some("InvalidParameterException"),
                "{arn}"
            );
        }
        let unknown = ARN.replace("/d1", "/d2");
        assert_eq!(double.describe_deployment(&unknown).await.unwrap(), None);
    }
}
