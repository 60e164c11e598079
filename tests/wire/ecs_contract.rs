//! The ECS contract, one test body run against the three stand-ins of ECS: the SDK adapter
//! ([`SdkEcs`]) on a moto server patched where moto is kinder than ECS
//! (tests/support/moto_server.py), the scenarios' fake (tests/scenario/fake_ecs.rs) and the local
//! runner ([`LocalEcs`]). The three answering the same assertions is what lets the scenarios and
//! `ecs-migrate local` stand in for ECS. The rules, each from the Amazon ECS API Reference:
//!
//! - RunTask refuses an unknown or INACTIVE task definition (ClientException), an override for
//!   a container the task definition lacks, awsvpc without networkConfiguration, an invalid
//!   launch type, more than 50 tags, an `aws:` tag key and an empty one
//!   (InvalidParameterException), and starts nothing
//!   (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html,
//!   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Tag.html).
//! - A task just started may be MISSING from DescribeTasks for a moment (eventual consistency,
//!   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html), and StopTask
//!   on a task ECS does not show fails with InvalidParameterException "The referenced task was
//!   not found" (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopTask.html).
//! - Answers are per cluster: a task of cluster A is MISSING in cluster B, not found by
//!   StopTask there, and not listed there
//!   (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTasks.html).
//! - A stopping task has desiredStatus STOPPED and goes through DEACTIVATING / STOPPING to
//!   STOPPED; ListTasks without desiredStatus (RUNNING) no longer lists it, ListTasks with
//!   STOPPED does (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html;
//!   Developer Guide, "Amazon ECS task lifecycle").
//! - A STOPPED task stays describable (ECS: at least one hour), then is MISSING: checked where
//!   time can be moved past the hour (the fake's virtual clock).
//! - Throttling (ThrottlingException, HTTP 400) and 5xx (ServerException) come back as
//!   transient errors with their code
//!   (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/CommonErrors.html): checked
//!   where a fault can be asked for (moto's fault hook, the fake); the local runner has nothing
//!   remote to throttle.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use ecs_migrate::common::clock::{Clock, VirtualClock};
use ecs_migrate::local::{LocalEcs, LocalTaskDefinition};
use ecs_migrate::ports::ecs::{
    is_task_not_found, AwsVpc, DesiredStatus, Ecs, LastStatus, Placement, RunTaskOutcome,
    RunTaskParams, SdkEcs, TaskLookup,
};
use ecs_migrate::ports::AwsError;

use crate::fake_ecs::{FakeEcs, Script, CONTAINER, INACTIVE_TASKDEF_ARN, TASKDEF_ARN};
use crate::moto::{self, Moto};

/// How many looks a stand-in may need before a change shows (each a second of the fake's
/// virtual time, or a tenth of a real second).
const LOOKS: usize = 600;

/// One stand-in of ECS, and what the contract needs to drive it.
#[async_trait]
trait StandIn: Send + Sync {
    fn ecs(&self) -> &dyn Ecs;
    /// Two clusters, as the steps name them.
    fn clusters(&self) -> [String; 2];
    /// RunTask parameters that start a long-running task in `cluster`.
    fn params(&self, cluster: &str, started_by: &str, token: &str) -> RunTaskParams;
    /// A deregistered (INACTIVE) revision, when the stand-in keeps a registry with one.
    fn inactive_taskdef(&self) -> Option<String>;
    /// Lets a moment pass before the next look.
    async fn pause(&self);
    /// Makes the next call of `operation` (`RunTask`, `DescribeTasks`, ...) fail with `code`;
    /// `false` when the stand-in has nothing that could fail so.
    async fn fail_next(&self, operation: &'static str, code: &'static str) -> bool;
    /// Moves time past ECS's retention of stopped tasks; `false` when time is real.
    async fn pass_retention(&self) -> bool;
}

fn started(outcome: RunTaskOutcome) -> String {
    match outcome {
        RunTaskOutcome::Started { task_arn } => task_arn,
        other => panic!("RunTask started nothing: {other:?}"),
    }
}

/// The error code, after checking the error is permanent.
fn refused(result: Result<RunTaskOutcome, AwsError>, what: &str) -> String {
    let err = result.expect_err(what);
    assert!(!err.transient, "{what}: {err}");
    err.code.clone().unwrap_or_default()
}

