################################################################################
# Migrations inside the service's deployment (issue 13): a PAUSE lifecycle hook on the service
# makes ECS emit "ECS Hook State Change" HOOK_AWAITING_ACTION and wait for
# ContinueServiceDeployment (Amazon ECS Developer Guide, "Pause hooks for Amazon ECS service
# deployments"). This rule starts the migration on that event; the state machine's
# ContinueDeployment / RollBackDeployment states (report-deployment) answer the hook.
#
# The rule matches the cluster and the stages, never the services: a new service's first
# deployment pauses too, so the rule must exist before the service and must not depend on it.
# validate-event checks the event's service against var.deployment_services.
################################################################################

locals {
  # run-task's waits for capacity (src/migration/steps/run_task.rs: 10 s doubling to 120 s,
  # before each of the 6 attempts after the first of CAPACITY_ATTEMPTS = 7).
  capacity_waits_seconds = 10 + 20 + 40 + 80 + 120 + 120

  # What a hook's migration may take before its deadline, and the deadline itself.
  hook_needs_seconds = var.lambda_timeout + var.lock_wait_seconds + local.capacity_waits_seconds + var.max_duration_seconds

  deployment_hook_rule_enabled = var.deployment_hook_rule_enabled && length(var.deployment_services) > 0

  # The deployments and revisions of the configured services: arn:...:service-deployment/
  # <cluster>/<service>/<id> and service-revision/<cluster>/<service>/<id> (the shape of the
  # ARNs in the API Reference's ContinueServiceDeployment and DescribeServiceRevisions examples).
  service_deployment_arns = [
    for service in var.deployment_services :
    "arn:${local.partition}:ecs:${local.region}:${local.account_id}:service-deployment/${local.cluster_name}/${service}/*"
  ]
  service_revision_arns = [
    for service in var.deployment_services :
    "arn:${local.partition}:ecs:${local.region}:${local.account_id}:service-revision/${local.cluster_name}/${service}/*"
  ]
  # The services themselves: the Service Authorization Reference ("Actions, resources, and
  # condition keys for Amazon Elastic Container Service",
  # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html)
  # lists two required resource types for ecs:ContinueServiceDeployment,
  # ecs:DescribeServiceDeployments and ecs:DescribeServiceRevisions: the service, and the
  # service-deployment or service-revision. Each grant names both.
  service_arns = [
    for service in var.deployment_services :
    "arn:${local.partition}:ecs:${local.region}:${local.account_id}:service/${local.cluster_name}/${service}"
  ]
}

resource "aws_cloudwatch_event_rule" "deployment_hook" {
  count = local.deployment_hook_rule_enabled ? 1 : 0

  name        = "${var.name}-deployment-hook"
  description = "ecs-migrate: run the migration when a deployment of this cluster pauses at ${join(", ", var.deployment_hook_stages)}"

  # ECS sends its events to the default bus, from the account that owns the cluster.
  event_pattern = jsonencode({
    account       = [local.account_id]
    source        = ["aws.ecs"]
    "detail-type" = ["ECS Hook State Change"]
    detail = {
      eventName      = ["HOOK_AWAITING_ACTION"]
      hookType       = ["PAUSE"]
      clusterArn     = [var.cluster_arn]
      lifecycleStage = var.deployment_hook_stages
    }
  })

  tags = var.tags

  lifecycle {
    # The hook must outlive the migration, or ECS takes the hook's timeout action while the
    # migration still runs (and report-deployment can only say Migration.HookNotAwaiting). The
    # migration's deadline counts from when it gets the lock, after validation and up to
    # lock_wait_seconds, and six capacity waits may come before its task runs: the hook must
    # outlast all of them.
    precondition {
      condition     = var.deployment_hook_timeout_minutes * 60 > local.hook_needs_seconds
      error_message = "deployment_hook_timeout_minutes (${var.deployment_hook_timeout_minutes}, ${var.deployment_hook_timeout_minutes * 60} s) must be longer than validation (lambda_timeout, ${var.lambda_timeout} s) + lock_wait_seconds (${var.lock_wait_seconds} s) + the capacity waits (${local.capacity_waits_seconds} s) + max_duration_seconds (${var.max_duration_seconds} s) = ${local.hook_needs_seconds} s: set the service's hook timeoutConfiguration.timeoutInMinutes, and this variable, above ${ceil(local.hook_needs_seconds / 60)}, or lower lock_wait_seconds or max_duration_seconds."
    }
  }
}

