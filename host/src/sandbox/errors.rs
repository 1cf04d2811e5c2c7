//! Errors of loading a plugin (the run cannot happen: exit 2) and of calling one
//! (a failed test).

use std::fmt;
use std::path::PathBuf;

use super::Limits;
use super::bindings::ctest::connector::types as wit;
use super::language::Language;
use super::output::{CapturedOutput, LogBuffer};

/// Why a plugin could not be loaded (exit 2). Each message names the file and
/// the fix, in the terms of the language the plugin was written in.
#[derive(Debug)]
pub struct LoadError {
    pub failure: LoadFailure,
    /// Told from the binary (or a source file's extension) when loading failed.
    pub language: Language,
}

/// What went wrong loading a plugin.
#[derive(Debug)]
pub enum LoadFailure {
    Unreadable {
        path: PathBuf,
        error: String,
    },
    NotWasm {
        path: PathBuf,
    },
    CoreModule {
        path: PathBuf,
    },
    Invalid {
        path: PathBuf,
        error: String,
    },
    WrongContractVersion {
        path: PathBuf,
        found: String,
    },
    MissingExport {
        path: PathBuf,
        /// `source` for a connector, `write-back` for test-utils.
        interface: &'static str,
        exports: Vec<String>,
    },
    UnsupportedImport {
        path: PathBuf,
        import: String,
        error: String,
    },
    /// Compiling it would cost more than ctest allows (the pre-scan's bounds,
    /// or the compile time limit).
    CompileRefused {
        path: PathBuf,
        why: String,
    },
}

impl LoadError {
    /// `failure`, with the language of the plugin at `path` (`bytes`, when
    /// they were read) told for the fix.
    pub fn new(failure: LoadFailure, path: &std::path::Path, bytes: Option<&[u8]>) -> LoadError {
        let language = match (&failure, bytes) {
            (LoadFailure::Unreadable { .. } | LoadFailure::NotWasm { .. }, _) | (_, None) => {
                Language::of_source(path).unwrap_or(Language::Unknown)
            }
            (_, Some(bytes)) => Language::of_binary(bytes),
        };
        LoadError { failure, language }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let language = self.language;
        let built_in = match language {
            Language::Unknown => String::new(),
            known => format!(" (it looks like {known})"),
        };
        match &self.failure {
            LoadFailure::Unreadable { path, error } => write!(
                f,
                "{}: cannot read the plugin: {error}\n  fix: check the path; build the plugin first if it does not exist yet{}",
                path.display(),
                match language {
                    Language::Unknown => String::new(),
                    known => format!(" ({known}: {})", known.build()),
                }
            ),
            // The language of a file that is not wasm is its extension's.
            LoadFailure::NotWasm { path } => match language {
                Language::Unknown => write!(
                    f,
                    "{}: not a WebAssembly file (it does not start with the `\\0asm` header)\n  fix: pass the `.wasm` component your build produced; {}",
                    path.display(),
                    language.build()
                ),
                source => write!(
                    f,
                    "{}: this is {source} source, not a WebAssembly component\n  fix: {}, then pass the `.wasm` file it writes",
                    path.display(),
                    source.build()
                ),
            },
            LoadFailure::CoreModule { path } => write!(
                f,
                "{}: this is a core WebAssembly module, not a component{built_in}\n  fix: {}",
                path.display(),
                match language {
                    Language::Rust =>
                        "build for the `wasm32-wasip2` target, which emits a component (`wasm32-wasip1` and `wasm32-unknown-unknown` emit modules): `cargo build --target wasm32-wasip2 --release`",
                    _ =>
                        "build for the `wasm32-wasip2` target, which emits a component (`wasm32-wasip1` and `wasm32-unknown-unknown` emit modules), or wrap the module with `wasm-tools component new`",
                }
            ),
            LoadFailure::CompileRefused { path, why } => write!(
                f,
                "{}: ctest does not compile this component: {why}\n  fix: split very large functions (a code generator's output usually is) and build in release mode; an operator can raise the compile time limit with --compile-timeout SECONDS",
                path.display()
            ),
            LoadFailure::Invalid { path, error } => write!(
                f,
                "{}: not a valid WebAssembly component{built_in}: {error}\n  fix: rebuild the plugin; {}",
                path.display(),
                language.build()
            ),
            LoadFailure::WrongContractVersion { path, found } => write!(
                f,
                "{}: the plugin was built for contract {found}, but this ctest speaks ctest:connector@{}{built_in}\n  fix: {}, or use a ctest that speaks {found}",
                path.display(),
                super::CONTRACT_VERSION,
                language.update_contract()
            ),
            LoadFailure::MissingExport {
                path,
                interface,
                exports,
            } => write!(
                f,
                "{}: the component does not export `ctest:connector/{interface}@{}` (it exports: {}){built_in}\n  fix: {}",
                path.display(),
                super::CONTRACT_VERSION,
                if exports.is_empty() {
                    "nothing".to_string()
                } else {
                    exports.join(", ")
                },
                if *interface == "source" {
                    language.export_source()
                } else {
                    language.export_write_back()
                }
            ),
            LoadFailure::UnsupportedImport {
                path,
                import,
                error,
            } => write!(
                f,
                "{}: the component imports `{import}`, which ctest does not provide ({error}){built_in}\n  fix: remove that dependency from the plugin; ctest provides ctest:connector/host and the WASI 0.2 interfaces (cli, clocks, random, io, sockets under the network policy, http's outgoing-handler); {}",
                path.display(),
                match language {
                    Language::Python =>
                        "a Python connector gets them by building against the `connector-http` world (`-w connector-http`), and a module that needs more (a native extension, a server) cannot run in the sandbox",
                    Language::TypeScript =>
                        "a JavaScript connector gets them from the SDK's build (`npx ctest-sdk-build app.ts plugin.wasm`); an API outside them (a server, a file system) cannot run in the sandbox",
                    Language::Rust =>
                        "a Rust connector gets them from the ctest-sdk and wasip2 crates; a crate that imports more (a server, threads) cannot run in the sandbox",
                    Language::Unknown => "build against the worlds of wit/connector.wit",
                }
            ),
        }
    }
}

