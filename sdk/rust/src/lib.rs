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

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde::Serialize;
use serde::de::DeserializeOwned;

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
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
        path: "../../wit",
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
        IngestionType, LogLevel, Message, Messages, Spec, State, Stream, StreamStatus, SyncMode,
        WriteBack,
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

/// The state a read starts from: per stream, the JSON the connector emitted last.
#[derive(Debug, Clone, Default)]
pub struct State {
    streams: BTreeMap<String, serde_json::Value>,
}

impl State {
    /// The state of `stream`, if the host passed one.
    pub fn get(&self, stream: &str) -> Option<&serde_json::Value> {
        self.streams.get(stream)
    }

    /// The state of `stream` parsed into `T`; `None` when absent.
    pub fn parse<T: DeserializeOwned>(&self, stream: &str) -> Result<Option<T>, Error> {
        match self.streams.get(stream) {
            None => Ok(None),
            Some(value) => T::deserialize(value).map(Some).map_err(|e| {
                Error::config(format!("the state of stream `{stream}` is not valid: {e}"))
            }),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }

    /// Sets the state of `stream` (for a connector's own tests).
    pub fn insert(&mut self, stream: &str, value: serde_json::Value) {
        self.streams.insert(stream.to_string(), value);
    }
}

/// An error that stops an operation.
#[derive(Debug, Clone)]
pub struct Error {
    pub message: String,
    pub internal_message: Option<String>,
    pub failure_type: FailureType,
}

impl Error {
    /// A bug or unexpected condition in the connector.
    pub fn system(message: impl Into<String>) -> Self {
        Self::new(FailureType::SystemError, message)
    }
    /// The user's config is wrong.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(FailureType::ConfigError, message)
    }
    /// A passing fault; retrying may help.
    pub fn transient(message: impl Into<String>) -> Self {
        Self::new(FailureType::TransientError, message)
    }
    fn new(failure_type: FailureType, message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            internal_message: None,
            failure_type,
        }
    }
    /// Adds detail for the connector's author.
    pub fn with_internal(mut self, detail: impl Into<String>) -> Self {
        self.internal_message = Some(detail.into());
        self
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<Error> for wit::ConnectorError {
    fn from(e: Error) -> Self {
        wit::ConnectorError {
            message: e.message,
            internal_message: e.internal_message,
            failure_type: e.failure_type,
        }
    }
}

/// The connector's specification.
#[derive(Debug, Clone)]
pub struct Spec {
    pub name: String,
    pub version: String,
    /// JSON Schema (draft 7) of the config; mark secret properties `"secret": true`.
    pub connection_specification: serde_json::Value,
    /// Hosts the connector reaches: `Some(vec![])` for explicitly none,
    /// `None` when not declared (ctest's connector_attributes suite fails then).
    pub allowed_hosts: Option<Vec<String>>,
    pub features: Vec<Feature>,
    pub documentation_url: Option<String>,
}

impl Spec {
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        connection_specification: serde_json::Value,
    ) -> Self {
        Spec {
            name: name.into(),
            version: version.into(),
            connection_specification,
            allowed_hosts: None,
            features: Vec::new(),
            documentation_url: None,
        }
    }
    /// The hosts the connector reaches, for example `api.vendor.com`.
    pub fn allowed_hosts(mut self, hosts: &[&str]) -> Self {
        self.allowed_hosts = Some(hosts.iter().map(|h| h.to_string()).collect());
        self
    }
    /// Declares that the connector reaches no host at all.
    pub fn no_network(mut self) -> Self {
        self.allowed_hosts = Some(Vec::new());
        self
    }
    pub fn feature(mut self, feature: Feature) -> Self {
        self.features.push(feature);
        self
    }
}

/// A stream the connector offers.
#[derive(Debug, Clone)]
pub struct Stream {
    pub name: String,
    pub json_schema: serde_json::Value,
    pub supported_sync_modes: Vec<SyncMode>,
    pub source_defined_cursor: bool,
    pub default_cursor_field: Vec<String>,
    pub primary_key: Vec<Vec<String>>,
    pub ingestion_type: IngestionType,
}

