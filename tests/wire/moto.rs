//! A moto server for the wire tests, and fixtures on it.
//!
//! ```ignore
//! use crate::moto;
//!
//! #[tokio::test]
//! async fn something() {
//!     let server = moto::shared();                  // one server for the whole wire binary
//!     let config = server.sdk_config().await;       // dummy credentials, us-east-1, its endpoint
//!     let cluster = server.create_cluster(&moto::unique("c")).await;
//!     let table = server.create_lock_table(&moto::unique("lock")).await;
//! }
//! ```
//!
//! The server is `tests/support/moto_server.py` (moto plus the fixes for the moto bugs the
//! tests hit) run by the Python in `.tools/moto`, which `tests/support/install-moto.sh` creates.
//! Without it every test that asks for a server fails saying so: wire tests are never skipped.
//!
//! Every wire test runs in this one binary, in parallel threads against the one server: give
//! every resource a [`unique`] name, and change nothing server-wide that another test could
//! notice (moto's reset, ECS state transitions). [`Moto::start`] gives a test a server of its
//! own (killed when dropped) when it needs one.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ecs::config::Credentials;

pub const REGION: &str = "us-east-1";
/// moto's default account.
pub const ACCOUNT: &str = "123456789012";
/// The dummy credentials every client (and the CLI under test, through the environment) uses.
pub const ACCESS_KEY_ID: &str = "testing";
pub const SECRET_ACCESS_KEY: &str = "testing";

/// How long the server may take to start (importing moto takes a second or two).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running moto server on 127.0.0.1; killed when dropped.
pub struct Moto {
    child: Mutex<Child>,
    /// Kept open: the server exits when it closes (`--exit-on-stdin-eof`), so it cannot outlive
    /// the test binary even when the binary never runs `Drop` (statics, aborts).
    _stdin: Mutex<ChildStdin>,
    port: u16,
    log: PathBuf,
}

/// The repository root (where `.tools/` and `tests/support/` are).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The venv Python that install-moto.sh creates.
pub fn python() -> PathBuf {
    repo_root().join(".tools/moto/bin/python")
}

/// The AWS CLI that install-moto.sh installs beside moto.
pub fn aws_cli() -> PathBuf {
    repo_root().join(".tools/moto/bin/aws")
}

/// The server every test in this binary shares, started on first use.
pub fn shared() -> &'static Moto {
    static SERVER: OnceLock<Moto> = OnceLock::new();
    SERVER.get_or_init(Moto::start)
}