impl std::error::Error for LoadError {}

/// Why a call into a plugin did not return a value.
#[derive(Debug, Clone)]
pub enum PluginError {
    /// The plugin trapped (a panic, an `unreachable`, an out-of-bounds access).
    Trap { call: String, message: String },
    /// The call ran past the test's deadline.
    Timeout { call: String },
    /// The run's CPU budget was used up (before or during the call).
    CpuBudget {
        call: String,
        limit: std::time::Duration,
    },
    /// The run's plugin sent the host more bytes than its output quota.
    OutputQuota { call: String, limit: u64 },
    /// The tenant already held as many instances as it may at once.
    InstanceQuota { limit: usize },
    /// The plugin tried to grow its memory past the cap.
    MemoryLimit { call: String, limit: usize },
    /// The plugin held more host resources (HTTP fields, requests, streams,
    /// handles) at once than an instance may.
    HostResources { call: String },
    /// One call passed the host more bytes than a call may.
    CopyBudget { call: String },
    /// A read returned more messages than allowed.
    TooManyMessages { limit: u64 },
    /// A read returned a message larger than allowed.
    MessageTooLarge {
        size: usize,
        limit: usize,
        what: String,
    },
    /// A read returned a message the contract does not allow.
    MalformedMessage { problem: String, fix: String },
    /// `reader.next` returned an error.
    ReadFailed(ConnectorError),
    /// ctest itself failed while serving the plugin (a bug of ctest's).
    HostFault { call: String, message: String },
    /// An earlier failure left the instance unusable.
    Unusable { call: String, reason: String },
}

/// A `connector-error` from the plugin, as the host keeps it.
#[derive(Debug, Clone)]
pub struct ConnectorError {
    pub message: String,
    pub internal_message: Option<String>,
    pub failure_type: String,
}

impl From<wit::ConnectorError> for ConnectorError {
    fn from(e: wit::ConnectorError) -> Self {
        ConnectorError {
            message: e.message,
            internal_message: e.internal_message,
            failure_type: match e.failure_type {
                wit::FailureType::SystemError => "system_error",
                wit::FailureType::ConfigError => "config_error",
                wit::FailureType::TransientError => "transient_error",
            }
            .to_string(),
        }
    }
}

