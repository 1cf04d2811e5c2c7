//! `emitted_at` counts down through the read (within its time window).
//! Caught by
//! full_refresh/emitted_at_not_decreasing.
//!
//! ctest: fails full_refresh/emitted_at_not_decreasing
//! ctest: says first read: record index 1 of stream `users` has emitted_at
//! ctest: says fix: set emitted_at
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};

struct Backwards;
impl Defect for Backwards {
    fn messages(messages: Messages) -> Messages {
        let start = ctest_sdk::now_millis();
        Box::new(messages.enumerate().map(move |(i, m)| match m {
            Ok(Message::Record { stream, data, .. }) => Ok(Message::Record {
                stream,
                data,
                // Backwards, yet within the read's time window (a second of
                // slack): only the order is wrong.
                emitted_at: start - (i as i64 % 900),
            }),
            other => other,
        }))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<Backwards>);
