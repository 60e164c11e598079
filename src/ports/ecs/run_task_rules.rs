//! RunTask's refusals of a request that names a task definition ECS has, for the stand-ins of
//! ECS (the local runner, the tests' fake): each rule is from the Amazon ECS API Reference,
//! RunTask (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html) and Tag
//! (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Tag.html). Unknown and
//! INACTIVE task definitions are the stand-in's to refuse: only it knows its registry.

use super::{RunTaskParams, TaskDefinition};
use crate::ports::AwsError;

/// RunTask's `launchType` values (API Reference, RunTask, launchType: Valid Values).
const LAUNCH_TYPES: [&str; 4] = ["EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"];

/// At most 50 tags on a resource (API Reference, RunTask, tags: "Maximum number of tags per
/// resource - 50").
const MAX_TAGS: usize = 50;

/// The message ECS gives for an INACTIVE task definition.
pub const INACTIVE_TASK_DEFINITION: &str = "TaskDefinition is inactive";

fn invalid(message: impl Into<String>) -> AwsError {
    AwsError::permanent("ecs:RunTask", Some("InvalidParameterException"), message)
}

/// What ECS refuses in `params` for `taskdef`, as InvalidParameterException.
pub fn check_run_task(params: &RunTaskParams, taskdef: &TaskDefinition) -> Result<(), AwsError> {
    // containerOverrides[].name must name a container of the task definition.
    if !taskdef
        .containers
        .iter()
        .any(|c| c.name == params.container)
    {
        return Err(invalid(format!(
            "Override for container named {} is not a container in the TaskDefinition.",
            params.container
        )));
    }
    // networkConfiguration: "required for task definitions that use the awsvpc network mode".
    if taskdef.network_mode.as_deref() == Some("awsvpc") && params.network.is_none() {
        return Err(invalid(
            "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
        ));
    }
    if let super::Placement::LaunchType(launch_type) = &params.placement {
        if !LAUNCH_TYPES.contains(&launch_type.as_str()) {
            return Err(invalid(format!(
                "launch type {launch_type:?} should be one of {LAUNCH_TYPES:?}"
            )));
        }
    }
    check_tags(&params.tags)
}

/// Tags: at most 50; a key of 1 to 128 characters; the `aws:` prefix (any case) is reserved for
/// AWS (API Reference, RunTask, tags; Tag, key).
fn check_tags(tags: &[(String, String)]) -> Result<(), AwsError> {
    if tags.len() > MAX_TAGS {
        return Err(invalid(format!(
            "{} tags given; a resource takes at most {MAX_TAGS}",
            tags.len()
        )));
    }
    for (key, _) in tags {
        if key.is_empty() {
            return Err(invalid("a tag key must not be empty"));
        }
        if key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:")) {
            return Err(invalid(format!(
                "tag key {key:?}: the aws: prefix is reserved for AWS use"
            )));
        }
    }
    Ok(())
}
