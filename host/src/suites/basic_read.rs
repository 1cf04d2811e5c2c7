//! basic_read: a full-refresh read of every stream, checked record by record as
//! it streams through (nothing is kept but counts and the first examples of each
//! problem), then an unknown stream must be refused.

use std::collections::HashSet;
use std::time::Duration;

use super::{DiscoveredStream, Run, TestCtx, Verdict, expected_records, verdict};
use crate::checks::records::{Findings, KEPT_RECORDS_BUDGET, Known, KnownRecords, RecordChecker};
use crate::ops::read;
use crate::sandbox::bindings::ctest::connector::types as wit;
use crate::sandbox::{Msg, PluginError};
use crate::test_config::PreparedSet;

const SUITE: &str = "basic_read";

/// The suite, as the registry ([`super::REGISTRY`]) holds it.
pub(super) const ENTRY: super::Suite = super::Suite {
    name: SUITE,
    tests: TESTS,
    input_keys: &[
        "configured_catalog_path",
        "empty_streams",
        "ignored_fields",
        "fail_on_extra_columns",
        "validate_data_points",
        "expect_records",
        "bypassed_streams",
    ],
    time_limit: super::TimeLimit::Read,
    declared_when_strict: true,
    reads_records: false,
    check_set: super::expected_records::check_set,
    strict_input: Some(super::StrictInput {
        key: "expect_records",
        form: "expect_records: {path: expected_records.jsonl}",
        given: |set| set.expect_records.is_some(),
    }),
    reports: |run, name| opt_in_asked(run.set, name),
    run: |run, _| run_suite(run),
};
const TESTS: &[&str] = &[
    "read",
    "records_per_stream",
    "records_match_schema",
    "no_undeclared_fields",
    "only_configured_streams",
    "primary_key_not_null",
    "primary_key_unique",
    "emitted_at_in_read_window",
    "stream_status_order",
    "expected_records",
    "every_field_has_data",
    "unknown_stream_error",
];
/// The checks of the read, between the read and the unknown stream.
const CHECKS: &[&str] = TESTS.split_at(1).1.split_at(TESTS.len() - 2).0;

/// The opt-in checks are reported only when the input set asks for them.
fn opt_in_asked(set: &crate::test_config::InputSet, test: &str) -> bool {
    match test {
        "expected_records" => set.expect_records.is_some(),
        "every_field_has_data" => set.validate_data_points == Some(true),
        _ => true,
    }
}

