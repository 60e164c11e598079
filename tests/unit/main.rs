//! Layer 1, unit: request parsing, and each step against aws-smithy-mocks through the real SDK
//! adapters (`cargo test --test unit`). The library's own `#[cfg(test)]` tests are the rest of
//! the layer.

#[path = "../common/fixtures.rs"]
mod fixtures;

mod hook_adapter;
mod hooks;
mod request_props;
mod steps;
