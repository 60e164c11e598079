################################################################################
# IAM: one role per function with only the API calls its code makes, one policy document per
# function named after it (validate_event, run_task, poll_status, check_exit_code, stop_task
# here; acquire_lock and release_lock in lock.tf; tests/static/iam_actions.py reads them), plus
# the state machine's and EventBridge's roles. Lock grants are on the lock table only.
# Policies are inline (aws_iam_role_policy): nothing account-wide, nothing shared.
################################################################################

locals {
  # ARNs of the tasks the migration runs in the cluster (new ARN format: task/<cluster>/<id>).
  cluster_tasks_arn = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/${local.cluster_name}/*"

  # Every revision of each allowed family.
  allowed_task_definition_arns = [
    for family in var.allowed_task_definition_families :
    "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task-definition/${family}:*"
  ]

  # The log streams of the app's log groups (GetLogEvents is authorized on the stream).
  app_log_stream_arns = concat(
    [for name in var.app_log_group_names : "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${name}:log-stream:*"],
    [for arn in var.app_log_group_arns : "${arn}:log-stream:*"],
  )

  # Built rather than read from the resource, so the trust policy does not depend on it.
  state_machine_arn = "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${var.name}"

  # This state machine's executions: the only ones a function acts for.
  own_executions_arn = "arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${var.name}:*"

  lambda_policies = {
    "validate-event"  = data.aws_iam_policy_document.validate_event.json
    "run-task"        = data.aws_iam_policy_document.run_task.json
    "poll-status"     = data.aws_iam_policy_document.poll_status.json
    "acquire-lock"    = data.aws_iam_policy_document.acquire_lock.json
    "release-lock"    = data.aws_iam_policy_document.release_lock.json
    "check-exit-code" = data.aws_iam_policy_document.check_exit_code.json
    "stop-task"       = data.aws_iam_policy_document.stop_task.json
    # hooks.tf
    "report-deployment" = data.aws_iam_policy_document.report_deployment.json
    "deployment-hook"   = data.aws_iam_policy_document.deployment_hook.json
    # reconcile.tf
    "reconcile" = data.aws_iam_policy_document.reconcile.json
  }
}

################################################################################
# Lambda roles
################################################################################

data "aws_iam_policy_document" "lambda_assume_role" {
  statement {
    sid     = "LambdaAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "lambda" {
  for_each = local.functions

  name               = "${var.name}-${each.key}"
  description        = "ecs-migrate ${each.key}: only the API calls that function makes"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume_role.json

  tags = var.tags
}

resource "aws_iam_role_policy" "lambda" {
  for_each = local.functions

  name   = "${var.name}-${each.key}"
  role   = aws_iam_role.lambda[each.key].id
  policy = local.lambda_policies[each.key]
}

# validate-event: does the task definition exist, with the container and its awslogs config?
data "aws_iam_policy_document" "validate_event" {
  # Resource *: ecs:DescribeTaskDefinition supports no resource-level permissions (checkov knows,
  # so no skip is needed). It only reads; the allow-list is enforced by the code and by run-task's
  # RunTask permission.
  statement {
    # Service Authorization Reference, Amazon Elastic Container Service:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html
    # Called by src/migration/steps/validate_event.rs, through src/ports/ecs/sdk.rs.
    sid       = "DescribeTaskDefinition"
    actions   = ["ecs:DescribeTaskDefinition"]
    resources = ["*"]
  }

  # A hook event: the deployment's target revision, of the configured services only.
  dynamic "statement" {
    for_each = length(var.deployment_services) > 0 ? [1] : []

    content {
      # Service Authorization Reference, Amazon Elastic Container Service:
      # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html
      # Called by src/migration/steps/validate_event.rs, through src/ports/deployments/sdk.rs.
      sid       = "DescribeServiceDeployments"
      actions   = ["ecs:DescribeServiceDeployments"]
      resources = concat(local.service_arns, local.service_deployment_arns)
    }
  }

  dynamic "statement" {
    for_each = length(var.deployment_services) > 0 ? [1] : []

    content {
      # Service Authorization Reference, Amazon Elastic Container Service:
      # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html
      # Called by src/migration/steps/validate_event.rs, through src/ports/deployments/sdk.rs.
      sid       = "DescribeServiceRevisions"
      actions   = ["ecs:DescribeServiceRevisions"]
      resources = concat(local.service_arns, local.service_revision_arns)
    }
  }

  statement {
    # Service Authorization Reference, Amazon CloudWatch Logs:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html
    # Called by the Lambda service, writing the function's own log.
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda["validate-event"].arn}:*"]
  }
}

# report-deployment: looks at the deployment's hook and answers it, for the configured services'
# deployments only (issue 13, hooks.tf).
data "aws_iam_policy_document" "report_deployment" {
  dynamic "statement" {
    for_each = length(var.deployment_services) > 0 ? [1] : []

    content {
      # Service Authorization Reference, Amazon Elastic Container Service:
      # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html
      # Called by src/migration/steps/report_deployment.rs, through src/ports/deployments/sdk.rs.
      sid       = "AnswerServiceDeploymentHooks"
      actions   = ["ecs:DescribeServiceDeployments", "ecs:ContinueServiceDeployment"]
      resources = concat(local.service_arns, local.service_deployment_arns)
    }
  }

  statement {
    # CONTINUE only on ECS's word: the migration task this execution started STOPPED with the
    # container's exit code 0 and no outside stop.
    # Service Authorization Reference, Amazon Elastic Container Service:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html
    # Called by src/migration/steps/report_deployment.rs, through src/ports/ecs/sdk.rs.
    sid       = "DescribeClusterTasks"
    actions   = ["ecs:DescribeTasks"]
    resources = [local.cluster_tasks_arn]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [var.cluster_arn]
    }
  }

  statement {
    # Acts only for a RUNNING execution of this state machine, which one DescribeExecution per
    # invocation confirms (Service Authorization Reference, AWS Step Functions: DescribeExecution,
    # resource type execution).
    # Service Authorization Reference, AWS Step Functions:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html
    # Called by src/migration/steps/report_deployment.rs via src/migration/execution.rs, through
    # src/ports/executions/sdk.rs.
    sid       = "VerifyOwnExecution"
    actions   = ["states:DescribeExecution"]
    resources = [local.own_executions_arn]
  }

  statement {
    # Service Authorization Reference, Amazon CloudWatch Logs:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html
    # Called by the Lambda service, writing the function's own log.
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda["report-deployment"].arn}:*"]
  }
}

# deployment-hook: starts the migration's execution and reads how it ends (hooks.tf).
data "aws_iam_policy_document" "deployment_hook" {
  statement {
    # Service Authorization Reference, AWS Step Functions:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html
    # Called by src/lambda/deployment_hook.rs, through src/ports/executions/sdk.rs.
    sid       = "StartMigration"
    actions   = ["states:StartExecution"]
    resources = [local.state_machine_arn]
  }

  statement {
    # Service Authorization Reference, AWS Step Functions:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html
    # Called by src/lambda/deployment_hook.rs, through src/ports/executions/sdk.rs.
    sid       = "ReadMigration"
    actions   = ["states:DescribeExecution"]
    resources = ["arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${var.name}:*"]
  }

  statement {
    # Service Authorization Reference, Amazon CloudWatch Logs:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html
    # Called by the Lambda service, writing the function's own log.
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda["deployment-hook"].arn}:*"]
  }
}

# run-task: RunTask of the allowed families only, in this cluster only, passing only the app's
# roles; tagging the task at launch is authorized as ecs:TagResource.
data "aws_iam_policy_document" "run_task" {
  statement {
    # Service Authorization Reference, Amazon Elastic Container Service:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html
    # Called by src/migration/steps/run_task.rs, through src/ports/ecs/sdk.rs.
    sid       = "RunAllowedFamiliesInCluster"
    actions   = ["ecs:RunTask"]
    resources = local.allowed_task_definition_arns

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [var.cluster_arn]
    }
  }

  statement {
    # Service Authorization Reference, Amazon Elastic Container Service:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html
    # Called by src/migration/steps/run_task.rs, through src/ports/ecs/sdk.rs.
    sid       = "TagTasksAtLaunch"
    actions   = ["ecs:TagResource"]
    resources = [local.cluster_tasks_arn]

    condition {
      test     = "StringEquals"
      variable = "ecs:CreateAction"
      values   = ["RunTask"]
    }
  }

  statement {
    # Service Authorization Reference, AWS Identity and Access Management (IAM):
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html
    # Called by src/migration/steps/run_task.rs through RunTask (src/ports/ecs/sdk.rs): ECS checks
    # it.
    sid       = "PassTaskRoles"
    actions   = ["iam:PassRole"]
    resources = compact([var.task_role_arn, var.task_execution_role_arn])

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  statement {
    # The lock lost while RunTask ran (an abort's cleanup released it): run-task stops the task
    # it just started. Only tasks ecs-migrate started, in this cluster, as for stop-task.
    sid       = "StopOwnTasksInCluster"
    actions   = ["ecs:StopTask"]
    resources = [local.cluster_tasks_arn]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [var.cluster_arn]
    }

    condition {
      test     = "StringLike"
      variable = "aws:ResourceTag/ecs-migrate:started-by"
      values   = ["ecs-migrate/*"]
    }
  }

  statement {
    # The task the lock records: while it is not STOPPED, run-task returns it instead of
    # starting another.
    # Service Authorization Reference, Amazon Elastic Container Service:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html
    # Called by src/migration/steps/run_task.rs, through src/ports/ecs/sdk.rs.
    sid       = "DescribeClusterTasks"
    actions   = ["ecs:DescribeTasks"]
    resources = [local.cluster_tasks_arn]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [var.cluster_arn]
    }
  }

  statement {
    # Reads the lock (it starts a task only for its holder, and none while the task it recorded
    # lives), renews the lease before and after RunTask (and records the task); releases the
    # lock when RunTask says another execution of the same event runs the migration.
    # Service Authorization Reference, Amazon DynamoDB:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html
    # Called by src/migration/steps/run_task.rs, through src/ports/lock/sdk.rs.
    sid       = "ReadRenewAndReleaseLock"
    actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
    resources = [aws_dynamodb_table.lock.arn]
  }

  statement {
    # Acts only for a RUNNING execution of this state machine, which one DescribeExecution per
    # invocation confirms (Service Authorization Reference, AWS Step Functions: DescribeExecution,
    # resource type execution).
    # Service Authorization Reference, AWS Step Functions:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html
    # Called by src/migration/steps/run_task.rs via src/migration/execution.rs, through
    # src/ports/executions/sdk.rs.
    sid       = "VerifyOwnExecution"
    actions   = ["states:DescribeExecution"]
    resources = [local.own_executions_arn]
  }

  statement {
    # Service Authorization Reference, Amazon CloudWatch Logs:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html
    # Called by the Lambda service, writing the function's own log.
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda["run-task"].arn}:*"]
  }
}

# poll-status: describes the task and renews the lock's lease every round; it never stops a task
# (stop-task does).
data "aws_iam_policy_document" "poll_status" {
  statement {
    # Service Authorization Reference, Amazon Elastic Container Service:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html
    # Called by src/migration/steps/poll_status.rs, through src/ports/ecs/sdk.rs.
    sid       = "DescribeClusterTasks"
    actions   = ["ecs:DescribeTasks"]
    resources = [local.cluster_tasks_arn]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [var.cluster_arn]
    }
  }

  statement {
    # Service Authorization Reference, Amazon DynamoDB:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html
    # Called by src/migration/steps/poll_status.rs, through src/ports/lock/sdk.rs.
    sid       = "RenewLock"
    actions   = ["dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.lock.arn]
  }

  statement {
    # Acts only for a RUNNING execution of this state machine, which one DescribeExecution per
    # invocation confirms (Service Authorization Reference, AWS Step Functions: DescribeExecution,
    # resource type execution).
    # Service Authorization Reference, AWS Step Functions:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html
    # Called by src/migration/steps/poll_status.rs via src/migration/execution.rs, through
    # src/ports/executions/sdk.rs.
    sid       = "VerifyOwnExecution"
    actions   = ["states:DescribeExecution"]
    resources = [local.own_executions_arn]
  }

  statement {
    # Service Authorization Reference, Amazon CloudWatch Logs:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html
    # Called by the Lambda service, writing the function's own log.
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda["poll-status"].arn}:*"]
  }
}

# check-exit-code: the tail of the migration container's log stream, for the failure's Cause.
data "aws_iam_policy_document" "check_exit_code" {
  statement {
    # Service Authorization Reference, Amazon CloudWatch Logs:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html
    # Called by src/migration/steps/check_exit_code.rs (its log tail), through
    # src/ports/logs/sdk.rs.
    sid       = "ReadAppLogStreams"
    actions   = ["logs:GetLogEvents"]
    resources = local.app_log_stream_arns
  }

  statement {
    # Service Authorization Reference, Amazon CloudWatch Logs:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html
    # Called by the Lambda service, writing the function's own log.
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda["check-exit-code"].arn}:*"]
  }
}

# stop-task: finds an execution's tasks by startedBy, checks each one's startedBy and stops it,
# in this cluster only, and only tasks run-task started: run-task tags every task it starts
# with ecs-migrate:started-by = ecs-migrate/<24 hex> (src/migration/steps/run_task.rs), so whoever can
# invoke stop-task still cannot stop the service's own tasks. ecs:StopTask supports the
# aws:ResourceTag/${TagKey}, ecs:ResourceTag/${TagKey} and ecs:cluster condition keys on the
# task resource (Service Authorization Reference, "Actions, resources, and condition keys for
# Amazon Elastic Container Service", StopTask).
data "aws_iam_policy_document" "stop_task" {
  statement {
    # Service Authorization Reference, Amazon Elastic Container Service:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html
    # Called by src/migration/steps/stop_task.rs, through src/ports/ecs/sdk.rs.
    sid       = "StopOwnTasksInCluster"
    actions   = ["ecs:StopTask"]
    resources = [local.cluster_tasks_arn]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [var.cluster_arn]
    }

    condition {
      test     = "StringLike"
      variable = "aws:ResourceTag/ecs-migrate:started-by"
      values   = ["ecs-migrate/*"]
    }
  }

  statement {
    # Read-only, so not limited by tag: a task without the tag is one stop-task must refuse,
    # and it has to describe it to know.
    # Service Authorization Reference, Amazon Elastic Container Service:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html
    # Called by src/migration/steps/stop_task.rs, through src/ports/ecs/sdk.rs.
    sid       = "DescribeClusterTasks"
    actions   = ["ecs:DescribeTasks"]
    resources = [local.cluster_tasks_arn]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [var.cluster_arn]
    }
  }

  statement {
    # ListTasks is authorized on a container instance, which Fargate tasks lack: Resource * with
    # the ecs:cluster condition doing the scoping.
    # Service Authorization Reference, Amazon Elastic Container Service:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html
    # Called by src/migration/steps/stop_task.rs, through src/ports/ecs/sdk.rs.
    sid       = "ListClusterTasks"
    actions   = ["ecs:ListTasks"]
    resources = ["*"]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [var.cluster_arn]
    }
  }

  dynamic "statement" {
    # A hook execution's lock scope (with lock_scope unset, the family) is the family of the
    # revision its deployment runs: the cleanup looks it up as validate-event did.
    for_each = length(var.deployment_services) > 0 ? [1] : []

    # Service Authorization Reference, Amazon ECS: each action needs the service and its own
    # resource type (service-deployment, service-revision), so each has its own statement.
    # Called by src/migration/steps/stop_task.rs via src/migration/hook_event.rs, through
    # src/ports/deployments/sdk.rs.
    content {
      sid       = "FindHookExecutionsDeployment"
      actions   = ["ecs:DescribeServiceDeployments"]
      resources = concat(local.service_arns, local.service_deployment_arns)
    }
  }

  dynamic "statement" {
    for_each = length(var.deployment_services) > 0 ? [1] : []

    content {
      sid       = "FindHookExecutionsRevision"
      actions   = ["ecs:DescribeServiceRevisions"]
      resources = concat(local.service_arns, local.service_revision_arns)
    }
  }

  statement {
    # The status-change cleanup reads the ended execution's lock (the task it recorded must stop
    # too) and releases it once its tasks stopped.
    # Service Authorization Reference, Amazon DynamoDB:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html
    # Called by src/migration/steps/stop_task.rs, through src/ports/lock/sdk.rs.
    sid       = "ReadAndReleaseLock"
    actions   = ["dynamodb:GetItem", "dynamodb:DeleteItem"]
    resources = [aws_dynamodb_table.lock.arn]
  }

  statement {
    # Acts only for a RUNNING execution of this state machine, which one DescribeExecution per
    # invocation confirms (Service Authorization Reference, AWS Step Functions: DescribeExecution,
    # resource type execution).
    # Service Authorization Reference, AWS Step Functions:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html
    # Called by src/migration/steps/stop_task.rs via src/migration/execution.rs, through
    # src/ports/executions/sdk.rs.
    sid       = "VerifyOwnExecution"
    actions   = ["states:DescribeExecution"]
    resources = [local.own_executions_arn]
  }

  statement {
    # Stops a RUNNING execution's task only while the execution's history shows it in its
    # StopTask state: one GetExecutionHistory per call from the state machine (resource type
    # execution).
    # Service Authorization Reference, AWS Step Functions:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html
    # Called by src/migration/steps/stop_task.rs (check_in_stop_state), through
    # src/ports/executions/sdk.rs.
    sid       = "ReadOwnExecutionHistory"
    actions   = ["states:GetExecutionHistory"]
    resources = [local.own_executions_arn]
  }

  statement {
    # Service Authorization Reference, Amazon CloudWatch Logs:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html
    # Called by the Lambda service, writing the function's own log.
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda["stop-task"].arn}:*"]
  }
}

# X-Ray: the Lambda service's tracing sends segments with the function's role. Not an API call
# the code makes, so it is kept out of the per-function documents.
data "aws_iam_policy_document" "lambda_tracing" {
  # Resource *: these X-Ray actions support no resource-level permissions.
  statement {
    # Service Authorization Reference, AWS X-Ray:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsx-ray.html
    # Called by the Lambda service's active tracing.
    sid       = "WriteTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "lambda_tracing" {
  for_each = var.tracing_enabled ? local.functions : {}

  name   = "${var.name}-${each.key}-tracing"
  role   = aws_iam_role.lambda[each.key].id
  policy = data.aws_iam_policy_document.lambda_tracing.json
}

################################################################################
# State machine role: invoke its functions, deliver its logs, write traces
################################################################################

data "aws_iam_policy_document" "state_machine_assume_role" {
  statement {
    sid     = "StepFunctionsAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.state_machine_arn]
    }
  }
}

resource "aws_iam_role" "state_machine" {
  name               = "${var.name}-state-machine"
  description        = "ecs-migrate state machine: invokes its functions"
  assume_role_policy = data.aws_iam_policy_document.state_machine_assume_role.json

  tags = var.tags
}

data "aws_iam_policy_document" "state_machine" {
  statement {
    # Service Authorization Reference, AWS Lambda:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html
    # Called by Step Functions, for the definition's Task states (statemachine/migration.asl.json).
    sid     = "InvokeStepFunctions"
    actions = ["lambda:InvokeFunction"]
    # deployment-hook is ECS's to invoke and reconcile the schedule's, not the machine's.
    resources = [for name, _ in local.functions : aws_lambda_function.this[name].arn if !contains(["deployment-hook", "reconcile"], name)]
  }

  # What Step Functions needs to set up log delivery to /aws/vendedlogs/states/<name>. These
  # actions support no resource-level permissions: AWS documents them on Resource *.
  statement {
    # Service Authorization Reference, Amazon CloudWatch Logs:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html
    # Called by Step Functions, for its own logging and tracing configuration.
    sid = "DeliverLogs"
    actions = [
      "logs:CreateLogDelivery",
      "logs:GetLogDelivery",
      "logs:UpdateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:DescribeResourcePolicies",
      "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = var.tracing_enabled ? [1] : []

    content {
      # Service Authorization Reference, AWS X-Ray:
      # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsx-ray.html
      # Called by the Lambda service's active tracing.
      sid = "WriteTraces"
      actions = [
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
      ]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "state_machine" {
  name   = "${var.name}-state-machine"
  role   = aws_iam_role.state_machine.id
  policy = data.aws_iam_policy_document.state_machine.json
}

################################################################################
# EventBridge role: start executions of this state machine, nothing else
################################################################################

data "aws_iam_policy_document" "events_assume_role" {
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
      values   = [aws_cloudwatch_event_rule.this.arn]
    }
  }
}

resource "aws_iam_role" "events" {
  name               = "${var.name}-events"
  description        = "ecs-migrate EventBridge rule: starts executions of the state machine"
  assume_role_policy = data.aws_iam_policy_document.events_assume_role.json

  tags = var.tags
}

data "aws_iam_policy_document" "events" {
  statement {
    # Service Authorization Reference, AWS Step Functions:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html
    # Called by EventBridge, for the rules that start executions (events.tf).
    sid       = "StartExecution"
    actions   = ["states:StartExecution"]
    resources = [aws_sfn_state_machine.this.arn]
  }
}

resource "aws_iam_role_policy" "events" {
  name   = "${var.name}-events"
  role   = aws_iam_role.events.id
  policy = data.aws_iam_policy_document.events.json
}

################################################################################
# The CI caller: what `ecs-migrate run` (and the GitHub Action) calls, as a policy document the
# caller's role can attach (output ci_caller_policy_json; docs/deploy.md, docs/security.md).
################################################################################

data "aws_iam_policy_document" "ci_caller" {
  statement {
    # Service Authorization Reference, AWS Step Functions:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html
    # Called by `ecs-migrate run|wait` (src/cli/aws/).
    sid       = "StartMigration"
    actions   = ["states:StartExecution"]
    resources = [local.state_machine_arn]
  }

  statement {
    # Follow the execution; StopExecution only for `--abort-on-timeout`.
    # Service Authorization Reference, AWS Step Functions:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html
    # Called by `ecs-migrate run|wait` (src/cli/aws/).
    sid       = "FollowMigration"
    actions   = ["states:DescribeExecution", "states:GetExecutionHistory", "states:StopExecution"]
    resources = [local.own_executions_arn]
  }

  dynamic "statement" {
    for_each = length(local.app_log_stream_arns) > 0 ? [1] : []

    content {
      # The migration container's log lines; refused, the command goes on without them.
      # Service Authorization Reference, Amazon CloudWatch Logs:
      # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html
      # Called by `ecs-migrate run|wait` (src/cli/aws/).
      sid       = "ReadMigrationLogs"
      actions   = ["logs:GetLogEvents"]
      resources = local.app_log_stream_arns
    }
  }
}
