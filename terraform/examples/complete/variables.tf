variable "region" {
  description = "Region to deploy the example to."
  type        = string
  default     = "eu-west-1"
}

variable "vpc_id" {
  description = "VPC of the migration task's security group."
  type        = string
}

variable "vpc_cidr_block" {
  description = "CIDR block of the VPC (the migration task may reach the database inside it)."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets the migration task runs in (with a route to ECR and CloudWatch Logs)."
  type        = list(string)
}

variable "image" {
  description = "Image of the app, which contains the migrations (alembic)."
  type        = string
}

variable "run_initial_migration" {
  description = "Run the migration during `terraform apply` (needs bash and the AWS CLI, and the image pushed)."
  type        = bool
  default     = false
}
