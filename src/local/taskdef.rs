//! Loading an ECS task definition file for the local runner.
//!
//! The file is what `aws ecs register-task-definition --cli-input-json file://FILE` takes
//! (RegisterTaskDefinition JSON). The output of `aws ecs describe-task-definition`
//! (`{"taskDefinition": {...}}`) is accepted too, so a registered definition can be pulled down
//! and run as it is. Only the fields the runner uses are read; the rest (cpu, memory, roles,
//! ...) are ignored, since one machine has no use for them.
//!
//! The file *is* the definition to run. A file without an ARN (RegisterTaskDefinition JSON)
//! stands in for every revision of its family, in any account and region, so an event copied
//! from production (`myapp:42`, or the full ARN) replays locally; it reports itself as
//! `arn:aws:ecs:local:000000000000:task-definition/FAMILY:1` (region `local`, account twelve
//! zeros: ARN-shaped so every parser accepts it, and never a real account). A file that carries
//! its own `taskDefinitionArn` (DescribeTaskDefinition output) is that one revision in that
//! account and region, and answers only to it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::common::files::{read_text, ReadError, MAX_TASK_DEFINITION_BYTES};
use crate::migration::event::parse_taskdef;
use crate::ports::ecs::{ContainerDefinition, LogConfiguration, TaskDefinition};

/// The region part of every local ARN.
pub const LOCAL_REGION: &str = "local";
/// The account part of every local ARN.
pub const LOCAL_ACCOUNT: &str = "000000000000";
/// The revision a loaded file is given.
pub const LOCAL_REVISION: i32 = 1;
/// The log stream prefix reported when the file's awslogs configuration has none.
pub const DEFAULT_STREAM_PREFIX: &str = "local";
/// ECS's default stop timeout: SIGKILL this long after SIGTERM.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// ECS's largest `stopTimeout` (Fargate).
pub const MAX_STOP_TIMEOUT_SECONDS: u64 = 120;

/// The log group reported for a family whose file names none: `/ecs-migrate/local/FAMILY`.
pub fn default_log_group(family: &str) -> String {
    format!("/ecs-migrate/local/{family}")
}

/// The local ARN of a family's loaded definition.
pub fn local_taskdef_arn(family: &str) -> String {
    format!("arn:aws:ecs:{LOCAL_REGION}:{LOCAL_ACCOUNT}:task-definition/{family}:{LOCAL_REVISION}")
}

/// Why a task definition file cannot be used. Each message names the field and the fix.
#[derive(Debug, thiserror::Error)]
pub enum TaskDefError {
    #[error("cannot read task definition file {path}: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Too large, or not UTF-8.
    #[error("{0}")]
    File(ReadError),
    #[error("task definition file {path} is not JSON ({detail}); give the RegisterTaskDefinition JSON you would pass to `aws ecs register-task-definition --cli-input-json`")]
    NotJson { path: PathBuf, detail: String },
    #[error("task definition file {path} holds {found}, not an object; give the RegisterTaskDefinition JSON object")]
    NotAnObject { path: PathBuf, found: &'static str },
    #[error("task definition file {path} is not a task definition: it has neither family nor containerDefinitions, and looks like {looks_like}; give the RegisterTaskDefinition JSON you would pass to `aws ecs register-task-definition --cli-input-json`")]
    NotATaskDefinition { path: PathBuf, looks_like: String },
    #[error("task definition file {path} has no family; add \"family\": \"NAME\"")]
    MissingFamily { path: PathBuf },
    #[error("task definition file {path}: family {family:?} is not valid; a family is 1-255 letters, digits, hyphens and underscores")]
    BadFamily { path: PathBuf, family: String },
    #[error("task definition file {path} has no containerDefinitions; add a list with at least one container (name, image, command)")]
    NoContainers { path: PathBuf },
    #[error("task definition file {path}: {field} has no name; give every container a \"name\"")]
    ContainerWithoutName { path: PathBuf, field: String },
    #[error("task definition file {path}: {field} repeats the container name {name:?}; container names must be unique")]
    DuplicateContainer {
        path: PathBuf,
        field: String,
        name: String,
    },
    #[error("task definition file {path}: no container in containerDefinitions is essential; ECS needs one: mark the migration container \"essential\": true")]
    NoEssentialContainer { path: PathBuf },
    #[error("task definition file {path} has no container {name:?} (it has {available})")]
    UnknownContainer {
        path: PathBuf,
        name: String,
        available: String,
    },
    #[error("task definition file {path}: {field} {problem}; write it as [{{\"name\": \"VAR\", \"value\": \"...\"}}]")]
    BadEnvironment {
        path: PathBuf,
        field: String,
        problem: String,
    },
    #[error("task definition file {path}: {field} {problem}")]
    BadField {
        path: PathBuf,
        field: String,
        problem: String,
    },
}

impl TaskDefError {
    /// The field the error is about, as a JSON path into the file (`family`,
    /// `containerDefinitions[0].environment[2].value`, ...), when it is about one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Unreadable { .. }
            | Self::File(_)
            | Self::NotJson { .. }
            | Self::NotAnObject { .. }
            | Self::NotATaskDefinition { .. } => None,
            Self::MissingFamily { .. } | Self::BadFamily { .. } => Some("family"),
            Self::NoContainers { .. } | Self::NoEssentialContainer { .. } => {
                Some("containerDefinitions")
            }
            Self::UnknownContainer { .. } => Some("containerDefinitions"),
            Self::ContainerWithoutName { field, .. }
            | Self::DuplicateContainer { field, .. }
            | Self::BadEnvironment { field, .. }
            | Self::BadField { field, .. } => Some(field),
        }
    }
}

