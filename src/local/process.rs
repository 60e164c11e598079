//! The process runner: a task's container as a child process in its own process group.
//!
//! The process gets the runner's own environment with the container's `environment` laid over
//! it. A container image brings its own PATH and settings; on one machine the nearest thing is
//! the user's shell, so the migration finds `python3`/`alembic` on PATH and the `DATABASE_URL`
//! the user exported, while the task definition's values still win where both set a name.
//!
//! Signals go to the whole group, as Docker's stop reaches every process of a container: a
//! shell's children die with it, and when the main process exits whatever it left behind is
//! killed (a container's processes end with its init). A process that leaves the group itself
//! (`setsid`) escapes this.

// The crate denies unsafe code (Cargo.toml [lints]); killpg(2) is a libc call.
#![allow(unsafe_code)]

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};
use tokio::process::Command;

use super::backend::{Backend, RunningContainer};
use super::taskdef::LocalContainer;
use super::user::{self, Switch};

/// Longest line kept whole; longer ones are split, as Docker's log drivers split at 16 KiB.
pub const MAX_LINE_BYTES: usize = 16 * 1024;

/// The prefix ECS gives reasons for containers that could not start.
pub const CANNOT_START: &str = "CannotStartContainerError";

/// The back end that runs a task's container as a child process on this machine.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ProcessBackend;

#[async_trait]
impl Backend for ProcessBackend {
    fn start(
        &self,
        container: &LocalContainer,
        argv: &[String],
    ) -> Result<RunningContainer, String> {
        let command = prepare(container, argv)?;
        let program = argv.first().map(String::as_str).unwrap_or_default();
        RunningContainer::spawn(command, program)
    }

    /// SIGTERM to the group, as `docker stop` sends it, and SIGKILL after the stop timeout.
    async fn stop(
        &self,
        running: &mut RunningContainer,
        timeout: Duration,
    ) -> std::io::Result<ExitStatus> {
        running.signal(libc::SIGTERM);
        match tokio::time::timeout(timeout, running.wait()).await {
            Ok(status) => status,
            Err(_) => {
                running.signal(libc::SIGKILL);
                running.wait().await
            }
        }
    }

    async fn exit_code(&self, status: ExitStatus, _output_tail: &[String]) -> Result<i32, String> {
        Ok(exit_code(status))
    }

    /// Killing the group is all there is.
    fn kill_now(&self) {}
}

/// The argv a task runs: the container's `entryPoint`, then the command override (or the
/// container's `command` when the override is empty), as ECS combines them.
pub fn argv(container: &LocalContainer, command: &[String]) -> Vec<String> {
    let command = if command.is_empty() {
        &container.command
    } else {
        command
    };
    container
        .entry_point
        .iter()
        .chain(command.iter())
        .cloned()
        .collect()
}

/// Builds the command for `argv` with the container's settings, or says why it cannot start
/// (the reason ECS would give, `CannotStartContainerError: ...`).
pub fn prepare(container: &LocalContainer, argv: &[String]) -> Result<Command, String> {
    let Some((program, args)) = argv.split_first() else {
        return Err(format!(
            "{CANNOT_START}: no command to run: container {} has no entryPoint or command and none was given",
            container.name
        ));
    };
    let mut command = Command::new(program);
    command.args(args);
    for (name, value) in &container.environment {
        command.env(name, value);
    }
    if let Some(dir) = &container.working_directory {
        // Relative to the runner's current directory, as the child inherits it.
        if !Path::new(dir).is_dir() {
            let cwd = std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_else(|_| "?".into());
            return Err(format!(
                "{CANNOT_START}: workingDirectory {dir} is not a directory (relative paths start from {cwd})"
            ));
        }
        command.current_dir(dir);
    }
    if let Some(spec) = &container.user {
        match user::plan(spec, user::current()) {
            Ok(Switch::Stay) => {}
            Ok(Switch::To(identity)) => {
                command.uid(identity.uid).gid(identity.gid);
            }
            Err(reason) => return Err(format!("{CANNOT_START}: {reason}")),
        }
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    #[cfg(target_os = "linux")]
    {
        let parent = i32::try_from(std::process::id()).unwrap_or(0);
        // SAFETY: the closure runs between fork and exec and calls only async-signal-safe
        // functions (prctl, getppid, _exit).
        unsafe {
            command.pre_exec(move || super::orphan::kill_with_parent(parent));
        }
    }
    Ok(command)
}

/// The reason for a failed spawn, as ECS words it.
pub fn spawn_failure(program: &str, err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => format!("{CANNOT_START}: executable not found: {program}"),
        std::io::ErrorKind::PermissionDenied => {
            format!("{CANNOT_START}: permission denied: {program} cannot be executed")
        }
        _ => format!("{CANNOT_START}: cannot execute {program}: {err}"),
    }
}

