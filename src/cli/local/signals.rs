//! The signals that stop `ecs-migrate local`: Ctrl-C (SIGINT), SIGTERM (CI job cancellation,
//! `timeout`, `docker stop`) and SIGHUP (the terminal went away). All three stop the task the
//! same way; the command then exits 128 + the signal's number, as a shell reports a process
//! the signal ended.

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
