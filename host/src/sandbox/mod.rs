//! The sandbox: loads a plugin component into wasmtime and runs its calls under
//! limits.
//!
//! - One [`Sandbox`] per plugin file: the engine, the compiled component (from the
//!   on-disk [`CompileCache`]) and a pre-instantiated linker.
//! - One [`Plugin`] per test: a fresh store and instance, so no state leaks between
//!   tests. It gets no preopened directory, an empty environment, no arguments, an
//!   empty stdin, captured stdout and stderr, and only the network its
//!   [`TestNetwork`] allows (wasi:http, TCP, UDP and name lookups alike).
//! - Every call runs under the [`Limits`]: a wall-clock deadline (epoch
//!   interruption inside wasm, a timer around host calls), a memory cap, and caps on
//!   the size and number of messages a read may return. Whatever the plugin does,
//!   the host gets a [`PluginError`] back, never a panic or a hang.

mod cache;
mod compile;
mod contract;
mod errors;
mod language;
mod name_lookup;
mod output;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{Engine, ResourceLimiter, Store, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::network::TestNetwork;
use crate::network::http::HttpHooks;

pub use cache::{CacheOutcome, CompileCache, DEFAULT_COMPILE_TIMEOUT};
pub use compile::compile_in_child_processes;
pub use contract::CONTRACT_VERSION;
pub use errors::{ConnectorError, LoadError, LoadFailure, PluginError};
pub use language::Language;
pub use output::{CapturedOutput, LogLine, clip_to};

use output::LogBuffer;

/// Host bindings generated from the contract in `wit/`.
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "connector",
        imports: { default: trappable },
        exports: { default: async },
    });
}

/// Host bindings of the `write-back` export (the `test-utils` world), sharing
/// the contract's types and `host` import with [`bindings`].
pub mod write_back_bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "test-utils",
        imports: { default: trappable },
        exports: { default: async },
        with: {
            "ctest:connector/types": super::bindings::ctest::connector::types,
            "ctest:connector/host": super::bindings::ctest::connector::host,
        },
    });
}

use bindings::ctest::connector::types as wit;
use write_back_bindings::exports::ctest::connector::write_back as wb;

/// What a loaded component is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A connector: exports `source` (and possibly `write-back`).
    Connector,
    /// A test-utils component (`--test-utils`): exports `write-back`.
    TestUtils,
}

/// The most host resources (wasi:http fields, requests, bodies, streams,
/// pollables, sockets) and component handles one instance may hold at once.
/// The first-party plugins hold a few dozen; a plugin that leaks one per
/// request fails with a clear message instead of growing the host.
pub const MAX_HOST_RESOURCES: usize = 4096;

/// The bytes one wasi:http header block may hold: with
/// [`MAX_HOST_RESOURCES`], the host memory an instance's headers take is
/// bounded (4096 × 16 KiB = 64 MiB at the very most).
pub const MAX_FIELDS_BYTES: usize = 16 << 10;

/// The most bytes one call may copy from the guest into the host: a read
/// batch, a catalog, a check's message.
pub const COPY_BUDGET: usize = 128 << 20;

/// The most elements one table may have; each counts 8 bytes against the
/// memory limit as well.
pub const MAX_TABLE_ELEMENTS: usize = 1 << 20;

/// The memory quota of one instance: every linear memory and every table of
/// the store together, against `--memory-limit` (wasmtime's own
/// `StoreLimits` bounds each memory on its own and tables by element count
/// only).
struct Quota {
    limit: usize,
    memory_bytes: usize,
    table_bytes: usize,
}

const TABLE_ELEMENT_BYTES: usize = 8;

impl Quota {
    fn new(limit: usize) -> Quota {
        Quota {
            limit,
            memory_bytes: 0,
            table_bytes: 0,
        }
    }

