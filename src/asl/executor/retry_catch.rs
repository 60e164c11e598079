//! The retry and catch loop shared by Task, Parallel and Map: one attempt, then the result
//! handling (ResultSelector, ResultPath, OutputPath) or a Retrier's delay or a Catcher.

use serde_json::{json, Value};

use super::super::definition::{ResultHandling, State, StateKind};
use super::super::retry::{matches, RetryCounters};
use super::super::template::Vars;
use super::failure::Failure;
use super::recorder::Thread;
use super::run::{Outcome, Run};
use super::scope::{apply_result_path, Scope, StateCtx};

impl<'e> Run<'e> {
    pub(super) async fn retryable<'a>(
        &'a self,
        state: &'a State,
        raw: &Value,
        vars: &Vars<'_>,
        th: &mut Thread,
        sc: &mut StateCtx,
    ) -> Result<Outcome<'a>, Failure> {
        let Some(handling) = state.kind.result_handling() else {
            return Err(Failure::runtime("not a retryable state"));
        };
        let eff = Scope::new(self, raw, sc, vars).io_path(&state.input_path)?;
        let mut counters = RetryCounters::default();
        loop {
            let attempt = self.attempt(state, &eff, vars, th, sc).await.and_then(|r| {
                // A Parallel's or Map's result array; a Task's result is checked in task.rs.
                self.ex.limits.check_payload(&state.name, &r)?;
                Ok(r)
            });
            let scope = Scope::new(self, raw, sc, vars);
            match attempt {
                Ok(result) => return scope.handle_result(state, handling, result),
                Err(f) if f.fatal => return Err(f),
                Err(mut f) => {
                    self.record_evaluation_failed(&mut f, state, th);
                    if let Some(delay) =
                        counters.next_delay(&handling.retry, &f.error, &*self.ex.random)
                    {
                        if !delay.is_zero() {
                            self.ex.clock.sleep(delay).await;
                        }
                        sc.retry_count += 1;
                        continue;
                    }
                    return scope.catch(handling, f, state.jsonata);
                }
            }
        }
    }

    /// One attempt of the state's own work.
    async fn attempt(
        &self,
        state: &State,
        eff: &Value,
        vars: &Vars<'_>,
        th: &mut Thread,
        sc: &StateCtx,
    ) -> Result<Value, Failure> {
        let scope = Scope::new(self, eff, sc, vars);
        match &state.kind {
            StateKind::Task(t) => scope.task_attempt(t, state, th).await,
            StateKind::Parallel(p) => scope.parallel_attempt(p, th).await,
            StateKind::Map(m) => scope.map_attempt(m, state, th).await,
            _ => Err(Failure::runtime("not a retryable state")),
        }
    }
}

impl<'s> Scope<'s> {
    /// Assign, ResultSelector, ResultPath and OutputPath over a successful attempt's result;
    /// `$` is the state's raw input.
    fn handle_result<'a>(
        &self,
        state: &'a State,
        handling: &ResultHandling,
        result: Value,
    ) -> Result<Outcome<'a>, Failure> {
        if state.jsonata {
            let scope = Scope {
                result: Some(&result),
                ..*self
            };
            let (output, assigned) = scope.ata_finish(&state.ata, || result.clone())?;
            return Ok(Outcome {
                output,
                next: state.next.as_deref(),
                assigned,
            });
        }
        let on_result = self.on(&result);
        let assigned = on_result.assign(state.assign.as_ref())?;
        let selected = match &handling.result_selector {
            Some(t) => on_result.template(t)?,
            None => result,
        };
        let out = apply_result_path(&handling.result_path, self.input, selected)?;
        let output = self.on(&out).io_path(&state.output_path)?;
        Ok(Outcome {
            output,
            next: state.next.as_deref(),
            assigned,
        })
    }

    /// The first Catcher that matches the error, or the failure itself.
    fn catch<'a>(
        &self,
        handling: &'a ResultHandling,
        f: Failure,
        jsonata: bool,
    ) -> Result<Outcome<'a>, Failure> {
        let Some(c) = handling.catch.iter().find(|c| matches(&c.errors, &f.error)) else {
            return Err(f);
        };
        let error_output = json!({"Error": f.error, "Cause": f.cause});
        if jsonata {
            let scope = Scope {
                error_output: Some(&error_output),
                ..*self
            };
            let (output, assigned) = scope.ata_finish(&c.ata, || error_output.clone())?;
            return Ok(Outcome {
                output,
                next: Some(c.next.as_str()),
                assigned,
            });
        }
        let assigned = self.on(&error_output).assign(c.assign.as_ref())?;
        let output = apply_result_path(&c.result_path, self.input, error_output)?;
        Ok(Outcome {
            output,
            next: Some(c.next.as_str()),
            assigned,
        })
    }
}
