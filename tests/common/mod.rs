//! Shared helpers for the integration tests. Each test binary compiles this module on its own
//! and uses only part of it.
#![allow(dead_code)]

pub mod engine;
pub mod machines;
pub mod moto;
pub mod process;

#[allow(unused_imports)]
pub use engine::*;
