//! Keeps secret config values out of everything ctest prints or writes.
//!
//! A value is secret when the spec marks its property secret, when the
//! property's name looks like a secret (so a connector that forgot to mark its
//! password still does not leak it), or when it is the password of a URL in
//! any config value (`postgres://user:pw@host/db`). Every message, log line,
//! report and cassette passes through [`Redactor::redact`].
//!
//! What is masked, for each secret, case-insensitively and wherever it stands
//! in a longer text:
//! - the value itself, reversed, and its JSON-escaped forms up to a fixpoint
//!   (a secret escaped twice inside a JSON string);
//! - URL-encoded (form and percent), and hex;
//! - base64 and base64url of any text holding it (`user:secret` in a Basic
//!   auth header included): the part of the encoding that only the secret's
//!   bytes determine, at each of the three alignments;
//! - any fragment of 8 or more characters of a secret of 16 or more;
//! - a base64 token whose decoded text holds any of the above.
//!
//! What it cannot do: text from an untrusted plugin can always encode a secret
//! in a way no masker recognises (spelled out, split across lines, encrypted).
//! The guarantee is that ctest's own outputs never carry a secret in the forms
//! above; the secrets suite of the Verdicts work fails a plugin that leaks.

use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use base64::Engine as _;
use serde_json::Value;

use crate::schema;

pub const MASK: &str = "**********";

/// Secrets shorter than this are not masked: masking one or two characters
/// everywhere would garble every message without protecting anything real.
const MIN_SECRET_LEN: usize = 3;

/// A derived form (an encoding, a fragment) shorter than this is not masked:
/// it would match ordinary text.
const MIN_DERIVED_LEN: usize = 6;

/// Secrets at least this long are also masked by any fragment of
/// [`FRAGMENT_LEN`] characters.
const FRAGMENT_SECRET_LEN: usize = 16;
const FRAGMENT_LEN: usize = 8;

/// How many times JSON escaping is applied at most (it reaches a fixpoint
/// sooner for most values).
const JSON_ESCAPE_LEVELS: usize = 4;

/// Secrets and forms shorter than this do not count as leaks.
const LEAK_MIN_LEN: usize = 8;

/// Base64 tokens shorter than this are not decoded.
const MIN_BASE64_TOKEN: usize = 8;

/// How a text carries a secret. The order is how telling a form is: the
/// secret itself first, a fragment last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Form {
    AsItIs,
    Reversed,
    JsonEscaped,
    UrlEncoded,
    Hex,
    Base64,
    InPart,
}

impl std::fmt::Display for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Form::AsItIs => "as it is",
            Form::Reversed => "reversed",
            Form::JsonEscaped => "JSON-escaped",
            Form::UrlEncoded => "URL-encoded",
            Form::Hex => "hex-encoded",
            Form::Base64 => "base64-encoded",
            Form::InPart => "in part",
        })
    }
}

#[derive(Debug, Default, Clone)]
pub struct Redactor {
    /// The secret values, each once.
    secrets: Vec<String>,
    /// Every form of every secret, for masking.
    matcher: Option<Arc<AhoCorasick>>,
    /// The forms that count as a leak (see [`Redactor::leak`]), and how each
    /// was made.
    leak_matcher: Option<Arc<AhoCorasick>>,
    leak_forms: Vec<Form>,
}

impl Redactor {
    /// Collects the secret values of `config`, guided by the spec's schema when
    /// there is one.
    pub fn new(config: &Value, spec_schema: Option<&Value>) -> Self {
        let mut secrets = Vec::new();
        if let Some(schema) = spec_schema {
            for path in schema::secret_paths(schema) {
                collect_at(config, &path, &mut secrets);
            }
        }
        collect_by_name(config, spec_schema, &mut secrets);
        collect_url_passwords(config, &mut secrets);
        Self::from_secrets(secrets)
    }

    /// A redactor of these values.
    pub fn from_secrets(secrets: Vec<String>) -> Self {
        let mut r = Redactor {
            secrets,
            ..Redactor::default()
        };
        r.rebuild();
        r
    }

    /// Adds another redactor's secrets.
    pub fn extend(&mut self, other: Redactor) {
        self.secrets.extend(other.secrets);
        self.rebuild();
    }

