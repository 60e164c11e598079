//! The aws-sdk-ecs adapter of the ECS port.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_ecs::error::SdkError;
use aws_sdk_ecs::operation::run_task::builders::RunTaskFluentBuilder;
use aws_sdk_ecs::operation::run_task::{RunTaskError, RunTaskOutput};
use aws_sdk_ecs::types as sdk;
use chrono::{DateTime, Utc};

use super::*;
use crate::ports::AwsError;

/// The aws-sdk-ecs adapter.
#[derive(Debug, Clone)]
pub struct SdkEcs {
    client: aws_sdk_ecs::Client,
}

impl SdkEcs {
    pub fn new(client: aws_sdk_ecs::Client) -> Self {
        Self { client }
    }
}

fn to_utc(time: Option<&aws_sdk_ecs::primitives::DateTime>) -> Option<DateTime<Utc>> {
    let time = time?;
    DateTime::from_timestamp(time.secs(), time.subsec_nanos())
}

fn task_definition_from_sdk(td: &sdk::TaskDefinition) -> TaskDefinition {
    TaskDefinition {
        arn: td.task_definition_arn().unwrap_or_default().to_string(),
        family: td.family().unwrap_or_default().to_string(),
        revision: td.revision(),
        network_mode: td.network_mode().map(|m| m.as_str().to_string()),
        containers: td
            .container_definitions()
            .iter()
            .map(|c| ContainerDefinition {
                name: c.name().unwrap_or_default().to_string(),
                // ECS treats a container without `essential` as essential.
                essential: c.essential().unwrap_or(true),
                log: c.log_configuration().map(|l| {
                    LogConfiguration::from_options(
                        l.log_driver().as_str(),
                        l.options().unwrap_or(&HashMap::new()),
                    )
                }),
            })
            .collect(),
    }
}

fn task_state_from_sdk(task: &sdk::Task) -> TaskState {
    TaskState {
        task_arn: task.task_arn().unwrap_or_default().to_string(),
        started_by: task.started_by().map(str::to_string),
        last_status: LastStatus::parse(task.last_status().unwrap_or("UNKNOWN")),
        desired_status: task.desired_status().map(LastStatus::parse),
        stop_code: task.stop_code().map(|c| c.as_str().to_string()),
        stopped_reason: task.stopped_reason().map(str::to_string),
        created_at: to_utc(task.created_at()),
        started_at: to_utc(task.started_at()),
        stopped_at: to_utc(task.stopped_at()),
        containers: task
            .containers()
            .iter()
            .map(|c| ContainerState {
                name: c.name().unwrap_or_default().to_string(),
                last_status: c.last_status().map(LastStatus::parse),
                exit_code: c.exit_code(),
                reason: c.reason().map(str::to_string),
            })
            .collect(),
    }
}

fn build_error(operation: &'static str, err: impl std::fmt::Display) -> AwsError {
    AwsError::permanent(operation, None, err.to_string())
}

const RUN_TASK: &str = "ecs:RunTask";

impl SdkEcs {
    /// RunTask for `params`: one task, the container's command overridden, tagged.
    fn run_task_request(&self, params: &RunTaskParams) -> Result<RunTaskFluentBuilder, AwsError> {
        let override_ = sdk::ContainerOverride::builder()
            .name(&params.container)
            .set_command(Some(params.command.clone()))
            .build();
        let mut request = self
            .client
            .run_task()
            .cluster(&params.cluster)
            .task_definition(&params.task_definition)
            .overrides(
                sdk::TaskOverride::builder()
                    .container_overrides(override_)
                    .build(),
            )
            .count(1)
            .client_token(&params.client_token)
            .started_by(&params.started_by)
            .set_platform_version(params.platform_version.clone());
        if let Some(vpc) = &params.network {
            request = request.network_configuration(network_configuration(vpc)?);
        }
        request = with_placement(request, &params.placement)?;
        for (key, value) in &params.tags {
            request = request.tags(sdk::Tag::builder().key(key).value(value).build());
        }
        Ok(request)
    }
}

/// The awsvpc network configuration (subnets, security groups, public IP).
fn network_configuration(vpc: &AwsVpc) -> Result<sdk::NetworkConfiguration, AwsError> {
    let awsvpc = sdk::AwsVpcConfiguration::builder()
        .set_subnets(Some(vpc.subnets.clone()))
        .set_security_groups(Some(vpc.security_groups.clone()))
        .assign_public_ip(if vpc.assign_public_ip {
            sdk::AssignPublicIp::Enabled
        } else {
            sdk::AssignPublicIp::Disabled
        })
        .build()
        .map_err(|e| build_error(RUN_TASK, e))?;
    Ok(sdk::NetworkConfiguration::builder()
        .awsvpc_configuration(awsvpc)
        .build())
}

/// Where the task runs: a launch type, a capacity provider strategy, or the cluster's default.
fn with_placement(
    request: RunTaskFluentBuilder,
    placement: &Placement,
) -> Result<RunTaskFluentBuilder, AwsError> {
    match placement {
        Placement::LaunchType(launch_type) => {
            Ok(request.launch_type(sdk::LaunchType::from(launch_type.as_str())))
        }
        Placement::CapacityProviders(providers) => {
            providers.iter().try_fold(request, |request, p| {
                let item = sdk::CapacityProviderStrategyItem::builder()
                    .capacity_provider(&p.name)
                    .weight(p.weight)
                    .base(p.base)
                    .build()
                    .map_err(|e| build_error(RUN_TASK, e))?;
                Ok(request.capacity_provider_strategy(item))
            })
        }
        Placement::ClusterDefault => Ok(request),
    }
}

