################################################################################
# Naming
################################################################################

variable "name" {
  description = "Name of the state machine and prefix of every other resource (functions are named `<name>-validate-event`, ...). Letters, digits, `-` and `_` (Step Functions logging accepts no other characters), at most 40 so every derived name fits its limit."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,40}$", var.name))
    error_message = "name must be 1-40 characters of A-Z, a-z, 0-9, '-' and '_'."
  }
}

variable "tags" {
  description = "Tags added to every resource that takes tags."
  type        = map(string)
  default     = {}
}

################################################################################
# Where the migration task runs (Settings: CLUSTER, CONTAINER_NAME, network, placement)
################################################################################

variable "cluster_arn" {
  description = "ARN of the ECS cluster the migration task runs in (Settings `CLUSTER`). It must be in the same account and region as this module's functions; IAM policies are scoped to it."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:cluster/[A-Za-z0-9_-]{1,255}$", var.cluster_arn))
    error_message = "cluster_arn must be a full ECS cluster ARN: arn:<partition>:ecs:<region>:<account>:cluster/<name>."
  }
}

variable "container_name" {
  description = "Name of the container, in the app's task definition, whose command is overridden with `migration_command` and whose exit code decides the outcome (Settings `CONTAINER_NAME`)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,255}$", var.container_name))
    error_message = "container_name must be 1-255 characters of A-Z, a-z, 0-9, '-' and '_' (ECS container name rules)."
  }
}

variable "subnet_ids" {
  description = "Subnets for the task's awsvpc network configuration (Settings `SUBNETS`, a JSON list)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) > 0 && length(var.subnet_ids) <= 16 && alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]+$", s))])
    error_message = "subnet_ids must hold 1-16 subnet IDs (subnet-...)."
  }
}

variable "security_group_ids" {
  description = "Security groups for the task's awsvpc network configuration (Settings `SECURITY_GROUPS`, a JSON list). Empty: the VPC's default security group."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.security_group_ids) <= 5 && alltrue([for s in var.security_group_ids : can(regex("^sg-[0-9a-f]+$", s))])
    error_message = "security_group_ids must hold at most 5 security group IDs (sg-...)."
  }
}

variable "assign_public_ip" {
  description = "Whether the task gets a public IP (Settings `ASSIGN_PUBLIC_IP` = `ENABLED` / `DISABLED`). Needed on Fargate in public subnets without a NAT gateway, to pull the image."
  type        = bool
  default     = false
}

variable "launch_type" {
  description = "Launch type of the migration task (Settings `LAUNCH_TYPE`): `FARGATE`, `EC2`, `EXTERNAL` or `MANAGED_INSTANCES`. Set it to null to use `capacity_provider_strategy` instead; null with an empty strategy uses the cluster's default capacity provider strategy (neither variable is then set)."
  type        = string
  default     = "FARGATE"

  validation {
    condition     = var.launch_type == null || contains(["FARGATE", "EC2", "EXTERNAL", "MANAGED_INSTANCES"], coalesce(var.launch_type, "FARGATE"))
    error_message = "launch_type must be FARGATE, EC2, EXTERNAL, MANAGED_INSTANCES or null."
  }
}

variable "capacity_provider_strategy" {
  description = "Capacity provider strategy of the migration task (Settings `CAPACITY_PROVIDER_STRATEGY`, a JSON list of `{\"capacityProvider\",\"weight\",\"base\"}`). Exclusive with `launch_type`: set `launch_type = null` when you use it."
  type = list(object({
    capacity_provider = string
    weight            = optional(number, 1)
    base              = optional(number, 0)
  }))
  default = []

  validation {
    condition = length(var.capacity_provider_strategy) <= 20 && alltrue([
      for s in var.capacity_provider_strategy :
      length(s.capacity_provider) > 0 && s.weight >= 0 && s.weight <= 1000 && s.base >= 0 && s.base <= 100000
    ])
    error_message = "capacity_provider_strategy: at most 20 items, each with a capacity_provider name, weight 0-1000 and base 0-100000."
  }
}

