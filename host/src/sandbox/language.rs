//! Which language a plugin was written in, so that a load error can give the
//! fix in the author's own terms: the build command and the SDK call of Rust,
//! Python or TypeScript. Only computed when loading fails.
//!
//! The signals are what each toolchain leaves in the binary: the `producers`
//! custom sections (ComponentizeJS and the `JavaScript` language for
//! componentize-js; `wit-bindgen-rust` or the `Rust` language for Rust), and
//! for componentize-py, whose sections name only the Rust of its runtime, the
//! runtime library it links (`libcomponentize_py_runtime.so`). A source file
//! given instead of a component is told by its extension.

use std::fmt;
use std::path::Path;

use wasmparser::{KnownCustom, Parser, Payload};

/// The language a plugin was written in, as far as ctest can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Rust,
    Python,
    TypeScript,
    Unknown,
}

const PYTHON_RUNTIME: &[u8] = b"libcomponentize_py_runtime.so";

impl Language {
    /// The language of the WebAssembly binary `bytes`.
    pub fn of_binary(bytes: &[u8]) -> Language {
        let (mut javascript, mut rust) = (false, false);
        for payload in Parser::new(0).parse_all(bytes) {
            let Ok(Payload::CustomSection(section)) = payload else {
                continue;
            };
            let KnownCustom::Producers(fields) = section.as_known() else {
                continue;
            };
            for field in fields.into_iter().flatten() {
                for value in field.values.into_iter().flatten() {
                    let name = value.name.trim();
                    match field.name {
                        "language" if name == "JavaScript" => javascript = true,
                        "processed-by" if name.starts_with("ComponentizeJS") => javascript = true,
                        "language" if name == "Rust" => rust = true,
                        "processed-by" if name == "wit-bindgen-rust" => rust = true,
                        _ => {}
                    }
                }
            }
        }
        // JavaScript and Python components embed engines written in Rust and
        // C: their own marks come first.
        if javascript {
            Language::TypeScript
        } else if bytes
            .windows(PYTHON_RUNTIME.len())
            .any(|w| w == PYTHON_RUNTIME)
        {
            Language::Python
        } else if rust {
            Language::Rust
        } else {
            Language::Unknown
        }
    }

    /// The language of a source file given where a component was expected.
    pub fn of_source(path: &Path) -> Option<Language> {
        let ext = path.extension()?.to_str()?;
        match ext {
            "rs" | "toml" => Some(Language::Rust),
            "py" => Some(Language::Python),
            "ts" | "js" | "mjs" | "mts" => Some(Language::TypeScript),
            _ => None,
        }
    }

    /// How to build a connector component in this language.
    pub fn build(self) -> &'static str {
        match self {
            Language::Rust => {
                "build it with `cargo build --target wasm32-wasip2 --release` (the ctest-sdk crate; `rustup target add wasm32-wasip2` once)"
            }
            Language::Python => {
                "build it with `python -m ctest_sdk_build app.py -o plugin.wasm`, from the Python package ctest-sdk (`pip install ctest-sdk`; `ctest new NAME --lang python` makes a build.sh that does both)"
            }
            Language::TypeScript => {
                "build it with `npx ctest-sdk-build app.ts plugin.wasm`, from the npm package @ctest/sdk (`npm install @ctest/sdk`; `ctest new NAME --lang typescript` makes a build.sh that does both)"
            }
            Language::Unknown => {
                "build it against ctest's contract, wit/connector.wit: in Rust `cargo build --target wasm32-wasip2 --release` with the ctest-sdk crate; in Python `python -m ctest_sdk_build app.py -o plugin.wasm` (package ctest-sdk); in TypeScript `npx ctest-sdk-build app.ts plugin.wasm` (package @ctest/sdk)"
            }
        }
    }

    /// How a connector exports the `source` interface in this language.
    pub fn export_source(self) -> &'static str {
        match self {
            Language::Rust => "call `ctest_sdk::export_connector!(YourConnector)` in the crate",
            Language::Python => {
                "bind `Source = ctest_sdk.export(YourConnector)` at the top level of app.py"
            }
            Language::TypeScript => {
                "write `export const source = exportConnector(yourConnector)` in app.ts"
            }
            Language::Unknown => {
                "implement the `connector` world of wit/connector.wit (with the Rust SDK `ctest_sdk::export_connector!`, the Python SDK `Source = ctest_sdk.export(...)`, the TypeScript SDK `export const source = exportConnector(...)`)"
            }
        }
    }

    /// How a component exports the `write-back` interface in this language.
    pub fn export_write_back(self) -> &'static str {
        match self {
            Language::Rust => {
                "call `ctest_sdk::export_write_back!(YourWriter)` (alone: the test-utils world; next to `export_connector!`: connector-with-write-back)"
            }
            Language::Python => {
                "bind `WriteBack = ctest_sdk.export_write_back(YourWriter)` at the top level of app.py, next to `Source`, and build with `-w connector-http-with-write-back`"
            }
            Language::TypeScript => {
                "write `export const writeBack = exportWriteBack(yourWriter)` in app.ts, next to `source` (the SDK's build then uses the `connector-with-write-back` world)"
            }
            Language::Unknown => {
                "implement the `test-utils` world of wit/connector.wit; with the Rust SDK, call `ctest_sdk::export_write_back!(YourWriter)`"
            }
        }
    }

    /// How to rebuild against this host's contract version.
    pub fn update_contract(self) -> &'static str {
        match self {
            Language::Rust => {
                "update the ctest-sdk dependency to this ctest's and rebuild with `cargo build --target wasm32-wasip2 --release`"
            }
            Language::Python => {
                "update the ctest-sdk package to the version of the contract this ctest speaks (`pip install ctest-sdk==VERSION`) and rebuild with `python -m ctest_sdk_build app.py -o plugin.wasm`"
            }
            Language::TypeScript => {
                "update @ctest/sdk to the version of the contract this ctest speaks (`npm install @ctest/sdk@VERSION`) and rebuild with `npx ctest-sdk-build app.ts plugin.wasm`"
            }
            Language::Unknown => {
                "rebuild the plugin against this version's wit/connector.wit (update the SDK)"
            }
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Language::Rust => "Rust",
            Language::Python => "Python",
            Language::TypeScript => "JavaScript/TypeScript",
            Language::Unknown => "an unknown language",
        })
    }
}
