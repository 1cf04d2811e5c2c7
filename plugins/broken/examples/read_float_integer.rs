//! `users.age` comes as 42.0 where the schema says integer. JSON Schema would
//! accept it; ctest is strict. Caught by basic_read/records_match_schema.
//!
//! ctest: fails basic_read/records_match_schema
//! ctest: says record index 11 of stream `users` at `/age`: 42.0 is not an integer
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, json, map_records};

struct FloatInteger;
impl Defect for FloatInteger {
    fn messages(messages: Messages) -> Messages {
        map_records(messages, "users", |r| {
            if r["id"] == json!(12) {
                r["age"] = json!(42.0);
            }
        })
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<FloatInteger>);