variable "platform_version" {
  description = "Fargate platform version of the task (Settings `PLATFORM_VERSION`), e.g. `1.4.0`. Null: `LATEST` (the variable is then not set)."
  type        = string
  default     = null
}

################################################################################
# What runs, and what may run (Settings: MIGRATION_COMMAND, ALLOWED_FAMILIES)
################################################################################

variable "migration_command" {
  description = "Command the migration container runs instead of its own (Settings `MIGRATION_COMMAND`, a JSON list). It is never taken from the event."
  type        = list(string)
  default     = ["alembic", "upgrade", "head"]

  validation {
    condition     = length(var.migration_command) > 0 && length(var.migration_command[0]) > 0
    error_message = "migration_command must be a non-empty list whose first item (the program) is non-empty."
  }
}

variable "allowed_task_definition_families" {
  description = "Task definition families the state machine may run (Settings `ALLOWED_FAMILIES`, a JSON list). run-task's ecs:RunTask permission is limited to their revisions."
  type        = list(string)

  validation {
    condition     = length(var.allowed_task_definition_families) > 0 && alltrue([for f in var.allowed_task_definition_families : can(regex("^[A-Za-z0-9_-]{1,255}$", f))])
    error_message = "allowed_task_definition_families must hold at least one family name (1-255 characters of A-Z, a-z, 0-9, '-' and '_'; no revision, no ARN)."
  }
}

variable "task_role_arn" {
  description = "IAM role the app's task definitions use as task role, which run-task must be allowed to pass (iam:PassRole). Null if they have none."
  type        = string
  default     = null

  validation {
    condition     = var.task_role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", coalesce(var.task_role_arn, "-")))
    error_message = "task_role_arn must be an IAM role ARN or null."
  }
}

variable "task_execution_role_arn" {
  description = "IAM role the app's task definitions use as execution role (pulls the image, writes the awslogs stream), which run-task must be allowed to pass (iam:PassRole)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.task_execution_role_arn))
    error_message = "task_execution_role_arn must be an IAM role ARN."
  }
}

variable "app_log_group_names" {
  description = "CloudWatch log groups (awslogs-group), in this module's region, that the migration container logs to. check-exit-code reads the tail of the task's stream there (logs:GetLogEvents) for the failure Cause."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for g in var.app_log_group_names : can(regex("^[.\\-_/#A-Za-z0-9]{1,512}$", g))])
    error_message = "app_log_group_names must be CloudWatch log group names ([.-_/#A-Za-z0-9], at most 512 characters)."
  }
}

variable "app_log_group_arns" {
  description = "Log group ARNs (`arn:...:log-group:NAME`, without `:*`) for log groups `app_log_group_names` cannot express, such as one in another region (`awslogs-region`). At least one of `app_log_group_names` and `app_log_group_arns` must be given."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.app_log_group_arns : can(regex("^arn:aws[a-z-]*:logs:[a-z0-9-]+:[0-9]{12}:log-group:[.\\-_/#A-Za-z0-9]+$", a))])
    error_message = "app_log_group_arns must be log group ARNs of the form arn:<partition>:logs:<region>:<account>:log-group:<name> (no trailing :*)."
  }
}

################################################################################
# Time budget (Settings: *_SECONDS) and log tail
################################################################################

variable "max_duration_seconds" {
  description = "How long a migration may run, from validate-event to the task's stop, before it is stopped and the execution fails with Migration.Timeout (Settings `MAX_DURATION_SECONDS`). It must leave the execution's history under Step Functions' 25,000-event limit, as validate-event checks (src/statemachine/budget.rs): the longer `poll_max_wait_seconds`, the longer it may be (about 23 days with the default 600). A value over the limit fails the plan, which gives the largest allowed one."
  type        = number
  default     = 3600

  validation {
    condition     = var.max_duration_seconds >= 60 && var.max_duration_seconds <= 2592000 && floor(var.max_duration_seconds) == var.max_duration_seconds
    error_message = "max_duration_seconds must be a whole number from 60 to 2592000 (30 days)."
  }
}

