# Plan-time tests of the module's logic with a mocked AWS provider: the Settings environment,
# timeouts, placement, and every validation and precondition. No credentials, no AWS calls.
#
#   terraform init -backend=false && terraform test -var lambda_zip=ZIP
#
# ZIP must exist (any content: tests/static/check-terraform.sh makes a dummy one in a scratch
# copy). Running these tests needs terraform >= 1.11 (`override_during`); the module itself
# needs only versions.tf's.

mock_provider "aws" {
  # Policy documents are data sources too: mocked, they render a placeholder (the policies
  # themselves are checked by tests/static/iam_actions.py and checkov).
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }
}

variables {
  name                             = "mig"
  cluster_arn                      = "arn:aws:ecs:eu-west-1:123456789012:cluster/prod"
  container_name                   = "app"
  subnet_ids                       = ["subnet-0abc", "subnet-0def"]
  security_group_ids               = ["sg-0abc"]
  allowed_task_definition_families = ["app", "worker"]
  task_role_arn                    = "arn:aws:iam::123456789012:role/app-task"
  task_execution_role_arn          = "arn:aws:iam::123456789012:role/app-exec"
  app_log_group_names              = ["/ecs/app"]
}

run "defaults" {
  command = plan

  # The cleanup rule's pattern names the state machine, whose ARN is known only after apply.
  override_resource {
    target          = aws_sfn_state_machine.this
    override_during = plan
    values = {
      arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:mig"
    }
  }

  assert {
    condition = output.lambda_environment == {
      CLUSTER               = "arn:aws:ecs:eu-west-1:123456789012:cluster/prod"
      CONTAINER_NAME        = "app"
      SUBNETS               = "[\"subnet-0abc\",\"subnet-0def\"]"
      SECURITY_GROUPS       = "[\"sg-0abc\"]"
      ASSIGN_PUBLIC_IP      = "DISABLED"
      LAUNCH_TYPE           = "FARGATE"
      MIGRATION_COMMAND     = "[\"alembic\",\"upgrade\",\"head\"]"
      ALLOWED_FAMILIES      = "[\"app\",\"worker\"]"
      MAX_DURATION_SECONDS  = "3600"
      START_TIMEOUT_SECONDS = "600"
      POLL_INTERVAL_SECONDS = "5"
      POLL_MAX_WAIT_SECONDS = "600"
      LOG_TAIL_LINES        = "50"
      ACCOUNT_ID            = "123456789012"
      STATE_MACHINE_ARN     = "arn:aws:states:eu-west-1:123456789012:stateMachine:mig"
      LOCK_TABLE            = "mig-lock"
      LOCK_WAIT_SECONDS     = "1800"
      LOCK_LEASE_SECONDS    = "1800"
    }
    error_message = "unexpected Settings environment: ${jsonencode(output.lambda_environment)}"
  }

  assert {
    condition     = alltrue([for k in ["poll-status", "acquire-lock", "release-lock"] : aws_lambda_function.this[k].timeout == 660])
    error_message = "poll-status's, acquire-lock's and release-lock's timeout must be poll_max_wait_seconds + 60 (each waits inside one invocation)"
  }

  assert {
    condition = (
      aws_dynamodb_table.lock.name == "mig-lock" &&
      aws_dynamodb_table.lock.billing_mode == "PAY_PER_REQUEST" &&
      aws_dynamodb_table.lock.hash_key == "scope" &&
      aws_dynamodb_table.lock.range_key == null &&
      one(aws_dynamodb_table.lock.attribute).name == "scope" &&
      one(aws_dynamodb_table.lock.attribute).type == "S" &&
      aws_dynamodb_table.lock.point_in_time_recovery[0].enabled &&
      !aws_dynamodb_table.lock.deletion_protection_enabled &&
      length(aws_dynamodb_table.lock.ttl) == 0 &&
      aws_dynamodb_table.lock.server_side_encryption[0].enabled
    )
    error_message = "the lock table: on demand, key scope (S), point-in-time recovery, no deletion protection unless asked, no TTL (an expired lease is taken over, never deleted), KMS encryption (the AWS managed key without kms_key_arn: the key ARN is known only after apply)"
  }

  assert {
    condition     = alltrue([for k, f in aws_lambda_function.this : f.runtime == "provided.al2023" && f.architectures == tolist(["arm64"]) && f.handler == k])
    error_message = "every function: provided.al2023, arm64, the handler naming its step"
  }

  assert {
    condition     = alltrue([for k, f in aws_lambda_function.this : jsonencode(f.environment[0].variables) == jsonencode(merge(output.lambda_environment, k == "reconcile" ? { RECONCILE_MAX_CALLS = "500" } : {}, { ECS_MIGRATE_STEP = k }))])
    error_message = "every function gets the same Settings environment and its own ECS_MIGRATE_STEP; the reconciler also its call budget"
  }

  assert {
    condition     = alltrue([for k, f in aws_lambda_function.this : f.logging_config[0].log_format == "JSON" && f.logging_config[0].log_group == "/aws/lambda/mig-${k}"])
    error_message = "every function logs JSON to its own log group"
  }

  assert {
    condition     = alltrue([for k, f in aws_lambda_function.this : f.tracing_config[0].mode == "Active" && (contains(["poll-status", "acquire-lock", "release-lock"], k) || f.timeout == (k == "reconcile" ? 180 : 60))])
    error_message = "every function is traced; all but those that wait (poll-status, acquire-lock, release-lock) time out after lambda_timeout (60 s), the reconciler after reconcile_timeout_seconds (180 s)"
  }

  assert {
    condition     = length(aws_lambda_function.this) == 10 && length(aws_iam_role.lambda) == 10 && length(aws_iam_role_policy.lambda) == 10
    error_message = "ten functions, each with its own role and policy"
  }

  assert {
    condition     = alltrue([for k, g in aws_cloudwatch_log_group.lambda : g.name == "/aws/lambda/mig-${k}" && g.retention_in_days == 365])
    error_message = "each function's log group is created with the retention"
  }

  assert {
    condition = (
      aws_sfn_state_machine.this.type == "STANDARD" &&
      aws_sfn_state_machine.this.logging_configuration[0].level == "ALL" &&
      aws_sfn_state_machine.this.logging_configuration[0].include_execution_data &&
      aws_sfn_state_machine.this.tracing_configuration[0].enabled &&
      aws_cloudwatch_log_group.state_machine.name == "/aws/vendedlogs/states/mig"
    )
    error_message = "a STANDARD state machine logging ALL with execution data to /aws/vendedlogs/states/mig, traced"
  }

  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.this.event_pattern) == {
      account       = ["123456789012"]
      source        = ["ecs.migration"]
      "detail-type" = ["AWS ECS Migration Task"]
    } && aws_cloudwatch_event_rule.this.event_bus_name == "default"
    error_message = "the start rule's pattern is the earlier Lambda's, limited to events this account put"
  }

  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.abort.event_pattern) == {
      source        = ["aws.states"]
      "detail-type" = ["Step Functions Execution Status Change"]
      detail = {
        status          = ["FAILED", "ABORTED", "TIMED_OUT"]
        stateMachineArn = ["arn:aws:states:eu-west-1:123456789012:stateMachine:mig"]
      }
    }
    error_message = "the cleanup rule runs stop-task after a failed, aborted or timed out execution of this state machine"
  }

  assert {
    condition = (
      aws_cloudwatch_event_target.this.retry_policy[0].maximum_event_age_in_seconds == 3600 &&
      aws_cloudwatch_event_target.abort.retry_policy[0].maximum_event_age_in_seconds == 86400 &&
      alltrue([for t in [aws_cloudwatch_event_target.this, aws_cloudwatch_event_target.abort] : t.retry_policy[0].maximum_retry_attempts == 185])
    )
    error_message = "start target: retried for an hour; cleanup target: for EventBridge's 24 h"
  }

  assert {
    condition = (
      aws_sqs_queue.events_dlq.name == "mig-events-dlq" &&
      aws_sqs_queue.events_dlq.message_retention_seconds == 1209600 &&
      aws_sqs_queue.events_dlq.sqs_managed_sse_enabled &&
      aws_sqs_queue.events_dlq.kms_master_key_id == null &&
      aws_sqs_queue.events_dlq.fifo_queue != true
    )
    error_message = "the dead-letter queue: standard, SQS-managed encryption without a KMS key, 14 days' retention"
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.events_dlq.metric_name == "ApproximateNumberOfMessagesVisible" &&
      aws_cloudwatch_metric_alarm.events_dlq.dimensions["QueueName"] == "mig-events-dlq" &&
      aws_cloudwatch_metric_alarm.events_dlq.comparison_operator == "GreaterThanThreshold" &&
      aws_cloudwatch_metric_alarm.events_dlq.threshold == 0 &&
      length(aws_cloudwatch_metric_alarm.events_dlq.alarm_actions) == 0
    )
    error_message = "an alarm as soon as the dead-letter queue holds a message (no topic by default)"
  }

  assert {
    condition     = length(aws_sns_topic.alarms) == 0 && length(aws_kms_key.alarm_topic) == 0 && length(terraform_data.initial_migration) == 0
    error_message = "no topic, no key, no initial migration by default"
  }

  assert {
    condition     = length(aws_iam_role_policy.lambda_tracing) == 10
    error_message = "with tracing, every function's role may write traces"
  }

  # The reconciler (reconcile.tf): every 5 minutes; the cleanup's failures go to an encrypted
  # queue.
  assert {
    condition     = aws_cloudwatch_event_rule.reconcile.schedule_expression == "rate(5 minutes)"
    error_message = "the reconciler runs every reconcile_schedule_minutes (5) by default"
  }

  assert {
    condition = (
      aws_sqs_queue.cleanup_failures.sqs_managed_sse_enabled &&
      aws_lambda_function_event_invoke_config.stop_task.maximum_retry_attempts == 2 &&
      aws_cloudwatch_metric_alarm.reconcile_fixes.metric_name == "ReconcilerFixes" &&
      aws_cloudwatch_metric_alarm.reconcile_fixes.namespace == "ecs-migrate"
    )
    error_message = "the cleanup's failures go to an SSE queue; the reconciler's fixes raise an alarm"
  }
}

