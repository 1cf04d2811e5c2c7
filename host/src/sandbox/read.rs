//! A read: started by [`Plugin::read`], pulled in batches with
//! [`Plugin::next_batch`], each batch checked against the limits (message
//! count and size). A `records` message stays one buffer: its lines are its
//! records, handed out borrowed ([`Batch::messages`]), so a record costs the
//! host no allocation of its own.

use super::errors::PluginError;
use super::instance::Plugin;
use super::wit;

/// A read in progress.
pub struct ReadSession {
    reader: wasmtime::component::ResourceAny,
    messages: u64,
    done: bool,
}

/// One `reader.next` call's messages, checked: every `records` message is
/// UTF-8 and its lines are within the message limits.
pub struct Batch {
    items: Vec<Item>,
    /// The messages it holds, each record of a `records` message one.
    len: usize,
}

enum Item {
    /// Any message but `records`.
    One(wit::Message),
    /// A `records` message: `text[ends[i - 1] + 1 .. ends[i]]` is its
    /// record `i` (from 0 for the first), found once as the batch arrived.
    Lines {
        stream: String,
        text: String,
        ends: Vec<usize>,
        emitted_at: i64,
    },
}

/// One message of a read, borrowed from its [`Batch`]: a record (from a
/// `record` message or a line of a `records` one), or any other message.
#[derive(Clone, Copy)]
pub enum Msg<'a> {
    Record(Rec<'a>),
    /// A state, log or trace (never a `record` or `records` message when it
    /// comes from a [`Batch`]).
    Other(&'a wit::Message),
}

/// A record of a read.
#[derive(Clone, Copy)]
pub struct Rec<'a> {
    pub stream: &'a str,
    /// The record: JSON object text, as the plugin sent it.
    pub data: &'a str,
    pub emitted_at: i64,
}

impl<'a> From<&'a wit::Message> for Msg<'a> {
    /// A `records` message is [`Msg::Other`] here: only a [`Batch`] splits
    /// one into its records.
    fn from(message: &'a wit::Message) -> Self {
        match message {
            wit::Message::Record(r) => Msg::Record(Rec {
                stream: &r.stream,
                data: &r.data,
                emitted_at: r.emitted_at,
            }),
            other => Msg::Other(other),
        }
    }
}

impl Batch {
    /// The messages, in order, each record of a `records` message one.
    pub fn messages(&self) -> Messages<'_> {
        Messages {
            items: self.items.iter(),
            lines: None,
        }
    }

    /// How many [`Batch::messages`] there are.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The iterator of [`Batch::messages`].
pub struct Messages<'a> {
    items: std::slice::Iter<'a, Item>,
    /// The `records` message being handed out: its stream, text, time, the
    /// ends of its records still to come, and where the next one starts.
    lines: Option<Lines<'a>>,
}

struct Lines<'a> {
    stream: &'a str,
    text: &'a str,
    emitted_at: i64,
    ends: std::slice::Iter<'a, usize>,
    start: usize,
}

impl<'a> Iterator for Messages<'a> {
    type Item = Msg<'a>;

    fn next(&mut self) -> Option<Msg<'a>> {
        loop {
            if let Some(lines) = &mut self.lines {
                if let Some(&end) = lines.ends.next() {
                    let data = &lines.text[lines.start..end];
                    lines.start = end + 1;
                    return Some(Msg::Record(Rec {
                        stream: lines.stream,
                        data,
                        emitted_at: lines.emitted_at,
                    }));
                }
                self.lines = None;
            }
            match self.items.next()? {
                Item::One(message) => return Some(Msg::from(message)),
                Item::Lines {
                    stream,
                    text,
                    ends,
                    emitted_at,
                } => {
                    self.lines = Some(Lines {
                        stream,
                        text,
                        emitted_at: *emitted_at,
                        ends: ends.iter(),
                        start: 0,
                    })
                }
            }
        }
    }
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
    pub fn next_batch(&mut self, session: &mut ReadSession) -> Result<Option<Batch>, PluginError> {
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
        let checked = match checked_batch(batch, max, self.limits.max_message_bytes) {
            Ok(checked) => checked,
            Err(e) => {
                session.done = true;
                return Err(e);
            }
        };
        if !self.count_output(checked.bytes) {
            session.done = true;
            let e = PluginError::OutputQuota {
                call: "read (reader.next)".into(),
                limit: self.limits.output_budget.as_ref().map_or(0, |b| b.limit),
            };
            self.poisoned = Some(e.to_string());
            return Err(e);
        }
        session.messages += checked.batch.len as u64;
        if session.messages > self.limits.max_messages {
            session.done = true;
            self.poisoned = Some("the read exceeded the message limit".into());
            return Err(PluginError::TooManyMessages {
                limit: self.limits.max_messages,
            });
        }
        if let Some((size, what)) = checked.oversized {
            session.done = true;
            self.poisoned = Some("the read returned an oversized message".into());
            return Err(PluginError::MessageTooLarge {
                size,
                limit: self.limits.max_message_bytes,
                what,
            });
        }
        let batch = checked.batch;
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
        memchr::memchr_iter(b'\n', data).count() + 1
    }
}