impl Stream {
    /// A full-refresh, append stream without key or cursor.
    pub fn new(name: impl Into<String>, json_schema: serde_json::Value) -> Self {
        Stream {
            name: name.into(),
            json_schema,
            supported_sync_modes: vec![SyncMode::FullRefresh],
            source_defined_cursor: false,
            default_cursor_field: Vec::new(),
            primary_key: Vec::new(),
            ingestion_type: IngestionType::Append,
        }
    }
    /// Sets a top-level primary key field.
    pub fn primary_key(mut self, field: &str) -> Self {
        self.primary_key = vec![vec![field.to_string()]];
        self
    }
    /// Makes the stream incremental on the top-level `field`, chosen by the source.
    pub fn incremental(mut self, cursor_field: &str) -> Self {
        if !self.supported_sync_modes.contains(&SyncMode::Incremental) {
            self.supported_sync_modes.push(SyncMode::Incremental);
        }
        self.source_defined_cursor = true;
        self.default_cursor_field = vec![cursor_field.to_string()];
        self
    }
    pub fn ingestion_type(mut self, ingestion_type: IngestionType) -> Self {
        self.ingestion_type = ingestion_type;
        self
    }
}

/// One message of a read.
#[derive(Debug, Clone)]
pub enum Message {
    /// `data` is the record as JSON object text.
    Record {
        stream: String,
        data: String,
        emitted_at: i64,
    },
    /// Records of one stream in one message: `data` holds one JSON object
    /// per line (UTF-8). The host reads it as that many `Record`s with one
    /// `emitted_at`. Rust strings are cheap to hand over, so `Record` is as
    /// fast here; the shape exists for languages whose strings are not
    /// (JavaScript), and [`Message::records`] makes it.
    Records {
        stream: String,
        data: Vec<u8>,
        emitted_at: i64,
    },
    State {
        stream: String,
        data: String,
    },
    Log {
        level: LogLevel,
        message: String,
    },
    StreamStatus {
        stream: String,
        status: StreamStatus,
    },
    Error {
        stream: Option<String>,
        error: Error,
    },
}

impl Message {
    /// A record from any serializable value (normally a struct or a JSON object).
    pub fn record(stream: &str, data: &impl Serialize, emitted_at: i64) -> Result<Self, Error> {
        let data = serde_json::to_string(data)
            .map_err(|e| Error::system(format!("cannot serialize a record of `{stream}`: {e}")))?;
        Ok(Message::Record {
            stream: stream.to_string(),
            data,
            emitted_at,
        })
    }
    /// Several records of `stream` as one `Records` message (JSON lines).
    pub fn records<T: Serialize>(
        stream: &str,
        records: &[T],
        emitted_at: i64,
    ) -> Result<Self, Error> {
        let mut data = Vec::new();
        for record in records {
            if !data.is_empty() {
                data.push(b'\n');
            }
            serde_json::to_writer(&mut data, record).map_err(|e| {
                Error::system(format!("cannot serialize a record of `{stream}`: {e}"))
            })?;
        }
        Ok(Message::Records {
            stream: stream.to_string(),
            data,
            emitted_at,
        })
    }
    /// The state of `stream` after the records emitted so far.
    pub fn state(stream: &str, state: &impl Serialize) -> Result<Self, Error> {
        let data = serde_json::to_string(state)
            .map_err(|e| Error::system(format!("cannot serialize the state of `{stream}`: {e}")))?;
        Ok(Message::State {
            stream: stream.to_string(),
            data,
        })
    }
    pub fn status(stream: &str, status: StreamStatus) -> Self {
        Message::StreamStatus {
            stream: stream.to_string(),
            status,
        }
    }
    pub fn log(level: LogLevel, message: impl Into<String>) -> Self {
        Message::Log {
            level,
            message: message.into(),
        }
    }
}

impl From<Message> for wit::Message {
    fn from(m: Message) -> Self {
        match m {
            Message::Record {
                stream,
                data,
                emitted_at,
            } => wit::Message::Record(wit::RecordMessage {
                stream,
                data,
                emitted_at,
            }),
            Message::Records {
                stream,
                data,
                emitted_at,
            } => wit::Message::Records(wit::RecordBatch {
                stream,
                data,
                emitted_at,
            }),
            Message::State { stream, data } => {
                wit::Message::State(wit::StreamState { stream, data })
            }
            Message::Log { level, message } => {
                wit::Message::Log(wit::LogMessage { level, message })
            }
            Message::StreamStatus { stream, status } => {
                wit::Message::Trace(wit::TraceMessage::StreamStatus(wit::StreamStatusTrace {
                    stream,
                    status,
                }))
            }
            Message::Error { stream, error } => {
                wit::Message::Trace(wit::TraceMessage::Error(wit::ErrorTrace {
                    stream,
                    error: error.into(),
                }))
            }
        }
    }
}

