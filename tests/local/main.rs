//! `ecs-migrate local` and its task runner with real processes: the runner's contract, the
//! example task definitions, and the command as users run it (`cargo test --test local`).
//! Layer 6's migration against PostgreSQL is tests/examples/fastapi-postgres.sh.

// Signals its child processes with kill(2), as a user or a supervisor would.
#[allow(unsafe_code)]
mod cli;
mod cli_lock;
mod closed_pipe;
mod docker_backend;
mod examples;
mod runner;
// Suspends and resumes the runner with kill(2).
#[allow(unsafe_code)]
mod suspend;
