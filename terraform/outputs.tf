################################################################################
# State machine
################################################################################

output "state_machine_arn" {
  description = "ARN of the state machine: what `ecs-migrate run --state-machine-arn` and scripts/run-migration.sh start."
  value       = aws_sfn_state_machine.this.arn
}

output "state_machine_name" {
  description = "Name of the state machine."
  value       = aws_sfn_state_machine.this.name
}

output "state_machine_role_arn" {
  description = "ARN of the state machine's IAM role."
  value       = aws_iam_role.state_machine.arn
}

output "state_machine_log_group_name" {
  description = "Log group of the state machine's execution logs."
  value       = aws_cloudwatch_log_group.state_machine.name
}

################################################################################
# Migration lock
################################################################################

output "lock_table_name" {
  description = "Name of the migration lock's DynamoDB table: what `ecs-migrate lock status|release --table` takes."
  value       = aws_dynamodb_table.lock.name
}

output "lock_table_arn" {
  description = "ARN of the migration lock's DynamoDB table."
  value       = aws_dynamodb_table.lock.arn
}

################################################################################
# Lambda functions (maps keyed by validate-event, acquire-lock, run-task, poll-status,
# check-exit-code, stop-task, release-lock)
################################################################################

output "lambda_function_arns" {
  description = "Map of function key to function ARN."
  value       = { for k, f in aws_lambda_function.this : k => f.arn }
}

output "lambda_function_names" {
  description = "Map of function key to function name."
  value       = { for k, f in aws_lambda_function.this : k => f.function_name }
}

output "lambda_role_arns" {
  description = "Map of function key to the ARN of its own IAM role."
  value       = { for k, r in aws_iam_role.lambda : k => r.arn }
}

output "lambda_log_group_names" {
  description = "Map of function key to its log group name."
  value       = { for k, g in aws_cloudwatch_log_group.lambda : k => g.name }
}

output "lambda_environment" {
  description = "The Settings environment every function gets (empty values are left out)."
  value       = local.settings
}

################################################################################
# EventBridge
################################################################################

output "event_rule_arn" {
  description = "ARN of the rule that starts a migration on `ecs.migration` / `AWS ECS Migration Task` events."
  value       = aws_cloudwatch_event_rule.this.arn
}

output "event_rule_name" {
  description = "Name of the rule that starts a migration."
  value       = aws_cloudwatch_event_rule.this.name
}

output "event_role_arn" {
  description = "ARN of the role EventBridge uses to start executions."
  value       = aws_iam_role.events.arn
}

output "events_dlq_arn" {
  description = "ARN of the SQS dead-letter queue of both rules' targets: events EventBridge could not deliver (a migration not started, a cleanup not run)."
  value       = aws_sqs_queue.events_dlq.arn
}

output "events_dlq_url" {
  description = "URL of the dead-letter queue, to read (`aws sqs receive-message --queue-url ... --message-attribute-names All`) or redrive its messages."
  value       = aws_sqs_queue.events_dlq.url
}

output "abort_rule_arn" {
  description = "ARN of the cleanup rule: it runs stop-task when an execution fails, is aborted or times out."
  value       = aws_cloudwatch_event_rule.abort.arn
}

################################################################################
# Alarms
################################################################################

output "alarm_arn" {
  description = "ARN of the alarm on failed or timed out executions."
  value       = aws_cloudwatch_metric_alarm.this.arn
}

output "stop_task_errors_alarm_arn" {
  description = "ARN of the alarm on stop-task errors (a migration task may have outlived its execution)."
  value       = aws_cloudwatch_metric_alarm.stop_task_errors.arn
}

output "events_dlq_alarm_arn" {
  description = "ARN of the alarm on the dead-letter queue (an event EventBridge could not deliver)."
  value       = aws_cloudwatch_metric_alarm.events_dlq.arn
}

output "alarm_sns_topic_arn" {
  description = "SNS topic the alarms notify (created or given), or null."
  value       = local.alarm_topic_arn
}

################################################################################
# Migrations inside the service's deployment (hooks.tf)
################################################################################

output "deployment_hook_rule_arn" {
  description = "ARN of the rule that starts a migration on a PAUSE hook event (null when off)."
  value       = one(aws_cloudwatch_event_rule.deployment_hook[*].arn)
}

output "deployment_hook_function_arn" {
  description = "ARN of the deployment-hook function: the `hookTargetArn` of a Lambda lifecycle hook on the service."
  value       = aws_lambda_function.this["deployment-hook"].arn
}

output "deployment_hook_role_arn" {
  description = "ARN of the role ECS assumes to invoke the deployment-hook function: the Lambda lifecycle hook's `roleArn`."
  value       = aws_iam_role.ecs_invokes_deployment_hook.arn
}

output "ci_caller_policy_json" {
  description = "The least-privilege IAM policy (JSON) for the CI role that runs `ecs-migrate run`: StartExecution on the state machine; DescribeExecution, GetExecutionHistory and StopExecution (for `--abort-on-timeout`) on its executions; GetLogEvents on the app's log streams. It grants nothing a function acts with (see docs/security.md)."
  value       = data.aws_iam_policy_document.ci_caller.json
}
