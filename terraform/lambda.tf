################################################################################
# The step functions, all from one pre-built `bootstrap` zip (no build inside Terraform):
# each function serves the step its handler names (Lambda passes the handler to the bootstrap
# as _HANDLER; ECS_MIGRATE_STEP says the same explicitly), with its own role and settings.
################################################################################

resource "aws_cloudwatch_log_group" "lambda" {
  # Encrypted at rest by CloudWatch Logs; a customer managed key is opt-in (var.kms_key_arn).
  for_each = local.functions

  # Created before the function so Lambda never creates it without a retention.
  name              = "/aws/lambda/${var.name}-${each.key}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:No DLQ: Step Functions invokes these functions synchronously and handles failures with Retry/Catch; stop-task's asynchronous invocations by the cleanup rule are retried by Lambda and raise the stop-task errors alarm (and events EventBridge cannot deliver to it go to the rules' dead-letter queue).
  #checkov:skip=CKV_AWS_115:No reserved concurrency: it would be taken from the account's unreserved pool (10 in new accounts) for functions that run a few times per deploy, one at a time per execution.
  #checkov:skip=CKV_AWS_117:Not in a VPC: the functions only call the ECS, CloudWatch Logs and DynamoDB APIs; a VPC would need a NAT gateway or interface endpoints and protects nothing here.
  #checkov:skip=CKV_AWS_272:No code signing: the zips are built by this repository's CI (cargo lambda) and deployed by Terraform from the same pipeline; there is no signing profile to verify against.
  for_each = local.functions

  function_name = "${var.name}-${each.key}"
  description   = each.value.description
  role          = aws_iam_role.lambda[each.key].arn

  filename         = var.lambda_zip
  source_code_hash = filebase64sha256(var.lambda_zip)
  runtime          = "provided.al2023"
  architectures    = [var.lambda_architecture]
  handler          = each.key

  memory_size = var.lambda_memory_size
  timeout     = each.value.timeout
  # The environment holds no secrets (cluster, subnets, command, limits); Lambda encrypts it at
  # rest with the AWS managed key unless a customer managed key is given.
  kms_key_arn = var.kms_key_arn

  environment {
    variables = merge(local.settings, lookup(local.function_settings, each.key, {}), { ECS_MIGRATE_STEP = each.key })
  }

  # JSON logs: Lambda sets AWS_LAMBDA_LOG_FORMAT=JSON and AWS_LAMBDA_LOG_LEVEL, which the Rust
  # runtime's tracing subscriber honours.
  logging_config {
    log_format            = "JSON"
    application_log_level = var.lambda_log_level
    system_log_level      = "INFO"
    log_group             = aws_cloudwatch_log_group.lambda[each.key].name
  }

  tracing_config {
    mode = var.tracing_enabled ? "Active" : "PassThrough"
  }

  tags = var.tags

  # The role must be able to write its logs (and traces) from the first invocation.
  depends_on = [
    aws_iam_role_policy.lambda,
    aws_iam_role_policy.lambda_tracing,
  ]
}

# stop-task is also invoked by the cleanup rule (events.tf), asynchronously: Lambda retries a
# failed cleanup twice (stop-task is idempotent) within an hour of the event, then sends the
# invocation record to the on-failure queue (events.tf), whose alarm says a cleanup failed; the
# reconciler (reconcile.tf) cleans up after it.
resource "aws_lambda_function_event_invoke_config" "stop_task" {
  function_name                = aws_lambda_function.this["stop-task"].function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 3600

  destination_config {
    on_failure {
      destination = aws_sqs_queue.cleanup_failures.arn
    }
  }

  depends_on = [aws_iam_role_policy.stop_task_on_failure]
}

resource "aws_lambda_permission" "abort_rule" {
  statement_id   = "AllowAbortRule"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.this["stop-task"].function_name
  principal      = "events.amazonaws.com"
  source_arn     = aws_cloudwatch_event_rule.abort.arn
  source_account = local.account_id
}
