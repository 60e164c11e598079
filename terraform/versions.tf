terraform {
  # 1.5: `terraform_data`, `optional()` object attributes, `check` blocks and lifecycle
  # pre/postconditions are all available.
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.32: aws_lambda_function.logging_config (JSON logs, explicit log group).
      version = ">= 5.32"
    }
  }
}