    /// Grows one of the two accounts (`memory`: linear memories, else
    /// tables) from `current` to `desired` bytes of one memory or table,
    /// if both together stay within the limit.
    fn grow(
        &mut self,
        memory: bool,
        current: usize,
        desired: usize,
        what: &str,
    ) -> wasmtime::Result<bool> {
        let (account, other) = if memory {
            (self.memory_bytes, self.table_bytes)
        } else {
            (self.table_bytes, self.memory_bytes)
        };
        let grown = account - current.min(account) + desired;
        let total = grown.saturating_add(other);
        if total > self.limit {
            wasmtime::bail!(
                "forcing trap when growing {what}: the instance's memories and tables would hold {total} bytes"
            );
        }
        if memory {
            self.memory_bytes = grown;
        } else {
            self.table_bytes = grown;
        }
        Ok(true)
    }
}

impl ResourceLimiter for Quota {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.grow(
            true,
            current,
            desired,
            &format!("memory to {desired} bytes"),
        )
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > MAX_TABLE_ELEMENTS {
            wasmtime::bail!(
                "forcing trap when growing table to {desired} elements (at most {MAX_TABLE_ELEMENTS})"
            );
        }
        self.grow(
            false,
            current * TABLE_ELEMENT_BYTES,
            desired * TABLE_ELEMENT_BYTES,
            &format!("table to {desired} elements"),
        )
    }

    fn instances(&self) -> usize {
        64
    }

    fn tables(&self) -> usize {
        64
    }

    fn memories(&self) -> usize {
        16
    }
}

/// How often the epoch advances; the granularity of deadlines.
const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Limits applied to every plugin call.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Linear memory a plugin instance may grow to, in bytes.
    pub memory_bytes: usize,
    /// The largest message (record data, state, log text) accepted, in bytes.
    pub max_message_bytes: usize,
    /// The most messages one read may return.
    pub max_messages: u64,
    /// How many messages the host asks for per `next` call.
    pub batch_size: u32,
    /// Bytes of stdout and of stderr kept per instance.
    pub output_bytes: usize,
    /// The plugin's environment: only what the test configuration grants.
    pub environment: Vec<(String, String)>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 256 << 20,
            max_message_bytes: 8 << 20,
            max_messages: 10_000_000,
            batch_size: 1024,
            output_bytes: 64 << 10,
            environment: Vec::new(),
        }
    }
}

/// A loaded plugin, ready to be instantiated for each test.
pub struct Sandbox {
    engine: Engine,
    pre: wasmtime::component::InstancePre<PluginState>,
    /// Where the `source` export is (connectors).
    source: Option<bindings::ConnectorIndices>,
    /// Where the `write-back` export is, when the component has one.
    write_back: Option<write_back_bindings::TestUtilsIndices>,
    runtime: &'static tokio::runtime::Runtime,
    ticker_stop: Arc<AtomicBool>,
    ticker: Option<std::thread::JoinHandle<()>>,
    pub cache_outcome: CacheOutcome,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
    }
}

/// What a plugin instance owns.
pub struct PluginState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: HttpHooks,
    table: ResourceTable,
    limits: Quota,
    logs: LogBuffer,
    deadline: Instant,
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

impl Sandbox {
    /// Loads the component at `path`, compiling it or taking it from `cache`.
    pub fn load(path: &Path, cache: &CompileCache) -> Result<Sandbox, LoadError> {
        Self::load_as(path, cache, Role::Connector)
    }

    /// Loads a component for `role`.
    pub fn load_as(path: &Path, cache: &CompileCache, role: Role) -> Result<Sandbox, LoadError> {
        let bytes = std::fs::read(path).map_err(|e| {
            let failure = LoadFailure::Unreadable {
                path: path.to_path_buf(),
                error: e.to_string(),
            };
            LoadError::new(failure, path, None)
        })?;
        Self::from_bytes_as(path, &bytes, cache, role)
    }

    /// Whether the component exports `write-back`.
    pub fn has_write_back(&self) -> bool {
        self.write_back.is_some()
    }

    /// Loads a component from its bytes; `path` names it in messages.
    pub fn from_bytes(
        path: &Path,
        bytes: &[u8],
        cache: &CompileCache,
    ) -> Result<Sandbox, LoadError> {
        Self::from_bytes_as(path, bytes, cache, Role::Connector)
    }

    fn from_bytes_as(
        path: &Path,
        bytes: &[u8],
        cache: &CompileCache,
        role: Role,
    ) -> Result<Sandbox, LoadError> {
        Self::load_component(path, bytes, cache, role)
            .map_err(|failure| LoadError::new(failure, path, Some(bytes)))
    }

