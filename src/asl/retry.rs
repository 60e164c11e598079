//! Retriers and catchers ("Handling errors in Step Functions workflows"): error matching,
//! the retry delay (IntervalSeconds × BackoffRate^n, capped by MaxDelaySeconds, optionally
//! with FULL jitter) and where a caught error goes.

use std::time::Duration;

use serde_json::Value;

use super::definition::ResultPathSpec;
use super::jsonata::{other_language, AtaIo};
use super::problem::{Problems, Ptr};
use super::random::RandomSource;
use super::template::Assign;

/// Every `States.*` error name the language defines; other `States.` names are rejected.
pub(crate) const STATES_ERRORS: [&str; 17] = [
    "States.ALL",
    "States.DataLimitExceeded",
    "States.ExceedToleratedFailureThreshold",
    "States.HeartbeatTimeout",
    "States.Http.Socket",
    "States.IntrinsicFailure",
    "States.ItemReaderFailed",
    "States.NoChoiceMatched",
    "States.ParameterPathFailure",
    "States.Permissions",
    "States.ResultPathMatchFailure",
    "States.ResultWriterFailed",
    "States.Runtime",
    "States.TaskFailed",
    "States.Timeout",
    "States.BranchFailed",
    "States.QueryEvaluationError",
];

const MAX_SECONDS: u64 = 99_999_999;
/// MaxDelaySeconds must be less than this (one year and a day).
const MAX_DELAY_LIMIT: u64 = 31_622_401;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Jitter {
    None,
    Full,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Retrier {
    pub(crate) errors: Vec<String>,
    pub(crate) interval_seconds: u64,
    pub(crate) max_attempts: u64,
    pub(crate) backoff_rate: f64,
    pub(crate) max_delay_seconds: Option<u64>,
    pub(crate) jitter: Jitter,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Catcher {
    pub(crate) errors: Vec<String>,
    pub(crate) next: String,
    pub(crate) result_path: ResultPathSpec,
    pub(crate) assign: Option<Assign>,
    /// A JSONata catcher's Output and Assign.
    pub(crate) ata: AtaIo,
}

/// True if an `ErrorEquals` list matches the error name. `States.ALL` matches everything
/// except `States.Runtime` and `States.DataLimitExceeded` (which never reach a retrier or
/// catcher anyway); `States.TaskFailed` matches every error that is not a `States.*` error;
/// `States.Timeout` also matches `States.HeartbeatTimeout`.
pub(crate) fn matches(errors: &[String], error: &str) -> bool {
    errors.iter().any(|e| match e.as_str() {
        "States.ALL" => !matches!(error, "States.Runtime" | "States.DataLimitExceeded"),
        "States.TaskFailed" => error == "States.TaskFailed" || !error.starts_with("States."),
        "States.Timeout" => matches!(error, "States.Timeout" | "States.HeartbeatTimeout"),
        name => name == error,
    })
}

/// Per-state retry bookkeeping: attempts made by each retrier.
#[derive(Debug, Default)]
pub(crate) struct RetryCounters(Vec<u64>);

impl RetryCounters {
    /// If the first retrier that matches `error` still has attempts left, counts one and
    /// returns the delay before the next attempt. `None` means: go to the catchers.
    pub(crate) fn next_delay(
        &mut self,
        retriers: &[Retrier],
        error: &str,
        random: &dyn RandomSource,
    ) -> Option<Duration> {
        if self.0.len() < retriers.len() {
            self.0.resize(retriers.len(), 0);
        }
        let (i, r) = retriers
            .iter()
            .enumerate()
            .find(|(_, r)| matches(&r.errors, error))?;
        let attempt = self.0[i];
        if attempt >= r.max_attempts {
            return None;
        }
        self.0[i] += 1;
        let exponent = i32::try_from(attempt).unwrap_or(i32::MAX);
        let mut seconds = r.interval_seconds as f64 * r.backoff_rate.powi(exponent);
        if let Some(max) = r.max_delay_seconds {
            seconds = seconds.min(max as f64);
        }
        if !seconds.is_finite() || seconds > MAX_SECONDS as f64 {
            seconds = MAX_SECONDS as f64;
        }
        if r.jitter == Jitter::Full {
            seconds *= random.next_f64();
        }
        Some(Duration::from_secs_f64(seconds.max(0.0)))
    }
}

fn parse_error_equals(
    obj: &serde_json::Map<String, Value>,
    ptr: &Ptr,
    problems: &mut Problems,
) -> Vec<String> {
    let p = ptr.key("ErrorEquals");
    let Some(list) = obj.get("ErrorEquals") else {
        problems.add(&p, "ErrorEquals is required");
        return Vec::new();
    };
    let Some(list) = list.as_array().filter(|l| !l.is_empty()) else {
        problems.add(&p, "ErrorEquals must be a non-empty array of error names");
        return Vec::new();
    };
    let mut names = Vec::new();
    for (i, v) in list.iter().enumerate() {
        match v.as_str() {
            Some(name) => {
                if name.starts_with("States.") && !STATES_ERRORS.contains(&name) {
                    problems.add(
                        &p.index(i),
                        format!("\"{name}\" is not a States error name"),
                    );
                }
                names.push(name.to_string());
            }
            None => problems.add(&p.index(i), "error names must be strings"),
        }
    }
    if names.iter().any(|n| n == "States.ALL") && names.len() > 1 {
        problems.add(&p, "States.ALL must appear alone in ErrorEquals");
    }
    names
}

fn positive_int(
    obj: &serde_json::Map<String, Value>,
    key: &str,
    ptr: &Ptr,
    min: u64,
    max: u64,
    problems: &mut Problems,
) -> Option<u64> {
    let v = obj.get(key)?;
    match v.as_u64().filter(|n| (min..=max).contains(n)) {
        Some(n) => Some(n),
        None => {
            problems.add(
                &ptr.key(key),
                format!("{key} must be an integer from {min} to {max}"),
            );
            None
        }
    }
}

/// Parses a `Retry` array.
pub(crate) fn parse_retry(v: &Value, ptr: &Ptr, problems: &mut Problems) -> Vec<Retrier> {
    let Some(list) = v.as_array() else {
        problems.add(ptr, "Retry must be an array of retriers");
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let p = ptr.index(i);
        let Some(obj) = item.as_object() else {
            problems.add(&p, "a retrier must be a JSON object");
            continue;
        };
        for key in obj.keys() {
            if !matches!(
                key.as_str(),
                "ErrorEquals"
                    | "IntervalSeconds"
                    | "MaxAttempts"
                    | "BackoffRate"
                    | "MaxDelaySeconds"
                    | "JitterStrategy"
                    | "Comment"
            ) {
                problems.add(&p.key(key), format!("unknown field \"{key}\" in a retrier"));
            }
        }
        let errors = parse_error_equals(obj, &p, problems);
        if errors.iter().any(|e| e == "States.ALL") && i + 1 != list.len() {
            problems.add(
                &p.key("ErrorEquals"),
                "a retrier with States.ALL must be the last one",
            );
        }
        let interval_seconds =
            positive_int(obj, "IntervalSeconds", &p, 1, MAX_SECONDS, problems).unwrap_or(1);
        let max_attempts =
            positive_int(obj, "MaxAttempts", &p, 0, MAX_SECONDS, problems).unwrap_or(3);
        let max_delay_seconds =
            positive_int(obj, "MaxDelaySeconds", &p, 1, MAX_DELAY_LIMIT - 1, problems);
        let backoff_rate = match obj.get("BackoffRate") {
            None => 2.0,
            Some(b) => match b.as_f64().filter(|r| *r >= 1.0 && r.is_finite()) {
                Some(r) => r,
                None => {
                    problems.add(
                        &p.key("BackoffRate"),
                        "BackoffRate must be a number greater than or equal to 1.0",
                    );
                    2.0
                }
            },
        };
        let jitter = match obj.get("JitterStrategy") {
            None => Jitter::None,
            Some(Value::String(s)) if s == "NONE" => Jitter::None,
            Some(Value::String(s)) if s == "FULL" => Jitter::Full,
            Some(_) => {
                problems.add(
                    &p.key("JitterStrategy"),
                    "JitterStrategy must be FULL or NONE",
                );
                Jitter::None
            }
        };
        out.push(Retrier {
            errors,
            interval_seconds,
            max_attempts,
            backoff_rate,
            max_delay_seconds,
            jitter,
        });
    }
    out
}

/// Parses a `Catch` array; `states` are the names a catcher may go to.
pub(crate) fn parse_catch(
    v: &Value,
    ptr: &Ptr,
    states: &[String],
    jsonata: bool,
    problems: &mut Problems,
) -> Vec<Catcher> {
    let Some(list) = v.as_array() else {
        problems.add(ptr, "Catch must be an array of catchers");
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let p = ptr.index(i);
        let Some(obj) = item.as_object() else {
            problems.add(&p, "a catcher must be a JSON object");
            continue;
        };
        for key in obj.keys() {
            if !matches!(
                key.as_str(),
                "ErrorEquals" | "Next" | "ResultPath" | "Assign" | "Comment" | "Output"
            ) {
                problems.add(&p.key(key), format!("unknown field \"{key}\" in a catcher"));
            }
            match (key.as_str(), jsonata) {
                ("Output", false) => problems.add(&p, other_language(false, key)),
                ("ResultPath", true) => problems.add(&p, other_language(true, key)),
                _ => {}
            }
        }
        let errors = parse_error_equals(obj, &p, problems);
        if errors.iter().any(|e| e == "States.ALL") && i + 1 != list.len() {
            problems.add(
                &p.key("ErrorEquals"),
                "a catcher with States.ALL must be the last one",
            );
        }
        let next = match obj.get("Next") {
            Some(Value::String(n)) => {
                if !states.contains(n) {
                    problems.add(&p.key("Next"), format!("no such state \"{n}\""));
                }
                n.clone()
            }
            Some(_) => {
                problems.add(&p.key("Next"), "Next must be a string");
                continue;
            }
            None => {
                problems.add(&p.key("Next"), "Next is required in a catcher");
                continue;
            }
        };
        let result_path =
            ResultPathSpec::parse(obj.get("ResultPath"), &p.key("ResultPath"), problems);
        let (assign, ata) = if jsonata {
            (
                None,
                AtaIo::parse(obj, &p, &format!("Catch[{i}]/"), problems),
            )
        } else {
            let assign = obj
                .get("Assign")
                .and_then(|a| Assign::parse(a, &p.key("Assign"), problems));
            (assign, AtaIo::default())
        };
        out.push(Catcher {
            ata,
            errors,
            next,
            result_path,
            assign,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asl::random::SeededRandom;

    fn retrier(errors: &[&str], interval: u64, attempts: u64, rate: f64) -> Retrier {
        Retrier {
            errors: errors.iter().map(|s| s.to_string()).collect(),
            interval_seconds: interval,
            max_attempts: attempts,
            backoff_rate: rate,
            max_delay_seconds: None,
            jitter: Jitter::None,
        }
    }

    // "Complex retry scenarios" (Handling errors in Step Functions workflows, current
    // version): the task fails with ErrorA, ErrorB, ErrorC and ErrorB. The first two match the
    // first retrier and wait 1 and 2 seconds, the third matches the second retrier and waits 5
    // seconds, the fourth matches the first retrier, which has used its MaxAttempts (2), so
    // the error goes to Catch.
    #[test]
    fn complex_retry_scenario_from_the_guide() {
        let retriers = vec![
            retrier(&["ErrorA", "ErrorB"], 1, 2, 2.0),
            retrier(&["ErrorC"], 5, 3, 2.0),
        ];
        let rnd = SeededRandom::new(0);
        let mut counters = RetryCounters::default();
        let delays: Vec<_> = ["ErrorA", "ErrorB", "ErrorC", "ErrorB"]
            .iter()
            .map(|e| counters.next_delay(&retriers, e, &rnd).map(|d| d.as_secs()))
            .collect();
        assert_eq!(delays, [Some(1), Some(2), Some(5), None]);
    }

    #[test]
    fn max_delay_and_jitter() {
        let mut r = retrier(&["States.ALL"], 10, 5, 3.0);
        r.max_delay_seconds = Some(50);
        let rnd = SeededRandom::new(3);
        let mut c = RetryCounters::default();
        let d: Vec<_> = (0..4)
            .map(|_| c.next_delay(&[r.clone()], "X", &rnd).unwrap().as_secs())
            .collect();
        assert_eq!(d, [10, 30, 50, 50]);
        r.jitter = Jitter::Full;
        let mut c = RetryCounters::default();
        let j = c.next_delay(&[r], "X", &rnd).unwrap();
        assert!(j <= Duration::from_secs(10));
    }

    #[test]
    fn error_matching_rules() {
        let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(matches(&l(&["States.ALL"]), "Anything"));
        assert!(matches(&l(&["States.ALL"]), "States.Timeout"));
        assert!(!matches(&l(&["States.ALL"]), "States.Runtime"));
        assert!(matches(&l(&["States.TaskFailed"]), "Lambda.Unknown"));
        assert!(!matches(&l(&["States.TaskFailed"]), "States.Timeout"));
        assert!(matches(&l(&["States.Timeout"]), "States.HeartbeatTimeout"));
        assert!(!matches(&l(&["ErrorA"]), "ErrorB"));
        // MaxAttempts 0: matched but never retried.
        let mut c = RetryCounters::default();
        assert!(c
            .next_delay(&[retrier(&["X"], 1, 0, 2.0)], "X", &SeededRandom::new(0))
            .is_none());
    }
}
