//! `ecs-migrate lock status|release --table` against moto: the lock in DynamoDB, the holder's
//! task in ECS. moto's tasks start RUNNING and move one status per DescribeTasks towards
//! STOPPED (RUNNING, DEACTIVATING, STOPPING, DEPROVISIONING, STOPPED), so a task described at
//! most three times still runs; StopTask stops one at once.

use chrono::{Duration, Utc};
use ecs_migrate::ports::ecs::{
    AwsVpc, Ecs, LastStatus, Placement, RunTaskOutcome, RunTaskParams, SdkEcs, TaskLookup,
};
use ecs_migrate::ports::lock::{DynamoDbLockTable, Expected, LockItem, LockTable};
use serde_json::Value;

use crate::cli_aws::command;
use crate::moto::{self, Moto};
use crate::process::{finish, spawn, Output};

/// A cluster with a task definition, where the tests run tasks.
struct Cluster {
    ecs: SdkEcs,
    arn: String,
    taskdef: String,
    subnet: String,
}

impl Cluster {
    async fn new(server: &Moto) -> Self {
        let family = moto::unique("locked-app");
        Self {
            ecs: SdkEcs::new(server.ecs().await),
            arn: server.create_cluster(&moto::unique("lock")).await,
            taskdef: server
                .register_task_definition(&family, "app", "/ecs/locked", "ecs")
                .await,
            subnet: server.default_subnet(),
        }
    }

    /// Starts a task with this `startedBy`; returns its ARN.
    async fn run(&self, started_by: &str) -> String {
        let params = RunTaskParams {
            cluster: self.arn.clone(),
            task_definition: self.taskdef.clone(),
            container: "app".into(),
            command: vec!["alembic".into(), "upgrade".into(), "head".into()],
            network: Some(AwsVpc {
                subnets: vec![self.subnet.clone()],
                security_groups: vec![],
                assign_public_ip: false,
            }),
            placement: Placement::LaunchType("FARGATE".into()),
            platform_version: None,
            client_token: moto::unique("token"),
            started_by: started_by.into(),
            tags: vec![],
        };
        let RunTaskOutcome::Started { task_arn } = self.ecs.run_task(&params).await.unwrap() else {
            panic!("moto refused RunTask");
        };
        task_arn
    }

    /// A lock item of `holder`, whose task is `task_arn` (None: RunTask's answer never
    /// recorded), with a lease running for another ten minutes.
    fn item(&self, scope: &str, holder: &str, task_arn: Option<&str>) -> LockItem {
        let now = Utc::now();
        LockItem {
            scope: scope.into(),
            holder: format!("arn:aws:states:us-east-1:123456789012:execution:migrate:{holder}"),
            execution_name: Some(holder.into()),
            client_token: format!("token-{holder}"),
            taskdef_arn: self.taskdef.clone(),
            family: "app".into(),
            revision: 7,
            cluster: self.arn.clone(),
            started_by: format!("ecs-migrate/{holder}"),
            task_arn: task_arn.map(str::to_string),
            since: now - Duration::minutes(5),
            lease_until: now + Duration::minutes(10),
        }
    }
}

async fn lock_table(server: &Moto) -> (String, DynamoDbLockTable) {
    let name = server.create_lock_table(&moto::unique("lock")).await;
    let table = DynamoDbLockTable::new(server.dynamodb().await, &name);
    (name, table)
}