    fn load_component(
        path: &Path,
        bytes: &[u8],
        cache: &CompileCache,
        role: Role,
    ) -> Result<Sandbox, LoadFailure> {
        contract::check_binary_kind(path, bytes)?;
        let engine = new_engine().map_err(|e| LoadFailure::Engine(e.to_string()))?;
        let (component, cache_outcome) =
            cache
                .load(&engine, bytes)
                .map_err(|e| match e.downcast_ref::<compile::Refused>() {
                    Some(refused) => LoadFailure::CompileRefused {
                        path: path.to_path_buf(),
                        why: refused.0.clone(),
                    },
                    None => LoadFailure::Invalid {
                        path: path.to_path_buf(),
                        error: format!("{e:#}"),
                    },
                })?;
        contract::check_exports(path, &engine, &component, role)?;

        let mut linker = Linker::<PluginState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| LoadFailure::Engine(e.to_string()))?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(|e| LoadFailure::Engine(e.to_string()))?;
        name_lookup::shadow(&mut linker).map_err(|e| LoadFailure::Engine(e.to_string()))?;
        bindings::Connector::add_to_linker::<_, wasmtime::component::HasSelf<_>>(
            &mut linker,
            |s| s,
        )
        .map_err(|e| LoadFailure::Engine(e.to_string()))?;
        let instance_pre = linker
            .instantiate_pre(&component)
            .map_err(|e| contract::link_error(path, &engine, &component, e))?;
        let source = match role {
            Role::Connector => Some(
                bindings::ConnectorIndices::new(&instance_pre)
                    .map_err(|e| contract::link_error(path, &engine, &component, e))?,
            ),
            Role::TestUtils => None,
        };
        let write_back = match (role, contract::exports_write_back(&engine, &component)) {
            (Role::TestUtils, _) | (Role::Connector, true) => Some(
                write_back_bindings::TestUtilsIndices::new(&instance_pre)
                    .map_err(|e| contract::link_error(path, &engine, &component, e))?,
            ),
            (Role::Connector, false) => None,
        };
        let pre = instance_pre;

        let runtime = shared_runtime().map_err(LoadFailure::Engine)?;

        let ticker_stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let engine = engine.clone();
            let stop = ticker_stop.clone();
            std::thread::Builder::new()
                .name("ctest-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(EPOCH_TICK);
                        engine.increment_epoch();
                    }
                })
                .map_err(|e| LoadFailure::Engine(e.to_string()))?
        };

        Ok(Sandbox {
            engine,
            pre,
            source,
            write_back,
            runtime,
            ticker_stop,
            ticker: Some(ticker),
            cache_outcome,
        })
    }

    /// A fresh instance of the plugin, with its own store, under `limits`.
    /// Its calls must all finish before `deadline`.
    pub fn instantiate(
        &self,
        limits: &Limits,
        deadline: Instant,
        network: &TestNetwork,
    ) -> Result<Plugin<'_>, PluginError> {
        let stdout = CapturedOutput::new(limits.output_bytes);
        let stderr = CapturedOutput::new(limits.output_bytes);
        let call: crate::network::CurrentCall = Arc::default();
        // Default deny: no preopens, no environment, no arguments; sockets and
        // name lookups only where the network policy allows (it decides each
        // address, and each lookup through `name_lookup`).
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .envs(&limits.environment)
            .allow_tcp(true)
            .allow_udp(true)
            .allow_ip_name_lookup(true)
            .socket_addr_check(network.socket_check(call.clone()))
            .build();
        let mut http = WasiHttpCtx::new();
        // Each header block (a `fields` resource) is at most this large, so
        // the live resources' bytes are bounded too.
        http.set_field_size_limit(MAX_FIELDS_BYTES);
        let state = PluginState {
            wasi,
            http,
            hooks: HttpHooks {
                network: network.clone(),
                call: call.clone(),
            },
            table: {
                let mut table = ResourceTable::new();
                table.set_max_capacity(MAX_HOST_RESOURCES);
                table
            },
            limits: Quota::new(limits.memory_bytes),
            logs: LogBuffer::default(),
            deadline,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        // What one call may copy from the guest into the host (strings and
        // lists passed to an import, or returned by an export): set here
        // rather than left to wasmtime's default, and named when exceeded.
        store.set_hostcall_fuel(COPY_BUDGET);
        store.set_max_component_handles(MAX_HOST_RESOURCES);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|ctx| {
            if Instant::now() >= ctx.data().deadline {
                Ok(UpdateDeadline::Interrupt)
            } else {
                // Yield to the executor so that the timer around the call can fire.
                Ok(UpdateDeadline::Yield(1))
            }
        });
        let mut plugin = Plugin {
            sandbox: self,
            store,
            bindings: None,
            writer: None,
            limits: limits.clone(),
            stdout,
            stderr,
            poisoned: None,
        };
        let pre = self.pre.clone();
        let (source, write_back) = (self.source.clone(), self.write_back.clone());
        let (bindings, writer) = plugin.call("instantiate", |store| {
            Box::pin(async move {
                let instance = pre.instantiate_async(&mut *store).await?;
                let bindings = match &source {
                    Some(indices) => Some(indices.load(&mut *store, &instance)?),
                    None => None,
                };
                let writer = match &write_back {
                    Some(indices) => Some(indices.load(&mut *store, &instance)?),
                    None => None,
                };
                Ok((bindings, writer))
            })
        })?;
        plugin.bindings = bindings;
        plugin.writer = writer;
        Ok(plugin)
    }
}

