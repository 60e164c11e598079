//! `ecs-migrate local` as users run it: the binary, real processes, exit statuses 0/1/2.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The ecs-migrate binary cargo built for these tests.
fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_ecs-migrate"))
}

const LIMIT: Duration = Duration::from_secs(60);

/// The binary with a lock directory of its own, so tests running at once never wait for each
/// other's migration lock.
fn local_command(lock_dir: &Path) -> Command {
    let mut command = Command::new(bin());
    command.env("ECS_MIGRATE_LOCK_DIR", lock_dir);
    command
}

/// A lock directory no other run uses.
fn own_lock_dir() -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("ecs-migrate-cli-locks-{}-{n}", std::process::id()))
}

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
    let mut child = local_command(&own_lock_dir())
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
    // A year passes the flag's range but not the history budget: refused before anything runs,
    // naming the flag and the longest it can be.
    let untrackable = ecs_migrate(
        &[
            "local",
            "--task-definition",
            path(&td),
            "--timeout",
            "31536000",
            "--",
            "true",
        ],
        None,
    );
    assert_eq!(untrackable.code, Some(2), "{}", untrackable.stderr);
    // The limit the machine's history budget gives ecs-migrate local's settings.
    let taskdef = ecs_migrate::local::LocalTaskDefinition::load(Path::new(path(&td))).unwrap();
    let settings = ecs_migrate::cli::local::local_settings(
        &taskdef,
        "migrate",
        Duration::from_secs(3600),
        &[],
    );
    let longest = ecs_migrate::statemachine::budget::longest_tracked_seconds(&settings);
    assert!(
        untrackable.stderr.contains("--timeout 31536000")
            && untrackable.stderr.contains(&format!("at most {longest}")),
        "{}",
        untrackable.stderr
    );
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
    let child = local_command(&own_lock_dir())
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

/// True while `pid` is a live (not zombie) process.
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| !matches!(rest.trim_start().chars().next(), Some('Z' | 'X')))
            .unwrap_or(false),
        Err(_) => false,
    }
}

fn all_dead(pids: &[i32]) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if pids.iter().all(|p| !alive(*p)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// The numbers the migration printed (its pids), from the prefixed output lines.
fn printed_pids(stdout: &str) -> Vec<i32> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("  | "))
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// A task definition for the SQLite example whose database is in `dir`.
fn sqlite_example(dir: &TempDir) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut td: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("examples/local/taskdef.json")).unwrap(),
    )
    .unwrap();
    let db = dir.0.join("app.db");
    td["containerDefinitions"][0]["environment"] = json!([
        {"name": "DEMO_DATABASE", "value": db.to_string_lossy()},
        {"name": "PYTHONUNBUFFERED", "value": "1"}
    ]);
    dir.write("local-demo.json", &td.to_string())
}

/// Copies the directory `from` into `to`, files and subdirectories.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A run's output with what changes from run to run (task ids, durations) made generic.
fn generic_output(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split(' ').collect();
        let mut generic: Vec<String> = Vec::new();
        for (i, word) in words.iter().enumerate() {
            let hex = |w: &str| {
                w.chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
            };
            let id = word.trim_end_matches(')');
            let replaced = if (id.len() == 12 || id.len() == 32) && hex(id) {
                word.replace(id, "<id>")
            } else if word.parse::<f64>().is_ok() && words.get(i + 1) == Some(&"s") {
                "<seconds>".to_string()
            } else {
                word.to_string()
            };
            generic.push(replaced);
        }
        out.push_str(&generic.join(" "));
        out.push('\n');
    }
    out
}

#[test]
fn the_readme_demo_prints_what_the_readme_shows() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let command = readme
        .lines()
        .find_map(|line| line.strip_prefix("cargo run -- local "))
        .expect("README.md shows the demo as `cargo run -- local ...`");
    let shown = readme
        .split("```text\n")
        .find(|block| block.starts_with("ecs-migrate local: "))
        .and_then(|block| block.split("```").next())
        .expect("README.md shows the demo's output in a text block");
    // The demo as a fresh clone runs it: the example's files, no database yet.
    let dir = TempDir::new("readme-demo");
    copy_dir(&root.join("examples/local"), &dir.0.join("examples/local"));
    let _ = std::fs::remove_file(dir.0.join("examples/local/app.db"));
    let began = Instant::now();
    let child = local_command(&own_lock_dir())
        .arg("local")
        .args(command.split_whitespace())
        .current_dir(&dir.0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let run = finish(child, began);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert_eq!(
        generic_output(&run.stdout),
        generic_output(shown),
        "README.md's demo output differs from what the demo prints (stderr: {})",
        run.stderr
    );
}

#[test]
fn generic_output_hides_only_ids_and_durations() {
    assert_eq!(
        generic_output("  task 41904fc8834f RUNNING\nsucceeded: exit code 0, 0.2 s (task 41904fc8834ff1fa02c8099b8ad03748)\n"),
        "  task <id> RUNNING\nsucceeded: exit code 0, <seconds> s (task <id>)\n"
    );
    assert_eq!(
        generic_output("applying 001 create_users"),
        "applying 001 create_users\n"
    );
}