/// Runs `ecs-migrate lock ARGS` against moto, off the async runtime.
async fn lock_cli(server: &'static Moto, args: &[&str]) -> Output {
    let mut all = vec!["lock".to_string()];
    all.extend(args.iter().map(|a| a.to_string()));
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = all.iter().map(String::as_str).collect();
        finish(spawn(command(server, &args)))
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn release_refuses_while_the_task_runs_and_force_releases_it() {
    let server = moto::shared();
    let cluster = Cluster::new(server).await;
    let (table_name, table) = lock_table(server).await;
    let task = cluster.run("ecs-migrate/a").await;
    let held = cluster.item("app", "a", Some(&task));
    assert!(table.put(&held, Expected::Free).await.unwrap());
    let target = ["--table", table_name.as_str(), "--scope", "app"];

    let mut args = vec!["status"];
    args.extend(target);
    let out = lock_cli(server, &args).await;
    assert_eq!(out.code, 0, "{out:?}");
    for needle in [
        "scope app: held".to_string(),
        format!("execution  a ({})", held.holder),
        format!("migration  app:7 ({})", cluster.taskdef),
        format!("{task}: "),
        "still runs".to_string(),
    ] {
        assert!(out.stdout.contains(&needle), "{needle}: {out:?}");
    }

    let mut args = vec!["release"];
    args.extend(target);
    let out = lock_cli(server, &args).await;
    assert_eq!(out.code, 1, "refused while the task runs: {out:?}");
    for needle in [
        format!("the holder's task {task} is still"),
        format!("aws ecs stop-task --cluster {} --task {task}", cluster.arn),
        "--force".to_string(),
    ] {
        assert!(out.stderr.contains(&needle), "{needle}: {out:?}");
    }
    assert_eq!(
        table.get("app").await.unwrap().map(|i| i.holder),
        Some(held.holder.clone()),
        "the lock is kept"
    );

    args.push("--force");
    let out = lock_cli(server, &args).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains(&format!(
            "released the lock held by execution a ({})",
            held.holder
        )),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains(&format!("warning: its task {task} still runs")),
        "says the task still runs: {out:?}"
    );
    assert_eq!(table.get("app").await.unwrap(), None, "released");
}

/// A recorded task ECS does not show (MISSING) is not taken as gone while it could be a task
/// too new to show (eventual consistency): `lock release` refuses it as a running one. Once
/// the holder's lease ended more than ECS's hour of keeping STOPPED tasks ago, MISSING means
/// gone, and the lock is released.
#[tokio::test(flavor = "multi_thread")]
async fn release_of_a_holder_whose_task_is_missing() {
    let server = moto::shared();
    let cluster = Cluster::new(server).await;
    let (table_name, table) = lock_table(server).await;
    let task = format!(
        "{}/0123456789abcdef0123456789abcdef",
        cluster.arn.replace(":cluster/", ":task/")
    );
    let held = cluster.item("db", "m", Some(&task));
    assert!(table.put(&held, Expected::Free).await.unwrap());
    let args = ["release", "--table", table_name.as_str(), "--scope", "db"];
    let out = lock_cli(server, &args).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("not released"), "{out:?}");
    assert!(out.stderr.contains("MISSING"), "{out:?}");
    assert!(table.get("db").await.unwrap().is_some(), "kept");

    let old = LockItem {
        since: Utc::now() - Duration::hours(3),
        lease_until: Utc::now() - Duration::minutes(61),
        ..held.clone()
    };
    assert!(table.release("db", &held.holder).await.unwrap());
    assert!(table.put(&old, Expected::Free).await.unwrap());
    let out = lock_cli(server, &args).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("no longer known to ECS"), "{out:?}");
    assert_eq!(table.get("db").await.unwrap(), None, "released");
}

