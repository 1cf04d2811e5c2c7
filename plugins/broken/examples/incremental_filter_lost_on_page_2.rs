//! Reads `users` in pages of 50; from a state, only the first page's
//! request carries the cursor filter, so the second page on comes from the
//! unfiltered query (ids 51.. from the very first). Caught by
//! incremental/sequential_slices, whose fix names the later page.
//!
//! ctest: fails incremental/sequential_slices
//! ctest: says record index 50 of stream `users` in the read from the first read's checkpoint after its record index 249 (from the state {"updated_at":"2020-01-01T04:10:00Z"}) has `updated_at` "2020-01-01T00:51:00Z", before the state's cursor
//! ctest: says fix: stream `users`: the first 50 record(s) respected the state, then record index 50 and those after it did not: the filter is lost on a later page
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, faker_config};
use faker::Faker;
use serde_json::Value;

const PAGE: usize = 50;

fn is_user_record(m: &Result<Message, Error>) -> bool {
    matches!(m, Ok(Message::Record { stream, .. }) if stream == "users")
}

struct LostOnPage2;
impl Defect for LostOnPage2 {
    fn read(config: &Value, catalog: ConfiguredCatalog, state: State) -> Result<Messages, Error> {
        let config = faker_config(config)?;
        if state.get("users").is_none() {
            return Faker::read(config, catalog, state);
        }
        let filtered: Vec<Result<Message, Error>> =
            Faker::read(config.clone(), catalog.clone(), state)?.collect();
        if filtered.iter().filter(|m| is_user_record(m)).count() <= PAGE {
            // One page: the filter held.
            return Ok(Box::new(filtered.into_iter()));
        }
        let unfiltered: Vec<Result<Message, Error>> =
            Faker::read(config, catalog, State::default())?
                .filter(is_user_record)
                .skip(PAGE)
                .collect();
        // The first page as filtered; then, up to the stream's last state,
        // the unfiltered pages instead of the filtered ones.
        let mut out = Vec::new();
        let mut users = 0;
        let mut later_pages = Some(unfiltered);
        for m in filtered {
            match &m {
                Ok(Message::Record { stream, .. }) if stream == "users" => {
                    users += 1;
                    if users <= PAGE {
                        out.push(m);
                    }
                }
                Ok(Message::State { stream, .. }) if stream == "users" && users > PAGE => {}
                Ok(Message::StreamStatus {
                    stream,
                    status: StreamStatus::Complete,
                }) if stream == "users" => {
                    out.extend(later_pages.take().into_iter().flatten());
                    out.push(m);
                }
                _ => out.push(m),
            }
        }
        Ok(Box::new(out.into_iter()))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<LostOnPage2>);
