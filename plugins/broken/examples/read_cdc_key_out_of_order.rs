//! In a full refresh, a change of `users` (ingestion type `cdc`) is emitted
//! again at the end with an earlier cursor than the first time: a platform
//! that keeps the last change per key would keep the older one. Caught by
//! basic_read/primary_key_unique.
//!
//! ctest: fails basic_read/primary_key_unique
//! ctest: says of stream `users` repeats the primary key [1] of record index 0 with an earlier cursor
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, read_reemitting_first_user};
use serde_json::Value;

struct OutOfOrder;
impl Defect for OutOfOrder {
    fn read(config: &Value, catalog: ConfiguredCatalog, state: State) -> Result<Messages, Error> {
        read_reemitting_first_user(config, catalog, state, false)
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<OutOfOrder>);
