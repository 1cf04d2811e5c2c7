//! Good: in a full refresh, a change of `users` (ingestion type `cdc`) is
//! emitted again at the end with a later cursor, as a change stream may.
//! Every test passes (host/tests/verdicts.rs).
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, faker_config, reemit_first_user};
use faker::Faker;
use serde_json::Value;

struct LaterChange;
impl Defect for LaterChange {
    fn read(config: &Value, catalog: ConfiguredCatalog, state: State) -> Result<Messages, Error> {
        let full = catalog
            .streams
            .iter()
            .any(|s| s.name == "users" && s.sync_mode == SyncMode::FullRefresh);
        let messages = Faker::read(faker_config(config)?, catalog, state)?;
        Ok(if full {
            reemit_first_user(messages, true)
        } else {
            messages
        })
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<LaterChange>);
