//! The reconciler against moto (ECS, DynamoDB, Step Functions): `ecs-migrate reconcile
//! --dry-run` changes nothing and says what it would do; then the real `bootstrap`, configured
//! as the `reconcile` function and invoked as the schedule invokes it, stops the task of an
//! aborted execution and releases its lock, and leaves a RUNNING execution's task and lock, and
//! a task ecs-migrate did not start, alone.

use chrono::{Duration, Utc};
use ecs_migrate::migration::tasks::started_by_for_execution;
use ecs_migrate::ports::ecs::{AwsVpc, Ecs, Placement, RunTaskOutcome, RunTaskParams, SdkEcs};
use ecs_migrate::ports::lock::{DynamoDbLockTable, Expected, LockItem, LockTable};
use serde_json::{json, Value};

use crate::cli_aws::command;
use crate::lambda_wire::Deployment;
use crate::moto::{self, Moto};
use crate::process::{finish, spawn};
use crate::runtime_api::Answer;

/// A task started as run-task starts it (its `startedBy` and execution tag), or with another
/// `startedBy` and no tags.
pub(crate) async fn run(
    server: &Moto,
    deployment: &Deployment,
    ecs: &SdkEcs,
    started_by: &str,
    name: Option<&str>,
) -> String {
    let params = RunTaskParams {
        cluster: deployment.cluster.clone(),
        task_definition: deployment.taskdef.clone(),
        container: "fastapi".into(),
        command: vec!["alembic".into(), "upgrade".into(), "head".into()],
        network: Some(AwsVpc {
            subnets: vec![server.default_subnet()],
            security_groups: vec![],
            assign_public_ip: false,
        }),
        placement: Placement::LaunchType("FARGATE".into()),
        platform_version: None,
        client_token: moto::unique("token"),
        started_by: started_by.into(),
        tags: name
            .map(|n| vec![("ecs-migrate:execution".to_string(), n.to_string())])
            .unwrap_or_default(),
    };
    let RunTaskOutcome::Started { task_arn } = ecs.run_task(&params).await.unwrap() else {
        panic!("moto refused RunTask");
    };
    task_arn
}

/// A deployment like [`Deployment::new`]'s on a server of this test's own, whose ECS tasks stay
/// in their status until stopped (moto's `ecs::task` transitions made manual: the shared
/// server moves a task one status on per DescribeTasks, which would stop it before the
/// reconciler could).
pub(crate) async fn deployment_on(server: &Moto) -> Deployment {
    let (status, text) = server
        .try_http(
            "POST",
            "/moto-api/state-manager/set-transition",
            &[("Content-Type", "application/json")],
            r#"{"model_name":"ecs::task","transition":{"progression":"manual","times":1000000}}"#,
        )
        .expect("moto's state manager");
    assert!((200..300).contains(&status), "{status}: {text}");
    let cluster = server.create_cluster(&moto::unique("reconcile")).await;
    let state_machine = server
        .create_state_machine(
            &moto::unique("reconcile-machine"),
            &json!({"StartAt": "Wait",
                    "States": {"Wait": {"Type": "Wait", "Seconds": 86400, "End": true}}}),
        )
        .await;
    let family = moto::unique("reconcile-app");
    let taskdef = server
        .register_task_definition(&family, "fastapi", "/ecs/reconcile-app", "ecs")
        .await;
    let mut env: Vec<(String, String)> = server
        .client_env()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    for (k, v) in [
        ("CLUSTER", cluster.clone()),
        ("CONTAINER_NAME", "fastapi".to_string()),
        ("ALLOWED_FAMILIES", format!("[\"{family}\"]")),
        ("POLL_INTERVAL_SECONDS", "1".into()),
        ("STATE_MACHINE_ARN", state_machine.clone()),
    ] {
        env.push((k.to_string(), v));
    }
    Deployment {
        cluster,
        family,
        taskdef,
        env,
        state_machine,
    }
}

fn item(deployment: &Deployment, scope: &str, holder: &str, task_arn: &str) -> LockItem {
    let now = Utc::now();
    LockItem {
        scope: scope.into(),
        holder: holder.into(),
        execution_name: None,
        client_token: moto::unique("token"),
        taskdef_arn: deployment.taskdef.clone(),
        family: deployment.family.clone(),
        revision: 1,
        cluster: deployment.cluster.clone(),
        started_by: started_by_for_execution(holder),
        task_arn: Some(task_arn.into()),
        since: now - Duration::minutes(5),
        lease_until: now + Duration::minutes(10),
    }
}

/// desiredStatus and stoppedReason of a task, as moto shows it (moto moves the task one status
/// on per DescribeTasks: look only once the runs are over).
async fn desired(server: &Moto, deployment: &Deployment, task_arn: &str) -> (String, String) {
    let out = server
        .ecs()
        .await
        .describe_tasks()
        .cluster(&deployment.cluster)
        .tasks(task_arn)
        .send()
        .await
        .expect("ecs:DescribeTasks");
    let task = &out.tasks()[0];
    (
        task.desired_status().unwrap_or_default().to_string(),
        task.stopped_reason().unwrap_or_default().to_string(),
    )
}

