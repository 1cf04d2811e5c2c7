//! Good: the `events` stream's cursor `seq` is an integer, and its state
//! saves it as one: {"seq": 750}. Every test passes (host/tests/integration/verdicts.rs).
//!
//! ctest: tested-in host/tests/integration/verdicts.rs
use broken_plugins::events::{Events, StateShape};
use broken_plugins::{Value, json};

struct AsInteger;
impl StateShape for AsInteger {
    fn save(seq: u64) -> Value {
        json!({ "seq": seq })
    }
    fn load(state: &Value) -> Option<u64> {
        state.get("seq")?.as_u64()
    }
}
broken_plugins::ctest_sdk::export_connector!(Events<AsInteger>);
