//! A suspended `ecs-migrate local` (issue 19): its task runs in a process group of its own, so
//! SIGSTOP of the runner leaves the migration running while the lock's lease runs out. A second
//! run must then refuse to take over while the first task's group lives, and never run a second
//! migration beside it; Ctrl-Z (SIGTSTP) is refused with a message.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const LIMIT: Duration = Duration::from_secs(60);

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "ecs-migrate-suspend-{name}-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn taskdef(&self) -> PathBuf {
        let path = self.file("taskdef.json");
        let taskdef = json!({"family": "demo", "containerDefinitions": [
            {"name": "migrate", "stopTimeout": 5}
        ]});
        std::fs::write(&path, taskdef.to_string()).unwrap();
        path
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A run whose migration notes its start in `marker`, prints its pid, and waits for `go`.
fn local_run(dir: &Dir, args: &[&str], script: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ecs-migrate"))
        .env("ECS_MIGRATE_LOCK_DIR", dir.file("locks"))
        .current_dir(&dir.0)
        .args(["local", "--task-definition", path(&dir.taskdef())])
        .args(args)
        .args(["--", "sh", "-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

const WAITING_MIGRATION: &str =
    "echo start >> marker; echo $$; while [ ! -e go ]; do sleep 0.05; done; echo done";

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

/// Reads lines until one satisfies `wanted`; all lines read so far are kept in `seen`.
fn until_line(
    lines: &mpsc::Receiver<String>,
    seen: &mut Vec<String>,
    wanted: impl Fn(&str) -> bool,
) -> String {
    loop {
        match lines.recv_timeout(LIMIT) {
            Ok(line) => {
                seen.push(line.clone());
                if wanted(&line) {
                    return line;
                }
            }
            Err(_) => panic!("the line never came: {seen:#?}"),
        }
    }
}

/// Polls (the condition is another process's) until `ready` holds, at most `LIMIT`.
fn wait_for(what: &str, ready: impl Fn() -> bool) {
    let began = Instant::now();
    while !ready() {
        assert!(began.elapsed() < LIMIT, "{what} never happened");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn lock_file(dir: &Dir) -> Option<Value> {
    let text = std::fs::read_to_string(dir.file("locks").join("demo.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// The process state letter of `pid` (R, S, T, Z, ...).
fn state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

fn signal(pid: i32, signal: libc::c_int) {
    // SAFETY: kill with a pid this test spawned and a valid signal.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
}

/// Waits at most `LIMIT` for `child` (whose stdout may already be taken) and its output.
fn wait_exit(child: Child) -> std::process::Output {
    let pid = child.id() as i32;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(LIMIT) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            signal(pid, libc::SIGKILL);
            panic!("ecs-migrate did not end");
        }
    }
}

/// Kills a runner this test suspended if the test ends early, so no stopped process is left.
struct KillOnDrop(i32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // SAFETY: kill with a pid this test spawned; it may have ended already.
        unsafe { libc::kill(self.0, libc::SIGKILL) };
    }
}

#[test]
fn a_suspended_run_is_not_taken_over_while_its_task_runs() {
    let dir = Dir::new("sigstop");
    let mut first = local_run(&dir, &["--lock-lease", "3"], WAITING_MIGRATION);
    let first_pid = first.id() as i32;
    let _first_ends = KillOnDrop(first_pid);
    let first_lines = lines_of(&mut first);
    let mut first_seen = Vec::new();
    let task_pid: i32 = until_line(&first_lines, &mut first_seen, |l| {
        l.strip_prefix("  | ")
            .is_some_and(|l| l.trim().parse::<i32>().is_ok())
    })
    .trim_start_matches("  | ")
    .trim()
    .parse()
    .unwrap();
    // The lock records the runner and, at a renewal once the task runs, the task's group.
    wait_for("the task's group in the lock file", || {
        lock_file(&dir).is_some_and(|item| item["local"]["task_pgid"] == json!(task_pid))
    });
    assert_eq!(lock_file(&dir).unwrap()["local"]["runner_pid"], first_pid);

    signal(first_pid, libc::SIGSTOP);
    wait_for("the runner to stop", || state(first_pid) == Some('T'));
    let lease_ended = || {
        lock_file(&dir)
            .and_then(|item| item["lease_until"].as_str().map(str::to_string))
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
            .is_some_and(|t| t < chrono::Utc::now())
    };
    wait_for("the first run's lease to end", lease_ended);

    let second = local_run(&dir, &["--lock-wait", "2"], "echo start >> marker");
    let second_out = wait_exit(second);
    let stdout = String::from_utf8_lossy(&second_out.stdout);
    let report = format!("{stdout}\n{}", String::from_utf8_lossy(&second_out.stderr));
    assert_eq!(second_out.status.code(), Some(1), "{report}");
    assert!(stdout.contains("failed: Migration.Locked"), "{report}");
    assert!(
        stdout.contains(&format!(
            "its task's process group {task_pid} (runner pid {first_pid}) still has processes"
        )),
        "{report}"
    );
    assert!(
        stdout.contains(&format!("kill -CONT {first_pid}")),
        "{report}"
    );
    // One migration ran: the second never started its task.
    let marker = std::fs::read_to_string(dir.file("marker")).unwrap();
    assert_eq!(marker, "start\n", "{report}");
    assert_eq!(state(task_pid).map(|s| s != 'Z'), Some(true));

    // Resumed, the first run renews its lease and finishes its migration.
    signal(first_pid, libc::SIGCONT);
    std::fs::write(dir.file("go"), "").unwrap();
    let first_out = wait_exit(first);
    let rest: Vec<String> = first_lines.iter().collect();
    let stdout = format!("{}\n{}", first_seen.join("\n"), rest.join("\n"));
    assert_eq!(first_out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("  | done"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(dir.file("marker")).unwrap(),
        "start\n"
    );
    assert!(lock_file(&dir).is_none(), "the lock was left behind");
}

#[test]
fn ctrl_z_is_refused_with_a_message_and_the_run_goes_on() {
    let dir = Dir::new("sigtstp");
    let mut run = local_run(&dir, &[], WAITING_MIGRATION);
    let pid = run.id() as i32;
    let lines = lines_of(&mut run);
    let mut seen = Vec::new();
    until_line(&lines, &mut seen, |l| l.starts_with("  | "));
    signal(pid, libc::SIGTSTP);
    let refused = until_line(&lines, &mut seen, |l| l.contains("SIGTSTP"));
    assert!(refused.contains("Ctrl-Z (SIGTSTP) ignored"), "{refused}");
    assert!(refused.contains("press Ctrl-C"), "{refused}");
    assert_ne!(state(pid), Some('T'), "the runner was suspended");
    std::fs::write(dir.file("go"), "").unwrap();
    let out = wait_exit(run);
    let rest: Vec<String> = lines.iter().collect();
    assert_eq!(out.status.code(), Some(0), "{seen:#?}\n{rest:#?}");
}
