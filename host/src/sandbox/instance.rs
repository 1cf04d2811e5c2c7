//! One instance of a plugin, for one test: its store (WASI, wasi:http, the
//! resource table, the quota, the log) and its calls, each under the
//! deadline, every way one can fail turned into a [`PluginError`].

use std::time::{Duration, Instant};

use wasmtime::Store;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::component::Component;
use super::errors::{self, PluginError};
use super::output::{self, CapturedOutput, LogBuffer, LogLine};
use super::quota::Quota;
use super::{Limits, bindings, wb, wit, write_back_bindings};
use crate::network::http::HttpHooks;

/// What a plugin instance owns.
pub struct PluginState {
    pub(super) wasi: WasiCtx,
    pub(super) http: WasiHttpCtx,
    pub(crate) hooks: HttpHooks,
    pub(super) table: ResourceTable,
    pub(super) limits: Quota,
    pub(super) logs: LogBuffer,
    pub(super) deadline: Instant,
    /// The run's CPU budget, watched during each call.
    pub(super) cpu: Option<CpuWatch>,
}

/// A CPU budget as one instance watches it.
pub(super) struct CpuWatch {
    pub(super) budget: super::CpuBudget,
    /// The thread's CPU clock when the current call started.
    pub(super) call_start: std::time::Duration,
    /// Set when a tick found the budget used up and stopped the call.
    pub(super) exceeded: bool,
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for PluginState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

impl bindings::ctest::connector::host::Host for PluginState {
    fn log(&mut self, level: wit::LogLevel, message: String) -> wasmtime::Result<()> {
        self.logs.push(level_name(level), &message);
        Ok(())
    }
}

impl wit::Host for PluginState {}

pub fn level_name(level: wit::LogLevel) -> &'static str {
    match level {
        wit::LogLevel::Trace => "trace",
        wit::LogLevel::Debug => "debug",
        wit::LogLevel::Info => "info",
        wit::LogLevel::Warn => "warn",
        wit::LogLevel::Error => "error",
        wit::LogLevel::Fatal => "fatal",
    }
}
type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// One instance of a plugin, for one test.
pub struct Plugin<'s> {
    pub(super) component: &'s Component,
    pub(super) store: Store<PluginState>,
    pub(super) bindings: Option<bindings::Connector>,
    pub(super) writer: Option<write_back_bindings::TestUtils>,
    pub(super) limits: Limits,
    pub(super) stdout: CapturedOutput,
    pub(super) stderr: CapturedOutput,
    /// Set once a call failed in a way that leaves the instance unusable.
    pub(super) poisoned: Option<String>,
    /// The bytes logged and written to stdout and stderr already counted.
    pub(super) output_counted: u64,
    /// The tenant's instance slot this instance holds, if the tenant has a quota.
    pub(super) _slot: Option<super::InstanceSlot>,
}

