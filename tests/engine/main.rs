//! Layer 2, the engine: Amazon States Language semantics, table-driven from the documented
//! examples, and `ecs-migrate asl` through the built binary. One test binary for the layer
//! (`cargo test --test engine`); each module was a binary of its own before.

mod common;
#[path = "../common/process.rs"]
mod process;

mod aws_corners;
mod bindings;
mod choice;
mod cli;
mod depth;
mod errors;
mod fuzz;
mod history;
mod intrinsics;
mod io;
mod jsonata;
mod limits;
mod parallel_map;
mod proptests;
mod validate;
