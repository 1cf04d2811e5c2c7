//! HTTP cassettes: the interactions of one test, recorded as readable JSON
//! (stable key order, one file per test) and served back in replay.
//!
//! Secrets never reach a cassette: the values of credential headers
//! (Authorization, Cookie, API-key and token headers) and every secret config
//! value, wherever it appears (URL, header, body; plain, JSON-escaped or
//! URL-encoded), are replaced by a mask when written. A request is matched on
//! its method, its URL without the ignored query parameters, and its body,
//! after the same masking, so the secret in force at replay time plays no part.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::redact::{MASK, Redactor};

/// One request and the response it got.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Interaction {
    pub request: RecordedRequest,
    pub response: RecordedResponse,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub body: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RecordedResponse {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    /// UTF-8 text; a body that is not UTF-8 is kept lossily (ctest's
    /// connectors speak JSON).
    #[serde(default)]
    pub body: String,
}

/// A cassette file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cassette {
    /// `suite/test` it was recorded for.
    pub test: String,
    /// The run's tag when it was recorded (test data written by the
    /// write-back suite carries it), so that replay sends the same requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    pub interactions: Vec<Interaction>,
}

/// Whether a header carries a credential, by its name.
pub fn is_credential_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
    ]
    .contains(&n.as_str())
        || [
            "api-key", "apikey", "api_key", "token", "secret", "password", "auth",
        ]
        .iter()
        .any(|w| n.contains(w))
}

/// A request or response made fit to write: credential headers and secret
/// values masked.
pub fn mask_headers(
    headers: &BTreeMap<String, String>,
    redactor: &Redactor,
) -> BTreeMap<String, String> {
    headers
        .iter()
        .map(|(k, v)| {
            let v = if is_credential_header(k) {
                MASK.to_string()
            } else {
                redactor.redact(v)
            };
            (k.clone(), v)
        })
        .collect()
}

impl RecordedRequest {
    pub fn masked(&self, redactor: &Redactor) -> RecordedRequest {
        RecordedRequest {
            method: self.method.clone(),
            url: redactor.redact(&self.url),
            headers: mask_headers(&self.headers, redactor),
            body: redactor.redact(&self.body),
        }
    }

    /// The URL without the ignored query parameters, the others sorted.
    fn match_url(&self, ignored: &[String]) -> String {
        let Ok(mut url) = url::Url::parse(&self.url) else {
            return self.url.clone();
        };
        let mut pairs: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| !ignored.iter().any(|i| i == k))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        pairs.sort();
        if pairs.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        url.to_string()
    }
}

impl Cassette {
    /// A cassette of `test` with no interactions.
    pub fn empty(test: &str) -> Cassette {
        Cassette {
            test: test.to_string(),
            tag: None,
            interactions: Vec::new(),
        }
    }

    pub fn read(path: &Path) -> Result<Cassette, String> {
        let size = std::fs::metadata(path)
            .map_err(|e| format!("{}: cannot read the cassette: {e}", path.display()))?
            .len();
        if size > MAX_CASSETTE_BYTES {
            return Err(format!(
                "{}: the cassette is {size} bytes, more than the {} MiB ctest reads\n  fix: record it again with --http record (smaller pages)",
                path.display(),
                MAX_CASSETTE_BYTES >> 20
            ));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read the cassette: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}:{}:{}: the cassette is not valid: {e}\n  fix: record it again with --http record",
                path.display(),
                e.line(),
                e.column()
            )
        })
    }

    pub fn write(&self, path: &Path) -> Result<(), String> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                format!(
                    "{}: cannot create the cassette directory: {e}",
                    dir.display()
                )
            })?;
        }
        let mut text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        text.push('\n');
        std::fs::write(path, text)
            .map_err(|e| format!("{}: cannot write the cassette: {e}", path.display()))
    }
}

/// Serves a cassette's interactions in replay.
#[derive(Debug)]
pub struct Player {
    pub file: PathBuf,
    pub tag: Option<String>,
    interactions: Vec<Interaction>,
    used: Vec<bool>,
    ignored_query: Vec<String>,
}

impl Player {
    pub fn new(file: PathBuf, cassette: Cassette, ignored_query: Vec<String>) -> Player {
        let used = vec![false; cassette.interactions.len()];
        Player {
            file,
            tag: cassette.tag,
            interactions: cassette.interactions,
            used,
            ignored_query,
        }
    }

    fn key(&self, r: &RecordedRequest) -> (String, String, String) {
        (
            r.method.clone(),
            r.match_url(&self.ignored_query),
            r.body.clone(),
        )
    }

    /// Whether some interaction has this request's method and URL: the
    /// cassette's answer before the body is read.
    pub fn knows(&self, request: &RecordedRequest) -> bool {
        let url = request.match_url(&self.ignored_query);
        self.interactions.iter().any(|i| {
            i.request.method == request.method && i.request.match_url(&self.ignored_query) == url
        })
    }

