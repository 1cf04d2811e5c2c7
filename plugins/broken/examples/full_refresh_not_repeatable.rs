//! Every read stamps `users` records with a value drawn at random for that read,
//! so no two full-refresh reads agree. Caught by full_refresh/records_repeatable.
//!
//! ctest: fails full_refresh/records_repeatable
//! ctest: says stream `users`: the record with primary key [
//! ctest: says differs between the two reads
//! ctest: says 1000 problem(s)
use std::hash::{BuildHasher, RandomState};

use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, json, map_records};

struct NotRepeatable;
impl Defect for NotRepeatable {
    fn messages(messages: Messages) -> Messages {
        // Seeded from the host's randomness, afresh in every instance.
        let tag = RandomState::new().hash_one(0u8);
        map_records(messages, "users", move |r| {
            r["address"]["postal_code"] = json!(format!("{tag:016x}"));
        })
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<NotRepeatable>);