/// A batch as [`checked_batch`] found it.
struct Checked {
    batch: Batch,
    /// What its messages count for the output budget: a `records` message
    /// as its records would, each line and the stream's name.
    bytes: u64,
    /// The first message (a record of a `records` message counting as one)
    /// larger than the limit: its size, and what it was.
    oversized: Option<(usize, String)>,
}

/// `batch` as a [`Batch`]. A call that returns more than the `max` messages
/// it was asked for, counting a batch's records, is a malformed message (told
/// before more than `max` record places are taken), and so is a batch whose
/// data is not UTF-8. Each `records` message's lines are found in one pass.
fn checked_batch(
    batch: Vec<wit::Message>,
    max: u32,
    max_bytes: usize,
) -> Result<Checked, PluginError> {
    let too_many = |batch: &[wit::Message]| {
        let total: usize = batch
            .iter()
            .map(|m| match m {
                wit::Message::Records(r) => lines_in(&r.data),
                _ => 1,
            })
            .sum();
        PluginError::MalformedMessage {
            problem: format!(
                "one `reader.next({max})` call returned {total} messages, counting each line of its `records` batches as one"
            ),
            fix: format!(
                "return at most the {max} messages asked for, records in batches included (the SDKs do)"
            ),
        }
    };
    // Where each `records` message's lines end, found before anything else
    // is made of the batch.
    let mut all_ends = Vec::new();
    let mut total = 0usize;
    for message in &batch {
        let wit::Message::Records(records) = message else {
            total += 1;
            continue;
        };
        let data = &records.data;
        let body = data.strip_suffix(b"\n").unwrap_or(data);
        let mut ends = Vec::new();
        if !body.is_empty() {
            for end in memchr::memchr_iter(b'\n', body).chain([body.len()]) {
                total += 1;
                if total > max as usize {
                    return Err(too_many(&batch));
                }
                ends.push(end);
            }
        }
        all_ends.push(ends);
    }
    if total > max as usize {
        return Err(too_many(&batch));
    }
    let (mut bytes, mut oversized) = (0u64, None);
    // One message of `size` bytes.
    let mut measure = |size: usize, what: &dyn Fn() -> String| {
        if size > max_bytes && oversized.is_none() {
            oversized = Some((size, what()));
        }
        size as u64
    };
    let mut all_ends = all_ends.into_iter();
    let mut items = Vec::with_capacity(batch.len());
    for message in batch {
        let wit::Message::Records(records) = message else {
            bytes += measure(message_size(&message), &|| describe_message(&message));
            items.push(Item::One(message));
            continue;
        };
        let ends = all_ends.next().unwrap_or_default();
        let wit::RecordBatch {
            stream,
            data,
            emitted_at,
        } = records;
        let text = String::from_utf8(data).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            let line = ends.partition_point(|end| *end < at);
            PluginError::MalformedMessage {
                problem: format!(
                    "a `records` batch of stream `{stream}` is not UTF-8 at byte {at} (line {}, the record at index {line} of the batch)",
                    line + 1
                ),
                fix: "a `records` batch holds UTF-8 JSON, one record per line (the SDKs' `record` helpers make it so)".into(),
            }
        })?;
        let mut start = 0;
        for &end in &ends {
            bytes += measure(end - start + stream.len(), &|| {
                format!("a record of stream `{stream}`")
            });
            start = end + 1;
        }
        items.push(Item::Lines {
            stream,
            text,
            ends,
            emitted_at,
        });
    }
    Ok(Checked {
        batch: Batch { items, len: total },
        bytes,
        oversized,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn records(stream: &str, data: &str) -> wit::Message {
        wit::Message::Records(wit::RecordBatch {
            stream: stream.into(),
            data: data.as_bytes().to_vec(),
            emitted_at: 7,
        })
    }

    fn record(stream: &str, data: &str) -> wit::Message {
        wit::Message::Record(wit::RecordMessage {
            stream: stream.into(),
            data: data.into(),
            emitted_at: 7,
        })
    }

    /// (stream, data) of each message a batch hands out, records only.
    fn lines(batch: &Batch) -> Vec<(String, String)> {
        batch
            .messages()
            .filter_map(|m| match m {
                Msg::Record(r) => Some((r.stream.to_string(), r.data.to_string())),
                Msg::Other(_) => None,
            })
            .collect()
    }

    /// A `records` message hands out its lines as records, in order among
    /// the other messages, and counts for the output budget as those records
    /// would: the same bytes whether its lines are looked at one by one (a
    /// large batch) or added up (one that fits).
    #[test]
    fn a_batch_hands_out_its_lines_as_records() {
        let state = wit::Message::State(wit::StreamState {
            stream: "s".into(),
            data: "{}".into(),
        });
        let input = vec![
            record("s", "{\"a\":1}"),
            records("s", "{\"b\":2}\n{\"c\":3}\n"),
            state,
            records("t", "{\"d\":4}\n\n{\"e\":5}"),
            records("s", ""),
            records("s", "\n"),
        ];
        let want = [
            ("s", "{\"a\":1}"),
            ("s", "{\"b\":2}"),
            ("s", "{\"c\":3}"),
            ("t", "{\"d\":4}"),
            ("t", ""),
            ("t", "{\"e\":5}"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(s, d)| (s.to_string(), d.to_string()))
            .collect();
        // Each record: its text and its stream's name; the state likewise.
        let expected_bytes: u64 = want
            .iter()
            .map(|(s, d)| (s.len() + d.len()) as u64)
            .sum::<u64>()
            + 3;
        for max_bytes in [1 << 20, 10] {
            let checked = checked_batch(input.clone(), 100, max_bytes).unwrap();
            assert_eq!(lines(&checked.batch), want, "max {max_bytes}");
            assert_eq!(checked.batch.len(), 7, "6 records and a state");
            assert_eq!(checked.batch.messages().count(), 7);
            assert_eq!(checked.bytes, expected_bytes, "max {max_bytes}");
            assert!(checked.oversized.is_none(), "max {max_bytes}");
        }
    }

    /// Each record of a batch is held to the message size limit on its own;
    /// more records than asked for, and data that is not UTF-8, are refused.
    #[test]
    fn a_batch_is_held_to_the_limits_record_by_record() {
        // `{"long":1}` and the stream's name `s`: 11 bytes.
        let checked = checked_batch(vec![records("s", "{}\n{\"long\":1}\n{}")], 100, 10).unwrap();
        assert_eq!(
            checked.oversized,
            Some((11, "a record of stream `s`".to_string()))
        );
        let checked = checked_batch(vec![records("s", "{}\n{\"long\":1}\n{}")], 100, 11).unwrap();
        assert_eq!(checked.oversized, None);

        let many = checked_batch(vec![records("s", "{}\n{}\n{}")], 2, 100);
        assert!(
            matches!(&many, Err(PluginError::MalformedMessage { problem, .. }) if problem.contains("returned 3 messages")),
            "{:?}",
            many.err()
        );
        let mut bad = b"{}\n{\"x\":\"".to_vec();
        bad.extend([0xff, b'"', b'}']);
        let not_utf8 = checked_batch(
            vec![wit::Message::Records(wit::RecordBatch {
                stream: "s".into(),
                data: bad,
                emitted_at: 0,
            })],
            100,
            100,
        );
        assert!(
            matches!(&not_utf8, Err(PluginError::MalformedMessage { problem, .. }) if problem.contains("not UTF-8 at byte 9 (line 2, the record at index 1")),
            "{:?}",
            not_utf8.err()
        );
    }
}
