//! The Docker back end of `ecs-migrate local --runner docker`, without a daemon: a stand-in
//! `docker` client first on PATH runs the container's command as its own child and keeps the
//! container's state in a directory, answering `info`, `run`, `stop`, `inspect` and `rm` the
//! way the real client does for what the runner reads (exit codes, stderr, `--format`).
//! It records each call, so the tests see what the runner asked of Docker.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

/// The stand-in client. `run` parses the flags the runner passes and runs the rest after the
/// image; an image named `missing:*` fails as a pull does (exit 125, no container).
const FAKE_DOCKER: &str = r#"#!/bin/sh
state="$FAKE_DOCKER_DIR"
echo "$*" >> "$state/calls.log"
last() { for a in "$@"; do :; done; echo "$a"; }
cmd=$1; shift
case "$cmd" in
  info) echo 27.0.0 ;;
  run)
    name=""
    while [ $# -gt 0 ]; do
      case "$1" in
        --name) name=$2; shift 2 ;;
        --network|--stop-timeout|--env|--workdir|--user|--entrypoint) shift 2 ;;
        *) image=$1; shift; break ;;
      esac
    done
    case "$image" in
      missing:*) echo "Unable to find image '$image' locally" >&2; exit 125 ;;
    esac
    "$@" &
    pid=$!
    echo "$pid" > "$state/$name.pid"
    wait "$pid"
    code=$?
    echo "$code|" > "$state/$name.state"
    exit "$code" ;;
  stop)
    timeout=$2; name=$3
    pid=$(cat "$state/$name.pid")
    kill -TERM "$pid"
    i=0
    while kill -0 "$pid" 2>/dev/null && [ "$i" -lt $((timeout * 10)) ]; do sleep 0.1; i=$((i + 1)); done
    kill -KILL "$pid" 2>/dev/null
    exit 0 ;;
  inspect)
    name=$(last "$@")
    [ -f "$state/$name.state" ] || { echo "No such container: $name" >&2; exit 1; }
    cat "$state/$name.state" ;;
  rm)
    name=$(last "$@")
    rm -f "$state/$name.pid" "$state/$name.state"
    echo "$name" >> "$state/removed.log" ;;
esac
"#;

struct FakeDocker {
    dir: PathBuf,
}

impl FakeDocker {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "ecs-migrate-docker-{name}-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        let client = dir.join("bin/docker");
        std::fs::write(&client, FAKE_DOCKER).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&client, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self { dir }
    }

    /// `ecs-migrate local --runner docker` on an image-bearing task definition, with this
    /// client first on PATH.
    fn local(&self, image: &str, extra: &[&str]) -> (Option<i32>, String, Duration) {
        let taskdef = self.dir.join("taskdef.json");
        let container = json!({"name": "migrate", "image": image, "stopTimeout": 2});
        std::fs::write(
            &taskdef,
            json!({"family": "demo", "containerDefinitions": [container]}).to_string(),
        )
        .unwrap();
        let path = format!(
            "{}:{}",
            self.dir.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let began = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_ecs-migrate"))
            .args(["local", "--runner", "docker", "--task-definition"])
            .arg(&taskdef)
            .args(extra)
            .env("PATH", path)
            .env("FAKE_DOCKER_DIR", &self.dir)
            .env("ECS_MIGRATE_LOCK_DIR", self.dir.join("locks"))
            .env_remove("DOCKER_HOST")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text, began.elapsed())
    }

    fn calls(&self) -> Vec<String> {
        read_lines(&self.dir.join("calls.log"))
    }

    fn removed(&self) -> Vec<String> {
        read_lines(&self.dir.join("removed.log"))
    }
}

impl Drop for FakeDocker {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn the_containers_output_and_exit_code_are_the_tasks_and_the_container_is_removed() {
    let docker = FakeDocker::new("exit");
    let (code, out, _) = docker.local(
        "app:1",
        &[
            "--",
            "sh",
            "-c",
            "echo applying 0003; echo oops >&2; exit 3",
        ],
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("failed: Migration.NonZeroExit, exit code 3"),
        "{out}"
    );
    assert!(out.contains("  | applying 0003"), "{out}");
    assert!(out.contains("  | oops"), "{out}");
    let calls = docker.calls();
    let run = calls
        .iter()
        .find(|c| c.starts_with("run "))
        .unwrap_or_else(|| panic!("no docker run in {calls:?}"));
    let name = run.split(' ').nth(2).unwrap_or_default().to_string();
    assert!(name.starts_with("ecs-migrate-"), "{run}");
    assert!(run.contains("--stop-timeout 2 app:1 sh -c"), "{run}");
    assert!(
        calls
            .iter()
            .any(|c| c.starts_with("inspect ") && c.ends_with(&name)),
        "{calls:?}"
    );
    assert!(docker.removed().contains(&name), "{calls:?}");
}

#[test]
fn a_timeout_stops_the_container_with_docker_stop_and_its_stop_timeout() {
    let docker = FakeDocker::new("stop");
    let (code, out, took) = docker.local("app:1", &["--timeout", "1", "--", "sleep", "300"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("failed: Migration.Timeout"), "{out}");
    assert!(took < Duration::from_secs(20), "took {took:?}");
    let calls = docker.calls();
    assert!(
        calls
            .iter()
            .any(|c| c.starts_with("stop -t 2 ecs-migrate-")),
        "{calls:?}"
    );
    assert_eq!(docker.removed().len(), 1, "{calls:?}");
}

#[test]
fn an_image_that_cannot_be_pulled_fails_to_start_with_dockers_words() {
    let docker = FakeDocker::new("pull");
    let (code, out, _) = docker.local("missing:1", &["--", "true"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("Migration.TaskFailedToStart"), "{out}");
    assert!(
        out.contains(
            "CannotPullContainerError: docker run failed: Unable to find image 'missing:1' locally"
        ),
        "{out}"
    );
}
