//! Besides each stream's state, emits one global state for no stream in
//! particular. Caught by incremental/state_per_stream.
//!
//! ctest: fails basic_read/only_configured_streams
//! ctest: fails incremental/state_per_stream
//! ctest: says a state names the stream "", which the catalog does not configure
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};

struct GlobalState;
impl Defect for GlobalState {
    fn messages(messages: Messages) -> Messages {
        let global = Message::State {
            stream: String::new(),
            data: r#"{"users": {"updated_at": "2020-01-01T00:00:00Z"}}"#.into(),
        };
        Box::new(messages.chain(std::iter::once(Ok(global))))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<GlobalState>);
