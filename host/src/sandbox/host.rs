//! The host: what a process sets up once and every plugin shares.
//!
//! One [`Host`] per process holds the wasmtime `Engine` (with the pooling
//! instance allocator and copy-on-write memory images), the `Linker` with
//! WASI, wasi:http and the contract's imports, the epoch ticker that drives
//! every deadline, the compile cache, and the multi-thread tokio runtime that
//! serves the plugins' host calls (sockets, timers, HTTP). Components are
//! loaded into it ([`Host::load`]); their instances are per test and may run
//! on any thread at once. A `Host` is a cheap handle: clones share it.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::component::Linker;
use wasmtime::{Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use std::collections::HashMap;

use super::CacheOutcome;
use super::component::{Component, Loaded};
use super::errors::{LoadError, LoadFailure};
use super::instance::PluginState;
use super::quota;
use super::{CompileCache, Role, bindings, compile};

/// How often the epoch advances; the granularity of deadlines.
const EPOCH_TICK: Duration = Duration::from_millis(5);

/// The largest linear memory the pool has room for: all of wasm32's. The
/// memory limit of each instance (`--memory-limit`) is enforced by its
/// quota, over all its memories and tables together.
const POOL_MEMORY_BYTES: usize = 4 << 30;

/// One load of some bytes: empty while in flight (its lock held) or after
/// it failed.
type Slot = Arc<std::sync::Mutex<Option<Arc<Loaded>>>>;

/// How many loaded components a host remembers beyond those in use.
const MAX_LOADED: usize = 256;

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a [`Host`] is sized for.
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// The most plugin instances alive at once (across all threads). Each
    /// takes pool slots for its memories, tables and stacks; an instance past
    /// it fails to instantiate with a clear error, it does not wait.
    pub max_instances: u32,
    /// Worker threads of the runtime serving host calls.
    pub io_threads: usize,
    /// Whether compiled code counts wasmtime fuel (each store gets as much
    /// as it can hold). ctest meters CPU with the thread's clock instead;
    /// this exists to measure what fuel would cost (`cargo bench --bench
    /// cpu_meter`, BENCHMARKS.md). Components compiled in child processes
    /// (`ctest run`, `ctest batch`) are compiled without it.
    pub consume_fuel: bool,
}

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            max_instances: 100,
            io_threads: 2,
            consume_fuel: false,
        }
    }
}

/// The per-process host: engine, linker, epoch ticker, compile cache and
/// runtime. See the module documentation.
#[derive(Clone)]
pub struct Host {
    shared: Arc<Shared>,
}

pub(super) struct Shared {
    pub(super) engine: Engine,
    pub(super) linker: Linker<PluginState>,
    pub(super) runtime: tokio::runtime::Runtime,
    pub(super) cache: CompileCache,
    /// Whether the engine counts fuel ([`HostOptions::consume_fuel`]).
    pub(super) fuel: bool,
    /// The components loaded so far, by their bytes' digest and role: a load
    /// of the same bytes waits for the first and shares what it made.
    loaded: std::sync::Mutex<HashMap<(blake3::Hash, Role), Slot>>,
    ticker_stop: Arc<AtomicBool>,
    ticker: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
    }
}

