//! `ecs-migrate local` as users run it: the binary, real processes, exit statuses 0/1/2.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_ecs-migrate");
const LIMIT: Duration = Duration::from_secs(60);

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "ecs-migrate-cli-{name}-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn taskdef(&self, container: Value) -> PathBuf {
        let mut container = container;
        if let Value::Object(c) = &mut container {
            c.entry("name").or_insert(json!("migrate"));
        }
        self.write(
            "taskdef.json",
            &json!({"family": "demo", "containerDefinitions": [container]}).to_string(),
        )
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// Waits for `child` at most `LIMIT`, killing it on overrun.
fn finish(mut child: Child, began: Instant) -> Run {
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if began.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("ecs-migrate did not finish within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code(),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        took: began.elapsed(),
    }
}

fn ecs_migrate(args: &[&str], stdin: Option<&str>) -> Run {
    let began = Instant::now();
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let text = text.to_string();
        std::thread::spawn(move || {
            use std::io::Write;
            let _ = pipe.write_all(text.as_bytes());
        });
    }
    finish(child, began)
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn bad_task_definition_files_exit_2_naming_the_field() {
    let dir = TempDir::new("bad-taskdef");
    let cases: Vec<(&str, String, &str)> = vec![
        ("not-json.json", "{family: demo".into(), "is not JSON"),
        (
            "no-family.json",
            json!({"containerDefinitions": [{"name": "m"}]}).to_string(),
            "family",
        ),
        (
            "no-containers.json",
            json!({"family": "demo"}).to_string(),
            "containerDefinitions",
        ),
        (
            "empty-containers.json",
            json!({"family": "demo", "containerDefinitions": []}).to_string(),
            "containerDefinitions",
        ),
        (
            "nameless.json",
            json!({"family": "demo", "containerDefinitions": [{"image": "x"}]}).to_string(),
            "containerDefinitions[0]",
        ),
        (
            "bad-env.json",
            json!({"family": "demo", "containerDefinitions": [
                {"name": "m", "environment": [{"name": "A", "value": 1}]}]})
            .to_string(),
            "containerDefinitions[0].environment[0].value",
        ),
        (
            "env-not-list.json",
            json!({"family": "demo", "containerDefinitions": [
                {"name": "m", "environment": {"A": "1"}}]})
            .to_string(),
            "containerDefinitions[0].environment",
        ),
    ];
    for (name, text, field) in cases {
        let file = dir.write(name, &text);
        let run = ecs_migrate(&["local", "--task-definition", path(&file)], None);
        assert_eq!(run.code, Some(2), "{name}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains(field),
            "{name}: {} does not name {field}",
            run.stderr
        );
        assert!(
            run.stderr.contains(name),
            "{name}: {} does not name the file",
            run.stderr
        );
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }

    let missing = ecs_migrate(
        &["local", "--task-definition", "/nonexistent/td.json"],
        None,
    );
    assert_eq!(missing.code, Some(2));
    assert!(
        missing.stderr.contains("--task-definition"),
        "{}",
        missing.stderr
    );

    let td = dir.taskdef(json!({}));
    let unknown = ecs_migrate(
        &[
            "local",
            "--task-definition",
            path(&td),
            "--container",
            "web",
        ],
        None,
    );
    assert_eq!(unknown.code, Some(2));
    assert!(unknown.stderr.contains("\"web\""), "{}", unknown.stderr);
    assert!(unknown.stderr.contains("migrate"), "{}", unknown.stderr);

    let no_flag = ecs_migrate(&["local"], None);
    assert_eq!(no_flag.code, Some(2));
    assert!(
        no_flag.stderr.contains("--task-definition"),
        "{}",
        no_flag.stderr
    );

    let bad_runner = ecs_migrate(
        &[
            "local",
            "--task-definition",
            path(&td),
            "--runner",
            "podman",
        ],
        None,
    );
    assert_eq!(bad_runner.code, Some(2));
    let bad_timeout = ecs_migrate(
        &["local", "--task-definition", path(&td), "--timeout", "0"],
        None,
    );
    assert_eq!(bad_timeout.code, Some(2));
}

#[test]
fn an_unreadable_event_file_exits_2() {
    let dir = TempDir::new("event-file");
    let td = dir.taskdef(json!({}));
    let run = ecs_migrate(
        &[
            "local",
            "--task-definition",
            path(&td),
            "--event",
            "/nonexistent/event.json",
        ],
        None,
    );
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("--event"), "{}", run.stderr);
}

#[test]
fn docker_without_a_daemon_exits_2_at_once() {
    let dir = TempDir::new("docker");
    let td = dir.taskdef(json!({"image": "python:3.12-slim"}));
    let began = Instant::now();
    let child = Command::new(BIN)
        .args([
            "local",
            "--task-definition",
            path(&td),
            "--runner",
            "docker",
        ])
        .env("DOCKER_HOST", "unix:///nonexistent/ecs-migrate/docker.sock")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let run = finish(child, began);
    assert_eq!(run.code, Some(2), "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("--runner process"), "{}", run.stderr);
    assert!(run.took < Duration::from_secs(10), "took {:?}", run.took);
}

/// Reads `child`'s stdout lines into a channel (for tests that act on progress).
#[allow(dead_code)]
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}
