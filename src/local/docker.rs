//! The Docker runner: a task's container as `docker run` of its image, where a daemon answers.
//!
//! The `docker run` client is the runner's child process (in its own group, like the process
//! runner's): its stdout and stderr are the container's, attached. The container is named
//! `ecs-migrate-<task-id>` so stop (`docker stop -t stopTimeout`, Docker's SIGTERM then
//! SIGKILL), inspection (exit code, start errors) and clean-up (`docker rm -f`) can find it. It
//! uses the host's network, so a database on 127.0.0.1 is reachable as it is from the process
//! runner. The container's `environment` is passed as `--env NAME` with the value in the
//! client's environment, so values do not show in `ps`.

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use async_trait::async_trait;
use tokio::process::Command;

use super::backend::{Backend, RunningContainer};
use super::process::{self, CANNOT_START};
use super::taskdef::LocalContainer;

/// Extra time `docker stop` gets beyond the stop timeout before the runner gives up on it.
const STOP_MARGIN: Duration = Duration::from_secs(30);

/// Where and how patiently to reach the Docker daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerOptions {
    /// `docker -H HOST`; `None` uses DOCKER_HOST or the current docker context.
    pub host: Option<String>,
    /// How long `docker info` may take before the daemon counts as absent.
    pub probe_timeout: Duration,
}

impl Default for DockerOptions {
    fn default() -> Self {
        Self {
            host: None,
            probe_timeout: Duration::from_secs(5),
        }
    }
}

impl DockerOptions {
    /// The daemon address, for messages.
    pub fn describe_host(&self) -> String {
        match &self.host {
            Some(host) => host.clone(),
            None => match std::env::var("DOCKER_HOST") {
                Ok(host) if !host.is_empty() => host,
                _ => "unix:///var/run/docker.sock (or the current docker context)".to_string(),
            },
        }
    }

    fn command(&self) -> Command {
        let mut command = Command::new("docker");
        if let Some(host) = &self.host {
            command.arg("--host").arg(host);
        }
        command.stdin(Stdio::null()).kill_on_drop(true);
        command
    }

    fn std_command(&self) -> std::process::Command {
        let mut command = std::process::Command::new("docker");
        if let Some(host) = &self.host {
            command.arg("--host").arg(host);
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    }
}

/// The Docker runner cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DockerError {
    #[error("the docker command cannot be run ({detail}); install the Docker client")]
    NoClient { detail: String },
    #[error("no Docker daemon answers at {host} ({detail}); start Docker")]
    NoDaemon { host: String, detail: String },
}

/// Checks that a daemon answers `docker info` within the probe timeout.
pub async fn check_daemon(options: &DockerOptions) -> Result<(), DockerError> {
    let mut command = options.command();
    command
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command.spawn().map_err(|e| DockerError::NoClient {
        detail: e.to_string(),
    })?;
    let no_daemon = |detail: String| DockerError::NoDaemon {
        host: options.describe_host(),
        detail,
    };
    // Dropping the child on timeout kills it (kill_on_drop).
    match tokio::time::timeout(options.probe_timeout, child.wait_with_output()).await {
        Err(_) => Err(no_daemon(format!(
            "docker info did not answer within {} s",
            options.probe_timeout.as_secs_f64()
        ))),
        Ok(Err(e)) => Err(no_daemon(e.to_string())),
        Ok(Ok(out)) if out.status.success() => Ok(()),
        Ok(Ok(out)) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let detail = stderr
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("docker info failed")
                .to_string();
            Err(no_daemon(detail))
        }
    }
}

/// The back end that runs a task's container as `docker run` of its image.
#[derive(Debug, Clone)]
pub(crate) struct DockerBackend {
    options: DockerOptions,
    /// The task's container name ([`container_name`]).
    name: String,
}

impl DockerBackend {
    pub(crate) fn new(options: DockerOptions, task_id: &str) -> Self {
        Self {
            options,
            name: container_name(task_id),
        }
    }

    /// Removes the container, off the runtime: removing may wait on the daemon for seconds.
    async fn remove(&self) {
        let (options, name) = (self.options.clone(), self.name.clone());
        let _ = tokio::task::spawn_blocking(move || remove_blocking(&options, &name)).await;
    }
}

