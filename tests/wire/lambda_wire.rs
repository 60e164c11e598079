//! Layer 4: the Lambda binaries as Lambda runs them, under a Runtime API server on 127.0.0.1.
//! Errors must reach Step Functions as docs/troubleshooting.md's error names (the `errorType`).

use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::process::{Child, Command};

use crate::moto;
use crate::runtime_api::{Answer, RuntimeApi};

/// Starts a step's bootstrap against `api` with `env` (and nothing inherited that could reach AWS).
pub(crate) fn bootstrap(binary: &str, api: &RuntimeApi, env: &[(&str, &str)]) -> Child {
    let mut command = Command::new(binary);
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api.endpoint())
        .env("AWS_LAMBDA_FUNCTION_NAME", "test")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        // Nothing here should reach AWS: a closed port on loopback.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        command.env(k, v);
    }
    command.spawn().expect("start bootstrap")
}

/// The one bootstrap, serving `step` (as Terraform configures each function: ECS_MIGRATE_STEP).
pub(crate) fn step_bootstrap(step: &str, api: &RuntimeApi, env: &[(&str, &str)]) -> Child {
    let mut env = env.to_vec();
    env.push(("ECS_MIGRATE_STEP", step));
    bootstrap(env!("CARGO_BIN_EXE_bootstrap"), api, &env)
}

fn response_of(answer: Answer) -> Value {
    match answer {
        Answer::Response(value) => value,
        other => panic!("expected a response, got {other:?}"),
    }
}

pub(crate) fn error_of(answer: Answer) -> (String, String) {
    match answer {
        Answer::Error {
            error_type,
            message,
        } => (error_type, message),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[tokio::test]
async fn misconfigured_settings_fail_every_invocation_with_the_variable_named() {
    let api = RuntimeApi::start().await;
    let _child = step_bootstrap(
        "run-task",
        &api,
        &[("CONTAINER_NAME", "fastapi"), ("ALLOWED_FAMILIES", "app")],
    );
    for _ in 0..2 {
        let invocation = api.invoke(json!({}), Duration::from_secs(30)).await;
        let (error_type, message) = error_of(invocation.answer);
        assert_eq!(error_type, "Migration.Misconfigured");
        assert!(message.contains("CLUSTER"), "{message}");
    }
    assert_eq!(
        api.init_error(),
        None,
        "settings errors must not crash the runtime"
    );
}

#[tokio::test]
async fn validate_event_rejects_a_bad_event_by_name() {
    let api = RuntimeApi::start().await;
    let _child = step_bootstrap(
        "validate-event",
        &api,
        &[
            ("CLUSTER", "prod"),
            ("CONTAINER_NAME", "fastapi"),
            ("ALLOWED_FAMILIES", "app"),
        ],
    );
    let event = json!({"event": {"source": "aws.ecs", "detail-type": "AWS ECS Migration Task",
                                 "detail": {"taskdef_arn": "app"}}, "execution": {}});
    let (error_type, message) = error_of(api.invoke(event, Duration::from_secs(30)).await.answer);
    assert_eq!(error_type, "Migration.InvalidEvent");
    assert!(message.contains("source is \"aws.ecs\""), "{message}");

    let (error_type, message) = error_of(
        api.invoke(
            json!({"not": "the state machine's shape"}),
            Duration::from_secs(30),
        )
        .await
        .answer,
    );
    assert_eq!(error_type, "Migration.InvalidEvent");
    assert!(
        message.contains("validate-event received input it cannot read"),
        "{message}"
    );
}

/// An AWS endpoint that accepts connections and never answers: the functions' calls must fail
/// within their operation timeout (15 s) as Migration.AwsTransient, which the definition
/// retries, instead of hanging until the function itself times out.
#[tokio::test]
async fn a_hung_aws_call_fails_within_the_operation_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        // Bounded: the SDK opens a connection per attempt.
        while open.len() < 16 {
            match listener.accept().await {
                Ok((socket, _)) => open.push(socket),
                Err(_) => return,
            }
        }
    });
    let api = RuntimeApi::start().await;
    let _child = step_bootstrap(
        "stop-task",
        &api,
        &[
            ("CLUSTER", "prod"),
            ("CONTAINER_NAME", "fastapi"),
            ("ALLOWED_FAMILIES", "app"),
            ("AWS_ENDPOINT_URL", &endpoint),
            (
                "STATE_MACHINE_ARN",
                "arn:aws:states:us-east-1:123456789012:stateMachine:m",
            ),
        ],
    );
    let event = json!({"source": "aws.states", "detail-type": "Step Functions Execution Status Change",
                       "detail": {"executionArn": "arn:aws:states:us-east-1:123456789012:execution:m:e",
                                  "status": "ABORTED"}});
    // An answer at all, within the function's default timeout (60 s), is the point: without
    // the SDK timeouts the call would hang and the invocation would get none.
    let invocation = api.invoke(event, Duration::from_secs(60)).await;
    let (error_type, message) = error_of(invocation.answer);
    assert_eq!(error_type, "Migration.AwsTransient", "{message}");
    // Its first call confirms the event's word with Step Functions.
    assert!(message.contains("states:DescribeExecution"), "{message}");
    hold.abort();
}

