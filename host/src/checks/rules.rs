//! The rules every read keeps, whichever suite (or scenario) makes it, and
//! what basic_read's read leaves the reads after it.

use std::collections::HashSet;

use super::records::{KnownRecords, RecordChecker};
use crate::catalog::DiscoveredStream;
use crate::sandbox::bindings::ctest::connector::types as wit;

/// The rules every read keeps, whichever suite makes it: basic_read's
/// checks of one read (records valid against their schema, declared fields,
/// keys present, only configured streams, emitted_at in the read's window,
/// every message of a stream between its `started` and `complete`). A
/// key's uniqueness is basic_read's alone: an incremental read may see a row
/// change while it reads, and full_refresh compares its reads by key.
pub(crate) struct Rules<'a> {
    /// The discovered streams (the catalog's are checked).
    pub streams: &'a [DiscoveredStream],
    pub facts: ReadFacts,
}

/// What basic_read's read leaves the reads after it.
#[derive(Clone, Default)]
pub(crate) struct ReadFacts {
    /// The test configuration's `fail_on_extra_columns: false` (of
    /// basic_read's input set).
    pub extra_columns_allowed: bool,
    /// The rules basic_read's own read broke: its tests report them, and
    /// the reads after it do not fail again for the same reason.
    pub broken_in_basic_read: HashSet<&'static str>,
    /// The records basic_read's read found keeping every record-level rule:
    /// the same record text in a later read is not checked again.
    pub known: Option<std::sync::Arc<KnownRecords>>,
    /// How many records each stream returned in basic_read's read: what a
    /// later read keeps per record is sized from it at once.
    pub records_per_stream: std::collections::HashMap<String, u64>,
}

impl<'a> Rules<'a> {
    pub(crate) fn checker(&self, catalog: &wit::ConfiguredCatalog) -> RecordChecker {
        let configured = self
            .streams
            .iter()
            .filter(|s| catalog.streams.iter().any(|c| c.name == s.info.name));
        RecordChecker::for_rules(configured, self.facts.known.clone())
    }

    /// The rules `checker` saw broken, as one message naming each rule,
    /// how often, the first place and the fix.
    pub(crate) fn broken(&self, checker: RecordChecker) -> Option<String> {
        let findings = checker.finish();
        let broken: Vec<String> = findings
            .rules()
            .into_iter()
            .filter(|r| r.problems.count > 0)
            .filter(|r| match r.name {
                "no_undeclared_fields" => !self.facts.extra_columns_allowed,
                _ => true,
            })
            .filter(|r| !self.facts.broken_in_basic_read.contains(r.name))
            .map(|r| {
                format!(
                    "broke basic_read/{}, which every read must keep, {} time(s), the first: {}; fix: {}",
                    r.name,
                    r.problems.count,
                    r.problems.examples.first().map_or("", String::as_str),
                    r.fix
                )
            })
            .collect();
        (!broken.is_empty()).then(|| broken.join("; and "))
    }
}
