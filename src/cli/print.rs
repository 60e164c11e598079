//! Writing to standard output and error without panicking. A reader that closed the pipe
//! (`ecs-migrate asl graph f.json | head -c1`) wanted no more, and a closed terminal is no
//! reason to fail what already happened (a started execution, a released lock): a failed write
//! is dropped, never a panic as `println!` and `eprintln!` make it (exit 101).

use std::io::Write;

/// `text` and a line break on standard output.
pub(crate) fn stdout_line(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}

/// `text` as it is on standard output.
pub(crate) fn stdout_text(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "{text}").and_then(|()| out.flush());
}

/// `text` and a line break on standard error.
pub(crate) fn stderr_line(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}
