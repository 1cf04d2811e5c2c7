//! The spec says nothing about the hosts it reaches (not even "none"). Caught
//! by connector_attributes/allowed_hosts_declared.
//!
//! ctest: fails connector_attributes/allowed_hosts_declared
//! ctest: says declares nothing
//! ctest: says .no_network()
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};

struct UndeclaredHosts;
impl Defect for UndeclaredHosts {
    fn spec(mut spec: Spec) -> Spec {
        spec.allowed_hosts = None;
        spec
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<UndeclaredHosts>);
