################################################################################
# Optional: run the migration once during `terraform apply`, through the state machine, so the
# apply fails when the migration fails (the earlier `aws ecs run-task` + `aws ecs wait
# tasks-stopped` reported success on exit 1 and gave up after about 10 minutes).
################################################################################

resource "terraform_data" "initial_migration" {
  count = var.run_initial_migration ? 1 : 0

  # A new task definition revision runs the migration again.
  triggers_replace = [var.initial_task_definition]

  provisioner "local-exec" {
    # Arguments travel as environment variables: no quoting of ARNs in a shell string.
    interpreter = ["bash", "-c"]
    # --stop-on-timeout: a failed apply must not leave the migration running, or the next apply
    # (the resource is tainted) would start a second one beside it.
    command = "exec bash \"$RUN_MIGRATION_SCRIPT\" --timeout \"$RUN_MIGRATION_TIMEOUT\" --stop-on-timeout \"$RUN_MIGRATION_STATE_MACHINE_ARN\" \"$RUN_MIGRATION_TASK_DEFINITION\""

    environment = {
      RUN_MIGRATION_SCRIPT            = "${path.module}/scripts/run-migration.sh"
      RUN_MIGRATION_TIMEOUT           = tostring(coalesce(var.initial_migration_timeout_seconds, var.max_duration_seconds + 300))
      RUN_MIGRATION_STATE_MACHINE_ARN = aws_sfn_state_machine.this.arn
      RUN_MIGRATION_TASK_DEFINITION   = coalesce(var.initial_task_definition, "-")
      AWS_REGION                      = local.region
      AWS_DEFAULT_REGION              = local.region
    }
  }

  # Everything an execution touches must exist first, including the cleanup path.
  depends_on = [
    aws_sfn_state_machine.this,
    aws_iam_role_policy.lambda,
    aws_iam_role_policy.lambda_tracing,
    aws_iam_role_policy.state_machine,
    aws_cloudwatch_event_target.abort,
  ]
}
