//! Logs its secret `api_key` split across two consecutive log lines, as a
//! connector that prints a request in chunks would. Caught by
//! secrets/no_secret_leaked.
//!
//! ctest: tested-in host/tests/integration/verdicts.rs
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, with_secret_api_key};
use serde_json::Value;

struct SplitLog;
impl Defect for SplitLog {
    fn spec(spec: Spec) -> Spec {
        with_secret_api_key(spec)
    }
    fn check(config: &Value) -> Result<CheckOutcome, Error> {
        let key = config["api_key"].as_str().unwrap_or_default();
        let (a, b) = key.split_at(key.len() / 2);
        ctest_sdk::log::debug(&format!("request header X-Key: {a}"));
        ctest_sdk::log::debug(&format!("{b} (continued)"));
        Ok(CheckOutcome::Succeeded)
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<SplitLog>);