impl Host {
    /// Sets up the host; `cache` is where compiled components are kept.
    pub fn new(options: &HostOptions, cache: CompileCache) -> Result<Host, String> {
        let engine = new_engine(options).map_err(|e| format!("cannot set up wasmtime: {e:#}"))?;
        let linker = new_linker(&engine).map_err(|e| format!("cannot set up wasmtime: {e:#}"))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(options.io_threads.max(1))
            .thread_name("ctest-io")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the runtime: {e}"))?;
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
                .map_err(|e| format!("cannot start the epoch ticker: {e}"))?
        };
        Ok(Host {
            shared: Arc::new(Shared {
                engine,
                linker,
                runtime,
                cache,
                fuel: options.consume_fuel,
                loaded: Default::default(),
                ticker_stop,
                ticker: Some(ticker),
            }),
        })
    }

    /// The compile cache components are loaded through.
    pub fn cache(&self) -> &CompileCache {
        &self.shared.cache
    }

    /// Loads the connector component at `path`.
    pub fn load(&self, path: &Path) -> Result<Component, LoadError> {
        self.load_as(path, Role::Connector)
    }

    /// Loads the component at `path` for `role`, compiling it or taking it
    /// from the cache.
    pub fn load_as(&self, path: &Path, role: Role) -> Result<Component, LoadError> {
        let unreadable = |e: std::io::Error| {
            let failure = LoadFailure::Unreadable {
                path: path.to_path_buf(),
                error: e.to_string(),
            };
            LoadError::new(failure, path, None)
        };
        // The file is hashed as it is read, a chunk at a time (or known
        // unchanged since it was): when its compiled form is cached (or
        // loaded here already), nothing else of its bytes (19 MiB for a
        // Python plugin) is needed.
        let mut head = [0u8; 8];
        let (digest, len) = std::fs::File::open(path)
            .and_then(|file| self.shared.cache.digest_file(&file, &mut head))
            .map_err(unreadable)?;
        let key = (digest, role);
        if len >= head.len() as u64
            && super::contract::check_binary_kind(path, &head).is_ok()
            && let Some(component) = self.load_warm(path, key, len)?
        {
            return Ok(component);
        }
        // Compiled from these bytes (hashed again: the file may have
        // changed since), or refused with the reason.
        let bytes = std::fs::read(path).map_err(unreadable)?;
        self.load_bytes(path, &bytes, role)
    }

    /// The component of `key` loaded already in this host, or from its
    /// verified cache entry; `None` when it must be compiled.
    fn load_warm(
        &self,
        path: &Path,
        key: (blake3::Hash, Role),
        len: u64,
    ) -> Result<Option<Component>, LoadError> {
        let slot = self.slot(key);
        let mut slot = lock(&slot);
        if let Some(loaded) = slot.as_ref() {
            return Ok(Some(Component {
                loaded: loaded.clone(),
                digest: key.0,
                cache_outcome: CacheOutcome::Shared,
            }));
        }
        let Some(compiled) = self
            .shared
            .cache
            .load_entry(&self.shared.engine, key.0, len)
        else {
            return Ok(None);
        };
        let loaded =
            Loaded::linked(self.shared.clone(), path, compiled, key.1).map_err(|failure| {
                // The file's bytes only for the message (its language).
                LoadError::new(failure, path, std::fs::read(path).ok().as_deref())
            })?;
        *slot = Some(loaded.clone());
        Ok(Some(Component {
            loaded,
            digest: key.0,
            cache_outcome: CacheOutcome::Hit,
        }))
    }

    /// The slot of `key` in the loads of this host, made when missing.
    fn slot(&self, key: (blake3::Hash, Role)) -> Slot {
        let mut loaded = lock(&self.shared.loaded);
        if loaded.len() >= MAX_LOADED && !loaded.contains_key(&key) {
            // Forget the loads no component holds any more, and those
            // that failed; keep those in flight.
            loaded.retain(|_, slot| match slot.try_lock() {
                Err(_) => true,
                Ok(done) => done.as_ref().is_some_and(|l| Arc::strong_count(l) > 1),
            });
        }
        loaded.entry(key).or_default().clone()
    }

    /// Loads a component from its bytes; `path` names it in messages. The
    /// same bytes loaded again (by another job, another tenant, another
    /// thread at the same time) share the first load: compiled once, read
    /// from the cache once.
    pub fn load_bytes(
        &self,
        path: &Path,
        bytes: &[u8],
        role: Role,
    ) -> Result<Component, LoadError> {
        let key = (super::cache::hash_large(bytes), role);
        let slot = self.slot(key);
        let mut slot = lock(&slot);
        if let Some(loaded) = slot.as_ref() {
            return Ok(Component {
                loaded: loaded.clone(),
                digest: key.0,
                cache_outcome: CacheOutcome::Shared,
            });
        }
        let (loaded, cache_outcome) =
            Loaded::load(self.shared.clone(), path, bytes, key.0, role)
                .map_err(|failure| LoadError::new(failure, path, Some(bytes)))?;
        *slot = Some(loaded.clone());
        Ok(Component {
            loaded,
            digest: key.0,
            cache_outcome,
        })
    }
}

