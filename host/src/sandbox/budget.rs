//! Quotas shared by more than one instance: a run's CPU time and output
//! bytes (every instance of the run draws on them), and the instances a
//! tenant may hold at once (every job of the tenant draws on them). Clones
//! share what was used.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// A run's CPU budget: what its plugin calls may take together, on the
/// threads that run them (the thread's CPU clock, read around each call and
/// at each epoch tick within one, so a call that spins is stopped at the
/// budget).
#[derive(Debug, Clone)]
pub struct CpuBudget {
    pub limit: Duration,
    used_ns: Arc<AtomicU64>,
}

impl CpuBudget {
    pub fn new(limit: Duration) -> CpuBudget {
        CpuBudget {
            limit,
            used_ns: Default::default(),
        }
    }

    /// The CPU time the run's calls took so far.
    pub fn used(&self) -> Duration {
        Duration::from_nanos(self.used_ns.load(Ordering::Relaxed))
    }

    pub(super) fn add(&self, cpu: Duration) {
        self.used_ns
            .fetch_add(cpu.as_nanos() as u64, Ordering::Relaxed);
    }

    /// Whether the budget is used up, counting `running` more.
    pub(super) fn exhausted_with(&self, running: Duration) -> bool {
        self.used() + running >= self.limit
    }
}

/// A run's output quota: the bytes its plugin may send the host in all,
/// counting every message a read returns and everything logged or written
/// to stdout and stderr (kept or not).
#[derive(Debug, Clone)]
pub struct OutputBudget {
    pub limit: u64,
    used: Arc<AtomicU64>,
}

impl OutputBudget {
    pub fn new(limit: u64) -> OutputBudget {
        OutputBudget {
            limit,
            used: Default::default(),
        }
    }

    /// The bytes counted so far.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// Whether the run is over its quota.
    pub(super) fn exceeded(&self) -> bool {
        self.used() > self.limit
    }

    /// Counts `bytes` more; whether the run is now over its quota.
    pub(super) fn add(&self, bytes: u64) -> bool {
        self.used.fetch_add(bytes, Ordering::Relaxed) + bytes > self.limit
    }
}

/// The instances a tenant may hold at once. An instance takes a slot when it
/// is made and gives it back when dropped; one that finds none free fails at
/// once (it does not wait: a verdict never depends on how long another job
/// holds its slot). `ctest batch` starts no more of a tenant's jobs at once
/// than it has slots, and a job holds one instance at a time, so the quota
/// stops only a job that would hold more.
#[derive(Debug, Clone)]
pub struct InstanceSlots {
    pub limit: usize,
    live: Arc<AtomicUsize>,
}

/// A slot taken; given back on drop.
#[derive(Debug)]
pub struct InstanceSlot {
    live: Arc<AtomicUsize>,
}

impl InstanceSlots {
    pub fn new(limit: usize) -> InstanceSlots {
        InstanceSlots {
            limit,
            live: Default::default(),
        }
    }

    /// A free slot, or `None` when all `limit` are taken.
    pub fn take(&self) -> Option<InstanceSlot> {
        self.live
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.limit).then_some(n + 1)
            })
            .ok()
            .map(|_| InstanceSlot {
                live: self.live.clone(),
            })
    }

    /// The slots taken now.
    pub fn in_use(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }
}

impl Drop for InstanceSlot {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_taken_up_to_the_limit_and_given_back_on_drop() {
        let slots = InstanceSlots::new(2);
        let a = slots.take().expect("first");
        let b = slots.clone().take().expect("second, through a clone");
        assert!(slots.take().is_none(), "a third is over the limit");
        assert_eq!(slots.in_use(), 2);
        drop(a);
        let c = slots.take().expect("a slot given back is free again");
        drop((b, c));
        assert_eq!(slots.in_use(), 0);
    }

    #[test]
    fn the_output_budget_says_when_it_is_passed() {
        let budget = OutputBudget::new(10);
        assert!(!budget.add(6));
        assert!(!budget.clone().add(4), "exactly the limit is allowed");
        assert!(budget.add(1));
        assert_eq!(budget.used(), 11);
    }
}
