//! Fault injection, for the crash tests only.
//!
//! With `QUALDEX_FAULT=<point>:<n>` in the environment, the process stops
//! dead the `n`-th time the index code reaches `<point>` (a name passed to
//! [`point`]), as a `kill -9` would stop it: no destructor runs, nothing
//! buffered is flushed, every file is left as it is on disk. The crash tests
//! use it to interrupt an update at each step and check that the next
//! command recovers. Unset (always, outside tests), a point costs one look
//! at a flag read once per process.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// The environment variable that arms a fault.
pub const VAR: &str = "QUALDEX_FAULT";

/// The armed point and the hit that stops the process.
fn plan() -> Option<&'static (String, u32)> {
    static PLAN: OnceLock<Option<(String, u32)>> = OnceLock::new();
    PLAN.get_or_init(|| {
        let spec = std::env::var(VAR).ok()?;
        let (name, n) = spec.rsplit_once(':')?;
        Some((name.to_string(), n.parse().ok().filter(|&n| n > 0)?))
    })
    .as_ref()
}

/// Marks a step of an update where a crash must be survivable.
pub fn point(name: &str) {
    static HITS: AtomicU32 = AtomicU32::new(0);
    let Some((armed, n)) = plan() else {
        return;
    };
    if armed == name && HITS.fetch_add(1, Ordering::SeqCst) + 1 == *n {
        die();
    }
}

#[cfg(target_os = "linux")]
fn die() -> ! {
    // SAFETY: sends SIGKILL to this process, which ends it at once.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
    std::process::abort()
}

#[cfg(not(target_os = "linux"))]
fn die() -> ! {
    std::process::abort()
}
