//! The machinery behind [`export_connector!`](crate::export_connector); not for direct use.

use std::cell::RefCell;
use std::collections::BTreeMap;

use crate::{
    CheckOutcome, ConfiguredCatalog, Connector, Error, LogLevel, Message, Messages, State,
    bindings, host, wit,
};

pub use bindings::exports::ctest::connector::source::{Guest, GuestReader, Reader};

/// Sends a panic's message to the host as a fatal log line: a trap alone
/// carries no message.
pub fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            host::log(LogLevel::Fatal, &format!("connector panicked: {info}"));
        }));
    });
}

fn parse_config<C: Connector>(config: &str) -> Result<C::Config, String> {
    serde_json::from_str(config).map_err(|e| format!("the config is not valid: {e}"))
}

pub fn spec<C: Connector>() -> wit::ConnectorSpec {
    install_panic_hook();
    let s = C::spec();
    wit::ConnectorSpec {
        name: s.name,
        version: s.version,
        connection_specification: s.connection_specification.to_string(),
        allowed_hosts: s.allowed_hosts,
        features: s.features,
        documentation_url: s.documentation_url,
    }
}

pub fn check<C: Connector>(config: String) -> Result<CheckOutcome, wit::ConnectorError> {
    install_panic_hook();
    match parse_config::<C>(&config) {
        Err(message) => Ok(CheckOutcome::Failed(message)),
        Ok(config) => C::check(config).map_err(Into::into),
    }
}

pub fn discover<C: Connector>(config: String) -> Result<wit::Catalog, wit::ConnectorError> {
    install_panic_hook();
    let config = parse_config::<C>(&config).map_err(Error::config)?;
    let streams = C::discover(config)?;
    Ok(wit::Catalog {
        streams: streams
            .into_iter()
            .map(|s| wit::StreamInfo {
                name: s.name,
                json_schema: s.json_schema.to_string(),
                supported_sync_modes: s.supported_sync_modes,
                source_defined_cursor: s.source_defined_cursor,
                default_cursor_field: s.default_cursor_field,
                source_defined_primary_key: s.primary_key,
                ingestion_type: s.ingestion_type,
            })
            .collect(),
    })
}

pub fn read<C: Connector>(
    config: String,
    catalog: ConfiguredCatalog,
    state: Vec<wit::StreamState>,
) -> Result<Reader, wit::ConnectorError> {
    install_panic_hook();
    let config = parse_config::<C>(&config).map_err(Error::config)?;
    let mut streams = BTreeMap::new();
    for s in state {
        let value = serde_json::from_str(&s.data).map_err(|e| {
            Error::config(format!(
                "the state of stream `{}` is not JSON: {e}",
                s.stream
            ))
        })?;
        streams.insert(s.stream, value);
    }
    let messages = C::read(config, catalog, State { streams })?;
    Ok(Reader::new(MessageReader {
        messages: RefCell::new(Some(messages)),
        carry: RefCell::new(None),
    }))
}

/// The `reader` resource: pulls batches from the connector's iterator.
pub struct MessageReader {
    /// `None` once the iterator is exhausted or failed.
    messages: RefCell<Option<Messages>>,
    /// The rest of a `Records` message that did not fit in the last call.
    carry: RefCell<Option<Message>>,
}

/// The records a `Records` message holds (its lines; an empty batch counts
/// as one message).
fn records_in(data: &[u8]) -> usize {
    let data = data.strip_suffix(b"\n").unwrap_or(data);
    data.iter().filter(|b| **b == b'\n').count() + 1
}

/// How large a `records` message of joined records grows before the next
/// record starts another (see the host's BENCHMARKS.md: a buffer of a whole
/// batch, hundreds of KiB, costs the host's allocator more memory).
const JOINED_BYTES: usize = 16 << 10;

/// Whether a record may travel as a line of a `records` message: one line
/// of text (serde_json's compact output always is). An empty record or one
/// with a line break goes as it is, for the host to judge.
fn fits_a_line(data: &str) -> bool {
    !data.is_empty() && !data.contains('\n')
}

