//! `spec` panics. Caught by spec/spec_call, with the panic's message.
//!
//! ctest: fails spec/spec_call
//! ctest: says trapped during `spec`
//! ctest: says spec table missing from the bundle
use broken_plugins::{Broken, Defect};
use ctest_sdk::prelude::*;

struct SpecPanics;
impl Defect for SpecPanics {
    fn spec(_spec: Spec) -> Spec {
        panic!("spec table missing from the bundle")
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<SpecPanics>);