fn run_suite(run: &mut Run<'_>) {
    // The opt-in checks are reported only when the test configuration asks.
    let checks: Vec<&str> = CHECKS
        .iter()
        .copied()
        .filter(|c| opt_in_asked(&run.set.set, c))
        .collect();
    let Some(streams) = run.facts.catalog.clone() else {
        run.skip_all(
            SUITE,
            &[&["read"], &checks[..], &["unknown_stream_error"]].concat(),
            "discovery did not return a catalog",
        );
        return;
    };
    let config_text = run.config_text.clone();
    let catalog =
        read::configured_catalog(&streams, &run.set, |_| Some(wit::SyncMode::FullRefresh));
    let configured: Vec<&DiscoveredStream> = streams
        .iter()
        .filter(|s| catalog.streams.iter().any(|c| c.name == s.info.name))
        .collect();
    let allowed_empty = run.set.set.empty_streams.clone();
    let extra_columns_allowed = run.set.set.fail_on_extra_columns == Some(false);
    run.facts.read.extra_columns_allowed = extra_columns_allowed;
    let data_points = run.set.set.validate_data_points == Some(true);
    // Records are kept only for the streams the expected records name; a
    // snapshot (`ctest snapshot`) keeps every stream's, to write them.
    let snapshot = run.options.snapshot.clone();
    let keep: HashSet<String> = if snapshot.is_some() {
        configured.iter().map(|s| s.info.name.clone()).collect()
    } else {
        run.set
            .expected_records
            .iter()
            .flat_map(|e| e.records.iter().map(|r| r.stream.clone()))
            .collect()
    };
    run.report_bypassed_streams(SUITE);

    // Learning which records keep the rules pays only when later suites
    // read again.
    let reads_again = super::REGISTRY
        .iter()
        .filter(|s| s.reads_records)
        .any(|s| s.tests.iter().any(|t| run.selected(s.name, t)));
    let mut findings = None;
    let mut read_passed = false;
    // full_refresh's first read, when it is this one (one read fewer).
    let mut shared = super::full_refresh::to_share(run, &streams, &catalog);
    run.step(SUITE, "read", |ctx| {
        if catalog.streams.is_empty() {
            return Verdict::Skip("the catalog has no stream to read".into());
        }
        let mut checker = RecordChecker::new(configured.iter().copied(), &keep, data_points);
        if reads_again {
            checker.known = Known::Learning(KnownRecords::new());
        }
        let (verdict, ended) = read_all(ctx, &config_text, &catalog, &mut checker, shared.as_mut());
        // A read that ended, even with error traces, is checked: how the
        // streams ended after an error is one of the checks.
        if ended {
            findings = Some(checker.finish());
        }
        read_passed = matches!(verdict, Verdict::Pass);
        verdict
    });
    if let Some(shared) = shared.filter(|_| read_passed) {
        shared.keep(run);
    }
    // Which streams this input set's read covered (the others, left out by
    // its catalog, are still the incremental suite's to test).
    run.facts.streams_read = configured.iter().map(|s| s.info.name.clone()).collect();
    // The suites that read again start only from a read that passed.
    run.facts.streams_with_records = findings.as_ref().filter(|_| read_passed).map(|f| {
        f.checker
            .streams
            .iter()
            .filter(|(_, s)| s.records > 0)
            .map(|(name, _)| name.clone())
            .collect()
    });
    if let Some(f) = findings.as_ref().filter(|_| read_passed) {
        run.facts.read.records_per_stream = f
            .checker
            .streams
            .iter()
            .map(|(name, s)| (name.clone(), s.records))
            .collect();
    }
    match findings {
        None => run.skip_all(SUITE, &checks, "the full-refresh read did not complete"),
        Some(mut findings) => {
            if let Known::Learning(known) =
                std::mem::replace(&mut findings.checker.known, Known::Off)
            {
                run.facts.read.known = Some(std::sync::Arc::new(known.seal()));
            }
            findings
                .empty_streams
                .retain(|s| !allowed_empty.iter().any(|a| a.name == *s));
            let mut verdicts = findings.verdicts();
            // These two are opt-in: not reported unless configured.
            if let Some(v) = findings.expected_records(&run.set, snapshot.as_deref()) {
                verdicts.push(("expected_records", v));
            }
            if data_points {
                verdicts.push(("every_field_has_data", findings.data_points(&run.set.set)));
            }
            for (name, verdict) in verdicts {
                if matches!(verdict, Verdict::Fail(_)) {
                    run.facts.read.broken_in_basic_read.insert(name);
                }
                let verdict = match (name, verdict) {
                    ("no_undeclared_fields", _) if extra_columns_allowed => Verdict::Skip(
                        "fail_on_extra_columns is false in the test configuration".into(),
                    ),
                    (_, verdict) => verdict,
                };
                run.finish(
                    SUITE,
                    name,
                    verdict,
                    Duration::ZERO,
                    Vec::new(),
                    Default::default(),
                );
            }
        }
    }

    run.test(SUITE, "unknown_stream_error", |ctx| {
        unknown_stream(ctx, &config_text)
    });
}

/// Reads to the end, feeding every message to `checker`: the verdict, and
/// whether the read ended (even with error traces).
fn read_all(
    ctx: &mut TestCtx<'_>,
    config: &str,
    catalog: &wit::ConfiguredCatalog,
    checker: &mut RecordChecker,
    mut shared: Option<&mut super::full_refresh::SharedFirstRead>,
) -> (Verdict, bool) {
    // basic_read checks the rules itself, each as its own test.
    let outcome = read::read_all(ctx, config, catalog, &[], None, &mut |m| match shared
        .as_deref_mut()
    {
        None => checker.observe(m),
        Some(shared) => checker.observe_with(m, &mut |r, value| {
            shared.observe(r.stream, value, r.emitted_at)
        }),
    });
    ctx.logs.append(&mut checker.logs);
    let errors = std::mem::take(&mut checker.error_traces);
    let ended = outcome.is_ok();
    let verdict = match outcome {
        Err(e) => Verdict::fail(format!(
            "expected a full-refresh read of every stream to complete; {e}{}",
            after_records(checker)
        )),
        Ok(()) if !errors.is_empty() => Verdict::fail(format!(
            "expected the read to complete without errors; the connector reported {} error(s):\n  {}\n\
             fix: the connector's own error message says what went wrong",
            checker.error_count,
            errors.join("\n  ")
        )),
        Ok(()) => Verdict::Pass,
    };
    (verdict, ended)
}