/// The runtime WASI's host side (sockets, timers) and the HTTP client run on:
/// one for the process, shared by every sandbox, so that a connection the
/// client pooled while one plugin ran still makes progress when another
/// (the test-utils) uses it.
fn shared_runtime() -> Result<&'static tokio::runtime::Runtime, String> {
    static RUNTIME: std::sync::OnceLock<Result<tokio::runtime::Runtime, String>> =
        std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// `ctest __compile`: compiles the component on stdin for the engine every
/// sandbox uses, the artifact to stdout (see [`compile_in_child_processes`]).
pub fn compile_child_main() -> std::process::ExitCode {
    match new_engine() {
        Ok(engine) => compile::child_main(&engine),
        Err(e) => {
            eprintln!("{e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn new_engine() -> wasmtime::Result<Engine> {
    let mut config = wasmtime::Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.cranelift_opt_level(wasmtime::OptLevel::Speed);
    // Guests get a generous but finite native stack.
    config.max_wasm_stack(2 << 20);
    config.async_stack_size(4 << 20);
    Engine::new(&config)
}

type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// One instance of a plugin, for one test.
pub struct Plugin<'s> {
    sandbox: &'s Sandbox,
    store: Store<PluginState>,
    bindings: Option<bindings::Connector>,
    writer: Option<write_back_bindings::TestUtils>,
    limits: Limits,
    stdout: CapturedOutput,
    stderr: CapturedOutput,
    /// Set once a call failed in a way that leaves the instance unusable.
    poisoned: Option<String>,
}

/// A read in progress.
pub struct ReadSession {
    reader: wasmtime::component::ResourceAny,
    messages: u64,
    done: bool,
}

impl<'s> Plugin<'s> {
    /// Runs one call against the store under the deadline, turning every way it
    /// can fail into a [`PluginError`].
    fn call<R>(
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
        let store = &mut self.store;
        let runtime = self.sandbox.runtime;
        // A panic in host code serving the plugin (WASI, a host import) is a bug
        // of ctest's, but it must still end as this test's failure, not the run's.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            runtime.block_on(async { tokio::time::timeout(remaining + grace, f(store)).await })
        }));
        let result = match outcome {
            Err(panic) => Err(PluginError::HostFault {
                call: what.to_string(),
                message: panic_message(&panic),
            }),
            Ok(Err(_elapsed)) => Err(PluginError::Timeout {
                call: what.to_string(),
            }),
            Ok(Ok(Ok(value))) => return Ok(value),
            Ok(Ok(Err(error))) => Err(errors::classify(
                what,
                error,
                &self.limits,
                &self.store.data().logs,
                &self.stderr,
                Instant::now() >= deadline,
            )),
        };
        if let Err(e) = &result {
            self.poisoned = Some(e.to_string());
        }
        result
    }

    fn source(&self) -> &bindings::exports::ctest::connector::source::Guest {
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

    /// Starts a read; pull its messages with [`Plugin::next_batch`].
    pub fn read(
        &mut self,
        config: &str,
        catalog: &wit::ConfiguredCatalog,
        state: &[wit::StreamState],
    ) -> Result<Result<ReadSession, wit::ConnectorError>, PluginError> {
        let source = self.source().clone();
        let config = config.to_string();
        let catalog = catalog.clone();
        let state = state.to_vec();
        let started = self.call("read", move |store| {
            Box::pin(async move { source.call_read(store, &config, &catalog, &state).await })
        })?;
        Ok(started.map(|reader| ReadSession {
            reader,
            messages: 0,
            done: false,
        }))
    }

    /// The next batch of a read: `Ok(None)` when the read is over.
    pub fn next_batch(
        &mut self,
        session: &mut ReadSession,
    ) -> Result<Option<Vec<wit::Message>>, PluginError> {
        if session.done {
            return Ok(None);
        }
        let source = self.source().clone();
        let reader = session.reader;
        let max = self.limits.batch_size;
        let batch = self.call("read (reader.next)", move |store| {
            Box::pin(async move { source.reader().call_next(store, reader, max).await })
        })?;
        let batch = match batch {
            Ok(batch) => batch,
            Err(error) => {
                session.done = true;
                return Err(PluginError::ReadFailed(error.into()));
            }
        };
        if batch.is_empty() {
            session.done = true;
            return Ok(None);
        }
        let batch = match expand_record_batches(batch, max) {
            Ok(batch) => batch,
            Err(e) => {
                session.done = true;
                return Err(e);
            }
        };
        session.messages += batch.len() as u64;
        if session.messages > self.limits.max_messages {
            session.done = true;
            self.poisoned = Some("the read exceeded the message limit".into());
            return Err(PluginError::TooManyMessages {
                limit: self.limits.max_messages,
            });
        }
        for message in &batch {
            let size = message_size(message);
            if size > self.limits.max_message_bytes {
                session.done = true;
                self.poisoned = Some("the read returned an oversized message".into());
                return Err(PluginError::MessageTooLarge {
                    size,
                    limit: self.limits.max_message_bytes,
                    what: describe_message(message),
                });
            }
        }
        Ok(Some(batch))
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

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}

/// The records a `records` batch's data holds: its lines, a last `\n` ending
/// the last one.
fn lines_in(data: &[u8]) -> usize {
    let data = data.strip_suffix(b"\n").unwrap_or(data);
    if data.is_empty() {
        0
    } else {
        data.iter().filter(|b| **b == b'\n').count() + 1
    }
}

/// Turns each `records` message into the `record` messages it carries (one per
/// line), so that everything after the read sees one shape. A batch whose data
/// is not UTF-8 is a malformed message, and so is a call that returns more
/// than the `max` messages it was asked for, counting a batch's records: the
/// count is checked before anything is allocated, so a batch of a million
/// empty lines costs the host nothing.
fn expand_record_batches(
    batch: Vec<wit::Message>,
    max: u32,
) -> Result<Vec<wit::Message>, PluginError> {
    if !batch.iter().any(|m| matches!(m, wit::Message::Records(_))) {
        return Ok(batch);
    }
    let total: usize = batch
        .iter()
        .map(|m| match m {
            wit::Message::Records(r) => lines_in(&r.data),
            _ => 1,
        })
        .sum();
    if total > max as usize {
        return Err(PluginError::MalformedMessage {
            problem: format!(
                "one `reader.next({max})` call returned {total} messages, counting each line of its `records` batches as one"
            ),
            fix: format!(
                "return at most the {max} messages asked for, records in batches included (the SDKs do)"
            ),
        });
    }
    let mut out = Vec::with_capacity(total);
    for message in batch {
        let wit::Message::Records(records) = message else {
            out.push(message);
            continue;
        };
        let text = String::from_utf8(records.data).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            let bytes = e.as_bytes();
            let line = bytes[..at].iter().filter(|b| **b == b'\n').count();
            PluginError::MalformedMessage {
                problem: format!(
                    "a `records` batch of stream `{}` is not UTF-8 at byte {at} (line {}, the record at index {line} of the batch)",
                    records.stream,
                    line + 1
                ),
                fix: "a `records` batch holds UTF-8 JSON, one record per line (the SDKs' `record` helpers make it so)".into(),
            }
        })?;
        let text = text.strip_suffix('\n').unwrap_or(&text);
        if text.is_empty() {
            continue;
        }
        for line in text.split('\n') {
            out.push(wit::Message::Record(wit::RecordMessage {
                stream: records.stream.clone(),
                data: line.to_string(),
                emitted_at: records.emitted_at,
            }));
        }
    }
    Ok(out)
}

