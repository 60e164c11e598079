//! The states that do their work in one step: Pass, Choice, Wait, Succeed and Fail.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::super::choice::{ChoiceRule, Rule};
use super::super::definition::{ResultPathSpec, State, Text, WaitFor};
use super::super::jsonata::AtaIo;
use super::super::path::compact;
use super::super::template::Template;
use super::super::value::{as_integer, parse_timestamp};
use super::failure::Failure;
use super::run::Outcome;
use super::scope::{apply_result_path, Scope};

impl<'s> Scope<'s> {
    pub(crate) fn pass<'a>(
        &self,
        state: &'a State,
        parameters: Option<&Template>,
        result: Option<&Value>,
        result_path: &ResultPathSpec,
    ) -> Result<Outcome<'a>, Failure> {
        if state.jsonata {
            return self.ata_outcome(state, &state.ata, state.next.as_deref());
        }
        let eff = self.io_path(&state.input_path)?;
        let eff = self.on(&eff).template_or_input(parameters)?;
        let result = result.cloned().unwrap_or(eff);
        self.run.ex.limits.check_payload(&state.name, &result)?;
        let assigned = self.on(&result).assign(state.assign.as_ref())?;
        let out = apply_result_path(result_path, self.input, result)?;
        let output = self.on(&out).io_path(&state.output_path)?;
        Ok(Outcome {
            output,
            next: state.next.as_deref(),
            assigned,
        })
    }

    pub(crate) fn choice<'a>(
        &self,
        state: &'a State,
        choices: &'a [ChoiceRule],
        default: Option<&'a str>,
    ) -> Result<Outcome<'a>, Failure> {
        if state.jsonata {
            return self.ata_choice(state, choices, default);
        }
        let eff = self.io_path(&state.input_path)?;
        let at = self.on(&eff);
        let mut chosen = None;
        for c in choices {
            if at.rule(&c.rule)? {
                chosen = Some((c.next.as_str(), c.assign.as_ref()));
                break;
            }
        }
        let (next, assign) = match (chosen, default) {
            (Some(c), _) => c,
            (None, Some(d)) => (d, state.assign.as_ref()),
            (None, None) => {
                return Err(Failure::new(
                    "States.NoChoiceMatched",
                    format!(
                        "No Choice rule matched and there is no Default in the Choice state '{}'",
                        state.name
                    ),
                ))
            }
        };
        let assigned = at.assign(assign)?;
        let output = at.io_path(&state.output_path)?;
        Ok(Outcome {
            output,
            next: Some(next),
            assigned,
        })
    }

    pub(crate) async fn wait<'a>(
        &self,
        state: &'a State,
        w: &WaitFor,
    ) -> Result<Outcome<'a>, Failure> {
        let eff = self.io_path(&state.input_path)?;
        let at = self.on(&eff);
        let delay = at.wait_delay(w)?;
        if !delay.is_zero() {
            self.run.ex.clock.sleep(delay).await;
        }
        if state.jsonata {
            return self.ata_outcome(state, &state.ata, state.next.as_deref());
        }
        let assigned = at.assign(state.assign.as_ref())?;
        let output = at.io_path(&state.output_path)?;
        Ok(Outcome {
            output,
            next: state.next.as_deref(),
            assigned,
        })
    }

    /// How long a Wait state waits from now.
    fn wait_delay(&self, w: &WaitFor) -> Result<Duration, Failure> {
        let now = self.run.ex.clock.now();
        match w {
            WaitFor::Seconds(s) => Ok(Duration::from_secs(*s)),
            WaitFor::SecondsExpr(t) => Ok(Duration::from_secs(self.ata_seconds(t, 0)?)),
            WaitFor::TimestampExpr(t) => Ok(until(self.ata_timestamp(t)?, now)),
            WaitFor::SecondsPath(p) => {
                let v = self.resolve(p)?;
                // Issue 11 (recorded on AWS) and LocalStack's AWS-snapshotted wording: "The
                // SecondsPath parameter cannot be parsed as a long value: $.path == -1.5",
                // "... references a negative value: $.path == -1".
                match as_integer(&v) {
                    Some(n) if n >= 0 => Ok(Duration::from_secs(n as u64)),
                    Some(_) => Err(Failure::runtime(format!(
                        "The SecondsPath parameter references a negative value: {p} == {}",
                        compact(&v)
                    ))),
                    None => Err(Failure::runtime(format!(
                        "The SecondsPath parameter cannot be parsed as a long value: {p} == {}",
                        compact(&v)
                    ))),
                }
            }
            WaitFor::Timestamp(t) => Ok(until(*t, now)),
            WaitFor::TimestampPath(p) => {
                let v = self.resolve(p)?;
                // Recorded on AWS (LocalStack's test_wait.snapshot.json,
                // test_wait_timestamppath): "The TimestampPath parameter does not reference a
                // valid ISO-8601 extended offset date-time format string: $.start_at == <the
                // string>"; a value that is no string is shown as JSON.
                match v.as_str().and_then(parse_timestamp) {
                    Some(t) => Ok(until(t, now)),
                    None => Err(Failure::runtime(format!(
                        "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {p} == {}",
                        v.as_str().map(str::to_string).unwrap_or_else(|| compact(&v))
                    ))),
                }
            }
        }
    }

    pub(crate) fn succeed<'a>(&self, state: &'a State) -> Result<Outcome<'a>, Failure> {
        if state.jsonata {
            let output = match &state.ata.output {
                Some(o) => self.ata(o)?,
                None => self.input.clone(),
            };
            return Ok(Outcome {
                output,
                next: None,
                assigned: Vec::new(),
            });
        }
        let eff = self.io_path(&state.input_path)?;
        let output = self.on(&eff).io_path(&state.output_path)?;
        Ok(Outcome {
            output,
            next: None,
            assigned: Vec::new(),
        })
    }

    /// The failure a Fail state ends its thread with.
    pub(crate) fn fail(
        &self,
        error: Option<&Text>,
        cause: Option<&Text>,
    ) -> Result<Failure, Failure> {
        let error = self.text(error, "ErrorPath")?;
        let cause = self.text(cause, "CausePath")?;
        Ok(Failure::new(error, cause))
    }
}

impl<'s> Scope<'s> {
    /// A JSONata Pass or Wait (or a Choice's chosen branch): Assign and Output over the
    /// state's input.
    fn ata_outcome<'a>(
        &self,
        state: &State,
        io: &AtaIo,
        next: Option<&'a str>,
    ) -> Result<Outcome<'a>, Failure> {
        let (output, assigned) = self.ata_finish(io, || self.input.clone())?;
        self.run.ex.limits.check_payload(&state.name, &output)?;
        Ok(Outcome {
            output,
            next,
            assigned,
        })
    }

    /// A JSONata Choice: the first rule whose Condition is true, with its own Assign and
    /// Output; else the Default, with the state's.
    fn ata_choice<'a>(
        &self,
        state: &'a State,
        choices: &'a [ChoiceRule],
        default: Option<&'a str>,
    ) -> Result<Outcome<'a>, Failure> {
        for c in choices {
            if let Rule::Condition(t) = &c.rule {
                if self.condition(t)? {
                    return self.ata_outcome(state, &c.ata, Some(&c.next));
                }
            }
        }
        match default {
            Some(d) => self.ata_outcome(state, &state.ata, Some(d)),
            None => Err(Failure::new(
                "States.NoChoiceMatched",
                format!(
                    "No Choice rule matched and there is no Default in the Choice state '{}'",
                    state.name
                ),
            )),
        }
    }
}

fn until(t: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (t - now).to_std().unwrap_or(Duration::ZERO)
}
