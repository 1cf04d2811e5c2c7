//! The shop API (`plugins/shop-api`) as a ctest connector, exported as the
//! component `source-shop`. It
//! shows what a real HTTP connector needs and what ctest checks of it:
//! - the API key is a secret config field, sent in the `X-Api-Key` header;
//! - the spec allows exactly the configured `base_url` (`${base_url}`);
//! - pages are followed through `next_page`;
//! - reads are incremental on `updated_at` through `updated_since`, with a
//!   state after each page;
//! - a 429 answer is waited out for its `Retry-After`, up to five times;
//! - `customers` is `cdc-with-deletes`: a deleted customer comes as a record of
//!   its `id` with `_ctest_deleted_at`.
//!
//! Its test-utils (writing and deleting customers for the write-back suite)
//! are a separate component, `plugins/shop-test-utils`.
//! `Spec`'s version is this crate's.

use std::time::Duration;

use ctest_sdk::http::{Request, Response};
use ctest_sdk::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub base_url: String,
    pub api_key: String,
    #[serde(default = "default_page_size")]
    pub page_size: u32,
}

fn default_page_size() -> u32 {
    50
}

/// The streams: the API's resource path and the schema of its records.
const STREAMS: &[&str] = &["customers", "invoices"];

/// How often a rate-limited request is retried.
const MAX_RETRIES: u32 = 5;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    updated_at: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Page {
    data: Vec<Value>,
    next_page: Option<u64>,
}

pub struct Shop;

/// Sends `request` with the key, waiting out 429s (up to five times).
pub fn send(config: &Config, request: Request) -> Result<Response, Error> {
    let request = request
        .header("X-Api-Key", &config.api_key)
        .header("Accept", "application/json")
        .timeout(Duration::from_secs(30));
    for _ in 0..=MAX_RETRIES {
        let response = request.clone().send()?;
        if response.status != 429 {
            return Ok(response);
        }
        let wait = response
            .header("retry-after")
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(1);
        ctest_sdk::log::info(&format!("rate limited; retrying after {wait} s"));
        std::thread::sleep(Duration::from_secs(wait));
    }
    Err(Error::transient(format!(
        "still rate limited after {MAX_RETRIES} retries"
    )))
}

fn schema(stream: &str) -> Value {
    let ts = json!({"type": "string", "format": "date-time"});
    let properties = match stream {
        "customers" => json!({
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "email": {"type": "string", "format": "email"},
            "plan": {"type": "string", "enum": ["free", "team", "enterprise"]},
            "updated_at": ts,
            "_ctest_deleted_at": {"type": ["null", "string"], "format": "date-time"}
        }),
        _ => json!({
            "id": {"type": "integer"},
            "customer_id": {"type": "integer"},
            "amount_cents": {"type": "integer", "minimum": 0},
            "currency": {"type": "string"},
            "status": {"type": "string"},
            "updated_at": ts
        }),
    };
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "additionalProperties": false,
        "required": ["id", "updated_at"],
        "properties": properties
    })
}

/// GET `path_and_query` of the API, with the key, waiting out 429s.
pub fn get(config: &Config, path_and_query: &str) -> Result<Response, Error> {
    send(config, Request::get(url(config, path_and_query)))
}

/// The URL of `path_and_query` on the configured API.
pub fn url(config: &Config, path_and_query: &str) -> String {
    format!("{}{path_and_query}", config.base_url.trim_end_matches('/'))
}

/// The error for an unexpected answer to `request` (for example
/// `GET /v1/customers`).
pub fn api_error(request: &str, response: &Response) -> Error {
    let message = format!(
        "{request} answered {}: {}",
        response.status,
        response.text()
    );
    match response.status {
        401 | 403 => Error::config(format!("the API refused the key: {message}")),
        500..=599 => Error::transient(message),
        _ => Error::system(message),
    }
}

