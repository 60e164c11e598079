//! The one Lambda bootstrap for all the functions: it serves the step its function is
//! configured for (`ECS_MIGRATE_STEP`, else the handler setting, `_HANDLER`).

// One thread: a step waits on AWS one call at a time, and fewer threads start faster and
// use less memory.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    ecs_migrate::lambda::serve_configured().await
}
