//! ctest: the acceptance-test host for WebAssembly data connectors.
//!
//! From the bottom up:
//!
//! - [`sandbox`]: the [`Host`](sandbox::Host), once per process, loads plugin
//!   components into wasmtime and runs their calls under limits, with nothing
//!   granted by default, on any thread.
//! - [`network`]: the network a plugin may reach (its spec's allowed hosts, on
//!   every path), per test, and HTTP record and replay.
//! - [`checks`]: the rules records, states and catalogs are held to, as a
//!   library ([`schema`], [`cursor`], [`catalog`], [`compat`] beside it).
//! - [`ops`]: operations on a plugin (read all, read from a state, write
//!   rows), on a test's fresh instances.
//! - [`suites`]: the standard suites, in a registry; [`test_config`] validates
//!   the test configuration through it.
//! - [`scenarios`]: a connector's own tests, declared in scenario files,
//!   run as the `scenario` suite on the same ops and checks.
//! - [`report`]: results as events, and the reporters that render them
//!   (console, JSON, JUnit), each writing its own file.
//! - [`session`]: a run request, resolved into a plan, run on a Host with a
//!   reporter: what the CLI and any other runner call.
//! - [`batch`]: `ctest batch`, many tenants' jobs on one Host.
//! - [`cli`]: the `ctest` command line: clap and exit codes.
//! - [`scaffold`]: `ctest new`, a connector project per language.

pub mod batch;
pub mod catalog;
pub mod checks;
pub mod cli;
pub mod compat;
pub mod cursor;
pub mod network;
pub mod ops;
pub mod redact;
pub mod report;
pub mod sandbox;
pub mod scaffold;
pub mod scenarios;
pub mod schema;
pub mod session;
pub mod suites;
pub mod test_config;
pub mod usage;

/// Deterministic pseudo-random numbers (xorshift64) for the randomized unit
/// tests: the same `seed`, the same sequence.
#[cfg(test)]
pub(crate) fn test_random(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}
