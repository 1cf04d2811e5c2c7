//! Reads everything whatever the state says. Caught by
//! incremental/second_read_respects_state and incremental/future_state_yields_no_records.
//!
//! ctest: fails incremental/second_read_respects_state
//! ctest: fails incremental/sequential_slices
//! ctest: fails incremental/future_state_yields_no_records
//! ctest: says record index 0 of stream `users` in the second read (from the state {"updated_at":"2020-01-01T16:40:00Z"}) has `updated_at` "2020-01-01T00:01:00Z", before the state's cursor
//! ctest: says fix: streams `users`, `products`, `purchases`: the read starts from the beginning, as if it had no state
//! ctest: says compared as date-time
//! ctest: says stream `users` returned 1000 records from the state
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, faker_config};
use faker::Faker;
use serde_json::Value;

struct IgnoresState;
impl Defect for IgnoresState {
    fn read(config: &Value, catalog: ConfiguredCatalog, _state: State) -> Result<Messages, Error> {
        Faker::read(faker_config(config)?, catalog, State::default())
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<IgnoresState>);
