//! Expected HTTP requests and their answers, for a connector's unit tests
//! (`cargo test`, natively): while a [`MockHttp`] lives, [`Request::send`]
//! on its thread is answered by it instead of the host.
//!
//! ```ignore
//! let http = MockHttp::new();
//! http.expect("GET", "https://api.example.com/v1/items?page=1")
//!     .header("X-Api-Key", "k")
//!     .respond_json(200, &json!({"data": [], "next_page": null}));
//! let messages: Vec<_> = Shop.read(config, catalog, state)?.collect();
//! http.verify(); // (or let it drop)
//! ```
//!
//! Each expected request is answered once, in any order; query parameters
//! match in any order, and the expected headers must be among those sent. A
//! request nobody expected panics, naming it and listing what was expected
//! (a panic, so that no `?` or retry in the connector can hide it); a mock
//! dropped with an expected request never made panics too.

use std::cell::RefCell;
use std::rc::Rc;

use super::{Request, Response};

struct Expected {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    response: Option<Response>,
    made: bool,
}

impl Expected {
    fn matches(&self, request: &Request) -> bool {
        self.method.eq_ignore_ascii_case(&request.method)
            && same_url(&self.url, &request.url)
            && self.headers.iter().all(|(k, v)| {
                request
                    .headers
                    .iter()
                    .any(|(rk, rv)| rk.eq_ignore_ascii_case(k) && rv == v)
            })
            && self.body.as_ref().is_none_or(|b| *b == request.body)
    }

    fn describe(&self) -> String {
        let headers: String = self
            .headers
            .iter()
            .map(|(k, v)| format!(" [{k}: {v}]"))
            .collect();
        format!("{} {}{headers}", self.method.to_ascii_uppercase(), self.url)
    }
}

/// (scheme://authority/path, sorted query pairs)
fn parts(url: &str) -> (&str, Vec<&str>) {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut pairs: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
    pairs.sort_unstable();
    (base.trim_end_matches('/'), pairs)
}

fn same_url(a: &str, b: &str) -> bool {
    parts(a) == parts(b)
}

#[derive(Default)]
struct State {
    expected: Vec<Expected>,
    requests: Vec<Request>,
}

thread_local! {
    static ACTIVE: RefCell<Option<Rc<RefCell<State>>>> = const { RefCell::new(None) };
}

/// The mock's answer to `request`, when a mock is active on this thread.
pub(super) fn answer(request: &Request) -> Option<Response> {
    let state = ACTIVE.with(|a| a.borrow().clone())?;
    let mut state = state.borrow_mut();
    state.requests.push(request.clone());
    if let Some(expected) = state
        .expected
        .iter_mut()
        .find(|e| !e.made && e.matches(request))
    {
        expected.made = true;
        let described = expected.describe();
        return Some(
            expected
                .response
                .clone()
                .unwrap_or_else(|| panic!("{described} is expected but has no `.respond(...)`")),
        );
    }
    let waiting: Vec<String> = state
        .expected
        .iter()
        .filter(|e| !e.made)
        .map(|e| format!("  - {}", e.describe()))
        .collect();
    let waiting = if waiting.is_empty() {
        "  (none left)".to_string()
    } else {
        waiting.join("\n")
    };
    let message = format!(
        "unexpected request {} {}\nexpected:\n{waiting}",
        request.method.to_ascii_uppercase(),
        request.url
    );
    drop(state);
    panic!("{message}");
}

/// Answers this thread's HTTP requests while it lives.
pub struct MockHttp {
    state: Rc<RefCell<State>>,
}

impl Default for MockHttp {
    fn default() -> Self {
        MockHttp::new()
    }
}

impl MockHttp {
    /// A mock, active on this thread until dropped.
    pub fn new() -> MockHttp {
        let state = Rc::new(RefCell::new(State::default()));
        ACTIVE.with(|a| *a.borrow_mut() = Some(state.clone()));
        MockHttp { state }
    }

    /// A request to expect: its method and URL. Add `.header(...)`,
    /// `.body(...)`, then `.respond(...)` or `.respond_json(...)`.
    pub fn expect(&self, method: &str, url: &str) -> Expectation<'_> {
        let mut state = self.state.borrow_mut();
        state.expected.push(Expected {
            method: method.to_string(),
            url: url.to_string(),
            headers: Vec::new(),
            body: None,
            response: None,
            made: false,
        });
        Expectation {
            mock: self,
            index: state.expected.len() - 1,
        }
    }

    /// The requests sent so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.state.borrow().requests.clone()
    }

    /// Panics, listing them, when expected requests were never made.
    pub fn verify(&self) {
        let never: Vec<String> = self
            .state
            .borrow()
            .expected
            .iter()
            .filter(|e| !e.made)
            .map(|e| format!("  - {}", e.describe()))
            .collect();
        if !never.is_empty() {
            panic!("expected requests never made:\n{}", never.join("\n"));
        }
    }
}