impl fmt::Display for ConnectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.failure_type)?;
        if let Some(internal) = &self.internal_message {
            write!(f, "; detail: {internal}")?;
        }
        Ok(())
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginError::Trap { call, message } => {
                write!(f, "the plugin trapped during `{call}`: {message}")
            }
            PluginError::Timeout { call } => write!(
                f,
                "`{call}` did not finish within its time limit; fix: make the call faster, or raise the limit with `--timeout SECONDS`"
            ),
            PluginError::CpuBudget { call, limit } => write!(
                f,
                "the run's CPU budget of {} s (`--max-run-cpu-seconds`; `max_job_cpu_seconds` in a job file) was used up at `{call}`; fix: make the connector do less work per run, run fewer tests (`--run`), or ask the operator for a larger budget",
                limit.as_secs_f64()
            ),
            PluginError::OutputQuota { call, limit } => write!(
                f,
                "the run's output quota of {limit} bytes (`--max-run-output-bytes`; `max_job_output_bytes` in a job file) was used up at `{call}`: messages, log lines, stdout and stderr count; fix: log less and read fewer records per run (a smaller config, fewer tests with `--run`), or ask the operator for a larger quota"
            ),
            PluginError::InstanceQuota { limit } => write!(
                f,
                "the tenant's quota of {limit} plugin instances at once (`max_concurrent_instances` in the job file's operator section) was in use when this test needed another; fix: ask the operator for a larger quota"
            ),
            PluginError::MemoryLimit { call, limit } => write!(
                f,
                "the plugin needed more than the memory limit of {} MiB during `{call}`; fix: use less memory (stream records instead of collecting them), or raise the limit with `--memory-limit MIB`",
                limit >> 20
            ),
            PluginError::HostResources { call } => write!(
                f,
                "the plugin held more than {} host resources at once (HTTP headers, requests, bodies, streams, handles) during `{call}`; fix: drop each request, response and stream when done with it",
                super::MAX_HOST_RESOURCES
            ),
            PluginError::CopyBudget { call } => write!(
                f,
                "`{call}` passed the host more than {} MiB in one call; fix: return less per call (smaller pages, shorter messages)",
                super::COPY_BUDGET >> 20
            ),
            PluginError::TooManyMessages { limit } => write!(
                f,
                "the read returned more than {limit} messages, the message limit; fix: check that the read ends, or raise the limit with `--max-messages N`"
            ),
            PluginError::MessageTooLarge { size, limit, what } => write!(
                f,
                "{what} is {size} bytes, over the message size limit of {limit} bytes; fix: split it, or raise the limit with `--max-message-size BYTES`"
            ),
            PluginError::MalformedMessage { problem, fix } => {
                write!(f, "the read broke the contract: {problem}; fix: {fix}")
            }
            PluginError::ReadFailed(e) => write!(f, "the read failed: {e}"),
            PluginError::HostFault { call, message } => write!(
                f,
                "ctest failed while serving `{call}` ({message}); this is a bug in ctest, please report it with the plugin"
            ),
            PluginError::Unusable { call, reason } => write!(
                f,
                "cannot call `{call}`: the instance is unusable after an earlier failure ({reason})"
            ),
        }
    }
}

impl std::error::Error for PluginError {}

/// What a trap the plugin said nothing about most often is, per language,
/// and the fix.
fn silent_trap(language: super::language::Language) -> Option<&'static str> {
    use super::language::Language;
    match language {
        Language::Python => Some(
            "the Python runtime stopped without a Python error, which most often means code the sandbox cannot run: a native extension module, or a raw socket (`requests` and `urllib3` open their own sockets, `socket` and `ssl` have none here)\n  fix: make HTTP calls with `ctest_sdk.http` or `urllib.request` (both go through wasi:http), use pure-Python packages (the build names native ones it finds), and see `ctest guide python`",
        ),
        Language::TypeScript => Some(
            "the JavaScript runtime stopped without a JavaScript error, which most often means a Node API the sandbox does not have (`fs`, `net`, `child_process`) or code past its memory\n  fix: use `fetch` for HTTP and no Node built-ins, and see `ctest guide typescript`",
        ),
        Language::Rust | Language::Unknown => None,
    }
}

