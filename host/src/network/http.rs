//! wasi:http outgoing requests. wasmtime-wasi-http hands each request to
//! [`HttpHooks::send_request`]; ctest checks it against the policy, then makes
//! it with reqwest (connecting only to the addresses it checked), or serves it
//! from the test's cassette. The policy (in replay, the cassette) decides on
//! the method and URL before any of the body is read; the body is then read
//! under `--max-request-size`, so a plugin cannot make the host buffer
//! gigabytes for a host it may not reach.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use super::cassette::{Interaction, RecordedRequest, RecordedResponse, mask_headers};
use super::policy::{Host, Path};
use super::{CurrentCall, TestMode, TestNetwork, lock};

/// How long a request may wait for its response when the plugin sets no
/// timeout (the test's own deadline still applies).
const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);

/// The hooks of one plugin instance.
pub struct HttpHooks {
    pub network: TestNetwork,
    pub call: CurrentCall,
}

type ResponseFuture = Box<
    dyn std::future::Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn std::future::Future<Output = Result<(), Error>> + Send>,
                ),
                Error,
            >,
        > + Send,
>;

impl WasiHttpHooks for HttpHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn std::future::Future<Output = Result<(), Error>> + Send>,
    ) -> ResponseFuture {
        let network = self.network.clone();
        let call = lock(&self.call).clone();
        Box::new(async move {
            let (parts, body) = request.into_parts();
            let timeout = options
                .and_then(|o| o.first_byte_timeout)
                .unwrap_or(DEFAULT_RESPONSE_TIMEOUT);
            let response = network.http(&call, parts, body, timeout).await?;
            let response = response.map(|b| {
                Full::new(b)
                    .map_err(|never: std::convert::Infallible| match never {})
                    .boxed_unsync()
            });
            let done: Box<dyn std::future::Future<Output = Result<(), Error>> + Send> =
                Box::new(async { Ok(()) });
            Ok((response, done))
        })
    }
}

/// Resolves only names the policy checked, to the addresses it checked.
pub struct PinnedResolver(pub Arc<Mutex<HashMap<String, Vec<SocketAddr>>>>);

impl reqwest::dns::Resolve for PinnedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let found = lock(&self.0).get(name.as_str()).cloned();
        Box::pin(async move {
            match found {
                Some(addrs) => Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs),
                None => Err(format!("{} was not checked by ctest's policy", name.as_str()).into()),
            }
        })
    }
}

fn headers_of(map: &http::HeaderMap) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in map {
        let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
        out.entry(k.as_str().to_string())
            .and_modify(|e| {
                e.push_str(", ");
                e.push_str(&v);
            })
            .or_insert(v);
    }
    out
}

