//! The shop API: the source system of `source-shop`, ctest's reference HTTP
//! connector. Real data over real HTTP, so that the connector's tests cover
//! authentication, pagination, incremental reads and rate limits end to end.
//!
//! - `GET /v1/customers` and `GET /v1/invoices`, each with the query
//!   parameters `updated_since` (RFC 3339; records updated at or after it),
//!   `page` (from 1) and `page_size` (1 to 100, default 50). The answer is
//!   `{"data": [...], "next_page": 2}` (`null` on the last page), records in
//!   `updated_at` order, then by `id`.
//! - `POST /v1/customers` with `{"name", "email", "plan"}` (and, to backdate,
//!   `updated_at`) creates a customer, updated now; `DELETE /v1/customers/ID`
//!   deletes one, leaving a tombstone `{"id", "updated_at", "deleted_at"}` that
//!   later reads return (`?hard=true`: no tombstone, for a broken test-utils).
//! - The API key goes in the `X-Api-Key` header; without the right one, 401.
//! - With `throttle_every: Some(n)`, every n-th request gets 429 with a
//!   `Retry-After` header of `retry_after_seconds`; with `throttle_first: n`,
//!   the first n requests do.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct Options {
    pub api_key: String,
    pub customers: u64,
    pub throttle_every: Option<u64>,
    pub throttle_first: u64,
    pub retry_after_seconds: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            api_key: "shop-test-key".into(),
            customers: 120,
            throttle_every: None,
            throttle_first: 0,
            retry_after_seconds: 1,
        }
    }
}

/// What the server has seen.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub throttled: AtomicU64,
    pub unauthorized: AtomicU64,
    /// Customers created or deleted.
    pub writes: AtomicU64,
    /// When each request came, in order.
    pub arrivals: std::sync::Mutex<Vec<std::time::Instant>>,
}

/// A running server; stopped when dropped.
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    pub stats: Arc<Stats>,
}

impl Server {
    /// Starts on a free port of 127.0.0.1.
    pub fn start(options: Options) -> std::io::Result<Server> {
        Self::start_on(options, 0)
    }

