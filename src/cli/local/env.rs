//! The task's variables beyond the task definition's `environment`: `--env NAME=VALUE`,
//! `--env-file FILE`, and the container's `secrets`, which ECS would fill from SSM Parameter
//! Store or Secrets Manager and which a local run takes from this machine instead. A secret no
//! source provides stops the run before the task starts, naming the variable and where AWS
//! would take it from. Values are never printed, only names and where they came from.

use std::path::{Path, PathBuf};

use crate::cli::UsageError;
use crate::common::files::{read_text, MAX_ENV_FILE_BYTES};
use crate::local::{LocalContainer, LocalTaskDefinition};

/// A variable given on the command line, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Given {
    pub(crate) name: String,
    pub(crate) value: String,
    /// `--env` or `--env-file FILE`.
    pub(crate) origin: String,
}

/// Parses one `--env NAME=VALUE` (clap value parser). `NAME` alone takes the value from this
/// machine's environment, as `docker run --env NAME` does (but see [`collect`]: unset, it is
/// an error).
pub(crate) fn parse_assignment(text: &str) -> Result<(String, Option<String>), String> {
    let (name, value) = match text.split_once('=') {
        Some((name, value)) => (name, Some(value.to_string())),
        None => (text, None),
    };
    check_name(name)?;
    if value.as_deref().is_some_and(|v| v.contains('\0')) {
        return Err(format!("the value of {name} has a NUL character"));
    }
    Ok((name.to_string(), value))
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.contains('\0') || name.chars().any(char::is_whitespace) {
        return Err(format!("{name:?} is not a variable name; write NAME=VALUE"));
    }
    Ok(())
}

/// Reads an env file in Docker's `--env-file` format: one `NAME=VALUE` per line, the value
/// taken literally (quotes are part of it); `NAME` alone takes this machine's value; lines
/// starting with `#` and blank lines are skipped
/// (docs.docker.com/reference/cli/docker/container/run/#env).
pub(crate) fn read_env_file(
    path: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Given>, UsageError> {
    let text = read_text(path, "env file", MAX_ENV_FILE_BYTES)
        .map_err(|e| UsageError::new(format!("{e} (--env-file)")))?;
    let origin = format!("--env-file {}", path.display());
    let mut given = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, value) = parse_assignment(line)
            .map_err(|e| UsageError::new(format!("{origin}, line {}: {e}", index + 1)))?;
        if let Some(value) = value.or_else(|| lookup(&name)) {
            given.push(Given {
                name,
                value,
                origin: origin.clone(),
            });
        }
    }
    Ok(given)
}

/// Everything given on the command line, in the order that makes later ones win: the env
/// files in order, then each `--env`.
pub(crate) fn collect(
    assignments: &[(String, Option<String>)],
    env_files: &[PathBuf],
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Given>, UsageError> {
    let mut given = Vec::new();
    for file in env_files {
        given.extend(read_env_file(file, lookup)?);
    }
    for (name, value) in assignments {
        // `--env NAME` with NAME unset here is a mistake to say, not a variable to drop
        // silently as `docker run` does: the task would run without it.
        let Some(value) = value.clone().or_else(|| lookup(name)) else {
            return Err(UsageError::new(format!(
                "--env {name}: {name} is not set in this environment; export it, or pass --env {name}=VALUE"
            )));
        };
        given.push(Given {
            name: name.clone(),
            value,
            origin: "--env".to_string(),
        });
    }
    Ok(given)
}

/// The variables to lay over a container's `environment`, and where its secrets came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// Each secret's value (from the command line, else this machine's environment), then
    /// every variable given on the command line: later entries win.
    pub(crate) variables: Vec<(String, String)>,
    /// `secrets: NAME from --env, ...` (names only), when the container has secrets.
    pub(crate) note: Option<String>,
}