/// A migration's resources in moto, and the bootstraps pointed at it.
pub(crate) struct Deployment {
    pub(crate) cluster: String,
    pub(crate) family: String,
    pub(crate) taskdef: String,
    pub(crate) env: Vec<(String, String)>,
    /// The state machine (in moto) whose executions the functions act for.
    pub(crate) state_machine: String,
}

impl Deployment {
    pub(crate) async fn new() -> Self {
        let server = moto::shared();
        let cluster = server.create_cluster(&moto::unique("wire")).await;
        let state_machine = server
            .create_state_machine(
                &moto::unique("wire-machine"),
                // A day's Wait: RUNNING whether or not moto runs definitions (another test of
                // the shared server may have turned that on).
                &json!({"StartAt": "Wait",
                        "States": {"Wait": {"Type": "Wait", "Seconds": 86400, "End": true}}}),
            )
            .await;
        let subnet = server.default_subnet();
        let security_group = server.create_security_group(&moto::unique("wire-sg"));
        let family = moto::unique("wire-app");
        let taskdef = server
            .register_task_definition(&family, "fastapi", "/ecs/wire-app", "ecs")
            .await;
        let mut env: Vec<(String, String)> = server
            .client_env()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        for (k, v) in [
            ("CLUSTER", cluster.clone()),
            ("CONTAINER_NAME", "fastapi".into()),
            ("SUBNETS", format!("[\"{subnet}\"]")),
            ("SECURITY_GROUPS", format!("[\"{security_group}\"]")),
            ("LAUNCH_TYPE", "FARGATE".into()),
            ("ALLOWED_FAMILIES", format!("[\"{family}\"]")),
            ("ACCOUNT_ID", moto::ACCOUNT.into()),
            ("POLL_INTERVAL_SECONDS", "1".into()),
            ("POLL_MAX_WAIT_SECONDS", "60".into()),
            ("LOG_TAIL_LINES", "3".into()),
            ("LOG_TAIL_REDACT", r"password=\S+".into()),
            ("STATE_MACHINE_ARN", state_machine.clone()),
        ] {
            env.push((k.to_string(), v));
        }
        Self {
            cluster,
            family,
            taskdef,
            env,
            state_machine,
        }
    }

    /// Starts execution `name` of the state machine in moto (it stays RUNNING until stopped)
    /// and returns `$$.Execution` as the definition passes it to validate-event.
    pub(crate) async fn execution(&self, name: &str, input: &Value) -> Value {
        let started = moto::shared()
            .sfn()
            .await
            .start_execution()
            .state_machine_arn(&self.state_machine)
            .name(name)
            .input(input.to_string())
            .send()
            .await
            .expect("states:StartExecution");
        json!({
            "id": started.execution_arn(),
            "name": name,
            "start_time": chrono::Utc::now().to_rfc3339(),
        })
    }

    /// validate-event for a new RUNNING execution `name` of `event`.
    pub(crate) async fn validate(&self, name: &str, event: Value) -> Value {
        let execution = self.execution(name, &event).await;
        response_of(
            self.invoke(
                "validate-event",
                json!({"event": event, "execution": execution}),
            )
            .await,
        )
    }

    /// Starts the bootstrap as `step`'s function under a fresh Runtime API and invokes it once
    /// with `event`.
    pub(crate) async fn invoke(&self, step: &str, event: Value) -> Answer {
        let api = RuntimeApi::start().await;
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut child = step_bootstrap(step, &api, &env);
        let invocation = api.invoke(event, Duration::from_secs(60)).await;
        child.kill().await.ok();
        invocation.answer
    }
}