#[tokio::test(flavor = "multi_thread")]
async fn release_of_a_stopped_holder_and_of_a_free_scope() {
    let server = moto::shared();
    let cluster = Cluster::new(server).await;
    let (table_name, table) = lock_table(server).await;
    let task = cluster.run("ecs-migrate/b").await;
    cluster
        .ecs
        .stop_task(&cluster.arn, &task, "test: the holder's task stopped")
        .await
        .unwrap();
    // A stopped task drains (STOPPING, ...) before it is STOPPED; moto moves it one step a look.
    loop {
        match cluster
            .ecs
            .describe_task(&cluster.arn, &task)
            .await
            .unwrap()
        {
            TaskLookup::Found(t) if t.last_status != LastStatus::Stopped => continue,
            _ => break,
        }
    }
    let held = cluster.item("db", "b", Some(&task));
    assert!(table.put(&held, Expected::Free).await.unwrap());
    let args = ["release", "--table", table_name.as_str(), "--scope", "db"];

    let out = lock_cli(server, &args).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .contains("scope db: released the lock held by execution b"),
        "{out:?}"
    );
    assert!(
        out.stdout.contains(&format!("its task: {task} is STOPPED")),
        "{out:?}"
    );
    assert_eq!(table.get("db").await.unwrap(), None);

    // Free now: nothing to release, and status says free.
    let out = lock_cli(server, &args).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("nothing to release"), "{out:?}");
    let out = lock_cli(
        server,
        &["status", "--table", &table_name, "--scope", "db", "--json"],
    )
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    let status: Value = serde_json::from_str(&out.stdout).expect("one JSON object");
    assert_eq!(status["held"], false, "{status}");
    assert_eq!(status["holder"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn status_finds_an_unrecorded_task_by_started_by() {
    let server = moto::shared();
    let cluster = Cluster::new(server).await;
    let (table_name, table) = lock_table(server).await;
    // RunTask's answer was lost: the item has no task, but the holder's startedBy finds it.
    let task = cluster.run("ecs-migrate/c").await;
    let held = cluster.item("orders", "c", None);
    assert!(table.put(&held, Expected::Free).await.unwrap());
    let out = lock_cli(
        server,
        &[
            "status",
            "--table",
            &table_name,
            "--scope",
            "orders",
            "--json",
        ],
    )
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    let status: Value = serde_json::from_str(&out.stdout).expect("one JSON object");
    assert_eq!(status["held"], true, "{status}");
    assert_eq!(status["holder"]["execution"], held.holder.as_str());
    assert_eq!(status["holder"]["executionName"], "c");
    assert_eq!(status["holder"]["migration"], "app:7");
    assert_eq!(status["holder"]["leaseExpired"], false);
    assert_eq!(status["holder"]["taskArn"], Value::Null);
    assert_eq!(status["task"]["state"], "RUNNING", "{status}");
    assert_eq!(status["task"]["taskArn"], task.as_str());
    // Times as the table keeps them: milliseconds, UTC.
    let kept = table.get("orders").await.unwrap().unwrap();
    assert_eq!(
        status["holder"]["leaseUntil"],
        kept.lease_until
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            .as_str()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_table_fails_and_bad_flags_are_usage_errors() {
    let server = moto::shared();
    let missing = moto::unique("no-such-lock-table");
    let out = lock_cli(server, &["status", "--table", &missing, "--scope", "app"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains(&missing), "{out:?}");
    assert!(out.stderr.contains("ResourceNotFoundException"), "{out:?}");

    let out = lock_cli(
        server,
        &[
            "status",
            "--table",
            "t",
            "--lock-dir",
            "/tmp/x",
            "--scope",
            "a",
        ],
    )
    .await;
    assert_eq!(out.code, 2, "--table and --lock-dir are exclusive: {out:?}");
    let out = lock_cli(server, &["release", "--table", "t"]).await;
    assert_eq!(out.code, 2, "--scope is required: {out:?}");
}

/// A holder whose item records no task and whose task is being stopped: ListTasks without
/// desiredStatus no longer lists it (desiredStatus STOPPED), so status and release also list
/// the holder's tasks with desiredStatus STOPPED and see it drain (DEACTIVATING, STOPPING, ...)
/// until it is STOPPED. moto's stopped task moves one step per DescribeTasks.
#[tokio::test(flavor = "multi_thread")]
async fn a_task_being_stopped_that_the_item_does_not_record_still_runs() {
    let server = moto::shared();
    let cluster = Cluster::new(server).await;
    let (table_name, table) = lock_table(server).await;
    let task = cluster.run("ecs-migrate/d").await;
    cluster
        .ecs
        .stop_task(&cluster.arn, &task, "test: the holder's execution failed")
        .await
        .unwrap();
    let held = cluster.item("jobs", "d", None);
    assert!(table.put(&held, Expected::Free).await.unwrap());
    let target = ["--table", table_name.as_str(), "--scope", "jobs"];

    let mut args = vec!["status"];
    args.extend(target);
    let out = lock_cli(server, &args).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains(&format!(
            "{task}: STOPPING (being stopped: desiredStatus STOPPED), still runs"
        )),
        "{out:?}"
    );

    let mut args = vec!["release"];
    args.extend(target);
    let out = lock_cli(server, &args).await;
    assert_eq!(out.code, 1, "refused while the task drains: {out:?}");
    assert!(
        out.stderr
            .contains(&format!("the holder's task {task} is still DEPROVISIONING")),
        "{out:?}"
    );
    assert!(table.get("jobs").await.unwrap().is_some(), "kept");

    // STOPPED now: released, naming the task.
    let out = lock_cli(server, &args).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains(&format!("its task: {task} is STOPPED")),
        "{out:?}"
    );
    assert_eq!(table.get("jobs").await.unwrap(), None);
}