variable "start_timeout_seconds" {
  description = "How long the task may take to reach RUNNING (image pull, capacity) before it counts as failed to start (Settings `START_TIMEOUT_SECONDS`). At most `max_duration_seconds`."
  type        = number
  default     = 600

  validation {
    condition     = var.start_timeout_seconds >= 30 && var.start_timeout_seconds <= 86400 && floor(var.start_timeout_seconds) == var.start_timeout_seconds
    error_message = "start_timeout_seconds must be a whole number from 30 to 86400."
  }
}

variable "poll_interval_seconds" {
  description = "Time between two ecs:DescribeTasks calls inside one poll-status invocation: a stopped task is noticed within it (Settings `POLL_INTERVAL_SECONDS`)."
  type        = number
  default     = 5

  validation {
    condition     = var.poll_interval_seconds >= 1 && var.poll_interval_seconds <= 300 && floor(var.poll_interval_seconds) == var.poll_interval_seconds
    error_message = "poll_interval_seconds must be a whole number from 1 to 300."
  }
}

variable "poll_max_wait_seconds" {
  description = "How long one poll-status invocation may long-poll ECS for a change before it returns (Settings `POLL_MAX_WAIT_SECONDS`). The poll-status function's timeout is this plus 60 s, so at most 840 (Lambda's limit is 900 s)."
  type        = number
  default     = 600

  validation {
    condition     = var.poll_max_wait_seconds >= 1 && var.poll_max_wait_seconds <= 840 && floor(var.poll_max_wait_seconds) == var.poll_max_wait_seconds
    error_message = "poll_max_wait_seconds must be a whole number from 1 to 840 (poll-status's timeout, this + 60, must stay within Lambda's 900 s)."
  }
}

variable "log_tail_lines" {
  description = "How many of the migration container's last log lines a failure's Cause includes (Settings `LOG_TAIL_LINES`). 0: none."
  type        = number
  default     = 50

  validation {
    condition     = var.log_tail_lines >= 0 && var.log_tail_lines <= 10000 && floor(var.log_tail_lines) == var.log_tail_lines
    error_message = "log_tail_lines must be a whole number from 0 to 10000."
  }
}

variable "log_tail_redact" {
  description = "A regular expression (Rust regex syntax) whose matches in the log lines a failure's Cause carries are replaced by [redacted] before they reach the execution history, the Lambda log and CI output (Settings `LOG_TAIL_REDACT`), e.g. `(?i)(password|token|secret)=\\S+`. null: nothing masked."
  type        = string
  default     = null

  validation {
    # Terraform's RE2 syntax is a subset of what the functions accept; a pattern RE2 refuses
    # is refused here rather than at the first failure.
    condition     = var.log_tail_redact == null || can(regexall(var.log_tail_redact, ""))
    error_message = "log_tail_redact must be a valid regular expression."
  }
}

################################################################################
# Migration lock (Settings: LOCK_*; the table is in lock.tf)
################################################################################

variable "lock_scope" {
  description = "What one migration at a time is counted over (Settings `LOCK_SCOPE`): executions of one scope run one after another, holding the scope's item in the `<name>-lock` DynamoDB table. Null: the task definition family. Give services that share one database the same scope (the same value in each deployment of this module that uses one table, or one deployment listing their families)."
  type        = string
  default     = null

  validation {
    condition     = var.lock_scope == null || try(trimspace(var.lock_scope) != "", false)
    error_message = "lock_scope must be null (the task definition family) or a non-blank name."
  }
}

variable "lock_wait_seconds" {
  description = "How long an execution waits for the lock while another migration of its scope holds it before it fails with Migration.Locked naming the holder (Settings `LOCK_WAIT_SECONDS`). 0: fail at once. The wait's rounds count against the history budget (see `max_duration_seconds`)."
  type        = number
  default     = 1800

  validation {
    condition     = var.lock_wait_seconds >= 0 && var.lock_wait_seconds <= 86400 && floor(var.lock_wait_seconds) == var.lock_wait_seconds
    error_message = "lock_wait_seconds must be a whole number from 0 to 86400."
  }
}

