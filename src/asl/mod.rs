//! The local Amazon States Language engine: parse and check a definition, run it with task
//! bindings and a clock you choose, get the execution history AWS would record. It does no
//! I/O of its own: bindings that reach services (the CLI's Lambda-endpoint invoker, the
//! migration's steps in `crate::statemachine`) live outside it.
//!
//! It follows the Amazon States Language specification and the Step Functions developer
//! guide for both query languages, JSONPath and JSONata (per machine or per state; JSONata
//! comes from a library behind the engine's own trait, see `jsonata` and docs/jsonata.md;
//! a JSONata field that fails raises `States.QueryEvaluationError`). The interface
//! has no AWS types: tasks run through a [`TaskInvoker`], time comes from a
//! [`crate::common::clock::Clock`].
//!
//! Runtime errors are named as the service names them: a path, `Parameters` or intrinsic
//! function that fails is `States.Runtime` (the error-name list keeps
//! `States.ParameterPathFailure` and `States.IntrinsicFailure` for future use), and a
//! `ResultPath` that cannot be applied is `States.ReferencePathConflict`. Neither is retried
//! or caught, not even by `States.ALL`. A task result over the 256 KiB payload quota fails
//! the task with `States.DataLimitExceeded`, which only a Retry or Catch naming it handles.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use ecs_migrate::asl::{Definition, Executor, RegistryInvoker, TaskFailure};
//! use ecs_migrate::common::clock::SystemClock;
//! use serde_json::json;
//!
//! let definition = Definition::parse(&json!({
//!     "StartAt": "Hello",
//!     "States": {"Hello": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:hello", "End": true}}
//! })).map_err(|problems| format!("{problems:?}"))?;
//! let invoker = RegistryInvoker::new()
//!     .register("hello", |call| async move { Ok::<_, TaskFailure>(json!({"hi": call.input})) });
//! let result = Executor::new(definition, Arc::new(invoker), Arc::new(SystemClock))
//!     .with_execution_name("demo")
//!     .run_to_completion(json!({"who": "world"}))
//!     .await;
//! println!("{}", result.to_json(false));
//! # Ok(()) }
//! ```

mod choice;
mod definition;
mod depth;
mod executor;
pub mod graph;
mod history;
mod intrinsics;
mod invoker;
mod jsonata;
mod mock;
mod path;
mod problem;
mod random;
mod retry;
mod template;
mod value;

pub use definition::{Definition, DefinitionError};
pub use depth::MAX_NESTING_DEPTH;
pub use executor::{
    ExecutionResult, ExecutionStatus, Executor, InputRefused, Limits, MAX_HISTORY_EVENTS,
};
pub use history::{EventDetails, EventType, HistoryEvent, Observer};
pub use invoker::Heartbeat;
pub(crate) use invoker::{function_name, invoke_response, is_lambda_invoke, is_placeholder};
pub use invoker::{RegistryInvoker, TaskCall, TaskFailure, TaskInvoker, UnboundInvoker};
pub use mock::{MockConfigError, MockInvoker};
pub use path::{Path, PathError, PathSyntaxError, Root};
pub use problem::Problem;
pub use random::{RandomSource, SeededRandom};
