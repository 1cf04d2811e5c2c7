//! Puts a Basic auth header of its secret `api_key` (base64 of `svc:KEY`)
//! into a record's `name`, as a connector that copies a request header into
//! its data would. Caught by secrets/no_secret_leaked.
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, faker_config, json, map_records};
use faker::Faker;
use serde_json::Value;

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

struct LeaksInRecords;
impl Defect for LeaksInRecords {
    fn spec(mut spec: Spec) -> Spec {
        spec.connection_specification["properties"]["api_key"] =
            json!({"type": "string", "secret": true});
        spec
    }
    fn read(config: &Value, catalog: ConfiguredCatalog, state: State) -> Result<Messages, Error> {
        let key = config["api_key"].as_str().unwrap_or_default().to_string();
        let header = format!("Basic {}", base64(format!("svc:{key}").as_bytes()));
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
