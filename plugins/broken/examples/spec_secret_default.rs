//! A secret property with a real-looking default and example: published with
//! the spec, and used when the user gives none. Caught by
//! spec/secrets_without_defaults.
//!
//! ctest: fails spec/secrets_without_defaults
//! ctest: says `api_key` has a `default`
//! ctest: says `api_key` has `examples`
//! ctest: says fix: remove them, or use a placeholder
use broken_plugins::{Broken, Defect, json};
use ctest_sdk::prelude::*;

struct SecretDefault;
impl Defect for SecretDefault {
    fn spec(mut spec: Spec) -> Spec {
        spec.connection_specification["properties"]["api_key"] = json!({
            "type": "string",
            "secret": true,
            "default": "sk_live_51HxQ2eKJ8r7Tq9Lm",
            "examples": ["sk_test_4eC39HqLyjWDarjt"]
        });
        spec
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<SecretDefault>);