/// One container of the file, with what the runner needs to start it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalContainer {
    pub name: String,
    pub image: Option<String>,
    /// ECS treats a container without `essential` as essential.
    pub essential: bool,
    pub entry_point: Vec<String>,
    pub command: Vec<String>,
    /// `environment`, in file order (a later entry with the same name wins, as in Docker).
    pub environment: Vec<(String, String)>,
    /// `secrets`: variables ECS fills from SSM Parameter Store or Secrets Manager at start.
    pub secrets: Vec<Secret>,
    pub working_directory: Option<String>,
    pub user: Option<String>,
    /// `stopTimeout`, or ECS's default of 30 s.
    pub stop_timeout: Duration,
    /// The file's `logConfiguration`, as written.
    pub log_configuration: Option<LogConfiguration>,
}

/// The registered revision a file says it is (its `taskDefinitionArn`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredArn {
    pub arn: String,
    pub region: String,
    pub account: String,
    pub revision: i32,
}

/// One entry of a container's `secrets`: the variable `name`, filled by ECS from `value_from`
/// (an SSM parameter name or ARN, or a Secrets Manager secret ARN, optionally with
/// `:json-key:version-stage:version-id`; docs.aws.amazon.com/AmazonECS/latest/developerguide/
/// secrets-envvar-ssm-paramstore.html and secrets-envvar-secrets-manager.html).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    pub name: String,
    pub value_from: String,
}

impl Secret {
    /// Where the value comes from in AWS, in words: `Secrets Manager secret ARN` or
    /// `SSM parameter NAME`.
    pub fn source(&self) -> String {
        if self.value_from.starts_with("arn:") && self.value_from.contains(":secretsmanager:") {
            format!("Secrets Manager secret {}", self.value_from)
        } else {
            format!("SSM parameter {}", self.value_from)
        }
    }
}

/// A task definition file, loaded and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalTaskDefinition {
    /// The file it came from (for messages).
    pub path: PathBuf,
    pub family: String,
    /// The file's own `taskDefinitionArn`, when it has one.
    pub registered: Option<RegisteredArn>,
    pub network_mode: Option<String>,
    pub containers: Vec<LocalContainer>,
}

