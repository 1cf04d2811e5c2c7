//! The faker connector (exported as the component `source-faker`): deterministic fake data in three streams, `users`, `products`
//! and `purchases`, after Airbyte's faker.
//!
//! Every record is a pure function of `(seed, stream, id)`, so two reads with the
//! same config return the same records, and a read from a state resumes exactly
//! where the state says. Records are ordered by `updated_at` (the cursor), which
//! grows with `id` (the primary key).

use chrono::{DateTime, SecondsFormat, Utc};
use ctest_sdk::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// How many users and purchases to generate.
    pub count: u64,
    /// Seeds the generator: the same seed gives the same data.
    #[serde(default)]
    pub seed: u64,
    /// A state message is emitted after this many records of a stream.
    #[serde(default = "default_records_per_state")]
    pub records_per_state: u64,
}

fn default_records_per_state() -> u64 {
    1000
}

/// How many products there are (fewer when `count` is smaller).
pub const PRODUCTS: u64 = 100;
/// `updated_at` of id 1 is this instant; each next id is one minute later.
const EPOCH_2020: i64 = 1_577_836_800;
const STEP_SECONDS: i64 = 60;

pub struct Faker;

impl Connector for Faker {
    type Config = Config;

    fn spec() -> Spec {
        Spec::new(
            "source-faker",
            env!("CARGO_PKG_VERSION"),
            json!({
                "$schema": "http://json-schema.org/draft-07/schema#",
                "title": "Faker source",
                "type": "object",
                "required": ["count"],
                "additionalProperties": false,
                "properties": {
                    "count": {
                        "type": "integer", "minimum": 1, "default": 1000,
                        "description": "How many users and purchases to generate."
                    },
                    "seed": {
                        "type": "integer", "minimum": 0, "default": 0,
                        "description": "The same seed gives the same data."
                    },
                    "records_per_state": {
                        "type": "integer", "minimum": 1, "default": 1000,
                        "description": "Emit a state message after this many records of a stream."
                    }
                }
            }),
        )
        .no_network()
        .feature(Feature::Incremental)
    }

    fn check(config: Config) -> Result<CheckOutcome, Error> {
        Ok(if config.count == 0 {
            CheckOutcome::Failed("`count` must be at least 1".into())
        } else if config.records_per_state == 0 {
            CheckOutcome::Failed("`records_per_state` must be at least 1".into())
        } else {
            CheckOutcome::Succeeded
        })
    }

    fn discover(_config: Config) -> Result<Vec<Stream>, Error> {
        Ok(StreamKind::ALL.iter().map(|k| k.stream()).collect())
    }

    fn read(config: Config, catalog: ConfiguredCatalog, state: State) -> Result<Messages, Error> {
        let mut plans = Vec::new();
        for configured in &catalog.streams {
            let kind = StreamKind::from_name(&configured.name).ok_or_else(|| {
                Error::config(format!(
                    "the catalog names the stream `{}`, which source-faker does not offer (it offers users, products, purchases)",
                    configured.name
                ))
            })?;
            let start = match configured.sync_mode {
                SyncMode::Incremental => state.parse::<Cursor>(kind.name())?,
                SyncMode::FullRefresh => None,
            };
            let next_id = match &start {
                Some(cursor) => first_id_at_or_after(&cursor.updated_at)?,
                None => 1,
            };
            plans.push(Plan {
                kind,
                next_id,
                last_id: kind.count(&config),
                cursor: start.map(|c| c.updated_at),
                phase: Phase::Start,
            });
        }
        Ok(Box::new(FakerRead {
            seed: config.seed,
            records_per_state: config.records_per_state.max(1),
            users: config.count,
            plans,
            current: 0,
            emitted_at: ctest_sdk::now_millis(),
        }))
    }
}

/// The state of a stream: the cursor of the last record emitted.
#[derive(Debug, Serialize, Deserialize)]
pub struct Cursor {
    pub updated_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    Users,
    Products,
    Purchases,
}

impl StreamKind {
    pub const ALL: [StreamKind; 3] = [
        StreamKind::Users,
        StreamKind::Products,
        StreamKind::Purchases,
    ];

