//! The run-task Lambda function.

// One thread: a step waits on AWS one call at a time, and fewer threads start faster and
// use less memory.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    ecs_migrate::lambda::serve(ecs_migrate::statemachine::Step::RunTask).await
}
