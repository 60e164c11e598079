################################################################################
# The rule that starts a migration: the event the earlier Python Lambda answered to, now
# starting an execution. The whole event is the execution's input (the state machine accepts
# the EventBridge envelope); the command never comes from it.
################################################################################

resource "aws_cloudwatch_event_rule" "this" {
  name           = var.name
  description    = "ecs-migrate: start a migration on an 'AWS ECS Migration Task' event put by this account"
  event_bus_name = var.event_bus_name

  # `account` is the account that put the event: a bus that other accounts (or an
  # organization) may put events on must not let them start migrations here.
  event_pattern = jsonencode({
    account       = [local.account_id]
    source        = ["ecs.migration"]
    "detail-type" = ["AWS ECS Migration Task"]
  })

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "this" {
  rule           = aws_cloudwatch_event_rule.this.name
  event_bus_name = var.event_bus_name
  target_id      = "state-machine"
  arn            = aws_sfn_state_machine.this.arn
  role_arn       = aws_iam_role.events.arn

  # EventBridge retries a failed StartExecution (throttling, a service error) with backoff, by
  # default for 24 h and 185 attempts (EventBridge User Guide, "Event retry policy and using
  # dead-letter queues"). Here the age ends the retries, not the count: an hour keeps every
  # redelivery well inside ECS's 24 h clientToken window (run-task's idempotency), and a
  # migration that starts more than an hour after its deploy asked for it is more likely to
  # surprise than to help. What is not delivered by then lands in the dead-letter queue, whose
  # alarm says so; send the event again once the cause is fixed.
  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 185
  }

  dead_letter_config {
    arn = aws_sqs_queue.events_dlq.arn
  }

  depends_on = [aws_iam_role_policy.events, aws_sqs_queue_policy.events_dlq]
}

################################################################################
# The cleanup rule: an execution that fails, is aborted or times out stops the tasks it started,
# so no migration task outlives its execution. FAILED is included because an execution can end
# FAILED without passing through StopTask (States.Runtime, States.DataLimitExceeded, the
# 25,000-event history limit, a StopTask whose own retries ran out); for one whose StopTask did
# run, stop-task finds nothing left and returns. Step Functions sends status changes to the
# default bus only. (Named "abort" since before FAILED was added: renaming would replace it.)
################################################################################

resource "aws_cloudwatch_event_rule" "abort" {
  name        = "${var.name}-abort"
  description = "ecs-migrate: stop the migration task of a failed, aborted or timed out execution"

  event_pattern = jsonencode({
    source        = ["aws.states"]
    "detail-type" = ["Step Functions Execution Status Change"]
    detail = {
      status          = ["FAILED", "ABORTED", "TIMED_OUT"]
      stateMachineArn = [aws_sfn_state_machine.this.arn]
    }
  })

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "abort" {
  rule      = aws_cloudwatch_event_rule.abort.name
  target_id = "stop-task"
  arn       = aws_lambda_function.this["stop-task"].arn

  # Two retry layers, each with its own failure queue:
  # - This policy covers EventBridge's delivery to Lambda only: the asynchronous Invoke being
  #   accepted (throttling, a service error, a missing permission). EventBridge retries that
  #   for up to 24 h and 185 attempts (EventBridge User Guide, "Event retry policy and using
  #   dead-letter queues"), then puts the event in the rules' dead-letter queue below.
  # - Once Lambda has accepted the event, a cleanup that fails (stop-task returns an error or
  #   times out) is retried by Lambda's asynchronous invocation, not by EventBridge: 2 more
  #   attempts, within an hour of the event (aws_lambda_function_event_invoke_config.stop_task
  #   in lambda.tf; Lambda Developer Guide, "Asynchronous invocation"). After that the event
  #   goes to the on-failure destination, aws_sqs_queue.cleanup_failures, whose alarm says so.
  # Whatever both layers miss, the reconciler (reconcile.tf) fixes on its next run.
  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }

  dead_letter_config {
    arn = aws_sqs_queue.events_dlq.arn
  }

  depends_on = [aws_lambda_permission.abort_rule, aws_sqs_queue_policy.events_dlq]
}

