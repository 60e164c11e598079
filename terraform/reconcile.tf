################################################################################
# The reconciler (issue 19): Step Functions' status-change events are best effort and the
# cleanup they invoke gets Lambda's two asynchronous retries, so a lost event or a failed
# cleanup could leave a migration task running and its lock held. Every
# var.reconcile_schedule_minutes a scheduled rule invokes the `reconcile` function, which stops
# the tasks of ended executions, releases their locks once those tasks are STOPPED and answers
# ROLLBACK to a pause hook an ended execution left waiting; it never touches a RUNNING
# execution's task or lock (src/migration/steps/reconcile/). The status-change rule stays: it
# is fast; the reconciler is the floor.
################################################################################

locals {
  # Settings only the reconciler reads, on top of local.settings.
  function_settings = {
    reconcile = { RECONCILE_MAX_CALLS = tostring(var.reconcile_max_calls) }
  }
}

resource "aws_cloudwatch_event_rule" "reconcile" {
  name                = "${var.name}-reconcile"
  description         = "ecs-migrate: stop tasks and release locks that ended executions left behind"
  schedule_expression = var.reconcile_schedule_minutes == 1 ? "rate(1 minute)" : "rate(${var.reconcile_schedule_minutes} minutes)"

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "reconcile" {
  rule      = aws_cloudwatch_event_rule.reconcile.name
  target_id = "reconcile"
  arn       = aws_lambda_function.this["reconcile"].arn

  # A missed run is made up by the next one: no retries beyond the schedule.
  retry_policy {
    maximum_event_age_in_seconds = 60 * var.reconcile_schedule_minutes
    maximum_retry_attempts       = 0
  }

  dead_letter_config {
    arn = aws_sqs_queue.events_dlq.arn
  }

  depends_on = [aws_lambda_permission.reconcile_rule, aws_sqs_queue_policy.events_dlq]
}

resource "aws_lambda_permission" "reconcile_rule" {
  statement_id   = "AllowReconcileSchedule"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.this["reconcile"].function_name
  principal      = "events.amazonaws.com"
  source_arn     = aws_cloudwatch_event_rule.reconcile.arn
  source_account = local.account_id
}

# The schedule invokes asynchronously: a failed run is not retried (the next one comes soon)
# and the function's errors alarm below says it failed.
resource "aws_lambda_function_event_invoke_config" "reconcile" {
  function_name                = aws_lambda_function.this["reconcile"].function_name
  maximum_retry_attempts       = 0
  maximum_event_age_in_seconds = 60 * var.reconcile_schedule_minutes
}

# reconcile: exactly the calls src/migration/steps/reconcile/ makes (tests/static/iam.rs).
data "aws_iam_policy_document" "reconcile" {
  statement {
    # ListTasks is authorized on a container instance, which Fargate tasks lack: Resource * with
    # the ecs:cluster condition doing the scoping.
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
    # Read-only (with include=TAGS): which execution started each task.
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
    # Only tasks run-task started (its ecs-migrate:started-by tag), in this cluster.
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
    # Lists the lock items (Scan) and releases an ended holder's (a delete conditional on the
    # holder).
    sid       = "ScanAndReleaseLock"
    actions   = ["dynamodb:Scan", "dynamodb:DeleteItem"]
    resources = [aws_dynamodb_table.lock.arn]
  }

  statement {
    # Whether each execution still runs (Service Authorization Reference, AWS Step Functions:
    # DescribeExecution, resource type execution).
    sid       = "DescribeOwnExecutions"
    actions   = ["states:DescribeExecution"]
    resources = [local.own_executions_arn]
  }

  statement {
    # The newest ended executions, for pause hooks they left waiting (ListExecutions, resource
    # type stateMachine).
    sid       = "ListOwnExecutions"
    actions   = ["states:ListExecutions"]
    resources = [local.state_machine_arn]
  }

  dynamic "statement" {
    for_each = length(var.deployment_services) > 0 ? [1] : []

    content {
      sid       = "RollBackAbandonedHooks"
      actions   = ["ecs:DescribeServiceDeployments", "ecs:ContinueServiceDeployment"]
      resources = concat(local.service_arns, local.service_deployment_arns)
    }
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda["reconcile"].arn}:*"]
  }
}

# What the reconciler fixed, from the embedded metric format line each run writes to its log
# (src/migration/steps/reconcile/mod.rs, metric_line): stopping a task or releasing a lock is
# the status-change cleanup's work, so any count means an event or its cleanup was lost.
resource "aws_cloudwatch_metric_alarm" "reconcile_fixes" {
  alarm_name        = "${var.name}-reconciler-fixed"
  alarm_description = "ecs-migrate's reconciler stopped a task or released a lock an ended execution left behind (state machine ${var.name}): a status-change event or its cleanup was lost. See /aws/lambda/${var.name}-reconcile for what it fixed, and the cleanup's failure queue ${aws_sqs_queue.cleanup_failures.name}."

  namespace           = "ecs-migrate"
  metric_name         = "ReconcilerFixes"
  dimensions          = { StateMachine = var.name }
  statistic           = "Sum"
  period              = 300
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"

  alarm_actions = local.alarm_actions

  tags = var.tags
}

# A reconciler that fails (an AWS error, a missing permission) is a floor that is not there.
resource "aws_cloudwatch_metric_alarm" "reconcile_errors" {
  alarm_name        = "${var.name}-reconcile-errors"
  alarm_description = "ecs-migrate's reconciler failed (state machine ${var.name}): tasks and locks that ended executions leave behind are not being cleaned up; see /aws/lambda/${var.name}-reconcile."

  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this["reconcile"].function_name }
  statistic           = "Sum"
  period              = 300
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  evaluation_periods  = 2
  treat_missing_data  = "notBreaching"

  alarm_actions = local.alarm_actions

  tags = var.tags
}
