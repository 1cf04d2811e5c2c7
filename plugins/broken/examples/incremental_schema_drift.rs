//! Valid in a full refresh, but in a read from a state `users` records carry
//! `age` as text ("42"): the incremental code path builds records its own
//! way. basic_read's read keeps every rule; the incremental reads break
//! basic_read/records_match_schema, and the incremental tests that read
//! records from a state fail for it.
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
