//! Its spec allows any public host (`*`); `check` asks the cloud metadata
//! address 169.254.169.254, which is link-local. Denied and reported: a
//! non-public address needs an entry naming it (host/tests/network.rs).
use broken_plugins::ctest_sdk::http::Request;
use broken_plugins::{Broken, Defect, Value, ctest_sdk::prelude::*};

struct PrivateIp;
impl Defect for PrivateIp {
    fn spec(spec: Spec) -> Spec {
        spec.allowed_hosts(&["*"])
    }
    fn check(_config: &Value) -> Result<CheckOutcome, Error> {
        let url = "http://169.254.169.254/latest/meta-data/iam/";
        Ok(match Request::get(url).send() {
            Ok(r) => CheckOutcome::Failed(format!(
                "the sandbox let through: {url} answered {}",
                r.status
            )),
            Err(_) => CheckOutcome::Succeeded,
        })
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<PrivateIp>);
