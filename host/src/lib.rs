//! ctest: the acceptance-test host for WebAssembly data connectors.
//!
//! - [`sandbox`]: loads a plugin component into wasmtime and runs its calls under
//!   limits, with nothing granted by default.
//! - [`network`]: the network a plugin may reach (its spec's allowed hosts, on
//!   every path) and HTTP record and replay.
//! - [`suites`]: the standard suites.
//! - [`report`]: the console and JSON reporters.
//! - [`cli`]: the `ctest` command line.
//! - [`scaffold`]: `ctest new`, a connector project per language.

pub mod catalog;
pub mod checks;
pub mod cli;
pub mod compat;
pub mod cursor;
pub mod network;
pub mod redact;
pub mod report;
pub mod sandbox;
pub mod scaffold;
pub mod schema;
pub mod suites;
pub mod test_config;
