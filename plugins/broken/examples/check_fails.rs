//! `check` fails for a valid config. Caught by connection/check.
//!
//! ctest: fails connection/check
//! ctest: says 401 Unauthorized
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};
use serde_json::Value;

struct CheckFails;
impl Defect for CheckFails {
    fn check(_config: &Value) -> Result<CheckOutcome, Error> {
        Ok(CheckOutcome::Failed(
            "401 Unauthorized from the upstream API".into(),
        ))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<CheckFails>);
