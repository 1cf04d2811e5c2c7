//! The error that stops an operation.

use crate::{FailureType, wit};

/// An error that stops an operation.
///
/// Three ways to say something went wrong in a read, by how much stops:
/// - return `Err(error)` from `read`, or yield an `Err` item: the whole read
///   ends (after the messages before it). For what nothing can go on from:
///   a wrong config, a refused key, a bug.
/// - yield [`Message::error`](crate::Message::error)`(stream, error)`: that
///   stream failed, the read goes on with the others. ctest fails the read's
///   tests with the error.
/// - yield [`Message::status`](crate::Message::status)`(stream,
///   StreamStatus::Incomplete)`: the stream stopped early without a fault
///   (a limit reached); its last state says where a next read resumes.
///
/// `?` turns a `serde_json::Error` into a system error.
#[derive(Debug, Clone)]
pub struct Error {
    pub message: String,
    pub internal_message: Option<String>,
    pub failure_type: FailureType,
}

impl Error {
    /// A bug or unexpected condition in the connector.
    pub fn system(message: impl Into<String>) -> Self {
        Self::new(FailureType::SystemError, message)
    }
    /// The user's config is wrong.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(FailureType::ConfigError, message)
    }
    /// A passing fault; retrying may help.
    pub fn transient(message: impl Into<String>) -> Self {
        Self::new(FailureType::TransientError, message)
    }
    fn new(failure_type: FailureType, message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            internal_message: None,
            failure_type,
        }
    }
    /// Adds detail for the connector's author.
    pub fn with_internal(mut self, detail: impl Into<String>) -> Self {
        self.internal_message = Some(detail.into());
        self
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<Error> for wit::ConnectorError {
    fn from(e: Error) -> Self {
        wit::ConnectorError {
            message: e.message,
            internal_message: e.internal_message,
            failure_type: e.failure_type,
        }
    }
}

impl std::error::Error for Error {}

/// JSON that does not parse or serialize: a system error (a config that does
/// not parse never gets here: the SDK answers a config error for it).
impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::system(format!("JSON: {e}"))
    }
}
