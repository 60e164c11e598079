################################################################################
# The migration lock: one DynamoDB item per lock scope, written only under conditions by the
# functions (src/ports/lock/sdk.rs), so one migration of a scope runs at a time. The
# acquire-lock and release-lock functions' policies are here; run-task, poll-status and
# stop-task get their lock grants in iam.tf, beside their other grants.
################################################################################

resource "aws_dynamodb_table" "lock" {
  # No TTL, on purpose: an expired lease must be taken over by an execution that first stops the
  # old holder's task (acquire-lock), never deleted by DynamoDB while that task may still run.
  name         = "${var.name}-lock"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "scope"

  attribute {
    name = "scope"
    type = "S"
  }

  # Encrypted with KMS: the customer managed key when var.kms_key_arn is given, else the AWS
  # managed key aws/dynamodb, whose policy lets the account's principals use it through DynamoDB.
  # A customer managed key's policy must allow the same for the functions' roles.
  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  point_in_time_recovery {
    enabled = true
  }

  deletion_protection_enabled = var.lock_table_deletion_protection

  tags = var.tags

  lifecycle {
    # Settings' check of one variable against another (src/migration/settings.rs, LOCK_LEASE_SECONDS).
    precondition {
      condition     = var.lock_lease_seconds >= 2 * var.poll_interval_seconds
      error_message = "lock_lease_seconds (${var.lock_lease_seconds}) must be at least two poll_interval_seconds (${var.poll_interval_seconds}): the lease must outlast two poll rounds, or a live holder would lose the lock."
    }
    # Settings' check_lease_outlasts_poll_retries (src/migration/settings.rs): 1035 is
    # POLL_RETRY_WINDOW_SECONDS, the waits of PollStatus's Retry in statemachine/migration.asl.json.
    precondition {
      condition     = var.lock_lease_seconds - min(floor(var.lock_lease_seconds / 3), var.poll_max_wait_seconds) > 1035
      error_message = "lock_lease_seconds (${var.lock_lease_seconds}) is shorter than the longest gap between two renewals: the rest of a poll round (a third of the lease, at most poll_max_wait_seconds = ${var.poll_max_wait_seconds}) and then the 1035 s PollStatus's Retry may wait through an outage. A waiting execution would take over and stop a healthy migration: raise lock_lease_seconds (1800 is the default)."
    }
  }
}

# acquire-lock: reads the scope's item and takes it (conditional PutItem). When the holder's
# lease has run out, it first finds the holder's task (ListTasks by startedBy, DescribeTasks)
# and stops it, with the same scoping as stop-task's StopTask: this cluster, tasks run-task
# tagged only.
data "aws_iam_policy_document" "acquire_lock" {
  statement {
    # Service Authorization Reference, Amazon DynamoDB:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html
    # Called by src/migration/steps/lock.rs (acquire_lock), through src/ports/lock/sdk.rs.
    sid       = "ReadAndTakeLock"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem"]
    resources = [aws_dynamodb_table.lock.arn]
  }

  statement {
    # Service Authorization Reference, Amazon Elastic Container Service:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html
    # Called by src/migration/steps/lock.rs (acquire_lock), through src/ports/ecs/sdk.rs.
    sid       = "StopExpiredHoldersTask"
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
    # Service Authorization Reference, Amazon Elastic Container Service:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html
    # Called by src/migration/steps/lock.rs (acquire_lock), through src/ports/ecs/sdk.rs.
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
    # the ecs:cluster condition doing the scoping (as stop-task's).
    # Service Authorization Reference, Amazon Elastic Container Service:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html
    # Called by src/migration/steps/lock.rs (acquire_lock), through src/ports/ecs/sdk.rs.
    sid       = "ListClusterTasks"
    actions   = ["ecs:ListTasks"]
    resources = ["*"]

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
    # Called by src/migration/steps/lock.rs (acquire_lock) via src/migration/execution.rs, through
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
    resources = ["${aws_cloudwatch_log_group.lambda["acquire-lock"].arn}:*"]
  }
}

# release-lock: makes sure the execution's task is STOPPED, then deletes the scope's item if
# this execution still holds it (conditional DeleteItem).
data "aws_iam_policy_document" "release_lock" {
  statement {
    # The table, not the state data, says whose lock it is and which task must stop first.
    # Service Authorization Reference, Amazon DynamoDB:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html
    # Called by src/migration/steps/lock.rs (release_lock), through src/ports/lock/sdk.rs.
    sid       = "ReadAndReleaseOwnLock"
    actions   = ["dynamodb:GetItem", "dynamodb:DeleteItem"]
    resources = [aws_dynamodb_table.lock.arn]
  }

  statement {
    # The execution's tasks by startedBy, a task whose RunTask answer was lost included.
    # ListTasks is authorized on a container instance, which Fargate tasks lack: Resource * with
    # the ecs:cluster condition doing the scoping (as stop-task's).
    # Service Authorization Reference, Amazon Elastic Container Service:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html
    # Called by src/migration/steps/lock.rs (release_lock), through src/ports/ecs/sdk.rs.
    sid       = "ListClusterTasks"
    actions   = ["ecs:ListTasks"]
    resources = ["*"]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [var.cluster_arn]
    }
  }

  statement {
    # Service Authorization Reference, Amazon Elastic Container Service:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html
    # Called by src/migration/steps/lock.rs (release_lock), through src/ports/ecs/sdk.rs.
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
    # Called by src/migration/steps/lock.rs (release_lock) via src/migration/execution.rs, through
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
    resources = ["${aws_cloudwatch_log_group.lambda["release-lock"].arn}:*"]
  }
}
