//! Not broken: `users.created_at` uses the lenient form `2020-01-01 10:00:00`
//! (a space for `T`, no zone), which Airbyte accepts. It must pass every test.
//!
//! ctest: passes
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, json, map_records};

struct Lenient;
impl Defect for Lenient {
    fn messages(messages: Messages) -> Messages {
        map_records(messages, "users", |r| {
            let strict = r["created_at"].as_str().unwrap_or_default().to_string();
            r["created_at"] = json!(strict.replacen('T', " ", 1).trim_end_matches('Z'));
        })
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<Lenient>);