    pub fn start_on(options: Options, port: u16) -> std::io::Result<Server> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Stats::default());
        let shop = Arc::new(Shop {
            options,
            stats: stats.clone(),
            changes: std::sync::Mutex::new(Changes::default()),
        });
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("shop-api".into())
                .spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a tokio runtime");
                    runtime.block_on(serve(listener, shop, stop));
                })?
        };
        Ok(Server {
            addr,
            stop,
            thread: Some(thread),
            stats,
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Stops accepting connections and waits for the server thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}

async fn serve(listener: std::net::TcpListener, shop: Arc<Shop>, stop: Arc<AtomicBool>) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
    while !stop.load(Ordering::Relaxed) {
        let accepted =
            tokio::time::timeout(std::time::Duration::from_millis(50), listener.accept()).await;
        let Ok(Ok((stream, _))) = accepted else {
            continue;
        };
        let shop = shop.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let shop = shop.clone();
                async move { Ok::<_, std::convert::Infallible>(shop.handle(req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

struct Shop {
    options: Options,
    stats: Arc<Stats>,
    changes: std::sync::Mutex<Changes>,
}

/// What clients wrote since the server started.
#[derive(Default)]
struct Changes {
    added: Vec<Value>,
    /// id -> when it was deleted (soft: a tombstone is served).
    deleted: std::collections::BTreeMap<u64, String>,
    hard_deleted: std::collections::BTreeSet<u64>,
}

fn now() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    timestamp(seconds)
}

/// The first record's `updated_at`; each later one a minute after.
const EPOCH: i64 = 1_735_689_600; // 2025-01-01T00:00:00Z

fn timestamp(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0)
        .expect("in range")
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

const FIRST: &[&str] = &[
    "Ada", "Grace", "Alan", "Barbara", "Edsger", "Frances", "Donald", "Radia",
];
const LAST: &[&str] = &[
    "Lovelace", "Hopper", "Turing", "Liskov", "Dijkstra", "Allen", "Knuth", "Perlman",
];
const PLANS: &[&str] = &["free", "team", "enterprise"];

fn customer(id: u64) -> Value {
    let i = id as usize;
    let first = FIRST[i % FIRST.len()];
    let last = LAST[(i / FIRST.len()) % LAST.len()];
    json!({
        "id": id,
        "name": format!("{first} {last}"),
        "email": format!("{}.{}{id}@example.com", first.to_lowercase(), last.to_lowercase()),
        "plan": PLANS[i % PLANS.len()],
        "updated_at": timestamp(EPOCH + id as i64 * 60),
    })
}

fn invoice(id: u64, customers: u64) -> Value {
    json!({
        "id": id,
        "customer_id": 1 + (id * 7) % customers.max(1),
        "amount_cents": 500 + (id * 1_337) % 90_000,
        "currency": "EUR",
        "status": if id.is_multiple_of(5) { "open" } else { "paid" },
        "updated_at": timestamp(EPOCH + id as i64 * 30),
    })
}

impl Shop {
    async fn handle(&self, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        let n = self.stats.requests.fetch_add(1, Ordering::Relaxed) + 1;
        if let Ok(mut arrivals) = self.stats.arrivals.lock() {
            arrivals.push(std::time::Instant::now());
        }
        let every = self.options.throttle_every.filter(|e| *e > 0);
        if n <= self.options.throttle_first || every.is_some_and(|e| n.is_multiple_of(e)) {
            self.stats.throttled.fetch_add(1, Ordering::Relaxed);
            let mut r = answer(StatusCode::TOO_MANY_REQUESTS, json!({"error": "slow down"}));
            r.headers_mut().insert(
                "retry-after",
                self.options
                    .retry_after_seconds
                    .to_string()
                    .parse()
                    .expect("a number"),
            );
            return r;
        }
        let key = req.headers().get("x-api-key").and_then(|v| v.to_str().ok());
        if key != Some(self.options.api_key.as_str()) {
            self.stats.unauthorized.fetch_add(1, Ordering::Relaxed);
            return answer(
                StatusCode::UNAUTHORIZED,
                json!({"error": "invalid API key"}),
            );
        }
        let path = req.uri().path().to_string();
        if req.method() == hyper::Method::POST && path == "/v1/customers" {
            use http_body_util::BodyExt;
            let body = match req.into_body().collect().await {
                Ok(b) => b.to_bytes(),
                Err(_) => return answer(StatusCode::BAD_REQUEST, json!({"error": "no body"})),
            };
            return self.create_customer(&body);
        }
        if req.method() == hyper::Method::DELETE
            && let Some(id) = path.strip_prefix("/v1/customers/")
        {
            let hard = req.uri().query().is_some_and(|q| q.contains("hard=true"));
            return self.delete_customer(id, hard);
        }
        if req.method() != hyper::Method::GET {
            return answer(
                StatusCode::METHOD_NOT_ALLOWED,
                json!({"error": "not allowed"}),
            );
        }
        let query: Vec<(String, String)> = req
            .uri()
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        let param = |name: &str| {
            query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let records: Vec<Value> = match req.uri().path() {
            "/v1/customers" => self.customers(),
            "/v1/invoices" => (1..=self.options.customers * 2)
                .map(|id| invoice(id, self.options.customers))
                .collect(),
            other => {
                return answer(
                    StatusCode::NOT_FOUND,
                    json!({"error": format!("no resource {other}")}),
                );
            }
        };
        let since = match param("updated_since") {
            None => None,
            Some(s) => match chrono::DateTime::parse_from_rfc3339(s) {
                Ok(t) => Some(t.timestamp()),
                Err(_) => {
                    return answer(
                        StatusCode::BAD_REQUEST,
                        json!({"error": format!("updated_since `{s}` is not RFC 3339")}),
                    );
                }
            },
        };
        let page: usize = param("page")
            .and_then(|p| p.parse().ok())
            .filter(|p| *p >= 1)
            .unwrap_or(1);
        let size: usize = param("page_size")
            .and_then(|p| p.parse().ok())
            .filter(|p| (1..=100).contains(p))
            .unwrap_or(50);
        let mut selected: Vec<Value> = records
            .into_iter()
            .filter(|r| {
                since.is_none_or(|s| {
                    chrono::DateTime::parse_from_rfc3339(
                        r["updated_at"].as_str().unwrap_or_default(),
                    )
                    .is_ok_and(|t| t.timestamp() >= s)
                })
            })
            .collect();
        selected.sort_by(|a, b| {
            (a["updated_at"].as_str(), a["id"].as_u64())
                .cmp(&(b["updated_at"].as_str(), b["id"].as_u64()))
        });
        let start = (page - 1) * size;
        let data: Vec<Value> = selected.iter().skip(start).take(size).cloned().collect();
        let next = (start + size < selected.len()).then_some(page + 1);
        answer(StatusCode::OK, json!({"data": data, "next_page": next}))
    }
}

impl Shop {
    /// The customers as they are now: generated, added, and tombstones of
    /// the deleted.
    fn customers(&self) -> Vec<Value> {
        let changes = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        let mut all: Vec<Value> = (1..=self.options.customers)
            .map(customer)
            .chain(changes.added.iter().cloned())
            .filter(|c| {
                let id = c["id"].as_u64().unwrap_or_default();
                !changes.deleted.contains_key(&id) && !changes.hard_deleted.contains(&id)
            })
            .collect();
        for (id, at) in &changes.deleted {
            all.push(json!({"id": id, "updated_at": at, "deleted_at": at}));
        }
        all
    }

    fn create_customer(&self, body: &[u8]) -> Response<Full<Bytes>> {
        let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
            return answer(
                StatusCode::BAD_REQUEST,
                json!({"error": "expected a JSON object"}),
            );
        };
        let mut changes = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        let id = self.options.customers + changes.added.len() as u64 + 1;
        let mut record = json!({"id": id, "updated_at": now()});
        for key in ["name", "email", "plan", "updated_at"] {
            if let Some(v) = fields.get(key) {
                record[key] = v.clone();
            }
        }
        changes.added.push(record.clone());
        self.stats.writes.fetch_add(1, Ordering::Relaxed);
        answer(StatusCode::CREATED, record)
    }

    fn delete_customer(&self, id: &str, hard: bool) -> Response<Full<Bytes>> {
        let Ok(id) = id.parse::<u64>() else {
            return answer(
                StatusCode::NOT_FOUND,
                json!({"error": format!("no customer {id}")}),
            );
        };
        let mut changes = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        let exists = id <= self.options.customers + changes.added.len() as u64
            && !changes.deleted.contains_key(&id)
            && !changes.hard_deleted.contains(&id);
        if !exists {
            return answer(
                StatusCode::NOT_FOUND,
                json!({"error": format!("no customer {id}")}),
            );
        }
        self.stats.writes.fetch_add(1, Ordering::Relaxed);
        if hard {
            changes.hard_deleted.insert(id);
        } else {
            changes.deleted.insert(id, now());
        }
        answer(StatusCode::OK, json!({"id": id, "deleted": true}))
    }
}

/// A JSON response.
fn answer(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        "application/json".parse().expect("a header value"),
    );
    r
}
