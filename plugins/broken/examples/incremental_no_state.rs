//! Never emits a state. Caught by incremental/first_read_emits_records_and_state
//! and incremental/future_state_yields_no_records.
//!
//! ctest: fails incremental/first_read_emits_records_and_state
//! ctest: fails incremental/future_state_yields_no_records
//! ctest: says stream `users` emitted 1000 records and no state
//! ctest: says stream `users` emitted no state when read from
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};

struct NoState;
impl Defect for NoState {
    fn messages(messages: Messages) -> Messages {
        Box::new(messages.filter(|m| !matches!(m, Ok(Message::State { .. }))))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<NoState>);
