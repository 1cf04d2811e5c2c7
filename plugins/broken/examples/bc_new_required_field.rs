//! A new version whose spec requires a new field, `region`. Against source-faker
//! as the previous version: caught by backward_compatibility/spec_required_fields
//! and previous_configs_still_valid.
//!
//! ctest: tested-in host/tests/integration/backward_compatibility.rs
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, json};

struct NewRequired;
impl Defect for NewRequired {
    fn spec(mut spec: Spec) -> Spec {
        let s = &mut spec.connection_specification;
        s["properties"]["region"] = json!({"type": "string"});
        s["required"] = json!(["count", "region"]);
        spec
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<NewRequired>);
