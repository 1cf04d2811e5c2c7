//! ctest's integration tests, one binary (it links wasmtime once): the real
//! `ctest` binary and the library's session against real plugins.
//!
//! Verdicts are read from the run's JSON report ([`support::Run`]), which the
//! console must agree with.

mod support;

mod airbyte;
mod backward_compatibility;
mod batch;
mod broken_plugins;
mod console;
mod golden;
mod hardening;
mod host;
mod html_report;
mod languages;
mod network;
mod queue;
mod reference_connector;
mod sandbox;
mod scaffold;
mod scenarios;
mod selection;
mod test_config;
mod user_errors;
mod verdicts;
mod write_back;