variable "lock_lease_seconds" {
  description = "How long the lock stays its holder's without a renewal (Settings `LOCK_LEASE_SECONDS`): run-task and every poll round renew it. After a holder whose functions all died lets it run out, the next execution stops the holder's task and takes the lock over. At least two `poll_interval_seconds`, and long enough to outlast PollStatus's retries through an outage (1,035 s of waits) after the rest of a poll round: lease - min(lease / 3, poll_max_wait_seconds) > 1035, so at least 1553 with the default poll_max_wait_seconds."
  type        = number
  default     = 1800

  validation {
    condition     = var.lock_lease_seconds >= 300 && var.lock_lease_seconds <= 86400 && floor(var.lock_lease_seconds) == var.lock_lease_seconds
    error_message = "lock_lease_seconds must be a whole number from 300 to 86400."
  }
}

variable "lock_table_deletion_protection" {
  description = "DynamoDB deletion protection on the `<name>-lock` table: while on, `terraform destroy` (or a replacement of the table) fails until it is turned off, so the lock of a running migration cannot go with the table. Off by default: the table holds only the locks of running migrations, and the module stays destroyable in one step."
  type        = bool
  default     = false
}

################################################################################
# Lambda functions
################################################################################

variable "lambda_zip" {
  description = "The pre-built `bootstrap` zip that serves all the functions (each is configured for its step by its handler): `target/lambda/bootstrap/bootstrap.zip` from `cargo lambda build --profile lambda-release --arm64 --output-format zip --bin bootstrap`, or a release's `ecs-migrate-lambda-<arch>.zip`."
  type        = string

  validation {
    condition     = endswith(var.lambda_zip, ".zip")
    error_message = "lambda_zip must be the path of the bootstrap .zip file."
  }
}

variable "lambda_architecture" {
  description = "The instruction set the bootstrap in lambda_zip was built for: arm64 (cargo lambda --arm64, the default) or x86_64."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.lambda_architecture)
    error_message = "lambda_architecture must be arm64 or x86_64."
  }
}

variable "lambda_memory_size" {
  description = "Memory (MB) of each function. The functions only call AWS APIs: 128 is plenty."
  type        = number
  default     = 128

  validation {
    condition     = var.lambda_memory_size >= 128 && var.lambda_memory_size <= 10240
    error_message = "lambda_memory_size must be from 128 to 10240."
  }
}

variable "lambda_timeout" {
  description = "Timeout (seconds) of every function except poll-status, whose timeout is `poll_max_wait_seconds + 60`."
  type        = number
  default     = 60

  validation {
    condition     = var.lambda_timeout >= 10 && var.lambda_timeout <= 900 && floor(var.lambda_timeout) == var.lambda_timeout
    error_message = "lambda_timeout must be a whole number from 10 to 900."
  }
}

variable "lambda_log_level" {
  description = "Application log level of the functions (logging_config `application_log_level`; Lambda passes it to the code as `AWS_LAMBDA_LOG_LEVEL`)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"], var.lambda_log_level)
    error_message = "lambda_log_level must be one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL."
  }
}

################################################################################
# Logging, encryption, tracing
################################################################################

variable "log_retention_in_days" {
  description = "Retention of the log groups this module creates (`/aws/lambda/<name>-*`, `/aws/vendedlogs/states/<name>`). 0 keeps logs forever."
  type        = number
  default     = 365

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be one of CloudWatch Logs' values: 0 (never expire), 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for the functions' environment variables, the log groups this module creates, the lock table, the alarm topic and the events dead-letter queue. Its key policy must allow `logs.<region>.amazonaws.com` (log groups), the account's principals through DynamoDB (`kms:ViaService` = `dynamodb.<region>.amazonaws.com`: the lock table), `cloudwatch.amazonaws.com` (alarm notifications) and `events.amazonaws.com` (kms:Decrypt and kms:GenerateDataKey, to write to the dead-letter queue). Null: AWS managed encryption (SQS-managed for the queue, the AWS managed key `aws/dynamodb` for the lock table; for a created alarm topic, a dedicated key)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", coalesce(var.kms_key_arn, "-")))
    error_message = "kms_key_arn must be a KMS key ARN (arn:...:kms:<region>:<account>:key/<id>) or null."
  }
}

