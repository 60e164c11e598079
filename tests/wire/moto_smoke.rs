//! Proves the moto harness: the project's ECS adapter against moto server, from RunTask with
//! an awsvpc configuration to a STOPPED task and its exit code.

use aws_sdk_ecs::types::{
    AwsVpcConfiguration, ContainerOverride, KeyValuePair, LaunchType, NetworkConfiguration,
    TaskOverride,
};
use ecs_migrate::ports::ecs::{
    AwsVpc, DesiredStatus, Ecs, LastStatus, Placement, RunTaskOutcome, RunTaskParams, SdkEcs,
    TaskLookup,
};

use crate::moto;

/// DescribeTasks until STOPPED; moto advances one status per call, so a handful is plenty.
async fn describe_until_stopped(ecs: &SdkEcs, cluster: &str, task_arn: &str) -> Vec<String> {
    let mut seen = Vec::new();
    for _ in 0..10 {
        let TaskLookup::Found(task) = ecs.describe_task(cluster, task_arn).await.unwrap() else {
            panic!("moto lost task {task_arn}");
        };
        seen.push(task.last_status.to_string());
        if task.last_status == LastStatus::Stopped {
            return seen;
        }
    }
    panic!("task {task_arn} not STOPPED after 10 DescribeTasks: {seen:?}");
}

#[tokio::test]
async fn run_task_through_the_sdk_adapter_to_stopped_with_exit_codes() {
    let server = moto::shared();
    let cluster = server.create_cluster(&moto::unique("smoke")).await;
    let subnet = server.default_subnet();
    let security_group = server.create_security_group(&moto::unique("smoke-sg"));
    let family = moto::unique("smoke-app");
    let taskdef = server
        .register_task_definition(&family, "app", "/ecs/smoke", "ecs")
        .await;
    assert!(
        taskdef.ends_with(&format!("task-definition/{family}:1")),
        "{taskdef}"
    );

    let ecs = SdkEcs::new(server.ecs().await);
    let described = ecs
        .describe_task_definition(&family)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(described.arn, taskdef);
    assert_eq!(described.network_mode.as_deref(), Some("awsvpc"));
    let log = described.containers[0]
        .log
        .clone()
        .expect("awslogs configuration");
    assert_eq!(log.group.as_deref(), Some("/ecs/smoke"));
    assert_eq!(log.stream_prefix.as_deref(), Some("ecs"));

    // RunTask with awsvpc through the adapter: the migration succeeds (exit 0).
    let params = RunTaskParams {
        cluster: cluster.clone(),
        task_definition: taskdef.clone(),
        container: "app".into(),
        command: vec!["alembic".into(), "upgrade".into(), "head".into()],
        network: Some(AwsVpc {
            subnets: vec![subnet.clone()],
            security_groups: vec![security_group.clone()],
            assign_public_ip: false,
        }),
        placement: Placement::LaunchType("FARGATE".into()),
        platform_version: None,
        client_token: moto::unique("token"),
        started_by: "ecs-migrate-smoke".into(),
        tags: vec![("ecs-migrate:execution".into(), "smoke".into())],
    };
    let RunTaskOutcome::Started { task_arn } = ecs.run_task(&params).await.unwrap() else {
        panic!("moto refused RunTask");
    };
    let seen = describe_until_stopped(&ecs, &cluster, &task_arn).await;
    assert!(
        seen.len() > 1,
        "moto should pass through other statuses first: {seen:?}"
    );
    let TaskLookup::Found(stopped) = ecs.describe_task(&cluster, &task_arn).await.unwrap() else {
        panic!("task gone");
    };
    assert_eq!(stopped.containers[0].exit_code, Some(0));
    assert_eq!(
        stopped.stop_code.as_deref(),
        Some("EssentialContainerExited")
    );
    // Its container exited: desiredStatus STOPPED, so only ListTasks with STOPPED lists it.
    assert_eq!(
        ecs.list_tasks(&cluster, "ecs-migrate-smoke", DesiredStatus::Stopped)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(ecs
        .list_tasks_started_by(&cluster, "ecs-migrate-smoke")
        .await
        .unwrap()
        .is_empty());

    // The same, without security groups (moto bug 1) and exiting 3 (the MOTO_EXIT_CODE hook,
    // set through the plain client: the adapter never sets container environment).
    let out = server
        .ecs()
        .await
        .run_task()
        .cluster(&cluster)
        .task_definition(&taskdef)
        .launch_type(LaunchType::Fargate)
        .network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(
                    AwsVpcConfiguration::builder()
                        .subnets(&subnet)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .overrides(
            TaskOverride::builder()
                .container_overrides(
                    ContainerOverride::builder()
                        .name("app")
                        .environment(
                            KeyValuePair::builder()
                                .name("MOTO_EXIT_CODE")
                                .value("3")
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("RunTask without securityGroups");
    let failing = out.tasks()[0].task_arn().unwrap().to_string();
    let TaskLookup::Found(running) = ecs.describe_task(&cluster, &failing).await.unwrap() else {
        panic!("task gone");
    };
    assert_eq!(
        running.containers[0].exit_code, None,
        "no exit code before STOPPED"
    );
    describe_until_stopped(&ecs, &cluster, &failing).await;
    let TaskLookup::Found(stopped) = ecs.describe_task(&cluster, &failing).await.unwrap() else {
        panic!("task gone");
    };
    assert_eq!(stopped.containers[0].exit_code, Some(3));

    // StopTask: stop code UserInitiated with the reason given.
    let RunTaskOutcome::Started {
        task_arn: stopped_arn,
    } = ecs
        .run_task(&RunTaskParams {
            client_token: moto::unique("token"),
            ..params
        })
        .await
        .unwrap()
    else {
        panic!("moto refused RunTask");
    };
    ecs.stop_task(&cluster, &stopped_arn, "smoke: stop")
        .await
        .unwrap();
    // desiredStatus STOPPED at once; it drains (STOPPING, ...) one step a look to STOPPED.
    let seen = describe_until_stopped(&ecs, &cluster, &stopped_arn).await;
    assert!(seen.len() > 1, "{seen:?}");
    let TaskLookup::Found(task) = ecs.describe_task(&cluster, &stopped_arn).await.unwrap() else {
        panic!("task gone");
    };
    assert_eq!(task.last_status, LastStatus::Stopped);
    assert_eq!(task.desired_status, Some(LastStatus::Stopped));
    assert_eq!(task.stop_code.as_deref(), Some("UserInitiated"));
    assert_eq!(task.stopped_reason.as_deref(), Some("smoke: stop"));
}

#[tokio::test]
async fn unknown_task_definitions_are_none() {
    let server = moto::shared();
    let ecs = SdkEcs::new(server.ecs().await);
    assert_eq!(
        ecs.describe_task_definition(&moto::unique("nope"))
            .await
            .unwrap(),
        None
    );
}
