//! Checks, apart from the suites that run them: what a verdict is, the
//! checks of a read's messages ([`records`]) and the rules every read keeps
//! ([`rules`]). The suites use them now; a scenario runner can use them the
//! same way.

pub(crate) mod doc;
pub mod records;
pub mod rules;

/// The verdict of a test body.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Pass,
    Fail(Failure),
    /// Skipped, for this reason.
    Skip(String),
}

impl Verdict {
    /// A failure, from structured data or from a message.
    pub fn fail(failure: impl Into<Failure>) -> Verdict {
        Verdict::Fail(failure.into())
    }
}

/// Examples of a problem shown in a failure message.
pub const EXAMPLES: usize = 3;

/// A failed check, as data: what was expected and what came instead, the
/// problems found (the first few, and how many more), and the fix. Reporters
/// render it; [`Failure::message`] is its text form, the one the console,
/// JSON and JUnit reports carry.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Failure {
    /// What the test expected, and what came instead.
    pub expected: String,
    /// The problems found, each a line naming its place (stream, record
    /// index, JSON path): the first [`EXAMPLES`] or so.
    pub problems: Vec<String>,
    /// How many problems were found beyond those listed.
    pub more: u64,
    /// What to change, when ctest can tell from the cause.
    pub fix: Option<String>,
}

impl Failure {
    /// A failure that says what was expected and what came.
    pub fn new(expected: impl Into<String>) -> Failure {
        Failure {
            expected: expected.into(),
            ..Failure::default()
        }
    }

    /// A failure listing `count` problems: `examples` are the first few.
    /// `expected` says what was expected; the count follows it.
    pub fn with_problems(
        expected: &str,
        count: u64,
        examples: Vec<String>,
        fix: impl Into<String>,
    ) -> Failure {
        Failure {
            expected: format!("{expected}; {count} problem(s):"),
            more: count.saturating_sub(examples.len() as u64),
            problems: examples,
            fix: Some(fix.into()),
        }
    }

    /// The failure as text: what was expected, each problem on its own
    /// indented line, then `fix: ...` on the last line.
    pub fn message(&self) -> String {
        let mut text = self.expected.clone();
        for problem in &self.problems {
            text.push_str("\n  ");
            text.push_str(problem);
        }
        if self.more > 0 {
            text.push_str(&format!("\n  ... and {} more", self.more));
        }
        if let Some(fix) = &self.fix {
            text.push_str("\nfix: ");
            text.push_str(fix);
        }
        text
    }

    /// Each part of the failure mapped by `f` (to mask secrets, to clip).
    pub fn map(&self, mut f: impl FnMut(&str) -> String) -> Failure {
        Failure {
            expected: f(&self.expected),
            problems: self.problems.iter().map(|p| f(p)).collect(),
            more: self.more,
            fix: self.fix.as_deref().map(f),
        }
    }
}

/// A failure from its message: a last line that starts with `fix: ` is its
/// fix, the rest what was expected and what came. The text form of the
/// result is the message, exactly.
impl From<String> for Failure {
    fn from(message: String) -> Failure {
        match message.rfind("\nfix: ") {
            Some(at) => Failure {
                expected: message[..at].to_string(),
                fix: Some(message[at + "\nfix: ".len()..].to_string()),
                ..Failure::default()
            },
            None => Failure::new(message),
        }
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Failure {
        Failure::from(message.to_string())
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_renders_what_was_expected_the_problems_and_the_fix() {
        let f = Failure::with_problems(
            "expected every record to be valid",
            5,
            vec!["record index 3 of stream `users` at `/age`".into()],
            "emit integers",
        );
        assert_eq!(
            f.message(),
            "expected every record to be valid; 5 problem(s):\n  record index 3 of stream `users` at `/age`\n  ... and 4 more\nfix: emit integers"
        );
        assert_eq!(Failure::new("expected a spec").message(), "expected a spec");
    }

    #[test]
    fn a_message_becomes_a_failure_with_its_fix_and_renders_as_it_was() {
        for message in [
            "expected x; got y\nfix: do z",
            "expected x; got y",
            "a\nfix: first\nthe test then failed: b\nfix: second",
            "expected x; fix: inline is not a fix line",
        ] {
            let f = Failure::from(message);
            assert_eq!(f.message(), message);
        }
        let f = Failure::from("expected x; got y\nfix: do z");
        assert_eq!(
            (f.expected.as_str(), f.fix.as_deref()),
            ("expected x; got y", Some("do z"))
        );
    }
}
