//! A nested object that requires a property it does not declare (a typo):
//! no config can satisfy it once the object is given. Caught by
//! spec/required_declared.
//!
//! ctest: fails spec/required_declared
//! ctest: says `prot` (in `/properties/proxy/required`)
use broken_plugins::{Broken, Defect, json};
use ctest_sdk::prelude::*;

struct RequiredUndeclared;
impl Defect for RequiredUndeclared {
    fn spec(mut spec: Spec) -> Spec {
        spec.connection_specification["properties"]["proxy"] = json!({
            "type": "object",
            "properties": {"host": {"type": "string"}, "port": {"type": "integer"}},
            "required": ["host", "prot"]
        });
        spec
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<RequiredUndeclared>);
