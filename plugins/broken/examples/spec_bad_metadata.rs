//! The version is not a semantic version. Caught by spec/metadata.
//!
//! ctest: fails spec/metadata
//! ctest: says "latest"
//! ctest: says semantic version
use broken_plugins::{Broken, Defect};
use ctest_sdk::prelude::*;

struct BadMetadata;
impl Defect for BadMetadata {
    fn spec(mut spec: Spec) -> Spec {
        spec.version = "latest".into();
        spec
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<BadMetadata>);
