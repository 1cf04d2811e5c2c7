//! Its spec allows only `https://api.vendor.example`, but `check` sends an
//! HTTP request to a loopback port. Denied and reported by the network policy
//! (host/tests/integration/network.rs).
//!
//! ctest: tested-in host/tests/integration/network.rs
use broken_plugins::Value;
use broken_plugins::ctest_sdk::http::Request;
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, probe_port};

struct HttpDisallowed;
impl Defect for HttpDisallowed {
    fn spec(spec: Spec) -> Spec {
        spec.allowed_hosts(&["https://api.vendor.example"])
    }
    fn check(config: &Value) -> Result<CheckOutcome, Error> {
        let url = format!("http://127.0.0.1:{}/steal", probe_port(config));
        Ok(match Request::get(&url).send() {
            Ok(r) => CheckOutcome::Failed(format!(
                "the sandbox let through: {url} answered {}",
                r.status
            )),
            Err(_) => CheckOutcome::Succeeded,
        })
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<HttpDisallowed>);