/// Resolves the container's secrets and the command line's variables. Fails, naming each,
/// when a secret has no value anywhere.
pub(crate) fn resolve(
    container: &LocalContainer,
    given: &[Given],
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Resolved, UsageError> {
    let mut variables = Vec::new();
    let mut sources = Vec::new();
    let mut missing = Vec::new();
    for secret in &container.secrets {
        let from_flags = given.iter().rev().find(|g| g.name == secret.name);
        match (from_flags, lookup(&secret.name)) {
            (Some(flag), _) => sources.push(format!("{} from {}", secret.name, flag.origin)),
            (None, Some(value)) => {
                variables.push((secret.name.clone(), value));
                sources.push(format!("{} from this environment", secret.name));
            }
            (None, None) => missing.push(secret),
        }
    }
    if let Some(first) = missing.first() {
        let list: Vec<String> = missing
            .iter()
            .map(|s| format!("{} (in AWS from {})", s.name, s.source()))
            .collect();
        return Err(UsageError::new(format!(
            "container {} takes {} secret(s) that ecs-migrate local cannot fetch: {}; export each, or pass --env {}=VALUE or --env-file FILE",
            container.name,
            missing.len(),
            list.join(", "),
            first.name
        )));
    }
    variables.extend(given.iter().map(|g| (g.name.clone(), g.value.clone())));
    let note = (!sources.is_empty()).then(|| format!("secrets: {}", sources.join(", ")));
    Ok(Resolved { variables, note })
}

/// Lays the command line's variables and the secrets' values over the `environment` of
/// `container` in `taskdef`, taking this machine's environment where needed; returns the line
/// that says where the secrets came from.
/// Lays the variables over the container's `environment`. Returns the note on its secrets and
/// every value laid over (to be masked in the output).
pub(crate) fn apply(
    taskdef: &mut LocalTaskDefinition,
    container: &str,
    assignments: &[(String, Option<String>)],
    env_files: &[PathBuf],
) -> Result<(Option<String>, Vec<String>), UsageError> {
    let lookup = |name: &str| std::env::var(name).ok();
    let given = collect(assignments, env_files, &lookup)?;
    let Some(chosen) = taskdef.containers.iter_mut().find(|c| c.name == container) else {
        return Err(UsageError::new(format!(
            "task definition file {} has no container {container}",
            taskdef.path.display()
        )));
    };
    let resolved = resolve(chosen, &given, &lookup)?;
    let values = resolved.variables.iter().map(|(_, v)| v.clone()).collect();
    chosen.environment.extend(resolved.variables);
    Ok((resolved.note, values))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::Secret;

    fn container(secrets: &[(&str, &str)]) -> LocalContainer {
        LocalContainer {
            name: "migrate".into(),
            image: None,
            essential: true,
            entry_point: vec![],
            command: vec![],
            environment: vec![],
            secrets: secrets
                .iter()
                .map(|(name, from)| Secret {
                    name: name.to_string(),
                    value_from: from.to_string(),
                })
                .collect(),
            working_directory: None,
            user: None,
            stop_timeout: std::time::Duration::from_secs(30),
            log_configuration: None,
        }
    }

    fn given(name: &str, value: &str, origin: &str) -> Given {
        Given {
            name: name.into(),
            value: value.into(),
            origin: origin.into(),
        }
    }

    #[test]
    fn assignments() {
        assert_eq!(
            parse_assignment("A=b=c").unwrap(),
            ("A".to_string(), Some("b=c".to_string()))
        );
        assert_eq!(parse_assignment("A").unwrap(), ("A".to_string(), None));
        assert_eq!(
            parse_assignment("A=").unwrap(),
            ("A".to_string(), Some(String::new()))
        );
        for bad in ["=x", "A B=x"] {
            let err = parse_assignment(bad).unwrap_err();
            let name = bad.split('=').next().unwrap_or_default();
            assert!(
                err.contains(&format!("{name:?} is not a variable name")),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn env_name_alone_takes_this_machines_value_and_fails_when_unset() {
        let lookup = |name: &str| (name == "SET_HERE").then(|| "v".to_string());
        let given = collect(&[("SET_HERE".to_string(), None)], &[], &lookup).unwrap();
        assert_eq!(given, vec![self::given("SET_HERE", "v", "--env")]);
        let err = collect(&[("NOT_SET_HERE".to_string(), None)], &[], &lookup).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--env NOT_SET_HERE: NOT_SET_HERE is not set in this environment; export it, or pass --env NOT_SET_HERE=VALUE"
        );
    }

    #[test]
    fn secrets_come_from_flags_first_then_the_environment() {
        let c = container(&[
            (
                "DATABASE_URL",
                "arn:aws:ssm:eu-west-1:123456789012:parameter/prod/db",
            ),
            (
                "API_KEY",
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:api-AbCdEf",
            ),
        ]);
        let flags = [given("API_KEY", "k", "--env"), given("PLAIN", "p", "--env")];
        let lookup = |name: &str| (name == "DATABASE_URL").then(|| "postgres://x".to_string());
        let Resolved {
            variables: vars,
            note,
        } = resolve(&c, &flags, &lookup).unwrap();
        assert_eq!(
            vars,
            vec![
                ("DATABASE_URL".to_string(), "postgres://x".to_string()),
                ("API_KEY".to_string(), "k".to_string()),
                ("PLAIN".to_string(), "p".to_string()),
            ]
        );
        let note = note.unwrap();
        assert_eq!(
            note,
            "secrets: DATABASE_URL from this environment, API_KEY from --env"
        );
        assert!(!note.contains("postgres://x"));
    }

    #[test]
    fn a_missing_secret_names_the_variable_and_its_source() {
        let c = container(&[
            ("DATABASE_URL", "/prod/db-url"),
            (
                "API_KEY",
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:api-AbCdEf:key::",
            ),
        ]);
        let err = resolve(&c, &[], &|_: &str| None).unwrap_err().to_string();
        assert_eq!(
            err,
            "container migrate takes 2 secret(s) that ecs-migrate local cannot fetch: DATABASE_URL (in AWS from SSM parameter /prod/db-url), API_KEY (in AWS from Secrets Manager secret arn:aws:secretsmanager:eu-west-1:123456789012:secret:api-AbCdEf:key::); export each, or pass --env DATABASE_URL=VALUE or --env-file FILE"
        );
    }
}
