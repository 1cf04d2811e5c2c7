//! A component loaded into the [`Host`](super::Host): compiled (or taken from
//! the cache), its contract checked, linked once; each test instantiates it
//! afresh ([`Component::instantiate`]).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime::{Store, UpdateDeadline};
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi_http::WasiHttpCtx;

use super::errors::{LoadFailure, PluginError};
use super::host::Shared;
use super::instance::{CpuWatch, Plugin, PluginState};
use super::output::{CapturedOutput, LogBuffer};
use super::quota::Quota;
use super::{
    COPY_BUDGET, Limits, MAX_FIELDS_BYTES, MAX_HOST_RESOURCES, Role, bindings, compile, contract,
    write_back_bindings,
};
use crate::network::TestNetwork;
use crate::network::http::HttpHooks;

use super::cache::CacheOutcome;

/// A loaded plugin, ready to be instantiated for each test. It keeps its
/// [`Host`](super::Host) alive; it may be shared by threads, each running its
/// own instances.
pub struct Component {
    pub(super) loaded: Arc<Loaded>,
    /// The BLAKE3 digest of its bytes (what cassettes record).
    pub digest: blake3::Hash,
    /// Where the compiled code came from: compiled, the compile cache, or
    /// a load of the same bytes in this host.
    pub cache_outcome: CacheOutcome,
}

/// What loading made of a component's bytes: the same for every load of
/// those bytes in one host, whoever asks (tenants share it; it holds no
/// state of theirs).
pub(super) struct Loaded {
    pub(super) host: Arc<Shared>,
    pre: wasmtime::component::InstancePre<PluginState>,
    /// Where the `source` export is (connectors).
    source: Option<bindings::ConnectorIndices>,
    /// Where the `write-back` export is, when the component has one.
    write_back: Option<write_back_bindings::TestUtilsIndices>,
    /// The file it was first loaded from, and its language, learnt from
    /// that file the first time a trap needs it to say what likely happened.
    path: std::path::PathBuf,
    language: std::sync::OnceLock<super::language::Language>,
}

impl Loaded {
    /// The language the component was written in (read from its file once,
    /// when first asked: only a failure's message needs it).
    pub(super) fn language(&self) -> super::language::Language {
        *self.language.get_or_init(|| {
            std::fs::read(&self.path)
                .map(|bytes| super::language::Language::of_binary(&bytes))
                .unwrap_or(super::language::Language::Unknown)
        })
    }

    pub(super) fn load(
        host: Arc<Shared>,
        path: &Path,
        bytes: &[u8],
        digest: blake3::Hash,
        role: Role,
    ) -> Result<(Arc<Loaded>, CacheOutcome), LoadFailure> {
        contract::check_binary_kind(path, bytes)?;
        let engine = &host.engine;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let (component, cache_outcome) = host
            .cache
            .load_hashed(engine, bytes, digest, &name)
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
        Ok((Self::linked(host, path, component, role)?, cache_outcome))
    }

    /// A compiled component (`path` its file), its contract checked and
    /// linked for `role`.
    pub(super) fn linked(
        host: Arc<Shared>,
        path: &Path,
        component: wasmtime::component::Component,
        role: Role,
    ) -> Result<Arc<Loaded>, LoadFailure> {
        let engine = &host.engine;
        contract::check_exports(path, engine, &component, role)?;
        let pre = host
            .linker
            .instantiate_pre(&component)
            .map_err(|e| contract::link_error(path, engine, &component, e))?;
        let source = match role {
            Role::Connector => Some(
                bindings::ConnectorIndices::new(&pre)
                    .map_err(|e| contract::link_error(path, engine, &component, e))?,
            ),
            Role::TestUtils => None,
        };
        let write_back = match (role, contract::exports_write_back(engine, &component)) {
            (Role::TestUtils, _) | (Role::Connector, true) => Some(
                write_back_bindings::TestUtilsIndices::new(&pre)
                    .map_err(|e| contract::link_error(path, engine, &component, e))?,
            ),
            (Role::Connector, false) => None,
        };
        Ok(Arc::new(Loaded {
            host,
            pre,
            source,
            write_back,
            path: path.to_path_buf(),
            language: std::sync::OnceLock::new(),
        }))
    }
}

impl Component {
    /// Whether the component exports `write-back`.
    pub fn has_write_back(&self) -> bool {
        self.loaded.write_back.is_some()
    }

    /// A fresh instance of the plugin, with its own store, under `limits`.
    /// Its calls must all finish before `deadline`.
    pub fn instantiate(
        &self,
        limits: &Limits,
        deadline: Instant,
        network: &TestNetwork,
    ) -> Result<Plugin<'_>, PluginError> {
        let slot = match &limits.instance_slots {
            Some(slots) => Some(
                slots
                    .take()
                    .ok_or(PluginError::InstanceQuota { limit: slots.limit })?,
            ),
            None => None,
        };
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
            cpu: limits.cpu_budget.clone().map(|budget| CpuWatch {
                budget,
                call_start: std::time::Duration::ZERO,
                exceeded: false,
            }),
        };
        let mut store = Store::new(&self.loaded.host.engine, state);
        store.limiter(|s| &mut s.limits);
        // What one call may copy from the guest into the host (strings and
        // lists passed to an import, or returned by an export): set here
        // rather than left to wasmtime's default, and named when exceeded.
        store.set_hostcall_fuel(COPY_BUDGET);
        store.set_max_component_handles(MAX_HOST_RESOURCES);
        if self.loaded.host.fuel {
            store
                .set_fuel(u64::MAX)
                .map_err(|e| PluginError::HostFault {
                    call: "instantiate".into(),
                    message: format!("{e:#}"),
                })?;
        }
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut ctx| {
            let state = ctx.data_mut();
            if Instant::now() >= state.deadline {
                return Ok(UpdateDeadline::Interrupt);
            }
            if let Some(watch) = &mut state.cpu {
                let running = crate::usage::thread_cpu_time().saturating_sub(watch.call_start);
                if watch.budget.exhausted_with(running) {
                    watch.exceeded = true;
                    return Ok(UpdateDeadline::Interrupt);
                }
            }
            // Yield to the executor so that the timer around the call can fire.
            Ok(UpdateDeadline::Yield(1))
        });
        network.usage().add_instance();
        let mut plugin = Plugin {
            component: self,
            store,
            bindings: None,
            writer: None,
            limits: limits.clone(),
            stdout,
            stderr,
            poisoned: None,
            output_counted: 0,
            _slot: slot,
        };
        let pre = self.loaded.pre.clone();
        let (source, write_back) = (self.loaded.source.clone(), self.loaded.write_back.clone());
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
