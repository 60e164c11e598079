//! The cold-start bench's floor (benches/cold_start.rs): a hello-world `lambda_runtime`
//! function that echoes its event, built with the bootstrap's profile (lambda-release) and
//! runtime flavour, so the bootstrap's init and memory can be read against what the Lambda
//! runtime alone costs. A bench-only binary: `cargo build --profile lambda-release --example
//! lambda_floor` (benches/cold-start.sh does it); `cargo test` does not build it.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
