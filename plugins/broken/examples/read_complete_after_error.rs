//! Reports an error trace for stream `users`, then still ends it `complete`:
//! a platform would take the stream's data as whole. Caught by
//! basic_read/stream_status_order (basic_read/read fails for the error).
//!
//! ctest: fails basic_read/read
//! ctest: fails basic_read/stream_status_order
//! ctest: says page 7 of users timed out
//! ctest: says stream `users` reported `complete` after an error trace for it; a stream that failed ends `incomplete`
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};

struct CompleteAfterError;
impl Defect for CompleteAfterError {
    fn messages(messages: Messages) -> Messages {
        Box::new(messages.flat_map(|m| match m {
            Ok(Message::StreamStatus {
                stream,
                status: StreamStatus::Complete,
            }) if stream == "users" => vec![
                Ok(Message::Error {
                    stream: Some(stream.clone()),
                    error: Error::transient("page 7 of users timed out"),
                }),
                Ok(Message::StreamStatus {
                    stream,
                    status: StreamStatus::Complete,
                }),
            ],
            other => vec![other],
        }))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<CompleteAfterError>);
