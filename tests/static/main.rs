//! Layer 5, static: the checks of statemachine/migration.asl.json that asl-validator cannot
//! make, and each function's IAM grants against the AWS calls its code makes
//! (`cargo test --test static`). The shell checks of the layer are beside this file
//! (check-asl.sh, check-terraform.sh), run by tests/run.sh.

// Shared with the unit tests, which use all of it; this layer uses a part.
#[allow(dead_code)]
#[path = "../common/fixtures.rs"]
mod fixtures;
#[path = "../common/process.rs"]
mod process;

mod definition;
mod iam;
