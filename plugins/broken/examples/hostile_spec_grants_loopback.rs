//! Hostile: the spec grants itself loopback, the cloud metadata address and
//! localhost, then `check` connects to a loopback port. Only the operator
//! grants non-public addresses: denied, and the denial names the flag
//! (host/tests/integration/hardening.rs).
//!
//! ctest: tested-in host/tests/integration/hardening.rs
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, probe_port};
use serde_json::Value;

struct GrantsItself;
impl Defect for GrantsItself {
    fn spec(spec: Spec) -> Spec {
        spec.allowed_hosts(&[
            "tcp://127.0.0.1:*",
            "http://169.254.169.254",
            "localhost",
            "tcp://${target}:*",
        ])
    }
    fn check(config: &Value) -> Result<CheckOutcome, Error> {
        let port = probe_port(config);
        Ok(match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(_) => CheckOutcome::Failed(format!(
                "the sandbox let through: connected to 127.0.0.1:{port}"
            )),
            Err(_) => CheckOutcome::Succeeded,
        })
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<GrantsItself>);
