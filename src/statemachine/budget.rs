//! The tracking budget: how many history events an execution records, so a migration whose
//! maximum duration cannot fit under Step Functions' history limit is refused at the start
//! instead of failing hours in.

use crate::common::error::{ErrorKind, MigrationError};
use crate::migration::settings::Settings;

/// Step Functions' limit on events in one execution's history.
const HISTORY_EVENT_LIMIT: u64 = 25_000;

/// Room kept below the limit for retries and anything unforeseen.
const HEADROOM: u64 = 1_000;

/// Events one poll round records: PollStatus (TaskStateEntered, LambdaFunctionScheduled,
/// LambdaFunctionStarted, LambdaFunctionSucceeded, TaskStateExited) and the Choice after it
/// (ChoiceStateEntered, ChoiceStateExited). A round of waiting for the lock (AcquireLock and
/// its Choice) records as many.
const EVENTS_PER_POLL_ROUND: u64 = 7;

/// Events outside the poll loop, on the longest path: execution start and end, ValidateEvent,
/// RunTask with its capacity retries, CheckExitCode or the timeout Pass, StopTask with its
/// retries, and the final state.
const EVENTS_OUTSIDE_LOOP: u64 = 150;

/// The most events an execution of these settings can record.
pub fn events_needed(settings: &Settings) -> u64 {
    let round = poll_round_seconds(settings);
    // Rounds until the deadline, plus the round that sees it pass.
    let rounds = settings.max_duration.as_secs().div_ceil(round) + 1;
    EVENTS_OUTSIDE_LOOP + (lock_wait_rounds(settings) + rounds) * EVENTS_PER_POLL_ROUND
}

/// The longest maximum duration whose history fits, with these poll and lock settings.
pub fn longest_tracked_seconds(settings: &Settings) -> u64 {
    let limit = HISTORY_EVENT_LIMIT - HEADROOM;
    let round = poll_round_seconds(settings);
    let lock_events = lock_wait_rounds(settings) * EVENTS_PER_POLL_ROUND;
    let poll_rounds =
        (limit - EVENTS_OUTSIDE_LOOP).saturating_sub(lock_events) / EVENTS_PER_POLL_ROUND;
    // Leave room for the round that sees the deadline pass.
    poll_rounds.saturating_sub(1) * round
}

/// AcquireLock rounds while the lock is held by another: the wait's length in rounds, plus the
/// round that sees it run out.
fn lock_wait_rounds(settings: &Settings) -> u64 {
    settings
        .lock_wait
        .as_secs()
        .div_ceil(poll_round_seconds(settings))
        + 1
}

/// One poll-status invocation's longest wait: the time a poll round covers.
fn poll_round_seconds(settings: &Settings) -> u64 {
    settings.poll_max_wait.as_secs().max(1)
}

/// Refuses settings whose longest migration would not fit in the history.
pub(crate) fn check_fits(settings: &Settings) -> Result<(), MigrationError> {
    let needed = events_needed(settings);
    let limit = HISTORY_EVENT_LIMIT - HEADROOM;
    if needed <= limit {
        return Ok(());
    }
    let round = poll_round_seconds(settings);
    let longest = longest_tracked_seconds(settings);
    Err(MigrationError::new(ErrorKind::Misconfigured, format!(
        "setting MAX_DURATION_SECONDS={} cannot be tracked: with POLL_MAX_WAIT_SECONDS={round} the execution would record up to {needed} history events, over Step Functions' {HISTORY_EVENT_LIMIT}-event limit; lower MAX_DURATION_SECONDS to at most {longest} or raise POLL_MAX_WAIT_SECONDS",
        settings.max_duration.as_secs()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn settings(max_duration: u64, poll_max_wait: u64) -> Settings {
        Settings::from_lookup(|name| match name {
            "CLUSTER" => Some("c".into()),
            "CONTAINER_NAME" => Some("app".into()),
            "ALLOWED_FAMILIES" => Some("app".into()),
            "MAX_DURATION_SECONDS" => Some(max_duration.to_string()),
            "POLL_MAX_WAIT_SECONDS" => Some(poll_max_wait.to_string()),
            _ => None,
        })
        .unwrap()
    }

    #[test]
    fn the_advised_longest_duration_fits_and_one_second_more_does_not() {
        for wait in [60, 600, 840] {
            let longest = longest_tracked_seconds(&settings(3600, wait));
            let mut s = settings(3600, wait);
            s.max_duration = Duration::from_secs(longest);
            assert!(check_fits(&s).is_ok(), "{wait}: {longest}");
            s.max_duration = Duration::from_secs(longest + 1);
            let err = check_fits(&s).unwrap_err().to_string();
            assert!(err.contains(&format!("at most {longest}")), "{err}");
        }
    }
}
