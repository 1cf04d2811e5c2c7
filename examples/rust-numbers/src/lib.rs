//! The smallest useful ctest connector: `count` numbers in one stream. The
//! README shows this file; `cargo xtask plugins` builds it and the tests run it.

use ctest_sdk::prelude::*;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
struct Config {
    count: u64,
}

struct Numbers;

impl Connector for Numbers {
    type Config = Config;

    fn spec() -> Spec {
        Spec::new(
            "source-numbers",
            "0.1.0",
            json!({
                "type": "object",
                "required": ["count"],
                "properties": { "count": { "type": "integer", "minimum": 1 } }
            }),
        )
        .no_network()
    }

    fn check(config: Config) -> Result<CheckOutcome, Error> {
        Ok(if config.count > 0 {
            CheckOutcome::Succeeded
        } else {
            CheckOutcome::Failed("`count` must be at least 1".into())
        })
    }

    fn discover(_config: Config) -> Result<Vec<Stream>, Error> {
        Ok(vec![
            Stream::new(
                "numbers",
                json!({
                    "type": "object",
                    "properties": { "n": { "type": "integer" } }
                }),
            )
            .primary_key("n"),
        ])
    }

    fn read(config: Config, catalog: ConfiguredCatalog, _state: State) -> Result<Messages, Error> {
        if let Some(s) = catalog.streams.iter().find(|s| s.name != "numbers") {
            return Err(Error::config(format!("unknown stream `{}`", s.name)));
        }
        let now = ctest_sdk::now_millis();
        let records = (1..=config.count)
            .map(move |n| Ok(Message::record("numbers", &json!({ "n": n }), now)));
        let messages = std::iter::once(Ok(Message::status("numbers", StreamStatus::Started)))
            .chain(records)
            .chain(std::iter::once(Ok(Message::status(
                "numbers",
                StreamStatus::Complete,
            ))));
        Ok(Box::new(messages))
    }
}

ctest_sdk::export_connector!(Numbers);
