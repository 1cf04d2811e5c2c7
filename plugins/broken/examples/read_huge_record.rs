//! One `users` record of 1 MiB. Caught by basic_read/read, at the message size limit.
//!
//! ctest: fails basic_read/read
//! ctest: says a record of stream `users` is 1048
//! ctest: says limit of 100000 bytes
//! ctest: says --max-message-size
//! ctest: args --max-message-size 100000
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, json, map_records};

struct Huge;
impl Defect for Huge {
    fn messages(messages: Messages) -> Messages {
        map_records(messages, "users", |r| {
            if r["id"] == json!(3) {
                r["name"] = json!("x".repeat(1 << 20));
            }
        })
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<Huge>);
