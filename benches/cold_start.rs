//! Cold start and peak memory: the Rust run-task bootstrap against its floor (a hello-world
//! `lambda_runtime` function, benches/lambda_floor.rs, built with the same profile) and against
//! the Python Lambda it replaces (benches/baseline/lambda_migration.py under awslambdaric), all
//! under the same Runtime API server; run-task and the Python Lambda call ecs:RunTask on the
//! same moto server, run-task after its states:DescribeExecution of the execution it acts for.
//! Not a test: run `bash benches/cold-start.sh`, which builds the bootstrap and the floor as the
//! zips are built (profile lambda-release) and passes them in `ECS_MIGRATE_BOOTSTRAP` and
//! `ECS_MIGRATE_FLOOR`; without the first the bench measures its own (bench profile) build.
//!
//! Cold start = process start to the first response; init = process start to its first
//! `GET /next`; memory = the process's VmHWM.

#[path = "../tests/wire/moto.rs"]
#[allow(dead_code)]
mod moto;
#[path = "../tests/wire/runtime_api.rs"]
mod runtime_api;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use runtime_api::{Answer, RuntimeApi};
use serde_json::{json, Value};
use tokio::process::Command;

const RUNS: usize = 7;

struct Sample {
    first_response: Duration,
    init: Duration,
    peak_kib: u64,
}

fn peak_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