/// The records of one stream from `since`, page by page: each page's records,
/// then a state with the last `updated_at`.
fn read_stream(
    config: &Config,
    stream: &str,
    since: Option<String>,
) -> Result<Vec<Message>, Error> {
    let mut messages = vec![Message::status(stream, StreamStatus::Started)];
    let mut cursor = Cursor {
        updated_at: since.clone(),
    };
    let mut page = Some(1);
    while let Some(n) = page {
        let mut path = format!("/v1/{stream}?page={n}&page_size={}", config.page_size);
        if let Some(s) = &since {
            path.push_str(&format!("&updated_since={s}"));
        }
        let response = get(config, &path)?;
        if response.status != 200 {
            return Err(api_error(&format!("GET {path}"), &response));
        }
        let body: Page = response.json()?;
        for record in &body.data {
            if let Some(t) = record.get("updated_at").and_then(Value::as_str) {
                cursor.updated_at = Some(t.to_string());
            }
            // A tombstone: the contract's form of a delete.
            let record = match record.get("deleted_at") {
                Some(at) => {
                    json!({"id": record["id"], "updated_at": record["updated_at"], "_ctest_deleted_at": at})
                }
                None => record.clone(),
            };
            messages.push(Message::record(stream, &record, ctest_sdk::now_millis()));
        }
        messages.push(Message::state(stream, &cursor));
        page = body.next_page;
    }
    messages.push(Message::status(stream, StreamStatus::Complete));
    Ok(messages)
}

impl Connector for Shop {
    type Config = Config;

    fn spec() -> Spec {
        Spec::new(
            "source-shop",
            env!("CARGO_PKG_VERSION"),
            json!({
                "$schema": "http://json-schema.org/draft-07/schema#",
                "title": "Shop API source",
                "type": "object",
                "required": ["base_url", "api_key"],
                "additionalProperties": false,
                "properties": {
                    "base_url": {
                        "type": "string", "format": "uri",
                        "description": "Where the shop API is, for example https://api.shop.example"
                    },
                    "api_key": {"type": "string", "secret": true, "description": "The API key."},
                    "page_size": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}
                }
            }),
        )
        // Exactly the configured API, whatever it is.
        .allowed_hosts(&["${base_url}"])
        .feature(Feature::Incremental)
    }

    fn check(config: Config) -> Result<CheckOutcome, Error> {
        // What the spec states, before the API is asked anything.
        if !(1..=100).contains(&config.page_size) {
            return Ok(CheckOutcome::Failed(format!(
                "`page_size` must be between 1 and 100, not {}",
                config.page_size
            )));
        }
        let scheme = config.base_url.split_once("://").map(|(s, _)| s);
        if !matches!(scheme, Some("http" | "https"))
            || config.base_url.contains(char::is_whitespace)
        {
            return Ok(CheckOutcome::Failed(format!(
                "`base_url` must be an http(s) URL, such as https://api.shop.example, not {:?}",
                config.base_url
            )));
        }
        let response = get(&config, "/v1/customers?page_size=1")?;
        Ok(match response.status {
            200 => CheckOutcome::Succeeded,
            401 | 403 => {
                CheckOutcome::Failed("the API refused the key (401): check `api_key`".into())
            }
            s => CheckOutcome::Failed(format!("the API answered {s}: {}", response.text())),
        })
    }

    fn discover(_config: Config) -> Result<Vec<Stream>, Error> {
        Ok(STREAMS
            .iter()
            .map(|s| {
                Stream::new(*s, schema(s))
                    .primary_key("id")
                    .incremental("updated_at")
                    .ingestion_type(if *s == "customers" {
                        IngestionType::CdcWithDeletes
                    } else {
                        IngestionType::Cdc
                    })
            })
            .collect())
    }

    fn read(config: Config, catalog: ConfiguredCatalog, state: State) -> Result<Messages, Error> {
        let mut messages = Vec::new();
        for configured in &catalog.streams {
            let name = configured.name.as_str();
            if !STREAMS.contains(&name) {
                return Err(Error::config(format!(
                    "the catalog names the stream `{name}`, which source-shop does not offer (it offers customers, invoices)"
                )));
            }
            let since = match configured.sync_mode {
                SyncMode::Incremental => state.parse::<Cursor>(name)?.and_then(|c| c.updated_at),
                SyncMode::FullRefresh => None,
            };
            messages.extend(read_stream(&config, name, since)?);
        }
        Ok(Box::new(messages.into_iter().map(Ok)))
    }
}