/// The contract. `tag` makes the `startedBy` and tokens unique on a shared stand-in.
async fn contract(s: &dyn StandIn, tag: &str) {
    let ecs = s.ecs();
    let [a, b] = s.clusters();
    let by = format!("ecs-migrate/contract-{tag}");
    run_task_refusals(s, &a, &by).await;

    // Started, perhaps MISSING for a moment; while MISSING, StopTask does not find it.
    let arn = started(ecs.run_task(&s.params(&a, &by, "run-1")).await.unwrap());
    let mut seen_missing = false;
    let task = loop {
        match ecs.describe_task(&a, &arn).await.unwrap() {
            TaskLookup::Found(task) => break task,
            TaskLookup::Missing { reason } => {
                assert_eq!(reason, "MISSING");
                if !seen_missing {
                    seen_missing = true;
                    let err = ecs.stop_task(&a, &arn, "too soon").await.unwrap_err();
                    assert!(is_task_not_found(&err), "{err}");
                }
                s.pause().await;
            }
        }
    };
    assert_ne!(task.last_status, LastStatus::Stopped, "{task:?}");
    assert_eq!(task.desired_status, Some(LastStatus::Running), "{task:?}");
    let listed = until_listed(s, &a, &by, DesiredStatus::Running, &arn).await;
    assert_eq!(listed, vec![arn.clone()]);
    assert_eq!(
        ecs.list_tasks(&a, &by, DesiredStatus::Stopped)
            .await
            .unwrap(),
        Vec::<String>::new()
    );

    per_cluster(s, &b, &by, &arn).await;
    until_running(s, &a, &arn).await;
    stop_drains(s, &a, &by, &arn).await;

    // STOPPED stays describable; once past ECS's retention it is MISSING (where time can move).
    if s.pass_retention().await {
        assert_eq!(
            ecs.describe_task(&a, &arn).await.unwrap(),
            TaskLookup::Missing {
                reason: "MISSING".into()
            }
        );
        assert!(ecs
            .list_tasks(&a, &by, DesiredStatus::Stopped)
            .await
            .unwrap()
            .is_empty());
        let err = ecs.stop_task(&a, &arn, "long gone").await.unwrap_err();
        assert!(is_task_not_found(&err), "{err}");
    }
    faults(s, &a, &by, &arn).await;
}

async fn run_task_refusals(s: &dyn StandIn, cluster: &str, by: &str) {
    let ecs = s.ecs();
    let base = s.params(cluster, by, "refused");
    let unknown = RunTaskParams {
        task_definition: "no-such-family:1".into(),
        ..base.clone()
    };
    assert_eq!(
        refused(ecs.run_task(&unknown).await, "unknown taskdef"),
        "ClientException"
    );
    if let Some(inactive) = s.inactive_taskdef() {
        let inactive = RunTaskParams {
            task_definition: inactive,
            ..base.clone()
        };
        assert_eq!(
            refused(ecs.run_task(&inactive).await, "INACTIVE taskdef"),
            "ClientException"
        );
    }
    let invalid: Vec<(&str, RunTaskParams)> = vec![
        (
            "override of another container",
            RunTaskParams {
                container: "no-such-container".into(),
                ..base.clone()
            },
        ),
        (
            "awsvpc without a network",
            RunTaskParams {
                network: None,
                ..base.clone()
            },
        ),
        (
            "invalid launch type",
            RunTaskParams {
                placement: Placement::LaunchType("BOGUS".into()),
                ..base.clone()
            },
        ),
        (
            "51 tags",
            RunTaskParams {
                tags: (0..51)
                    .map(|i| (format!("k{i}"), "v".to_string()))
                    .collect(),
                ..base.clone()
            },
        ),
        (
            "aws: tag prefix",
            RunTaskParams {
                tags: vec![("aws:owner".into(), "me".into())],
                ..base.clone()
            },
        ),
        (
            "empty tag key",
            RunTaskParams {
                tags: vec![(String::new(), "v".into())],
                ..base.clone()
            },
        ),
    ];
    for (what, params) in invalid {
        assert_eq!(
            refused(ecs.run_task(&params).await, what),
            "InvalidParameterException",
            "{what}"
        );
    }
    // 50 tags are allowed.
    let fifty = RunTaskParams {
        tags: (0..50)
            .map(|i| (format!("k{i}"), "v".to_string()))
            .collect(),
        started_by: format!("{by}-fifty"),
        client_token: format!("{}-fifty", base.client_token),
        ..base.clone()
    };
    let arn = started(ecs.run_task(&fifty).await.unwrap());
    until_listed(s, cluster, &fifty.started_by, DesiredStatus::Running, &arn).await;
    stop_when_found(s, cluster, &arn).await;
    // The refusals started nothing.
    for desired in [DesiredStatus::Running, DesiredStatus::Stopped] {
        assert!(ecs
            .list_tasks(cluster, by, desired)
            .await
            .unwrap()
            .is_empty());
    }
}

