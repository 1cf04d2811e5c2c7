//! Logging into the test's log, which ctest captures into its report.

use crate::{LogLevel, host};

pub fn debug(message: &str) {
    host::log(LogLevel::Debug, message);
}
pub fn info(message: &str) {
    host::log(LogLevel::Info, message);
}
pub fn warn(message: &str) {
    host::log(LogLevel::Warn, message);
}
pub fn error(message: &str) {
    host::log(LogLevel::Error, message);
}
