//! One `purchases` record (an append stream) carries the primary key of the
//! record before it, as an overlapping page would. Caught by
//! basic_read/primary_key_unique.
//!
//! ctest: fails basic_read/primary_key_unique
//! ctest: says record index 4 of stream `purchases` repeats the primary key [4] of record index 3
//! ctest: says check pagination
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, json, map_records};

struct DuplicateKey;
impl Defect for DuplicateKey {
    fn messages(messages: Messages) -> Messages {
        map_records(messages, "purchases", |r| {
            if r["id"] == json!(5) {
                r["id"] = json!(4);
            }
        })
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<DuplicateKey>);
