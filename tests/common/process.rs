//! Running the commands under test as child processes, always bounded in time.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// No command under test runs longer: a hung one fails its test instead of hanging it.
pub const RUN_LIMIT: Duration = Duration::from_secs(60);

/// What a finished command printed, and its exit code (-1: killed by a signal).
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Starts `cmd` with stdout and stderr piped.
pub fn spawn(mut cmd: Command) -> Child {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ecs-migrate")
}

/// Waits (at most [`RUN_LIMIT`]; then kills it and fails) for a spawned command, collecting
/// what it printed.
pub fn finish(mut child: Child) -> Output {
    // A caller may have taken stdout to read it as it comes.
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut stdout) = stdout {
            let _ = stdout.read_to_string(&mut s);
        }
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut stderr) = stderr {
            let _ = stderr.read_to_string(&mut s);
        }
        s
    });
    let deadline = Instant::now() + RUN_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "ecs-migrate still running after {RUN_LIMIT:?}; stdout:\n{}",
                out.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        code: status.code().unwrap_or(-1),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}
