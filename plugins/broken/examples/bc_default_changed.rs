//! A new version where the default of `records_per_state` changed. Caught by
//! backward_compatibility/spec_defaults_kept.
//!
//! ctest: tested-in host/tests/integration/backward_compatibility.rs
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, json};

struct DefaultChanged;
impl Defect for DefaultChanged {
    fn spec(mut spec: Spec) -> Spec {
        spec.connection_specification["properties"]["records_per_state"]["default"] = json!(500);
        spec
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<DefaultChanged>);
