//! A small blocking HTTP client over wasi:http. The host makes each request,
//! under the network policy: a host the connector's spec does not allow
//! (`Spec::allowed_hosts`) is refused, and ctest fails the test saying which
//! entry to add.
//!
//! ```ignore
//! let response = http::Request::get(format!("{base}/v1/customers?page=1"))
//!     .header("X-Api-Key", &config.api_key)
//!     .send()?;
//! let page: Page = response.json()?;
//! ```

use std::time::Duration;

use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
};
use wasip2::io::streams::StreamError;

use crate::Error;

pub mod mock;

/// An HTTP request to send.
#[derive(Debug, Clone)]
pub struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    timeout: Option<Duration>,
}

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Header names are lowercase.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Request {
        Request {
            method: method.into(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: None,
        }
    }
    pub fn get(url: impl Into<String>) -> Request {
        Request::new("GET", url)
    }
    pub fn post(url: impl Into<String>) -> Request {
        Request::new("POST", url)
    }
    pub fn delete(url: impl Into<String>) -> Request {
        Request::new("DELETE", url)
    }
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Request {
        self.headers.push((name.into(), value.into()));
        self
    }
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = body.into();
        self
    }
    /// A JSON body, with its content type.
    pub fn json(self, value: &serde_json::Value) -> Request {
        self.header("content-type", "application/json")
            .body(value.to_string())
    }
    /// How long to wait for the first byte of the response.
    pub fn timeout(mut self, timeout: Duration) -> Request {
        self.timeout = Some(timeout);
        self
    }

    /// Sends the request and reads the whole response. An error status is a
    /// response, not an error; a refused or failed connection is an error.
    ///
    /// In a test with a [`mock::MockHttp`] on its thread, the mock answers.
    pub fn send(self) -> Result<Response, Error> {
        if !self.url.contains("://") {
            return Err(Error::config(format!(
                "`{}` is not an absolute URL",
                self.url
            )));
        }
        if let Some(answer) = mock::answer(&self) {
            return Ok(answer);
        }
        self.send_over_wasi()
    }

    fn send_over_wasi(self) -> Result<Response, Error> {
        let fail = |what: String| Error::transient(format!("{} {}: {what}", self.method, self.url));
        let (scheme, rest) = self.url.split_once("://").unwrap_or(("", &self.url));
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_string()
        };
        let headers: Vec<(String, Vec<u8>)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
            .collect();
        let fields = Fields::from_list(&headers).map_err(|e| fail(format!("bad header: {e:?}")))?;
        let request = OutgoingRequest::new(fields);
        let method = match self.method.to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "PATCH" => Method::Patch,
            "HEAD" => Method::Head,
            other => Method::Other(other.to_string()),
        };
        let scheme = match scheme {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            other => Scheme::Other(other.to_string()),
        };
        let invalid = |what: &str| fail(format!("invalid {what}"));
        request.set_method(&method).map_err(|_| invalid("method"))?;
        request
            .set_scheme(Some(&scheme))
            .map_err(|_| invalid("scheme"))?;
        request
            .set_authority(Some(authority))
            .map_err(|_| invalid("host"))?;
        request
            .set_path_with_query(Some(&path))
            .map_err(|_| invalid("path"))?;
        let body = request.body().map_err(|_| fail("no request body".into()))?;
        let options = RequestOptions::new();
        if let Some(t) = self.timeout {
            let _ = options.set_first_byte_timeout(Some(t.as_nanos() as u64));
        }
        // The request goes out first: the host reads the body as it is
        // written, and each flush waits for that.
        let pending =
            outgoing_handler::handle(request, Some(options)).map_err(|e| fail(describe(&e)))?;
        {
            let stream = body
                .write()
                .map_err(|_| fail("no request body stream".into()))?;
            for chunk in self.body.chunks(4096) {
                stream
                    .blocking_write_and_flush(chunk)
                    .map_err(|e| fail(format!("writing the body: {e:?}")))?;
            }
        }
        OutgoingBody::finish(body, None).map_err(|e| fail(describe(&e)))?;
        pending.subscribe().block();
        let response = match pending.get() {
            Some(Ok(Ok(r))) => r,
            Some(Ok(Err(e))) => return Err(fail(describe(&e))),
            _ => return Err(fail("no response".into())),
        };
        let status = response.status();
        let headers = response
            .headers()
            .entries()
            .into_iter()
            .map(|(k, v)| {
                (
                    k.to_ascii_lowercase(),
                    String::from_utf8_lossy(&v).into_owned(),
                )
            })
            .collect();
        let incoming = response
            .consume()
            .map_err(|_| fail("no response body".into()))?;
        let mut bytes = Vec::new();
        {
            let stream = incoming
                .stream()
                .map_err(|_| fail("no response body stream".into()))?;
            loop {
                match stream.blocking_read(64 << 10) {
                    Ok(chunk) => bytes.extend_from_slice(&chunk),
                    Err(StreamError::Closed) => break,
                    Err(e) => return Err(fail(format!("reading the response: {e:?}"))),
                }
            }
        }
        IncomingBody::finish(incoming);
        Ok(Response {
            status,
            headers,
            body: bytes,
        })
    }
}

fn describe(e: &ErrorCode) -> String {
    match e {
        ErrorCode::HttpRequestDenied => {
            "the request was denied by the sandbox's network policy".into()
        }
        other => format!("{other:?}"),
    }
}

impl Response {
    /// The first value of a header (`name` in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The body parsed as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::system(format!(
                "the response (status {}) is not the JSON expected: {e}",
                self.status
            ))
        })
    }
}
