//! Every state carries the cursor of the read's first record instead of its
//! latest, so the state a read ends with does not cover what it returned.
//! Caught by incremental/final_state_adds_nothing.
//!
//! ctest: fails incremental/final_state_adds_nothing
//! ctest: says after the state's cursor "2020-01-01T00:01:00Z"
//! ctest: says fix: streams `users`, `products`, `purchases`: the state the read ended with is behind its own records
use std::collections::HashMap;

use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};
use serde_json::Value;

struct Lagging;
impl Defect for Lagging {
    fn messages(messages: Messages) -> Messages {
        let mut first: HashMap<String, Value> = HashMap::new();
        Box::new(messages.map(move |m| match m {
            Ok(Message::Record {
                stream,
                data,
                emitted_at,
            }) => {
                if !first.contains_key(&stream) {
                    let record: Value = serde_json::from_str(&data).expect("faker emits JSON");
                    first.insert(stream.clone(), record["updated_at"].clone());
                }
                Ok(Message::Record {
                    stream,
                    data,
                    emitted_at,
                })
            }
            Ok(Message::State { stream, data }) => {
                let data = match first.get(&stream) {
                    Some(cursor) => serde_json::json!({ "updated_at": cursor }).to_string(),
                    None => data,
                };
                Ok(Message::State { stream, data })
            }
            other => other,
        }))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<Lagging>);
