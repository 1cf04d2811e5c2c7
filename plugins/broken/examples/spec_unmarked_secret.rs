//! A password-like property not marked secret. Caught by spec/secrets_marked.
//!
//! ctest: fails spec/secrets_marked
//! ctest: says `api_token`
//! ctest: says "secret": true
use broken_plugins::{Broken, Defect, json};
use ctest_sdk::prelude::*;

struct UnmarkedSecret;
impl Defect for UnmarkedSecret {
    fn spec(mut spec: Spec) -> Spec {
        spec.connection_specification["properties"]["api_token"] = json!({"type": "string"});
        spec
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<UnmarkedSecret>);
