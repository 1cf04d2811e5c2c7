//! What a test's plugin used, counted as it runs: CPU time of its calls,
//! peak linear memory, instances, HTTP requests and bytes, cassette hits,
//! output bytes.
//! One [`Usage`] per test, shared by the test's instances and its network;
//! reported per test as [`Resources`], and summed per job by `ctest batch`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The live counters of one test.
#[derive(Debug, Default)]
pub struct Usage {
    cpu_ns: AtomicU64,
    checks_cpu_ns: AtomicU64,
    peak_memory_bytes: AtomicU64,
    instances: AtomicU64,
    http_requests: AtomicU64,
    http_bytes: AtomicU64,
    cassette_hits: AtomicU64,
    output_bytes: AtomicU64,
}

impl Usage {
    /// CPU time a call of the plugin took on the thread that ran it.
    pub fn add_cpu(&self, cpu: Duration) {
        self.cpu_ns
            .fetch_add(cpu.as_nanos() as u64, Ordering::Relaxed);
    }

    /// CPU time ctest's checks of a read's messages took, on their thread.
    pub fn add_checks_cpu(&self, cpu: Duration) {
        self.checks_cpu_ns
            .fetch_add(cpu.as_nanos() as u64, Ordering::Relaxed);
    }

    /// An instance was made.
    pub fn add_instance(&self) {
        self.instances.fetch_add(1, Ordering::Relaxed);
    }

    /// An instance's memories and tables reached `bytes` at their largest.
    pub fn note_memory(&self, bytes: u64) {
        self.peak_memory_bytes.fetch_max(bytes, Ordering::Relaxed);
    }

    /// An HTTP request was answered: `bytes` of request and response body,
    /// from a cassette when `replayed`.
    pub fn add_http(&self, bytes: u64, replayed: bool) {
        self.http_requests.fetch_add(1, Ordering::Relaxed);
        self.http_bytes.fetch_add(bytes, Ordering::Relaxed);
        if replayed {
            self.cassette_hits.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The plugin sent the host `bytes` more: messages, logs, stdout, stderr.
    pub fn add_output(&self, bytes: u64) {
        self.output_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// The counts so far.
    pub fn resources(&self) -> Resources {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Resources {
            cpu_ms: get(&self.cpu_ns) / 1_000_000,
            checks_cpu_ms: get(&self.checks_cpu_ns) / 1_000_000,
            peak_memory_bytes: get(&self.peak_memory_bytes),
            instances: get(&self.instances),
            http_requests: get(&self.http_requests),
            http_bytes: get(&self.http_bytes),
            cassette_hits: get(&self.cassette_hits),
            output_bytes: get(&self.output_bytes),
        }
    }
}

/// What a test (or a job: the sum of its tests) used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    /// CPU time of the plugin's calls, on the threads that ran them.
    pub cpu_ms: u64,
    /// CPU time ctest's checks of the test's reads took, on the thread that
    /// checks each read's messages as they stream (beside `cpu_ms`, it says
    /// which side a read waited for). Absent in reports older than it.
    #[serde(default)]
    pub checks_cpu_ms: u64,
    /// The most linear memory and table space one instance held.
    pub peak_memory_bytes: u64,
    pub instances: u64,
    /// HTTP requests answered, live or from a cassette.
    pub http_requests: u64,
    /// Request and response body bytes of those requests.
    pub http_bytes: u64,
    /// Requests answered from a cassette.
    pub cassette_hits: u64,
    /// Bytes the plugin sent the host: the messages of its reads, its log
    /// lines, stdout and stderr.
    pub output_bytes: u64,
}

impl Resources {
    /// Whether nothing was used (no instance was made).
    pub fn is_zero(&self) -> bool {
        *self == Resources::default()
    }

    /// `self` and `other` together: counts add up, the peak is the larger.
    pub fn add(&mut self, other: &Resources) {
        self.cpu_ms += other.cpu_ms;
        self.checks_cpu_ms += other.checks_cpu_ms;
        self.peak_memory_bytes = self.peak_memory_bytes.max(other.peak_memory_bytes);
        self.instances += other.instances;
        self.http_requests += other.http_requests;
        self.http_bytes += other.http_bytes;
        self.cassette_hits += other.cassette_hits;
        self.output_bytes += other.output_bytes;
    }
}

/// The CPU time the calling thread has used.
pub fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given; the clock is
    // one Linux always has.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } == 0;
    if !ok {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_sums_its_tests_counts_and_keeps_the_largest_peak() {
        let usage = Usage::default();
        usage.add_instance();
        usage.note_memory(100);
        usage.note_memory(50);
        usage.add_http(10, false);
        usage.add_http(5, true);
        usage.add_cpu(Duration::from_millis(3));
        usage.add_checks_cpu(Duration::from_millis(2));
        usage.add_output(7);
        let one = usage.resources();
        assert_eq!(
            one,
            Resources {
                cpu_ms: 3,
                checks_cpu_ms: 2,
                peak_memory_bytes: 100,
                instances: 1,
                http_requests: 2,
                http_bytes: 15,
                cassette_hits: 1,
                output_bytes: 7,
            }
        );
        let mut job = Resources {
            peak_memory_bytes: 400,
            ..Resources::default()
        };
        job.add(&one);
        job.add(&one);
        assert_eq!(
            (
                job.instances,
                job.http_requests,
                job.cpu_ms,
                job.checks_cpu_ms
            ),
            (2, 4, 6, 4)
        );
        assert_eq!(job.peak_memory_bytes, 400);
        assert!(Resources::default().is_zero() && !one.is_zero());
        // The calling thread's CPU time moves when it works.
        let before = thread_cpu_time();
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_add(i * i);
        }
        std::hint::black_box(x);
        assert!(thread_cpu_time() > before);
    }
}
