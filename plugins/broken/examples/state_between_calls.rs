//! A connector whose `check` only works in an instance where nothing ran before
//! (it keeps a flag in a global). ctest gives every test a fresh instance, so it
//! passes every suite; a host that reused instances across tests would fail it at
//! connection/check.
//!
//! ctest: tested-in host/tests/integration/sandbox.rs
use std::sync::atomic::{AtomicBool, Ordering};

use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, faker_config};
use faker::Faker;
use serde_json::Value;

static SPEC_RAN: AtomicBool = AtomicBool::new(false);

struct Sticky;
impl Defect for Sticky {
    fn spec(spec: Spec) -> Spec {
        SPEC_RAN.store(true, Ordering::SeqCst);
        spec
    }
    fn check(config: &Value) -> Result<CheckOutcome, Error> {
        if SPEC_RAN.load(Ordering::SeqCst) {
            return Ok(CheckOutcome::Failed(
                "state leaked: `spec` ran earlier in this instance".into(),
            ));
        }
        match faker_config(config) {
            Ok(c) => Faker::check(c),
            Err(e) => Ok(CheckOutcome::Failed(e.message)),
        }
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<Sticky>);
