//! The migration state machine's contract, in one place: the definition
//! (statemachine/migration.asl.json) with its `${STEP_arn}` placeholders and their rendering,
//! the steps by the names their functions carry, the binding that runs a step as a Lambda
//! function would for a Task state (its error document as the Cause), the state data as a
//! reader outside the execution sees it, and the history budget the definition's poll loop
//! must fit in. `ecs-migrate local`, the Lambda functions, the scenario tests and the benches
//! all go through it, so none of them binds the steps its own way.

mod binding;
pub mod budget;
mod state_data;
mod step;

pub use binding::{error_message, lambda_error, FunctionArns, Seams, StepBinding};
pub use state_data::StateData;
pub use step::Step;

/// The state machine definition, with `${STEP_arn}` placeholders for the function ARNs
/// (Terraform's templatefile() fills them in on AWS; [`FunctionArns::render`] locally).
pub(crate) const DEFINITION_TEMPLATE: &str = include_str!("../../statemachine/migration.asl.json");

/// The definition with each step's placeholder replaced by `arn(step)`.
pub(crate) fn render_definition(template: &str, arn: impl Fn(Step) -> String) -> String {
    Step::ALL
        .into_iter()
        .fold(template.to_string(), |text, step| {
            text.replace(&step.placeholder(), &arn(step))
        })
}