    fn rebuild(&mut self) {
        self.secrets.retain(|s| s.len() >= MIN_SECRET_LEN);
        self.secrets.sort();
        self.secrets.dedup();
        self.secrets
            .sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        self.secrets.dedup();
        let mut all: Vec<(String, Form, usize)> = self
            .secrets
            .iter()
            .flat_map(|s| forms(s).into_iter().map(move |(f, how)| (f, how, s.len())))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all.dedup_by(|a, b| a.0 == b.0);
        let build = |needles: &[&String]| {
            (!needles.is_empty()).then(|| {
                Arc::new(
                    AhoCorasickBuilder::new()
                        .ascii_case_insensitive(true)
                        .match_kind(MatchKind::Standard)
                        .build(needles)
                        .expect("the needles are plain strings"),
                )
            })
        };
        self.matcher = build(&all.iter().map(|(f, _, _)| f).collect::<Vec<_>>());
        // Leak detection judges the plugin, so only forms that cannot be a
        // coincidence count: secrets and forms of 8 characters or more.
        let leak: Vec<&(String, Form, usize)> = all
            .iter()
            .filter(|(f, _, len)| *len >= LEAK_MIN_LEN && f.len() >= LEAK_MIN_LEN)
            .collect();
        self.leak_matcher = build(&leak.iter().map(|(f, _, _)| f).collect::<Vec<_>>());
        self.leak_forms = leak.iter().map(|(_, how, _)| *how).collect();
    }

    /// Whether any secret is long enough for [`Redactor::leak`] to look for.
    pub fn finds_leaks(&self) -> bool {
        self.leak_matcher.is_some()
    }

    /// How `text` carries a secret, if it does, the most telling form found.
    /// Only secrets and forms of 8 characters or more count, so that what the
    /// plugin returns is not failed for a coincidence.
    pub fn leak(&self, text: &str) -> Option<Form> {
        let matcher = self.leak_matcher.as_ref()?;
        matcher.find(text)?;
        matcher
            .find_overlapping_iter(text)
            .map(|m| self.leak_forms[m.pattern().as_usize()])
            .min()
    }

    /// `text` with every form of every secret masked.
    pub fn redact(&self, text: &str) -> String {
        let Some(matcher) = &self.matcher else {
            return text.to_string();
        };
        let mut spans: Vec<(usize, usize)> = matcher
            .find_overlapping_iter(text)
            .map(|m| (m.start(), m.end()))
            .collect();
        spans.extend(self.encoded_tokens(matcher, text));
        if spans.is_empty() {
            return text.to_string();
        }
        spans.sort_unstable();
        // Overlapping and touching spans become one mask; a span that cuts a
        // character (a case-insensitive byte match) is widened to whole ones.
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for (start, end) in spans {
            let (start, end) = (floor_boundary(text, start), ceil_boundary(text, end));
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end) in merged {
            out.push_str(&text[at..start]);
            out.push_str(MASK);
            at = end;
        }
        out.push_str(&text[at..]);
        out
    }

    /// Spans of base64 tokens whose decoded text holds a secret's form.
    fn encoded_tokens(&self, matcher: &AhoCorasick, text: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if !is_base64_byte(bytes[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < bytes.len() && is_base64_byte(bytes[i]) {
                i += 1;
            }
            let token = &text[start..i];
            if token.len() >= MIN_BASE64_TOKEN
                && let Some(decoded) = decode_base64(token)
                && matcher.is_match(&decoded)
            {
                out.push((start, i));
            }
        }
        out
    }
}

fn is_base64_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_' | b'=')
}