fn after_records(checker: &RecordChecker) -> String {
    let total: u64 = checker.streams.values().map(|s| s.records).sum();
    format!(" (after {total} records)")
}

/// Whether the ignored field `ignored` (names from the root, `*` and
/// patterns allowed) is the declared field `declared` (`a.b`, `items[].c`)
/// or one of its parents.
fn covers(ignored: &[String], declared: &str) -> bool {
    let segments: Vec<&str> = declared
        .split('.')
        .flat_map(|part| {
            let (name, items) = match part.find("[]") {
                Some(i) => (&part[..i], part[i..].matches("[]").count()),
                None => (part, 0),
            };
            std::iter::once(name).chain(std::iter::repeat_n("*", items))
        })
        .filter(|s| !s.is_empty())
        .collect();
    ignored.len() <= segments.len()
        && ignored
            .iter()
            .zip(&segments)
            .all(|(i, d)| i == d || crate::schema::wildcard_match(i, d))
}

impl Findings {
    /// basic_read/every_field_has_data: each field a stream's schema declares
    /// holds a non-null value in at least one of its records.
    fn data_points(&self, set: &crate::test_config::InputSet) -> Verdict {
        let mut problems = Vec::new();
        for name in &self.checker.order {
            let check = &self.checker.streams[name];
            let (Some(present), Some(fields), true) =
                (&check.present, &check.fields, check.records > 0)
            else {
                continue;
            };
            let skipped = set.ignored_paths(name);
            for path in fields.declared_paths() {
                let is_ignored = skipped.iter().any(|i| covers(i, &path));
                if !present.contains(&path) && !is_ignored {
                    problems.push(format!(
                        "stream `{name}`: field `{path}` is null or absent in all {} records",
                        check.records
                    ));
                }
            }
        }
        verdict(
            problems,
            "expected every field a stream's schema declares to hold a value in at least one record (validate_data_points)",
            "fill the field, stop declaring fields the connector never fills, or list it under `ignored_fields` with a reason",
        )
    }

    /// basic_read/expected_records: the records the test configuration
    /// expects. `None` when it expects none. With `snapshot`, the file is
    /// written from the read instead, and what changed said there.
    fn expected_records(
        &mut self,
        set: &PreparedSet,
        snapshot: Option<&std::sync::Mutex<Vec<String>>>,
    ) -> Option<Verdict> {
        let options = set.set.expect_records.as_ref()?;
        if let (Some(sink), Some(path), None) =
            (snapshot, &set.expected_records_path, &options.bypass_reason)
        {
            if let Some(stream) = &self.checker.over_budget {
                return Some(Verdict::fail(format!(
                    "the records read add up to more than {} MiB (stream `{stream}` went over), the most ctest keeps for a snapshot\n  fix: give the input set a smaller config (fewer records), or a configured catalog of fewer streams",
                    KEPT_RECORDS_BUDGET >> 20
                )));
            }
            let (verdict, summary) = super::snapshot::write(
                path,
                set.expected_records.as_ref(),
                options,
                self.read_streams(),
                &set.set,
            );
            if let Ok(mut lines) = sink.lock() {
                lines.push(summary);
            }
            return Some(verdict);
        }
        let (Some(file), None) = (&set.expected_records, &options.bypass_reason) else {
            return Some(Verdict::Skip(format!(
                "bypassed by the test configuration: {}",
                options.bypass_reason.as_deref().unwrap_or_default()
            )));
        };
        if let Some(stream) = &self.checker.over_budget {
            return Some(Verdict::fail(format!(
                "the records of the streams in the expected records file add up to more than {} MiB (stream `{stream}` went over), the most ctest keeps to compare\n                 fix: give the input set a smaller config (fewer records), or compare a configured catalog of fewer streams",
                KEPT_RECORDS_BUDGET >> 20
            )));
        }
        let read = self.read_streams();
        Some(expected_records::compare(file, options, read, &set.set))
    }

