//! A YAML document as a tree of nodes that know their line and column, so
//! that the reader ([`super::reader`]) can report every mistake of a file at
//! its place, and interpret scalars by what the key expects (`yes` is a
//! boolean where one is expected, as YAML 1.1 and Airbyte's PyYAML read it,
//! and a string elsewhere).
//!
//! A test configuration is the tenant's input: the tree has bounds. The text
//! is at most [`MAX_BYTES`], the tree at most [`MAX_NODES`] nodes (aliases
//! count the nodes they repeat, so a "billion laughs" document is refused
//! after a few), and at most [`MAX_DEPTH`] levels deep.

use saphyr_parser::{Event, Parser, ScalarStyle};

/// The largest test configuration read (real ones are a few KiB).
pub const MAX_BYTES: usize = 4 << 20;
/// The most nodes a document may have, aliases expanded.
pub const MAX_NODES: usize = 200_000;
/// The deepest nesting of collections.
pub const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// From 1.
    pub line: usize,
    /// From 1.
    pub column: usize,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `plain`: written without quotes or a block indicator, and without a
    /// tag, so its type is decided by what it says (`true`, `3`, `~`).
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    /// In the file's order; duplicate keys are kept for the reader to report.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The scalar's text, when this is a scalar.
    pub fn text(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// A plain `~`, `null`, or nothing at all.
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { text, plain: true }
            if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// What it is, for messages: "a list", "a map", "the text `x`".
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Seq(_) => "a list".into(),
            Kind::Map(_) => "a map".into(),
            Kind::Scalar { .. } if self.is_null() => "nothing (null)".into(),
            Kind::Scalar { text, .. } => {
                let shown: String = text.chars().take(60).collect();
                let more = if shown.len() < text.len() { "…" } else { "" };
                format!("`{}{more}`", shown.escape_debug())
            }
        }
    }
}

/// A document that is not YAML, or is past the bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Parses the first document of `text`. An empty document is an empty map.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    if text.len() > MAX_BYTES {
        return Err(SyntaxError {
            line: 1,
            column: 1,
            message: format!(
                "the file is {} bytes, more than the {MAX_BYTES} a test configuration may have",
                text.len()
            ),
        });
    }
    let mut builder = Builder::default();
    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| SyntaxError {
            line: e.marker().line(),
            column: e.marker().col() + 1,
            message: format!("not valid YAML: {}", e.info()),
        })?;
        let (line, column) = (span.start.line(), span.start.col() + 1);
        if let Some(done) = builder.event(event, line, column)? {
            return Ok(done);
        }
    }
    Ok(builder.finished.unwrap_or(Node {
        line: 1,
        column: 1,
        kind: Kind::Map(Vec::new()),
    }))
}

/// A collection being built: its node, the anchor it is to be kept under,
/// and for a map a key waiting for its value.
struct Open {
    node: Node,
    anchor: usize,
    key: Option<Node>,
}

#[derive(Default)]
struct Builder {
    stack: Vec<Open>,
    anchors: std::collections::HashMap<usize, Node>,
    nodes: usize,
    finished: Option<Node>,
}

impl Builder {
    /// Takes one event; the whole document once it is complete.
    fn event(
        &mut self,
        event: Event<'_>,
        line: usize,
        column: usize,
    ) -> Result<Option<Node>, SyntaxError> {
        let too_big = |message: String| SyntaxError {
            line,
            column,
            message,
        };
        match event {
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                if self.stack.len() >= MAX_DEPTH {
                    return Err(too_big(format!(
                        "nested more than {MAX_DEPTH} levels deep; a test configuration needs a few"
                    )));
                }
                let kind = if matches!(event, Event::MappingStart(..)) {
                    Kind::Map(Vec::new())
                } else {
                    Kind::Seq(Vec::new())
                };
                self.count(1, line, column)?;
                self.stack.push(Open {
                    node: Node { line, column, kind },
                    anchor,
                    key: None,
                });
                Ok(None)
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let open = self.stack.pop().expect("the parser pairs starts and ends");
                if open.anchor > 0 {
                    self.anchors.insert(open.anchor, open.node.clone());
                }
                Ok(self.add(open.node))
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.count(1, line, column)?;
                let node = Node {
                    line,
                    column,
                    kind: Kind::Scalar {
                        text: text.into_owned(),
                        plain: style == ScalarStyle::Plain && tag.is_none(),
                    },
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                Ok(self.add(node))
            }
            Event::Alias(anchor) => {
                let Some(node) = self.anchors.get(&anchor).cloned() else {
                    return Err(too_big("an alias to an unknown anchor".into()));
                };
                self.count(size(&node), line, column)?;
                Ok(self.add(Node {
                    line,
                    column,
                    ..node
                }))
            }
            Event::DocumentEnd => Ok(Some(self.finished.take().unwrap_or(Node {
                line: 1,
                column: 1,
                kind: Kind::Map(Vec::new()),
            }))),
            _ => Ok(None),
        }
    }

