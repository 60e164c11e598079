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

  # A late cleanup is still right (stop-task stops only what that execution started; a task
  # already stopped is left alone) while a missed one leaves a task running, perhaps for the
  # whole max_duration_seconds: retry for as long and as often as EventBridge allows (24 h,
  # 185 attempts), then keep the event in the dead-letter queue.
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
