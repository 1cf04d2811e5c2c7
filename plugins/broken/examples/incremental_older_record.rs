//! Read from a state, it first re-sends user 1, older than any cursor. Caught by
//! incremental/second_read_respects_state and incremental/future_state_yields_no_records.
//!
//! ctest: fails incremental/second_read_respects_state
//! ctest: fails incremental/sequential_slices
//! ctest: fails incremental/future_state_yields_no_records
//! ctest: says 1 problem(s):\n  record index 0 of stream `users` in the second read (from the state {"updated_at":"2020-01-01T16:40:00Z"}) has `updated_at` "2020-01-01T00:01:00Z", before
//! ctest: says fix: stream `users`: the read respects the state but for 1 record(s), the first at index 0: a record the state already covers is sent again
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, faker_config};
use faker::{Faker, StreamKind};
use serde_json::Value;

struct OlderRecord;
impl Defect for OlderRecord {
    fn read(config: &Value, catalog: ConfiguredCatalog, state: State) -> Result<Messages, Error> {
        let from_state = !state.is_empty();
        let config = faker_config(config)?;
        let (seed, count) = (config.seed, config.count);
        let messages = Faker::read(config, catalog, state)?;
        let mut sent = false;
        Ok(Box::new(messages.flat_map(move |m| {
            let mut out = vec![];
            if let Ok(Message::StreamStatus {
                stream,
                status: StreamStatus::Started,
            }) = &m
                && stream == "users"
                && from_state
                && !sent
            {
                sent = true;
                out.push(m.clone());
                let (data, _) = faker::record_json(StreamKind::Users, seed, 1, count);
                out.push(Ok(Message::Record {
                    stream: "users".into(),
                    data,
                    emitted_at: ctest_sdk::now_millis(),
                }));
                return out;
            }
            out.push(m);
            out
        })))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<OlderRecord>);