resource "aws_cloudwatch_event_target" "deployment_hook" {
  count = local.deployment_hook_rule_enabled ? 1 : 0

  rule      = aws_cloudwatch_event_rule.deployment_hook[0].name
  target_id = "state-machine"
  arn       = aws_sfn_state_machine.this.arn
  role_arn  = aws_iam_role.deployment_hook_events[0].arn

  # As the start rule: an hour of retries, then the dead-letter queue and its alarm. A hook
  # event redelivered meanwhile runs no second task (the RunTask token is the hook's).
  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 185
  }

  dead_letter_config {
    arn = aws_sqs_queue.events_dlq.arn
  }

  depends_on = [aws_iam_role_policy.deployment_hook_events, aws_sqs_queue_policy.events_dlq]
}

data "aws_iam_policy_document" "deployment_hook_events_assume_role" {
  count = local.deployment_hook_rule_enabled ? 1 : 0

  statement {
    sid     = "EventBridgeAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.deployment_hook[0].arn]
    }
  }
}

resource "aws_iam_role" "deployment_hook_events" {
  count = local.deployment_hook_rule_enabled ? 1 : 0

  name               = "${var.name}-deployment-hook-events"
  description        = "ecs-migrate deployment hook rule: starts executions of the state machine"
  assume_role_policy = data.aws_iam_policy_document.deployment_hook_events_assume_role[0].json

  tags = var.tags
}

resource "aws_iam_role_policy" "deployment_hook_events" {
  count = local.deployment_hook_rule_enabled ? 1 : 0

  name   = "${var.name}-deployment-hook-events"
  role   = aws_iam_role.deployment_hook_events[0].id
  policy = data.aws_iam_policy_document.events.json
}

################################################################################
# The Lambda hook: ECS invokes the deployment-hook function (lambda.tf, main.tf) at the stages
# the service's lifecycle hook names, with this role (the hook's roleArn), which may invoke
# that function only (Developer Guide, "Lambda hooks for Amazon ECS service deployments").
################################################################################

# The trust policy as the Developer Guide gives it for the role ECS assumes ("Amazon ECS
# infrastructure IAM role", and "Permissions required for Lambda functions in Amazon ECS
# blue/green deployments"): ecs.amazonaws.com, sts:AssumeRole, no condition. AWS does not say
# that ECS sends aws:SourceAccount when it assumes this role; a condition on it could make every
# Lambda-hook deployment roll back. The role may only invoke the deployment-hook function.
data "aws_iam_policy_document" "ecs_invokes_deployment_hook_assume_role" {
  statement {
    sid     = "EcsAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "ecs_invokes_deployment_hook" {
  name               = "${var.name}-ecs-invokes-deployment-hook"
  description        = "ecs-migrate: the role ECS assumes to invoke the deployment-hook function"
  assume_role_policy = data.aws_iam_policy_document.ecs_invokes_deployment_hook_assume_role.json

  tags = var.tags
}

data "aws_iam_policy_document" "ecs_invokes_deployment_hook" {
  statement {
    # Service Authorization Reference, AWS Lambda:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html
    # Called by ECS, for a service's Lambda lifecycle hook.
    sid       = "InvokeDeploymentHook"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.this["deployment-hook"].arn]
  }
}

resource "aws_iam_role_policy" "ecs_invokes_deployment_hook" {
  name   = "${var.name}-ecs-invokes-deployment-hook"
  role   = aws_iam_role.ecs_invokes_deployment_hook.id
  policy = data.aws_iam_policy_document.ecs_invokes_deployment_hook.json
}
