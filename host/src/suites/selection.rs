//! Which tests a run reports: `--run` filters, `--skip` filters and
//! `--exact`, over the tests' names as the run prints them (`suite/name`, with
//! `#N` when a suite has several input sets; scenarios are
//! `scenario/<file>/<name>`).
//!
//! A filter with the syntax of a regular expression (`.*`, `.+`, `(`, `|`,
//! `^`, `$`, `[`, `\`, `+`, `{`) selects the names it matches; else one with
//! `*` (any characters) or `?` (one) is a glob over the whole name; else a
//! filter selects the names that contain it. With `--exact` a filter selects
//! only the name equal to it.

/// The `--run`, `--skip` and `--exact` of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Run only the tests one of these selects (all when empty).
    pub run: Vec<String>,
    /// Leave out the tests one of these selects.
    pub skip: Vec<String>,
    /// Filters select names equal to them only.
    pub exact: bool,
}

impl Selection {
    /// The selection of `--run` filters alone.
    pub fn only(run: Vec<String>) -> Selection {
        Selection {
            run,
            ..Selection::default()
        }
    }

    /// Whether the test named `id` (as printed) is selected.
    pub fn selects(&self, id: &str) -> bool {
        (self.run.is_empty() || self.run.iter().any(|f| self.matches(f, id)))
            && !self.skip.iter().any(|f| self.matches(f, id))
    }

    /// Whether the one filter `filter` selects `id`.
    pub fn matches(&self, filter: &str, id: &str) -> bool {
        if self.exact {
            return filter == id;
        }
        if is_regex(filter) {
            regex_matches(filter, id)
        } else if filter.contains(['*', '?']) {
            crate::schema::wildcard_match(filter, id)
        } else {
            id.contains(filter)
        }
    }

    /// The `--run` filters that select none of `ids`.
    pub fn unmatched<'f>(&'f self, ids: &[String]) -> Vec<&'f str> {
        self.run
            .iter()
            .filter(|f| !ids.iter().any(|id| self.matches(f, id)))
            .map(String::as_str)
            .collect()
    }
}

fn is_regex(filter: &str) -> bool {
    filter.contains(['(', '|', '^', '$', '[', '\\', '+', '{'])
        || [".*", ".+", ".?"].iter().any(|p| filter.contains(p))
}

/// Whether `filter`, read as a regular expression, matches in `id`. A filter
/// that is not one (or too large a one) matches nothing this way.
fn regex_matches(filter: &str, id: &str) -> bool {
    thread_local! {
        static PATTERNS: std::cell::RefCell<std::collections::HashMap<String, Option<regex::Regex>>> =
            Default::default();
    }
    PATTERNS.with(|p| {
        p.borrow_mut()
            .entry(filter.to_string())
            .or_insert_with(|| {
                regex::RegexBuilder::new(filter)
                    .size_limit(1 << 20)
                    .build()
                    .ok()
            })
            .as_ref()
            .is_some_and(|r| r.is_match(id))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(run: &[&str], skip: &[&str], exact: bool) -> Selection {
        Selection {
            run: run.iter().map(|s| s.to_string()).collect(),
            skip: skip.iter().map(|s| s.to_string()).collect(),
            exact,
        }
    }

    #[test]
    fn names_as_printed_globs_and_regular_expressions_select() {
        let s = sel(&["connection/check#2"], &[], false);
        assert!(s.selects("connection/check#2"));
        assert!(!s.selects("connection/check#1"));
        assert!(!s.selects("connection/check"));

        let glob = sel(&["full_refresh/*#2"], &[], false);
        assert!(glob.selects("full_refresh/records_repeatable#2"));
        assert!(!glob.selects("full_refresh/records_repeatable#1"));
        assert!(!glob.selects("basic_read/read#2"));

        let question = sel(&["connection/check#?"], &[], false);
        assert!(question.selects("connection/check#3"));
        assert!(!question.selects("connection/check"));

        let regex = sel(&["scenario/flow/(reads|skipped)_.*"], &[], false);
        assert!(regex.selects("scenario/flow/reads_users"));
        assert!(!regex.selects("scenario/flow/writes_users"));

        let substring = sel(&["basic_read/"], &[], false);
        assert!(substring.selects("basic_read/read#4"));
        assert!(!substring.selects("spec/metadata"));
    }

    #[test]
    fn skip_wins_and_exact_takes_names_literally() {
        let s = sel(&["basic_read/"], &["records_match"], false);
        assert!(s.selects("basic_read/read"));
        assert!(!s.selects("basic_read/records_match"));

        let everything_but = sel(&[], &["write_back/*"], false);
        assert!(everything_but.selects("spec/metadata"));
        assert!(!everything_but.selects("write_back/write_to_source"));

        let exact = sel(&["connection/check"], &[], true);
        assert!(exact.selects("connection/check"));
        assert!(!exact.selects("connection/check#2"));
        assert!(!exact.selects("connection/check_fails"));
        let exact_glob = sel(&["connection/*"], &[], true);
        assert!(!exact_glob.selects("connection/check"));
    }

    #[test]
    fn unmatched_filters_are_named() {
        let s = sel(&["spec/", "no_such", "conection/*"], &[], false);
        let ids = vec!["spec/metadata".to_string(), "connection/check".to_string()];
        assert_eq!(s.unmatched(&ids), vec!["no_such", "conection/*"]);
    }
}
