//! `users.age` comes as a string though the schema says integer. Caught by
//! basic_read/records_match_schema.
//!
//! ctest: fails basic_read/records_match_schema
//! ctest: says record index 16 of stream `users` at `/age`
//! ctest: says "forty-two" is not of type "integer"
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, json, map_records};

struct SchemaMismatch;
impl Defect for SchemaMismatch {
    fn messages(messages: Messages) -> Messages {
        map_records(messages, "users", |r| {
            if r["id"] == json!(17) {
                r["age"] = json!("forty-two");
            }
        })
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<SchemaMismatch>);
