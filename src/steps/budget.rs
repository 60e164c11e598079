//! The tracking budget: how many history events an execution records, so a migration whose
//! maximum duration cannot fit under Step Functions' history limit is refused at the start
//! instead of failing hours in.

use crate::error::MigrationError;
use crate::settings::Settings;

/// Step Functions' limit on events in one execution's history.
pub const HISTORY_EVENT_LIMIT: u64 = 25_000;

/// Room kept below the limit for retries and anything unforeseen.
pub const HEADROOM: u64 = 1_000;

/// Events one poll round records: PollStatus (TaskStateEntered, LambdaFunctionScheduled,
/// LambdaFunctionStarted, LambdaFunctionSucceeded, TaskStateExited) and the Choice after it
/// (ChoiceStateEntered, ChoiceStateExited).
pub const EVENTS_PER_POLL_ROUND: u64 = 7;

/// Events outside the poll loop, on the longest path: execution start and end, ValidateEvent,
/// RunTask with its capacity retries, CheckExitCode or the timeout Pass, StopTask with its
/// retries, and the final state.
pub const EVENTS_OUTSIDE_LOOP: u64 = 80;

/// The most events an execution of these settings can record.
pub fn events_needed(settings: &Settings) -> u64 {
    let round = settings
        .poll_max_wait
        .max(settings.poll_interval)
        .as_secs()
        .max(1);
    // Rounds until the deadline, plus the round that sees it pass.
    let rounds = settings.max_duration.as_secs().div_ceil(round) + 1;
    EVENTS_OUTSIDE_LOOP + rounds * EVENTS_PER_POLL_ROUND
}

/// Refuses settings whose longest migration would not fit in the history.
pub fn check_fits(settings: &Settings) -> Result<(), MigrationError> {
    let needed = events_needed(settings);
    let limit = HISTORY_EVENT_LIMIT - HEADROOM;
    if needed <= limit {
        return Ok(());
    }
    let round = settings
        .poll_max_wait
        .max(settings.poll_interval)
        .as_secs()
        .max(1);
    let longest = (limit - EVENTS_OUTSIDE_LOOP) / EVENTS_PER_POLL_ROUND * round;
    Err(MigrationError::Misconfigured(format!(
        "setting MAX_DURATION_SECONDS={} cannot be tracked: with POLL_MAX_WAIT_SECONDS={round} the execution would record up to {needed} history events, over Step Functions' {HISTORY_EVENT_LIMIT}-event limit; lower MAX_DURATION_SECONDS to at most {longest} or raise POLL_MAX_WAIT_SECONDS",
        settings.max_duration.as_secs()
    )))
}