/// The connector's logic, natively (`cargo test -p shop`), with the SDK's
/// MockHttp answering the API. ctest's suites test the built component.
#[cfg(test)]
mod tests {
    use super::*;
    use ctest_sdk::http::mock::MockHttp;

    const BASE: &str = "https://shop.example.com";

    fn config() -> Config {
        Config {
            base_url: BASE.into(),
            api_key: "k-123".into(),
            page_size: 2,
        }
    }

    fn catalog(stream: &str, sync_mode: SyncMode) -> ConfiguredCatalog {
        ConfiguredCatalog {
            streams: vec![ConfiguredStream {
                name: stream.into(),
                sync_mode,
                cursor_field: vec!["updated_at".into()],
                primary_key: vec![vec!["id".into()]],
            }],
        }
    }

    fn customer(id: u64, day: u32) -> Value {
        json!({"id": id, "name": format!("c{id}"), "updated_at": format!("2025-01-0{day}T00:00:00Z")})
    }

    /// (kind, stream, JSON) of each message.
    fn read_all(messages: Messages) -> Vec<(&'static str, String, Value)> {
        messages
            .map(|m| match m.expect("a message") {
                Message::Record { stream, data, .. } => {
                    ("record", stream, serde_json::from_str(&data).unwrap())
                }
                Message::State { stream, data } => {
                    ("state", stream, serde_json::from_str(&data).unwrap())
                }
                Message::StreamStatus { stream, status } => {
                    ("status", stream, json!(format!("{status:?}")))
                }
                other => panic!("unexpected message {other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_read_follows_the_pages_and_checkpoints_each() {
        let http = MockHttp::new();
        http.expect("GET", &format!("{BASE}/v1/customers?page=1&page_size=2"))
            .header("X-Api-Key", "k-123")
            .respond_json(
                200,
                &json!({"data": [customer(1, 1), customer(2, 2)], "next_page": 2}),
            );
        http.expect("GET", &format!("{BASE}/v1/customers?page_size=2&page=2"))
            .header("X-Api-Key", "k-123")
            .respond_json(200, &json!({"data": [customer(3, 3)], "next_page": null}));
        let messages = Shop::read(
            config(),
            catalog("customers", SyncMode::FullRefresh),
            State::default(),
        )
        .unwrap();
        let got = read_all(messages);
        let ids: Vec<&Value> = got
            .iter()
            .filter(|m| m.0 == "record")
            .map(|m| &m.2["id"])
            .collect();
        assert_eq!(ids, [&json!(1), &json!(2), &json!(3)]);
        let states: Vec<&Value> = got
            .iter()
            .filter(|m| m.0 == "state")
            .map(|m| &m.2)
            .collect();
        assert_eq!(
            states,
            [
                &json!({"updated_at": "2025-01-02T00:00:00Z"}),
                &json!({"updated_at": "2025-01-03T00:00:00Z"})
            ]
        );
        http.verify();
    }

    #[test]
    fn an_incremental_read_asks_for_what_changed_since_the_state() {
        let http = MockHttp::new();
        http.expect(
            "GET",
            &format!("{BASE}/v1/invoices?page=1&page_size=2&updated_since=2025-01-05T00:00:00Z"),
        )
        .respond_json(200, &json!({"data": [], "next_page": null}));
        let mut state = State::default();
        state.insert("invoices", json!({"updated_at": "2025-01-05T00:00:00Z"}));
        let got = read_all(
            Shop::read(config(), catalog("invoices", SyncMode::Incremental), state).unwrap(),
        );
        assert!(got.contains(&(
            "state",
            "invoices".into(),
            json!({"updated_at": "2025-01-05T00:00:00Z"})
        )));
    }

    #[test]
    fn a_server_error_fails_the_read_as_transient() {
        let http = MockHttp::new();
        http.expect("GET", &format!("{BASE}/v1/customers?page=1&page_size=2"))
            .respond(503, "down");
        let Err(e) = Shop::read(
            config(),
            catalog("customers", SyncMode::FullRefresh),
            State::default(),
        ) else {
            panic!("the read should fail");
        };
        assert!(
            matches!(e.failure_type, ctest_sdk::FailureType::TransientError),
            "{e:?}"
        );
        assert!(e.message.contains("503"), "{}", e.message);
    }
}
