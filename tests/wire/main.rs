//! Layer 4, wire: the Lambda binaries under a Lambda Runtime API server, and the ecs-migrate CLI
//! and terraform/scripts/run-migration.sh against moto server, all on 127.0.0.1
//! (`cargo test --test wire`). Every test here shares one moto server (`moto::shared`), started
//! by the first test that asks for it.

mod machines;
mod moto;
#[path = "../common/process.rs"]
mod process;
mod runtime_api;

mod cli_aws;
mod cli_lock;
mod deployment_hook;
mod ecs_contract;
// The scenarios' fake, held to the ECS contract here; the scenarios use the rest of its API.
#[allow(dead_code)]
#[path = "../scenario/fake_ecs.rs"]
mod fake_ecs;
mod lambda_bootstrap;
mod lambda_wire;
mod lock_force;
mod lock_table;
mod log_escape;
mod moto_smoke;
mod reconcile;
mod run_migration_script;
mod trust;
