//! When a stream has nothing new, its state goes back to the beginning of
//! time instead of keeping the cursor it was given: the next sync re-reads
//! everything. Caught by incremental/future_state_yields_no_records.
//!
//! ctest: fails incremental/future_state_yields_no_records
//! ctest: says stream `users` ended the read from
//! ctest: says whose cursor at `updated_at` ("1970-01-01T00:00:00Z") is behind the one it was given
//! ctest: says the next sync would read everything again
//! ctest: says never an older cursor
use std::collections::HashSet;

use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};
use serde_json::Value;

struct Regresses;
impl Defect for Regresses {
    fn messages(messages: Messages) -> Messages {
        let mut with_records: HashSet<String> = HashSet::new();
        Box::new(messages.map(move |m| match m {
            Ok(Message::Record {
                stream,
                data,
                emitted_at,
            }) => {
                with_records.insert(stream.clone());
                Ok(Message::Record {
                    stream,
                    data,
                    emitted_at,
                })
            }
            Ok(Message::State { stream, data }) if !with_records.contains(&stream) => {
                let mut state: Value =
                    serde_json::from_str(&data).expect("faker's states are JSON");
                state["updated_at"] = Value::from("1970-01-01T00:00:00Z");
                Ok(Message::State {
                    stream,
                    data: state.to_string(),
                })
            }
            other => other,
        }))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<Regresses>);