variable "tracing_enabled" {
  description = "AWS X-Ray tracing of the state machine and the functions (Lambda `Active` tracing)."
  type        = bool
  default     = true
}

variable "state_machine_log_level" {
  description = "What the state machine logs to `/aws/vendedlogs/states/<name>`: `ALL` (every state transition) or `ERROR`."
  type        = string
  default     = "ALL"

  validation {
    condition     = contains(["ALL", "ERROR"], var.state_machine_log_level)
    error_message = "state_machine_log_level must be ALL or ERROR."
  }
}

variable "state_machine_include_execution_data" {
  description = "Whether the state machine's log records include execution input and output (the task definition ARN, task status, the failure's log tail)."
  type        = bool
  default     = true
}

variable "state_machine_definition_file" {
  description = "ASL definition rendered with templatefile(). Null: `statemachine/migration.asl.json` of this repository (next to `terraform/`)."
  type        = string
  default     = null
}

################################################################################
# EventBridge
################################################################################

variable "event_bus_name" {
  description = "Event bus of the rule that starts a migration on `source: ecs.migration`, `detail-type: AWS ECS Migration Task` events. Only events put by this module's account match. The cleanup rule (stop-task on a failed, aborted or timed out execution) is always on the default bus, where Step Functions sends its status changes."
  type        = string
  default     = "default"

  validation {
    condition     = length(var.event_bus_name) > 0
    error_message = "event_bus_name must not be empty."
  }
}

################################################################################
# Alarms
################################################################################

variable "create_alarm_topic" {
  description = "Create an encrypted SNS topic `<name>-alarms` for the alarms (with a dedicated KMS key unless `kms_key_arn` is given). Exclusive with `alarm_sns_topic_arn`."
  type        = bool
  default     = false
}

variable "alarm_sns_topic_arn" {
  description = "Existing SNS topic the alarms notify. Null: no notification (unless `create_alarm_topic`)."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_sns_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:.+$", coalesce(var.alarm_sns_topic_arn, "-")))
    error_message = "alarm_sns_topic_arn must be an SNS topic ARN or null."
  }
}

################################################################################
# Initial migration during `terraform apply`
################################################################################

variable "run_initial_migration" {
  description = "Run the migration once during `terraform apply` (scripts/run-migration.sh, which needs bash and the AWS CLI where Terraform runs), so the apply fails when it fails. Runs again whenever `initial_task_definition` changes."
  type        = bool
  default     = false
}

variable "initial_task_definition" {
  description = "Task definition (ARN, `family:revision` or `family`) the initial migration runs. Required when `run_initial_migration`."
  type        = string
  default     = null
}

variable "initial_migration_timeout_seconds" {
  description = "How long `terraform apply` waits for the initial migration. Null: `max_duration_seconds + 300`."
  type        = number
  default     = null

  validation {
    condition     = var.initial_migration_timeout_seconds == null || (coalesce(var.initial_migration_timeout_seconds, 1) >= 1 && floor(coalesce(var.initial_migration_timeout_seconds, 1)) == coalesce(var.initial_migration_timeout_seconds, 1))
    error_message = "initial_migration_timeout_seconds must be a whole number of seconds (at least 1), or null: run-migration.sh takes whole seconds."
  }
}

################################################################################
# Migrations inside the service's deployment (hooks.tf)
################################################################################

