output "state_machine_arn" {
  description = "Give it to `ecs-migrate run --state-machine-arn` (CI) or scripts/run-migration.sh."
  value       = module.ecs_migrate.state_machine_arn
}

output "lambda_function_arns" {
  description = "The functions (the steps, report-deployment and deployment-hook)."
  value       = module.ecs_migrate.lambda_function_arns
}

output "event_rule_arn" {
  description = "The rule that starts a migration on an `AWS ECS Migration Task` event."
  value       = module.ecs_migrate.event_rule_arn
}

output "alarm_sns_topic_arn" {
  description = "Subscribe to it to hear about failed migrations."
  value       = module.ecs_migrate.alarm_sns_topic_arn
}

output "events_dlq_url" {
  description = "Dead-letter queue of events EventBridge could not deliver (a migration not started, a cleanup not run)."
  value       = module.ecs_migrate.events_dlq_url
}

output "task_definition_arn" {
  description = "The app's task definition."
  value       = aws_ecs_task_definition.app.arn
}
