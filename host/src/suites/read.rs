//! Reading, for the suites that read: a configured catalog from the discovered
//! streams, and a read on a fresh instance whose messages stream to a consumer
//! on a second thread.

use std::collections::HashSet;

use super::{DiscoveredStream, TestCtx};
use crate::checks::records::{KnownRecords, RecordChecker};
use crate::sandbox::ConnectorError;
use crate::sandbox::bindings::ctest::connector::types as wit;
use crate::test_config::PreparedSet;

/// A catalog of the discovered streams the input set includes (see
/// [`PreparedSet::includes`]) that `mode` gives a sync mode, each
/// with its source-defined key and cursor. Each name once: a repeated name is
/// discovery's finding, not the read's.
pub(super) fn configured_catalog(
    streams: &[DiscoveredStream],
    set: &PreparedSet,
    mode: impl Fn(&DiscoveredStream) -> Option<wit::SyncMode>,
) -> wit::ConfiguredCatalog {
    let mut seen = HashSet::new();
    wit::ConfiguredCatalog {
        streams: streams
            .iter()
            .filter(|s| set.includes(&s.info.name))
            .filter(|s| seen.insert(s.info.name.as_str()))
            .filter_map(|s| {
                Some(wit::ConfiguredStream {
                    name: s.info.name.clone(),
                    sync_mode: mode(s)?,
                    cursor_field: s.info.default_cursor_field.clone(),
                    primary_key: s.info.source_defined_primary_key.clone(),
                })
            })
            .collect(),
    }
}

/// The rules every read keeps, whichever suite makes it: basic_read's
/// checks of one read (records valid against their schema, declared fields,
/// keys present, only configured streams, emitted_at in the read's window,
/// every message of a stream between its `started` and `complete`). A
/// key's uniqueness is basic_read's alone: an incremental read may see a row
/// change while it reads, and full_refresh compares its reads by key.
pub(super) struct Rules<'a> {
    /// The discovered streams (the catalog's are checked).
    pub streams: &'a [DiscoveredStream],
    pub facts: ReadFacts,
}

/// What basic_read's read leaves the reads after it.
#[derive(Clone, Default)]
pub(super) struct ReadFacts {
    /// The test configuration's `fail_on_extra_columns: false` (of
    /// basic_read's input set).
    pub extra_columns_allowed: bool,
    /// The rules basic_read's own read broke: its tests report them, and
    /// the reads after it do not fail again for the same reason.
    pub broken_in_basic_read: HashSet<&'static str>,
    /// The records basic_read's read found keeping every record-level rule:
    /// the same record text in a later read is not checked again.
    pub known: Option<std::sync::Arc<KnownRecords>>,
}

impl<'a> Rules<'a> {
    fn checker(&self, catalog: &wit::ConfiguredCatalog) -> RecordChecker {
        let configured = self
            .streams
            .iter()
            .filter(|s| catalog.streams.iter().any(|c| c.name == s.info.name));
        RecordChecker::for_rules(configured, self.facts.known.clone())
    }