impl LocalTaskDefinition {
    /// Reads and checks a task definition file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, TaskDefError> {
        let path = path.as_ref();
        let text =
            read_text(path, "task definition file", MAX_TASK_DEFINITION_BYTES).map_err(|err| {
                match err {
                    ReadError::Unreadable { path, source, .. } => {
                        TaskDefError::Unreadable { path, source }
                    }
                    other => TaskDefError::File(other),
                }
            })?;
        Self::parse(path, &text)
    }

    /// Checks a task definition given as text; `path` only names it in messages.
    pub fn parse(path: impl AsRef<Path>, text: &str) -> Result<Self, TaskDefError> {
        let path = path.as_ref().to_path_buf();
        let value: Value = serde_json::from_str(text).map_err(|e| TaskDefError::NotJson {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        Self::from_value(path, &value)
    }

    fn from_value(path: PathBuf, value: &Value) -> Result<Self, TaskDefError> {
        let Value::Object(top) = value else {
            return Err(TaskDefError::NotAnObject {
                path,
                found: kind(value),
            });
        };
        // DescribeTaskDefinition output wraps the definition.
        let (object, prefix) = match top.get("taskDefinition") {
            Some(Value::Object(inner)) if !top.contains_key("family") => (inner, "taskDefinition."),
            _ => (top, ""),
        };
        let p = Parser {
            path: &path,
            prefix,
        };

        if !object.contains_key("family") && !object.contains_key("containerDefinitions") {
            return Err(TaskDefError::NotATaskDefinition {
                looks_like: looks_like(object),
                path,
            });
        }
        let family = family_of(&p, object)?;
        let network_mode = p.opt_string(object, "networkMode", "networkMode")?;
        let registered = match p.opt_string(object, "taskDefinitionArn", "taskDefinitionArn")? {
            None => None,
            Some(arn) => Some(registered_arn(
                &path,
                &p.full("taskDefinitionArn"),
                &arn,
                &family,
            )?),
        };

        let containers = match object.get("containerDefinitions") {
            None | Some(Value::Null) => return Err(TaskDefError::NoContainers { path }),
            Some(Value::Array(items)) if items.is_empty() => {
                return Err(TaskDefError::NoContainers { path })
            }
            Some(Value::Array(items)) => items,
            Some(other) => return Err(p.wrong_type("containerDefinitions", "a list", other)),
        };
        let mut loaded: Vec<LocalContainer> = Vec::with_capacity(containers.len());
        for (index, item) in containers.iter().enumerate() {
            let field = format!("containerDefinitions[{index}]");
            let Value::Object(c) = item else {
                return Err(p.wrong_type(&field, "an object", item));
            };
            let container = p.container(c, &field)?;
            if loaded.iter().any(|l| l.name == container.name) {
                return Err(TaskDefError::DuplicateContainer {
                    path: path.clone(),
                    field: p.full(&format!("{field}.name")),
                    name: container.name,
                });
            }
            loaded.push(container);
        }
        if !loaded.iter().any(|c| c.essential) {
            return Err(TaskDefError::NoEssentialContainer { path });
        }
        Ok(Self {
            path,
            family,
            registered,
            network_mode,
            containers: loaded,
        })
    }

    /// The file's own ARN, else the local one:
    /// `arn:aws:ecs:local:000000000000:task-definition/FAMILY:1`.
    pub fn arn(&self) -> String {
        match &self.registered {
            Some(registered) => registered.arn.clone(),
            None => local_taskdef_arn(&self.family),
        }
    }

    /// The file's own revision, else 1.
    pub fn revision(&self) -> i32 {
        self.registered
            .as_ref()
            .map_or(LOCAL_REVISION, |r| r.revision)
    }

    /// The container migrations run in by default: the first essential one.
    pub fn default_container(&self) -> &LocalContainer {
        self.containers
            .iter()
            .find(|c| c.essential)
            // `load` refuses files without an essential container; this is unreachable.
            .unwrap_or(&self.containers[0])
    }

    /// The container named `name` (`--container`), or the default one when `None`.
    pub fn container(&self, name: Option<&str>) -> Result<&LocalContainer, TaskDefError> {
        let Some(name) = name else {
            return Ok(self.default_container());
        };
        self.find(name)
            .ok_or_else(|| TaskDefError::UnknownContainer {
                path: self.path.clone(),
                name: name.to_string(),
                available: self
                    .containers
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    pub fn find(&self, name: &str) -> Option<&LocalContainer> {
        self.containers.iter().find(|c| c.name == name)
    }

    /// True when `reference` names this definition: `FAMILY`, `FAMILY:1` or the local ARN.
    pub fn answers_to(&self, reference: &str) -> bool {
        let Ok(named) = parse_taskdef(reference, "taskdef_arn") else {
            return false;
        };
        if named.family != self.family {
            return false;
        }
        match &self.registered {
            // Any revision of the family, in any account and region: the file stands in.
            None => true,
            // Exactly the file's revision, account and region.
            Some(registered) => {
                named.revision.is_none_or(|r| r == registered.revision)
                    && named
                        .account
                        .as_ref()
                        .is_none_or(|a| *a == registered.account)
                    && named
                        .region
                        .as_ref()
                        .is_none_or(|r| *r == registered.region)
            }
        }
    }

    /// The definition as DescribeTaskDefinition would report it once registered. The runner
    /// acts as the awslogs driver, so every container logs with `awslogs`: to the file's
    /// `awslogs-group` and `awslogs-stream-prefix` when it gives them, else to group
    /// `/ecs-migrate/local/FAMILY` with prefix `local`.
    pub fn to_task_definition(&self) -> TaskDefinition {
        TaskDefinition {
            arn: self.arn(),
            family: self.family.clone(),
            revision: self.revision(),
            network_mode: self.network_mode.clone(),
            containers: self
                .containers
                .iter()
                .map(|c| ContainerDefinition {
                    name: c.name.clone(),
                    essential: c.essential,
                    log: Some(self.effective_log(c)),
                })
                .collect(),
        }
    }

    /// The awslogs configuration the runner reports (and answers `Logs::tail` for) for `c`.
    pub fn effective_log(&self, c: &LocalContainer) -> LogConfiguration {
        let from_file = c
            .log_configuration
            .as_ref()
            .filter(|l| l.driver == "awslogs");
        LogConfiguration {
            driver: "awslogs".to_string(),
            group: from_file
                .and_then(|l| l.group.clone())
                .or_else(|| Some(default_log_group(&self.family))),
            region: from_file.and_then(|l| l.region.clone()),
            stream_prefix: from_file
                .and_then(|l| l.stream_prefix.clone())
                .or_else(|| Some(DEFAULT_STREAM_PREFIX.to_string())),
        }
    }
}

/// The file's `taskDefinitionArn`: a full task definition ARN of the file's own family.
fn registered_arn(
    path: &Path,
    field: &str,
    arn: &str,
    family: &str,
) -> Result<RegisteredArn, TaskDefError> {
    let bad = |problem: String| TaskDefError::BadField {
        path: path.to_path_buf(),
        field: field.to_string(),
        problem,
    };
    let named = parse_taskdef(arn, field).map_err(|e| bad(e.message().to_string()))?;
    let (Some(region), Some(account), Some(revision)) =
        (named.region, named.account, named.revision)
    else {
        return Err(bad(format!(
            "{arn:?} is not a full task definition ARN (arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION)"
        )));
    };
    if named.family != family {
        return Err(bad(format!(
            "{arn:?} names family {:?}, but the file's family is {family:?}",
            named.family
        )));
    }
    Ok(RegisteredArn {
        arn: arn.trim().to_string(),
        region,
        account,
        revision,
    })
}

/// `family`: a string of 1 to 255 letters, digits, `-` and `_`, as RegisterTaskDefinition takes.
fn family_of(p: &Parser<'_>, object: &Map<String, Value>) -> Result<String, TaskDefError> {
    let path = p.path.to_path_buf();
    let family = match object.get("family") {
        None | Some(Value::Null) => return Err(TaskDefError::MissingFamily { path }),
        Some(Value::String(family)) => family.clone(),
        Some(other) => return Err(p.wrong_type("family", "a string", other)),
    };
    let family_ok = !family.is_empty()
        && family.len() <= 255
        && family
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !family_ok {
        return Err(TaskDefError::BadFamily { path, family });
    }
    Ok(family)
}

/// Reads fields with errors that name their JSON path in the file.
struct Parser<'a> {
    path: &'a Path,
    /// `taskDefinition.` for DescribeTaskDefinition output, else empty.
    prefix: &'a str,
}

impl Parser<'_> {
    fn full(&self, field: &str) -> String {
        format!("{}{field}", self.prefix)
    }

    fn wrong_type(&self, field: &str, expected: &str, found: &Value) -> TaskDefError {
        TaskDefError::BadField {
            path: self.path.to_path_buf(),
            field: self.full(field),
            problem: format!("is {}, not {expected}", kind(found)),
        }
    }

    fn opt_string(
        &self,
        object: &Map<String, Value>,
        key: &str,
        field: &str,
    ) -> Result<Option<String>, TaskDefError> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.wrong_type(field, "a string", other)),
        }
    }

    fn string_list(
        &self,
        object: &Map<String, Value>,
        key: &str,
        field: &str,
    ) -> Result<Vec<String>, TaskDefError> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(self.wrong_type(&format!("{field}[{i}]"), "a string", other)),
                })
                .collect(),
            Some(other) => Err(self.wrong_type(field, "a list of strings", other)),
        }
    }

    fn container(
        &self,
        c: &Map<String, Value>,
        field: &str,
    ) -> Result<LocalContainer, TaskDefError> {
        let name = match c.get("name") {
            None | Some(Value::Null) => {
                return Err(TaskDefError::ContainerWithoutName {
                    path: self.path.to_path_buf(),
                    field: self.full(field),
                })
            }
            Some(Value::String(name)) if name.trim().is_empty() => {
                return Err(TaskDefError::ContainerWithoutName {
                    path: self.path.to_path_buf(),
                    field: self.full(field),
                })
            }
            Some(Value::String(name)) => name.clone(),
            Some(other) => {
                return Err(self.wrong_type(&format!("{field}.name"), "a string", other))
            }
        };
        let essential = match c.get("essential") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(self.wrong_type(&format!("{field}.essential"), "true or false", other))
            }
        };
        let stop_timeout = match c.get("stopTimeout") {
            None | Some(Value::Null) => DEFAULT_STOP_TIMEOUT,
            Some(Value::Number(n)) => match n.as_u64() {
                Some(s) if s <= MAX_STOP_TIMEOUT_SECONDS => Duration::from_secs(s),
                _ => {
                    return Err(TaskDefError::BadField {
                        path: self.path.to_path_buf(),
                        field: self.full(&format!("{field}.stopTimeout")),
                        problem: format!(
                            "is {n}; give whole seconds from 0 to {MAX_STOP_TIMEOUT_SECONDS} (ECS's maximum)"
                        ),
                    })
                }
            },
            Some(other) => {
                return Err(self.wrong_type(
                    &format!("{field}.stopTimeout"),
                    "a number of seconds",
                    other,
                ))
            }
        };
        Ok(LocalContainer {
            image: self.opt_string(c, "image", &format!("{field}.image"))?,
            essential,
            entry_point: self.string_list(c, "entryPoint", &format!("{field}.entryPoint"))?,
            command: self.string_list(c, "command", &format!("{field}.command"))?,
            environment: self.environment(c, &format!("{field}.environment"))?,
            secrets: self.secrets(c, &format!("{field}.secrets"))?,
            working_directory: self.opt_string(
                c,
                "workingDirectory",
                &format!("{field}.workingDirectory"),
            )?,
            user: self.opt_string(c, "user", &format!("{field}.user"))?,
            stop_timeout,
            log_configuration: self.log_configuration(c, &format!("{field}.logConfiguration"))?,
            name,
        })
    }

    fn environment(
        &self,
        c: &Map<String, Value>,
        field: &str,
    ) -> Result<Vec<(String, String)>, TaskDefError> {
        let bad = |field: String, problem: String| TaskDefError::BadEnvironment {
            path: self.path.to_path_buf(),
            field: self.full(&field),
            problem,
        };
        let items = match c.get("environment") {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(other) => {
                return Err(bad(
                    field.to_string(),
                    format!("is {}, not a list", kind(other)),
                ))
            }
        };
        let mut env = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let entry = format!("{field}[{i}]");
            let Value::Object(pair) = item else {
                return Err(bad(entry, format!("is {}, not an object", kind(item))));
            };
            let name = match pair.get("name") {
                Some(Value::String(n))
                    if !n.is_empty() && !n.contains('=') && !n.contains('\0') =>
                {
                    n.clone()
                }
                Some(Value::String(n)) => {
                    return Err(bad(
                        format!("{entry}.name"),
                        format!("is {n:?}; a variable name is non-empty and has no '=' or NUL"),
                    ))
                }
                None | Some(Value::Null) => {
                    return Err(bad(format!("{entry}.name"), "is missing".to_string()))
                }
                Some(other) => {
                    return Err(bad(
                        format!("{entry}.name"),
                        format!("is {}, not a string", kind(other)),
                    ))
                }
            };
            let value = match pair.get("value") {
                // ECS passes a missing value as the empty string.
                None | Some(Value::Null) => String::new(),
                Some(Value::String(v)) if v.contains('\0') => {
                    return Err(bad(
                        format!("{entry}.value"),
                        "contains a NUL character".to_string(),
                    ))
                }
                Some(Value::String(v)) => v.clone(),
                Some(other) => {
                    return Err(bad(
                        format!("{entry}.value"),
                        format!(
                        "is {}, not a string (quote it: ECS takes environment values as strings)",
                        kind(other)
                    ),
                    ))
                }
            };
            env.push((name, value));
        }
        Ok(env)
    }

    fn secrets(&self, c: &Map<String, Value>, field: &str) -> Result<Vec<Secret>, TaskDefError> {
        let items = match c.get("secrets") {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(other) => return Err(self.wrong_type(field, "a list", other)),
        };
        let mut secrets = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let entry = format!("{field}[{i}]");
            let Value::Object(pair) = item else {
                return Err(self.wrong_type(&entry, "an object", item));
            };
            let text = |key: &str| match pair.get(key) {
                Some(Value::String(v)) if !v.is_empty() && !v.contains('\0') => Ok(v.clone()),
                Some(Value::String(_)) => Err(TaskDefError::BadField {
                    path: self.path.to_path_buf(),
                    field: self.full(&format!("{entry}.{key}")),
                    problem: "is empty or has a NUL character".to_string(),
                }),
                None | Some(Value::Null) => Err(TaskDefError::BadField {
                    path: self.path.to_path_buf(),
                    field: self.full(&format!("{entry}.{key}")),
                    problem: "is missing; a secret is {\"name\": \"VAR\", \"valueFrom\": \"ARN\"}"
                        .to_string(),
                }),
                Some(other) => Err(self.wrong_type(&format!("{entry}.{key}"), "a string", other)),
            };
            let name = text("name")?;
            let value_from = text("valueFrom")?;
            if name.contains('=') {
                return Err(TaskDefError::BadField {
                    path: self.path.to_path_buf(),
                    field: self.full(&format!("{entry}.name")),
                    problem: format!("is {name:?}; a variable name has no '='"),
                });
            }
            secrets.push(Secret { name, value_from });
        }
        Ok(secrets)
    }

    fn log_configuration(
        &self,
        c: &Map<String, Value>,
        field: &str,
    ) -> Result<Option<LogConfiguration>, TaskDefError> {
        let config = match c.get("logConfiguration") {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Object(config)) => config,
            Some(other) => return Err(self.wrong_type(field, "an object", other)),
        };
        let driver = match config.get("logDriver") {
            Some(Value::String(d)) => d.clone(),
            None | Some(Value::Null) => {
                return Err(TaskDefError::BadField {
                    path: self.path.to_path_buf(),
                    field: self.full(&format!("{field}.logDriver")),
                    problem: "is missing; use \"awslogs\"".to_string(),
                })
            }
            Some(other) => {
                return Err(self.wrong_type(&format!("{field}.logDriver"), "a string", other))
            }
        };
        let mut options = HashMap::new();
        match config.get("options") {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (key, value) in map {
                    match value {
                        Value::String(v) => {
                            options.insert(key.clone(), v.clone());
                        }
                        other => {
                            return Err(self.wrong_type(
                                &format!("{field}.options.{key}"),
                                "a string",
                                other,
                            ))
                        }
                    }
                }
            }
            Some(other) => {
                return Err(self.wrong_type(&format!("{field}.options"), "an object", other))
            }
        }
        Ok(Some(LogConfiguration::from_options(&driver, &options)))
    }
}

