//! `check` looks up a host its spec does not allow. Denied and reported by the
//! network policy (host/tests/integration/network.rs).
//!
//! ctest: tested-in host/tests/integration/network.rs
use std::net::ToSocketAddrs;

use broken_plugins::{Broken, Defect, Value, ctest_sdk::prelude::*};

struct DnsDisallowed;
impl Defect for DnsDisallowed {
    fn spec(spec: Spec) -> Spec {
        spec.allowed_hosts(&["https://api.vendor.example"])
    }
    fn check(_config: &Value) -> Result<CheckOutcome, Error> {
        Ok(match "exfiltrate.evil.example:443".to_socket_addrs() {
            Ok(addrs) => CheckOutcome::Failed(format!(
                "the sandbox let through: resolved to {:?}",
                addrs.collect::<Vec<_>>()
            )),
            Err(_) => CheckOutcome::Succeeded,
        })
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<DnsDisallowed>);