impl Drop for MockHttp {
    fn drop(&mut self) {
        ACTIVE.with(|a| {
            let mut active = a.borrow_mut();
            if active.as_ref().is_some_and(|s| Rc::ptr_eq(s, &self.state)) {
                *active = None;
            }
        });
        if !std::thread::panicking() {
            self.verify();
        }
    }
}

/// One expected request, being described.
pub struct Expectation<'a> {
    mock: &'a MockHttp,
    index: usize,
}

impl Expectation<'_> {
    fn with(self, f: impl FnOnce(&mut Expected)) -> Self {
        f(&mut self.mock.state.borrow_mut().expected[self.index]);
        self
    }

    /// A header the request must carry (others may come too).
    pub fn header(self, name: &str, value: &str) -> Self {
        let (name, value) = (name.to_string(), value.to_string());
        self.with(|e| e.headers.push((name, value)))
    }

    /// The body the request must have.
    pub fn body(self, body: impl Into<Vec<u8>>) -> Self {
        let body = body.into();
        self.with(|e| e.body = Some(body))
    }

    /// The answer: a status and a body.
    pub fn respond(self, status: u16, body: impl Into<Vec<u8>>) {
        let body = body.into();
        self.with(|e| {
            e.response = Some(Response {
                status,
                headers: Vec::new(),
                body,
            })
        });
    }

    /// The answer: a status and a JSON body, with its content type.
    pub fn respond_json(self, status: u16, value: &serde_json::Value) {
        let body = value.to_string().into_bytes();
        self.with(|e| {
            e.response = Some(Response {
                status,
                headers: vec![("content-type".into(), "application/json".into())],
                body,
            })
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_expected_request_is_answered_once_in_any_order_of_its_query() {
        let http = MockHttp::new();
        http.expect("GET", "https://api.example.com/v1/items?page=2&size=10")
            .header("X-Api-Key", "k")
            .respond_json(200, &json!({"data": [1]}));
        let response = Request::get("https://api.example.com/v1/items?size=10&page=2")
            .header("x-api-key", "k")
            .header("accept", "application/json")
            .send()
            .unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(
            response.json::<serde_json::Value>().unwrap(),
            json!({"data": [1]})
        );
        assert_eq!(http.requests().len(), 1);
    }

    #[test]
    #[should_panic(
        expected = "unexpected request GET https://api.example.com/v1/other\nexpected:\n  - GET https://api.example.com/v1/items [X-Api-Key: k]"
    )]
    fn an_unexpected_request_panics_listing_what_was_expected() {
        let http = MockHttp::new();
        http.expect("GET", "https://api.example.com/v1/items")
            .header("X-Api-Key", "k")
            .respond(200, "");
        let _ = Request::get("https://api.example.com/v1/other").send();
    }

    #[test]
    #[should_panic(expected = "unexpected request GET https://api.example.com/v1/items")]
    fn a_request_without_an_expected_header_is_unexpected() {
        let http = MockHttp::new();
        http.expect("GET", "https://api.example.com/v1/items")
            .header("X-Api-Key", "k")
            .respond(200, "");
        let _ = Request::get("https://api.example.com/v1/items").send();
    }

    #[test]
    #[should_panic(
        expected = "expected requests never made:\n  - POST https://api.example.com/v1/items"
    )]
    fn an_expected_request_never_made_panics_when_the_mock_drops() {
        let http = MockHttp::new();
        http.expect("POST", "https://api.example.com/v1/items")
            .respond(201, "");
    }

    #[test]
    fn a_request_is_answered_only_once() {
        let http = MockHttp::new();
        http.expect("GET", "https://a.example/x")
            .respond(200, "one");
        http.expect("GET", "https://a.example/x")
            .respond(200, "two");
        let first = Request::get("https://a.example/x").send().unwrap();
        let second = Request::get("https://a.example/x").send().unwrap();
        assert_eq!((first.text(), second.text()), ("one".into(), "two".into()));
    }
}
