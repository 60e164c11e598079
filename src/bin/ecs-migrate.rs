//! The `ecs-migrate` command; everything is in `ecs_migrate::cli`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    ecs_migrate::cli::main().await
}
