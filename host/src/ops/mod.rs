//! Operations on a plugin, apart from the suites that use them: read all
//! (streamed to a consumer under the rules every read keeps), read one
//! stream from a state, write or delete rows through a write-back export.
//! Each runs on fresh instances from a test's [`TestCtx`]; the suites use
//! them now, and a scenario runner can use them the same way.

pub mod read;
pub mod write;

use std::time::{Duration, Instant};

use crate::network::TestNetwork;
use crate::redact::Redactor;
use crate::sandbox::{Component, Limits, LogLine, Plugin, PluginError};

/// The context one test's operations run in: fresh instances of the plugin
/// (and of other components) under the test's limits, deadline and network,
/// and what they logged and leaked.
pub struct TestCtx<'r> {
    pub(crate) component: &'r Component,
    pub(crate) limits: &'r Limits,
    /// How long each call, or each read, of the test may take: each has
    /// its own limit, not a share of one for the whole test.
    pub(crate) time_limit: Duration,
    /// When the run's wall-time quota runs out, if it has one: nothing, not
    /// even a scenario's cleanup, runs past it.
    pub(crate) run_deadline: Option<Instant>,
    /// What the test's instances logged, for the report.
    pub(crate) logs: Vec<LogLine>,
    pub(crate) network: TestNetwork,
    /// Finds secrets in what the plugin returns ([`Redactor::leak`]).
    pub(crate) secrets: Redactor,
    /// Where this test's reads carried a secret.
    pub(crate) leaks: Vec<String>,
    /// Where reads count their records for the console's progress line.
    pub(crate) progress: Option<std::sync::Arc<crate::report::Progress>>,
}

impl<'r> TestCtx<'r> {
    /// When a call or read starting now must end: its time limit from now,
    /// cut short by the run's quota.
    pub(crate) fn deadline(&self) -> Instant {
        let own = Instant::now() + self.time_limit;
        self.run_deadline.map_or(own, |end| own.min(end))
    }

    /// A fresh instance of the plugin, for a call or a read starting now.
    pub fn instance(&self) -> Result<Plugin<'r>, PluginError> {
        self.component
            .instantiate(self.limits, self.deadline(), &self.network)
    }

    /// A fresh instance of another component (the test-utils), under the
    /// same limits and network.
    pub fn instance_of<'s>(&self, component: &'s Component) -> Result<Plugin<'s>, PluginError> {
        component.instantiate(self.limits, self.deadline(), &self.network)
    }

    /// Keeps what `plugin` logged, for the report.
    pub fn keep_logs(&mut self, plugin: &Plugin<'_>) {
        self.logs.extend(plugin.logs());
    }

    /// Runs `work` on each of `jobs`, each on a context of this test (same
    /// plugin, limits, time limit and network), several at once when the
    /// test's reads may share the machine (`at_once`; as many as
    /// [`Limits::at_once`] allows). The answers come back in the order
    /// of `jobs`, and the jobs' logs and leaks join this test's in that
    /// order too: what the test reports does not depend on which finished
    /// first.
    pub(crate) fn side_by_side<J: Sync, A: Send>(
        &mut self,
        jobs: &[J],
        at_once: bool,
        work: impl Fn(&mut TestCtx<'r>, &J) -> A + Sync,
    ) -> Vec<A> {
        let threads = if at_once { self.limits.at_once() } else { 1 };
        if threads <= 1 || jobs.len() <= 1 {
            return jobs.iter().map(|j| work(self, j)).collect();
        }
        let next = std::sync::atomic::AtomicUsize::new(0);
        let this: &TestCtx<'r> = self;
        let done: Vec<Vec<(usize, A, TestCtx<'r>)>> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads.min(jobs.len()))
                .map(|_| {
                    let (next, work) = (&next, &work);
                    scope.spawn(move || {
                        let mut done = Vec::new();
                        loop {
                            let at = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(job) = jobs.get(at) else {
                                return done;
                            };
                            let mut ctx = this.beside();
                            let answer = work(&mut ctx, job);
                            done.push((at, answer, ctx));
                        }
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
        let mut done: Vec<(usize, A, TestCtx<'r>)> = done.into_iter().flatten().collect();
        done.sort_by_key(|(at, _, _)| *at);
        done.into_iter()
            .map(|(_, answer, ctx)| {
                self.logs.extend(ctx.logs);
                self.leaks.extend(ctx.leaks);
                answer
            })
            .collect()
    }

    /// A context beside this one: the same plugin, limits, time limit and
    /// network (its usage counts for this test), no logs or leaks yet.
    fn beside(&self) -> TestCtx<'r> {
        TestCtx {
            component: self.component,
            limits: self.limits,
            time_limit: self.time_limit,
            run_deadline: self.run_deadline,
            logs: Vec::new(),
            network: self.network.clone(),
            secrets: self.secrets.clone(),
            leaks: Vec::new(),
            progress: self.progress.clone(),
        }
    }
}
