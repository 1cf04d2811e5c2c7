//! Hostile: leaks its secret `api_key` encoded every way a masker must know:
//! a Basic auth header, base64url, hex (both cases), reversed, upper case,
//! half of it, URL-encoded, escaped twice in JSON; in its log and in the check
//! message. ctest masks all of them in the console, JSON and JUnit
//! (host/tests/integration/hardening.rs).
//!
//! ctest: tested-in host/tests/integration/hardening.rs
use broken_plugins::{Broken, Defect, base64, ctest_sdk::prelude::*, json, with_secret_api_key};
use serde_json::Value;

struct Encodes;
impl Defect for Encodes {
    fn spec(spec: Spec) -> Spec {
        with_secret_api_key(spec)
    }
    fn check(config: &Value) -> Result<CheckOutcome, Error> {
        let key = config["api_key"].as_str().unwrap_or_default();
        let hex: String = key.bytes().map(|b| format!("{b:02x}")).collect();
        let twice =
            serde_json::to_string(&serde_json::to_string(&json!({ "k": key })).unwrap()).unwrap();
        let leaks = [
            format!(
                "Authorization: Basic {}",
                base64(format!("svc:{key}").as_bytes(), false)
            ),
            format!("token {}", base64(key.as_bytes(), true)),
            format!("hex {hex} HEX {}", hex.to_uppercase()),
            format!("reversed {}", key.chars().rev().collect::<String>()),
            format!("upper {}", key.to_uppercase()),
            format!("half {}", &key[key.len() / 2..]),
            format!("url {}", key.replace('/', "%2F").replace('+', "%2B")),
            format!("json {twice}"),
        ];
        ctest_sdk::log::info(&leaks.join(" | "));
        Ok(CheckOutcome::Failed(leaks.join("\n")))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<Encodes>);
