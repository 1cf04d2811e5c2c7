//! Reading: a configured catalog from the discovered streams, a read on a
//! fresh instance whose messages stream to a consumer on a second thread
//! ([`read_all`]), and one stream read from a state ([`read_stream_from`]).

use std::collections::HashSet;

use serde_json::Value;

use super::TestCtx;
use crate::catalog::DiscoveredStream;
use crate::checks::rules::Rules;
use crate::sandbox::bindings::ctest::connector::types as wit;
use crate::sandbox::{ConnectorError, Msg};
use crate::test_config::PreparedSet;

/// A catalog of the discovered streams the input set includes (see
/// [`PreparedSet::includes`]) that `mode` gives a sync mode, each
/// with its source-defined key and cursor. Each name once: a repeated name is
/// discovery's finding, not the read's.
pub fn configured_catalog(
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

/// Reads on a fresh instance until the read ends, handing every message to
/// `consume`. `Err` says why the read did not start or did not end normally,
/// or, given `rules`, which of them the read's messages broke.
///
/// The plugin produces on this thread while `consume` runs on another: a read
/// takes as long as the slower of the two, not both. The channel between them
/// is bounded, so at most a few batches are in flight.
pub(crate) fn read_all(
    ctx: &mut TestCtx<'_>,
    config: &str,
    catalog: &wit::ConfiguredCatalog,
    state: &[wit::StreamState],
    rules: Option<&Rules<'_>>,
    consume: &mut (dyn FnMut(Msg<'_>) + Send),
) -> Result<(), String> {
    let Some(rules) = rules else {
        return read_messages(ctx, config, catalog, state, consume);
    };
    let mut checker = rules.checker(catalog);
    read_messages(ctx, config, catalog, state, &mut |m| {
        checker.observe(m);
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
    consume: &mut (dyn FnMut(Msg<'_>) + Send),
) -> Result<(), String> {
    read_answer(ctx, config, catalog, state, consume).map_err(|e| e.to_string())
}

/// Why a read did not end normally: the connector's own error (when `read`
/// or `reader.next` returned one), or anything else, in words.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// `read` returned an error.
    Refused(ConnectorError),
    /// `reader.next` returned an error.
    Failed(ConnectorError),
    Other(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Refused(e) => write!(f, "`read` returned an error: {e}"),
            ReadError::Failed(e) => {
                write!(f, "{}", crate::sandbox::PluginError::ReadFailed(e.clone()))
            }
            ReadError::Other(m) => f.write_str(m),
        }
    }
}

/// [`read_all`] without rules, telling the connector's errors apart.
pub(crate) fn read_answer(
    ctx: &mut TestCtx<'_>,
    config: &str,
    catalog: &wit::ConfiguredCatalog,
    state: &[wit::StreamState],
    consume: &mut (dyn FnMut(Msg<'_>) + Send),
) -> Result<(), ReadError> {
    let other = |e: crate::sandbox::PluginError| match e {
        crate::sandbox::PluginError::ReadFailed(c) => ReadError::Failed(c),
        e => ReadError::Other(e.to_string()),
    };
    // The read's deadline: its instance's, and the checks'.
    let deadline = ctx.deadline();
    let mut plugin = ctx
        .component
        .instantiate(ctx.limits, deadline, &ctx.network)
        .map_err(other)?;
    let outcome = (|| {
        let mut session = match plugin.read(config, catalog, state) {
            Err(e) => return Err(other(e)),
            Ok(Err(e)) => return Err(ReadError::Refused(ConnectorError::from(e))),
            Ok(Ok(session)) => session,
        };
        let (batches, incoming) = std::sync::mpsc::sync_channel::<crate::sandbox::Batch>(4);
        let overtime = std::sync::atomic::AtomicBool::new(false);
        let checks_cpu = std::sync::atomic::AtomicU64::new(0);
        let outcome = std::thread::scope(|scope| {
            // Owned here, so that it is dropped, ending the consumer's loop, on
            // every way out of this closure, before the scope joins the thread.
            let batches = batches;
            let (overtime, checks_cpu) = (&overtime, &checks_cpu);
            scope.spawn(move || {
                let started = crate::usage::thread_cpu_time();
                // The checks have the test's deadline too: past it, the consumer
                // stops draining (dropping `incoming` stops the producer).
                // Checked once a batch (at most `batch_size` messages), off
                // the per-record path.
                for batch in incoming {
                    batch.messages().for_each(&mut *consume);
                    if std::time::Instant::now() >= deadline {
                        overtime.store(true, std::sync::atomic::Ordering::Relaxed);
                        break;
                    }
                }
                let spent = crate::usage::thread_cpu_time().saturating_sub(started);
                checks_cpu.store(
                    spent.as_nanos() as u64,
                    std::sync::atomic::Ordering::Relaxed,
                );
            });
            let scan = ctx.secrets.finds_leaks();
            let mut index = 0u64;
            // Stream names as the console may show them: secrets masked.
            let progress = ctx.progress.clone();
            let mut counter = progress.as_ref().map(|p| {
                let names: Vec<String> = catalog
                    .streams
                    .iter()
                    .map(|s| ctx.secrets.redact(&s.name))
                    .collect();
                let raw: Vec<&str> = catalog.streams.iter().map(|s| s.name.as_str()).collect();
                p.read_started(&names, &raw)
            });
            while let Some(batch) = plugin.next_batch(&mut session).map_err(other)? {
                if let Some(counter) = counter.as_mut() {
                    counter.count(batch.messages().filter_map(|m| match m {
                        Msg::Record(r) => Some(r.stream),
                        Msg::Other(_) => None,
                    }));
                }
                // On this thread, while the consumer checks the last batch.
                if scan {
                    for message in batch.messages() {
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
            Ok::<(), ReadError>(())
        });
        ctx.network
            .usage()
            .add_checks_cpu(std::time::Duration::from_nanos(
                checks_cpu.load(std::sync::atomic::Ordering::Relaxed),
            ));
        outcome?;
        if overtime.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(ReadError::Other(
                "checking the records did not finish within the read's time limit, so the read was stopped (the streams' schemas are costly to validate: deep `$ref`/`allOf` nesting or complex patterns); fix: simplify the schemas, or raise the limit with `--timeout SECONDS`"
                    .to_string(),
            ));
        }
        Ok(())
    })();
    ctx.keep_logs(&plugin);
    outcome
}

/// Where `message`, the read's `index`th, carries a secret, if it does.
fn leak_in(secrets: &crate::redact::Redactor, message: Msg<'_>, index: u64) -> Option<String> {
    let what = |what: String, how: crate::redact::Form| {
        format!("{what} (message {index} of a read) carries a secret {how}")
    };
    let message = match message {
        Msg::Record(r) => {
            let how = secrets.leak(r.data)?;
            return Some(what(format!("a record of stream `{}`", r.stream), how));
        }
        Msg::Other(message) => message,
    };
    match message {
        wit::Message::State(s) => {
            let how = secrets.leak(&s.data)?;
            Some(what(format!("a state of stream `{}`", s.stream), how))
        }
        wit::Message::Log(l) => Some(what("a log message".into(), secrets.leak(&l.message)?)),
        wit::Message::Trace(wit::TraceMessage::Error(e)) => {
            let how = secrets.leak(&e.error.message).or_else(|| {
                e.error
                    .internal_message
                    .as_deref()
                    .and_then(|m| secrets.leak(m))
            })?;
            Some(what("an error trace".into(), how))
        }
        wit::Message::Trace(wit::TraceMessage::StreamStatus(s)) => {
            Some(what("a stream status".into(), secrets.leak(&s.stream)?))
        }
        // A batch hands records out as `Msg::Record`.
        wit::Message::Record(_) | wit::Message::Records(_) => None,
    }
}

/// Reads `stream` incrementally from `state` on a fresh instance, under
/// `rules`: its records (those that are JSON) and its last state.
pub(crate) fn read_stream_from(
    ctx: &mut TestCtx<'_>,
    rules: &Rules<'_>,
    config: &str,
    stream: &DiscoveredStream,
    state: Vec<wit::StreamState>,
) -> Result<(Vec<Value>, Option<wit::StreamState>), String> {
    let catalog = wit::ConfiguredCatalog {
        streams: vec![wit::ConfiguredStream {
            name: stream.info.name.clone(),
            sync_mode: wit::SyncMode::Incremental,
            cursor_field: stream.info.default_cursor_field.clone(),
            primary_key: stream.info.source_defined_primary_key.clone(),
        }],
    };
    let mut records = Vec::new();
    let mut last = None;
    let name = stream.info.name.clone();
    read_all(
        ctx,
        config,
        &catalog,
        &state,
        Some(rules),
        &mut |m| match m {
            Msg::Record(r) if r.stream == name => {
                if let Ok(v) = serde_json::from_str(r.data) {
                    records.push(v);
                }
            }
            Msg::Other(wit::Message::State(s)) if s.stream == name => last = Some(s.clone()),
            _ => {}
        },
    )?;
    Ok((records, last))
}