impl GuestReader for MessageReader {
    /// Up to `max` messages, a `Records` message counting as its records:
    /// one too large for the room left is cut at a line, and the rest
    /// opens the next call. Consecutive `Record`s of one stream with one
    /// `emitted_at` go as the lines of one `records` message, which the
    /// host reads as those records: it takes one buffer across instead of
    /// two strings a record.
    fn next(&self, max: u32) -> Result<Vec<wit::Message>, wit::ConnectorError> {
        let mut carry = self.carry.borrow_mut();
        let mut slot = self.messages.borrow_mut();
        if carry.is_none() && slot.is_none() {
            return Ok(Vec::new());
        }
        let mut room = max as usize;
        let mut batch = Vec::with_capacity(max.min(4096) as usize);
        // Whether the batch's last message is a `records` message this call
        // is joining records into.
        let mut joining = false;
        while room > 0 {
            let next = match carry.take() {
                Some(m) => Some(Ok(m)),
                None => match slot.as_mut() {
                    Some(messages) => messages.next(),
                    None => None,
                },
            };
            match next {
                Some(Ok(Message::Records {
                    stream,
                    mut data,
                    emitted_at,
                })) => {
                    let records = records_in(&data);
                    if records > room {
                        // Cut after the `room`-th line.
                        let cut = data
                            .iter()
                            .enumerate()
                            .filter(|(_, b)| **b == b'\n')
                            .nth(room - 1)
                            .map_or(data.len(), |(i, _)| i + 1);
                        let rest = data.split_off(cut);
                        *carry = Some(Message::Records {
                            stream: stream.clone(),
                            data: rest,
                            emitted_at,
                        });
                        room = 0;
                    } else {
                        room -= records;
                    }
                    joining = false;
                    batch.push(
                        Message::Records {
                            stream,
                            data,
                            emitted_at,
                        }
                        .into(),
                    );
                }
                Some(Ok(Message::Record {
                    stream,
                    data,
                    emitted_at,
                })) if fits_a_line(&data) => {
                    room -= 1;
                    match batch.last_mut() {
                        Some(wit::Message::Records(last))
                            if joining
                                && last.stream == stream
                                && last.emitted_at == emitted_at
                                && last.data.len() < JOINED_BYTES =>
                        {
                            last.data.push(b'\n');
                            last.data.extend_from_slice(data.as_bytes());
                        }
                        _ => {
                            batch.push(wit::Message::Records(wit::RecordBatch {
                                stream,
                                data: data.into_bytes(),
                                emitted_at,
                            }));
                            joining = true;
                        }
                    }
                }
                Some(Ok(m)) => {
                    room -= 1;
                    joining = false;
                    batch.push(m.into());
                }
                Some(Err(e)) => {
                    *slot = None;
                    if batch.is_empty() {
                        return Err(e.into());
                    }
                    // Deliver what came before the error; the error ends the read
                    // as a trace, the way the Airbyte protocol reports it.
                    batch.push(
                        Message::Error {
                            stream: None,
                            error: e,
                        }
                        .into(),
                    );
                    return Ok(batch);
                }
                None => {
                    *slot = None;
                    break;
                }
            }
        }
        Ok(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StreamStatus;

    /// What each `next(max)` call returned: (records counted as the host
    /// counts them, the records' JSON texts, the other messages).
    fn calls(messages: Vec<Message>, max: u32) -> Vec<(usize, Vec<String>, usize)> {
        let reader = MessageReader {
            messages: RefCell::new(Some(Box::new(messages.into_iter().map(Ok)))),
            carry: RefCell::new(None),
        };
        let mut calls = Vec::new();
        loop {
            let batch = reader.next(max).unwrap();
            if batch.is_empty() {
                return calls;
            }
            let (mut counted, mut records, mut others) = (0, Vec::new(), 0);
            for m in batch {
                match m {
                    wit::Message::Records(r) => {
                        let text = String::from_utf8(r.data).unwrap();
                        let lines: Vec<String> = text
                            .strip_suffix('\n')
                            .unwrap_or(&text)
                            .split('\n')
                            .map(String::from)
                            .collect();
                        counted += lines.len();
                        records.extend(lines);
                    }
                    _ => {
                        counted += 1;
                        others += 1;
                    }
                }
            }
            calls.push((counted, records, others));
        }
    }

    #[test]
    fn a_records_message_larger_than_the_room_left_is_cut_at_a_line() {
        let rows: Vec<serde_json::Value> =
            (1..=10).map(|n| serde_json::json!({ "n": n })).collect();
        let messages = vec![
            Message::status("s", StreamStatus::Started),
            Message::records("s", &rows, 7),
            Message::state("s", &serde_json::json!({ "n": 10 })),
        ];
        let calls = calls(messages, 4);
        // 1 status + 3 records; 4 records; 3 records + 1 state.
        let counted: Vec<usize> = calls.iter().map(|c| c.0).collect();
        assert_eq!(counted, [4, 4, 4]);
        let records: Vec<String> = calls.iter().flat_map(|c| c.1.clone()).collect();
        let expected: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
        assert_eq!(records, expected);
        let others: Vec<usize> = calls.iter().map(|c| c.2).collect();
        assert_eq!(others, [1, 0, 1]);
    }

    /// Consecutive records of one stream and `emitted_at` travel as one
    /// `records` message; another stream, another time, any other message,
    /// an empty record or one with a line break start anew (the last two on
    /// their own, as `record` messages).
    #[test]
    fn consecutive_records_travel_as_one_batch() {
        let record = |stream: &str, n: u64, at: i64| {
            Message::record(stream, &serde_json::json!({ "n": n }), at)
        };
        let raw = |data: &str| Message::Record {
            stream: "a".into(),
            data: data.into(),
            emitted_at: 1,
        };
        let reader = MessageReader {
            messages: RefCell::new(Some(Box::new(
                vec![
                    record("a", 1, 1),
                    record("a", 2, 1),
                    record("b", 3, 1),
                    record("b", 4, 2),
                    record("b", 5, 2),
                    Message::state("b", &serde_json::json!({ "n": 5 })),
                    record("b", 6, 2),
                    raw(""),
                    raw("{\n}"),
                    record("a", 7, 1),
                ]
                .into_iter()
                .map(Ok),
            ))),
            carry: RefCell::new(None),
        };
        let batch = reader.next(100).unwrap();
        let shapes: Vec<String> = batch
            .iter()
            .map(|m| match m {
                wit::Message::Records(r) => format!(
                    "{}@{}:{}",
                    r.stream,
                    r.emitted_at,
                    String::from_utf8(r.data.clone()).unwrap()
                ),
                wit::Message::Record(r) => format!("record:{:?}", r.data),
                wit::Message::State(_) => "state".into(),
                _ => "other".into(),
            })
            .collect();
        assert_eq!(
            shapes,
            [
                "a@1:{\"n\":1}\n{\"n\":2}",
                "b@1:{\"n\":3}",
                "b@2:{\"n\":4}\n{\"n\":5}",
                "state",
                "b@2:{\"n\":6}",
                "record:\"\"",
                "record:\"{\\n}\"",
                "a@1:{\"n\":7}",
            ]
        );
        // Counted as the host counts: one a record; the room is kept.
        let calls = calls(
            (1..=10)
                .map(|n| record("a", n, 1))
                .collect::<Vec<Message>>(),
            4,
        );
        let counted: Vec<usize> = calls.iter().map(|c| c.0).collect();
        assert_eq!(counted, [4, 4, 2]);
        // A joined message stops growing past `JOINED_BYTES`: the record
        // that finds it full starts the next one.
        let large = "x".repeat(JOINED_BYTES / 3);
        let reader = MessageReader {
            messages: RefCell::new(Some(Box::new(
                (0..7)
                    .map(|_| Ok(Message::record("a", &large, 1)))
                    .collect::<Vec<_>>()
                    .into_iter(),
            ))),
            carry: RefCell::new(None),
        };
        let sizes: Vec<usize> = reader
            .next(100)
            .unwrap()
            .iter()
            .map(|m| match m {
                wit::Message::Records(r) => r.data.split(|b| *b == b'\n').count(),
                _ => 0,
            })
            .collect();
        assert_eq!(sizes, [3, 3, 1]);
        let records: Vec<String> = calls.iter().flat_map(|c| c.1.clone()).collect();
        let expected: Vec<String> = (1..=10).map(|n| format!("{{\"n\":{n}}}")).collect();
        assert_eq!(records, expected);
    }

    #[test]
    fn a_records_message_that_fits_goes_whole() {
        let rows: Vec<serde_json::Value> = (1..=3).map(|n| serde_json::json!({ "n": n })).collect();
        let calls = calls(vec![Message::records("s", &rows, 7)], 1024);
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].0, 3);
    }
}
