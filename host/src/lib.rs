//! ctest: the acceptance-test host for WebAssembly data connectors.
//!
//! - [`sandbox`]: loads a plugin component into wasmtime and runs its calls under
//!   limits, with nothing granted by default.
//! - [`suites`]: the standard suites (spec, connection, discovery, basic read).
//! - [`report`]: the console and JSON reporters.
//! - [`cli`]: the `ctest` command line.

pub mod cli;
pub mod compat;
pub mod cursor;
pub mod redact;
pub mod report;
pub mod sandbox;
pub mod schema;
pub mod suites;
pub mod test_config;
