//! User 3's name comes out in capitals. Caught by basic_read/expected_records
//! when the test configuration expects source-faker's records
//! (host/tests/integration/test_config.rs).
//!
//! ctest: tested-in host/tests/integration/test_config.rs
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, map_records};

struct ChangedValue;
impl Defect for ChangedValue {
    fn messages(messages: Messages) -> Messages {
        map_records(messages, "users", |user| {
            if user["id"] == 3 {
                let name = user["name"].as_str().unwrap_or_default().to_uppercase();
                user["name"] = name.into();
            }
        })
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<ChangedValue>);