/// The exit code Docker reports: the process's code, or 128 + the signal that killed it
/// (137 for SIGKILL, 143 for SIGTERM).
pub fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        (None, None) => 128,
    }
}

/// Sends `signal` to every process in group `pgid`. False when no process is left in it.
pub fn signal_group(pgid: i32, signal: libc::c_int) -> bool {
    if pgid <= 1 {
        // Never signal our own group (0) or every process (-1 / 1).
        return false;
    }
    // SAFETY: killpg takes plain integers and touches no memory.
    unsafe { libc::killpg(pgid, signal) == 0 }
}

/// Reads the next line (without `\n` or `\r\n`) into `line`; lines longer than
/// [`MAX_LINE_BYTES`] come out in pieces. `Ok(false)` at the end of the stream.
pub async fn next_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
) -> std::io::Result<bool> {
    line.clear();
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(!line.is_empty());
        }
        let room = MAX_LINE_BYTES - line.len();
        let window = &available[..available.len().min(room)];
        if let Some(pos) = window.iter().position(|&b| b == b'\n') {
            line.extend_from_slice(&window[..pos]);
            reader.consume(pos + 1);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(true);
        }
        let taken = window.len();
        line.extend_from_slice(window);
        reader.consume(taken);
        if line.len() >= MAX_LINE_BYTES {
            return Ok(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container() -> LocalContainer {
        LocalContainer {
            name: "migrate".into(),
            image: None,
            essential: true,
            entry_point: vec![],
            command: vec!["alembic".into(), "upgrade".into(), "head".into()],
            environment: vec![],
            secrets: vec![],
            working_directory: None,
            user: None,
            stop_timeout: std::time::Duration::from_secs(30),
            log_configuration: None,
        }
    }

    #[test]
    fn argv_is_entry_point_then_command() {
        let mut c = container();
        assert_eq!(argv(&c, &[]), vec!["alembic", "upgrade", "head"]);
        c.entry_point = vec!["/bin/sh".into(), "-c".into()];
        assert_eq!(
            argv(&c, &["echo hi".to_string()]),
            vec!["/bin/sh", "-c", "echo hi"]
        );
    }

    #[test]
    fn exit_codes_follow_docker() {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(exit_code(ExitStatus::from_raw(0)), 0);
        assert_eq!(exit_code(ExitStatus::from_raw(3 << 8)), 3);
        assert_eq!(exit_code(ExitStatus::from_raw(libc::SIGKILL)), 137);
        assert_eq!(exit_code(ExitStatus::from_raw(libc::SIGTERM)), 143);
    }

    #[test]
    fn nothing_to_run_and_missing_directories_are_start_failures() {
        let c = container();
        let err = prepare(&c, &[]).unwrap_err();
        assert!(
            err.starts_with("CannotStartContainerError: no command"),
            "{err}"
        );
        let mut c = container();
        c.working_directory = Some("/nonexistent/dir".into());
        let err = prepare(&c, &["true".to_string()]).unwrap_err();
        assert!(err.contains("workingDirectory /nonexistent/dir"), "{err}");
    }

    #[test]
    fn never_signals_our_own_group_or_everyone() {
        assert!(!signal_group(0, 0));
        assert!(!signal_group(-1, 0));
        assert!(!signal_group(1, 0));
    }

    #[tokio::test]
    async fn lines_are_split_at_newlines_and_at_the_size_limit() {
        let long = "x".repeat(MAX_LINE_BYTES + 10);
        let input = format!("one\r\ntwo\n{long}\nlast");
        let mut reader = tokio::io::BufReader::with_capacity(100, input.as_bytes());
        let mut line = Vec::new();
        let mut lines = Vec::new();
        while next_line(&mut reader, &mut line).await.unwrap() {
            lines.push(String::from_utf8_lossy(&line).into_owned());
        }
        assert_eq!(
            lines.len(),
            5,
            "{:?}",
            lines.iter().map(|l| l.len()).collect::<Vec<_>>()
        );
        assert_eq!(lines[0], "one");
        assert_eq!(lines[1], "two");
        assert_eq!(lines[2].len(), MAX_LINE_BYTES);
        assert_eq!(lines[3], "x".repeat(10));
        assert_eq!(lines[4], "last");
    }
}
