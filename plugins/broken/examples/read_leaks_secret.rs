//! Puts a Basic auth header of its secret `api_key` (base64 of `svc:KEY`)
//! into a record's `name`, as a connector that copies a request header into
//! its data would. Caught by secrets/no_secret_leaked.
//!
//! ctest: tested-in host/tests/integration/verdicts.rs
use broken_plugins::{
    Broken, Defect, base64, ctest_sdk::prelude::*, faker_config, json, map_records,
    with_secret_api_key,
};
use faker::Faker;
use serde_json::Value;

struct LeaksInRecords;
impl Defect for LeaksInRecords {
    fn spec(spec: Spec) -> Spec {
        with_secret_api_key(spec)
    }
    fn read(config: &Value, catalog: ConfiguredCatalog, state: State) -> Result<Messages, Error> {
        let key = config["api_key"].as_str().unwrap_or_default().to_string();
        let header = format!("Basic {}", base64(format!("svc:{key}").as_bytes(), false));
        let messages = Faker::read(faker_config(config)?, catalog, state)?;
        let seen = std::cell::Cell::new(0u32);
        Ok(map_records(messages, "users", move |record| {
            if seen.replace(seen.get() + 1) == 3 {
                record["name"] = json!(header.clone());
            }
        }))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<LeaksInRecords>);
