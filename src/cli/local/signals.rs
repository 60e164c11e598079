//! The signals that stop `ecs-migrate local`: Ctrl-C (SIGINT), SIGTERM (CI job cancellation,
//! `timeout`, `docker stop`) and SIGHUP (the terminal went away). All three stop the task the
//! same way; the command then exits 128 + the signal's number, as a shell reports a process
//! the signal ended.
//!
//! Ctrl-Z (SIGTSTP) is refused with a message rather than passed on to the task: the task runs
//! in its own process group (so a terminal's Ctrl-C reaches the runner, which stops it in
//! order), so suspending the runner alone would leave the migration running unsupervised while
//! its lock's lease runs out; and suspending the task too would keep its database transaction,
//! and the locks it holds on the application's tables, open for as long as the shell keeps the
//! job stopped. SIGSTOP cannot be refused: the lock then refuses a takeover while the task's
//! process group lives (`crate::ports::lock::FileLockTable`).

use tokio::signal::unix::{signal, Signal, SignalKind};

/// A signal that asks the run to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopSignal {
    Interrupt,
    Terminate,
    Hangup,
}

impl StopSignal {
    /// The signal's number (2, 15, 1).
    pub(crate) fn number(self) -> i32 {
        match self {
            Self::Interrupt => libc::SIGINT,
            Self::Terminate => libc::SIGTERM,
            Self::Hangup => libc::SIGHUP,
        }
    }

    /// How the message names it: `SIGINT (Ctrl-C)`, `SIGTERM`, `SIGHUP`.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::Interrupt => "SIGINT (Ctrl-C)",
            Self::Terminate => "SIGTERM",
            Self::Hangup => "SIGHUP",
        }
    }
}

/// Listens for the three stop signals from creation on: a signal that arrives before
/// [`StopSignals::next`] is polled is kept, not lost.
pub(crate) struct StopSignals {
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
}

impl StopSignals {
    /// Installs the handlers. From here on the signals no longer end the process by
    /// themselves: the caller must act on them.
    pub(crate) fn listen() -> std::io::Result<Self> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    /// The next stop signal received.
    pub(crate) async fn next(&mut self) -> StopSignal {
        // `recv` yields None only when the signal driver is gone; then no signal will come.
        tokio::select! {
            Some(()) = self.interrupt.recv() => StopSignal::Interrupt,
            Some(()) = self.terminate.recv() => StopSignal::Terminate,
            Some(()) = self.hangup.recv() => StopSignal::Hangup,
            else => std::future::pending().await,
        }
    }
}

/// Catches SIGTSTP (Ctrl-Z) from now on, so it no longer suspends the process; the caller says
/// why on each one ([`SUSPEND_REFUSED`]).
pub(crate) fn catch_suspend() -> std::io::Result<Signal> {
    signal(SignalKind::from_raw(libc::SIGTSTP))
}

/// What a refused Ctrl-Z prints.
pub(crate) const SUSPEND_REFUSED: &str = "Ctrl-Z (SIGTSTP) ignored: ecs-migrate local does not suspend while a migration runs, as its task would go on unsupervised (or, stopped with it, hold its database locks) while the migration lock's lease runs out; press Ctrl-C to stop the migration";