/// A name no other test in this run uses: `PREFIX-PID-N`.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl Moto {
    /// Starts a server of its own on a free port and waits (bounded) until it answers.
    /// Panics, saying what to run, when the venv is missing.
    pub fn start() -> Self {
        Self::start_with_env(&[])
    }

    /// As [`Moto::start`], with extra environment for the server (e.g. `MOTO_REQUEST_LOG`).
    pub fn start_with_env(env: &[(&str, &str)]) -> Self {
        let python = python();
        assert!(
            python.exists(),
            "no moto server at {}: run tests/support/install-moto.sh (it creates the venv with the pinned moto), then run the tests again",
            python.display()
        );
        let script = repo_root().join("tests/support/moto_server.py");
        let log_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("moto");
        std::fs::create_dir_all(&log_dir).expect("create the moto log directory");
        let log = log_dir.join(format!("moto-{}-{}.log", std::process::id(), unique("s")));
        let stderr = std::fs::File::create(&log).expect("create the moto log file");
        let mut command = Command::new(&python);
        command
            .arg(&script)
            .arg("0")
            .arg("--exit-on-stdin-eof")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            // The server must not pick up a developer's real AWS settings.
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL");
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("start {} {}: {e}", python.display(), script.display()));
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");

        // The first stdout line names the port; read it on a thread so the wait is bounded.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            // Keep draining so the server never blocks on a full pipe.
            let mut sink = Vec::new();
            let _ = reader.read_to_end(&mut sink);
        });
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "moto did not print its port within {START_TIMEOUT:?}; see {}",
                    log.display()
                );
            }
        };
        let port: u16 = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| {
                let _ = child.kill();
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                panic!(
                    "moto did not start (first line {line:?}); its log {}:\n{text}",
                    log.display()
                )
            });
        let server = Self {
            child: Mutex::new(child),
            _stdin: Mutex::new(stdin),
            port,
            log,
        };
        server.wait_until_ready();
        server
    }

    fn wait_until_ready(&self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok((200, _)) = self.try_http("GET", "/moto-api/data.json", &[], "") {
                return;
            }
            if let Ok(Some(status)) = self.child.lock().unwrap().try_wait() {
                panic!("moto exited with {status}; see {}", self.log.display());
            }
            assert!(
                Instant::now() < deadline,
                "moto on port {} did not answer within {START_TIMEOUT:?}; see {}",
                self.port,
                self.log.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `http://127.0.0.1:PORT`, for `--endpoint-url` and `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// An SdkConfig for this server: dummy static credentials, us-east-1, its endpoint.
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new(
                ACCESS_KEY_ID,
                SECRET_ACCESS_KEY,
                None,
                None,
                "moto-tests",
            ))
            .endpoint_url(self.endpoint())
            .load()
            .await
    }

    pub async fn ecs(&self) -> aws_sdk_ecs::Client {
        aws_sdk_ecs::Client::new(&self.sdk_config().await)
    }

    pub async fn logs(&self) -> aws_sdk_cloudwatchlogs::Client {
        aws_sdk_cloudwatchlogs::Client::new(&self.sdk_config().await)
    }

    pub async fn sfn(&self) -> aws_sdk_sfn::Client {
        aws_sdk_sfn::Client::new(&self.sdk_config().await)
    }

    pub async fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk_config().await)
    }

    /// Environment for a child process (the CLI, the AWS CLI) that talks to this server.
    pub fn client_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY.into()),
            ("AWS_DEFAULT_REGION", REGION.into()),
            ("AWS_REGION", REGION.into()),
            ("AWS_ENDPOINT_URL", self.endpoint()),
            // No ~/.aws files, no instance metadata lookups.
            ("AWS_CONFIG_FILE", "/nonexistent/aws-config".into()),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/aws-credentials".into(),
            ),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    // ---- moto's own API ----

    /// Makes Step Functions run Pass/Wait/Choice/Succeed/Fail states for real
    /// (`execute_state_machine`); Task states get the queued canned Lambda results. Applies to
    /// the whole server and is idempotent.
    pub fn enable_state_machine_execution(&self) {
        self.moto_api(
            "/moto-api/config",
            r#"{"stepfunctions":{"execute_state_machine":true},"lambda":{"use_docker":false}}"#,
        );
    }

    /// How moto moves a model's status on (`/moto-api/state-manager/set-transition`); applies
    /// to the whole server, so only on a server of the test's own.
    pub fn set_transition(&self, model: &str, transition: &str) {
        self.moto_api(
            "/moto-api/state-manager/set-transition",
            &format!(r#"{{"model_name":"{model}","transition":{transition}}}"#),
        );
    }

    /// Makes execution `execution_arn`'s GetExecutionHistory show that it entered the Task
    /// state `name` (tests/support/moto_server.py's state-entered hook): what Step Functions
    /// records before that state invokes its function.
    pub fn enter_state(&self, execution_arn: &str, name: &str) {
        let body = serde_json::json!({"executionArn": execution_arn, "name": name});
        self.moto_api("/_ecs_migrate/state-entered", &body.to_string());
    }

    fn moto_api(&self, path: &str, body: &str) {
        let (status, text) = self
            .try_http("POST", path, &[("Content-Type", "application/json")], body)
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        assert!(
            (200..300).contains(&status),
            "POST {path} answered {status}: {text}"
        );
    }

    /// One plain HTTP/1.1 request (no extra crates: std's TcpStream).
    pub fn try_http(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> std::io::Result<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.port,
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes())?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response)?;
        let response = String::from_utf8_lossy(&response).into_owned();
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("not HTTP: {response:.200}")))?;
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        Ok((status, body))
    }

    /// An EC2 Query API call (no aws-sdk-ec2: one XML answer is all the fixtures need).
    fn ec2(&self, params: &str) -> String {
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/20260101/{REGION}/ec2/aws4_request, SignedHeaders=host, Signature=0"
        );
        let body = format!("{params}&Version=2016-11-15");
        let (status, text) = self
            .try_http(
                "POST",
                "/",
                &[
                    ("Content-Type", "application/x-www-form-urlencoded"),
                    ("Authorization", &auth),
                ],
                &body,
            )
            .unwrap_or_else(|e| panic!("ec2 {params}: {e}"));
        assert_eq!(status, 200, "ec2 {params} answered {status}: {text}");
        text
    }

    // ---- fixtures ----

    /// A subnet of moto's default VPC (RunTask checks that the subnet exists).
    pub fn default_subnet(&self) -> String {
        let xml =
            self.ec2("Action=DescribeSubnets&Filter.1.Name=default-for-az&Filter.1.Value.1=true");
        xml_values(&xml, "subnetId")
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("moto has no default subnet: {xml:.500}"))
    }

    /// A security group in the default VPC; returns its id.
    pub fn create_security_group(&self, name: &str) -> String {
        let xml = self.ec2(&format!(
            "Action=CreateSecurityGroup&GroupName={name}&GroupDescription=ecs-migrate-tests"
        ));
        xml_values(&xml, "groupId")
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("CreateSecurityGroup gave no groupId: {xml:.500}"))
    }

    /// An ECS cluster; returns its ARN.
    pub async fn create_cluster(&self, name: &str) -> String {
        let out = self
            .ecs()
            .await
            .create_cluster()
            .cluster_name(name)
            .send()
            .await
            .expect("ecs:CreateCluster");
        out.cluster()
            .and_then(|c| c.cluster_arn())
            .expect("a cluster ARN")
            .to_string()
    }

    /// A Fargate (awsvpc) task definition whose container `container` logs with awslogs to
    /// `log_group` under `prefix`; returns its ARN (`...:task-definition/FAMILY:REV`).
    pub async fn register_task_definition(
        &self,
        family: &str,
        container: &str,
        log_group: &str,
        prefix: &str,
    ) -> String {
        use aws_sdk_ecs::types::{
            Compatibility, ContainerDefinition, LogConfiguration, LogDriver, NetworkMode,
        };
        let log = LogConfiguration::builder()
            .log_driver(LogDriver::Awslogs)
            .options("awslogs-group", log_group)
            .options("awslogs-region", REGION)
            .options("awslogs-stream-prefix", prefix)
            .build()
            .expect("log configuration");
        let out = self
            .ecs()
            .await
            .register_task_definition()
            .family(family)
            .network_mode(NetworkMode::Awsvpc)
            .requires_compatibilities(Compatibility::Fargate)
            .cpu("256")
            .memory("512")
            .container_definitions(
                ContainerDefinition::builder()
                    .name(container)
                    .image("public.ecr.aws/docker/library/python:3.12-slim")
                    .essential(true)
                    .memory(512)
                    .log_configuration(log)
                    .build(),
            )
            .send()
            .await
            .expect("ecs:RegisterTaskDefinition");
        out.task_definition()
            .and_then(|t| t.task_definition_arn())
            .expect("a task definition ARN")
            .to_string()
    }

    /// A log group and stream holding `lines` (one event each, 1 ms apart, oldest first).
    pub async fn create_log_stream(&self, group: &str, stream: &str, lines: &[&str]) {
        let logs = self.logs().await;
        match logs.create_log_group().log_group_name(group).send().await {
            Ok(_) => {}
            Err(e) if format!("{e:?}").contains("ResourceAlreadyExists") => {}
            Err(e) => panic!("logs:CreateLogGroup {group}: {e:?}"),
        }
        logs.create_log_stream()
            .log_group_name(group)
            .log_stream_name(stream)
            .send()
            .await
            .expect("logs:CreateLogStream");
        if !lines.is_empty() {
            self.put_log_lines(group, stream, lines).await;
        }
    }

    /// Appends `lines` to a stream, timestamped now (1 ms apart, so their order is kept).
    pub async fn put_log_lines(&self, group: &str, stream: &str, lines: &[&str]) {
        use aws_sdk_cloudwatchlogs::types::InputLogEvent;
        static LAST_MS: Mutex<i64> = Mutex::new(0);
        let events: Vec<InputLogEvent> = {
            let mut last = LAST_MS.lock().unwrap();
            let now = chrono::Utc::now().timestamp_millis();
            let start = now.max(*last + 1);
            *last = start + lines.len() as i64;
            lines
                .iter()
                .enumerate()
                .map(|(i, line)| {
                    InputLogEvent::builder()
                        .timestamp(start + i as i64)
                        .message(*line)
                        .build()
                        .expect("log event")
                })
                .collect()
        };
        self.logs()
            .await
            .put_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .set_log_events(Some(events))
            .send()
            .await
            .expect("logs:PutLogEvents");
    }

    /// A lock table as the Terraform module creates it (terraform/lock.tf): on demand, partition
    /// key `scope` (S), nothing else. Returns its name.
    pub async fn create_lock_table(&self, name: &str) -> String {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        self.dynamodb()
            .await
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(ecs_migrate::ports::lock::PARTITION_KEY)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .expect("attribute definition"),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(ecs_migrate::ports::lock::PARTITION_KEY)
                    .key_type(KeyType::Hash)
                    .build()
                    .expect("key schema"),
            )
            .send()
            .await
            .expect("dynamodb:CreateTable");
        name.to_string()
    }

    /// A STANDARD state machine with this definition; returns its ARN.
    pub async fn create_state_machine(&self, name: &str, definition: &serde_json::Value) -> String {
        let out = self
            .sfn()
            .await
            .create_state_machine()
            .name(name)
            .definition(definition.to_string())
            .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/ecs-migrate-tests"))
            .send()
            .await
            .expect("states:CreateStateMachine");
        out.state_machine_arn().to_string()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// The texts of every `<tag>...</tag>` in an XML document (enough for EC2's answers).
fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut values = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        values.push(after[..end].to_string());
        rest = &after[end + close.len()..];
    }
    values
}