fn message_size(message: &wit::Message) -> usize {
    match message {
        wit::Message::Record(r) => r.data.len() + r.stream.len(),
        wit::Message::State(s) => s.data.len() + s.stream.len(),
        wit::Message::Log(l) => l.message.len(),
        wit::Message::Trace(wit::TraceMessage::Error(e)) => {
            e.error.message.len() + e.error.internal_message.as_ref().map_or(0, |m| m.len())
        }
        wit::Message::Trace(wit::TraceMessage::StreamStatus(s)) => s.stream.len(),
        wit::Message::Records(r) => r.data.len() + r.stream.len(),
    }
}

fn describe_message(message: &wit::Message) -> String {
    match message {
        wit::Message::Record(r) => format!("a record of stream `{}`", r.stream),
        wit::Message::State(s) => format!("a state of stream `{}`", s.stream),
        wit::Message::Log(_) => "a log message".into(),
        wit::Message::Trace(_) => "a trace message".into(),
        wit::Message::Records(r) => format!("a records batch of stream `{}`", r.stream),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(id: u8, content: &[u8], out: &mut Vec<u8>) {
        out.push(id);
        out.push(content.len() as u8);
        out.extend_from_slice(content);
    }

    /// A core module with `memories` memories of `pages` (below 128) pages
    /// each and a table of `elements` elements (below 2^21).
    fn module(memories: u8, pages: u8, elements: u32) -> Vec<u8> {
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        let e = [
            (elements & 0x7f) as u8 | 0x80,
            ((elements >> 7) & 0x7f) as u8 | 0x80,
            (elements >> 14) as u8,
        ];
        section(4, &[0x01, 0x70, 0x00, e[0], e[1], e[2]], &mut m);
        let mut mem = vec![memories];
        for _ in 0..memories {
            mem.extend_from_slice(&[0x00, pages]);
        }
        section(5, &mem, &mut m);
        m
    }

    fn instantiate(limit: usize, wasm: &[u8]) -> wasmtime::Result<()> {
        let engine = Engine::default();
        let module = wasmtime::Module::new(&engine, wasm)?;
        let mut store = Store::new(&engine, Quota::new(limit));
        store.limiter(|q| q);
        wasmtime::Instance::new(&mut store, &module, &[])?;
        Ok(())
    }

    /// Hostile: many memories, each under the limit, together over it; a
    /// table whose elements the per-memory limit would not count.
    #[test]
    fn the_quota_counts_every_memory_and_table_of_the_store() {
        let limit = 12 << 20;
        // One memory of 6.25 MiB and a small table: fine.
        instantiate(limit, &module(1, 100, 16)).unwrap();
        // Three of them: 18.75 MiB in all.
        let e = instantiate(limit, &module(3, 100, 16)).unwrap_err();
        assert!(
            format!("{e:#}").contains("forcing trap when growing memory"),
            "{e:#}"
        );
        // A table of a million elements alone (8 MB counted) is fine; with
        // the memory, it is over.
        instantiate(limit, &module(1, 1, 1_000_000)).unwrap();
        let e = instantiate(limit, &module(1, 100, 1_000_000)).unwrap_err();
        assert!(
            format!("{e:#}").contains("forcing trap when growing"),
            "{e:#}"
        );
        // A table past the element cap, whatever the memory limit.
        let e = instantiate(1 << 30, &module(1, 1, 1_100_000)).unwrap_err();
        assert!(format!("{e:#}").contains("at most 1048576"), "{e:#}");
    }
}
