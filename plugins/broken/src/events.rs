//! `events`: a second connector shape for the incremental suite, with an
//! integer cursor (`seq`) where source-faker has a date-time one. Each
//! plugin built on it chooses only how its state looks ([`StateShape`]).
//!
//! One stream, `events`, of `count` records (the faker config's `count`,
//! at most 10,000) with `seq` 1..=count, emitted in `seq` order with a
//! checkpoint every `records_per_state` records. A read from a state
//! returns the events after its `seq`; when nothing is new, the state it
//! ends with is the one it was given.

use std::marker::PhantomData;

use ctest_sdk::prelude::*;
use faker::Faker;
use serde_json::{Value, json};

use crate::faker_config;

/// How a plugin's state holds the last `seq` read.
pub trait StateShape: 'static {
    fn save(seq: u64) -> Value;
    fn load(state: &Value) -> Option<u64>;
}

/// The `events` connector with states of shape `S`.
pub struct Events<S>(PhantomData<S>);

const MOST: u64 = 10_000;

impl<S: StateShape> Connector for Events<S> {
    type Config = Value;

    fn spec() -> Spec {
        Faker::spec()
    }

    fn check(config: Value) -> Result<CheckOutcome, Error> {
        match faker_config(&config) {
            Ok(c) => Faker::check(c),
            Err(e) => Ok(CheckOutcome::Failed(e.message)),
        }
    }

    fn discover(config: Value) -> Result<Vec<Stream>, Error> {
        faker_config(&config)?;
        Ok(vec![
            Stream::new(
                "events",
                json!({
                    "$schema": "http://json-schema.org/draft-07/schema#",
                    "type": "object",
                    "properties": {
                        "seq": {"type": "integer"},
                        "kind": {"type": "string", "enum": ["click", "view", "buy"]},
                        "amount": {"type": ["null", "number"]}
                    },
                    "required": ["seq", "kind"],
                    "additionalProperties": false
                }),
            )
            .primary_key("seq")
            .incremental("seq"),
        ])
    }

    fn read(config: Value, catalog: ConfiguredCatalog, state: State) -> Result<Messages, Error> {
        let config = faker_config(&config)?;
        let count = config.count.min(MOST);
        let every = config.records_per_state.max(1);
        let mut out = Vec::new();
        for stream in &catalog.streams {
            if stream.name != "events" {
                return Err(Error::config(format!(
                    "the catalog names the stream `{}`, which this connector does not offer (it offers events)",
                    stream.name
                )));
            }
            let given = match stream.sync_mode {
                SyncMode::Incremental => match state.get("events") {
                    None => None,
                    Some(s) => Some(S::load(s).ok_or_else(|| {
                        Error::config(format!(
                            "the state of `events` is not one this connector saves: {s}"
                        ))
                    })?),
                },
                SyncMode::FullRefresh => None,
            };
            let after = given.unwrap_or(0);
            let emitted_at = ctest_sdk::now_millis();
            out.push(Message::status("events", StreamStatus::Started));
            for seq in after + 1..=count {
                let kind = ["click", "view", "buy"][(seq % 3) as usize];
                let amount = (kind == "buy").then_some(seq as f64 * 1.5);
                out.push(Message::record(
                    "events",
                    &json!({"seq": seq, "kind": kind, "amount": amount}),
                    emitted_at,
                ));
                if seq % every == 0 && seq < count {
                    out.push(Message::state("events", &S::save(seq)));
                }
            }
            // Never behind the state it was given.
            out.push(Message::state("events", &S::save(count.max(after))));
            out.push(Message::status("events", StreamStatus::Complete));
        }
        Ok(Box::new(out.into_iter().map(Ok)))
    }
}
