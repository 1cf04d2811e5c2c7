//! Checkpoint states (those in the middle of a stream) claim a cursor far ahead
//! of the records emitted so far; the final state of each stream is right.
//! Caught by incremental/sequential_slices.
//!
//! ctest: fails incremental/sequential_slices
//! ctest: says stream `users`, the read from the first read's checkpoint after its record index 249 (the state {"updated_at":"2099-01-01T00:00:00Z"}): 750 record(s) the first read emitted after it are missing, the first its record index 250, primary key [251]
//! ctest: says fix: streams `users`, `purchases`: the checkpoint's cursor "2099-01-01T00:00:00Z" is ahead of every record emitted before it
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};

struct CheckpointAhead;
impl Defect for CheckpointAhead {
    fn messages(messages: Messages) -> Messages {
        // A state is a checkpoint when a record of its stream follows it.
        let mut held: Option<Message> = None;
        Box::new(messages.flat_map(move |m| {
            let mut out = Vec::new();
            if let Some(state) = held.take() {
                let checkpoint = matches!(&m, Ok(Message::Record { .. }));
                out.push(Ok(match state {
                    Message::State { stream, .. } if checkpoint => Message::State {
                        stream,
                        data: r#"{"updated_at": "2099-01-01T00:00:00Z"}"#.into(),
                    },
                    other => other,
                }));
            }
            match m {
                Ok(state @ Message::State { .. }) => held = Some(state),
                other => out.push(other),
            }
            out
        }))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<CheckpointAhead>);