/// The engine every component of the process is compiled for and runs in.
/// `ctest __compile` builds the same one, so that what a child compiles
/// deserializes here.
fn new_engine(options: &HostOptions) -> wasmtime::Result<Engine> {
    new_engine_with(options, None)
}

/// [`new_engine`], compiling through `functions` (cranelift's incremental
/// cache: the same artifacts, made from cached functions where it can).
fn new_engine_with(
    options: &HostOptions,
    functions: Option<std::sync::Arc<dyn wasmtime::CacheStore>>,
) -> wasmtime::Result<Engine> {
    let mut config = wasmtime::Config::new();
    if let Some(functions) = functions {
        config.enable_incremental_compilation(functions)?;
    }
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.consume_fuel(options.consume_fuel);
    config.cranelift_opt_level(wasmtime::OptLevel::Speed);
    // Guests get a generous but finite native stack.
    config.max_wasm_stack(2 << 20);
    config.async_stack_size(4 << 20);
    // Instances come from pre-reserved slots, their memories initialised
    // copy-on-write from the component's image, and are reset when a test
    // ends: an instance never sees what the one before it in its slot held.
    config.memory_init_cow(true);
    let mut pool = PoolingAllocationConfig::new();
    let instances = options.max_instances.max(1);
    // Sized from the per-instance quota: what one store may hold is what one
    // component instance may take from the pool.
    let per_component = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    pool.total_component_instances(instances)
        .total_stacks(instances)
        .total_core_instances(instances.saturating_mul(8))
        .total_memories(instances.saturating_mul(2))
        .total_tables(instances.saturating_mul(4))
        .max_core_instances_per_component(per_component(quota::MAX_INSTANCES))
        .max_memories_per_component(per_component(quota::MAX_MEMORIES))
        .max_tables_per_component(per_component(quota::MAX_TABLES))
        .max_memories_per_module(per_component(quota::MAX_MEMORIES))
        .max_tables_per_module(per_component(quota::MAX_TABLES))
        .table_elements(super::MAX_TABLE_ELEMENTS)
        .max_memory_size(POOL_MEMORY_BYTES)
        .max_component_instance_size(4 << 20)
        .max_core_instance_size(4 << 20);
    // A slot given back is reset by `memset` of its first pages (only those
    // resident, found with the PAGEMAP_SCAN ioctl where the kernel has it)
    // rather than by `madvise`: the next instance in the slot takes no page
    // faults for them, and threads running other instances are not
    // interrupted to flush their TLBs. Half the kernel time of a batch of
    // small jobs (BENCHMARKS.md).
    pool.linear_memory_keep_resident(4 << 20)
        .table_keep_resident(64 << 10)
        .pagemap_scan(wasmtime::Enabled::Auto);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config)
}

fn new_linker(engine: &Engine) -> wasmtime::Result<Linker<PluginState>> {
    let mut linker = Linker::<PluginState>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    crate::network::name_lookup::shadow(&mut linker)?;
    bindings::Connector::add_to_linker::<_, wasmtime::component::HasSelf<_>>(&mut linker, |s| s)?;
    Ok(linker)
}

/// `ctest __compile`: compiles the component on stdin for the engine every
/// host uses, the artifact to stdout (see
/// [`super::compile_in_child_processes`]).
pub fn compile_child_main(
    function_cache: Option<(std::path::PathBuf, std::path::PathBuf)>,
) -> std::process::ExitCode {
    // Without a usable function cache the component is compiled whole.
    let functions = function_cache.and_then(|(dir, key_file)| {
        super::cache::FunctionCache::open(&dir, &key_file)
            .ok()
            .map(|c| std::sync::Arc::new(c) as std::sync::Arc<dyn wasmtime::CacheStore>)
    });
    match new_engine_with(&HostOptions::default(), functions) {
        Ok(engine) => compile::child_main(&engine),
        Err(e) => {
            eprintln!("{e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