#[test]
fn the_sqlite_example_succeeds_then_has_nothing_to_do() {
    let dir = TempDir::new("sqlite");
    let td = sqlite_example(&dir);
    let args = [
        "local",
        "--task-definition",
        path(&td),
        "--",
        "python3",
        "examples/local/migrate.py",
    ];
    let first = ecs_migrate(&args, None);
    assert_eq!(first.code, Some(0), "{}{}", first.stdout, first.stderr);
    for expected in [
        "- ValidateEvent",
        "- RunTask",
        "- PollStatus",
        "- CheckExitCode",
        "- MigrationSucceeded",
        "RUNNING",
        "STOPPED (EssentialContainerExited, exit code 0)",
        "  | migrate: applying 001 create_users",
        "  | migrate: applying 002 create_orders",
        "succeeded: exit code 0",
    ] {
        assert!(
            first.stdout.contains(expected),
            "no {expected:?} in:\n{}",
            first.stdout
        );
    }
    // Lines appear in the order they happened.
    let applying = first.stdout.find("applying 001").unwrap();
    assert!(first.stdout.find("- RunTask").unwrap() < applying);
    assert!(applying < first.stdout.find("succeeded:").unwrap());

    let second = ecs_migrate(&args, None);
    assert_eq!(second.code, Some(0), "{}{}", second.stdout, second.stderr);
    assert!(
        second.stdout.contains("schema is already up to date"),
        "{}",
        second.stdout
    );
}

