################################################################################
# Alarms: a migration failed or timed out; a cleanup (stop-task from the cleanup rule) failed;
# EventBridge could not deliver an event (dead-letter queue). Notifications go to a given SNS
# topic, or to one created here, encrypted.
################################################################################

locals {
  create_alarm_topic_key = var.create_alarm_topic && var.kms_key_arn == null

  alarm_topic_arn = var.create_alarm_topic ? aws_sns_topic.alarms[0].arn : var.alarm_sns_topic_arn
  alarm_actions   = local.alarm_topic_arn == null ? [] : [local.alarm_topic_arn]
}

# CloudWatch cannot publish to a topic encrypted with the AWS managed key (alias/aws/sns): a
# topic created here gets its own customer managed key unless var.kms_key_arn is given.
data "aws_iam_policy_document" "alarm_topic_key" {
  count = local.create_alarm_topic_key ? 1 : 0

  #checkov:skip=CKV_AWS_109:A key policy's Resource * is the key itself; the account root statement is what lets IAM policies in this account manage the key.
  #checkov:skip=CKV_AWS_111:A key policy's Resource * is the key itself; the account root statement is what lets IAM policies in this account manage the key.
  #checkov:skip=CKV_AWS_356:A key policy's Resource * is the key itself.
  statement {
    # Service Authorization Reference, AWS Key Management Service:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awskeymanagementservice.html
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    # Service Authorization Reference, AWS Key Management Service:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awskeymanagementservice.html
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "alarm_topic" {
  count = local.create_alarm_topic_key ? 1 : 0

  description             = "ecs-migrate ${var.name}: alarm topic encryption"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.alarm_topic_key[0].json

  tags = var.tags
}

resource "aws_kms_alias" "alarm_topic" {
  count = local.create_alarm_topic_key ? 1 : 0

  name          = "alias/${var.name}-alarms"
  target_key_id = aws_kms_key.alarm_topic[0].key_id
}

resource "aws_sns_topic" "alarms" {
  count = var.create_alarm_topic ? 1 : 0

  name              = "${var.name}-alarms"
  kms_master_key_id = local.create_alarm_topic_key ? aws_kms_key.alarm_topic[0].arn : var.kms_key_arn

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "this" {
  alarm_name        = "${var.name}-migration-failed"
  alarm_description = "An ecs-migrate migration failed or timed out (state machine ${var.name}): see the execution's Error and Cause in the Step Functions console."

  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"

  metric_query {
    id          = "failed_or_timed_out"
    expression  = "FILL(failed, 0) + FILL(timed_out, 0)"
    label       = "Executions failed or timed out"
    return_data = true
  }

  metric_query {
    id = "failed"

    metric {
      namespace   = "AWS/States"
      metric_name = "ExecutionsFailed"
      dimensions  = { StateMachineArn = aws_sfn_state_machine.this.arn }
      period      = 60
      stat        = "Sum"
    }
  }

  metric_query {
    id = "timed_out"

    metric {
      namespace   = "AWS/States"
      metric_name = "ExecutionsTimedOut"
      dimensions  = { StateMachineArn = aws_sfn_state_machine.this.arn }
      period      = 60
      stat        = "Sum"
    }
  }

  alarm_actions = local.alarm_actions

  tags = var.tags
}

# stop-task errors: when invoked by the cleanup rule nothing else would notice that a migration
# task may have outlived its execution.
resource "aws_cloudwatch_metric_alarm" "stop_task_errors" {
  alarm_name        = "${var.name}-stop-task-errors"
  alarm_description = "ecs-migrate stop-task failed (state machine ${var.name}): a migration task may still be running in ${local.cluster_name}; see /aws/lambda/${var.name}-stop-task."

  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this["stop-task"].function_name }
  statistic           = "Sum"
  period              = 60
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"

  alarm_actions = local.alarm_actions

  tags = var.tags
}

# Events EventBridge could not deliver: a migration that was asked for and never started, or a
# cleanup (stop-task) that never ran. Either needs a person; the message says which rule.
resource "aws_cloudwatch_metric_alarm" "events_dlq" {
  alarm_name        = "${var.name}-events-undelivered"
  alarm_description = "ecs-migrate: EventBridge could not deliver an event (state machine ${var.name}): a migration did not start or a cleanup did not run. Read the message's RULE_ARN, ERROR_CODE and ERROR_MESSAGE attributes in SQS queue ${aws_sqs_queue.events_dlq.name}."

  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.events_dlq.name }
  statistic           = "Maximum"
  period              = 300
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"

  alarm_actions = local.alarm_actions

  tags = var.tags
}