run "capacity_provider_strategy" {
  command = plan

  variables {
    launch_type                = null
    platform_version           = "1.4.0"
    assign_public_ip           = true
    migration_command          = ["python", "manage.py", "migrate"]
    capacity_provider_strategy = [{ capacity_provider = "FARGATE", base = 1 }, { capacity_provider = "FARGATE_SPOT", weight = 3 }]
    poll_max_wait_seconds      = 840
    tracing_enabled            = false
  }

  assert {
    condition     = !contains(keys(output.lambda_environment), "LAUNCH_TYPE")
    error_message = "LAUNCH_TYPE must not be set with a capacity provider strategy"
  }

  assert {
    condition = jsondecode(output.lambda_environment["CAPACITY_PROVIDER_STRATEGY"]) == [
      { capacityProvider = "FARGATE", weight = 1, base = 1 },
      { capacityProvider = "FARGATE_SPOT", weight = 3, base = 0 },
    ]
    error_message = "CAPACITY_PROVIDER_STRATEGY: ${output.lambda_environment["CAPACITY_PROVIDER_STRATEGY"]}"
  }

  assert {
    condition = (
      output.lambda_environment["PLATFORM_VERSION"] == "1.4.0" &&
      output.lambda_environment["ASSIGN_PUBLIC_IP"] == "ENABLED" &&
      output.lambda_environment["MIGRATION_COMMAND"] == "[\"python\",\"manage.py\",\"migrate\"]"
    )
    error_message = "PLATFORM_VERSION, ASSIGN_PUBLIC_IP, MIGRATION_COMMAND"
  }

  assert {
    condition     = aws_lambda_function.this["poll-status"].timeout == 900
    error_message = "poll_max_wait_seconds = 840 gives Lambda's maximum timeout"
  }

  assert {
    condition     = length(aws_iam_role_policy.lambda_tracing) == 0 && aws_lambda_function.this["run-task"].tracing_config[0].mode == "PassThrough"
    error_message = "without tracing, no X-Ray policy and PassThrough"
  }
}

