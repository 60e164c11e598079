provider "aws" {
  region = var.region
}

locals {
  name = "ecs-migrate-example"

  tags = {
    Example    = local.name
    Repository = "ecs-migrate"
  }
}

################################################################################
# ecs-migrate
################################################################################

module "ecs_migrate" {
  source = "../../"

  name = local.name

  # Where the migration task runs
  cluster_arn        = aws_ecs_cluster.this.arn
  container_name     = "app"
  subnet_ids         = var.subnet_ids
  security_group_ids = [aws_security_group.migration.id]
  assign_public_ip   = false

  # Fargate Spot first, on-demand Fargate as the base: a strategy replaces the launch type.
  launch_type = null
  capacity_provider_strategy = [
    { capacity_provider = "FARGATE", weight = 1, base = 1 },
    { capacity_provider = "FARGATE_SPOT", weight = 3 },
  ]
  platform_version = "1.4.0"

  # What runs, and what may run
  migration_command                = ["alembic", "upgrade", "head"]
  allowed_task_definition_families = [aws_ecs_task_definition.app.family]
  task_role_arn                    = aws_iam_role.task.arn
  task_execution_role_arn          = aws_iam_role.task_execution.arn
  app_log_group_names              = [aws_cloudwatch_log_group.app.name]

  # Time budget
  max_duration_seconds  = 7200
  start_timeout_seconds = 600
  poll_interval_seconds = 5
  poll_max_wait_seconds = 600
  log_tail_lines        = 100

  # Built by `cargo lambda build --profile lambda-release --arm64 --output-format zip --bin bootstrap`
  # at the repository root (or a release's ecs-migrate-lambda-arm64.zip).
  lambda_zip = "${path.root}/../../../target/lambda/bootstrap/bootstrap.zip"

  log_retention_in_days   = 365
  kms_key_arn             = aws_kms_key.this.arn
  tracing_enabled         = true
  state_machine_log_level = "ALL"
  event_bus_name          = "default"

  create_alarm_topic = true

  # Migrate once during `terraform apply`, and again whenever the task definition changes.
  run_initial_migration   = var.run_initial_migration
  initial_task_definition = aws_ecs_task_definition.app.arn

  tags = local.tags
}

################################################################################
# What the module expects to exist: the app's cluster, task definition, roles and log group
################################################################################

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

resource "aws_ecs_cluster" "this" {
  name = local.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  tags = local.tags
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]
}

resource "aws_security_group" "migration" {
  name        = "${local.name}-migration"
  description = "ecs-migrate example: the migration task (outbound only: database, ECR, logs)"
  vpc_id      = var.vpc_id

  egress {
    description = "HTTPS to ECR, CloudWatch Logs and other AWS APIs"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  egress {
    description = "PostgreSQL inside the VPC"
    from_port   = 5432
    to_port     = 5432
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr_block]
  }

  tags = local.tags
}

resource "aws_cloudwatch_log_group" "app" {
  name              = "/ecs/${local.name}/app"
  retention_in_days = 365
  kms_key_id        = aws_kms_key.this.arn

  tags = local.tags
}

resource "aws_ecs_task_definition" "app" {
  family                   = "${local.name}-app"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = aws_iam_role.task_execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "ARM64"
  }

  container_definitions = jsonencode([{
    name                   = "app"
    image                  = var.image
    essential              = true
    readonlyRootFilesystem = true
    command                = ["uvicorn", "app.main:app", "--host", "0.0.0.0"]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        # ecs-migrate derives the stream (<prefix>/<container>/<task id>) from these.
        awslogs-group         = aws_cloudwatch_log_group.app.name
        awslogs-region        = var.region
        awslogs-stream-prefix = "ecs"
      }
    }
  }])

  tags = local.tags
}

data "aws_iam_policy_document" "ecs_tasks_assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "task_execution" {
  name               = "${local.name}-task-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume_role.json

  tags = local.tags
}

resource "aws_iam_role_policy_attachment" "task_execution" {
  role       = aws_iam_role.task_execution.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

resource "aws_iam_role" "task" {
  name               = "${local.name}-task"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume_role.json

  tags = local.tags
}

# One key for the functions' environment, the log groups, the lock table, the alarm topic and the
# events dead-letter queue: its policy lets CloudWatch Logs, DynamoDB (for the account's
# principals), CloudWatch alarms and EventBridge use it.
data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:A key policy's Resource * is the key itself; the account root statement is what lets IAM policies in this account manage the key.
  #checkov:skip=CKV_AWS_111:A key policy's Resource * is the key itself; the account root statement is what lets IAM policies in this account manage the key.
  #checkov:skip=CKV_AWS_356:A key policy's Resource * is the key itself.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchLogs"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${var.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${data.aws_partition.current.partition}:logs:${var.region}:${data.aws_caller_identity.current.account_id}:log-group:*"]
    }
  }

  statement {
    sid       = "CloudWatchAlarms"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
  }

  # The lock table is encrypted with this key: the account's principals (the functions' roles,
  # the operators running `ecs-migrate lock`) may use it, but only through DynamoDB, as the
  # policy of DynamoDB's AWS managed key allows.
  statement {
    sid       = "DynamoDBForPrincipalsInAccount"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${var.region}.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:CallerAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }

  # EventBridge writes undelivered events to the module's SQS dead-letter queue, encrypted with
  # this key: the statement the EventBridge User Guide asks for an encrypted SQS queue
  # (troubleshooting, "My events are not delivered to the target Amazon SQS queue").
  statement {
    sid       = "EventBridgeWritesDeadLetterQueue"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "this" {
  description         = "ecs-migrate example"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.kms.json

  tags = local.tags
}