/// The current time in milliseconds since the Unix epoch, for `emitted_at`.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Logging into the test's log, which ctest captures into its report.
pub mod http;

pub mod log {
    use super::{LogLevel, host};
    pub fn debug(message: &str) {
        host::log(LogLevel::Debug, message);
    }
    pub fn info(message: &str) {
        host::log(LogLevel::Info, message);
    }
    pub fn warn(message: &str) {
        host::log(LogLevel::Warn, message);
    }
    pub fn error(message: &str) {
        host::log(LogLevel::Error, message);
    }
}

/// The machinery behind [`export_connector!`]; not for direct use.
#[doc(hidden)]
pub mod __private {
    use super::*;
    pub use bindings::exports::ctest::connector::source::{Guest, GuestReader, Reader};

    /// Sends a panic's message to the host as a fatal log line: a trap alone
    /// carries no message.
    pub fn install_panic_hook() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            std::panic::set_hook(Box::new(|info| {
                host::log(LogLevel::Fatal, &format!("connector panicked: {info}"));
            }));
        });
    }

    fn parse_config<C: Connector>(config: &str) -> Result<C::Config, String> {
        serde_json::from_str(config).map_err(|e| format!("the config is not valid: {e}"))
    }

    pub fn spec<C: Connector>() -> wit::ConnectorSpec {
        install_panic_hook();
        let s = C::spec();
        wit::ConnectorSpec {
            name: s.name,
            version: s.version,
            connection_specification: s.connection_specification.to_string(),
            allowed_hosts: s.allowed_hosts,
            features: s.features,
            documentation_url: s.documentation_url,
        }
    }

    pub fn check<C: Connector>(config: String) -> Result<CheckOutcome, wit::ConnectorError> {
        install_panic_hook();
        match parse_config::<C>(&config) {
            Err(message) => Ok(CheckOutcome::Failed(message)),
            Ok(config) => C::check(config).map_err(Into::into),
        }
    }

    pub fn discover<C: Connector>(config: String) -> Result<wit::Catalog, wit::ConnectorError> {
        install_panic_hook();
        let config = parse_config::<C>(&config).map_err(Error::config)?;
        let streams = C::discover(config)?;
        Ok(wit::Catalog {
            streams: streams
                .into_iter()
                .map(|s| wit::StreamInfo {
                    name: s.name,
                    json_schema: s.json_schema.to_string(),
                    supported_sync_modes: s.supported_sync_modes,
                    source_defined_cursor: s.source_defined_cursor,
                    default_cursor_field: s.default_cursor_field,
                    source_defined_primary_key: s.primary_key,
                    ingestion_type: s.ingestion_type,
                })
                .collect(),
        })
    }

    pub fn read<C: Connector>(
        config: String,
        catalog: ConfiguredCatalog,
        state: Vec<wit::StreamState>,
    ) -> Result<Reader, wit::ConnectorError> {
        install_panic_hook();
        let config = parse_config::<C>(&config).map_err(Error::config)?;
        let mut streams = BTreeMap::new();
        for s in state {
            let value = serde_json::from_str(&s.data).map_err(|e| {
                Error::config(format!(
                    "the state of stream `{}` is not JSON: {e}",
                    s.stream
                ))
            })?;
            streams.insert(s.stream, value);
        }
        let messages = C::read(config, catalog, State { streams })?;
        Ok(Reader::new(MessageReader {
            messages: RefCell::new(Some(messages)),
            carry: RefCell::new(None),
        }))
    }

    /// The `reader` resource: pulls batches from the connector's iterator.
    pub struct MessageReader {
        /// `None` once the iterator is exhausted or failed.
        messages: RefCell<Option<Messages>>,
        /// The rest of a `Records` message that did not fit in the last call.
        carry: RefCell<Option<Message>>,
    }

    /// The records a `Records` message holds (its lines; an empty batch counts
    /// as one message).
    fn records_in(data: &[u8]) -> usize {
        let data = data.strip_suffix(b"\n").unwrap_or(data);
        data.iter().filter(|b| **b == b'\n').count() + 1
    }

    impl GuestReader for MessageReader {
        /// Up to `max` messages, a `Records` message counting as its records:
        /// one too large for the room left is cut at a line, and the rest
        /// opens the next call.
        fn next(&self, max: u32) -> Result<Vec<wit::Message>, wit::ConnectorError> {
            let mut carry = self.carry.borrow_mut();
            let mut slot = self.messages.borrow_mut();
            if carry.is_none() && slot.is_none() {
                return Ok(Vec::new());
            }
            let mut room = max as usize;
            let mut batch = Vec::with_capacity(max.min(4096) as usize);
            while room > 0 {
                let next = match carry.take() {
                    Some(m) => Some(Ok(m)),
                    None => match slot.as_mut() {
                        Some(messages) => messages.next(),
                        None => None,
                    },
                };
                match next {
                    Some(Ok(Message::Records {
                        stream,
                        mut data,
                        emitted_at,
                    })) => {
                        let records = records_in(&data);
                        if records > room {
                            // Cut after the `room`-th line.
                            let cut = data
                                .iter()
                                .enumerate()
                                .filter(|(_, b)| **b == b'\n')
                                .nth(room - 1)
                                .map_or(data.len(), |(i, _)| i + 1);
                            let rest = data.split_off(cut);
                            *carry = Some(Message::Records {
                                stream: stream.clone(),
                                data: rest,
                                emitted_at,
                            });
                            room = 0;
                        } else {
                            room -= records;
                        }
                        batch.push(
                            Message::Records {
                                stream,
                                data,
                                emitted_at,
                            }
                            .into(),
                        );
                    }
                    Some(Ok(m)) => {
                        room -= 1;
                        batch.push(m.into());
                    }
                    Some(Err(e)) => {
                        *slot = None;
                        if batch.is_empty() {
                            return Err(e.into());
                        }
                        // Deliver what came before the error; the error ends the read
                        // as a trace, the way the Airbyte protocol reports it.
                        batch.push(
                            Message::Error {
                                stream: None,
                                error: e,
                            }
                            .into(),
                        );
                        return Ok(batch);
                    }
                    None => {
                        *slot = None;
                        break;
                    }
                }
            }
            Ok(batch)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// What each `next(max)` call returned: (records counted as the host
        /// counts them, the records' JSON texts, the other messages).
        fn calls(messages: Vec<Message>, max: u32) -> Vec<(usize, Vec<String>, usize)> {
            let reader = MessageReader {
                messages: RefCell::new(Some(Box::new(messages.into_iter().map(Ok)))),
                carry: RefCell::new(None),
            };
            let mut calls = Vec::new();
            loop {
                let batch = reader.next(max).unwrap();
                if batch.is_empty() {
                    return calls;
                }
                let (mut counted, mut records, mut others) = (0, Vec::new(), 0);
                for m in batch {
                    match m {
                        wit::Message::Records(r) => {
                            let text = String::from_utf8(r.data).unwrap();
                            let lines: Vec<String> = text
                                .strip_suffix('\n')
                                .unwrap_or(&text)
                                .split('\n')
                                .map(String::from)
                                .collect();
                            counted += lines.len();
                            records.extend(lines);
                        }
                        _ => {
                            counted += 1;
                            others += 1;
                        }
                    }
                }
                calls.push((counted, records, others));
            }
        }

        #[test]
        fn a_records_message_larger_than_the_room_left_is_cut_at_a_line() {
            let rows: Vec<serde_json::Value> =
                (1..=10).map(|n| serde_json::json!({ "n": n })).collect();
            let messages = vec![
                Message::status("s", StreamStatus::Started),
                Message::records("s", &rows, 7).unwrap(),
                Message::state("s", &serde_json::json!({ "n": 10 })).unwrap(),
            ];
            let calls = calls(messages, 4);
            // 1 status + 3 records; 4 records; 3 records + 1 state.
            let counted: Vec<usize> = calls.iter().map(|c| c.0).collect();
            assert_eq!(counted, [4, 4, 4]);
            let records: Vec<String> = calls.iter().flat_map(|c| c.1.clone()).collect();
            let expected: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
            assert_eq!(records, expected);
            let others: Vec<usize> = calls.iter().map(|c| c.2).collect();
            assert_eq!(others, [1, 0, 1]);
        }

        #[test]
        fn a_records_message_that_fits_goes_whole() {
            let rows: Vec<serde_json::Value> =
                (1..=3).map(|n| serde_json::json!({ "n": n })).collect();
            let calls = calls(vec![Message::records("s", &rows, 7).unwrap()], 1024);
            assert_eq!(calls.len(), 1);
            assert_eq!(calls[0].0, 3);
        }
    }
}