    /// The recorded response to `request` (already masked): the first unused
    /// interaction that matches, else a used one (a request repeated more
    /// often than when recorded). `Err` names the closest recorded request.
    pub fn play(&mut self, request: &RecordedRequest) -> Result<RecordedResponse, String> {
        let wanted = self.key(request);
        let matching: Vec<usize> = (0..self.interactions.len())
            .filter(|&i| self.key(&self.interactions[i].request) == wanted)
            .collect();
        if let Some(&i) = matching
            .iter()
            .find(|&&i| !self.used[i])
            .or(matching.first())
        {
            self.used[i] = true;
            return Ok(self.interactions[i].response.clone());
        }
        // Bounded work, whatever the cassette holds: the first interactions,
        // their URLs clipped.
        let wanted_url = crate::sandbox::clip_to(&wanted.1, CLOSEST_URL_BYTES);
        let closest = self
            .interactions
            .iter()
            .take(CLOSEST_CANDIDATES)
            .map(|i| &i.request)
            .min_by_key(|r| {
                let k = self.key(r);
                (
                    (k.0 != wanted.0) as u8,
                    edit_distance(
                        &crate::sandbox::clip_to(&k.1, CLOSEST_URL_BYTES),
                        &wanted_url,
                    ),
                    (k.2 != wanted.2) as u8,
                )
            });
        let described = |r: &RecordedRequest| {
            let body = if r.body.is_empty() {
                String::new()
            } else {
                format!(" with body {}", crate::sandbox::clip_to(&r.body, 200))
            };
            format!(
                "{} {}{body}",
                crate::sandbox::clip_to(&r.method, 20),
                crate::sandbox::clip_to(&r.match_url(&self.ignored_query), 500)
            )
        };
        Err(match closest {
            None => format!(
                "the request {} is not in the cassette {}, which has no interactions",
                described(request),
                self.file.display()
            ),
            Some(c) => format!(
                "the request {} is not in the cassette {}; the closest recorded request is {}",
                described(request),
                self.file.display(),
                described(c)
            ),
        })
    }
}

/// How many recorded requests are compared with a missed one, and how much of
/// each URL: the edit distance is quadratic in the length.
const CLOSEST_CANDIDATES: usize = 1000;
const CLOSEST_URL_BYTES: usize = 256;

/// The largest cassette file read (a hostile one is refused, not loaded).
pub const MAX_CASSETTE_BYTES: u64 = 256 << 20;

/// Levenshtein distance over bytes; callers clip the strings first.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(method: &str, url: &str, body: &str) -> RecordedRequest {
        RecordedRequest {
            method: method.into(),
            url: url.into(),
            headers: BTreeMap::new(),
            body: body.into(),
        }
    }

    fn response(body: &str) -> RecordedResponse {
        RecordedResponse {
            status: 200,
            headers: BTreeMap::new(),
            body: body.into(),
        }
    }

    #[test]
    fn secrets_are_masked_everywhere() {
        let redactor = Redactor::new(&json!({"api_key": "sk live/42"}), None);
        let mut r = request(
            "POST",
            "http://h/x?key=sk+live%2F42&page=2",
            r#"{"key":"sk live/42"}"#,
        );
        r.headers
            .insert("Authorization".into(), "Bearer abc".into());
        r.headers.insert("X-Api-Key".into(), "whatever".into());
        r.headers.insert("X-Echo".into(), "sk live/42".into());
        r.headers.insert("Accept".into(), "application/json".into());
        let m = r.masked(&redactor);
        let text = serde_json::to_string(&m).unwrap();
        assert!(
            !text.contains("sk live") && !text.contains("sk+live") && !text.contains("abc"),
            "{text}"
        );
        assert_eq!(m.headers["Accept"], "application/json");
        assert_eq!(m.headers["Authorization"], MASK);
    }

    #[test]
    fn replay_matches_method_url_and_body_ignoring_chosen_parameters() {
        let cassette = Cassette {
            test: "t".into(),
            tag: None,
            interactions: vec![
                Interaction {
                    request: request("GET", "http://h/users?page=1&ts=5", ""),
                    response: response("one"),
                },
                Interaction {
                    request: request("GET", "http://h/users?page=2&ts=5", ""),
                    response: response("two"),
                },
            ],
        };
        let mut p = Player::new("c.json".into(), cassette, vec!["ts".into()]);
        assert_eq!(
            p.play(&request("GET", "http://h/users?ts=9&page=2", ""))
                .unwrap()
                .body,
            "two"
        );
        assert_eq!(
            p.play(&request("GET", "http://h/users?page=1", ""))
                .unwrap()
                .body,
            "one"
        );
        let miss = p
            .play(&request("GET", "http://h/users?page=3", ""))
            .unwrap_err();
        assert!(
            miss.contains("GET http://h/users?page=3 is not in the cassette c.json"),
            "{miss}"
        );
        assert!(
            miss.contains("closest recorded request is GET http://h/users?page=1"),
            "{miss}"
        );
        let miss = p
            .play(&request("POST", "http://h/users?page=1", "{}"))
            .unwrap_err();
        assert!(
            miss.contains("POST http://h/users?page=1 with body {}"),
            "{miss}"
        );
    }
}