/// Starts execution `name` (it stays RUNNING until stopped); its ARN.
pub(crate) async fn execution(server: &Moto, deployment: &Deployment, name: &str) -> String {
    server
        .sfn()
        .await
        .start_execution()
        .state_machine_arn(&deployment.state_machine)
        .name(name)
        .input("{}")
        .send()
        .await
        .expect("states:StartExecution")
        .execution_arn()
        .to_string()
}

fn kinds(report: &Value) -> Vec<String> {
    report["fixes"]
        .as_array()
        .map(|fixes| {
            fixes
                .iter()
                .map(|f| f["kind"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn the_reconciler_cleans_up_after_an_aborted_execution_and_a_dry_run_changes_nothing() {
    let server = &Moto::start();
    let mut deployment = deployment_on(server).await;
    let table_name = server
        .create_lock_table(&moto::unique("wire-reconcile"))
        .await;
    let table = DynamoDbLockTable::new(server.dynamodb().await, &table_name);
    let ecs = SdkEcs::new(server.ecs().await);
    let (dead_name, live_name) = (moto::unique("dead"), moto::unique("live"));
    let dead = execution(server, &deployment, &dead_name).await;
    let live = execution(server, &deployment, &live_name).await;
    let dead_task = run(
        server,
        &deployment,
        &ecs,
        &started_by_for_execution(&dead),
        Some(&dead_name),
    )
    .await;
    let live_task = run(
        server,
        &deployment,
        &ecs,
        &started_by_for_execution(&live),
        Some(&live_name),
    )
    .await;
    let other_task = run(server, &deployment, &ecs, "someone-else", None).await;
    for (scope, holder, task) in [
        ("dead-scope", &dead, &dead_task),
        ("live-scope", &live, &live_task),
    ] {
        assert!(table
            .put(&item(&deployment, scope, holder, task), Expected::Free)
            .await
            .unwrap());
    }
    // The execution is aborted; its status-change event is lost.
    server
        .sfn()
        .await
        .stop_execution()
        .execution_arn(&dead)
        .send()
        .await
        .expect("states:StopExecution");

    // A dry run says it would stop the task, and changes nothing.
    let mut cli = command(
        server,
        &[
            "reconcile",
            "--dry-run",
            "--json",
            "--grace-seconds",
            "0",
            "--state-machine-arn",
            &deployment.state_machine,
            "--cluster",
            &deployment.cluster,
            "--table",
            &table_name,
        ],
    );
    cli.envs(server.client_env());
    let output = finish(spawn(cli));
    assert_eq!(output.code, 0, "{output:?}");
    let dry: Value = serde_json::from_str(output.stdout.trim()).expect("one JSON report");
    assert_eq!(dry["dry_run"], true, "{dry}");
    assert_eq!(kinds(&dry), ["stop-task"], "{dry}");
    assert_eq!(dry["fixes"][0]["target"], dead_task.as_str(), "{dry}");
    assert_eq!(dry["fixes"][0]["done"], false, "{dry}");
    for task in [&dead_task, &live_task, &other_task] {
        assert_eq!(
            desired(server, &deployment, task).await.0,
            "RUNNING",
            "the dry run stopped {task}"
        );
    }
    assert!(
        table.get("dead-scope").await.unwrap().is_some(),
        "the dry run released the lock"
    );

    // The function, as the schedule invokes it: the payload is not read.
    deployment
        .env
        .push(("LOCK_TABLE".into(), table_name.clone()));
    deployment
        .env
        .push(("RECONCILE_GRACE_SECONDS".into(), "0".into()));
    let scheduled = json!({"version": "0", "id": "s", "detail-type": "Scheduled Event",
                           "source": "aws.events", "detail": {}});
    let Answer::Response(report) = deployment.invoke("reconcile", scheduled).await else {
        panic!("the reconciler failed");
    };
    assert_eq!(kinds(&report), ["stop-task", "release-lock"], "{report}");
    assert_eq!(report["complete"], true, "{report}");
    let (dead_desired, reason) = desired(server, &deployment, &dead_task).await;
    assert_eq!(dead_desired, "STOPPED");
    assert!(reason.contains("ecs-migrate reconcile"), "{reason}");
    assert!(
        table.get("dead-scope").await.unwrap().is_none(),
        "the lock was not released"
    );
    // The RUNNING execution's task and lock, and a task ecs-migrate did not start, stay.
    for task in [&live_task, &other_task] {
        let (_, reason) = desired(server, &deployment, task).await;
        assert!(
            !reason.contains("reconcile"),
            "{task} was stopped: {reason}"
        );
    }
    let live_lock = table
        .get("live-scope")
        .await
        .unwrap()
        .expect("the live execution's lock");
    assert_eq!(live_lock.holder, live);
}
