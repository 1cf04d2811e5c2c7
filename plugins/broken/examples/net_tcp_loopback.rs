//! `check` opens a raw TCP connection to a loopback port no entry allows.
//! Denied and reported by the network policy (host/tests/integration/network.rs).
//!
//! ctest: tested-in host/tests/integration/network.rs
use broken_plugins::Value;
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, probe_port};

struct TcpLoopback;
impl Defect for TcpLoopback {
    fn spec(spec: Spec) -> Spec {
        spec.allowed_hosts(&["https://api.vendor.example"])
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
broken_plugins::ctest_sdk::export_connector!(Broken<TcpLoopback>);
