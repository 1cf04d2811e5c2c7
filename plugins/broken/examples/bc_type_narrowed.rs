//! A new version where `seed` became a string. Caught by
//! backward_compatibility/spec_types_kept and previous_configs_still_valid.
//!
//! ctest: tested-in host/tests/integration/backward_compatibility.rs
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, json};

struct TypeNarrowed;
impl Defect for TypeNarrowed {
    fn spec(mut spec: Spec) -> Spec {
        spec.connection_specification["properties"]["seed"] = json!({"type": "string"});
        spec
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<TypeNarrowed>);