/// Looks until the task is RUNNING (a task stopped before it runs need not drain).
async fn until_running(s: &dyn StandIn, cluster: &str, arn: &str) {
    for _ in 0..LOOKS {
        if let TaskLookup::Found(task) = s.ecs().describe_task(cluster, arn).await.unwrap() {
            if task.last_status == LastStatus::Running {
                return;
            }
            assert!(task.last_status.before_running(), "{task:?}");
        }
        s.pause().await;
    }
    panic!("{arn} never RUNNING");
}

/// Looks until ListTasks with `desired` lists `arn`.
async fn until_listed(
    s: &dyn StandIn,
    cluster: &str,
    by: &str,
    desired: DesiredStatus,
    arn: &str,
) -> Vec<String> {
    for _ in 0..LOOKS {
        let listed = s.ecs().list_tasks(cluster, by, desired).await.unwrap();
        if listed.iter().any(|t| t == arn) {
            return listed;
        }
        s.pause().await;
    }
    panic!("{arn} never listed with desiredStatus {}", desired.as_str());
}

async fn stop_when_found(s: &dyn StandIn, cluster: &str, arn: &str) {
    for _ in 0..LOOKS {
        match s.ecs().stop_task(cluster, arn, "contract").await {
            Ok(()) => return,
            Err(err) if is_task_not_found(&err) => s.pause().await,
            Err(err) => panic!("{err}"),
        }
    }
    panic!("{arn} never found by StopTask");
}

/// The task of cluster A is nobody's business in cluster B.
async fn per_cluster(s: &dyn StandIn, other: &str, by: &str, arn: &str) {
    let ecs = s.ecs();
    assert_eq!(
        ecs.describe_task(other, arn).await.unwrap(),
        TaskLookup::Missing {
            reason: "MISSING".into()
        }
    );
    let err = ecs
        .stop_task(other, arn, "wrong cluster")
        .await
        .unwrap_err();
    assert!(is_task_not_found(&err), "{err}");
    for desired in [DesiredStatus::Running, DesiredStatus::Stopped] {
        assert!(ecs.list_tasks(other, by, desired).await.unwrap().is_empty());
    }
}

/// StopTask: desiredStatus STOPPED, DEACTIVATING/STOPPING on the way, unlisted by default,
/// then STOPPED, still describable, listed with STOPPED; stopping again is no error.
async fn stop_drains(s: &dyn StandIn, cluster: &str, by: &str, arn: &str) {
    let ecs = s.ecs();
    ecs.stop_task(cluster, arn, "contract: stop").await.unwrap();
    let mut draining = Vec::new();
    for _ in 0..LOOKS {
        let TaskLookup::Found(task) = ecs.describe_task(cluster, arn).await.unwrap() else {
            panic!("{arn} went MISSING while it stopped");
        };
        if task.desired_status == Some(LastStatus::Stopped) {
            if task.last_status == LastStatus::Stopped {
                assert_eq!(task.stop_code.as_deref(), Some("UserInitiated"), "{task:?}");
                break;
            }
            draining.push(task.last_status.clone());
            let default = ecs
                .list_tasks(cluster, by, DesiredStatus::Running)
                .await
                .unwrap();
            assert!(
                !default.contains(&arn.to_string()),
                "a stopping task listed by default"
            );
        }
        s.pause().await;
    }
    for status in &draining {
        assert!(
            matches!(
                status,
                LastStatus::Deactivating | LastStatus::Stopping | LastStatus::Deprovisioning
            ),
            "{draining:?}"
        );
    }
    let stopped = until_listed(s, cluster, by, DesiredStatus::Stopped, arn).await;
    assert_eq!(stopped, vec![arn.to_string()]);
    assert!(ecs
        .list_tasks(cluster, by, DesiredStatus::Running)
        .await
        .unwrap()
        .is_empty());
    let TaskLookup::Found(task) = ecs.describe_task(cluster, arn).await.unwrap() else {
        panic!("a STOPPED task is describable for an hour");
    };
    assert_eq!(task.last_status, LastStatus::Stopped);
    ecs.stop_task(cluster, arn, "again").await.unwrap();
}

