//! Declares a secret `api_key` and then leaks it: in its logs, stdout, stderr and
//! check message. ctest must mask it everywhere (connection/check fails,
//! showing the message with the key masked).
//!
//! ctest: tested-in host/tests/integration/sandbox.rs
//! ctest: tested-in host/tests/integration/test_config.rs
//! ctest: tested-in host/tests/integration/verdicts.rs
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, with_secret_api_key};
use serde_json::Value;

struct Leaks;
impl Defect for Leaks {
    fn spec(spec: Spec) -> Spec {
        with_secret_api_key(spec)
    }
    fn check(config: &Value) -> Result<CheckOutcome, Error> {
        let key = config["api_key"].as_str().unwrap_or_default();
        ctest_sdk::log::info(&format!("authenticating with api_key={key}"));
        println!("stdout: key {key}");
        eprintln!("stderr: key {key}");
        Ok(CheckOutcome::Failed(format!(
            "the API refused the key {key}"
        )))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<Leaks>);
