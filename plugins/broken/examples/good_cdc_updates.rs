//! Good: in a full refresh, a change of `users` (ingestion type `cdc`) is
//! emitted again at the end with a later cursor, as a change stream may.
//! Every test passes (host/tests/integration/verdicts.rs).
//!
//! ctest: tested-in host/tests/integration/verdicts.rs
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, read_reemitting_first_user};
use serde_json::Value;

struct LaterChange;
impl Defect for LaterChange {
    fn read(config: &Value, catalog: ConfiguredCatalog, state: State) -> Result<Messages, Error> {
        read_reemitting_first_user(config, catalog, state, true)
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<LaterChange>);
