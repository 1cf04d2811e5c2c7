//! The `events` stream's integer cursor `seq` is saved in the state as a
//! string, {"seq": "750"} (and read back from one): a destination that
//! compares cursors as text would order "1000" before "750". Caught by
//! incremental/state_per_stream.
//!
//! ctest: fails incremental/state_per_stream
//! ctest: says the state {"seq":"250"} of stream `events` holds the cursor `seq` as a string ("250"), but the schema types the cursor field `seq` integer
//! ctest: says fix: save the cursor with the JSON type the schema gives the cursor field
use broken_plugins::events::{Events, StateShape};
use broken_plugins::{Value, json};

struct AsText;
impl StateShape for AsText {
    fn save(seq: u64) -> Value {
        json!({ "seq": seq.to_string() })
    }
    fn load(state: &Value) -> Option<u64> {
        state.get("seq")?.as_str()?.parse().ok()
    }
}
broken_plugins::ctest_sdk::export_connector!(Events<AsText>);