impl<'s> Plugin<'s> {
    /// Runs one call against the store under the deadline, turning every way it
    /// can fail into a [`PluginError`].
    pub(super) fn call<R>(
        &mut self,
        what: &str,
        f: impl for<'a> FnOnce(&'a mut Store<PluginState>) -> BoxFuture<'a, wasmtime::Result<R>>,
    ) -> Result<R, PluginError> {
        if let Some(reason) = &self.poisoned {
            return Err(PluginError::Unusable {
                call: what.to_string(),
                reason: reason.clone(),
            });
        }
        if let Ok(mut call) = self.store.data().hooks.call.lock() {
            what.clone_into(&mut call);
        }
        let deadline = self.store.data().deadline;
        let remaining = deadline.saturating_duration_since(Instant::now());
        // The epoch callback interrupts wasm at the deadline; the timer catches a
        // plugin stuck in a host call (a sleep, a poll). A little grace lets the
        // cleaner of the two fire first.
        let grace = Duration::from_millis(250);
        let cpu = crate::usage::thread_cpu_time();
        if let Some(watch) = &mut self.store.data_mut().cpu {
            if watch.budget.exhausted_with(Duration::ZERO) {
                let e = PluginError::CpuBudget {
                    call: what.to_string(),
                    limit: watch.budget.limit,
                };
                self.poisoned = Some(e.to_string());
                return Err(e);
            }
            watch.call_start = cpu;
            watch.exceeded = false;
        }
        if let Some(budget) = &self.limits.output_budget
            && budget.exceeded()
        {
            let e = PluginError::OutputQuota {
                call: what.to_string(),
                limit: budget.limit,
            };
            self.poisoned = Some(e.to_string());
            return Err(e);
        }
        let store = &mut self.store;
        let runtime = &self.component.loaded.host.runtime;
        // A panic in host code serving the plugin (WASI, a host import) is a bug
        // of ctest's, but it must still end as this test's failure, not the run's.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            runtime.block_on(async { tokio::time::timeout(remaining + grace, f(store)).await })
        }));
        // What the call took of the thread's CPU goes to the test's
        // accounting and to the run's budget.
        let spent = crate::usage::thread_cpu_time().saturating_sub(cpu);
        let state = self.store.data();
        state.hooks.network.usage().add_cpu(spent);
        let over_budget = state.cpu.as_ref().and_then(|watch| {
            watch.budget.add(spent);
            watch.exceeded.then_some(watch.budget.limit)
        });
        let over_output = !self.count_output(0);
        let result = match outcome {
            Ok(Ok(Ok(_))) if over_output => Err(PluginError::OutputQuota {
                call: what.to_string(),
                limit: self.limits.output_budget.as_ref().map_or(0, |b| b.limit),
            }),
            Err(panic) => Err(PluginError::HostFault {
                call: what.to_string(),
                message: panic_message(&panic),
            }),
            Ok(Err(_elapsed)) => Err(PluginError::Timeout {
                call: what.to_string(),
            }),
            Ok(Ok(Ok(value))) => return Ok(value),
            Ok(Ok(Err(_))) if over_budget.is_some() => Err(PluginError::CpuBudget {
                call: what.to_string(),
                limit: over_budget.unwrap_or_default(),
            }),
            Ok(Ok(Err(error))) => Err(errors::classify(
                what,
                error,
                &self.limits,
                &self.store.data().logs,
                &self.stderr,
                Instant::now() >= deadline,
                &|| self.component.loaded.language(),
            )),
        };
        if let Err(e) = &result {
            self.poisoned = Some(e.to_string());
        }
        result
    }

    /// Counts what the plugin logged and wrote since the last count, and
    /// `more` bytes (a read's messages), towards the test's accounting and
    /// the run's output quota: `false` when the run is now over it.
    pub(super) fn count_output(&mut self, more: u64) -> bool {
        let written =
            self.store.data().logs.written + self.stdout.written() + self.stderr.written();
        let bytes = written.saturating_sub(self.output_counted) + more;
        self.output_counted = written;
        if bytes == 0 {
            return self
                .limits
                .output_budget
                .as_ref()
                .is_none_or(|b| !b.exceeded());
        }
        self.store.data().hooks.network.usage().add_output(bytes);
        self.limits
            .output_budget
            .as_ref()
            .is_none_or(|b| !b.add(bytes))
    }

    pub(super) fn source(&self) -> &bindings::exports::ctest::connector::source::Guest {
        self.bindings
            .as_ref()
            .expect("instantiate sets the bindings")
            .ctest_connector_source()
    }

    fn writer(&self) -> Result<wb::Guest, PluginError> {
        self.writer
            .as_ref()
            .map(|w| w.ctest_connector_write_back().clone())
            .ok_or_else(|| PluginError::Unusable {
                call: "write-back".into(),
                reason: "the component does not export `write-back`".into(),
            })
    }

    /// write-back: the tables rows can be written to.
    pub fn insertable_tables(
        &mut self,
        config: &str,
    ) -> Result<Result<Vec<String>, wit::ConnectorError>, PluginError> {
        let writer = self.writer()?;
        let config = config.to_string();
        self.call("insertable-tables", move |store| {
            Box::pin(async move { writer.call_insertable_tables(store, &config).await })
        })
    }

    /// write-back: the tables rows can be deleted from.
    pub fn deletable_tables(
        &mut self,
        config: &str,
    ) -> Result<Result<Vec<String>, wit::ConnectorError>, PluginError> {
        let writer = self.writer()?;
        let config = config.to_string();
        self.call("deletable-tables", move |store| {
            Box::pin(async move { writer.call_deletable_tables(store, &config).await })
        })
    }

    /// write-back: writes `count` rows to `table` (`delete`: deletes them).
    pub fn change_rows(
        &mut self,
        delete: bool,
        config: &str,
        table: &str,
        count: u32,
        tag: &str,
    ) -> Result<Result<wb::ChangedRows, wit::ConnectorError>, PluginError> {
        let writer = self.writer()?;
        let (config, table, tag) = (config.to_string(), table.to_string(), tag.to_string());
        let what = if delete { "delete-rows" } else { "write-rows" };
        self.call(what, move |store| {
            Box::pin(async move {
                if delete {
                    writer
                        .call_delete_rows(store, &config, &table, count, &tag)
                        .await
                } else {
                    writer
                        .call_write_rows(store, &config, &table, count, &tag)
                        .await
                }
            })
        })
    }

    pub fn spec(&mut self) -> Result<wit::ConnectorSpec, PluginError> {
        let source = self.source().clone();
        self.call("spec", move |store| {
            Box::pin(async move { source.call_spec(store).await })
        })
    }

    pub fn check(
        &mut self,
        config: &str,
    ) -> Result<Result<wit::CheckOutcome, wit::ConnectorError>, PluginError> {
        let source = self.source().clone();
        let config = config.to_string();
        self.call("check", move |store| {
            Box::pin(async move { source.call_check(store, &config).await })
        })
    }

    pub fn discover(
        &mut self,
        config: &str,
    ) -> Result<Result<wit::Catalog, wit::ConnectorError>, PluginError> {
        let source = self.source().clone();
        let config = config.to_string();
        self.call("discover", move |store| {
            Box::pin(async move { source.call_discover(store, &config).await })
        })
    }

    /// Everything the plugin logged so far: `host.log` lines, then stdout and stderr.
    pub fn logs(&self) -> Vec<LogLine> {
        let logs = &self.store.data().logs;
        let mut lines = logs.lines.clone();
        if logs.dropped > 0 {
            lines.push(LogLine {
                level: "log".to_string(),
                message: format!(
                    "[{} more log lines dropped: the log is capped per instance]",
                    logs.dropped
                ),
            });
        }
        for (name, out) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            let (text, dropped) = out.text();
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                lines.push(LogLine {
                    level: name.to_string(),
                    message: output::clip_line(line),
                });
            }
            if dropped > 0 {
                lines.push(LogLine {
                    level: name.to_string(),
                    message: format!(
                        "[{dropped} more bytes dropped: output is capped per instance]"
                    ),
                });
            }
        }
        lines
    }
}

impl Drop for Plugin<'_> {
    /// The instance's peak memory goes to its test's accounting.
    fn drop(&mut self) {
        let state = self.store.data();
        state
            .hooks
            .network
            .usage()
            .note_memory(state.limits.peak as u64);
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}
