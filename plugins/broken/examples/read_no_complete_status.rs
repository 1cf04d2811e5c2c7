//! Streams never report `complete`. Caught by basic_read/stream_status_order.
//!
//! ctest: fails basic_read/stream_status_order
//! ctest: says stream `users` never reported `complete`
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};

struct NoComplete;
impl Defect for NoComplete {
    fn messages(messages: Messages) -> Messages {
        Box::new(messages.filter(|m| {
            !matches!(
                m,
                Ok(Message::StreamStatus {
                    status: StreamStatus::Complete,
                    ..
                })
            )
        }))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<NoComplete>);