/// Rows written to (or deleted from) the source, and where each field must
/// appear in a record: (field of the row, dotted path in the record).
#[derive(Debug, Clone, Default)]
pub struct ChangedRows {
    pub rows: Vec<serde_json::Value>,
    pub column_mapping: Vec<(String, String)>,
}

/// Writes test data to the source for ctest's write-back suite. Export it from
/// a separate component with [`export_write_back!`] (given to ctest with
/// `--test-utils`), or from the connector itself by invoking both
/// [`export_connector!`] and [`export_write_back!`].
pub trait WriteBack: 'static {
    /// The connector's config (the same config ctest gives the connector).
    type Config: DeserializeOwned;

    /// The tables (stream names) rows can be written to.
    fn insertable_tables(config: &Self::Config) -> Result<Vec<String>, Error>;

    /// Generates `count` rows (naming them with `tag`, unique to the run),
    /// writes them to `table`, and returns them with their column mapping.
    fn write_rows(
        config: &Self::Config,
        table: &str,
        count: u32,
        tag: &str,
    ) -> Result<ChangedRows, Error>;

    /// The tables rows can be deleted from: streams of ingestion type
    /// `CdcWithDeletes`.
    fn deletable_tables(_config: &Self::Config) -> Result<Vec<String>, Error> {
        Ok(Vec::new())
    }

    /// Deletes `count` rows of `table` (best written for the purpose first),
    /// returning them: at least their primary key, and its mapping.
    fn delete_rows(
        _config: &Self::Config,
        table: &str,
        _count: u32,
        _tag: &str,
    ) -> Result<ChangedRows, Error> {
        Err(Error::config(format!(
            "rows of `{table}` cannot be deleted"
        )))
    }
}