#[async_trait]
impl Backend for DockerBackend {
    fn start(
        &self,
        container: &LocalContainer,
        argv: &[String],
    ) -> Result<RunningContainer, String> {
        let command = prepare(&self.options, container, &self.name, argv)?;
        RunningContainer::spawn(command, "docker")
    }

    /// `docker stop`; should the daemon not manage within the stop timeout (and a margin), the
    /// container is removed and the client killed.
    async fn stop(
        &self,
        running: &mut RunningContainer,
        timeout: Duration,
    ) -> std::io::Result<ExitStatus> {
        let mut docker_stop = stop(&self.options, &self.name, timeout);
        let stopped = tokio::time::timeout(timeout + STOP_MARGIN, async {
            let _ = docker_stop.status().await;
            running.wait().await
        })
        .await;
        match stopped {
            Ok(status) => status,
            Err(_) => {
                self.remove().await;
                running.signal(libc::SIGKILL);
                running.wait().await
            }
        }
    }

    /// The container's own exit code and start error (`docker inspect`), not the client's.
    async fn exit_code(&self, status: ExitStatus, output_tail: &[String]) -> Result<i32, String> {
        let inspected = inspect(&self.options, &self.name).await;
        let exit = outcome(process::exit_code(status), inspected, output_tail);
        self.remove().await;
        exit
    }

    fn kill_now(&self) {
        remove_blocking(&self.options, &self.name);
    }
}

/// The container name of a task.
pub fn container_name(task_id: &str) -> String {
    format!("ecs-migrate-{task_id}")
}

/// `docker run` arguments (after `docker [--host H]`) for `argv` (entryPoint + command) in
/// `container`'s image.
pub fn run_args(
    container: &LocalContainer,
    image: &str,
    name: &str,
    argv: &[String],
) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "run".into(),
        "--name".into(),
        name.into(),
        "--network".into(),
        "host".into(),
        "--stop-timeout".into(),
        container.stop_timeout.as_secs().to_string(),
    ];
    for (env_name, _) in &container.environment {
        args.push("--env".into());
        args.push(env_name.clone());
    }
    if let Some(dir) = &container.working_directory {
        args.push("--workdir".into());
        args.push(dir.clone());
    }
    if let Some(user) = &container.user {
        args.push("--user".into());
        args.push(user.clone());
    }
    // With an entryPoint, its first word replaces the image's ENTRYPOINT and the rest lead the
    // arguments; without one the image's ENTRYPOINT stays and argv is its command.
    let rest = match container.entry_point.split_first() {
        Some((first, _)) => {
            args.push("--entrypoint".into());
            args.push(first.clone());
            &argv[1.min(argv.len())..]
        }
        None => argv,
    };
    args.push(image.to_string());
    args.extend(rest.iter().cloned());
    args
}

/// The `docker run` client process for a task, or the reason it cannot start.
pub fn prepare(
    options: &DockerOptions,
    container: &LocalContainer,
    name: &str,
    argv: &[String],
) -> Result<Command, String> {
    let Some(image) = container.image.as_deref().filter(|i| !i.trim().is_empty()) else {
        return Err(format!(
            "{CANNOT_START}: container {} has no image; add \"image\" to it, or run the task as a local process",
            container.name
        ));
    };
    let mut command = options.command();
    command.args(run_args(container, image, name, argv));
    for (env_name, value) in &container.environment {
        command.env(env_name, value);
    }
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    Ok(command)
}

/// `docker stop -t SECONDS NAME`: SIGTERM, then SIGKILL after the stop timeout.
pub fn stop(options: &DockerOptions, name: &str, timeout: Duration) -> Command {
    let mut command = options.command();
    command
        .args(["stop", "-t", &timeout.as_secs().to_string(), name])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// How the container ended, from `docker inspect`: its exit code and Docker's start error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    pub exit_code: i32,
    pub error: String,
}

