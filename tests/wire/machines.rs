//! Test state machines in the shape of statemachine/migration.asl.json, made only of the
//! states moto runs for real (Pass, Wait, Choice, Succeed, Fail): Pass states named RunTask and
//! PollStatus whose outputs carry `task` (a `StartedTask`, with the log stream) and `status`
//! (a `TaskStatus`, one per poll round, read from a script with States.ArrayGetItem), the
//! PollStatus/IsTaskStopped loop (a Wait state, PollInterval, stands for the time the real
//! PollStatus waits inside its Lambda), and MigrationSucceeded or a MigrationFailed Fail state
//! with Error and Cause. Call `Moto::enable_state_machine_execution` first.

use chrono::Utc;
use ecs_migrate::migration::{MigrationResult, Phase, StartedTask, TaskStatus};
use ecs_migrate::ports::ecs::{ContainerState, LastStatus};
use ecs_migrate::ports::logs::LogStream;
use serde_json::{json, Value};

use super::moto::{self, Moto, ACCOUNT};

#[derive(Clone)]
pub enum End {
    Succeed,
    Fail { error: String, cause: String },
}

pub struct Machine {
    /// Seconds in each PollInterval.
    pub wait: u32,
    /// The task's last status at each PollStatus round; the last one should be STOPPED.
    pub statuses: Vec<&'static str>,
    pub exit_code: i32,
    pub log: Option<LogStream>,
    pub end: End,
}

impl Machine {
    pub fn new(log: Option<LogStream>, end: End) -> Self {
        Self {
            wait: 1,
            statuses: vec!["PENDING", "RUNNING", "STOPPED"],
            exit_code: if matches!(end, End::Succeed) { 0 } else { 1 },
            log,
            end,
        }
    }

    pub fn definition(&self) -> Value {
        let task_arn = format!("arn:aws:ecs:us-east-1:{ACCOUNT}:task/migrations/0a1b2c3d");
        let task = StartedTask {
            task_arn: task_arn.clone(),
            cluster: "migrations".into(),
            run_at: Utc::now(),
            log_stream: self.log.clone(),
        };
        // One entry per poll round, each field its own array (States.ArrayGetItem picks the
        // round's).
        let rounds: Vec<TaskStatus> = self
            .statuses
            .iter()
            .enumerate()
            .map(|(i, last)| {
                let stopped = *last == "STOPPED";
                TaskStatus {
                    phase: if stopped {
                        Phase::Stopped
                    } else {
                        Phase::InProgress
                    },
                    last_status: LastStatus::parse(last),
                    desired_status: Some(if stopped {
                        LastStatus::Stopped
                    } else {
                        LastStatus::Running
                    }),
                    stop_code: stopped.then(|| "EssentialContainerExited".into()),
                    stopped_reason: stopped.then(|| "Essential container in task exited".into()),
                    created_at: None,
                    started_at: None,
                    stopped_at: None,
                    containers: vec![ContainerState {
                        name: "app".into(),
                        last_status: Some(LastStatus::parse(last)),
                        exit_code: stopped.then_some(self.exit_code),
                        reason: None,
                    }],
                    checked_at: Utc::now(),
                    polls: i as u64 + 1,
                    error: None,
                }
            })
            .collect();
        let rounds = serde_json::to_value(&rounds).unwrap();
        let field = |name: &str| -> Value {
            Value::Array(
                rounds
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r[name].clone())
                    .collect(),
            )
        };
        let fields = [
            "phase",
            "last_status",
            "stop_code",
            "stopped_reason",
            "containers",
            "checked_at",
            "polls",
        ];
        let mut script = serde_json::Map::new();
        for name in fields {
            script.insert(name.to_string(), field(name));
        }
        script.insert("round".into(), json!(0));
        let mut poll_params = serde_json::Map::new();
        let mut count_params = serde_json::Map::new();
        for name in fields {
            poll_params.insert(
                format!("{name}.$"),
                json!(format!(
                    "States.ArrayGetItem($.script.{name}, $.script.round)"
                )),
            );
            count_params.insert(format!("{name}.$"), json!(format!("$.script.{name}")));
        }
        count_params.insert("round.$".into(), json!("States.MathAdd($.script.round, 1)"));
        let check_next = match self.end {
            End::Succeed => "MigrationSucceeded",
            End::Fail { .. } => "MigrationFailed",
        };
        let result = MigrationResult {
            task_arn,
            container: "app".into(),
            exit_code: self.exit_code,
            duration_seconds: Some(3),
            log_stream: self.log.clone(),
        };
        // statemachine/migration.asl.json's names; the real PollStatus waits inside its Lambda,
        // here a Wait state (PollInterval) stands for that time.
        let mut states = json!({
            "ValidateEvent": {"Type": "Pass", "Result": Value::Object(script), "ResultPath": "$.script", "Next": "RunTask"},
            "RunTask": {"Type": "Pass", "Result": task, "ResultPath": "$.task", "Next": "PollInterval"},
            "PollInterval": {"Type": "Wait", "Seconds": self.wait, "Next": "PollStatus"},
            "PollStatus": {"Type": "Pass", "Parameters": Value::Object(poll_params), "ResultPath": "$.status", "Next": "NextRound"},
            "NextRound": {"Type": "Pass", "Parameters": Value::Object(count_params), "ResultPath": "$.script", "Next": "IsTaskStopped"},
            "IsTaskStopped": {"Type": "Choice",
                "Choices": [{"Variable": "$.status.phase", "StringEquals": "STOPPED", "Next": "CheckExitCode"}],
                "Default": "PollInterval"},
            "CheckExitCode": {"Type": "Pass", "Result": result, "ResultPath": "$.result", "Next": check_next},
        });
        match &self.end {
            End::Succeed => {
                states["MigrationSucceeded"] = json!({"Type": "Succeed"});
            }
            End::Fail { error, cause } => {
                states["MigrationFailed"] = json!({"Type": "Fail", "Error": error, "Cause": cause});
            }
        }
        json!({"Comment": "ecs-migrate test machine", "StartAt": "ValidateEvent", "States": states})
    }

    pub async fn create(&self, server: &Moto, prefix: &str) -> String {
        server
            .create_state_machine(&moto::unique(prefix), &self.definition())
            .await
    }
}

/// A machine that stays in one Wait state for `seconds` (for idempotency and timeouts).
pub async fn slow_machine(server: &Moto, seconds: u32) -> String {
    let definition = json!({"StartAt": "PollInterval", "States": {
        "PollInterval": {"Type": "Wait", "Seconds": seconds, "Next": "MigrationSucceeded"},
        "MigrationSucceeded": {"Type": "Succeed"}}});
    server
        .create_state_machine(&moto::unique("slow"), &definition)
        .await
}

/// A log group and stream with `lines`, as the task's container would have written them.
pub async fn log_stream(server: &Moto, lines: &[&str]) -> LogStream {
    let stream = LogStream {
        group: format!("/ecs/{}", moto::unique("app")),
        stream: format!("ecs/app/{}", moto::unique("task")),
        region: Some(moto::REGION.into()),
    };
    server
        .create_log_stream(&stream.group, &stream.stream, lines)
        .await;
    stream
}

pub async fn execution_status(server: &Moto, arn: &str) -> String {
    server
        .sfn()
        .await
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .expect("states:DescribeExecution")
        .status()
        .as_str()
        .to_string()
}
