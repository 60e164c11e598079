//! What keeps a task from outliving its runner. A runner that is killed outright (SIGKILL, the
//! OOM killer, a crash) cannot stop its tasks, and a task leads its own process group, so
//! nothing else would end it either: it would run on under init, as an orphaned migration.
//!
//! Two measures, both Linux-only:
//! - the task's main process gets a parent-death signal (SIGKILL when the runner dies), set
//!   between fork and exec ([`kill_with_parent`]);
//! - a watchdog process per task ([`GroupGuard`]) blocks reading a pipe whose only write end
//!   the runner holds. When the runner dies the kernel closes that end, the read returns end
//!   of file, and the watchdog kills the task's whole process group (the parent-death signal
//!   reaches only the main process, not what it started). A runner that cleans up itself
//!   writes one byte first, and the watchdog exits without killing anything.
//!
//! The watchdog is forked without exec, so between fork and exit it calls only
//! async-signal-safe functions (fork(2) in a multithreaded process allows no more).

// The crate denies unsafe code (Cargo.toml [lints]); fork(2), pipe2(2) and the watchdog's signals are libc calls.
#![allow(unsafe_code)]

use std::io;

/// A watchdog that kills process group `pgid` if this process dies while the guard lives.
#[derive(Debug)]
pub struct GroupGuard {
    #[cfg(target_os = "linux")]
    release: Option<std::os::fd::OwnedFd>,
}

impl GroupGuard {
    /// Starts the watchdog for group `pgid`.
    #[cfg(target_os = "linux")]
    pub fn watch(pgid: i32) -> io::Result<Self> {
        use std::os::fd::{FromRawFd, OwnedFd};

        if pgid <= 1 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no process group to watch",
            ));
        }
        let mut fds = [0; 2];
        // SAFETY: pipe2 writes two descriptors into the array it is given.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: both descriptors were just created and are owned here alone.
        let (read_end, write_end) =
            unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // SAFETY: the child runs only async-signal-safe calls (see `watchdog`) and never
        // returns into Rust code of this process.
        match unsafe { libc::fork() } {
            -1 => Err(io::Error::last_os_error()),
            0 => unsafe { watchdog(fds[0], pgid) },
            intermediate => {
                drop(read_end);
                // The intermediate process exits at once; reap it so no zombie is left.
                loop {
                    // SAFETY: waits for our own child; a null status pointer is allowed.
                    let reaped = unsafe { libc::waitpid(intermediate, std::ptr::null_mut(), 0) };
                    if reaped != -1
                        || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted
                    {
                        break;
                    }
                }
                Ok(Self {
                    release: Some(write_end),
                })
            }
        }
    }

    /// Without Linux there is no watchdog.
    #[cfg(not(target_os = "linux"))]
    pub fn watch(_pgid: i32) -> io::Result<Self> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "the orphan watchdog needs Linux",
        ))
    }

    /// The runner has ended the group itself: the watchdog exits without killing.
    pub fn release(mut self) {
        #[cfg(target_os = "linux")]
        if let Some(fd) = self.release.take() {
            use std::io::Write;
            let mut pipe = std::fs::File::from(fd);
            let _ = pipe.write_all(&[1]);
        }
        #[cfg(not(target_os = "linux"))]
        let _ = &mut self;
    }
}

/// The forked child: forks again so the watchdog is no child of the runner (init reaps it, and
/// the runner's `waitpid` returns at once), leaves the runner's session so signals sent to the
/// runner's group (a terminal's Ctrl-C, `timeout -s KILL`) do not reach it, then waits.
///
/// # Safety
/// Must be called only in a freshly forked child; never returns.
#[cfg(target_os = "linux")]
unsafe fn watchdog(read_end: i32, pgid: i32) -> ! {
    if libc::fork() != 0 {
        libc::_exit(0);
    }
    libc::setsid();
    // Only the pipe stays open: the runner's stdout and other pipes must not be held.
    if libc::dup2(read_end, 0) == -1 {
        libc::_exit(1);
    }
    let max_fd = libc::c_uint::MAX;
    if libc::syscall(
        libc::SYS_close_range,
        1 as libc::c_uint,
        max_fd,
        0 as libc::c_uint,
    ) != 0
    {
        for fd in 1..4096 {
            libc::close(fd);
        }
    }
    let mut byte = 0u8;
    loop {
        let read = libc::read(0, (&mut byte as *mut u8).cast(), 1);
        if read == 1 {
            libc::_exit(0);
        }
        if read == -1 && *libc::__errno_location() == libc::EINTR {
            continue;
        }
        break;
    }
    libc::killpg(pgid, libc::SIGKILL);
    libc::_exit(0)
}

/// Sets, in a child between fork and exec, SIGKILL as its parent-death signal; if the parent
/// (`parent`, this process) already died the child ends itself at once.
///
/// # Safety
/// Only in a `pre_exec` closure: calls async-signal-safe functions only.
#[cfg(target_os = "linux")]
pub unsafe fn kill_with_parent(parent: i32) -> io::Result<()> {
    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
        return Err(io::Error::last_os_error());
    }
    if libc::getppid() != parent {
        libc::_exit(137);
    }
    Ok(())
}