    pub fn name(self) -> &'static str {
        match self {
            StreamKind::Users => "users",
            StreamKind::Products => "products",
            StreamKind::Purchases => "purchases",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    fn count(self, config: &Config) -> u64 {
        match self {
            StreamKind::Products => PRODUCTS.min(config.count),
            _ => config.count,
        }
    }

    fn tag(self) -> u64 {
        match self {
            StreamKind::Users => 0x9e37_79b9_7f4a_7c15,
            StreamKind::Products => 0xbf58_476d_1ce4_e5b9,
            StreamKind::Purchases => 0x94d0_49bb_1331_11eb,
        }
    }

    pub fn schema(self) -> serde_json::Value {
        let ts = json!({"type": "string", "format": "date-time"});
        let nullable_ts = json!({"type": ["null", "string"], "format": "date-time"});
        let properties = match self {
            StreamKind::Users => json!({
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "email": {"type": "string", "format": "email"},
                "age": {"type": "integer", "minimum": 0},
                "address": {
                    "type": "object",
                    "properties": {
                        "city": {"type": "string"},
                        "country": {"type": "string"},
                        "postal_code": {"type": "string"}
                    }
                },
                "created_at": ts,
                "updated_at": ts
            }),
            StreamKind::Products => json!({
                "id": {"type": "integer"},
                "make": {"type": "string"},
                "model": {"type": "string"},
                "year": {"type": "integer"},
                "price": {"type": "number"},
                "created_at": ts,
                "updated_at": ts
            }),
            StreamKind::Purchases => json!({
                "id": {"type": "integer"},
                "user_id": {"type": "integer"},
                "product_id": {"type": "integer"},
                "added_to_cart_at": ts,
                "purchased_at": nullable_ts,
                "returned_at": nullable_ts,
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

    pub fn stream(self) -> Stream {
        Stream::new(self.name(), self.schema())
            .primary_key("id")
            .incremental("updated_at")
            .ingestion_type(match self {
                StreamKind::Purchases => IngestionType::Append,
                _ => IngestionType::Cdc,
            })
    }
}

fn timestamp(seconds: i64) -> String {
    DateTime::<Utc>::from_timestamp(seconds, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `updated_at` of a record: grows strictly with `id`.
fn updated_at_seconds(id: u64) -> i64 {
    EPOCH_2020 + (id as i64) * STEP_SECONDS
}

/// The first id whose `updated_at` is at or after `cursor`.
fn first_id_at_or_after(cursor: &str) -> Result<u64, Error> {
    let at = DateTime::parse_from_rfc3339(cursor)
        .map_err(|e| {
            Error::config(format!(
                "the state's `updated_at` {cursor:?} is not an RFC 3339 date-time: {e}"
            ))
        })?
        .timestamp();
    let since = at - EPOCH_2020;
    if since <= STEP_SECONDS {
        return Ok(1);
    }
    // Ceiling division: the first id with id * STEP >= since.
    Ok(((since + STEP_SECONDS - 1) / STEP_SECONDS) as u64)
}

const FIRST_NAMES: &[&str] = &[
    "Ada",
    "Alan",
    "Barbara",
    "Claude",
    "Donald",
    "Edsger",
    "Frances",
    "Grace",
    "Hedy",
    "John",
    "Katherine",
    "Ken",
    "Linus",
    "Margaret",
    "Niklaus",
    "Radia",
    "Shafi",
    "Tim",
    "Vint",
    "Yukihiro",
];
const LAST_NAMES: &[&str] = &[
    "Lovelace",
    "Turing",
    "Liskov",
    "Shannon",
    "Knuth",
    "Dijkstra",
    "Allen",
    "Hopper",
    "Lamarr",
    "McCarthy",
    "Johnson",
    "Thompson",
    "Torvalds",
    "Hamilton",
    "Wirth",
    "Perlman",
    "Goldwasser",
    "Berners-Lee",
    "Cerf",
    "Matsumoto",
];
const CITIES: &[(&str, &str)] = &[
    ("Lisbon", "PT"),
    ("Oslo", "NO"),
    ("Nairobi", "KE"),
    ("Osaka", "JP"),
    ("Lima", "PE"),
    ("Austin", "US"),
    ("Lyon", "FR"),
    ("Pune", "IN"),
    ("Perth", "AU"),
    ("Quebec", "CA"),
];
const MAKES: &[(&str, &[&str])] = &[
    ("Mazda", &["MX-5", "CX-30", "3"]),
    ("Volvo", &["XC40", "V60", "EX30"]),
    ("Toyota", &["Corolla", "Yaris", "RAV4"]),
    ("Fiat", &["500", "Panda", "Tipo"]),
    ("Kia", &["Niro", "EV6", "Picanto"]),
];

#[derive(Serialize)]
struct Address<'a> {
    city: &'a str,
    country: &'a str,
    postal_code: String,
}

#[derive(Serialize)]
struct User<'a> {
    id: u64,
    name: String,
    email: String,
    age: u32,
    address: Address<'a>,
    created_at: String,
    updated_at: String,
}

#[derive(Serialize)]
struct Product<'a> {
    id: u64,
    make: &'a str,
    model: &'a str,
    year: u32,
    price: f64,
    created_at: String,
    updated_at: String,
}

#[derive(Serialize)]
struct Purchase {
    id: u64,
    user_id: u64,
    product_id: u64,
    added_to_cart_at: String,
    purchased_at: Option<String>,
    returned_at: Option<String>,
    updated_at: String,
}

/// The record of `kind` with `id`, as JSON text, and its cursor value.
/// An index below `len`, the same on every target: `Rng::usize` draws
/// differently where `usize` is 32 bits (wasm32) and where it is 64 (the
/// native tests), so it would make the data depend on the target.
fn pick(rng: &mut fastrand::Rng, len: usize) -> usize {
    rng.u32(..u32::try_from(len).expect("short lists")) as usize
}

pub fn record_json(kind: StreamKind, seed: u64, id: u64, users: u64) -> (String, String) {
    let mut rng =
        fastrand::Rng::with_seed(seed ^ kind.tag() ^ id.wrapping_mul(0x2545_f491_4f6c_dd1d));
    let updated = updated_at_seconds(id);
    let updated_at = timestamp(updated);
    let created_at = timestamp(updated - rng.i64(3600..86_400 * 30));
    let json = match kind {
        StreamKind::Users => {
            let first = FIRST_NAMES[pick(&mut rng, FIRST_NAMES.len())];
            let last = LAST_NAMES[pick(&mut rng, LAST_NAMES.len())];
            let (city, country) = CITIES[pick(&mut rng, CITIES.len())];
            serde_json::to_string(&User {
                id,
                name: format!("{first} {last}"),
                email: format!(
                    "{}.{}{id}@example.com",
                    first.to_lowercase(),
                    last.to_lowercase()
                ),
                age: rng.u32(18..90),
                address: Address {
                    city,
                    country,
                    postal_code: format!("{:05}", rng.u32(0..100_000)),
                },
                created_at,
                updated_at: updated_at.clone(),
            })
        }
        StreamKind::Products => {
            let (make, models) = MAKES[pick(&mut rng, MAKES.len())];
            serde_json::to_string(&Product {
                id,
                make,
                model: models[pick(&mut rng, models.len())],
                year: rng.u32(2005..2026),
                price: f64::from(rng.u32(500_000..8_000_000)) / 100.0,
                created_at,
                updated_at: updated_at.clone(),
            })
        }
        StreamKind::Purchases => {
            let added = updated - rng.i64(600..86_400);
            let purchased = rng.bool().then(|| timestamp(added + rng.i64(60..600)));
            let returned = (purchased.is_some() && rng.u8(..10) == 0).then(|| updated_at.clone());
            serde_json::to_string(&Purchase {
                id,
                user_id: 1 + rng.u64(..users.max(1)),
                product_id: 1 + rng.u64(..PRODUCTS.min(users).max(1)),
                added_to_cart_at: timestamp(added),
                purchased_at: purchased,
                returned_at: returned,
                updated_at: updated_at.clone(),
            })
        }
    }
    .expect("plain data serializes");
    (json, updated_at)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Start,
    Records,
    Checkpoint,
    FinalState,
    Done,
}

struct Plan {
    kind: StreamKind,
    next_id: u64,
    last_id: u64,
    /// The cursor of the last record emitted, else the one the read started from.
    cursor: Option<String>,
    phase: Phase,
}

/// The lazy read: per stream `started`, records with a state after every
/// `records_per_state` of them, a final state, `complete`.
struct FakerRead {
    seed: u64,
    records_per_state: u64,
    users: u64,
    plans: Vec<Plan>,
    current: usize,
    emitted_at: i64,
}

impl Iterator for FakerRead {
    type Item = Result<Message, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let plan = self.plans.get_mut(self.current)?;
            let name = plan.kind.name();
            match plan.phase {
                Phase::Start => {
                    plan.phase = Phase::Records;
                    return Some(Ok(Message::status(name, StreamStatus::Started)));
                }
                Phase::Records if plan.next_id > plan.last_id => plan.phase = Phase::FinalState,
                Phase::Records => {
                    let id = plan.next_id;
                    plan.next_id += 1;
                    let (data, cursor) = record_json(plan.kind, self.seed, id, self.users);
                    plan.cursor = Some(cursor);
                    if id % self.records_per_state == 0 && plan.next_id <= plan.last_id {
                        plan.phase = Phase::Checkpoint;
                    }
                    return Some(Ok(Message::Record {
                        stream: name.to_string(),
                        data,
                        emitted_at: self.emitted_at,
                    }));
                }
                Phase::Checkpoint | Phase::FinalState => {
                    plan.phase = if plan.phase == Phase::Checkpoint {
                        Phase::Records
                    } else {
                        Phase::Done
                    };
                    if let Some(updated_at) = plan.cursor.clone() {
                        return Some(Ok(Message::state(name, &Cursor { updated_at })));
                    }
                }
                Phase::Done => {
                    self.current += 1;
                    return Some(Ok(Message::status(name, StreamStatus::Complete)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(count: u64) -> Config {
        Config {
            count,
            seed: 3,
            records_per_state: 1000,
        }
    }

    fn catalog(mode: SyncMode) -> ConfiguredCatalog {
        ConfiguredCatalog {
            streams: vec![ConfiguredStream {
                name: "users".into(),
                sync_mode: mode,
                cursor_field: vec!["updated_at".into()],
                primary_key: vec![vec!["id".into()]],
            }],
        }
    }

    /// The read as a compact trace: `S` started, `r<id>` record, `s<cursor>` state, `C` complete.
    fn trace(messages: Messages) -> Vec<String> {
        messages
            .map(|m| match m.unwrap() {
                Message::StreamStatus {
                    status: StreamStatus::Started,
                    ..
                } => "S".to_string(),
                Message::StreamStatus {
                    status: StreamStatus::Complete,
                    ..
                } => "C".to_string(),
                Message::Record { data, .. } => {
                    let v: serde_json::Value = serde_json::from_str(&data).unwrap();
                    format!("r{}", v["id"])
                }
                Message::State { data, .. } => {
                    let c: Cursor = serde_json::from_str(&data).unwrap();
                    format!("s{}", c.updated_at)
                }
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    #[test]
    fn full_refresh_checkpoints_every_records_per_state() {
        let t = trace(
            Faker::read(
                config(2500),
                catalog(SyncMode::FullRefresh),
                State::default(),
            )
            .unwrap(),
        );
        assert_eq!(t.len(), 1 + 2500 + 3 + 1);
        assert_eq!(t[0], "S");
        assert_eq!(t[1], "r1");
        assert_eq!(t[1001], format!("s{}", timestamp(updated_at_seconds(1000))));
        assert_eq!(t[1002], "r1001");
        assert_eq!(
            t[t.len() - 2],
            format!("s{}", timestamp(updated_at_seconds(2500)))
        );
        assert_eq!(t[t.len() - 1], "C");
    }

    #[test]
    fn incremental_resumes_at_the_state_cursor_and_a_future_state_yields_only_state() {
        let state = |cursor: String| {
            let mut s = State::default();
            s.insert("users", json!({ "updated_at": cursor }));
            s
        };
        let from_1000 = state(timestamp(updated_at_seconds(1000)));
        let t =
            trace(Faker::read(config(1200), catalog(SyncMode::Incremental), from_1000).unwrap());
        assert_eq!(t[1], "r1000", "records at or after the cursor");
        assert_eq!(t.iter().filter(|m| m.starts_with('r')).count(), 201);

        let future = timestamp(updated_at_seconds(10_000_000));
        let t = trace(
            Faker::read(
                config(1200),
                catalog(SyncMode::Incremental),
                state(future.clone()),
            )
            .unwrap(),
        );
        assert_eq!(t, ["S".to_string(), format!("s{future}"), "C".to_string()]);
    }

    #[test]
    fn records_are_a_function_of_seed_stream_and_id() {
        assert_eq!(
            record_json(StreamKind::Users, 1, 42, 100),
            record_json(StreamKind::Users, 1, 42, 100)
        );
        assert_ne!(
            record_json(StreamKind::Users, 1, 42, 100).0,
            record_json(StreamKind::Users, 2, 42, 100).0
        );
    }

    /// The records of plugins/source-faker/integration_tests/expected_records.jsonl,
    /// which ctest checks against the component's read: the data is the same
    /// natively and in wasm32.
    #[test]
    fn the_expected_records_file_holds_these_records() {
        let file = include_str!("../../source-faker/integration_tests/expected_records.jsonl");
        for line in file.lines() {
            let line: serde_json::Value = serde_json::from_str(line).unwrap();
            let kind = match line["stream"].as_str().unwrap() {
                "users" => StreamKind::Users,
                "products" => StreamKind::Products,
                _ => StreamKind::Purchases,
            };
            let id = line["data"]["id"].as_u64().unwrap();
            let (json, _) = record_json(kind, 42, id, 1000);
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(&json).unwrap(),
                line["data"]
            );
        }
    }

    #[test]
    fn unknown_streams_are_refused() {
        let mut c = catalog(SyncMode::FullRefresh);
        c.streams[0].name = "orders".into();
        let err = Faker::read(config(10), c, State::default())
            .err()
            .expect("an error");
        assert!(err.message.contains("`orders`"), "{}", err.message);
    }
}