    /// Every stream read, with the records kept of it.
    fn read_streams(&mut self) -> std::collections::HashMap<String, expected_records::ReadStream> {
        self.checker
            .streams
            .iter_mut()
            .map(|(name, check)| {
                (
                    name.clone(),
                    expected_records::ReadStream {
                        primary_key: check.primary_key.clone(),
                        records: check.kept.take().unwrap_or_default(),
                    },
                )
            })
            .collect()
    }

    pub(super) fn verdicts(&self) -> Vec<(&'static str, Verdict)> {
        let c = &self.checker;
        let counts: Vec<String> = c
            .order
            .iter()
            .map(|n| format!("`{n}`: {}", c.streams[n].records))
            .collect();
        let records_per_stream = if self.empty_streams.is_empty() {
            Verdict::Pass
        } else {
            Verdict::fail(format!(
                "expected every stream to yield records in a full-refresh read; no records from: {}\n  records per stream: {}\n\
                 fix: check that the config's account has data for these streams, or that the connector reads them",
                self.empty_streams
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                counts.join(", ")
            ))
        };
        let mut verdicts = vec![("records_per_stream", records_per_stream)];
        verdicts.extend(
            self.rules()
                .into_iter()
                .map(|r| (r.name, r.problems.verdict(r.expected, r.fix))),
        );
        verdicts
    }
}

/// A catalog naming a stream the connector does not have must be refused with an
/// error, not read silently.
fn unknown_stream(ctx: &mut TestCtx<'_>, config: &str) -> Verdict {
    let name = format!("ctest_unknown_stream_{}", std::process::id());
    let catalog = wit::ConfiguredCatalog {
        streams: vec![wit::ConfiguredStream {
            name: name.clone(),
            sync_mode: wit::SyncMode::FullRefresh,
            cursor_field: Vec::new(),
            primary_key: Vec::new(),
        }],
    };
    let mut plugin = match ctx.instance() {
        Ok(p) => p,
        Err(e) => return Verdict::fail(e.to_string()),
    };
    let result = (|| -> Result<Verdict, PluginError> {
        let mut session = match plugin.read(config, &catalog, &[])? {
            Err(_) => return Ok(Verdict::Pass),
            Ok(s) => s,
        };
        let mut records = 0u64;
        let mut errored = false;
        loop {
            match plugin.next_batch(&mut session) {
                Ok(Some(batch)) => {
                    for m in batch.messages() {
                        match m {
                            Msg::Record(_) => records += 1,
                            Msg::Other(wit::Message::Trace(wit::TraceMessage::Error(_))) => {
                                errored = true
                            }
                            Msg::Other(_) => {}
                        }
                    }
                }
                Ok(None) => break,
                Err(PluginError::ReadFailed(_)) => {
                    errored = true;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(if records > 0 {
            Verdict::fail(format!(
                "expected an error for the unknown stream `{name}`; the connector emitted {records} records for it\n\
                 fix: refuse streams that `discover` does not offer"
            ))
        } else if errored {
            Verdict::Pass
        } else {
            Verdict::fail(format!(
                "expected an error (from `read`, or an error trace) for a catalog naming the unknown stream `{name}`; the read ended silently\n\
                 fix: return a config error for streams that `discover` does not offer"
            ))
        })
    })();
    ctx.keep_logs(&plugin);
    result.unwrap_or_else(|e| {
        Verdict::fail(format!(
            "expected an error for the unknown stream `{name}`, returned cleanly; {e}"
        ))
    })
}

#[cfg(test)]
mod tests {
    /// `ignored_fields` in ctest's dot paths and in Airbyte's `/` paths with
    /// `*` and patterns cover the declared fields every_field_has_data walks.
    #[test]
    fn ignored_fields_cover_declared_fields_in_either_form() {
        let set: crate::test_config::InputSet = serde_json::from_value(serde_json::json!({
            "ignored_fields": {"s": [
                {"name": "address"}, {"name": "steps/*/started_at"},
                {"name": "props/hs_time_*"}, {"name": "meta.tags"}
            ]}
        }))
        .unwrap();
        let paths = set.ignored_paths("s");
        let covered = |declared: &str| paths.iter().any(|p| super::covers(p, declared));
        for yes in [
            "address",
            "address.city",
            "steps[].started_at",
            "props.hs_time_in_x",
            "meta.tags",
            "meta.tags[].name",
        ] {
            assert!(covered(yes), "{yes}");
        }
        for no in ["addresses", "steps[].id", "props.name", "meta", "steps"] {
            assert!(!covered(no), "{no}");
        }
    }
}