#[doc(hidden)]
pub mod __write_back {
    use super::*;
    pub use crate::write_back_bindings::exports::ctest::connector::write_back::{
        ChangedRows as WitChangedRows, Guest,
    };

    fn config<W: WriteBack>(config: &str) -> Result<W::Config, wit::ConnectorError> {
        __private::install_panic_hook();
        serde_json::from_str(config)
            .map_err(|e| Error::config(format!("the config is not valid: {e}")).into())
    }

    fn rows(changed: ChangedRows) -> WitChangedRows {
        WitChangedRows {
            rows: changed.rows.iter().map(|r| r.to_string()).collect(),
            column_mapping: changed.column_mapping,
        }
    }

    pub fn insertable_tables<W: WriteBack>(c: String) -> Result<Vec<String>, wit::ConnectorError> {
        Ok(W::insertable_tables(&config::<W>(&c)?)?)
    }
    pub fn write_rows<W: WriteBack>(
        c: String,
        table: String,
        count: u32,
        tag: String,
    ) -> Result<WitChangedRows, wit::ConnectorError> {
        Ok(rows(W::write_rows(&config::<W>(&c)?, &table, count, &tag)?))
    }
    pub fn deletable_tables<W: WriteBack>(c: String) -> Result<Vec<String>, wit::ConnectorError> {
        Ok(W::deletable_tables(&config::<W>(&c)?)?)
    }
    pub fn delete_rows<W: WriteBack>(
        c: String,
        table: String,
        count: u32,
        tag: String,
    ) -> Result<WitChangedRows, wit::ConnectorError> {
        Ok(rows(W::delete_rows(
            &config::<W>(&c)?,
            &table,
            count,
            &tag,
        )?))
    }
}

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
