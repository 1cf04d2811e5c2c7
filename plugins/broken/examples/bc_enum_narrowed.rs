//! A new version where `count` is limited to an enum. Caught by
//! backward_compatibility/spec_types_kept.
//!
//! ctest: tested-in host/tests/integration/backward_compatibility.rs
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, json};

struct EnumNarrowed;
impl Defect for EnumNarrowed {
    fn spec(mut spec: Spec) -> Spec {
        spec.connection_specification["properties"]["count"]["enum"] = json!([1000, 10000]);
        spec
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<EnumNarrowed>);
