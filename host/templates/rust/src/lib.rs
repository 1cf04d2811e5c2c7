//! {{name}}: a ctest connector. One incremental stream, `numbers`, with the
//! integers 1..count, each updated a minute after the one before. Replace it
//! with your source's streams.

use ctest_sdk::prelude::*;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
struct Config {
    count: u64,
}

/// 2025-01-01T00:00:00Z, and a minute per number after it.
fn updated_at(n: u64) -> String {
    let seconds = 1_735_689_600 + n * 60;
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    // Days since 2025-01-01 within January..December 2025 are enough for the example.
    let day_of_year = days - 20_089;
    let months = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let (mut month, mut day) = (1, day_of_year);
    for length in months {
        if day < length {
            break;
        }
        day -= length;
        month += 1;
    }
    format!(
        "2025-{month:02}-{:02}T{:02}:{:02}:{:02}Z",
        day + 1,
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

struct Numbers;

impl Connector for Numbers {
    type Config = Config;

    fn spec() -> Spec {
        Spec::new(
            "{{name}}",
            "0.1.0",
            json!({
                "type": "object",
                "required": ["count"],
                "additionalProperties": false,
                "properties": { "count": { "type": "integer", "minimum": 1, "maximum": 500000 } }
            }),
        )
        .no_network()
        .feature(Feature::Incremental)
    }

    fn check(config: Config) -> Result<CheckOutcome, Error> {
        // Every constraint the spec states, checked here: ctest tries configs
        // that break each one.
        Ok(if (1..=500_000).contains(&config.count) {
            CheckOutcome::Succeeded
        } else {
            CheckOutcome::Failed("`count` must be between 1 and 500000".into())
        })
    }

    fn discover(_config: Config) -> Result<Vec<Stream>, Error> {
        let schema = json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["n", "updated_at"],
            "properties": {
                "n": { "type": "integer" },
                "updated_at": { "type": "string", "format": "date-time" }
            }
        });
        Ok(vec![Stream::new("numbers", schema).primary_key("n").incremental("updated_at")])
    }

    fn read(config: Config, catalog: ConfiguredCatalog, state: State) -> Result<Messages, Error> {
        let mut messages = Vec::new();
        for stream in &catalog.streams {
            if stream.name != "numbers" {
                return Err(Error::config(format!("no stream `{}`", stream.name)));
            }
            let since: Option<String> = match stream.sync_mode {
                SyncMode::Incremental => state
                    .get("numbers")
                    .and_then(|s| s["updated_at"].as_str().map(str::to_string)),
                SyncMode::FullRefresh => None,
            };
            messages.push(Message::status("numbers", StreamStatus::Started));
            let mut cursor = since.clone();
            for n in 1..=config.count {
                let at = updated_at(n);
                if since.as_ref().is_some_and(|s| at < *s) {
                    continue;
                }
                messages.push(Message::record("numbers", &json!({"n": n, "updated_at": at}), ctest_sdk::now_millis()));
                cursor = Some(at);
                // A checkpoint every 25 records: a read can resume from it.
                if n % 25 == 0 {
                    messages.push(Message::state("numbers", &json!({"updated_at": cursor})));
                }
            }
            messages.push(Message::state("numbers", &json!({"updated_at": cursor})));
            messages.push(Message::status("numbers", StreamStatus::Complete));
        }
        Ok(Box::new(messages.into_iter().map(Ok)))
    }
}

ctest_sdk::export_connector!(Numbers);
