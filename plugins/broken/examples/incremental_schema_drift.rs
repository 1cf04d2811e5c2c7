//! Valid in a full refresh, but in a read from a state `users` records carry
//! `age` as text ("42"): the incremental code path builds records its own
//! way. basic_read's read keeps every rule; the incremental reads break
//! basic_read/records_match_schema, and the incremental tests that read
//! records from a state fail for it.
//!
//! ctest: fails incremental/second_read_respects_state
//! ctest: fails incremental/sequential_slices
//! ctest: says expected an incremental read from the first read's state to complete, keeping the rules of every read; the read broke basic_read/records_match_schema, which every read must keep, 1 time(s), the first: record index 0 of stream `users` at `/age`: "22" is not of type "integer"
//! ctest: says fix: emit values of the declared types
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, faker_config, map_records};
use faker::Faker;
use serde_json::Value;

struct Drift;
impl Defect for Drift {
    fn read(config: &Value, catalog: ConfiguredCatalog, state: State) -> Result<Messages, Error> {
        let from_state = !state.is_empty();
        let messages = Faker::read(faker_config(config)?, catalog, state)?;
        if !from_state {
            return Ok(messages);
        }
        Ok(map_records(messages, "users", |record| {
            if let Some(age) = record.get("age").cloned() {
                record["age"] = Value::from(age.to_string());
            }
        }))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<Drift>);