run "cluster_default_placement" {
  command = plan

  variables {
    launch_type = null
  }

  assert {
    condition     = !contains(keys(output.lambda_environment), "LAUNCH_TYPE") && !contains(keys(output.lambda_environment), "CAPACITY_PROVIDER_STRATEGY")
    error_message = "neither launch type nor strategy: the cluster's default capacity provider strategy"
  }
}

run "alarm_topic_with_its_own_key" {
  command = plan

  variables {
    create_alarm_topic = true
  }

  assert {
    condition     = length(aws_sns_topic.alarms) == 1 && length(aws_kms_key.alarm_topic) == 1 && aws_kms_key.alarm_topic[0].enable_key_rotation
    error_message = "a created topic gets a rotated key of its own"
  }
}

run "alarm_topic_with_given_key" {
  command = plan

  variables {
    create_alarm_topic = true
    kms_key_arn        = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition = (
      length(aws_kms_key.alarm_topic) == 0 &&
      aws_sns_topic.alarms[0].kms_master_key_id == var.kms_key_arn &&
      aws_lambda_function.this["run-task"].kms_key_arn == var.kms_key_arn &&
      aws_cloudwatch_log_group.state_machine.kms_key_id == var.kms_key_arn &&
      aws_sqs_queue.events_dlq.kms_master_key_id == var.kms_key_arn
    )
    error_message = "kms_key_arn encrypts the topic, the environment, the log groups and the dead-letter queue"
  }
}

