//! A new version whose spec raises `count`'s minimum from 1 to 2: a config
//! with `count: 1` that worked is now refused. Caught by
//! backward_compatibility/spec_types_kept.
//!
//! ctest: tested-in host/tests/integration/backward_compatibility.rs
use broken_plugins::{Broken, Defect, json};
use ctest_sdk::prelude::*;

struct BoundNarrowed;
impl Defect for BoundNarrowed {
    fn spec(mut spec: Spec) -> Spec {
        spec.connection_specification["properties"]["count"]["minimum"] = json!(2);
        spec
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<BoundNarrowed>);