/// Each call the steps make, throttled and failed with a 5xx on request: a transient error
/// naming the code; the call after it answers.
async fn faults(s: &dyn StandIn, cluster: &str, by: &str, arn: &str) {
    let ecs = s.ecs();
    for code in ["ThrottlingException", "ServerException"] {
        let mut errors: Vec<AwsError> = Vec::new();
        if !s.fail_next("DescribeTasks", code).await {
            return;
        }
        errors.push(ecs.describe_task(cluster, arn).await.unwrap_err());
        ecs.describe_task(cluster, arn).await.unwrap();
        assert!(s.fail_next("ListTasks", code).await);
        errors.push(
            ecs.list_tasks(cluster, by, DesiredStatus::Stopped)
                .await
                .unwrap_err(),
        );
        assert!(s.fail_next("StopTask", code).await);
        errors.push(ecs.stop_task(cluster, arn, "again").await.unwrap_err());
        assert!(s.fail_next("RunTask", code).await);
        let params = s.params(cluster, &format!("{by}-faults"), code);
        errors.push(ecs.run_task(&params).await.unwrap_err());
        for err in errors {
            assert!(err.transient, "{err}");
            assert_eq!(err.code.as_deref(), Some(code), "{err}");
        }
        // Nothing was started by the failed RunTask.
        let listed = ecs.list_tasks(cluster, &params.started_by, DesiredStatus::Running);
        assert!(listed.await.unwrap().is_empty());
    }
}

// ---- the SDK adapter on moto ----

struct OnMoto {
    server: Moto,
    ecs: SdkEcs,
    clusters: [String; 2],
    taskdef: String,
    inactive: String,
    subnet: String,
}

