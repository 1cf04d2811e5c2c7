//! Hostile: leaks its secret `api_key` encoded every way a masker must know:
//! a Basic auth header, base64url, hex (both cases), reversed, upper case,
//! half of it, URL-encoded, escaped twice in JSON; in its log and in the check
//! message. ctest masks all of them in the console, JSON and JUnit
//! (host/tests/hardening.rs).
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, json};
use serde_json::Value;

fn base64(bytes: &[u8], url: bool) -> String {
    let table: &[u8; 64] = if url {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(table[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

struct Encodes;
impl Defect for Encodes {
    fn spec(mut spec: Spec) -> Spec {
        spec.connection_specification["properties"]["api_key"] =
            json!({"type": "string", "secret": true});
        spec
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
