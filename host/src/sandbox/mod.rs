//! The sandbox: loads a plugin component into wasmtime and runs its calls under
//! limits.
//!
//! - `host.rs`: one [`Host`] per process: the engine (pooling allocator), the
//!   linker, the epoch ticker, the [`CompileCache`] and the runtime.
//! - `component.rs`: one [`Component`] per plugin file, loaded into the host:
//!   compiled or taken from the cache, checked against the contract, linked.
//! - `cache.rs`: the authenticated cache of compiled components (and of
//!   cranelift's compiled functions); `known.rs`: files read before, known by
//!   their identity, so a warm load reads and hashes neither the plugin nor
//!   its entry again.
//! - `instance.rs`: one [`Plugin`] per test: a fresh store and instance, so no
//!   state leaks between tests (nor, through the pool's slots, between
//!   tenants). It gets no preopened directory, an empty environment, no arguments, an
//!   empty stdin, captured stdout and stderr, and only the network its
//!   [`TestNetwork`](crate::network::TestNetwork) allows (wasi:http, TCP, UDP and name lookups alike).
//! - Every call runs under the [`Limits`]: a wall-clock deadline (epoch
//!   interruption inside wasm, a timer around host calls), a memory cap, and caps on
//!   the size and number of messages a read may return. Whatever the plugin does,
//!   the host gets a [`PluginError`] back, never a panic or a hang (`quota.rs`
//!   counts memories and tables; `read.rs` checks each batch a read returns).
//! - A run's quotas, shared by its instances (`budget.rs`): CPU time, output
//!   bytes, and the instances its tenant may hold at once.

mod budget;
mod cache;
mod compile;
mod component;
mod contract;
mod errors;
mod host;
mod instance;
mod known;
mod language;
mod output;
mod quota;
mod read;

pub use budget::{CpuBudget, InstanceSlot, InstanceSlots, OutputBudget};
pub use cache::{
    CacheOutcome, CompileCache, CompileNotice, CompileObserver, DEFAULT_COMPILE_TIMEOUT,
};
pub use compile::compile_in_child_processes;
pub use component::Component;
pub use contract::CONTRACT_VERSION;
pub use errors::{ConnectorError, LoadError, LoadFailure, PluginError};
pub use host::{Host, HostOptions, compile_child_main};
pub use instance::{Plugin, PluginState, level_name};
pub use language::Language;
pub use output::{CapturedOutput, LogLine, clip_to};
pub use read::{Batch, Msg, ReadSession, Rec};

/// Host bindings generated from the contract in `wit/`.
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "connector",
        imports: { default: trappable },
        exports: { default: async },
    });
}

/// Host bindings of the `write-back` export (the `test-utils` world), sharing
/// the contract's types and `host` import with [`bindings`].
pub mod write_back_bindings {
    wasmtime::component::bindgen!({
        path: "wit",
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    /// The CPU time the run's plugin calls may take together (an operator's
    /// quota per job), shared by every instance of the run.
    pub cpu_budget: Option<CpuBudget>,
    /// The bytes the run's plugin may send the host in all (messages, logs,
    /// stdout and stderr): an operator's quota per job.
    pub output_budget: Option<OutputBudget>,
    /// The instances the tenant may hold at once, shared by its jobs.
    pub instance_slots: Option<InstanceSlots>,
    /// The most instances the run uses at once for independent reads and
    /// scenarios (`--threads`); `None`: as many as the machine has cores.
    pub threads: Option<std::num::NonZeroUsize>,
}

impl Limits {
    /// How many independent reads or scenarios may run at once: `threads`,
    /// else the cores; one under a tenant's instance quota (`ctest batch`),
    /// which counts on a job holding one instance at a time.
    pub fn at_once(&self) -> usize {
        if self.instance_slots.is_some() {
            return 1;
        }
        self.threads.map_or_else(
            || std::thread::available_parallelism().map_or(2, |n| n.get()),
            |n| n.get(),
        )
    }
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
            cpu_budget: None,
            output_budget: None,
            instance_slots: None,
            threads: None,
        }
    }
}
