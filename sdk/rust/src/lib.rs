//! Write ctest data connectors in Rust.
//!
//! Implement [`Connector`] for a type and export it with [`export_connector!`]; then
//! `cargo build --target wasm32-wasip2 --release` produces a component that
//! `ctest run` can test.
//!
//! ```ignore
//! use ctest_sdk::prelude::*;
//!
//! struct Hello;
//!
//! #[derive(serde::Deserialize)]
//! struct Config { greeting: String }
//!
//! impl Connector for Hello {
//!     type Config = Config;
//!     fn spec() -> Spec { Spec::new("source-hello", "0.1.0", serde_json::json!({ ... })) }
//!     fn check(_config: Config) -> Result<CheckOutcome, Error> { Ok(CheckOutcome::Succeeded) }
//!     fn discover(_config: Config) -> Result<Vec<Stream>, Error> { ... }
//!     fn read(config: Config, catalog: ConfiguredCatalog, state: State) -> Result<Messages, Error> { ... }
//! }
//!
//! ctest_sdk::export_connector!(Hello);
//! ```
//!
//! The SDK parses the config into `Config` (a config that does not parse fails `check`
//! with the parser's message), turns panics into a fatal log line the host can show,
//! and hands the host messages in batches pulled from the iterator `read` returns.

use serde::de::DeserializeOwned;

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "connector",
        pub_export_macro: true,
        export_macro_name: "export_bindings",
        default_bindings_module: "ctest_sdk::bindings",
    });
}

/// Bindings of the `test-utils` world: the `write-back` export, sharing the
/// contract's types with [`bindings`].
#[doc(hidden)]
pub mod write_back_bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "test-utils",
        pub_export_macro: true,
        export_macro_name: "export_write_back_bindings",
        default_bindings_module: "ctest_sdk::write_back_bindings",
        with: {
            "ctest:connector/types@0.2.0": crate::bindings::ctest::connector::types,
            "ctest:connector/host@0.2.0": crate::bindings::ctest::connector::host,
        },
    });
}

use bindings::ctest::connector::host;
use bindings::ctest::connector::types as wit;

pub use wit::{
    CheckOutcome, ConfiguredCatalog, ConfiguredStream, FailureType, Feature, IngestionType,
    LogLevel, StreamStatus, SyncMode,
};

/// Everything a connector usually needs.
pub mod prelude {
    pub use crate::{
        ChangedRows, CheckOutcome, ConfiguredCatalog, ConfiguredStream, Connector, Error, Feature,
        IngestionType, LogLevel, Message, Messages, Query, Spec, State, Stream, StreamStatus,
        SyncMode, WriteBack,
    };
}

/// A connector: what `ctest` calls through the contract in `wit/connector.wit`.
pub trait Connector: 'static {
    /// The config, as the spec's JSON Schema describes it.
    type Config: DeserializeOwned;

    /// The connector's specification.
    fn spec() -> Spec;

    /// Checks that the config can be used. A config that does not parse into
    /// `Self::Config` never gets here: the SDK answers `Failed` for it.
    fn check(config: Self::Config) -> Result<CheckOutcome, Error>;

    /// The streams the config gives access to.
    fn discover(config: Self::Config) -> Result<Vec<Stream>, Error>;

    /// Reads the configured streams, starting from `state`. The host pulls the
    /// returned iterator in batches, so it may be lazy and arbitrarily long.
    fn read(
        config: Self::Config,
        catalog: ConfiguredCatalog,
        state: State,
    ) -> Result<Messages, Error>;
}

/// What `read` returns: a lazy sequence of messages. An `Err` item ends the read
/// with that error, after the messages before it are delivered.
pub type Messages = Box<dyn Iterator<Item = Result<Message, Error>>>;

mod error;
#[doc(hidden)]
pub mod export;
pub mod http;
pub mod log;
mod message;
pub mod query;
mod spec;
mod state;
pub mod time;
mod write_back;

pub use error::Error;
pub use message::{Message, now_millis};
pub use query::Query;
pub use spec::{Spec, Stream};
pub use state::State;
pub use write_back::{ChangedRows, WriteBack};

#[doc(hidden)]
pub use export as __private;
#[doc(hidden)]
pub use write_back::__write_back;

/// Exports a [`WriteBack`] implementation as the plugin's `write-back`
/// interface: alone for a test-utils component, or next to
/// [`export_connector!`] in the connector itself.
#[macro_export]
macro_rules! export_write_back {
    ($writer:ty) => {
        struct __CtestWriteBackExport;

        impl $crate::__write_back::Guest for __CtestWriteBackExport {
            fn insertable_tables(
                config: ::std::string::String,
            ) -> ::std::result::Result<
                ::std::vec::Vec<::std::string::String>,
                $crate::bindings::ctest::connector::types::ConnectorError,
            > {
                $crate::__write_back::insertable_tables::<$writer>(config)
            }
            fn write_rows(
                config: ::std::string::String,
                table: ::std::string::String,
                count: u32,
                tag: ::std::string::String,
            ) -> ::std::result::Result<
                $crate::__write_back::WitChangedRows,
                $crate::bindings::ctest::connector::types::ConnectorError,
            > {
                $crate::__write_back::write_rows::<$writer>(config, table, count, tag)
            }
            fn deletable_tables(
                config: ::std::string::String,
            ) -> ::std::result::Result<
                ::std::vec::Vec<::std::string::String>,
                $crate::bindings::ctest::connector::types::ConnectorError,
            > {
                $crate::__write_back::deletable_tables::<$writer>(config)
            }
            fn delete_rows(
                config: ::std::string::String,
                table: ::std::string::String,
                count: u32,
                tag: ::std::string::String,
            ) -> ::std::result::Result<
                $crate::__write_back::WitChangedRows,
                $crate::bindings::ctest::connector::types::ConnectorError,
            > {
                $crate::__write_back::delete_rows::<$writer>(config, table, count, tag)
            }
        }

        $crate::write_back_bindings::export_write_back_bindings!(
            __CtestWriteBackExport with_types_in $crate::write_back_bindings
        );
    };
}

/// Exports a [`Connector`] implementation as the plugin's `source` interface.
#[macro_export]
macro_rules! export_connector {
    ($connector:ty) => {
        struct __CtestSourceExport;

        impl $crate::__private::Guest for __CtestSourceExport {
            type Reader = $crate::__private::MessageReader;
            fn spec() -> $crate::bindings::ctest::connector::types::ConnectorSpec {
                $crate::__private::spec::<$connector>()
            }
            fn check(
                config: ::std::string::String,
            ) -> ::std::result::Result<
                $crate::CheckOutcome,
                $crate::bindings::ctest::connector::types::ConnectorError,
            > {
                $crate::__private::check::<$connector>(config)
            }
            fn discover(
                config: ::std::string::String,
            ) -> ::std::result::Result<
                $crate::bindings::ctest::connector::types::Catalog,
                $crate::bindings::ctest::connector::types::ConnectorError,
            > {
                $crate::__private::discover::<$connector>(config)
            }
            fn read(
                config: ::std::string::String,
                catalog: $crate::ConfiguredCatalog,
                state: ::std::vec::Vec<$crate::bindings::ctest::connector::types::StreamState>,
            ) -> ::std::result::Result<
                $crate::__private::Reader,
                $crate::bindings::ctest::connector::types::ConnectorError,
            > {
                $crate::__private::read::<$connector>(config, catalog, state)
            }
        }

        $crate::bindings::export_bindings!(__CtestSourceExport with_types_in $crate::bindings);
    };
}
