//! `users` records carry a `nickname` field their schema does not declare (the
//! schema allows extra fields, so only the undeclared-field check sees it).
//! Caught by basic_read/no_undeclared_fields.
//!
//! ctest: fails basic_read/no_undeclared_fields
//! ctest: says has the field `/nickname`
//! ctest: says 1000 problem(s)
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, json, map_records, stream_mut};

struct Undeclared;
impl Defect for Undeclared {
    fn discover(mut streams: Vec<Stream>) -> Vec<Stream> {
        stream_mut(&mut streams, "users").json_schema["additionalProperties"] = json!(true);
        streams
    }
    fn messages(messages: Messages) -> Messages {
        map_records(messages, "users", |r| r["nickname"] = json!("ace"))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<Undeclared>);
