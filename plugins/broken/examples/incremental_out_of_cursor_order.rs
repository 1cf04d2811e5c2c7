//! In a read from no state, two `users` records trade places across the
//! first checkpoint: id 245 comes after the state that holds id 250's
//! cursor, so a sync that stops at that checkpoint never reads id 245 (a
//! connector that pages by id while its cursor is `updated_at`). Caught by
//! incremental/sequential_slices, whose fix names the order.
//!
//! ctest: fails incremental/sequential_slices
//! ctest: says stream `users`, the read from the first read's checkpoint after its record index 249 (the state {"updated_at":"2020-01-01T04:10:00Z"}): 1 record(s) the first read emitted after it are missing, the first its record index 254, primary key [245]
//! ctest: says fix: stream `users`: records after the checkpoint have a cursor before its "2020-01-01T04:10:00Z": the stream is not emitted in cursor order
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, faker_config};
use faker::Faker;
use serde_json::Value;

struct OutOfOrder;
impl Defect for OutOfOrder {
    fn read(config: &Value, catalog: ConfiguredCatalog, state: State) -> Result<Messages, Error> {
        let from_state = !state.is_empty();
        let messages = Faker::read(faker_config(config)?, catalog, state)?;
        if from_state {
            return Ok(messages);
        }
        let mut all: Vec<Result<Message, Error>> = messages.collect();
        let users: Vec<usize> = all
            .iter()
            .enumerate()
            .filter(|(_, m)| matches!(m, Ok(Message::Record { stream, .. }) if stream == "users"))
            .map(|(i, _)| i)
            .collect();
        // Records at indexes 244 and 254 (ids 245 and 255) trade places.
        if users.len() > 254 {
            all.swap(users[244], users[254]);
        }
        Ok(Box::new(all.into_iter()))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<OutOfOrder>);