    fn count(&mut self, more: usize, line: usize, column: usize) -> Result<(), SyntaxError> {
        self.nodes = self.nodes.saturating_add(more);
        if self.nodes > MAX_NODES {
            return Err(SyntaxError {
                line,
                column,
                message: format!(
                    "more than {MAX_NODES} values (aliases counted as what they repeat); a test configuration needs far fewer"
                ),
            });
        }
        Ok(())
    }

    /// Puts a finished node into its parent; the root is kept as finished.
    fn add(&mut self, node: Node) -> Option<Node> {
        let Some(parent) = self.stack.last_mut() else {
            self.finished = Some(node);
            return None;
        };
        match &mut parent.node.kind {
            Kind::Seq(items) => items.push(node),
            Kind::Map(entries) => match parent.key.take() {
                None => parent.key = Some(node),
                Some(key) => entries.push((key, node)),
            },
            Kind::Scalar { .. } => unreachable!("scalars are never open"),
        }
        None
    }
}

/// The nodes in a tree.
fn size(node: &Node) -> usize {
    match &node.kind {
        Kind::Scalar { .. } => 1,
        Kind::Seq(items) => 1 + items.iter().map(size).sum::<usize>(),
        Kind::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| size(k) + size(v))
                .sum::<usize>()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(node: &Node) -> (&str, bool) {
        match &node.kind {
            Kind::Scalar { text, plain } => (text, *plain),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn nodes_know_their_place_and_style() {
        let doc = parse("a: 1\nb:\n  - 'x'\n  - yes\nc: {d: ~}\n").unwrap();
        let Kind::Map(entries) = &doc.kind else {
            panic!()
        };
        assert_eq!(entries.len(), 3);
        assert_eq!((entries[0].1.line, entries[0].1.column), (1, 4));
        let Kind::Seq(items) = &entries[1].1.kind else {
            panic!()
        };
        assert_eq!(scalar(&items[0]), ("x", false));
        assert_eq!(scalar(&items[1]), ("yes", true));
        assert_eq!((items[1].line, items[1].column), (4, 5));
        let Kind::Map(inner) = &entries[2].1.kind else {
            panic!()
        };
        assert!(inner[0].1.is_null());
        assert_eq!(parse("").unwrap().kind, Kind::Map(Vec::new()));
        assert_eq!(
            parse("# only a comment\n").unwrap().kind,
            Kind::Map(Vec::new())
        );
    }

    #[test]
    fn aliases_repeat_their_anchor() {
        let doc = parse("base: &b {x: 1}\nother: *b\n").unwrap();
        let Kind::Map(entries) = &doc.kind else {
            panic!()
        };
        assert_eq!(entries[0].1.kind, entries[1].1.kind);
        assert_eq!(entries[1].1.line, 2);
    }

    /// Hostile documents: an alias bomb, deep nesting, a huge file, broken
    /// syntax. Each is an error at a place, never a hang or a crash.
    #[test]
    fn hostile_documents_are_refused_at_a_place() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (i, prev) in ('b'..='k').zip('a'..) {
            bomb.push_str(&format!(
                "{i}: &{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        let e = parse(&bomb).unwrap_err();
        assert!(e.message.contains("more than 200000 values"), "{e:?}");

        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let e = parse(&deep).unwrap_err();
        assert!(
            e.message.contains("nested more than 64") || e.message.contains("recursion limit"),
            "{e:?}"
        );
        let deep_maps = format!("{}{}", "{a: ".repeat(100), "}".repeat(100));
        let e = parse(&deep_maps).unwrap_err();
        assert!(e.message.contains("nested more than 64"), "{e:?}");

        let huge = "#".repeat(MAX_BYTES + 1);
        assert!(parse(&huge).unwrap_err().message.contains("bytes"));

        let e = parse("a: [1, 2\nb: c\n").unwrap_err();
        assert!(e.message.starts_with("not valid YAML"), "{e:?}");
        assert!(e.line >= 1);
    }
}