/// A Task state's input as the definition builds it: the state and `$$.Execution.Id`.
pub(crate) fn call(state: Value, request: &Value) -> Value {
    json!({"state": state, "execution_id": request["execution_id"]})
}

#[tokio::test]
async fn the_five_steps_as_lambdas_against_moto() {
    let deployment = Deployment::new().await;
    let server = moto::shared();
    let ecs = server.ecs().await;

    // validate-event resolves the family to the registered revision.
    let request = deployment
        .validate(
            &moto::unique("wire-1"),
            json!({"taskdef_arn": deployment.family}),
        )
        .await;
    assert_eq!(request["taskdef_arn"], deployment.taskdef.as_str());
    assert_eq!(request["container"], "fastapi");
    assert_eq!(request["cluster"], deployment.cluster.as_str());

    // run-task starts it in moto with the command override and startedBy.
    let task = response_of(
        deployment
            .invoke(
                "run-task",
                call(json!({"request": request.clone()}), &request),
            )
            .await,
    );
    assert_eq!(task["outcome"], "STARTED", "{task}");
    let task_arn = task["task_arn"].as_str().expect("task_arn").to_string();
    let described = ecs
        .describe_tasks()
        .cluster(&deployment.cluster)
        .tasks(&task_arn)
        .send()
        .await
        .expect("ecs:DescribeTasks");
    let moto_task = &described.tasks()[0];
    assert_eq!(moto_task.started_by(), request["started_by"].as_str());
    assert_eq!(
        moto_task.task_definition_arn(),
        Some(deployment.taskdef.as_str())
    );
    let overrides = moto_task
        .overrides()
        .expect("overrides")
        .container_overrides();
    assert_eq!(overrides[0].name(), Some("fastapi"));
    assert_eq!(overrides[0].command(), ["alembic", "upgrade", "head"]);
    let task_id = task_arn.rsplit('/').next().unwrap();
    assert_eq!(
        task["log_stream"]["stream"],
        format!("ecs/fastapi/{task_id}").as_str()
    );

    // poll-status follows it to STOPPED (moto moves one status per DescribeTasks).
    let status = response_of(
        deployment
            .invoke(
                "poll-status",
                call(json!({"request": request, "task": task}), &request),
            )
            .await,
    );
    assert_eq!(status["phase"], "STOPPED", "{status}");
    assert_eq!(status["last_status"], "STOPPED");
    assert!(status["polls"].as_u64().unwrap() >= 2, "{status}");

    // check-exit-code reads the container's stream from CloudWatch Logs.
    server
        .create_log_stream(
            "/ecs/wire-app",
            &format!("ecs/fastapi/{task_id}"),
            &[
                "Running upgrade 1 -> 2 with password=hunter2-secret",
                "Running upgrade 2 -> 3",
                "done",
            ],
        )
        .await;
    let state = json!({"request": request, "task": task, "status": status});
    let result = response_of(deployment.invoke("check-exit-code", state.clone()).await);
    assert_eq!(result["exit_code"], 0, "{result}");
    assert_eq!(result["task_arn"], task_arn.as_str());

    // The same stopped task judged with a failing exit code: the Cause carries the log tail,
    // with what LOG_TAIL_REDACT matches masked.
    let mut failed = state.clone();
    failed["status"]["containers"][0]["exit_code"] = json!(1);
    failed["status"]["containers"][0]["name"] = json!("fastapi");
    let (error_type, cause) = error_of(deployment.invoke("check-exit-code", failed).await);
    assert_eq!(error_type, "Migration.NonZeroExit");
    assert!(cause.contains("exited with code 1"), "{cause}");
    assert!(
        cause.ends_with("Running upgrade 1 -> 2 with [redacted]\nRunning upgrade 2 -> 3\ndone"),
        "{cause}"
    );
    assert!(!cause.contains("hunter2"), "{cause}");
}

