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

/// What a cassette was recorded under, so that it is replayed only under the
/// same: the plugin's digest, a hash of each of the config's top-level values
/// with secrets masked (a rotated secret changes nothing; no value can be
/// read back from a 64-bit hash of a masked value), the input set and the
/// contract version.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RecordedUnder {
    /// The first 16 bytes of the component's BLAKE3 digest, in hex.
    pub plugin: String,
    /// Per top-level config key, the first 8 bytes of the BLAKE3 digest of
    /// its value as JSON, secrets masked, in hex.
    pub config: BTreeMap<String, String>,
    /// The input set (`#2`; empty when the suite has one).
    pub input_set: String,
    /// The contract (WIT) version.
    pub contract: String,
}

impl RecordedUnder {
    /// What a test runs under: the plugin's digest, `config` masked by
    /// `redactor`, the input set's suffix.
    pub fn new(
        plugin: &blake3::Hash,
        config: &serde_json::Value,
        redactor: &Redactor,
        input_set: &str,
    ) -> RecordedUnder {
        let config = config
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| {
                        let masked = redactor.redact(&v.to_string());
                        (
                            k.clone(),
                            blake3::hash(masked.as_bytes()).to_hex()[..16].to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        RecordedUnder {
            plugin: plugin.to_hex()[..32].to_string(),
            config,
            input_set: input_set.to_string(),
            contract: crate::sandbox::CONTRACT_VERSION.to_string(),
        }
    }

    /// What differs between the cassette's (`self`) and `now`, in words,
    /// the plugin apart: whether another build of the plugin recorded it
    /// matters only to `--http auto`.
    pub fn differences(&self, now: &RecordedUnder) -> Vec<String> {
        let mut out = Vec::new();
        let keys = |pick: &dyn Fn(&str) -> bool| -> Vec<String> {
            self.config
                .keys()
                .chain(now.config.keys())
                .filter(|k| pick(k))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .take(10)
                .map(|k| format!("`{}`", crate::sandbox::clip_to(k, 60)))
                .collect()
        };
        let changed = keys(
            &|k| matches!((self.config.get(k), now.config.get(k)), (Some(a), Some(b)) if a != b),
        );
        let added = keys(&|k| !self.config.contains_key(k));
        let removed = keys(&|k| !now.config.contains_key(k));
        for (what, list) in [("changed", changed), ("added", added), ("removed", removed)] {
            if !list.is_empty() {
                out.push(format!("the config's {} {what}", list.join(", ")));
            }
        }
        if self.input_set != now.input_set {
            out.push(format!(
                "the input set (recorded as {:?}, now {:?})",
                self.input_set, now.input_set
            ));
        }
        if self.contract != now.contract {
            out.push(format!(
                "the contract (recorded with {}, now {})",
                crate::sandbox::clip_to(&self.contract, 20),
                now.contract
            ));
        }
        out
    }
}

/// A cassette file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cassette {
    /// `suite/test` it was recorded for.
    pub test: String,
    /// What it was recorded under (absent in cassettes of ctest before 0.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_under: Option<RecordedUnder>,
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
            recorded_under: None,
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
    /// Whether the file exists (a miss says so when it does not).
    exists: bool,
    /// The cassette does not fit the run (already reported): every request
    /// misses, saying so.
    pub unfit: bool,
    pub tag: Option<String>,
    interactions: Vec<Interaction>,
    used: Vec<bool>,
    ignored_query: Vec<String>,
}

impl Player {
    pub fn new(file: PathBuf, cassette: Cassette, ignored_query: Vec<String>) -> Player {
        let used = vec![false; cassette.interactions.len()];
        Player {
            exists: file.exists(),
            unfit: false,
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
            _ if self.unfit => format!(
                "the request {} is not replayed: the cassette {} does not fit this run (said above)",
                described(request),
                self.file.display()
            ),
            None if !self.exists => format!(
                "the request {} has no cassette to be replayed from: {} was never recorded",
                described(request),
                self.file.display()
            ),
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
    fn what_a_cassette_was_recorded_under_hides_secrets_and_names_changes() {
        let spec = json!({"properties": {"api_key": {"type": "string", "secret": true}}});
        let under = |config: serde_json::Value, set: &str| {
            let redactor = Redactor::new(&config, Some(&spec));
            RecordedUnder::new(&blake3::hash(b"plugin"), &config, &redactor, set)
        };
        let recorded = under(
            json!({"api_key": "sk_live_1", "page_size": 40, "region": "eu"}),
            "",
        );
        // A rotated secret changes nothing; the secret is nowhere in it.
        let rotated = under(
            json!({"api_key": "sk_live_2", "page_size": 40, "region": "eu"}),
            "",
        );
        assert_eq!(recorded, rotated);
        let text = serde_json::to_string(&recorded).unwrap();
        assert!(
            !text.contains("sk_live_1") && !text.contains("eu") && !text.contains("40"),
            "{text}"
        );
        // What changed is named by key, never by value.
        let other = under(
            json!({"api_key": "sk_live_1", "page_size": 25, "limit": 3}),
            "#2",
        );
        let said = recorded.differences(&other).join("; ");
        assert_eq!(
            said,
            "the config's `page_size` changed; the config's `limit` added; the config's `region` removed; the input set (recorded as \"\", now \"#2\")"
        );
        // Another build is not a difference here (only --http auto minds it).
        let rebuilt = RecordedUnder {
            plugin: "0".repeat(32),
            ..recorded.clone()
        };
        assert!(recorded.differences(&rebuilt).is_empty());
    }

    #[test]
    fn replay_matches_method_url_and_body_ignoring_chosen_parameters() {
        let cassette = Cassette {
            test: "t".into(),
            recorded_under: None,
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