fn decode_base64(token: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let trimmed = token.trim_end_matches('=');
    STANDARD_NO_PAD
        .decode(trimmed)
        .or_else(|_| URL_SAFE_NO_PAD.decode(trimmed))
        .ok()
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(text: &str, mut i: usize) -> usize {
    while i < text.len() && !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// Every form of `secret` to mask (see the module's documentation).
fn forms(secret: &str) -> Vec<(String, Form)> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let mut raw = vec![
        (secret.to_string(), Form::AsItIs),
        (secret.chars().rev().collect(), Form::Reversed),
    ];
    // JSON escaping, again and again, until it changes nothing.
    let mut escaped = secret.to_string();
    for _ in 0..JSON_ESCAPE_LEVELS {
        let quoted = serde_json::to_string(&escaped).unwrap_or_default();
        let inner = quoted[1..quoted.len() - 1].to_string();
        if inner == escaped {
            break;
        }
        raw.push((inner.clone(), Form::JsonEscaped));
        escaped = inner;
    }
    let mut derived = Vec::new();
    for (form, _) in &raw {
        let url: String = url::form_urlencoded::byte_serialize(form.as_bytes()).collect();
        derived.push((url.replace('+', "%20"), Form::UrlEncoded));
        derived.push((url, Form::UrlEncoded));
    }
    derived.push((hex(secret.as_bytes()), Form::Hex));
    // Base64 of any text holding the secret: at alignment `o`, the characters
    // from ceil(8o/6) to floor(8(o+n)/6) depend on the secret's bytes alone.
    let n = secret.len();
    for o in 0..3 {
        let mut bytes = vec![0u8; o];
        bytes.extend_from_slice(secret.as_bytes());
        let (start, end) = ((8 * o).div_ceil(6), (8 * (o + n)) / 6);
        for engine in [STANDARD_NO_PAD, URL_SAFE_NO_PAD] {
            let encoded = engine.encode(&bytes);
            if end > start && end <= encoded.len() {
                derived.push((encoded[start..end].to_string(), Form::Base64));
            }
        }
    }
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() >= FRAGMENT_SECRET_LEN {
        for window in chars.windows(FRAGMENT_LEN) {
            derived.push((window.iter().collect(), Form::InPart));
        }
    }
    derived.retain(|(d, _)| d.len() >= MIN_DERIVED_LEN);
    raw.extend(derived);
    raw
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn push_value(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(items) => items.iter().for_each(|v| push_value(v, out)),
        Value::Object(map) => map.values().for_each(|v| push_value(v, out)),
        Value::Bool(_) | Value::Null => {}
    }
}

/// The value at `path` (property names; `*` for every array item).
fn collect_at(value: &Value, path: &[String], out: &mut Vec<String>) {
    let Some((first, rest)) = path.split_first() else {
        push_value(value, out);
        return;
    };
    match value {
        Value::Object(map) => {
            if let Some(v) = map.get(first) {
                collect_at(v, rest, out);
            }
        }
        Value::Array(items) if first == "*" => {
            items.iter().for_each(|v| collect_at(v, rest, out));
        }
        _ => {}
    }
}

/// String values under secret-looking keys, save where the spec's schema
/// declares the property as one that holds no secret (an enumeration, a
/// number): `credentials_mode: "oauth"` is not masked everywhere.
fn collect_by_name(value: &Value, schema: Option<&Value>, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let sub = schema
                    .and_then(|s| s.get("properties"))
                    .and_then(|p| p.get(key));
                if schema::looks_secret(key)
                    && v.is_string()
                    && sub.is_none_or(schema::can_hold_secret)
                {
                    push_value(v, out);
                } else {
                    collect_by_name(v, sub, out);
                }
            }
        }
        Value::Array(items) => {
            let sub = schema.and_then(|s| s.get("items"));
            items.iter().for_each(|v| collect_by_name(v, sub, out));
        }
        _ => {}
    }
}

