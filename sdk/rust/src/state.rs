//! The state a read starts from.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;

use crate::Error;

/// The state a read starts from: per stream, the JSON the connector emitted last.
#[derive(Debug, Clone, Default)]
pub struct State {
    pub(crate) streams: BTreeMap<String, serde_json::Value>,
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
