//! Query strings, percent-encoded: `Query::new().param("q", "a b&c").param("page", 2)`
//! is `q=a%20b%26c&page=2`.
//!
//! ```ignore
//! let url = Query::new()
//!     .param("updated_since", &since)
//!     .param("page", page)
//!     .append_to(&format!("{base}/v1/orders"));
//! ```

use std::fmt::Display;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but RFC 3986's unreserved characters is encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The parameters of a query string, in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn new() -> Query {
        Query::default()
    }

    /// Adds `name=value` (a name may come more than once).
    pub fn param(mut self, name: &str, value: impl Display) -> Query {
        self.pairs.push((name.to_string(), value.to_string()));
        self
    }

    /// Adds `name=value` when there is a value.
    pub fn param_opt(self, name: &str, value: Option<impl Display>) -> Query {
        match value {
            Some(value) => self.param(name, value),
            None => self,
        }
    }

    /// `url` with this query added (after its own, if it has one).
    pub fn append_to(&self, url: &str) -> String {
        if self.pairs.is_empty() {
            return url.to_string();
        }
        let joiner = if !url.contains('?') {
            "?"
        } else if url.ends_with('?') || url.ends_with('&') {
            ""
        } else {
            "&"
        };
        format!("{url}{joiner}{self}")
    }
}

impl Display for Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (name, value)) in self.pairs.iter().enumerate() {
            if i > 0 {
                f.write_str("&")?;
            }
            write!(
                f,
                "{}={}",
                utf8_percent_encode(name, COMPONENT),
                utf8_percent_encode(value, COMPONENT)
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values_are_percent_encoded_in_order() {
        let q = Query::new()
            .param("q", "a b&c=d/é")
            .param("page", 2)
            .param("since", "2025-01-01T00:00:00+01:00")
            .param_opt("cursor", None::<&str>)
            .param_opt("size", Some(10));
        assert_eq!(
            q.to_string(),
            "q=a%20b%26c%3Dd%2F%C3%A9&page=2&since=2025-01-01T00%3A00%3A00%2B01%3A00&size=10"
        );
    }

    #[test]
    fn a_query_joins_a_url_with_or_without_its_own() {
        let q = Query::new().param("page", 2);
        assert_eq!(
            q.append_to("https://a.example/x"),
            "https://a.example/x?page=2"
        );
        assert_eq!(
            q.append_to("https://a.example/x?k=1"),
            "https://a.example/x?k=1&page=2"
        );
        assert_eq!(
            q.append_to("https://a.example/x?"),
            "https://a.example/x?page=2"
        );
        assert_eq!(
            Query::new().append_to("https://a.example/x"),
            "https://a.example/x"
        );
    }
}
