//! Each stream's last state comes after its `complete` status, where the
//! platform has already closed the stream. Caught by
//! basic_read/stream_status_order.
//!
//! ctest: fails basic_read/stream_status_order
//! ctest: says a state of stream `users` came after its `complete` status
//! ctest: says its last state before `complete`
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};

struct StateAfterComplete;
impl Defect for StateAfterComplete {
    fn messages(messages: Messages) -> Messages {
        let mut last_state: Option<Message> = None;
        Box::new(messages.flat_map(move |m| match m {
            Ok(state @ Message::State { .. }) => {
                // Held until the next message: a record means it was a
                // checkpoint, `complete` that it was the last.
                let held = last_state.replace(state);
                held.into_iter().map(Ok).collect::<Vec<_>>()
            }
            Ok(
                complete @ Message::StreamStatus {
                    status: StreamStatus::Complete,
                    ..
                },
            ) => {
                let mut out = vec![Ok(complete)];
                out.extend(last_state.take().map(Ok));
                out
            }
            other => {
                let mut out: Vec<_> = last_state.take().map(Ok).into_iter().collect();
                out.push(other);
                out
            }
        }))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<StateAfterComplete>);
