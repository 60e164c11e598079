//! The example task definitions load, and the stdlib-only SQLite example migrates for real
//! through the local runner (python3 is the only requirement).

use std::path::PathBuf;
use std::time::Duration;

use ecs_migrate::local::{LocalEcs, LocalTaskDefinition};
use ecs_migrate::ports::ecs::{Ecs, Placement, RunTaskOutcome, RunTaskParams};
use ecs_migrate::ports::logs::{LogStream, Logs};

fn example(path: &str) -> LocalTaskDefinition {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    LocalTaskDefinition::load(root.join(path)).unwrap()
}

#[test]
fn the_fastapi_task_definition_is_the_seeds() {
    let td = example("examples/fastapi-app/taskdef.json");
    assert_eq!(td.family, "fastapi-app");
    let c = td.default_container();
    assert_eq!(c.name, "fastapi");
    assert!(c
        .image
        .as_deref()
        .is_some_and(|i| i.contains("fastapi-app")));
    assert!(c.environment.iter().any(|(name, _)| name == "DATABASE_URL"));
    assert_eq!(c.command[0], "uvicorn");
    let described = td.to_task_definition();
    let log = described.containers[0].log.as_ref().unwrap();
    assert_eq!(log.group.as_deref(), Some("/ecs/fastapi-app"));
    assert_eq!(log.stream_prefix.as_deref(), Some("ecs"));
}

#[tokio::test]
async fn the_sqlite_example_migrates_then_has_nothing_to_do() {
    let mut td = example("examples/local/taskdef.json");
    assert_eq!(td.family, "local-demo");
    let dir = std::env::temp_dir().join(format!("ecs-migrate-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("app.db");
    let _ = std::fs::remove_file(&db);
    // Keep the test's database out of the work tree.
    for (name, value) in &mut td.containers[0].environment {
        if name == "DEMO_DATABASE" {
            *value = db.to_string_lossy().into_owned();
        }
    }
    let ecs = LocalEcs::new(td);
    let command = ecs.task_definition().default_container().command.clone();
    assert_eq!(command, vec!["python3", "examples/local/migrate.py"]);
    let described = ecs
        .describe_task_definition("local-demo")
        .await
        .unwrap()
        .unwrap();
    let log = described.containers[0].log.clone();

    let mut outputs = Vec::new();
    for token in ["first", "second"] {
        let params = RunTaskParams {
            cluster: "local".into(),
            task_definition: "local-demo:1".into(),
            container: "migrate".into(),
            command: command.clone(),
            network: None,
            placement: Placement::ClusterDefault,
            platform_version: None,
            client_token: token.into(),
            started_by: "example".into(),
            tags: vec![],
        };
        let RunTaskOutcome::Started { task_arn } = ecs.run_task(&params).await.unwrap() else {
            panic!("not started");
        };
        let state = tokio::time::timeout(Duration::from_secs(30), ecs.wait_stopped(&task_arn))
            .await
            .unwrap()
            .unwrap();
        let stream = LogStream::for_container(log.as_ref(), "migrate", &task_arn).unwrap();
        let lines = ecs.tail(&stream, 50).await.unwrap().unwrap();
        assert_eq!(state.containers[0].exit_code, Some(0), "{lines:?}");
        outputs.push(lines.join("\n"));
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        outputs[0].contains("applying 001 create_users"),
        "{}",
        outputs[0]
    );
    assert!(
        outputs[0].contains("applying 002 create_orders"),
        "{}",
        outputs[0]
    );
    assert!(
        outputs[1].contains("already up to date (version 2)"),
        "{}",
        outputs[1]
    );
}
