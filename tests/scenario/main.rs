//! Layer 3, scenario: statemachine/migration.asl.json in the engine with the real steps, over a
//! stateful fake ECS on virtual time, and the real steps over the local runner
//! (`cargo test --test scenario`).

mod fake_ecs;
// Shared with the unit tests, which use all of it; this layer uses a part.
#[allow(dead_code)]
#[path = "../common/fixtures.rs"]
mod fixtures;

mod hooks;
mod interleavings;
mod local_steps;
mod lock;
mod log_faults;
mod reconcile;
mod scenarios;
