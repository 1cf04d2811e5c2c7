//! `products` yields no records. Caught by basic_read/records_per_stream.
//!
//! ctest: fails basic_read/records_per_stream
//! ctest: says no records from: `products`
//! ctest: says `users`: 1000
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};

struct EmptyStream;
impl Defect for EmptyStream {
    fn messages(messages: Messages) -> Messages {
        Box::new(messages.filter(|m| {
            !matches!(m, Ok(Message::Record { stream, .. }) | Ok(Message::State { stream, .. }) if stream == "products")
        }))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<EmptyStream>);