variable "deployment_services" {
  description = "Names of the services (in `cluster_arn`) whose deployments may start a migration through a lifecycle hook (Settings `DEPLOYMENT_SERVICES`). validate-event refuses a hook event of any other service; the IAM grants on service deployments and revisions are scoped to these. Empty: no hook starts a migration."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.deployment_services : can(regex("^[A-Za-z0-9_-]{1,255}$", s))])
    error_message = "deployment_services takes service names (letters, digits, hyphens, underscores; up to 255), not ARNs."
  }
}

variable "deployment_hook_rule_enabled" {
  description = "Create the EventBridge rule that starts a migration when a deployment of this cluster pauses at a PAUSE hook in `deployment_hook_stages` (needs `deployment_services`)."
  type        = bool
  default     = false
}

variable "deployment_hook_stages" {
  description = "Lifecycle stages whose PAUSE hook events start a migration (Settings `DEPLOYMENT_HOOK_STAGES`; validate-event refuses a hook waiting at any other). PRE_SCALE_UP runs it before a single task of the new revision starts. ECS allows no pause hook at TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT. PRE_PRODUCTION_TRAFFIC_SHIFT fires at every step of a linear or canary deployment: the migration would run (and must be idempotent) at each."
  type        = list(string)
  default     = ["PRE_SCALE_UP"]

  validation {
    condition = length(var.deployment_hook_stages) > 0 && alltrue([
      for s in var.deployment_hook_stages : contains(["RECONCILE_SERVICE", "PRE_SCALE_UP", "POST_SCALE_UP", "POST_TEST_TRAFFIC_SHIFT", "PRE_PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"], s)
    ])
    error_message = "deployment_hook_stages takes the lifecycle stages where ECS allows a pause hook (not TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT), e.g. [\"PRE_SCALE_UP\"]."
  }
}

variable "deployment_hook_timeout_minutes" {
  description = "The `timeoutConfiguration.timeoutInMinutes` you give the service's PAUSE hook (ECS: default 1440, at most 20160). The plan fails unless it exceeds validation (`lambda_timeout`) + `lock_wait_seconds` + run-task's capacity waits (390 s) + `max_duration_seconds`: a hook that expires first takes its timeout action while the migration runs."
  type        = number
  default     = 1440

  validation {
    condition     = var.deployment_hook_timeout_minutes >= 1 && var.deployment_hook_timeout_minutes <= 20160 && floor(var.deployment_hook_timeout_minutes) == var.deployment_hook_timeout_minutes
    error_message = "deployment_hook_timeout_minutes must be a whole number from 1 to 20160 (14 days)."
  }
}

variable "reconcile_schedule_minutes" {
  description = "How often (minutes) the reconciler runs: it stops the tasks and releases the locks that ended executions left behind when a status-change event or its cleanup was lost, and answers ROLLBACK to pause hooks they left waiting (reconcile.tf)."
  type        = number
  default     = 5

  validation {
    condition     = var.reconcile_schedule_minutes >= 1 && var.reconcile_schedule_minutes <= 1440 && floor(var.reconcile_schedule_minutes) == var.reconcile_schedule_minutes
    error_message = "reconcile_schedule_minutes must be a whole number from 1 to 1440."
  }
}

variable "reconcile_max_calls" {
  description = "API calls one reconciler run may make (`RECONCILE_MAX_CALLS`); what it cannot reach is left to the next run."
  type        = number
  default     = 500

  validation {
    condition     = var.reconcile_max_calls >= 10 && var.reconcile_max_calls <= 100000 && floor(var.reconcile_max_calls) == var.reconcile_max_calls
    error_message = "reconcile_max_calls must be a whole number from 10 to 100000."
  }
}

variable "reconcile_timeout_seconds" {
  description = "Timeout (seconds) of the reconcile function; a run ends 20 s before it (and after at most 600 s), waiting within it for the tasks it stopped to reach STOPPED."
  type        = number
  default     = 180

  validation {
    condition     = var.reconcile_timeout_seconds >= 60 && var.reconcile_timeout_seconds <= 900 && floor(var.reconcile_timeout_seconds) == var.reconcile_timeout_seconds
    error_message = "reconcile_timeout_seconds must be a whole number from 60 to 900."
  }
}
