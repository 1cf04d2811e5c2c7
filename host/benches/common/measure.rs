//! Running a command and measuring it: wall time, CPU time and peak RSS of
//! it and every descendant it waited for (wait4's rusage).

// Each bench uses the parts it needs.
#![allow(dead_code)]

use std::process::Command;
use std::time::{Duration, Instant};

/// What one command took.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    pub wall: Duration,
    /// User and system CPU time, the command's and its reaped children's.
    pub cpu: Duration,
    /// The largest peak RSS of the command or one of its children, in bytes.
    pub max_rss: u64,
    pub code: i32,
}

/// Runs `command` (its output thrown away) and measures it.
// The child is reaped by wait4, which also reports its resource usage.
#[allow(clippy::zombie_processes)]
pub fn measure(command: &mut Command) -> Measured {
    let started = Instant::now();
    let child = command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn the command");
    let mut status = 0;
    // SAFETY: a plain rusage struct is valid when zeroed; wait4 reaps exactly
    // this child (std's `Child` is not waited on afterwards).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t, "wait4 failed");
    let wall = started.elapsed();
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Measured {
        wall,
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
        // ru_maxrss is in KiB on Linux.
        max_rss: usage.ru_maxrss as u64 * 1024,
        code,
    }
}

/// The median of `v`.
pub fn median<T: Ord + Copy>(mut v: Vec<T>) -> T {
    v.sort();
    v[v.len() / 2]
}