#[tokio::test]
async fn stop_task_stops_a_running_task_in_moto() {
    let deployment = Deployment::new().await;
    let server = moto::shared();
    let ecs = server.ecs().await;
    let request = deployment
        .validate(
            &moto::unique("wire-stop"),
            json!({"taskdef_arn": deployment.taskdef}),
        )
        .await;
    let task = response_of(
        deployment
            .invoke(
                "run-task",
                call(json!({"request": request.clone()}), &request),
            )
            .await,
    );
    let task_arn = task["task_arn"].as_str().unwrap().to_string();
    let state = json!({
        "request": request, "task": task,
        "error": {"Error": "Migration.Timeout", "Cause": "too slow"}
    });
    // The execution's StopTask state invokes stop-task, as its history shows.
    server.enter_state(request["execution_id"].as_str().unwrap(), "StopTask");
    let stopped = response_of(deployment.invoke("stop-task", call(state, &request)).await);
    assert_eq!(stopped["stopped"][0], task_arn.as_str(), "{stopped}");
    let described = ecs
        .describe_tasks()
        .cluster(&deployment.cluster)
        .tasks(&task_arn)
        .send()
        .await
        .expect("ecs:DescribeTasks");
    let moto_task = &described.tasks()[0];
    assert_eq!(moto_task.desired_status(), Some("STOPPED"));
    assert!(
        moto_task
            .stopped_reason()
            .unwrap_or_default()
            .contains("failed with Migration.Timeout"),
        "{:?}",
        moto_task.stopped_reason()
    );
}

/// The lock steps as Lambdas: the one `bootstrap` configured for each step, with `LOCK_TABLE`
/// naming a DynamoDB table in moto (the function then uses `DynamoDbLockTable`).
#[tokio::test]
async fn the_lock_steps_as_lambdas_against_moto_dynamodb() {
    use ecs_migrate::ports::lock::{DynamoDbLockTable, LockTable};

    let mut deployment = Deployment::new().await;
    let server = moto::shared();
    let table_name = server.create_lock_table(&moto::unique("wire-lock")).await;
    deployment
        .env
        .push(("LOCK_TABLE".into(), table_name.clone()));
    // A second execution fails at once instead of waiting (LOCK_WAIT_SECONDS=0).
    deployment
        .env
        .push(("LOCK_WAIT_SECONDS".into(), "0".into()));
    let table = DynamoDbLockTable::new(server.dynamodb().await, &table_name);
    let event = json!({"taskdef_arn": deployment.family});
    let first = deployment
        .validate(&moto::unique("wire-lock-1"), event.clone())
        .await;
    let second = deployment
        .validate(&moto::unique("wire-lock-2"), event)
        .await;

    // The first execution takes the family's lock: the item is in DynamoDB.
    let lock = response_of(
        deployment
            .invoke(
                "acquire-lock",
                call(json!({"request": first.clone()}), &first),
            )
            .await,
    );
    assert_eq!(lock["outcome"], "ACQUIRED", "{lock}");
    let item = table
        .get(&deployment.family)
        .await
        .unwrap()
        .expect("the lock item");
    assert_eq!(Some(item.holder.as_str()), first["execution_id"].as_str());
    assert_eq!(item.task_arn, None);

    // The second finds it held, and with no wait allowed fails naming the holder.
    let (error_type, message) = error_of(
        deployment
            .invoke("acquire-lock", call(json!({"request": second}), &second))
            .await,
    );
    assert_eq!(error_type, "Migration.Locked", "{message}");
    assert!(message.contains("wire-lock-1"), "{message}");

    // run-task renews the lease and records the task in the lock.
    let task = response_of(
        deployment
            .invoke(
                "run-task",
                call(
                    json!({"request": first.clone(), "lock": lock.clone()}),
                    &first,
                ),
            )
            .await,
    );
    assert_eq!(task["outcome"], "STARTED", "{task}");
    let item = table.get(&deployment.family).await.unwrap().expect("held");
    assert_eq!(item.task_arn.as_deref(), task["task_arn"].as_str());

    // release-lock waits for the task to stop (moto moves it one status per DescribeTasks),
    // then deletes the item.
    let released = response_of(
        deployment
            .invoke(
                "release-lock",
                call(
                    json!({"request": first, "lock": lock, "task": task}),
                    &first,
                ),
            )
            .await,
    );
    assert_eq!(released["outcome"], "RELEASED", "{released}");
    assert_eq!(released["released"], true, "{released}");
    assert_eq!(table.get(&deployment.family).await.unwrap(), None);
}