#[test]
fn the_default_command_is_alembic_upgrade_head() {
    let dir = TempDir::new("default-command");
    let fake_bin = dir.0.join("bin");
    std::fs::create_dir_all(&fake_bin).unwrap();
    let alembic = fake_bin.join("alembic");
    std::fs::write(&alembic, "#!/bin/sh\necho \"fake alembic: $*\"\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&alembic, std::fs::Permissions::from_mode(0o755)).unwrap();
    let td = dir.taskdef(json!({}));
    let began = Instant::now();
    let child = local_command(&own_lock_dir())
        .args(["local", "--task-definition", path(&td)])
        .env(
            "PATH",
            format!(
                "{}:{}",
                fake_bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let run = finish(child, began);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("  | fake alembic: upgrade head"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_failing_migration_exits_1_with_its_log_tail_in_the_cause() {
    let dir = TempDir::new("nonzero");
    let td = dir.taskdef(json!({}));
    let script = "echo applying 0003; echo 'relation \"postz\" does not exist' >&2; exit 3";
    let run = ecs_migrate(
        &[
            "local",
            "--task-definition",
            path(&td),
            "--",
            "sh",
            "-c",
            script,
        ],
        None,
    );
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("failed: Migration.NonZeroExit, exit code 3"),
        "{}",
        run.stdout
    );
    let cause = &run.stdout[run.stdout.find("cause:").expect("no cause")..];
    assert!(cause.contains("exited with code 3"), "{cause}");
    assert!(cause.contains("applying 0003"), "{cause}");
    assert!(
        cause.contains("relation \"postz\" does not exist"),
        "{cause}"
    );

    let json_run = ecs_migrate(
        &[
            "local",
            "--task-definition",
            path(&td),
            "--json",
            "--",
            "sh",
            "-c",
            script,
        ],
        None,
    );
    assert_eq!(json_run.code, Some(1));
    let result: Value = serde_json::from_str(json_run.stdout.trim())
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {}", json_run.stdout));
    assert_eq!(result["status"], "FAILED");
    assert_eq!(result["error"], "Migration.NonZeroExit");
    assert_eq!(result["exit_code"], 3);
    assert!(result["cause"]
        .as_str()
        .unwrap()
        .contains("relation \"postz\" does not exist"));
    assert!(result["task_arn"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:ecs:local:"));
    // The progress went to stderr.
    assert!(
        json_run.stderr.contains("  | applying 0003"),
        "{}",
        json_run.stderr
    );
}

/// Values given with --env and --env-file never reach the terminal, the Cause or --json's
/// result, and --redact masks what else the migration prints.
#[test]
fn env_values_and_redact_matches_are_masked_in_the_output_and_the_cause() {
    let dir = TempDir::new("redact");
    let td = dir.taskdef(json!({}));
    let env_file = dir.write("vars.env", "ECS_MIGRATE_T_FILE=file-s3cr3t-value\n");
    let script = "echo \"url postgres://app:$ECS_MIGRATE_T_PASS@db/app\"; echo \"file $ECS_MIGRATE_T_FILE\"; echo 'api token=abc123def'; echo kept; exit 1";
    for json_flag in [false, true] {
        let mut args = vec![
            "local",
            "--task-definition",
            path(&td),
            "--env",
            "ECS_MIGRATE_T_PASS=hunter2-pass",
            "--env-file",
            path(&env_file),
            "--redact",
            "token=[a-z0-9]+",
        ];
        if json_flag {
            args.push("--json");
        }
        args.extend(["--", "sh", "-c", script]);
        let run = ecs_migrate(&args, None);
        let all = format!("{}{}", run.stdout, run.stderr);
        assert_eq!(run.code, Some(1), "{all}");
        for secret in ["hunter2-pass", "file-s3cr3t-value", "abc123def"] {
            assert!(!all.contains(secret), "{secret} was shown: {all}");
        }
        assert!(
            all.contains("  | url postgres://app:[redacted]@db/app"),
            "{all}"
        );
        assert!(all.contains("  | api [redacted]"), "{all}");
        assert!(all.contains("  | kept"), "{all}");
        // The Cause carries the log tail, masked the same way.
        let cause = if json_flag {
            let result: Value = serde_json::from_str(run.stdout.trim()).unwrap();
            result["cause"].as_str().unwrap().to_string()
        } else {
            run.stdout[run.stdout.find("cause:").expect("no cause")..].to_string()
        };
        assert!(cause.contains("file [redacted]"), "{cause}");
        assert!(cause.contains("kept"), "{cause}");
    }
    let bad = ecs_migrate(
        &[
            "local",
            "--task-definition",
            path(&td),
            "--redact",
            "(",
            "--",
            "true",
        ],
        None,
    );
    assert_eq!(bad.code, Some(2), "{}{}", bad.stdout, bad.stderr);
    assert!(
        bad.stderr.contains("--redact is not a regular expression"),
        "{}",
        bad.stderr
    );
}

/// What a run relays from files it did not write (a lock holder's names, a hook's id) reaches
/// the terminal with its control characters escaped.
#[test]
fn relayed_names_and_hook_ids_are_shown_escaped() {
    let dir = TempDir::new("relayed");
    let td = dir.taskdef(json!({}));
    let locks = dir.0.join("locks");
    std::fs::create_dir_all(&locks).unwrap();
    let until = chrono::Utc::now() + chrono::Duration::hours(1);
    let item = json!({
        "scope": "demo", "holder": "arn:x:\u{1b}]0;owned\u{7}", "execution_name": "evil\u{1b}[2J\rname",
        "client_token": "t", "taskdef_arn": "demo:1", "family": "demo", "revision": 1,
        "cluster": "local", "started_by": "s", "since": "2026-01-01T00:00:00Z",
        "lease_until": until.to_rfc3339()
    });
    std::fs::write(locks.join("demo.json"), item.to_string()).unwrap();
    let out = local_command(&locks)
        .args([
            "local",
            "--task-definition",
            path(&td),
            "--lock-wait",
            "0",
            "--",
            "true",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("evil\\x1b[2J\\rname"), "{stdout}");
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains('\r'),
        "{stdout:?}"
    );

    let mut event: Value =
        serde_json::from_str(&std::fs::read_to_string(hook_event_file()).unwrap()).unwrap();
    event["detail"]["hookId"] = json!("ecs-pause-\u{1b}[31mred\u{202e}");
    let event_file = dir.write("hook.json", &event.to_string());
    let run = ecs_migrate(
        &[
            "local",
            "--task-definition",
            path(&td),
            "--event",
            path(&event_file),
            "--",
            "true",
        ],
        None,
    );
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("to hook ecs-pause-\\x1b[31mred\\u{202e}"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains('\u{1b}'), "{:?}", run.stdout);
}

#[test]
fn a_command_that_cannot_start_is_task_failed_to_start() {
    let dir = TempDir::new("not-found");
    let td = dir.taskdef(json!({}));
    let run = ecs_migrate(
        &[
            "local",
            "--task-definition",
            path(&td),
            "--",
            "/opt/app/migrate",
            "up",
        ],
        None,
    );
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("failed: Migration.TaskFailedToStart"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("CannotStartContainerError: executable not found: /opt/app/migrate"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_timeout_stops_the_whole_process_tree() {
    let dir = TempDir::new("timeout");
    let td = dir.taskdef(json!({"stopTimeout": 2}));
    let run = ecs_migrate(
        &[
            "local",
            "--task-definition",
            path(&td),
            "--timeout",
            "2",
            "--",
            "sh",
            "-c",
            "echo $$; sleep 300 & echo $!; wait",
        ],
        None,
    );
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("failed: Migration.Timeout"),
        "{}",
        run.stdout
    );
    assert!(run.took < Duration::from_secs(15), "took {:?}", run.took);
    let pids = printed_pids(&run.stdout);
    assert_eq!(pids.len(), 2, "{}", run.stdout);
    assert!(all_dead(&pids), "{pids:?} survived the timeout");
}

/// Starts `local` on a shell that prints its pid and a background child's pid, and returns
/// the runner, its stdout lines so far and the two pids once both are printed.
fn start_two_processes(td: &Path) -> (Child, mpsc::Receiver<String>, Vec<String>, Vec<i32>) {
    start_two_processes_locking(td, &own_lock_dir())
}

fn start_two_processes_locking(
    td: &Path,
    lock_dir: &Path,
) -> (Child, mpsc::Receiver<String>, Vec<String>, Vec<i32>) {
    let mut child = local_command(lock_dir)
        .args([
            "local",
            "--task-definition",
            path(td),
            "--",
            "sh",
            "-c",
            "echo $$; sleep 300 & echo $!; wait",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = lines_of(&mut child);
    let mut seen = Vec::new();
    while printed_pids(&seen.join("\n")).len() < 2 {
        match lines.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => seen.push(line),
            Err(_) => {
                let _ = child.kill();
                panic!("the migration never started: {seen:?}");
            }
        }
    }
    let pids = printed_pids(&seen.join("\n"));
    (child, lines, seen, pids)
}

/// Waits at most `LIMIT` for `child` to exit, killing it on overrun.
fn wait_exit(child: &mut Child, what: &str) -> std::process::ExitStatus {
    let began = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if began.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("ecs-migrate did not end after {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigint_sigterm_and_sighup_stop_the_task_and_exit_128_plus_the_signal() {
    let dir = TempDir::new("signals");
    let td = dir.taskdef(json!({"stopTimeout": 5}));
    for (signal, name, code) in [
        (libc::SIGINT, "SIGINT", 130),
        (libc::SIGTERM, "SIGTERM", 143),
        (libc::SIGHUP, "SIGHUP", 129),
    ] {
        let (mut child, lines, seen, pids) = start_two_processes(&td);
        // SAFETY: kill with a pid we spawned and a valid signal.
        let sent = unsafe { libc::kill(child.id() as i32, signal) };
        assert_eq!(sent, 0);
        let status = wait_exit(&mut child, name);
        let rest: Vec<String> = lines.iter().collect();
        let stdout = format!("{}\n{}", seen.join("\n"), rest.join("\n"));
        assert_eq!(status.code(), Some(code), "{name}: {stdout}");
        assert!(
            stdout.contains("failed: Migration.TaskStopped"),
            "{name}: {stdout}"
        );
        assert!(
            stdout.contains(&format!("interrupted by {name}")),
            "{stdout}"
        );
        // 143: SIGTERM ended the task; SIGKILL after stopTimeout (137) was not needed.
        assert!(stdout.contains("exit code 143"), "{name}: {stdout}");
        assert!(all_dead(&pids), "{name}: {pids:?} survived");
    }
}

#[test]
fn a_runner_killed_outright_takes_its_whole_task_with_it() {
    let dir = TempDir::new("sigkill");
    let td = dir.taskdef(json!({"stopTimeout": 5}));
    let (mut child, _lines, _seen, pids) = start_two_processes(&td);
    assert!(pids.iter().all(|p| alive(*p)), "{pids:?}");
    // SIGKILL: the runner gets no chance to stop anything itself.
    child.kill().unwrap();
    let _ = child.wait();
    assert!(
        all_dead(&pids),
        "{pids:?} outlived the runner that was killed"
    );
}

#[test]
fn bad_events_fail_the_execution_without_starting_a_task() {
    let dir = TempDir::new("events");
    let td = dir.taskdef(json!({}));
    let envelope = |detail: Value| {
        json!({"version": "0", "id": "e-1", "detail-type": "AWS ECS Migration Task",
               "source": "ecs.migration", "account": "000000000000", "time": "2026-11-25T12:00:00Z",
               "region": "local", "resources": [], "detail": detail})
        .to_string()
    };
    let cases: Vec<(&str, String, &str, &str)> = vec![
        (
            "wrong-source",
            json!({"source": "aws.ecs", "detail-type": "AWS ECS Migration Task", "detail": {"taskdef_arn": "demo"}}).to_string(),
            "Migration.InvalidEvent",
            "source",
        ),
        ("missing-arn", envelope(json!({})), "Migration.InvalidEvent", "detail.taskdef_arn is missing"),
        ("number-arn", envelope(json!({"taskdef_arn": 42})), "Migration.InvalidEvent", "not a string"),
        ("null-arn", json!({"taskdef_arn": null}).to_string(), "Migration.InvalidEvent", "taskdef_arn"),
        ("other-family", envelope(json!({"taskdef_arn": "payments"})), "Migration.NotAllowed", "payments"),
        ("detail-not-json", envelope(json!("{oops")), "Migration.InvalidEvent", "detail is a string that is not JSON"),
        ("huge-detail-arn", envelope(json!({"taskdef_arn": "a".repeat(200_000)})), "Migration.InvalidEvent", "characters long"),
        ("command-in-event", json!({"taskdef_arn": "demo", "command": ["rm", "-rf", "/"]}).to_string(), "Migration.NotAllowed", "command"),
    ];
    for (name, text, error, fragment) in cases {
        let file = dir.write(&format!("{name}.json"), &text);
        let run = ecs_migrate(
            &[
                "local",
                "--task-definition",
                path(&td),
                "--event",
                path(&file),
                "--json",
                "--",
                "true",
            ],
            None,
        );
        assert_eq!(run.code, Some(1), "{name}: {}{}", run.stdout, run.stderr);
        assert!(!run.stderr.contains("panicked"), "{name}: {}", run.stderr);
        let result: Value = serde_json::from_str(run.stdout.trim())
            .unwrap_or_else(|e| panic!("{name}: not one JSON object ({e}): {}", run.stdout));
        assert_eq!(result["error"], error, "{name}: {result}");
        let cause = result["cause"].as_str().unwrap_or_default();
        assert!(
            cause.contains(fragment),
            "{name}: {cause:?} lacks {fragment:?}"
        );
        assert!(
            cause.len() < 2_000,
            "{name}: the cause echoes the input ({} chars)",
            cause.len()
        );
        assert_eq!(
            result["task_arn"],
            Value::Null,
            "{name}: a task was started"
        );
    }

    // From standard input, and a good envelope runs.
    let run = ecs_migrate(
        &[
            "local",
            "--task-definition",
            path(&td),
            "--event",
            "-",
            "--",
            "true",
        ],
        Some(&envelope(json!({"taskdef_arn": "demo:1"}))),
    );
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
}

/// One rule for every file on the command line: an event StartExecution would refuse (not JSON,
/// over 256 KiB) is a usage error, exit 2, as a missing one is; nothing runs. `--no-limits`
/// lifts the size limit, and the refusal says so.
#[test]
fn event_files_the_command_cannot_use_exit_2_and_no_limits_lifts_the_size_limit() {
    let dir = TempDir::new("event-files");
    let td = dir.taskdef(json!({}));
    let huge = json!({"taskdef_arn": "demo", "pad": "a".repeat(300 * 1024)}).to_string();
    let cases: Vec<(&str, Option<String>, &str)> = vec![
        ("missing", None, "cannot read event file"),
        ("not-json", Some("{\"taskdef_arn\": ".into()), "is not JSON"),
        ("huge", Some(huge.clone()), "pass --no-limits"),
    ];
    for (name, text, fragment) in cases {
        let file = dir.0.join(format!("{name}.json"));
        if let Some(text) = &text {
            std::fs::write(&file, text).unwrap();
        }
        let run = ecs_migrate(
            &[
                "local",
                "--task-definition",
                path(&td),
                "--event",
                path(&file),
                "--",
                "true",
            ],
            None,
        );
        assert_eq!(run.code, Some(2), "{name}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(fragment), "{name}: {}", run.stderr);
        assert!(!run.stdout.contains("- RunTask"), "{name}: {}", run.stdout);
    }
    let run = ecs_migrate(
        &[
            "local",
            "--task-definition",
            path(&td),
            "--event",
            "-",
            "--",
            "true",
        ],
        Some("not json"),
    );
    assert_eq!(run.code, Some(2), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("standard input is not JSON"),
        "{}",
        run.stderr
    );

    let file = dir.write("huge.json", &huge);
    let run = ecs_migrate(
        &[
            "local",
            "--task-definition",
            path(&td),
            "--event",
            path(&file),
            "--no-limits",
            "--",
            "true",
        ],
        None,
    );
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
}

#[test]
fn a_second_ctrl_c_kills_a_task_that_ignores_sigterm() {
    let dir = TempDir::new("ctrl-c-twice");
    let td = dir.taskdef(json!({"stopTimeout": 60}));
    let began = Instant::now();
    let mut child = local_command(&own_lock_dir())
        .args([
            "local",
            "--task-definition",
            path(&td),
            "--",
            "sh",
            "-c",
            "trap '' TERM; echo $$; while :; do sleep 0.2; done",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = lines_of(&mut child);
    let mut seen: Vec<String> = Vec::new();
    let wait_for = |what: &dyn Fn(&[String]) -> bool, seen: &mut Vec<String>| {
        while !what(seen) {
            match lines.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => seen.push(line),
                Err(_) => panic!("waited in vain; saw {seen:?}"),
            }
        }
    };
    wait_for(&|s| !printed_pids(&s.join("\n")).is_empty(), &mut seen);
    let pid = printed_pids(&seen.join("\n"))[0];
    // SAFETY: kill with a pid we spawned and a valid signal.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    wait_for(
        &|s| {
            s.iter()
                .any(|l| l.contains("interrupted by SIGINT (Ctrl-C): stopping the task"))
        },
        &mut seen,
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(alive(pid), "SIGTERM is ignored: the task must still run");
    let second = Instant::now();
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if began.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("ecs-migrate did not end after the second Ctrl-C: {seen:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    seen.extend(lines.iter());
    let stdout = seen.join("\n");
    assert!(second.elapsed() < Duration::from_secs(10), "{stdout}");
    assert_eq!(status.code(), Some(130), "{stdout}");
    assert!(
        stdout.contains("failed: Migration.TaskStopped, exit code 137"),
        "{stdout}"
    );
    assert!(all_dead(&[pid]), "{pid} survived");
}

/// Peak resident memory of process `pid` in KiB (VmHWM in /proc/PID/status).
fn peak_memory_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn a_flood_into_a_pipe_nobody_reads_keeps_memory_bounded_and_signals_still_work() {
    let dir = TempDir::new("flood");
    let td = dir.taskdef(json!({"stopTimeout": 2}));
    let done = dir.0.join("started");
    let script = format!("touch {}; exec yes", done.display());
    // Standard output is a pipe this test never reads.
    let mut child = local_command(&own_lock_dir())
        .args([
            "local",
            "--task-definition",
            path(&td),
            "--",
            "sh",
            "-c",
            &script,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let began = Instant::now();
    while !done.exists() {
        assert!(began.elapsed() < LIMIT, "the migration never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    // `yes` writes hundreds of MB a second: without a bound the runner grows by that much.
    std::thread::sleep(Duration::from_secs(3));
    let peak = peak_memory_kib(child.id());
    // SAFETY: kill with a pid we spawned and a valid signal.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let status = wait_exit(&mut child, "SIGTERM with standard output stalled");
    assert!(
        peak < 50 * 1024,
        "peak memory {peak} KiB with a stalled pipe"
    );
    assert_eq!(status.code(), Some(143));
}

#[test]
fn output_the_terminal_cannot_keep_up_with_is_counted_where_it_was_dropped() {
    let dir = TempDir::new("slow-terminal");
    let td = dir.taskdef(json!({}));
    let done = dir.0.join("done");
    let total = 200_000;
    let script = format!("seq 1 {total}; echo END; touch {}; exit 3", done.display());
    let child = local_command(&own_lock_dir())
        .args([
            "local",
            "--task-definition",
            path(&td),
            "--",
            "sh",
            "-c",
            &script,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Nothing is read until the migration has written everything: the terminal is far behind.
    let began = Instant::now();
    while !done.exists() {
        assert!(began.elapsed() < LIMIT, "the migration never finished");
        std::thread::sleep(Duration::from_millis(20));
    }
    let run = finish(child, began);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let mut shown = Vec::new();
    let mut not_shown = 0u64;
    for line in run.stdout.lines() {
        if let Some(n) = line.strip_prefix("  | ") {
            shown.push(n.to_string());
        } else if let Some(count) = line
            .strip_prefix("[ecs-migrate: ")
            .and_then(|l| l.strip_suffix(" lines not shown]"))
        {
            not_shown += count.replace(',', "").parse::<u64>().unwrap();
        }
    }
    assert!(not_shown > 0, "nothing was dropped: {} lines", shown.len());
    assert_eq!(
        shown.last().map(String::as_str),
        Some("END"),
        "the newest line is shown"
    );
    let numbers: Vec<u64> = shown.iter().filter_map(|l| l.parse().ok()).collect();
    assert_eq!(
        numbers.len() as u64 + not_shown,
        total,
        "every line is shown or counted"
    );
    assert!(
        numbers.windows(2).all(|w| w[0] < w[1]),
        "lines out of order"
    );
    // The Cause still ends with the true last lines.
    let cause = run
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("cause:"))
        .collect::<Vec<_>>();
    let n = cause.len();
    assert!(n >= 2, "{}", run.stdout);
    assert_eq!(&cause[n - 2..], &[format!("{total}").as_str(), "END"]);
}

#[test]
fn control_characters_in_the_migrations_output_and_cause_are_shown_escaped() {
    let dir = TempDir::new("escape");
    let td = dir.taskdef(json!({}));
    let script = r"printf '\033[2J\033[Hcleared\n'; printf 'ok\rsucceeded: forged\n'; printf 'tab\tkept\n'; exit 1";
    let run = ecs_migrate(
        &[
            "local",
            "--task-definition",
            path(&td),
            "--",
            "sh",
            "-c",
            script,
        ],
        None,
    );
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("  | \\x1b[2J\\x1b[Hcleared\n"),
        "{:?}",
        run.stdout
    );
    assert!(
        run.stdout.contains("  | ok\\rsucceeded: forged\n"),
        "{:?}",
        run.stdout
    );
    assert!(run.stdout.contains("  | tab\tkept\n"), "{:?}", run.stdout);
    // The Cause's log tail too.
    let cause = &run.stdout[run.stdout.find("cause:").unwrap()..];
    assert!(cause.contains("ok\\rsucceeded: forged"), "{cause:?}");
    for raw in ['\u{1b}', '\r'] {
        assert!(
            !run.stdout.contains(raw),
            "{raw:?} printed raw: {:?}",
            run.stdout
        );
    }
}

#[test]
fn oversized_and_non_utf8_files_are_refused_with_the_size_or_the_byte() {
    let dir = TempDir::new("file-caps");
    // An endless device: read only up to the cap.
    let run = ecs_migrate(
        &["local", "--task-definition", "/dev/zero", "--", "true"],
        None,
    );
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("task definition file /dev/zero is over the limit of 1 MiB (1048576 bytes)"),
        "{}",
        run.stderr
    );
    let run = ecs_migrate(&["asl", "validate", "/dev/zero"], None);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("over the limit of 1 MiB"),
        "{}",
        run.stderr
    );
    // A regular file one byte over: its size is said.
    let text = format!(
        "{{\"family\": \"demo\", \"pad\": \"{}\"}}",
        "x".repeat(1024 * 1024)
    );
    let big = dir.write("big.json", &text);
    let run = ecs_migrate(
        &["local", "--task-definition", path(&big), "--", "true"],
        None,
    );
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("is {} bytes, over the limit of 1 MiB", text.len())),
        "{}",
        run.stderr
    );
    // Latin-1, as an editor might save it: the byte and where it is.
    let latin1 = dir.0.join("latin1.json");
    std::fs::write(&latin1, b"{\"family\": \"demo\",\n \"x\": \"caf\xe9\"}").unwrap();
    let run = ecs_migrate(
        &["local", "--task-definition", path(&latin1), "--", "true"],
        None,
    );
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("is not UTF-8 text: byte 0xe9 at line 2, column 11 (offset 29) is invalid"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_production_event_replays_against_the_file_and_says_what_it_stands_in_for() {
    let dir = TempDir::new("replay");
    let td = dir.taskdef(json!({}));
    let production_arn = "arn:aws:ecs:eu-west-1:123456789012:task-definition/demo:42";
    let envelope = json!({"version": "0", "id": "e-42", "detail-type": "AWS ECS Migration Task",
        "source": "ecs.migration", "account": "123456789012", "time": "2026-11-25T12:00:00Z",
        "region": "eu-west-1", "resources": [], "detail": {"taskdef_arn": production_arn}})
    .to_string();
    for (event, named) in [
        (json!({"taskdef_arn": "demo:42"}).to_string(), "demo:42"),
        (envelope, production_arn),
    ] {
        let run = ecs_migrate(
            &[
                "local",
                "--task-definition",
                path(&td),
                "--event",
                "-",
                "--",
                "true",
            ],
            Some(&event),
        );
        assert_eq!(run.code, Some(0), "{event}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stdout.contains(&format!(
                "ecs-migrate local: event names {named}; running {} in its place",
                td.display()
            )),
            "{}",
            run.stdout
        );
    }

    // A file that carries its own ARN (describe-task-definition output) is that revision, in
    // that account and region: the checks apply.
    let described = dir.write(
        "described.json",
        &json!({"taskDefinition": {"family": "demo", "taskDefinitionArn": production_arn,
            "revision": 42, "containerDefinitions": [{"name": "migrate"}]}})
        .to_string(),
    );
    let cases = [
        (production_arn, Some(0), ""),
        ("demo:42", Some(0), ""),
        ("demo:41", Some(1), "Migration.TaskDefinitionNotFound"),
        (
            "arn:aws:ecs:eu-west-1:210987654321:task-definition/demo:42",
            Some(1),
            "Migration.NotAllowed",
        ),
        (
            "arn:aws:ecs:us-east-1:123456789012:task-definition/demo:42",
            Some(1),
            "Migration.NotAllowed",
        ),
    ];
    for (named, code, error) in cases {
        let event = json!({ "taskdef_arn": named }).to_string();
        let run = ecs_migrate(
            &[
                "local",
                "--task-definition",
                path(&described),
                "--event",
                "-",
                "--json",
                "--",
                "true",
            ],
            Some(&event),
        );
        assert_eq!(run.code, code, "{named}: {}{}", run.stdout, run.stderr);
        let result: Value = serde_json::from_str(run.stdout.trim()).unwrap();
        if !error.is_empty() {
            assert_eq!(result["error"], error, "{named}: {result}");
        }
    }
    let event =
        json!({"taskdef_arn": "arn:aws:ecs:eu-west-1:210987654321:task-definition/demo:42"});
    let run = ecs_migrate(
        &[
            "local",
            "--task-definition",
            path(&described),
            "--event",
            "-",
            "--",
            "true",
        ],
        Some(&event.to_string()),
    );
    assert!(
        run.stdout.contains("the task definition is in account 210987654321, but this deployment runs migrations in account 123456789012"),
        "{}",
        run.stdout
    );
}

#[test]
fn secrets_come_from_this_machine_or_the_env_flags_and_are_never_printed() {
    let dir = TempDir::new("secrets");
    let ssm = "arn:aws:ssm:eu-west-1:123456789012:parameter/prod/database-url";
    let td = dir.taskdef(json!({
        "environment": [{"name": "ECS_MIGRATE_T_PLAIN", "value": "from-taskdef"}],
        "secrets": [{"name": "ECS_MIGRATE_T_DB", "valueFrom": ssm}]
    }));
    let started = dir.0.join("started");
    let check = format!(
        // Compared in upper case, so the command line (which is printed) holds no value.
        // The plain value is printed in upper case too: as given with --env it is masked.
        "touch {}; test \"$(echo \"$ECS_MIGRATE_T_DB\" | tr a-z A-Z)\" = S3CR3T-VALUE && echo \"db ok, plain=$(echo \"$ECS_MIGRATE_T_PLAIN\" | tr a-z A-Z)\"",
        started.display()
    );
    let base = ["local", "--task-definition", path(&td)];

    // Not provided anywhere: refused before the task starts, naming the variable and its source.
    let mut args = base.to_vec();
    args.extend(["--", "sh", "-c", &check]);
    let run = ecs_migrate(&args, None);
    assert_eq!(run.code, Some(2), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "ECS_MIGRATE_T_DB (in AWS from SSM parameter {ssm}); export each, or pass --env ECS_MIGRATE_T_DB=VALUE or --env-file FILE"
        )),
        "{}",
        run.stderr
    );
    assert!(!started.exists(), "the task started");

    // From --env, which also overrides a plain variable of the task definition.
    let mut args = base.to_vec();
    args.extend([
        "--env",
        "ECS_MIGRATE_T_DB=s3cr3t-value",
        "--env",
        "ECS_MIGRATE_T_PLAIN=from-flag",
        "--",
        "sh",
        "-c",
        &check,
    ]);
    let run = ecs_migrate(&args, None);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("  | db ok, plain=FROM-FLAG\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("ecs-migrate local: secrets: ECS_MIGRATE_T_DB from --env\n"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("s3cr3t") && !run.stderr.contains("s3cr3t"));

    // From an env file (Docker's format: comments, blank lines, literal values).
    let env_file = dir.write(
        "migrate.env",
        "# local values\n\nECS_MIGRATE_T_DB=s3cr3t-value\nECS_MIGRATE_T_PLAIN=from-file\n",
    );
    let mut args = base.to_vec();
    args.extend(["--env-file", path(&env_file), "--", "sh", "-c", &check]);
    let run = ecs_migrate(&args, None);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("  | db ok, plain=FROM-FILE\n"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("s3cr3t"), "{}", run.stdout);

    // From this machine's environment.
    let began = Instant::now();
    let mut args = base.to_vec();
    args.extend(["--", "sh", "-c", &check]);
    let child = local_command(&own_lock_dir())
        .args(&args)
        .env("ECS_MIGRATE_T_DB", "s3cr3t-value")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let run = finish(child, began);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("  | db ok, plain=FROM-TASKDEF\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("secrets: ECS_MIGRATE_T_DB from this environment"),
        "{}",
        run.stdout
    );
}

/// Issue 10 on one machine: a second run on the same scope waits, saying for whom; Ctrl-C of
/// the first stops its task and releases the lock, and the second then runs.
#[test]
fn two_runs_on_one_scope_take_turns_and_ctrl_c_of_the_first_releases_the_lock() {
    let dir = TempDir::new("lock");
    let td = dir.taskdef(json!({"stopTimeout": 5}));
    let locks = dir.0.join("locks");
    let (mut first, first_lines, first_seen, pids) = start_two_processes_locking(&td, &locks);

    let mut second = local_command(&locks)
        .args([
            "local",
            "--task-definition",
            path(&td),
            "--",
            "sh",
            "-c",
            "echo second-run-$((40 + 2))",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let second_lines = lines_of(&mut second);
    let mut second_seen = Vec::new();
    let waiting = loop {
        match second_lines.recv_timeout(Duration::from_secs(30)) {
            Ok(line) if line.contains("is held by") => break line,
            Ok(line) => second_seen.push(line),
            Err(_) => {
                let _ = (first.kill(), second.kill());
                panic!("the second run never said it waits: {second_seen:?}");
            }
        }
    };
    assert!(
        waiting
            .contains("the migration lock of scope demo is held by demo:1 (execution local-demo-"),
        "{waiting}"
    );
    assert!(
        !second_seen.iter().any(|l| l.contains("second-run-42")),
        "{second_seen:?}"
    );
    assert!(
        second.try_wait().unwrap().is_none(),
        "the second run did not wait"
    );

    // SAFETY: kill with a pid we spawned and a valid signal.
    assert_eq!(unsafe { libc::kill(first.id() as i32, libc::SIGINT) }, 0);
    let status = wait_exit(&mut first, "SIGINT");
    let first_out = format!(
        "{}\n{}",
        first_seen.join("\n"),
        first_lines.iter().collect::<Vec<_>>().join("\n")
    );
    assert_eq!(status.code(), Some(130), "{first_out}");
    assert!(all_dead(&pids), "{pids:?} outlived the interrupted run");

    let status = wait_exit(&mut second, "the first run released the lock");
    let second_out: Vec<String> = second_lines.iter().collect();
    assert_eq!(status.code(), Some(0), "{second_out:?}");
    assert!(
        second_out.iter().any(|l| l.contains("second-run-42")),
        "{second_out:?}"
    );
    // Its duration says how much of it was the wait for the first run.
    assert!(
        second_out
            .iter()
            .any(|l| l.starts_with("succeeded:")
                && l.contains("of it waiting for the migration lock")),
        "{second_out:?}"
    );
    // Nothing is left locked.
    let left: Vec<_> = std::fs::read_dir(&locks)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// The repository's example pause hook event (examples/hooks/hook-event.json, as ECS emits it:
/// detail-type "ECS Hook State Change"), naming a deployment of service `app` in cluster `prod`.
fn hook_event_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/hooks/hook-event.json")
}

/// The hook id the example event carries.
const EXAMPLE_HOOK_ID: &str = "ecs-pause-e7tK9G_WRJqNF_EOMjztDXfKenlJuEUVjsNStf4WLKw";

#[test]
fn a_hook_event_runs_the_file_as_the_target_revision_and_answers_the_hook() {
    let dir = TempDir::new("hook");
    let td = sqlite_example(&dir);
    let event = hook_event_file();
    let args = [
        "local",
        "--task-definition",
        path(&td),
        "--event",
        path(&event),
        "--",
        "python3",
        "examples/local/migrate.py",
    ];
    let ok = ecs_migrate(&args, None);
    assert_eq!(ok.code, Some(0), "{}{}", ok.stdout, ok.stderr);
    for expected in [
        "- FromDeployment",
        "- ContinueDeployment",
        format!("answered CONTINUE to hook {EXAMPLE_HOOK_ID}").as_str(),
    ] {
        assert!(
            ok.stdout.contains(expected),
            "no {expected:?} in:\n{}",
            ok.stdout
        );
    }
    assert!(ok.stdout.find("- CheckExitCode") < ok.stdout.find("- ContinueDeployment"));

    let failing = [
        "local",
        "--task-definition",
        path(&td),
        "--event",
        path(&event),
        "--",
        "sh",
        "-c",
        "exit 3",
    ];
    let failed = ecs_migrate(&failing, None);
    assert_eq!(failed.code, Some(1), "{}{}", failed.stdout, failed.stderr);
    for expected in [
        "command: sh -c 'exit 3'",
        "- StopTask",
        "- RollBackDeployment",
        format!("answered ROLLBACK to hook {EXAMPLE_HOOK_ID}").as_str(),
        "failed: Migration.NonZeroExit",
    ] {
        assert!(
            failed.stdout.contains(expected),
            "no {expected:?} in:\n{}",
            failed.stdout
        );
    }
    assert!(!failed.stdout.contains("ContinueDeployment"));
}

/// Local causes name the flags the user typed (`--timeout 1`, `--lock-wait 0`), not the
/// functions' settings (MAX_DURATION_SECONDS, LOCK_WAIT_SECONDS) they stand for.
#[tokio::test]
async fn causes_name_the_flags_typed_not_the_aws_settings() {
    use ecs_migrate::ports::lock::{Expected, FileLockTable, LockItem, LockTable};
    let dir = TempDir::new("flag-names");
    let td = dir.taskdef(json!({"stopTimeout": 2}));
    let run = ecs_migrate(
        &[
            "local",
            "--task-definition",
            path(&td),
            "--timeout",
            "1",
            "--",
            "sleep",
            "30",
        ],
        None,
    );
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("(--timeout 1, counted from"),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains("MAX_DURATION_SECONDS"),
        "{}",
        run.stdout
    );

    // Another run holds the scope's lock for ten more minutes.
    let locks = dir.0.join("locks");
    let now = chrono::Utc::now();
    let held = LockItem {
        scope: "demo".into(),
        holder: "arn:aws:states:local:000000000000:execution:ecs-migrate:other-run".into(),
        execution_name: Some("other-run".into()),
        client_token: "token".into(),
        taskdef_arn: "arn:aws:ecs:local:000000000000:task-definition/demo:1".into(),
        family: "demo".into(),
        revision: 1,
        cluster: "local".into(),
        started_by: "ecs-migrate/other-run".into(),
        task_arn: None,
        since: now,
        lease_until: now + chrono::Duration::minutes(10),
    };
    let table = FileLockTable::new(&locks);
    assert!(table.put(&held, Expected::Free).await.unwrap());
    let run = ecs_migrate(
        &[
            "local",
            "--task-definition",
            path(&td),
            "--lock-dir",
            path(&locks),
            "--lock-wait",
            "0",
            "--",
            "true",
        ],
        None,
    );
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("failed: Migration.Locked"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("(--lock-wait 0)"), "{}", run.stdout);
    assert!(!run.stdout.contains("LOCK_WAIT_SECONDS"), "{}", run.stdout);
}