/// Turns an error from wasmtime into the failure the user needs to see.
pub(super) fn classify(
    call: &str,
    error: wasmtime::Error,
    limits: &Limits,
    logs: &LogBuffer,
    stderr: &CapturedOutput,
    past_deadline: bool,
    language: &dyn Fn() -> super::language::Language,
) -> PluginError {
    let trap = error.downcast_ref::<wasmtime::Trap>().copied();
    let text = format!("{error:#}");
    if text.contains("too much data is being copied between the host and the guest") {
        return PluginError::CopyBudget {
            call: call.to_string(),
        };
    }
    if text.contains("resource table has no free keys")
        || text.contains("store handle limit exceeded")
    {
        return PluginError::HostResources {
            call: call.to_string(),
        };
    }
    if text.contains("forcing trap when growing memory")
        || text.contains("forcing trap when growing table")
    {
        return PluginError::MemoryLimit {
            call: call.to_string(),
            limit: limits.memory_bytes,
        };
    }
    if trap == Some(wasmtime::Trap::Interrupt) || past_deadline {
        return PluginError::Timeout {
            call: call.to_string(),
        };
    }
    // A panicking guest traps with `unreachable`; its message is in what it
    // logged last (the SDK's panic hook) or wrote to stderr.
    let mut message = match trap {
        Some(t) => t.to_string(),
        None => text.lines().next().unwrap_or("unknown error").to_string(),
    };
    let fatal = logs
        .lines
        .iter()
        .rev()
        .find(|l| l.level == "fatal")
        .map(|l| l.message.clone());
    let (stderr_text, _) = stderr.text();
    let stderr_tail: Vec<&str> = stderr_text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .rev()
        .take(5)
        .collect();
    if let Some(fatal) = fatal {
        message = format!("{message}; the plugin said: {fatal}");
    } else if !stderr_tail.is_empty() {
        let tail: Vec<&str> = stderr_tail.into_iter().rev().collect();
        message = format!("{message}; its stderr ends with: {}", tail.join(" | "));
    } else if let Some(likely) = silent_trap(language()) {
        // Nothing said why: what such a trap most often is, in that language.
        message = format!("{message}; {likely}");
    }
    PluginError::Trap {
        call: call.to_string(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::super::language::Language;
    use super::super::output::{CapturedOutput, LogBuffer};
    use super::*;

    fn trap_of(language: Language, logs: &LogBuffer) -> String {
        let error = wasmtime::Error::new(wasmtime::Trap::UnreachableCodeReached);
        classify(
            "read",
            error,
            &Limits::default(),
            logs,
            &CapturedOutput::new(1024),
            false,
            &|| language,
        )
        .to_string()
    }

    /// A trap the plugin said nothing about says what it most often is in
    /// the plugin's language, with the fix; one it explained keeps its words.
    #[test]
    fn a_silent_trap_says_what_it_likely_is_in_the_plugins_language() {
        let silent = LogBuffer::default();
        let python = trap_of(Language::Python, &silent);
        assert!(
            python.starts_with("the plugin trapped during `read`: wasm trap: wasm `unreachable` instruction executed; the Python runtime stopped without a Python error")
                && python.contains("native extension module")
                && python.contains("fix: make HTTP calls with `ctest_sdk.http` or `urllib.request`"),
            "{python}"
        );
        let typescript = trap_of(Language::TypeScript, &silent);
        assert!(
            typescript.contains("Node API the sandbox does not have"),
            "{typescript}"
        );
        let rust = trap_of(Language::Rust, &silent);
        assert_eq!(
            rust,
            "the plugin trapped during `read`: wasm trap: wasm `unreachable` instruction executed"
        );

        let mut said = LogBuffer::default();
        said.push("fatal", "panicked at src/lib.rs:3: boom");
        let explained = trap_of(Language::Python, &said);
        assert!(
            explained.ends_with("the plugin said: panicked at src/lib.rs:3: boom")
                && !explained.contains("Python runtime"),
            "{explained}"
        );
    }
}