async fn run_once(mut command: Command, event: Value) -> Sample {
    let api = RuntimeApi::start().await;
    command
        .env("AWS_LAMBDA_RUNTIME_API", api.endpoint())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let started = Instant::now();
    let mut child = command.spawn().expect("start the bootstrap");
    let invocation = api.invoke(event, Duration::from_secs(60)).await;
    let pid = child.id().expect("pid");
    let peak_kib = peak_kib(pid);
    child.kill().await.ok();
    match &invocation.answer {
        Answer::Response(_) => {}
        Answer::Error {
            error_type,
            message,
        } => panic!("{error_type}: {message}"),
    }
    Sample {
        first_response: invocation.answered_at - started,
        init: invocation
            .first_next_at
            .map_or(Duration::ZERO, |t| t - started),
        peak_kib,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn report(name: &str, samples: &[Sample]) -> (f64, f64) {
    let first = median(
        samples
            .iter()
            .map(|s| s.first_response.as_secs_f64() * 1e3)
            .collect(),
    );
    let init = median(samples.iter().map(|s| s.init.as_secs_f64() * 1e3).collect());
    let peak = median(samples.iter().map(|s| s.peak_kib as f64 / 1024.0).collect());
    println!("{name:<34} {first:>10.1} ms {init:>10.1} ms {peak:>9.1} MiB");
    (first, peak)
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async {
        let root = moto::repo_root();
        let python = root.join(".tools/bench/bin/python");
        assert!(
            python.exists(),
            "missing {}: python3 -m venv .tools/bench && .tools/bench/bin/pip install awslambdaric boto3",
            python.display()
        );
        let server = moto::shared();
        // The baseline passes no launch type: as its real cluster did, this one defaults to Fargate.
        let cluster = server
            .ecs()
            .await
            .create_cluster()
            .cluster_name("bench")
            .capacity_providers("FARGATE")
            .default_capacity_provider_strategy(
                aws_sdk_ecs::types::CapacityProviderStrategyItem::builder()
                    .capacity_provider("FARGATE")
                    .weight(1)
                    .build()
                    .expect("strategy item"),
            )
            .send()
            .await
            .expect("ecs:CreateCluster")
            .cluster()
            .and_then(|c| c.cluster_arn())
            .expect("cluster ARN")
            .to_string();
        let subnet = server.default_subnet();
        let security_group = server.create_security_group("bench-sg");
        let taskdef = server
            .register_task_definition("bench-app", "fastapi", "/ecs/bench", "ecs")
            .await;
        let client_env = server.client_env();

        // run-task acts only for a RUNNING execution of its state machine: one per run, started
        // before the clock starts (a day's Wait keeps it RUNNING).
        let state_machine = server
            .create_state_machine(
                &moto::unique("bench-machine"),
                &json!({"StartAt": "Wait",
                        "States": {"Wait": {"Type": "Wait", "Seconds": 86400, "End": true}}}),
            )
            .await;
        let mut executions = Vec::new();
        for i in 0..RUNS {
            let started = server
                .sfn()
                .await
                .start_execution()
                .state_machine_arn(&state_machine)
                .name(moto::unique(&format!("bench-{i}")))
                .input("{}")
                .send()
                .await
                .expect("states:StartExecution");
            executions.push(started.execution_arn().to_string());
        }
        // run-task's state data: the request and the execution (the lock is left out: the
        // bench measures the start, DescribeExecution and RunTask).
        let rust_event = |i: usize| {
            json!({"execution_id": executions[i], "request": {
                "taskdef_arn": taskdef, "family": "bench-app", "revision": 1, "cluster": cluster,
                "container": "fastapi", "command": ["alembic", "upgrade", "head"],
                "client_token": format!("bench-{i}"), "started_by": "ecs-migrate/bench",
                "started_at": "2026-11-25T12:00:00Z", "deadline": "2026-11-25T13:00:00Z", "log": null
            }})
        };
        let python_event = json!({
            "version": "0", "id": "bench", "detail-type": "AWS ECS Migration Task",
            "source": "ecs.migration", "account": moto::ACCOUNT, "time": "2026-11-25T12:00:00Z",
            "region": moto::REGION, "resources": [], "detail": {"taskdef_arn": taskdef}
        });

        let rust_bin = std::env::var_os("ECS_MIGRATE_BOOTSTRAP")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_bootstrap")));
        println!("bootstrap: {}", rust_bin.display());
        let floor_bin = std::env::var_os("ECS_MIGRATE_FLOOR")
            .map(PathBuf::from)
            .expect("ECS_MIGRATE_FLOOR: the floor's binary (bash benches/cold-start.sh builds it)");
        let baseline_dir = root.join("benches/baseline");
        let lambda_env = [
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ];
        let mut floor = Vec::new();
        let mut rust = Vec::new();
        let mut python_samples = Vec::new();
        for i in 0..RUNS {
            let mut command = Command::new(&rust_bin);
            command.env_clear().envs(client_env.iter().map(|(k, v)| (*k, v.as_str()))).envs([
                ("CLUSTER", cluster.as_str()),
                ("CONTAINER_NAME", "fastapi"),
                ("SUBNETS", &format!("[\"{subnet}\"]")),
                ("SECURITY_GROUPS", &format!("[\"{security_group}\"]")),
                ("LAUNCH_TYPE", "FARGATE"),
                ("ALLOWED_FAMILIES", "bench-app"),
                ("AWS_LAMBDA_FUNCTION_NAME", "run-task"),
                // The one bootstrap serves the step its handler names.
                ("_HANDLER", "run-task"),
                ("STATE_MACHINE_ARN", state_machine.as_str()),
            ]).envs(lambda_env);
            rust.push(run_once(command, rust_event(i)).await);

            let mut command = Command::new(&floor_bin);
            command
                .env_clear()
                .envs(lambda_env)
                .env("AWS_LAMBDA_FUNCTION_NAME", "floor");
            floor.push(run_once(command, json!({"hello": "world"})).await);

            let mut command = Command::new(&python);
            command
                .args(["-m", "awslambdaric", "lambda_migration.lambda_handler"])
                .current_dir(&baseline_dir)
                .env_clear()
                .envs(client_env.iter().map(|(k, v)| (*k, v.as_str())))
                .envs([
                    ("PRIVATE_SUBNETS", format!("[\"{subnet}\"]")),
                    ("SECURITY_GROUP", security_group.clone()),
                    ("CLUSTER_NAME", cluster.clone()),
                    ("PATH", std::env::var("PATH").unwrap_or_default()),
                ]);
            python_samples.push(run_once(command, python_event.clone()).await);
        }

        println!("cold start and peak memory, median of {RUNS} runs, RunTask against moto on 127.0.0.1");
        println!("{:<34} {:>13} {:>13} {:>13}", "", "first resp.", "init", "peak RSS");
        let floor_figures = report("floor (hello-world lambda_runtime)", &floor);
        let (rust_ms, rust_mib) = report("rust run-task (release bootstrap)", &rust);
        let (py_ms, py_mib) = report("python baseline (awslambdaric)", &python_samples);
        let init = |samples: &[Sample]| {
            median(samples.iter().map(|s| s.init.as_secs_f64() * 1e3).collect())
        };
        println!(
            "bootstrap against its floor: init {:.1}x (goal <= 2x), peak memory {:.1}x; first run-task answer {:.1} ms, {:.2}x the 10.9 ms before issue 18 (goal <= 1.5x)",
            init(&rust) / init(&floor),
            rust_mib / floor_figures.1,
            rust_ms,
            rust_ms / 10.9
        );
        println!(
            "ratios: first response {:.1}x faster, peak memory {:.1}x smaller (goals: >= 20x, >= 5x)",
            py_ms / rust_ms,
            py_mib / rust_mib
        );
    });
}
