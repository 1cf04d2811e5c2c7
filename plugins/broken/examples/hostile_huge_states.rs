//! Hostile: every state carries a megabyte of padding, checkpointed often, so
//! that a host keeping every state would grow without bound. ctest keeps at
//! most 64 MiB of states a read and fails the test naming that budget
//! (host/tests/integration/hardening.rs).
//!
//! ctest: tested-in host/tests/integration/hardening.rs
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};
use serde_json::Value;

struct HugeStates;
impl Defect for HugeStates {
    fn messages(messages: Messages) -> Messages {
        Box::new(messages.map(|m| match m {
            Ok(Message::State { stream, data }) => {
                let mut state: Value =
                    serde_json::from_str(&data).expect("faker's states are JSON");
                state["padding"] = Value::String("x".repeat(1 << 20));
                Ok(Message::State {
                    stream,
                    data: state.to_string(),
                })
            }
            other => other,
        }))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<HugeStates>);