/// What a JSON object given as a task definition seems to be instead, from its keys, so the
/// message says which file was mixed up: a state machine, a mock configuration, an event.
fn looks_like(object: &serde_json::Map<String, Value>) -> String {
    let has = |key: &str| object.contains_key(key);
    if has("StartAt") && has("States") {
        "a state machine definition (Amazon States Language: StartAt, States); run it with `ecs-migrate asl run --definition FILE`".into()
    } else if has("StateMachines") || has("MockedResponses") {
        "a Step Functions Local mock configuration (StateMachines, MockedResponses); give it to `ecs-migrate asl run --mock-config`".into()
    } else if has("taskdef_arn") || (has("detail-type") && has("detail")) {
        "an execution input (an event or {\"taskdef_arn\": ...}); give it to --event".into()
    } else if has("serviceName") || has("taskDefinition") {
        "an ECS service definition (serviceName, taskDefinition)".into()
    } else if object.is_empty() {
        "an empty object".into()
    } else {
        let keys: Vec<&str> = object.keys().take(5).map(String::as_str).collect();
        format!("an object with keys {}", keys.join(", "))
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<LocalTaskDefinition, TaskDefError> {
        LocalTaskDefinition::parse("td.json", &value.to_string())
    }

    fn full() -> Value {
        json!({
            "family": "app",
            "networkMode": "awsvpc",
            "containerDefinitions": [
                {"name": "sidecar", "image": "envoy", "essential": false},
                {
                    "name": "web",
                    "image": "app:1",
                    "entryPoint": ["/bin/sh", "-c"],
                    "command": ["uvicorn app.main:app"],
                    "environment": [{"name": "A", "value": "1"}, {"name": "B"}],
                    "workingDirectory": "/srv",
                    "user": "1000:1000",
                    "stopTimeout": 10,
                    "logConfiguration": {"logDriver": "awslogs", "options": {
                        "awslogs-group": "/ecs/app", "awslogs-region": "eu-west-1",
                        "awslogs-stream-prefix": "ecs"}}
                },
                {"name": "worker", "image": "app:1"}
            ]
        })
    }

    #[test]
    fn reads_the_fields_the_runner_uses() {
        let td = parse(full()).unwrap();
        assert_eq!(td.family, "app");
        assert_eq!(td.network_mode.as_deref(), Some("awsvpc"));
        assert_eq!(td.default_container().name, "web");
        let web = td.find("web").unwrap();
        assert_eq!(web.entry_point, vec!["/bin/sh", "-c"]);
        assert_eq!(web.command, vec!["uvicorn app.main:app"]);
        assert_eq!(
            web.environment,
            vec![("A".into(), "1".into()), ("B".into(), String::new())]
        );
        assert_eq!(web.working_directory.as_deref(), Some("/srv"));
        assert_eq!(web.user.as_deref(), Some("1000:1000"));
        assert_eq!(web.stop_timeout, Duration::from_secs(10));
        assert_eq!(
            td.find("worker").unwrap().stop_timeout,
            DEFAULT_STOP_TIMEOUT
        );
        assert!(td.find("worker").unwrap().essential);
        assert_eq!(td.container(Some("worker")).unwrap().name, "worker");
    }

    #[test]
    fn describe_task_definition_output_is_accepted() {
        let td = parse(json!({"taskDefinition": full(), "tags": []})).unwrap();
        assert_eq!(td.family, "app");
        let err = parse(json!({"taskDefinition": {"family": "app"}})).unwrap_err();
        assert!(matches!(err, TaskDefError::NoContainers { .. }), "{err}");
        let err = parse(
            json!({"taskDefinition": {"family": "app", "containerDefinitions": [{"name": 1}]}}),
        )
        .unwrap_err();
        assert_eq!(
            err.field(),
            Some("taskDefinition.containerDefinitions[0].name")
        );
    }

    #[test]
    fn a_file_without_an_arn_stands_in_for_every_revision_anywhere() {
        let td = parse(full()).unwrap();
        assert_eq!(
            td.arn(),
            "arn:aws:ecs:local:000000000000:task-definition/app:1"
        );
        for reference in [
            "app",
            "app:1",
            "app:42",
            td.arn().as_str(),
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/app:7",
        ] {
            assert!(td.answers_to(reference), "{reference}");
        }
        for reference in [
            "other",
            "other:1",
            "app2:1",
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/other:1",
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/app",
        ] {
            assert!(!td.answers_to(reference), "{reference}");
        }
    }

    #[test]
    fn a_file_with_its_own_arn_is_that_revision_only() {
        let arn = "arn:aws:ecs:eu-west-1:123456789012:task-definition/app:42";
        let mut described = full();
        described["taskDefinitionArn"] = json!(arn);
        let td = parse(json!({ "taskDefinition": described })).unwrap();
        assert_eq!(td.arn(), arn);
        assert_eq!(td.revision(), 42);
        assert_eq!(td.to_task_definition().revision, 42);
        for reference in ["app", "app:42", arn] {
            assert!(td.answers_to(reference), "{reference}");
        }
        for reference in [
            "app:41",
            "arn:aws:ecs:eu-west-1:210987654321:task-definition/app:42",
            "arn:aws:ecs:us-east-1:123456789012:task-definition/app:42",
        ] {
            assert!(!td.answers_to(reference), "{reference}");
        }
        let mut wrong = full();
        wrong["taskDefinitionArn"] =
            json!("arn:aws:ecs:eu-west-1:123456789012:task-definition/other:1");
        let err = parse(wrong).unwrap_err();
        assert_eq!(err.field(), Some("taskDefinitionArn"));
        assert!(
            err.to_string().contains("the file's family is \"app\""),
            "{err}"
        );
    }

    #[test]
    fn reports_awslogs_for_every_container() {
        let td = parse(full()).unwrap().to_task_definition();
        assert_eq!(td.revision, 1);
        let web = td.containers.iter().find(|c| c.name == "web").unwrap();
        let log = web.log.as_ref().unwrap();
        assert_eq!(log.driver, "awslogs");
        assert_eq!(log.group.as_deref(), Some("/ecs/app"));
        assert_eq!(log.stream_prefix.as_deref(), Some("ecs"));
        assert_eq!(log.region.as_deref(), Some("eu-west-1"));
        let worker = td.containers.iter().find(|c| c.name == "worker").unwrap();
        let log = worker.log.as_ref().unwrap();
        assert_eq!(log.group.as_deref(), Some("/ecs-migrate/local/app"));
        assert_eq!(log.stream_prefix.as_deref(), Some("local"));
    }

    #[test]
    fn bad_files_name_their_field() {
        let container = |extra: Value| {
            let mut c = json!({"name": "web", "image": "app"});
            if let (Value::Object(c), Value::Object(extra)) = (&mut c, extra) {
                c.extend(extra);
            }
            json!({"family": "app", "containerDefinitions": [c]})
        };
        let cases: Vec<(Value, &str, &str)> = vec![
            (json!([]), "", "not an object"),
            (
                json!({"containerDefinitions": []}),
                "family",
                "has no family",
            ),
            (
                json!({"family": 7, "containerDefinitions": []}),
                "family",
                "family is a number",
            ),
            (
                json!({"family": "a b", "containerDefinitions": []}),
                "family",
                "not valid",
            ),
            (
                json!({"family": "app"}),
                "containerDefinitions",
                "no containerDefinitions",
            ),
            (
                json!({"family": "app", "containerDefinitions": []}),
                "containerDefinitions",
                "no containerDefinitions",
            ),
            (
                json!({"family": "app", "containerDefinitions": {}}),
                "containerDefinitions",
                "not a list",
            ),
            (
                json!({"family": "app", "containerDefinitions": ["web"]}),
                "containerDefinitions[0]",
                "not an object",
            ),
            (
                json!({"family": "app", "containerDefinitions": [{"image": "x"}]}),
                "containerDefinitions[0]",
                "has no name",
            ),
            (
                json!({"family": "app", "containerDefinitions": [{"name": ""}]}),
                "containerDefinitions[0]",
                "has no name",
            ),
            (
                json!({"family": "app", "containerDefinitions": [{"name": "a"}, {"name": "a"}]}),
                "containerDefinitions[1].name",
                "repeats",
            ),
            (
                json!({"family": "app", "containerDefinitions": [{"name": "a", "essential": false}]}),
                "containerDefinitions",
                "is essential; ECS needs one",
            ),
            (
                container(json!({"essential": "yes"})),
                "containerDefinitions[0].essential",
                "not true or false",
            ),
            (
                container(json!({"command": "alembic upgrade head"})),
                "containerDefinitions[0].command",
                "not a list",
            ),
            (
                container(json!({"command": ["alembic", 1]})),
                "containerDefinitions[0].command[1]",
                "a number",
            ),
            (
                container(json!({"entryPoint": {}})),
                "containerDefinitions[0].entryPoint",
                "not a list",
            ),
            (
                container(json!({"environment": {"A": "1"}})),
                "containerDefinitions[0].environment",
                "not a list",
            ),
            (
                container(json!({"environment": ["A=1"]})),
                "containerDefinitions[0].environment[0]",
                "not an object",
            ),
            (
                container(json!({"environment": [{"value": "1"}]})),
                "containerDefinitions[0].environment[0].name",
                "is missing",
            ),
            (
                container(json!({"environment": [{"name": "A=B", "value": "1"}]})),
                "containerDefinitions[0].environment[0].name",
                "no '='",
            ),
            (
                container(json!({"environment": [{"name": "A", "value": 1}]})),
                "containerDefinitions[0].environment[0].value",
                "not a string",
            ),
            (
                container(json!({"secrets": {"A": "x"}})),
                "containerDefinitions[0].secrets",
                "a list",
            ),
            (
                container(json!({"secrets": [{"name": "A"}]})),
                "containerDefinitions[0].secrets[0].valueFrom",
                "is missing",
            ),
            (
                container(json!({"secrets": [{"name": "A=B", "valueFrom": "/p"}]})),
                "containerDefinitions[0].secrets[0].name",
                "no '='",
            ),
            (
                container(json!({"workingDirectory": 1})),
                "containerDefinitions[0].workingDirectory",
                "not a string",
            ),
            (
                container(json!({"user": 1000})),
                "containerDefinitions[0].user",
                "not a string",
            ),
            (
                container(json!({"stopTimeout": 300})),
                "containerDefinitions[0].stopTimeout",
                "from 0 to 120",
            ),
            (
                container(json!({"stopTimeout": "30"})),
                "containerDefinitions[0].stopTimeout",
                "not a number",
            ),
            (
                container(json!({"logConfiguration": {"options": {}}})),
                "containerDefinitions[0].logConfiguration.logDriver",
                "missing",
            ),
            (
                container(
                    json!({"logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": 1}}}),
                ),
                "containerDefinitions[0].logConfiguration.options.awslogs-group",
                "not a string",
            ),
        ];
        for (value, field, fragment) in cases {
            let err = parse(value.clone()).expect_err(&format!("{value} should be refused"));
            let message = err.to_string();
            assert_eq!(err.field().unwrap_or(""), field, "{value}: {message}");
            assert!(
                message.contains(field),
                "{value}: {message} does not name {field}"
            );
            assert!(
                message.contains(fragment),
                "{value}: {message} lacks {fragment:?}"
            );
            assert!(message.contains("td.json"), "{message}");
        }
    }

    #[test]
    fn other_json_files_are_not_task_definitions_and_say_what_they_look_like() {
        let machine = include_str!("../../statemachine/migration.asl.json");
        let mocks = include_str!("../../examples/asl/MockConfigFile.json");
        let event = include_str!("../../examples/hooks/hook-event.json");
        for (text, looks_like) in [
            (machine, "a state machine definition"),
            (mocks, "a Step Functions Local mock configuration"),
            (event, "an execution input"),
            (r#"{"taskdef_arn": "app:42"}"#, "give it to --event"),
            ("{}", "an empty object"),
            (
                r#"{"name": "x", "image": "y"}"#,
                "an object with keys name, image",
            ),
        ] {
            let err = LocalTaskDefinition::parse("td.json", text).unwrap_err();
            let message = err.to_string();
            assert!(
                message.contains("td.json is not a task definition"),
                "{message}"
            );
            assert!(message.contains(looks_like), "{message}");
            assert!(!message.contains("has no family"), "{message}");
        }
    }

    #[test]
    fn unreadable_and_non_json_files() {
        let err = LocalTaskDefinition::load("/nonexistent/td.json").unwrap_err();
        assert!(matches!(err, TaskDefError::Unreadable { .. }), "{err}");
        let err = LocalTaskDefinition::parse("td.json", "{family: app}").unwrap_err();
        assert!(err.to_string().contains("is not JSON"), "{err}");
    }

    #[test]
    fn unknown_container_lists_the_known_ones() {
        let td = parse(full()).unwrap();
        let err = td.container(Some("migrate")).unwrap_err().to_string();
        assert!(err.contains("\"migrate\""), "{err}");
        assert!(err.contains("sidecar, web, worker"), "{err}");
        assert!(err.contains("(it has sidecar, web, worker)"), "{err}");
    }
}