/// RunTask's answer: the task it started, or its `failures` (no capacity, for one).
fn started_or_refused(out: &RunTaskOutput) -> RunTaskOutcome {
    if let Some(task_arn) = out.tasks().iter().find_map(|t| t.task_arn()) {
        return RunTaskOutcome::Started {
            task_arn: task_arn.to_string(),
        };
    }
    RunTaskOutcome::Refused(
        out.failures()
            .iter()
            .map(|f| RunTaskFailure {
                arn: f.arn().map(str::to_string),
                reason: f.reason().unwrap_or_default().to_string(),
                detail: f.detail().map(str::to_string),
            })
            .collect(),
    )
}

#[async_trait]
impl Ecs for SdkEcs {
    async fn describe_task_definition(
        &self,
        task_definition: &str,
    ) -> Result<Option<TaskDefinition>, AwsError> {
        const OP: &str = "ecs:DescribeTaskDefinition";
        match self
            .client
            .describe_task_definition()
            .task_definition(task_definition)
            .send()
            .await
        {
            Ok(out) => Ok(out.task_definition().map(task_definition_from_sdk)),
            Err(err) => {
                let err = AwsError::from_sdk(OP, err);
                // ECS answers an unknown family or revision with ClientException
                // "Unable to describe task definition." rather than a NotFound code.
                let not_found = err.code.as_deref() == Some("ClientException")
                    && err
                        .message
                        .to_ascii_lowercase()
                        .contains("unable to describe");
                if not_found {
                    Ok(None)
                } else {
                    Err(err)
                }
            }
        }
    }

    async fn run_task(&self, params: &RunTaskParams) -> Result<RunTaskOutcome, AwsError> {
        match self.run_task_request(params)?.send().await {
            Ok(out) => Ok(started_or_refused(&out)),
            Err(SdkError::ServiceError(e)) if e.err().is_conflict_exception() => {
                // The client token was used with other parameters: ECS names its tasks.
                let task_arns = match e.err() {
                    RunTaskError::ConflictException(conflict) => conflict.resource_ids().to_vec(),
                    _ => Vec::new(),
                };
                Ok(RunTaskOutcome::TokenInUse { task_arns })
            }
            Err(e) => Err(AwsError::from_sdk(RUN_TASK, e)),
        }
    }

    async fn describe_task(&self, cluster: &str, task_arn: &str) -> Result<TaskLookup, AwsError> {
        const OP: &str = "ecs:DescribeTasks";
        let out = self
            .client
            .describe_tasks()
            .cluster(cluster)
            .tasks(task_arn)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OP, e))?;
        if let Some(task) = out.tasks().first() {
            return Ok(TaskLookup::Found(task_state_from_sdk(task)));
        }
        let reason = out
            .failures()
            .first()
            .and_then(|f| f.reason())
            .unwrap_or("MISSING")
            .to_string();
        Ok(TaskLookup::Missing { reason })
    }

    async fn stop_task(&self, cluster: &str, task_arn: &str, reason: &str) -> Result<(), AwsError> {
        const OP: &str = "ecs:StopTask";
        match self
            .client
            .stop_task()
            .cluster(cluster)
            .task(task_arn)
            .reason(reason)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // "The referenced task was not found" stays an error: it proves nothing (see
            // `TASK_NOT_FOUND`).
            Err(err) => Err(AwsError::from_sdk(OP, err)),
        }
    }

    async fn list_tasks(
        &self,
        cluster: &str,
        started_by: &str,
        desired: DesiredStatus,
    ) -> Result<Vec<String>, AwsError> {
        const OP: &str = "ecs:ListTasks";
        let mut arns = Vec::new();
        let mut next_token = None;
        loop {
            let out = self
                .client
                .list_tasks()
                .cluster(cluster)
                .started_by(started_by)
                .desired_status(sdk::DesiredStatus::from(desired.as_str()))
                .set_next_token(next_token)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(OP, e))?;
            arns.extend(out.task_arns().iter().cloned());
            next_token = out.next_token().map(str::to_string);
            if next_token.is_none() {
                return Ok(arns);
            }
        }
    }

    async fn list_tasks_page(
        &self,
        cluster: &str,
        query: &TaskQuery,
        next_token: Option<&str>,
    ) -> Result<TaskPage, AwsError> {
        const OP: &str = "ecs:ListTasks";
        let out = self
            .client
            .list_tasks()
            .cluster(cluster)
            .set_started_by(query.started_by.clone())
            .desired_status(sdk::DesiredStatus::from(query.desired_status.as_str()))
            .set_next_token(next_token.map(str::to_string))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OP, e))?;
        Ok(TaskPage {
            task_arns: out.task_arns().to_vec(),
            next_token: out.next_token().map(str::to_string),
        })
    }

    async fn describe_tagged(
        &self,
        cluster: &str,
        task_arns: &[String],
    ) -> Result<Vec<TaggedTask>, AwsError> {
        const OP: &str = "ecs:DescribeTasks";
        if task_arns.is_empty() {
            return Ok(Vec::new());
        }
        let out = self
            .client
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(task_arns.to_vec()))
            .include(sdk::TaskField::Tags)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OP, e))?;
        Ok(out
            .tasks()
            .iter()
            .map(|task| TaggedTask {
                state: task_state_from_sdk(task),
                tags: task
                    .tags()
                    .iter()
                    .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                    .collect(),
            })
            .collect())
    }
}