    /// The rules `checker` saw broken, as one message naming each rule,
    /// how often, the first place and the fix.
    fn broken(&self, checker: RecordChecker) -> Option<String> {
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

/// Reads on a fresh instance until the read ends, handing every message to
/// `consume`. `Err` says why the read did not start or did not end normally,
/// or, given `rules`, which of them the read's messages broke.
///
/// The plugin produces on this thread while `consume` runs on another: a read
/// takes as long as the slower of the two, not both. The channel between them
/// is bounded, so at most a few batches are in flight.
pub(super) fn stream_read(
    ctx: &mut TestCtx<'_>,
    config: &str,
    catalog: &wit::ConfiguredCatalog,
    state: &[wit::StreamState],
    rules: Option<&Rules<'_>>,
    consume: &mut (dyn FnMut(wit::Message) + Send),
) -> Result<(), String> {
    let Some(rules) = rules else {
        return read_messages(ctx, config, catalog, state, consume);
    };
    let mut checker = rules.checker(catalog);
    read_messages(ctx, config, catalog, state, &mut |m| {
        checker.observe(&m);
        consume(m)
    })?;
    match rules.broken(checker) {
        None => Ok(()),
        Some(broken) => Err(format!("the read {broken}")),
    }
}

fn read_messages(
    ctx: &mut TestCtx<'_>,
    config: &str,
    catalog: &wit::ConfiguredCatalog,
    state: &[wit::StreamState],
    consume: &mut (dyn FnMut(wit::Message) + Send),
) -> Result<(), String> {
    let mut plugin = ctx.instance().map_err(|e| e.to_string())?;
    let outcome = (|| {
        let mut session = match plugin.read(config, catalog, state) {
            Err(e) => return Err(e.to_string()),
            Ok(Err(e)) => {
                return Err(format!(
                    "`read` returned an error: {}",
                    ConnectorError::from(e)
                ));
            }
            Ok(Ok(session)) => session,
        };
        let (batches, incoming) = std::sync::mpsc::sync_channel::<Vec<wit::Message>>(4);
        let deadline = ctx.deadline;
        let overtime = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            // Owned here, so that it is dropped, ending the consumer's loop, on
            // every way out of this closure, before the scope joins the thread.
            let batches = batches;
            let overtime = &overtime;
            scope.spawn(move || {
                // The checks have the test's deadline too: past it, the consumer
                // stops draining (dropping `incoming` stops the producer).
                // Checked once a batch (at most `batch_size` messages), off
                // the per-record path.
                for batch in incoming {
                    batch.into_iter().for_each(&mut *consume);
                    if std::time::Instant::now() >= deadline {
                        overtime.store(true, std::sync::atomic::Ordering::Relaxed);
                        return;
                    }
                }
            });
            let scan = ctx.secrets.finds_leaks();
            let mut index = 0u64;
            while let Some(batch) = plugin.next_batch(&mut session).map_err(|e| e.to_string())? {
                // On this thread, while the consumer checks the last batch.
                if scan {
                    for message in &batch {
                        if let Some(leak) = leak_in(&ctx.secrets, message, index) {
                            ctx.leaks.push(leak);
                        }
                        index += 1;
                    }
                }
                if batches.send(batch).is_err() {
                    break;
                }
            }
            Ok::<(), String>(())
        })?;
        if overtime.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(
                "checking the records did not finish within the test's time limit, so the read was stopped (the streams' schemas are costly to validate: deep `$ref`/`allOf` nesting or complex patterns); fix: simplify the schemas, or raise the limit with `--timeout SECONDS`"
                    .to_string(),
            );
        }
        Ok(())
    })();
    ctx.keep_logs(&plugin);
    outcome
}

/// Where `message`, the read's `index`th, carries a secret, if it does.
fn leak_in(
    secrets: &crate::redact::Redactor,
    message: &wit::Message,
    index: u64,
) -> Option<String> {
    let (what, text) = match message {
        wit::Message::Record(r) => (
            format!("a record of stream `{}`", r.stream),
            r.data.as_str(),
        ),
        wit::Message::State(s) => (format!("a state of stream `{}`", s.stream), s.data.as_str()),
        wit::Message::Log(l) => ("a log message".to_string(), l.message.as_str()),
        wit::Message::Trace(wit::TraceMessage::Error(e)) => {
            let how = secrets.leak(&e.error.message).or_else(|| {
                e.error
                    .internal_message
                    .as_deref()
                    .and_then(|m| secrets.leak(m))
            })?;
            return Some(format!(
                "an error trace (message {index} of a read) carries a secret {how}"
            ));
        }
        wit::Message::Trace(wit::TraceMessage::StreamStatus(s)) => {
            ("a stream status".to_string(), s.stream.as_str())
        }
        wit::Message::Records(_) => return None,
    };
    let how = secrets.leak(text)?;
    Some(format!(
        "{what} (message {index} of a read) carries a secret {how}"
    ))
}
