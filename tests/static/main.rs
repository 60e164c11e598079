//! Layer 5, static: the checks of statemachine/migration.asl.json that asl-validator cannot
//! make, each function's IAM grants against the AWS calls its code makes, the layout of
//! these test binaries, and the docs against the code (`cargo test --test static`). The layer's shell checks are beside this
//! file (check-asl.sh, check-terraform.sh), run by tests/run.sh.

// Shared with the unit tests, which use all of it; this layer uses a part.
#[allow(dead_code)]
#[path = "../common/fixtures.rs"]
mod fixtures;
#[path = "../common/process.rs"]
mod process;

mod definition;
mod docs;
mod function_size;
mod iam;
mod layering;
mod layout;
mod names;
mod source;
mod visibility;
