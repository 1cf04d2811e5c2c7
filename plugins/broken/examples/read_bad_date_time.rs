//! One `users.created_at` is not a date-time. Caught by basic_read/records_match_schema
//! (formats are checked).
//!
//! ctest: fails basic_read/records_match_schema
//! ctest: says record index 4 of stream `users` at `/created_at`: "last tuesday" is not a "date-time"
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, json, map_records};

struct BadDateTime;
impl Defect for BadDateTime {
    fn messages(messages: Messages) -> Messages {
        map_records(messages, "users", |r| {
            if r["id"] == json!(5) {
                r["created_at"] = json!("last tuesday");
            }
        })
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<BadDateTime>);
