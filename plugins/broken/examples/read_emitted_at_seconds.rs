//! `emitted_at` in seconds instead of milliseconds: a platform would date
//! every record in January 1970. Caught by basic_read/emitted_at_in_read_window.
//!
//! ctest: fails basic_read/emitted_at_in_read_window
//! ctest: says the earliest emitted_at
//! ctest: says is outside the read's time window
//! ctest: says (it looks like seconds, not milliseconds)
//! ctest: says in milliseconds, not the record's own timestamp and not seconds
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};

struct Seconds;
impl Defect for Seconds {
    fn messages(messages: Messages) -> Messages {
        Box::new(messages.map(|m| match m {
            Ok(Message::Record {
                stream,
                data,
                emitted_at,
            }) => Ok(Message::Record {
                stream,
                data,
                emitted_at: emitted_at / 1000,
            }),
            other => other,
        }))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<Seconds>);