/// The password of every URL in the config's string values, as written and
/// percent-decoded.
fn collect_url_passwords(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if s.contains("://") && s.contains('@') => {
            if let Ok(url) = url::Url::parse(s)
                && let Some(password) = url.password()
            {
                out.push(password.to_string());
                if let Ok(decoded) = percent_decode(password) {
                    out.push(decoded);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_url_passwords(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_url_passwords(v, out)),
        _ => {}
    }
}

fn percent_decode(text: &str) -> Result<String, std::string::FromUtf8Error> {
    let bytes: Vec<u8> =
        url::form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned().into_bytes())
            .unwrap_or_default();
    String::from_utf8(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use serde_json::json;

    #[test]
    fn masks_marked_and_secret_looking_values() {
        let schema = json!({
            "type": "object",
            "properties": {
                "key": {"type": "string", "secret": true},
                "nested": {"type": "object", "properties": {"pin": {"type": "string", "airbyte_secret": true}}},
                "name": {"type": "string"}
            }
        });
        let config = json!({
            "key": "k-123456",
            "nested": {"pin": "9876"},
            "password": "hunter22",
            "name": "visible"
        });
        let r = Redactor::new(&config, Some(&schema));
        let out = r.redact("k-123456 9876 hunter22 visible");
        assert_eq!(out, format!("{MASK} {MASK} {MASK} visible"));
    }

    #[test]
    fn masks_json_escaped_forms_to_a_fixpoint() {
        let config = json!({"password": "a\"b\\c-long"});
        let r = Redactor::new(&config, None);
        let once = serde_json::to_string(&config).unwrap();
        assert!(!r.redact(&once).contains("a\\\"b"), "{}", r.redact(&once));
        let twice = serde_json::to_string(&once).unwrap();
        let thrice = serde_json::to_string(&twice).unwrap();
        for text in [twice, thrice] {
            let out = r.redact(&text);
            assert!(!out.contains("c-long"), "{out}");
        }
    }

    /// Every encoding the hardening issue names, in a longer text, at every
    /// alignment, in either case.
    #[test]
    fn masks_every_encoding_of_a_secret() {
        let secret = "s3cr3t-Pa55w0rd-xyzzy-42";
        let config = json!({"api_key": secret, "user": "alice"});
        let r = Redactor::new(&config, None);
        let mut leaks = vec![
            format!(
                "Authorization: Basic {}",
                STANDARD.encode(format!("alice:{secret}"))
            ),
            format!("Basic {}", STANDARD.encode(format!("{secret}:"))),
            format!("token={}", STANDARD.encode(secret)),
            format!("token={}", URL_SAFE_NO_PAD.encode(format!("xy{secret}"))),
            format!("hex {}", hex(secret.as_bytes())),
            format!("HEX {}", hex(secret.as_bytes()).to_uppercase()),
            format!("upper {}", secret.to_uppercase()),
            format!("reversed {}", secret.chars().rev().collect::<String>()),
            format!("half {}", &secret[3..15]),
            format!(
                "url {}",
                url::form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>()
            ),
            // base64 of the hex of the secret: found by decoding the token.
            format!("nested {}", STANDARD.encode(hex(secret.as_bytes()))),
        ];
        for pad in 0..3 {
            let text = format!("{}{secret}!", "p".repeat(pad));
            leaks.push(STANDARD.encode(text));
        }
        for leak in leaks {
            let out = r.redact(&leak);
            assert!(out.contains(MASK), "not masked: {leak} -> {out}");
            // Nothing of eight characters of the secret, or its encodings, is left.
            for (form, _) in forms(secret) {
                if form.len() >= FRAGMENT_LEN {
                    assert!(
                        !out.to_ascii_lowercase()
                            .contains(&form.to_ascii_lowercase()),
                        "{form} left in {out}"
                    );
                }
            }
        }
        // Ordinary text is left alone.
        let plain = "PASS spec/secrets_marked (0 ms), user alice";
        assert_eq!(r.redact(plain), plain);
    }

    #[test]
    fn passwords_in_urls_of_any_config_value_are_secrets() {
        let config = json!({"database": {"warehouse_url": "postgres://app:Tr0ub4dor%263@db.internal:5432/shop"}});
        let r = Redactor::new(&config, None);
        let out = r.redact("connecting to postgres://app:Tr0ub4dor%263@db.internal (Tr0ub4dor&3)");
        assert!(!out.contains("Tr0ub4dor"), "{out}");
        assert!(out.contains("db.internal"), "{out}");
    }

    #[test]
    fn enumerations_and_numbers_named_like_secrets_are_not_secrets() {
        let schema = json!({"type": "object", "properties": {
            "credentials_mode": {"type": "string", "enum": ["oauth", "key"]},
            "max_tokens": {"type": "integer"},
            "privateKey": {"type": "string"}
        }});
        let config =
            json!({"credentials_mode": "oauth", "max_tokens": 4096, "privateKey": "pk-0123456789"});
        let r = Redactor::new(&config, Some(&schema));
        assert_eq!(
            r.redact("mode oauth, 4096 tokens, key pk-0123456789"),
            format!("mode oauth, 4096 tokens, key {MASK}")
        );
    }

    #[test]
    fn multibyte_text_around_a_match_stays_valid() {
        let r = Redactor::from_secrets(vec!["ключ-секрет-123".into()]);
        let out = r.redact("é ключ-секрет-123 ü");
        assert_eq!(out, format!("é {MASK} ü"));
    }
}