run "given_alarm_topic" {
  command = plan

  variables {
    alarm_sns_topic_arn = "arn:aws:sns:eu-west-1:123456789012:ops"
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:ops"]) &&
      aws_cloudwatch_metric_alarm.events_dlq.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:ops"]) &&
      length(aws_sns_topic.alarms) == 0
    )
    error_message = "the alarms notify the given topic"
  }
}

run "initial_migration" {
  command = plan

  variables {
    run_initial_migration   = true
    initial_task_definition = "app:7"
  }

  assert {
    condition     = length(terraform_data.initial_migration) == 1 && terraform_data.initial_migration[0].triggers_replace == ["app:7"]
    error_message = "the initial migration runs again when the task definition changes"
  }
}

# The history budget (src/statemachine/budget.rs): for two poll_max_wait_seconds values, the largest
# max_duration_seconds validate-event accepts is planned and one second more is refused.
# tests/static/check-consistency.py checks that these figures are budget.rs's
# longest_tracked_seconds (runs named max_duration_longest_tracked_* and
# max_duration_over_longest_tracked_*).

run "max_duration_longest_tracked_poll_600" {
  command = plan
  variables {
    poll_max_wait_seconds = 600
    max_duration_seconds  = 2041200
  }
  assert {
    condition     = output.lambda_environment["MAX_DURATION_SECONDS"] == "2041200"
    error_message = "the longest tracked duration is accepted as is"
  }
}

run "max_duration_over_longest_tracked_poll_600" {
  command = plan
  variables {
    poll_max_wait_seconds = 600
    max_duration_seconds  = 2041201
  }
  expect_failures = [aws_sfn_state_machine.this]
}

run "max_duration_longest_tracked_poll_60" {
  command = plan
  variables {
    poll_max_wait_seconds = 60
    max_duration_seconds  = 202500
  }
  assert {
    condition     = output.lambda_environment["MAX_DURATION_SECONDS"] == "202500"
    error_message = "the longest tracked duration is accepted as is"
  }
}

run "max_duration_over_longest_tracked_poll_60" {
  command = plan
  variables {
    poll_max_wait_seconds = 60
    max_duration_seconds  = 202501
  }
  expect_failures = [aws_sfn_state_machine.this]
}

# Without a lock wait, only the round that sees the wait run out (0 s: at once) is counted.
run "max_duration_longest_tracked_poll_600_lock_wait_0" {
  command = plan
  variables {
    poll_max_wait_seconds = 600
    lock_wait_seconds     = 0
    max_duration_seconds  = 2043000
  }
  assert {
    condition     = output.lambda_environment["LOCK_WAIT_SECONDS"] == "0"
    error_message = "the longest tracked duration with no lock wait is accepted"
  }
}

run "max_duration_over_longest_tracked_poll_600_lock_wait_0" {
  command = plan
  variables {
    poll_max_wait_seconds = 600
    lock_wait_seconds     = 0
    max_duration_seconds  = 2043001
  }
  expect_failures = [aws_sfn_state_machine.this]
}

# The migration lock's settings and table.

