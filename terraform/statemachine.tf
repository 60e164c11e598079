################################################################################
# The state machine: statemachine/migration.asl.json with the function ARNs filled in
################################################################################

resource "aws_cloudwatch_log_group" "state_machine" {
  # Encrypted at rest by CloudWatch Logs; a customer managed key is opt-in (var.kms_key_arn).
  # Vended-logs prefix: Step Functions' log delivery fits the logs resource policy size limit.
  name              = "/aws/vendedlogs/states/${var.name}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

resource "aws_sfn_state_machine" "this" {
  name     = var.name
  type     = "STANDARD"
  role_arn = aws_iam_role.state_machine.arn

  # The placeholders are the plain function ARNs, used directly as each Task's Resource.
  definition = templatefile(local.state_machine_definition_file, {
    validate_event_arn  = aws_lambda_function.this["validate-event"].arn
    acquire_lock_arn    = aws_lambda_function.this["acquire-lock"].arn
    run_task_arn        = aws_lambda_function.this["run-task"].arn
    poll_status_arn     = aws_lambda_function.this["poll-status"].arn
    check_exit_code_arn = aws_lambda_function.this["check-exit-code"].arn
    stop_task_arn       = aws_lambda_function.this["stop-task"].arn
    # ContinueDeployment and RollBackDeployment (hooks.tf).
    report_deployment_arn = aws_lambda_function.this["report-deployment"].arn
    release_lock_arn      = aws_lambda_function.this["release-lock"].arn
  })

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.state_machine.arn}:*"
    level                  = var.state_machine_log_level
    include_execution_data = var.state_machine_include_execution_data
  }

  tracing_configuration {
    enabled = var.tracing_enabled
  }

  tags = var.tags

  lifecycle {
    # Checks of one variable against another (variable validations see only their own).
    precondition {
      condition     = !(local.launch_type != "" && length(var.capacity_provider_strategy) > 0)
      error_message = "launch_type and capacity_provider_strategy are exclusive: set launch_type = null to use a capacity provider strategy."
    }
    precondition {
      condition     = var.start_timeout_seconds <= var.max_duration_seconds
      error_message = "start_timeout_seconds must not exceed max_duration_seconds."
    }
    precondition {
      condition     = local.app_log_group_count > 0
      error_message = "Give the migration container's log group in app_log_group_names (or app_log_group_arns): check-exit-code reads the failure's log tail there."
    }
    precondition {
      condition     = local.cluster_account == local.account_id
      error_message = "cluster_arn is in account ${local.cluster_account}, but this module deploys to ${local.account_id}: the migration task must run in the functions' account."
    }
    precondition {
      condition     = var.poll_max_wait_seconds >= var.poll_interval_seconds
      error_message = "poll_max_wait_seconds (${var.poll_max_wait_seconds}) must be at least poll_interval_seconds (${var.poll_interval_seconds}): one poll-status invocation polls at least once per interval."
    }
    precondition {
      condition     = local.history_events_needed <= local.history_event_limit - local.history_headroom
      error_message = "max_duration_seconds = ${var.max_duration_seconds} cannot be tracked: with poll_max_wait_seconds = ${local.poll_round_seconds} and lock_wait_seconds = ${var.lock_wait_seconds} an execution would record up to ${local.history_events_needed} history events, over Step Functions' ${local.history_event_limit}-event limit less ${local.history_headroom} of headroom, and validate-event would refuse every migration. Lower max_duration_seconds to at most ${local.longest_tracked_seconds}, or raise poll_max_wait_seconds, or lower lock_wait_seconds."
    }
    precondition {
      condition     = !var.run_initial_migration || var.initial_task_definition != null
      error_message = "run_initial_migration needs initial_task_definition (a task definition ARN, family:revision or family)."
    }
    precondition {
      condition     = !(var.create_alarm_topic && var.alarm_sns_topic_arn != null)
      error_message = "create_alarm_topic and alarm_sns_topic_arn are exclusive."
    }
    postcondition {
      condition     = split(":", self.arn)[3] == local.region
      error_message = "cluster_arn is in region ${local.region}, but the provider deploys to ${split(":", self.arn)[3]}: the functions call ECS in their own region."
    }
  }

  # Step Functions checks at creation that its role may deliver logs.
  depends_on = [aws_iam_role_policy.state_machine]
}
