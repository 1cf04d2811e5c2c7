//! A new version whose spec dropped `records_per_state`. Caught by
//! backward_compatibility/spec_fields_kept and previous_configs_still_valid.
//!
//! ctest: tested-in host/tests/integration/backward_compatibility.rs
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};

struct FieldRemoved;
impl Defect for FieldRemoved {
    fn spec(mut spec: Spec) -> Spec {
        let props = spec.connection_specification["properties"]
            .as_object_mut()
            .expect("an object");
        props.remove("records_per_state");
        spec
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<FieldRemoved>);
