//! Good, given `cursor_paths`: the `events` stream's state has its own
//! shape, {"checkpoint": {"position": 750}, "format": 2}, with the cursor
//! `seq` under `checkpoint.position`. With `cursor_paths: {events:
//! [checkpoint, position]}` in the test configuration every test passes;
//! without it, ctest finds states without the cursor and says so
//! (host/tests/integration/verdicts.rs).
//!
//! ctest: tested-in host/tests/integration/verdicts.rs
use broken_plugins::events::{Events, StateShape};
use broken_plugins::{Value, json};

struct OwnShape;
impl StateShape for OwnShape {
    fn save(seq: u64) -> Value {
        json!({ "checkpoint": { "position": seq }, "format": 2 })
    }
    fn load(state: &Value) -> Option<u64> {
        (state.get("format")? == 2).then_some(())?;
        state.get("checkpoint")?.get("position")?.as_u64()
    }
}
broken_plugins::ctest_sdk::export_connector!(Events<OwnShape>);