#[async_trait]
impl StandIn for OnMoto {
    fn ecs(&self) -> &dyn Ecs {
        &self.ecs
    }
    fn clusters(&self) -> [String; 2] {
        self.clusters.clone()
    }
    fn params(&self, cluster: &str, started_by: &str, token: &str) -> RunTaskParams {
        RunTaskParams {
            cluster: cluster.into(),
            task_definition: self.taskdef.clone(),
            container: "migrate".into(),
            command: vec!["sleep".into(), "300".into()],
            network: Some(AwsVpc {
                subnets: vec![self.subnet.clone()],
                security_groups: vec![],
                assign_public_ip: false,
            }),
            placement: Placement::LaunchType("FARGATE".into()),
            platform_version: None,
            client_token: token.into(),
            started_by: started_by.into(),
            tags: vec![],
        }
    }
    fn inactive_taskdef(&self) -> Option<String> {
        Some(self.inactive.clone())
    }
    async fn pause(&self) {
        // moto moves a stopped task one step per DescribeTasks: nothing to wait for.
    }
    async fn fail_next(&self, operation: &'static str, code: &'static str) -> bool {
        let body = format!(r#"{{"operation":"{operation}","code":"{code}"}}"#);
        let (status, text) = self
            .server
            .try_http("POST", "/_ecs_migrate/faults", &[], &body)
            .unwrap();
        assert_eq!(status, 200, "{text}");
        true
    }
    async fn pass_retention(&self) -> bool {
        false
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sdk_adapter_on_moto_keeps_the_ecs_contract() {
    // A server of its own: the faults asked for hit whoever calls next, and moto's own task
    // progression is turned off (a task runs until stopped, as the others' do).
    let server = Moto::start();
    server.set_transition("ecs::task", r#"{"progression":"manual","times":1000000}"#);
    let config = server.sdk_config().await;
    // No SDK retries: one fault asked for is one error seen.
    let ecs_config = aws_sdk_ecs::config::Builder::from(&config)
        .retry_config(RetryConfig::disabled())
        .build();
    let client = aws_sdk_ecs::Client::from_conf(ecs_config);
    let a = server.create_cluster(&moto::unique("contract-a")).await;
    let b = server.create_cluster(&moto::unique("contract-b")).await;
    let family = moto::unique("contract");
    let inactive = server
        .register_task_definition(&family, "migrate", "/ecs/c", "ecs")
        .await;
    let taskdef = server
        .register_task_definition(&family, "migrate", "/ecs/c", "ecs")
        .await;
    client
        .deregister_task_definition()
        .task_definition(&inactive)
        .send()
        .await
        .unwrap();
    let stand_in = OnMoto {
        subnet: server.default_subnet(),
        server,
        ecs: SdkEcs::new(client),
        clusters: [a, b],
        taskdef,
        inactive,
    };
    contract(&stand_in, "moto").await;
}

// ---- the scenarios' fake ----

struct Fake {
    clock: Arc<VirtualClock>,
    fake: Arc<FakeEcs>,
}

#[async_trait]
impl StandIn for Fake {
    fn ecs(&self) -> &dyn Ecs {
        self.fake.as_ref()
    }
    fn clusters(&self) -> [String; 2] {
        [
            "arn:aws:ecs:eu-west-1:123456789012:cluster/prod".into(),
            "staging".into(),
        ]
    }
    fn params(&self, cluster: &str, started_by: &str, token: &str) -> RunTaskParams {
        RunTaskParams {
            cluster: cluster.into(),
            task_definition: TASKDEF_ARN.into(),
            container: CONTAINER.into(),
            command: vec!["migrate".into()],
            network: Some(AwsVpc {
                subnets: vec!["subnet-1".into()],
                security_groups: vec![],
                assign_public_ip: false,
            }),
            placement: Placement::LaunchType("FARGATE".into()),
            platform_version: None,
            client_token: token.into(),
            started_by: started_by.into(),
            tags: vec![],
        }
    }
    fn inactive_taskdef(&self) -> Option<String> {
        Some(INACTIVE_TASKDEF_ARN.into())
    }
    async fn pause(&self) {
        self.clock.sleep(Duration::from_secs(1)).await;
    }
    async fn fail_next(&self, operation: &'static str, code: &'static str) -> bool {
        let operation = match operation {
            "RunTask" => "ecs:RunTask",
            "DescribeTasks" => "ecs:DescribeTasks",
            "StopTask" => "ecs:StopTask",
            "ListTasks" => "ecs:ListTasks",
            other => panic!("{other}"),
        };
        self.fake.fail_next(operation, code);
        true
    }
    async fn pass_retention(&self) -> bool {
        self.clock.sleep(Duration::from_secs(3601)).await;
        true
    }
}

#[tokio::test]
async fn the_scenario_fake_keeps_the_ecs_contract() {
    let clock = Arc::new(VirtualClock::starting_at(chrono::Utc::now()));
    // A task MISSING for its first 5 s, so the contract sees StopTask's not-found; a day's run.
    let script = Script {
        missing_for: Some(5),
        running: 86_400,
        stop_delay: 30,
        ..Script::default()
    };
    let fake = FakeEcs::new(clock.clone(), script);
    contract(&Fake { clock, fake }, "fake").await;
}

// ---- the local runner ----

struct Local {
    ecs: LocalEcs,
}

#[async_trait]
impl StandIn for Local {
    fn ecs(&self) -> &dyn Ecs {
        &self.ecs
    }
    fn clusters(&self) -> [String; 2] {
        [
            "local".into(),
            "arn:aws:ecs:local:000000000000:cluster/other".into(),
        ]
    }
    fn params(&self, cluster: &str, started_by: &str, token: &str) -> RunTaskParams {
        RunTaskParams {
            cluster: cluster.into(),
            task_definition: "contract".into(),
            container: "migrate".into(),
            command: vec!["sleep".into(), "300".into()],
            network: Some(AwsVpc {
                subnets: vec!["subnet-local".into()],
                security_groups: vec![],
                assign_public_ip: false,
            }),
            placement: Placement::LaunchType("FARGATE".into()),
            platform_version: None,
            client_token: token.into(),
            started_by: started_by.into(),
            tags: vec![],
        }
    }
    fn inactive_taskdef(&self) -> Option<String> {
        // It runs the one task definition it was given: nothing is ever deregistered.
        None
    }
    async fn pause(&self) {
        // A real process stops in real time: look again a moment later.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    async fn fail_next(&self, _operation: &'static str, _code: &'static str) -> bool {
        // Nothing remote answers it: no throttling, no 5xx.
        false
    }
    async fn pass_retention(&self) -> bool {
        false
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_local_runner_keeps_the_ecs_contract() {
    let taskdef = LocalTaskDefinition::parse(
        "contract.json",
        &serde_json::json!({
            "family": "contract",
            "networkMode": "awsvpc",
            "containerDefinitions": [{"name": "migrate", "image": "busybox"}],
        })
        .to_string(),
    )
    .unwrap();
    let stand_in = Local {
        ecs: LocalEcs::new(taskdef),
    };
    contract(&stand_in, "local").await;
}