/// Inspects the container; `None` if it does not exist (it was never created).
pub async fn inspect(options: &DockerOptions, name: &str) -> Option<Inspected> {
    let mut command = options.command();
    command
        .args([
            "inspect",
            "--type",
            "container",
            "--format",
            "{{.State.ExitCode}}|{{.State.Error}}",
            name,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let out = tokio::time::timeout(Duration::from_secs(30), command.output())
        .await
        .ok()?
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let (code, error) = text.trim().split_once('|')?;
    Some(Inspected {
        exit_code: code.trim().parse().ok()?,
        error: error.trim().to_string(),
    })
}

/// Removes the container, waiting at most a few seconds (used on drop, so blocking).
pub fn remove_blocking(options: &DockerOptions, name: &str) {
    let Ok(mut child) = options.std_command().args(["rm", "-f", name]).spawn() else {
        return;
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// What a finished `docker run` means for the task.
pub fn outcome(
    client_exit: i32,
    inspected: Option<Inspected>,
    stderr_tail: &[String],
) -> Result<i32, String> {
    match inspected {
        Some(state) if !state.error.is_empty() => Err(format!("{CANNOT_START}: {}", state.error)),
        Some(state) => Ok(state.exit_code),
        // No container: `docker run` failed before creating it (image pull, bad flags).
        None if client_exit == 125 => Err(format!(
            "CannotPullContainerError: docker run failed: {}",
            stderr_tail
                .last()
                .map(String::as_str)
                .unwrap_or("no output")
        )),
        None => Ok(client_exit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container() -> LocalContainer {
        LocalContainer {
            name: "fastapi".into(),
            image: Some("app:1".into()),
            essential: true,
            entry_point: vec![],
            command: vec!["uvicorn".into()],
            environment: vec![("DATABASE_URL".into(), "postgresql://secret".into())],
            secrets: vec![],
            working_directory: Some("/srv".into()),
            user: Some("1000".into()),
            stop_timeout: Duration::from_secs(10),
            log_configuration: None,
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn run_arguments() {
        let c = container();
        let args = run_args(
            &c,
            "app:1",
            "ecs-migrate-abc",
            &strings(&["alembic", "upgrade", "head"]),
        );
        assert_eq!(
            args,
            strings(&[
                "run",
                "--name",
                "ecs-migrate-abc",
                "--network",
                "host",
                "--stop-timeout",
                "10",
                "--env",
                "DATABASE_URL",
                "--workdir",
                "/srv",
                "--user",
                "1000",
                "app:1",
                "alembic",
                "upgrade",
                "head"
            ])
        );
        assert!(
            !args.iter().any(|a| a.contains("secret")),
            "values stay out of argv"
        );
    }

    #[test]
    fn entry_point_replaces_the_images() {
        let mut c = container();
        c.entry_point = strings(&["/bin/sh", "-c"]);
        let args = run_args(
            &c,
            "app:1",
            "n",
            &strings(&["/bin/sh", "-c", "alembic upgrade head"]),
        );
        let tail = &args[args.len() - 5..];
        assert_eq!(
            tail,
            strings(&[
                "--entrypoint",
                "/bin/sh",
                "app:1",
                "-c",
                "alembic upgrade head"
            ])
        );
    }

    #[test]
    fn an_image_is_required() {
        let mut c = container();
        c.image = None;
        let err = prepare(&DockerOptions::default(), &c, "n", &strings(&["x"])).unwrap_err();
        assert!(err.contains("has no image"), "{err}");
    }

    #[test]
    fn outcomes() {
        let ok = Inspected {
            exit_code: 3,
            error: String::new(),
        };
        assert_eq!(outcome(3, Some(ok), &[]), Ok(3));
        let failed = Inspected {
            exit_code: 127,
            error: "exec: \"alembic\": executable file not found in $PATH".into(),
        };
        assert!(outcome(127, Some(failed), &[])
            .unwrap_err()
            .starts_with("CannotStartContainerError"));
        let pull = outcome(
            125,
            None,
            &strings(&["Unable to find image 'app:1' locally"]),
        );
        assert!(pull.unwrap_err().contains("Unable to find image"));
    }

    #[tokio::test]
    async fn a_missing_daemon_is_reported_at_once() {
        let options = DockerOptions {
            host: Some("unix:///nonexistent/ecs-migrate-test/docker.sock".into()),
            probe_timeout: Duration::from_secs(5),
        };
        let started = std::time::Instant::now();
        let err = check_daemon(&options).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(6));
        assert!(
            matches!(&err, DockerError::NoDaemon { host, .. } if host.contains("/nonexistent/")),
            "{err}"
        );
    }
}