################################################################################
# Dead-letter queue of both rules' targets: events EventBridge could not deliver (after the
# retry policy, or at once for errors retrying cannot fix, such as a missing permission or a
# deleted target). Each message carries RULE_ARN, TARGET_ARN, ERROR_CODE and ERROR_MESSAGE
# attributes saying which rule failed and why (EventBridge User Guide, "Using dead-letter
# queues to process undelivered events").
################################################################################

resource "aws_sqs_queue" "events_dlq" {
  # EventBridge dead-letter queues must be standard queues, in the rules' region.
  name = "${var.name}-events-dlq"

  # Long enough to notice the alarm and investigate: SQS's maximum, 14 days.
  message_retention_seconds = 1209600

  # With var.kms_key_arn, its key policy must let events.amazonaws.com use kms:Decrypt and
  # kms:GenerateDataKey, or EventBridge cannot write to the queue (EventBridge User Guide,
  # troubleshooting "My events are not delivered to the target Amazon SQS queue").
  # Without it: SQS-managed server-side encryption, which needs no key policy.
  kms_master_key_id       = var.kms_key_arn
  sqs_managed_sse_enabled = var.kms_key_arn == null ? true : null

  tags = var.tags
}

# Only EventBridge may send, and only on behalf of the two rules above: the target DLQ policy
# of the EventBridge User Guide ("Granting permissions to the dead-letter queue":
# events.amazonaws.com, sqs:SendMessage, ArnEquals aws:SourceArn on the rule's ARN).
data "aws_iam_policy_document" "events_dlq" {
  statement {
    # Service Authorization Reference, Amazon SQS:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsqs.html
    sid       = "EventBridgeRulesSendUndelivered"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.events_dlq.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      # The deployment hook rule's too, when it is on (hooks.tf).
      values = concat(
        [aws_cloudwatch_event_rule.this.arn, aws_cloudwatch_event_rule.abort.arn],
        aws_cloudwatch_event_rule.deployment_hook[*].arn,
      )
    }
  }
}

resource "aws_sqs_queue_policy" "events_dlq" {
  queue_url = aws_sqs_queue.events_dlq.id
  policy    = data.aws_iam_policy_document.events_dlq.json
}

################################################################################
# The cleanup's on-failure destination: status-change events whose stop-task invocation still
# failed after Lambda's two asynchronous retries, or that grew older than the invoke config's
# maximum event age. Each message is Lambda's invocation record (the event, the error, the
# attempt count: Lambda Developer Guide, "Capturing records of Lambda asynchronous
# invocations"). The reconciler cleans up after them; the alarm says a cleanup failed.
################################################################################

resource "aws_sqs_queue" "cleanup_failures" {
  name = "${var.name}-cleanup-failures"

  # SQS's maximum, 14 days: long enough to read the record once the alarm fired.
  message_retention_seconds = 1209600

  # With var.kms_key_arn, stop-task's role may use the key (stop_task_on_failure below).
  # Without it: SQS-managed server-side encryption.
  kms_master_key_id       = var.kms_key_arn
  sqs_managed_sse_enabled = var.kms_key_arn == null ? true : null

  tags = var.tags
}

# Lambda sends the record with the function's own role (Lambda Developer Guide, "Adding a
# destination": the execution role needs sqs:SendMessage on the queue). Kept out of stop-task's
# policy document, which lists only the calls its code makes (tests/static/iam.rs).
data "aws_iam_policy_document" "stop_task_on_failure" {
  statement {
    sid       = "SendFailedCleanupRecords"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.cleanup_failures.arn]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [1]

    content {
      sid       = "EncryptFailedCleanupRecords"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [var.kms_key_arn]
    }
  }
}

resource "aws_iam_role_policy" "stop_task_on_failure" {
  name   = "${var.name}-stop-task-on-failure"
  role   = aws_iam_role.lambda["stop-task"].id
  policy = data.aws_iam_policy_document.stop_task_on_failure.json
}

resource "aws_cloudwatch_metric_alarm" "cleanup_failures" {
  alarm_name        = "${var.name}-cleanup-failed"
  alarm_description = "ecs-migrate: the status-change cleanup (stop-task) failed after Lambda's retries (state machine ${var.name}): a migration task or lock may be left until the reconciler's next run. Read the invocation records in SQS queue ${aws_sqs_queue.cleanup_failures.name}."

  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.cleanup_failures.name }
  statistic           = "Maximum"
  period              = 300
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"

  alarm_actions = local.alarm_actions

  tags = var.tags
}
