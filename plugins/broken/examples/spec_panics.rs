//! `spec` panics. Caught by spec/spec_call, with the panic's message.
use broken_plugins::{Broken, Defect};
use ctest_sdk::prelude::*;

struct SpecPanics;
impl Defect for SpecPanics {
    fn spec(_spec: Spec) -> Spec {
        panic!("spec table missing from the bundle")
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<SpecPanics>);
