//! The local runner's two back ends behind one trait. Either way a task's container is a child
//! process of the runner leading its own process group: the task's command itself
//! ([`super::process::ProcessBackend`]) or the `docker run` client attached to the container
//! ([`super::docker::DockerBackend`]). How the container starts, stops and reports its exit
//! differs; the task's lifecycle (`super::task::drive`) does not.

use std::io;
use std::process::ExitStatus;
use std::time::Duration;

use async_trait::async_trait;
use tokio::process::{Child, ChildStderr, ChildStdout, Command};

use super::orphan::GroupGuard;
use super::process;
use super::taskdef::LocalContainer;

/// How a task's container runs. One value per task: it knows the task's container by name.
#[async_trait]
pub(crate) trait Backend: Send + Sync + std::fmt::Debug {
    /// Starts `argv` (entryPoint + command) in `container`, or says why it cannot start, as
    /// ECS words it (`CannotStartContainerError: ...`).
    fn start(
        &self,
        container: &LocalContainer,
        argv: &[String],
    ) -> Result<RunningContainer, String>;

    /// Stops the running container: SIGTERM, then a kill once `timeout` has passed. Returns
    /// when its child process has exited.
    async fn stop(
        &self,
        running: &mut RunningContainer,
        timeout: Duration,
    ) -> io::Result<ExitStatus>;

    /// The container's exit code, once its child process exited with `status` and its output
    /// (`output_tail`, the last lines) was read; or why the container never ran. Frees what the
    /// container left behind.
    async fn exit_code(&self, status: ExitStatus, output_tail: &[String]) -> Result<i32, String>;

    /// Kills the container at once, without waiting on anything asynchronous (the runner is
    /// going away). The caller kills the process group.
    fn kill_now(&self);
}

/// A running container: its child process, leading its own process group, and the watchdog
/// that kills the group should the runner die first.
#[derive(Debug)]
pub(crate) struct RunningContainer {
    child: Child,
    pgid: i32,
    guard: Option<GroupGuard>,
}

impl RunningContainer {
    /// Spawns `command`; `program` names what failed to execute, if it does.
    pub(crate) fn spawn(mut command: Command, program: &str) -> Result<Self, String> {
        let child = command
            .spawn()
            .map_err(|err| process::spawn_failure(program, &err))?;
        // The child leads its own group, so its pid is the group id.
        let pgid = child
            .id()
            .and_then(|pid| i32::try_from(pid).ok())
            .unwrap_or(0);
        // If this process dies without `end`, the watchdog kills the group.
        let guard = GroupGuard::watch(pgid).ok();
        Ok(Self { child, pgid, guard })
    }

    /// The process group (the child's pid).
    pub(crate) fn process_group(&self) -> i32 {
        self.pgid
    }

    /// The container's stdout and stderr, each given once.
    pub(crate) fn take_output(&mut self) -> (Option<ChildStdout>, Option<ChildStderr>) {
        (self.child.stdout.take(), self.child.stderr.take())
    }

    /// Waits for the child to exit (cancel-safe).
    pub(crate) async fn wait(&mut self) -> io::Result<ExitStatus> {
        self.child.wait().await
    }

    /// Sends `signal` to the whole group.
    pub(crate) fn signal(&self, signal: libc::c_int) {
        process::signal_group(self.pgid, signal);
    }

    /// The container is over: nothing it started outlives it, and the watchdog is told so.
    pub(crate) fn end(self) {
        self.signal(libc::SIGKILL);
        if let Some(guard) = self.guard {
            guard.release();
        }
    }
}
