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
}
