//! One `users.email` is not an email address. Caught by basic_read/records_match_schema.
//!
//! ctest: fails basic_read/records_match_schema
//! ctest: says at `/email`: "ada at example dot com" is not a "email"
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, json, map_records};

struct BadEmail;
impl Defect for BadEmail {
    fn messages(messages: Messages) -> Messages {
        map_records(messages, "users", |r| {
            if r["id"] == json!(8) {
                r["email"] = json!("ada at example dot com");
            }
        })
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<BadEmail>);
