//! The messages of a read.

use serde::Serialize;

use crate::{Error, LogLevel, StreamStatus, wit};

/// One message of a read.
#[derive(Debug, Clone)]
pub enum Message {
    /// `data` is the record as JSON object text.
    Record {
        stream: String,
        data: String,
        emitted_at: i64,
    },
    /// Records of one stream in one message: `data` holds one JSON object
    /// per line (UTF-8). The host reads it as that many `Record`s with one
    /// `emitted_at`. [`Message::records`] makes it; there is no need to:
    /// the reader sends consecutive `Record`s of a stream with one
    /// `emitted_at` this way itself.
    Records {
        stream: String,
        data: Vec<u8>,
        emitted_at: i64,
    },
    State {
        stream: String,
        data: String,
    },
    Log {
        level: LogLevel,
        message: String,
    },
    StreamStatus {
        stream: String,
        status: StreamStatus,
    },
    Error {
        stream: Option<String>,
        error: Error,
    },
}

/// Every constructor returns a `Message`, so a read's messages go into one
/// `Vec` or iterator without `?` here and there. A value that cannot be
/// serialized (a map with non-string keys, a failing `Serialize`) becomes
/// [`Message::error`] for its stream: a bug ctest then reports.
impl Message {
    /// A record from any serializable value (normally a struct or a JSON object).
    pub fn record(stream: &str, data: &impl Serialize, emitted_at: i64) -> Self {
        match serde_json::to_string(data) {
            Ok(data) => Message::Record {
                stream: stream.to_string(),
                data,
                emitted_at,
            },
            Err(e) => unserializable(stream, "a record", e),
        }
    }
    /// Several records of `stream` as one `Records` message (JSON lines).
    pub fn records<T: Serialize>(stream: &str, records: &[T], emitted_at: i64) -> Self {
        let mut data = Vec::new();
        for record in records {
            if !data.is_empty() {
                data.push(b'\n');
            }
            if let Err(e) = serde_json::to_writer(&mut data, record) {
                return unserializable(stream, "a record", e);
            }
        }
        Message::Records {
            stream: stream.to_string(),
            data,
            emitted_at,
        }
    }
    /// The state of `stream` after the records emitted so far. ctest's
    /// incremental suite finds the cursor in it at the cursor's path
    /// (`{"updated_at": ...}` for cursor `updated_at`).
    pub fn state(stream: &str, state: &impl Serialize) -> Self {
        match serde_json::to_string(state) {
            Ok(data) => Message::State {
                stream: stream.to_string(),
                data,
            },
            Err(e) => unserializable(stream, "the state", e),
        }
    }
    /// `stream` failed; the read goes on with the other streams (see
    /// [`Error`] for when to end the whole read instead).
    pub fn error(stream: &str, error: Error) -> Self {
        Message::Error {
            stream: Some(stream.to_string()),
            error,
        }
    }
    pub fn status(stream: &str, status: StreamStatus) -> Self {
        Message::StreamStatus {
            stream: stream.to_string(),
            status,
        }
    }
    pub fn log(level: LogLevel, message: impl Into<String>) -> Self {
        Message::Log {
            level,
            message: message.into(),
        }
    }
}

fn unserializable(stream: &str, what: &str, e: serde_json::Error) -> Message {
    Message::error(
        stream,
        Error::system(format!("cannot serialize {what} of `{stream}`: {e}")),
    )
}

impl From<Message> for wit::Message {
    fn from(m: Message) -> Self {
        match m {
            Message::Record {
                stream,
                data,
                emitted_at,
            } => wit::Message::Record(wit::RecordMessage {
                stream,
                data,
                emitted_at,
            }),
            Message::Records {
                stream,
                data,
                emitted_at,
            } => wit::Message::Records(wit::RecordBatch {
                stream,
                data,
                emitted_at,
            }),
            Message::State { stream, data } => {
                wit::Message::State(wit::StreamState { stream, data })
            }
            Message::Log { level, message } => {
                wit::Message::Log(wit::LogMessage { level, message })
            }
            Message::StreamStatus { stream, status } => {
                wit::Message::Trace(wit::TraceMessage::StreamStatus(wit::StreamStatusTrace {
                    stream,
                    status,
                }))
            }
            Message::Error { stream, error } => {
                wit::Message::Trace(wit::TraceMessage::Error(wit::ErrorTrace {
                    stream,
                    error: error.into(),
                }))
            }
        }
    }
}

/// The current time in milliseconds since the Unix epoch, for `emitted_at`.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FailureType;
    use std::collections::BTreeMap;

    /// A value serde_json cannot serialize (a map with non-string keys)
    /// becomes an error message for its stream, naming what failed.
    #[test]
    fn an_unserializable_value_is_an_error_of_its_stream() {
        let bad: BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into();
        for (message, what) in [
            (Message::record("s", &bad, 7), "a record"),
            (
                Message::records("s", std::slice::from_ref(&bad), 7),
                "a record",
            ),
            (Message::state("s", &bad), "the state"),
        ] {
            match message {
                Message::Error {
                    stream: Some(stream),
                    error,
                } => {
                    assert_eq!(stream, "s");
                    assert!(matches!(error.failure_type, FailureType::SystemError));
                    assert!(
                        error
                            .message
                            .starts_with(&format!("cannot serialize {what} of `s`: ")),
                        "{}",
                        error.message
                    );
                }
                other => panic!("expected an error message, got {other:?}"),
            }
        }
        assert!(matches!(
            Message::record("s", &serde_json::json!({"n": 1}), 7),
            Message::Record { .. }
        ));
    }
}