run "lock_scope_and_given_key" {
  command = plan
  variables {
    lock_scope                     = "orders-db"
    lock_wait_seconds              = 0
    lock_lease_seconds             = 2000
    kms_key_arn                    = "arn:aws:kms:eu-west-1:123456789012:key/0123abcd-0000-0000-0000-000000000000"
    lock_table_deletion_protection = true
  }
  assert {
    condition = (
      output.lambda_environment["LOCK_SCOPE"] == "orders-db" &&
      output.lambda_environment["LOCK_WAIT_SECONDS"] == "0" &&
      output.lambda_environment["LOCK_LEASE_SECONDS"] == "2000"
    )
    error_message = "LOCK_SCOPE, LOCK_WAIT_SECONDS and LOCK_LEASE_SECONDS come from the variables"
  }
  assert {
    condition = (
      aws_dynamodb_table.lock.server_side_encryption[0].enabled &&
      aws_dynamodb_table.lock.server_side_encryption[0].kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/0123abcd-0000-0000-0000-000000000000" &&
      aws_dynamodb_table.lock.deletion_protection_enabled
    )
    error_message = "the lock table is encrypted with kms_key_arn when given; deletion protection can be turned on"
  }
}

# Validations and preconditions: each must refuse the plan.

run "lock_scope_blank" {
  command = plan
  variables {
    lock_scope = "  "
  }
  expect_failures = [var.lock_scope]
}

run "lock_wait_over_a_day" {
  command = plan
  variables {
    lock_wait_seconds = 86401
  }
  expect_failures = [var.lock_wait_seconds]
}

run "lock_lease_under_300" {
  command = plan
  variables {
    lock_lease_seconds = 299
  }
  expect_failures = [var.lock_lease_seconds]
}

run "lock_lease_shorter_than_poll_status_retries" {
  command = plan
  variables {
    lock_lease_seconds = 1552
  }
  expect_failures = [aws_dynamodb_table.lock]
}

run "lock_lease_with_a_short_poll_round" {
  command = plan
  variables {
    lock_lease_seconds    = 1200
    poll_max_wait_seconds = 120
  }
}

run "lock_lease_under_two_poll_intervals" {
  command = plan
  variables {
    poll_interval_seconds = 200
    lock_lease_seconds    = 399
  }
  expect_failures = [aws_dynamodb_table.lock]
}

run "launch_type_and_strategy_are_exclusive" {
  command = plan
  variables {
    capacity_provider_strategy = [{ capacity_provider = "FARGATE_SPOT" }]
  }
  expect_failures = [aws_sfn_state_machine.this]
}

run "poll_max_wait_over_840" {
  command = plan
  variables {
    poll_max_wait_seconds = 841
  }
  expect_failures = [var.poll_max_wait_seconds]
}

run "poll_max_wait_zero" {
  command = plan
  variables {
    poll_max_wait_seconds = 0
  }
  expect_failures = [var.poll_max_wait_seconds]
}

run "poll_max_wait_under_poll_interval" {
  command = plan
  variables {
    poll_interval_seconds = 30
    poll_max_wait_seconds = 10
  }
  expect_failures = [aws_sfn_state_machine.this]
}

run "initial_migration_timeout_not_whole" {
  command = plan
  variables {
    initial_migration_timeout_seconds = 1.5
  }
  expect_failures = [var.initial_migration_timeout_seconds]
}

run "no_family" {
  command = plan
  variables {
    allowed_task_definition_families = []
  }
  expect_failures = [var.allowed_task_definition_families]
}

run "family_with_revision" {
  command = plan
  variables {
    allowed_task_definition_families = ["app:3"]
  }
  expect_failures = [var.allowed_task_definition_families]
}

run "retention_not_allowed_by_cloudwatch" {
  command = plan
  variables {
    log_retention_in_days = 42
  }
  expect_failures = [var.log_retention_in_days]
}

run "bad_launch_type" {
  command = plan
  variables {
    launch_type = "SPOT"
  }
  expect_failures = [var.launch_type]
}

run "cluster_name_not_arn" {
  command = plan
  variables {
    cluster_arn = "prod"
  }
  expect_failures = [var.cluster_arn]
}

run "state_machine_log_level" {
  command = plan
  variables {
    state_machine_log_level = "FATAL"
  }
  expect_failures = [var.state_machine_log_level]
}

run "no_app_log_group" {
  command = plan
  variables {
    app_log_group_names = []
  }
  expect_failures = [aws_sfn_state_machine.this]
}

