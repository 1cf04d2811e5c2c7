//! Broken connectors: source-faker with exactly one defect each, to prove that
//! ctest catches what it claims to check.
//!
//! Each file in `examples/` is one plugin (a `cdylib`, built to
//! `target/plugins/broken-NAME.wasm` by `cargo xtask plugins`). It implements
//! [`Defect`], overriding only the hook it breaks, and exports
//! [`Broken<ItsDefect>`](Broken). Each states in its own header what ctest must
//! say of it (`//! ctest: fails suite/test`, `ctest: says ...`, `ctest: args ...`),
//! which `host/tests/integration/broken_plugins.rs` reads and checks; one that needs a set-up
//! of its own names the test file that proves it (`ctest: tested-in FILE`). The `good_*` examples (built as `good-NAME.wasm`)
//! are tricky but correct shapes that must pass; the `hostile_*` ones attack the
//! sandbox (host/tests/integration/hardening.rs).

use std::marker::PhantomData;

use ctest_sdk::prelude::*;
use faker::Faker;

pub use ctest_sdk;
pub use serde_json::{Value, json};

pub mod events;

/// Where a broken plugin departs from source-faker. Every hook defaults to
/// source-faker's behaviour.
pub trait Defect: 'static {
    fn spec(spec: Spec) -> Spec {
        spec
    }
    /// `check` with the raw config; the default parses it as source-faker does.
    fn check(config: &Value) -> Result<CheckOutcome, Error> {
        match faker_config(config) {
            Ok(c) => Faker::check(c),
            Err(e) => Ok(CheckOutcome::Failed(e.message)),
        }
    }
    fn discover(streams: Vec<Stream>) -> Vec<Stream> {
        streams
    }
    /// The catalog as source-faker will see it.
    fn catalog(catalog: ConfiguredCatalog) -> ConfiguredCatalog {
        catalog
    }
    /// The messages of a read, as source-faker produced them.
    fn messages(messages: Messages) -> Messages {
        messages
    }
    /// The whole read; the default is source-faker's, through the hooks above.
    fn read(config: &Value, catalog: ConfiguredCatalog, state: State) -> Result<Messages, Error> {
        let messages = Faker::read(faker_config(config)?, Self::catalog(catalog), state)?;
        Ok(Self::messages(messages))
    }
}

/// source-faker with the defect `D`.
pub struct Broken<D>(PhantomData<D>);

/// source-faker's config from the raw config, ignoring fields it does not know
/// (a broken plugin may declare more, such as a secret).
pub fn faker_config(config: &Value) -> Result<faker::Config, Error> {
    let mut known = config.clone();
    if let Some(map) = known.as_object_mut() {
        map.retain(|k, _| ["count", "seed", "records_per_state"].contains(&k.as_str()));
    }
    serde_json::from_value(known)
        .map_err(|e| Error::config(format!("the config is not valid: {e}")))
}

impl<D: Defect> Connector for Broken<D> {
    type Config = Value;

    fn spec() -> Spec {
        D::spec(Faker::spec())
    }
    fn check(config: Value) -> Result<CheckOutcome, Error> {
        D::check(&config)
    }
    fn discover(config: Value) -> Result<Vec<Stream>, Error> {
        Ok(D::discover(Faker::discover(faker_config(&config)?)?))
    }
    fn read(config: Value, catalog: ConfiguredCatalog, state: State) -> Result<Messages, Error> {
        D::read(&config, catalog, state)
    }
}

/// Rewrites the records of `stream` with `f` (which gets the record as JSON).
pub fn map_records(
    messages: Messages,
    stream: &'static str,
    f: impl Fn(&mut Value) + 'static,
) -> Messages {
    Box::new(messages.map(move |m| match m {
        Ok(Message::Record {
            stream: s,
            data,
            emitted_at,
        }) if s == stream => {
            let mut value: Value = serde_json::from_str(&data).expect("faker emits JSON");
            f(&mut value);
            Ok(Message::Record {
                stream: s,
                data: value.to_string(),
                emitted_at,
            })
        }
        other => other,
    }))
}

/// The stream named `name` of a catalog.
pub fn stream_mut<'a>(streams: &'a mut [Stream], name: &str) -> &'a mut Stream {
    streams
        .iter_mut()
        .find(|s| s.name == name)
        .expect("source-faker offers users, products and purchases")
}

/// The port a network probe aims at: `probe_port` in the config (a listener
/// the test owns and watches).
pub fn probe_port(config: &Value) -> u16 {
    config
        .get("probe_port")
        .and_then(Value::as_u64)
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or(9)
}

/// source-faker's read where, in a full refresh of `users`, the stream's
/// first record is emitted again after its last, its cursor set far `later`
/// than any record's, or far earlier (a change stream's repeat, in cursor
/// order or not).
pub fn read_reemitting_first_user(
    config: &Value,
    catalog: ConfiguredCatalog,
    state: State,
    later: bool,
) -> Result<Messages, Error> {
    let full = catalog
        .streams
        .iter()
        .any(|s| s.name == "users" && s.sync_mode == SyncMode::FullRefresh);
    let messages = Faker::read(faker_config(config)?, catalog, state)?;
    Ok(if full {
        reemit_first_user(messages, later)
    } else {
        messages
    })
}

fn reemit_first_user(messages: Messages, later: bool) -> Messages {
    let mut first: Option<Value> = None;
    Box::new(messages.flat_map(move |m| match m {
        Ok(Message::Record {
            stream,
            data,
            emitted_at,
        }) if stream == "users" => {
            if first.is_none() {
                first = serde_json::from_str(&data).ok();
            }
            vec![Ok(Message::Record {
                stream,
                data,
                emitted_at,
            })]
        }
        Ok(Message::StreamStatus {
            stream,
            status: StreamStatus::Complete,
        }) if stream == "users" => {
            let mut out = Vec::new();
            if let Some(mut record) = first.take() {
                record["updated_at"] = Value::from(if later {
                    "2999-01-01T00:00:00Z"
                } else {
                    "1999-01-01T00:00:00Z"
                });
                out.push(Ok(Message::Record {
                    stream: stream.clone(),
                    data: record.to_string(),
                    emitted_at: ctest_sdk::now_millis(),
                }));
            }
            out.push(Ok(Message::StreamStatus {
                stream,
                status: StreamStatus::Complete,
            }));
            out
        }
        other => vec![other],
    }))
}

/// `spec` with a secret `api_key` property (the plugins that leak it).
pub fn with_secret_api_key(mut spec: Spec) -> Spec {
    spec.connection_specification["properties"]["api_key"] =
        json!({"type": "string", "secret": true});
    spec
}

/// Base64 (`url`: the URL-safe alphabet), without padding: how a plugin
/// would encode a credential for a header.
pub fn base64(bytes: &[u8], url: bool) -> String {
    let table: &[u8; 64] = if url {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(table[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}
