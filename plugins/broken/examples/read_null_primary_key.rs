//! Some `purchases` have a null `id` (the schema allows null, so only the key
//! check sees it). Caught by basic_read/primary_key_not_null.
//!
//! ctest: fails basic_read/primary_key_not_null
//! ctest: says record index 99 of stream `purchases` has no value at primary key field `id`
//! ctest: says 10 problem(s)
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, json, map_records, stream_mut};

struct NullKey;
impl Defect for NullKey {
    fn discover(mut streams: Vec<Stream>) -> Vec<Stream> {
        stream_mut(&mut streams, "purchases").json_schema["properties"]["id"] =
            json!({"type": ["null", "integer"]});
        streams
    }
    fn messages(messages: Messages) -> Messages {
        map_records(messages, "purchases", |r| {
            if r["id"].as_u64().is_some_and(|id| id % 100 == 0) {
                r["id"] = json!(null);
            }
        })
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<NullKey>);
