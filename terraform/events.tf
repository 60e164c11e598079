################################################################################
# The rule that starts a migration: the event the earlier Python Lambda answered to, now
# starting an execution. The whole event is the execution's input (the state machine accepts
# the EventBridge envelope); the command never comes from it.
################################################################################

resource "aws_cloudwatch_event_rule" "this" {
  name           = var.name
  description    = "ecs-migrate: start a migration on an 'AWS ECS Migration Task' event"
  event_bus_name = var.event_bus_name

  event_pattern = jsonencode({
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

  depends_on = [aws_iam_role_policy.events]
}

################################################################################
# The abort rule: an execution that is aborted or times out stops its task, so no migration
# task outlives its execution. Step Functions sends status changes to the default bus only.
################################################################################

resource "aws_cloudwatch_event_rule" "abort" {
  name        = "${var.name}-abort"
  description = "ecs-migrate: stop the migration task of an aborted or timed out execution"

  event_pattern = jsonencode({
    source        = ["aws.states"]
    "detail-type" = ["Step Functions Execution Status Change"]
    detail = {
      status          = ["ABORTED", "TIMED_OUT"]
      stateMachineArn = [aws_sfn_state_machine.this.arn]
    }
  })

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "abort" {
  rule      = aws_cloudwatch_event_rule.abort.name
  target_id = "stop-task"
  arn       = aws_lambda_function.this["stop-task"].arn

  depends_on = [aws_lambda_permission.abort_rule]
}
