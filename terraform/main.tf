data "aws_caller_identity" "current" {}

locals {
  # arn:<partition>:ecs:<region>:<account>:cluster/<name>. Every ARN the policies build comes
  # from the cluster's own partition and region, so the module needs no aws_region lookup.
  cluster_arn_parts = split(":", var.cluster_arn)
  partition         = local.cluster_arn_parts[1]
  region            = local.cluster_arn_parts[3]
  cluster_account   = local.cluster_arn_parts[4]
  cluster_name      = split("/", local.cluster_arn_parts[5])[1]
  account_id        = data.aws_caller_identity.current.account_id

  # The functions, keyed by the step each serves (the handler the one bootstrap reads).
  functions = {
    "validate-event" = {
      description = "ecs-migrate: validates the migration request and resolves the task definition"
      timeout     = var.lambda_timeout
    }
    "run-task" = {
      description = "ecs-migrate: starts the one-off migration task (ecs:RunTask)"
      timeout     = var.lambda_timeout
    }
    "poll-status" = {
      description = "ecs-migrate: long-polls the migration task's status (ecs:DescribeTasks)"
      # It waits for a change inside one invocation for up to POLL_MAX_WAIT_SECONDS.
      timeout = var.poll_max_wait_seconds + 60
    }
    # The migration lock (lock.tf): both wait inside one invocation, as poll-status does.
    "acquire-lock" = {
      description = "ecs-migrate: takes the migration lock of the scope, waiting for its holder (DynamoDB)"
      timeout     = var.poll_max_wait_seconds + 60
    }
    "release-lock" = {
      description = "ecs-migrate: releases the migration lock once the execution's task has stopped"
      timeout     = var.poll_max_wait_seconds + 60
    }
    "check-exit-code" = {
      description = "ecs-migrate: checks the migration container's exit code and tails its log"
      timeout     = var.lambda_timeout
    }
    "stop-task" = {
      description = "ecs-migrate: stops the migration task of a failed, timed out or aborted execution"
      timeout     = var.lambda_timeout
    }
    "report-deployment" = {
      description = "ecs-migrate: answers the deployment's pause hook (ecs:ContinueServiceDeployment)"
      timeout     = var.lambda_timeout
    }
    # Not a state of the machine: the scheduled rule invokes it (reconcile.tf).
    "reconcile" = {
      description = "ecs-migrate: stops tasks and releases locks that ended executions left behind"
      timeout     = var.reconcile_timeout_seconds
    }
    # Not a state of the machine: ECS invokes it as a Lambda lifecycle hook (hooks.tf).
    "deployment-hook" = {
      description = "ecs-migrate: Lambda lifecycle hook that runs the migration inside the deployment"
      timeout     = var.lambda_timeout
    }
  }

  # Placement: a launch type, or a capacity provider strategy, or (neither) the cluster default.
  launch_type = var.launch_type == null ? "" : var.launch_type
  capacity_provider_strategy = length(var.capacity_provider_strategy) == 0 ? "" : jsonencode([
    for s in var.capacity_provider_strategy : {
      capacityProvider = s.capacity_provider
      weight           = s.weight
      base             = s.base
    }
  ])

  # The Settings the Rust code reads from the environment, set on every function. Variables
  # whose value would be empty (PLATFORM_VERSION, and LAUNCH_TYPE or
  # CAPACITY_PROVIDER_STRATEGY) are left out: the code treats a missing variable as empty.
  settings = { for k, v in {
    CLUSTER                    = var.cluster_arn
    CONTAINER_NAME             = var.container_name
    SUBNETS                    = jsonencode(var.subnet_ids)
    SECURITY_GROUPS            = jsonencode(var.security_group_ids)
    ASSIGN_PUBLIC_IP           = var.assign_public_ip ? "ENABLED" : "DISABLED"
    LAUNCH_TYPE                = local.launch_type
    CAPACITY_PROVIDER_STRATEGY = local.capacity_provider_strategy
    PLATFORM_VERSION           = var.platform_version == null ? "" : var.platform_version
    MIGRATION_COMMAND          = jsonencode(var.migration_command)
    ALLOWED_FAMILIES           = jsonencode(var.allowed_task_definition_families)
    DEPLOYMENT_SERVICES        = length(var.deployment_services) == 0 ? "" : jsonencode(var.deployment_services)
    DEPLOYMENT_HOOK_STAGES     = length(var.deployment_services) == 0 ? "" : jsonencode(var.deployment_hook_stages)
    MAX_DURATION_SECONDS       = tostring(var.max_duration_seconds)
    START_TIMEOUT_SECONDS      = tostring(var.start_timeout_seconds)
    POLL_INTERVAL_SECONDS      = tostring(var.poll_interval_seconds)
    POLL_MAX_WAIT_SECONDS      = tostring(var.poll_max_wait_seconds)
    LOG_TAIL_LINES             = tostring(var.log_tail_lines)
    LOG_TAIL_REDACT            = var.log_tail_redact == null ? "" : var.log_tail_redact
    ACCOUNT_ID                 = local.account_id
    # deployment-hook starts executions of it, and every function that acts confirms its
    # execution is one of it (built, so no function depends on the machine).
    STATE_MACHINE_ARN  = local.state_machine_arn
    LOCK_TABLE         = aws_dynamodb_table.lock.name
    LOCK_SCOPE         = var.lock_scope == null ? "" : var.lock_scope
    LOCK_WAIT_SECONDS  = tostring(var.lock_wait_seconds)
    LOCK_LEASE_SECONDS = tostring(var.lock_lease_seconds)
  } : k => v if v != "" }

  state_machine_definition_file = coalesce(var.state_machine_definition_file, "${path.module}/../statemachine/migration.asl.json")

  # Checks of one variable against another, run at plan time (see aws_sfn_state_machine.this).
  app_log_group_count = length(var.app_log_group_names) + length(var.app_log_group_arns)

  # The history budget validate-event enforces on every execution (src/statemachine/budget.rs, whose
  # constants tests/static/check-consistency.py compares with these): a max_duration_seconds
  # whose longest execution would record more history events than Step Functions' 25,000 less
  # the headroom is refused here, at plan time, instead of failing every migration.
  history_event_limit           = 25000
  history_headroom              = 1000
  history_events_per_poll_round = 7
  history_events_outside_loop   = 150
  # One poll round covers one poll-status invocation's longest wait.
  poll_round_seconds = max(var.poll_max_wait_seconds, 1)
  # Rounds of waiting for the lock (AcquireLock and its Choice record as many events as a poll
  # round): the wait's length in rounds, plus the round that sees it run out.
  lock_wait_rounds = ceil(var.lock_wait_seconds / local.poll_round_seconds) + 1
  # Rounds until the deadline, plus the round that sees it pass, after the lock wait's rounds.
  history_events_needed = local.history_events_outside_loop + (local.lock_wait_rounds + ceil(var.max_duration_seconds / local.poll_round_seconds) + 1) * local.history_events_per_poll_round
  # budget.rs's longest_tracked_seconds: the largest max_duration_seconds that fits (0 when the
  # lock wait alone fills the history).
  longest_tracked_seconds = max(0, floor(max(0, local.history_event_limit - local.history_headroom - local.history_events_outside_loop - local.lock_wait_rounds * local.history_events_per_poll_round) / local.history_events_per_poll_round) - 1) * local.poll_round_seconds
}
