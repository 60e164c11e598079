//! The check-exit-code Lambda function.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ecs_migrate::lambda::serve(ecs_migrate::steps::Step::CheckExitCode).await
}
