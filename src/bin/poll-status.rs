//! The poll-status Lambda function.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ecs_migrate::lambda::serve(ecs_migrate::steps::Step::PollStatus).await
}
