//! Load-time checks of a plugin against the contract: is it a component, does it
//! export the contract's `source` interface at the version this host speaks, and
//! are its imports ones the host provides.

use std::path::Path;

use wasmtime::Engine;
use wasmtime::component::Component;

use super::errors::LoadFailure;

/// The version of `wit/connector.wit` this host implements.
pub const CONTRACT_VERSION: &str = "0.2.0";
const PACKAGE: &str = "ctest:connector";

/// A component and a core module share the `\0asm` magic and differ in the
/// version/layer field that follows it.
pub(super) fn check_binary_kind(path: &Path, bytes: &[u8]) -> Result<(), LoadFailure> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(LoadFailure::NotWasm {
            path: path.to_path_buf(),
        });
    }
    // Core modules: version 1, layer 0. Components: layer 1.
    if bytes[4..8] == [1, 0, 0, 0] {
        return Err(LoadFailure::CoreModule {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

fn export_name(interface: &str) -> String {
    format!("{PACKAGE}/{interface}@{CONTRACT_VERSION}")
}

fn exports(engine: &Engine, component: &Component) -> Vec<String> {
    component
        .component_type()
        .exports(engine)
        .map(|(name, _)| name.to_string())
        .collect()
}

/// Whether the component exports the `write-back` interface of this version.
pub(super) fn exports_write_back(engine: &Engine, component: &Component) -> bool {
    exports(engine, component).contains(&export_name("write-back"))
}

/// A connector must export `source`; a test-utils component `write-back`.
pub(super) fn check_exports(
    path: &Path,
    engine: &Engine,
    component: &Component,
    role: super::Role,
) -> Result<(), LoadFailure> {
    let interface = match role {
        super::Role::Connector => "source",
        super::Role::TestUtils => "write-back",
    };
    let exports = exports(engine, component);
    if exports.contains(&export_name(interface)) {
        return Ok(());
    }
    if let Some(other) = exports
        .iter()
        .find(|e| e.starts_with(&format!("{PACKAGE}/{interface}@")))
    {
        let found = other.replace(&format!("/{interface}"), "");
        return Err(LoadFailure::WrongContractVersion {
            path: path.to_path_buf(),
            found,
        });
    }
    Err(LoadFailure::MissingExport {
        path: path.to_path_buf(),
        interface,
        exports,
    })
}

/// Explains a linking failure: names the import the host cannot satisfy.
pub(super) fn link_error(
    path: &Path,
    engine: &Engine,
    component: &Component,
    error: wasmtime::Error,
) -> LoadFailure {
    let text = format!("{error:#}");
    let ty = component.component_type();
    let imports: Vec<String> = ty
        .imports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    // A plugin built for another contract version imports its `host` interface.
    if let Some(name) = imports.iter().find(|name| {
        name.starts_with(&format!("{PACKAGE}/")) && !name.ends_with(&format!("@{CONTRACT_VERSION}"))
    }) {
        let found = name
            .split_once('@')
            .map(|(_, v)| format!("{PACKAGE}@{v}"))
            .unwrap_or_else(|| name.clone());
        return LoadFailure::WrongContractVersion {
            path: path.to_path_buf(),
            found,
        };
    }
    let import = imports
        .iter()
        .map(String::as_str)
        .find(|name| text.contains(name))
        .unwrap_or("unknown")
        .to_string();
    LoadFailure::UnsupportedImport {
        path: path.to_path_buf(),
        import,
        error: text,
    }
}