run "cluster_in_another_account" {
  command = plan
  variables {
    cluster_arn = "arn:aws:ecs:eu-west-1:999999999999:cluster/prod"
  }
  expect_failures = [aws_sfn_state_machine.this]
}

run "start_timeout_over_max_duration" {
  command = plan
  variables {
    max_duration_seconds  = 300
    start_timeout_seconds = 600
  }
  expect_failures = [aws_sfn_state_machine.this]
}

run "initial_migration_without_task_definition" {
  command = plan
  variables {
    run_initial_migration = true
  }
  expect_failures = [aws_sfn_state_machine.this]
}

run "alarm_topic_created_and_given" {
  command = plan
  variables {
    create_alarm_topic  = true
    alarm_sns_topic_arn = "arn:aws:sns:eu-west-1:123456789012:ops"
  }
  expect_failures = [aws_sfn_state_machine.this]
}

# Migrations inside the service's deployment (hooks.tf).

run "deployment_hook_rule_is_off_by_default" {
  command = plan
  assert {
    condition     = length(aws_cloudwatch_event_rule.deployment_hook) == 0 && length(aws_iam_role.deployment_hook_events) == 0 && !contains(keys(output.lambda_environment), "DEPLOYMENT_SERVICES")
    error_message = "no hook rule, role or DEPLOYMENT_SERVICES unless asked for"
  }
}

run "deployment_hook_rule_matches_the_cluster_not_the_services" {
  command = plan
  variables {
    deployment_services          = ["app"]
    deployment_hook_rule_enabled = true
  }
  override_resource {
    target          = aws_sfn_state_machine.this
    override_during = plan
    values = {
      arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:mig"
    }
  }
  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.deployment_hook[0].event_pattern) == {
      account       = ["123456789012"]
      source        = ["aws.ecs"]
      "detail-type" = ["ECS Hook State Change"]
      detail = {
        eventName      = ["HOOK_AWAITING_ACTION"]
        hookType       = ["PAUSE"]
        clusterArn     = ["arn:aws:ecs:eu-west-1:123456789012:cluster/prod"]
        lifecycleStage = ["PRE_SCALE_UP"]
      }
    }
    error_message = "unexpected hook rule pattern: ${aws_cloudwatch_event_rule.deployment_hook[0].event_pattern}"
  }
  assert {
    condition     = output.lambda_environment["DEPLOYMENT_SERVICES"] == "[\"app\"]"
    error_message = "the functions learn the allowed services"
  }
}

run "deployment_hook_timeout_must_exceed_max_duration" {
  command = plan
  variables {
    deployment_services             = ["app"]
    deployment_hook_rule_enabled    = true
    deployment_hook_timeout_minutes = 60
    max_duration_seconds            = 3600
  }
  expect_failures = [aws_cloudwatch_event_rule.deployment_hook]
}

# Longer than max_duration_seconds alone, but not than the lock wait, the capacity waits and
# validation before it: 60 + 1800 + 390 + 1800 = 4050 s.
run "deployment_hook_timeout_counts_the_lock_wait_and_capacity_waits" {
  command = plan
  variables {
    deployment_services             = ["app"]
    deployment_hook_rule_enabled    = true
    deployment_hook_timeout_minutes = 60
    max_duration_seconds            = 1800
  }
  expect_failures = [aws_cloudwatch_event_rule.deployment_hook]
}

run "deployment_hook_timeout_above_all_the_waits" {
  command = plan
  variables {
    deployment_services             = ["app"]
    deployment_hook_rule_enabled    = true
    deployment_hook_timeout_minutes = 68
    max_duration_seconds            = 1800
  }
}

run "deployment_services_are_names" {
  command = plan
  variables {
    deployment_services = ["arn:aws:ecs:eu-west-1:123456789012:service/prod/app"]
  }
  expect_failures = [var.deployment_services]
}

run "log_tail_redact_reaches_the_functions" {
  command = plan
  variables {
    log_tail_redact = "(?i)password=\\S+"
  }
  assert {
    condition     = output.lambda_environment["LOG_TAIL_REDACT"] == "(?i)password=\\S+"
    error_message = "log_tail_redact must reach the functions as LOG_TAIL_REDACT"
  }
}

run "log_tail_redact_must_be_a_regular_expression" {
  command = plan
  variables {
    log_tail_redact = "(unclosed"
  }
  expect_failures = [var.log_tail_redact]
}