impl TestNetwork {
    /// The test's HTTP client: no redirects followed (a redirect is the
    /// plugin's to follow, as a request of its own), no proxy, and names
    /// resolved only to the addresses this test's policy checked.
    fn client(&self) -> Result<&reqwest::Client, String> {
        self.0
            .client
            .get_or_init(|| {
                reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .connect_timeout(self.0.network.options.connect_timeout)
                    .no_proxy()
                    .dns_resolver(Arc::new(PinnedResolver(self.0.pins.clone())))
                    .build()
                    .map_err(|e| format!("cannot set up the HTTP client: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Counts a request against the run's quota: past it, the request is
    /// refused and the test fails naming the quota.
    fn within_request_quota(&self, call: &str) -> Result<(), Error> {
        let network = &self.0.network;
        let made = network.requests.fetch_add(1, Ordering::Relaxed) + 1;
        match network.options.max_requests_per_run {
            Some(quota) if made > quota => {
                self.problem(format!(
                    "the run's HTTP requests are past the operator's quota of {quota} per run (`--max-http-requests`; `max_http_requests` in a job file); the request during `{call}` was refused\n\
                     fix: make fewer requests (larger pages, fewer retries), or ask the operator for a larger quota"
                ));
                Err(Error::HttpRequestDenied)
            }
            _ => Ok(()),
        }
    }

    /// Counts response bytes against the run's quota.
    fn within_response_quota(&self, call: &str, bytes: usize) -> Result<(), Error> {
        let network = &self.0.network;
        let received = network
            .response_bytes
            .fetch_add(bytes as u64, Ordering::Relaxed)
            + bytes as u64;
        match network.options.max_response_bytes_per_run {
            Some(quota) if received > quota => {
                self.problem(format!(
                    "the run's HTTP responses are past the operator's quota of {quota} bytes per run (`--max-http-response-bytes`; `max_http_response_bytes` in a job file); the response during `{call}` was refused\n\
                     fix: read less (fewer streams or pages in the test configuration), or ask the operator for a larger quota"
                ));
                Err(Error::HttpResponseBodySize(Some(quota)))
            }
            _ => Ok(()),
        }
    }

    /// The request body, once the request is allowed: at most
    /// `--max-request-size` bytes are read.
    async fn read_body(
        &self,
        call: &str,
        method: &http::Method,
        url: &str,
        body: WasiBody,
    ) -> Result<Bytes, Error> {
        let cap = self.0.network.options.max_request_bytes;
        match http_body_util::Limited::new(body, cap).collect().await {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                self.problem(format!(
                    "the body of the request {method} {} during `{call}` is larger than {cap} bytes\n\
                     fix: send smaller requests (or, as the operator, raise the limit with --max-request-size BYTES)",
                    self.0.redactor.redact(&crate::sandbox::clip_to(url, 200))
                ));
                Err(Error::HttpRequestBodySize(Some(cap as u64)))
            }
            Err(e) => match e.downcast::<Error>() {
                Ok(code) => Err(*code),
                Err(other) => Err(Error::InternalError(Some(other.to_string()))),
            },
        }
    }

    async fn http(
        &self,
        call: &str,
        parts: http::request::Parts,
        body: WasiBody,
        timeout: Duration,
    ) -> Result<http::Response<Bytes>, Error> {
        let uri = &parts.uri;
        let https = uri.scheme_str() == Some("https");
        let path = if https { Path::Https } else { Path::Http };
        let host_text = uri.host().unwrap_or_default().to_string();
        let host = Host::parse(&host_text);
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let mut recorded = RecordedRequest {
            method: parts.method.to_string(),
            url: uri.to_string(),
            headers: headers_of(&parts.headers),
            body: String::new(),
        };

        self.within_request_quota(call)?;
        if let TestMode::Replay(player) = &self.0.mode {
            let mut masked = recorded.masked(&self.0.redactor);
            // The cassette decides on the method and URL before the body is read.
            if lock(player).knows(&masked) {
                let body = self
                    .read_body(call, &parts.method, &recorded.url, body)
                    .await?;
                masked.body = self.0.redactor.redact(&String::from_utf8_lossy(&body));
            }
            let played = lock(player).play(&masked);
            return match played {
                Ok(r) if r.body.len() > self.0.network.options.max_response_bytes => {
                    let cap = self.0.network.options.max_response_bytes;
                    self.problem(format!(
                        "the recorded response to {} {} during `{call}` is larger than {cap} bytes\n\
                         fix: record the cassette again with smaller pages (or, as the operator, raise the limit with --max-response-size BYTES)",
                        parts.method,
                        self.0.redactor.redact(&crate::sandbox::clip_to(&recorded.url, 200))
                    ));
                    Err(Error::HttpResponseBodySize(Some(cap as u64)))
                }
                Ok(r) => {
                    self.within_response_quota(call, r.body.len())?;
                    let bytes = masked.body.len() + r.body.len();
                    self.0.usage.add_http(bytes as u64, true);
                    Ok(replayed(r))
                }
                Err(miss) => {
                    self.problem(format!(
                        "in replay during `{call}`: {miss}\n\
                         fix: record the cassette again with --http record (against the live API), or make the request the connector made when it was recorded"
                    ));
                    // A miss, not a denial: the plugin's own error says so.
                    Err(Error::InternalError(Some(format!(
                        "ctest replay: no recorded response to {} {}",
                        parts.method,
                        self.0
                            .redactor
                            .redact(&crate::sandbox::clip_to(&recorded.url, 200))
                    ))))
                }
            };
        }

        // The policy on the name first, so that a denied name is not even
        // looked up (a lookup would carry it out); then on the addresses the
        // request will actually use.
        if let Err(refusal) = self.0.policy.check(path, &host, Some(port), &[]) {
            self.denied(call, path, &host, Some(port), refusal);
            return Err(Error::HttpRequestDenied);
        }
        let addresses: Vec<SocketAddr> = match &host {
            Host::Ip(ip) => vec![SocketAddr::new(*ip, port)],
            Host::Name(n) => match tokio::net::lookup_host((n.as_str(), port)).await {
                Ok(a) => a
                    .map(|a| SocketAddr::new(a.ip().to_canonical(), a.port()))
                    .collect(),
                Err(e) => {
                    return Err(Error::DnsError {
                        rcode: Some(e.to_string()),
                        info_code: None,
                    });
                }
            },
        };
        let ips: Vec<_> = addresses.iter().map(SocketAddr::ip).collect();
        if let Err(refusal) = self.0.policy.check(path, &host, Some(port), &ips) {
            self.denied(call, path, &host, Some(port), refusal);
            return Err(Error::HttpRequestDenied);
        }
        if let Host::Name(n) = &host {
            lock(&self.0.pins).insert(n.clone(), addresses);
        }
        let body = self
            .read_body(call, &parts.method, &recorded.url, body)
            .await?;
        recorded.body = String::from_utf8_lossy(&body).into_owned();
        let request_bytes = body.len();

        let client = self.client().map_err(|e| {
            self.problem(format!("{e}\n  (during `{call}`)"));
            Error::InternalError(Some(e))
        })?;
        let mut request = client
            .request(parts.method.clone(), uri.to_string())
            .timeout(timeout)
            .body(body);
        for (k, v) in &parts.headers {
            if k != http::header::HOST {
                request = request.header(k, v);
            }
        }
        let mut response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                Error::ConnectionTimeout
            } else if e.is_connect() {
                Error::ConnectionRefused
            } else {
                Error::InternalError(Some(e.to_string()))
            }
        })?;
        let status = response.status();
        let headers = response.headers().clone();
        let cap = self.0.network.options.max_response_bytes;
        let mut collected = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|_| Error::HttpResponseIncomplete)?
        {
            if collected.len() + chunk.len() > cap {
                self.problem(format!(
                    "the response to {} {} during `{call}` is larger than {cap} bytes\n\
                     fix: ask the API for smaller pages",
                    parts.method,
                    self.0.redactor.redact(&uri.to_string())
                ));
                return Err(Error::HttpResponseBodySize(Some(cap as u64)));
            }
            collected.extend_from_slice(&chunk);
        }
        let body = Bytes::from(collected);
        self.within_response_quota(call, body.len())?;
        self.0
            .usage
            .add_http((request_bytes + body.len()) as u64, false);

        if matches!(self.0.mode, TestMode::Record(_)) {
            let redactor = &self.0.redactor;
            lock(&self.0.recorded).push(Interaction {
                request: recorded.masked(redactor),
                response: RecordedResponse {
                    status: status.as_u16(),
                    headers: mask_headers(&headers_of(&headers), redactor)
                        .into_iter()
                        // Changes on every recording: it would only make noise in diffs.
                        .filter(|(k, _)| k != "date")
                        .collect(),
                    body: redactor.redact(&String::from_utf8_lossy(&body)),
                },
            });
        }

        let mut out = http::Response::builder().status(status);
        for (k, v) in &headers {
            if !HOP_BY_HOP.contains(&k.as_str()) {
                out = out.header(k, v);
            }
        }
        out.body(body)
            .map_err(|e| Error::InternalError(Some(e.to_string())))
    }
}

/// Headers that describe the transfer, not the body the plugin receives whole.
const HOP_BY_HOP: &[&str] = &["content-length", "transfer-encoding", "connection"];

/// A recorded response as the plugin receives it. Hop-by-hop and length
/// headers are left out: the body is whole.
fn replayed(r: RecordedResponse) -> http::Response<Bytes> {
    let mut out = http::Response::builder().status(r.status);
    for (k, v) in &r.headers {
        if !HOP_BY_HOP.contains(&k.as_str()) {
            out = out.header(k, v);
        }
    }
    out.body(Bytes::from(r.body))
        .unwrap_or_else(|_| http::Response::new(Bytes::new()))
}
