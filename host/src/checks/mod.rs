//! Checks, apart from the suites that run them: what a verdict is, the
//! checks of a read's messages ([`records`]) and the rules every read keeps
//! ([`rules`]). The suites use them now; a scenario runner can use them the
//! same way.

pub mod records;
pub mod rules;

/// The verdict of a test body.
pub enum Verdict {
    Pass,
    Fail(String),
    Skip(String),
}

/// Examples of a problem shown in a failure message.
pub const EXAMPLES: usize = 3;
