//! Reads everything whatever the state says. Caught by
//! incremental/second_read_respects_state and incremental/future_state_yields_no_records.
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
