//! Its spec allows any public host (`*`); `check` asks the cloud metadata
//! address 169.254.169.254, which is link-local, and then `localhost`, a name
//! `*` matches but which resolves to loopback. Both denied and reported: a
//! non-public address needs an entry naming it (host/tests/integration/network.rs).
//!
//! ctest: tested-in host/tests/integration/network.rs
use broken_plugins::ctest_sdk::http::Request;
use broken_plugins::{Broken, Defect, Value, ctest_sdk::prelude::*, probe_port};

struct PrivateIp;
impl Defect for PrivateIp {
    fn spec(spec: Spec) -> Spec {
        spec.allowed_hosts(&["*"])
    }
    fn check(config: &Value) -> Result<CheckOutcome, Error> {
        let urls = [
            "http://169.254.169.254/latest/meta-data/iam/".to_string(),
            format!("http://localhost:{}/", probe_port(config)),
        ];
        for url in urls {
            if let Ok(r) = Request::get(&url).send() {
                return Ok(CheckOutcome::Failed(format!(
                    "the sandbox let through: {url} answered {}",
                    r.status
                )));
            }
        }
        Ok(CheckOutcome::Succeeded)
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<PrivateIp>);
