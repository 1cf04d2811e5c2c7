//! A read: started by [`Plugin::read`], pulled in batches with
//! [`Plugin::next_batch`], each batch checked against the limits (message
//! count and size) and `records` batches expanded to one message per record.

use super::errors::PluginError;
use super::instance::Plugin;
use super::wit;

/// A read in progress.
pub struct ReadSession {
    reader: wasmtime::component::ResourceAny,
    messages: u64,
    done: bool,
}

impl<'s> Plugin<'s> {
    /// Starts a read; pull its messages with [`Plugin::next_batch`].
    pub fn read(
        &mut self,
        config: &str,
        catalog: &wit::ConfiguredCatalog,
        state: &[wit::StreamState],
    ) -> Result<Result<ReadSession, wit::ConnectorError>, PluginError> {
        let source = self.source().clone();
        let config = config.to_string();
        let catalog = catalog.clone();
        let state = state.to_vec();
        let started = self.call("read", move |store| {
            Box::pin(async move { source.call_read(store, &config, &catalog, &state).await })
        })?;
        Ok(started.map(|reader| ReadSession {
            reader,
            messages: 0,
            done: false,
        }))
    }

    /// The next batch of a read: `Ok(None)` when the read is over.
    pub fn next_batch(
        &mut self,
        session: &mut ReadSession,
    ) -> Result<Option<Vec<wit::Message>>, PluginError> {
        if session.done {
            return Ok(None);
        }
        let source = self.source().clone();
        let reader = session.reader;
        let max = self.limits.batch_size;
        let batch = self.call("read (reader.next)", move |store| {
            Box::pin(async move { source.reader().call_next(store, reader, max).await })
        })?;
        let batch = match batch {
            Ok(batch) => batch,
            Err(error) => {
                session.done = true;
                return Err(PluginError::ReadFailed(error.into()));
            }
        };
        if batch.is_empty() {
            session.done = true;
            return Ok(None);
        }
        let batch = match expand_record_batches(batch, max) {
            Ok(batch) => batch,
            Err(e) => {
                session.done = true;
                return Err(e);
            }
        };
        let bytes: usize = batch.iter().map(message_size).sum();
        if !self.count_output(bytes as u64) {
            session.done = true;
            let e = PluginError::OutputQuota {
                call: "read (reader.next)".into(),
                limit: self.limits.output_budget.as_ref().map_or(0, |b| b.limit),
            };
            self.poisoned = Some(e.to_string());
            return Err(e);
        }
        session.messages += batch.len() as u64;
        if session.messages > self.limits.max_messages {
            session.done = true;
            self.poisoned = Some("the read exceeded the message limit".into());
            return Err(PluginError::TooManyMessages {
                limit: self.limits.max_messages,
            });
        }
        for message in &batch {
            let size = message_size(message);
            if size > self.limits.max_message_bytes {
                session.done = true;
                self.poisoned = Some("the read returned an oversized message".into());
                return Err(PluginError::MessageTooLarge {
                    size,
                    limit: self.limits.max_message_bytes,
                    what: describe_message(message),
                });
            }
        }
        Ok(Some(batch))
    }
}

/// The records a `records` batch's data holds: its lines, a last `\n` ending
/// the last one.
fn lines_in(data: &[u8]) -> usize {
    let data = data.strip_suffix(b"\n").unwrap_or(data);
    if data.is_empty() {
        0
    } else {
        data.iter().filter(|b| **b == b'\n').count() + 1
    }
}

/// Turns each `records` message into the `record` messages it carries (one per
/// line), so that everything after the read sees one shape. A batch whose data
/// is not UTF-8 is a malformed message, and so is a call that returns more
/// than the `max` messages it was asked for, counting a batch's records: the
/// count is checked before anything is allocated, so a batch of a million
/// empty lines costs the host nothing.
fn expand_record_batches(
    batch: Vec<wit::Message>,
    max: u32,
) -> Result<Vec<wit::Message>, PluginError> {
    if !batch.iter().any(|m| matches!(m, wit::Message::Records(_))) {
        return Ok(batch);
    }
    let total: usize = batch
        .iter()
        .map(|m| match m {
            wit::Message::Records(r) => lines_in(&r.data),
            _ => 1,
        })
        .sum();
    if total > max as usize {
        return Err(PluginError::MalformedMessage {
            problem: format!(
                "one `reader.next({max})` call returned {total} messages, counting each line of its `records` batches as one"
            ),
            fix: format!(
                "return at most the {max} messages asked for, records in batches included (the SDKs do)"
            ),
        });
    }
    let mut out = Vec::with_capacity(total);
    for message in batch {
        let wit::Message::Records(records) = message else {
            out.push(message);
            continue;
        };
        let text = String::from_utf8(records.data).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            let bytes = e.as_bytes();
            let line = bytes[..at].iter().filter(|b| **b == b'\n').count();
            PluginError::MalformedMessage {
                problem: format!(
                    "a `records` batch of stream `{}` is not UTF-8 at byte {at} (line {}, the record at index {line} of the batch)",
                    records.stream,
                    line + 1
                ),
                fix: "a `records` batch holds UTF-8 JSON, one record per line (the SDKs' `record` helpers make it so)".into(),
            }
        })?;
        let text = text.strip_suffix('\n').unwrap_or(&text);
        if text.is_empty() {
            continue;
        }
        for line in text.split('\n') {
            out.push(wit::Message::Record(wit::RecordMessage {
                stream: records.stream.clone(),
                data: line.to_string(),
                emitted_at: records.emitted_at,
            }));
        }
    }
    Ok(out)
}

fn message_size(message: &wit::Message) -> usize {
    match message {
        wit::Message::Record(r) => r.data.len() + r.stream.len(),
        wit::Message::State(s) => s.data.len() + s.stream.len(),
        wit::Message::Log(l) => l.message.len(),
        wit::Message::Trace(wit::TraceMessage::Error(e)) => {
            e.error.message.len() + e.error.internal_message.as_ref().map_or(0, |m| m.len())
        }
        wit::Message::Trace(wit::TraceMessage::StreamStatus(s)) => s.stream.len(),
        wit::Message::Records(r) => r.data.len() + r.stream.len(),
    }
}

fn describe_message(message: &wit::Message) -> String {
    match message {
        wit::Message::Record(r) => format!("a record of stream `{}`", r.stream),
        wit::Message::State(s) => format!("a state of stream `{}`", s.stream),
        wit::Message::Log(_) => "a log message".into(),
        wit::Message::Trace(_) => "a trace message".into(),
        wit::Message::Records(r) => format!("a records batch of stream `{}`", r.stream),
    }
}
