//! A record parsed once into flat storage that the next record reuses, and
//! the view of a JSON tree ([`Tree`]) the checks read records through.
//!
//! Parsing a record into a `serde_json::Value` allocates a string for every
//! key and text value and a map node for every few fields, and frees them
//! all again: that was most of the checking thread's time on a read. A
//! [`Doc`] parses with the same parser (so the same texts are JSON, with the
//! same numbers, the same nesting limit and the same errors) into a few
//! vectors kept from record to record: strings stay where they are in the
//! record's text unless they hold escapes, and each object's fields are
//! stored sorted by name, a repeated name keeping its last value, as a
//! `serde_json::Map` keeps them. jsonschema validates it in place
//! ([`DocJson`]), and the checks walk, hash and look into it through
//! [`Tree`], which `&Value` implements too, so both give the same answers.

use std::borrow::Cow;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};

/// A string of a record: in the record's text, or (holding escapes) in the
/// document's own buffer.
#[derive(Clone, Copy)]
struct Span {
    start: u32,
    len: u32,
    owned: bool,
}

enum Slot {
    Null,
    Bool(bool),
    Number(Number),
    Str(Span),
    /// Items `start..start + len` of [`Doc::items`].
    Array {
        start: u32,
        len: u32,
    },
    /// Members `start..start + len` of [`Doc::members`], sorted by name,
    /// each with its name's [`head_of`].
    Object {
        start: u32,
        len: u32,
    },
}

/// Capacity a document keeps between records: slots (and as many items
/// and members), and bytes of unescaped strings. A larger record's storage
/// is freed after it (a plugin's one huge record is not held).
const KEPT_SLOTS: usize = 1 << 16;
const KEPT_BYTES: usize = 1 << 20;

/// A parsed record's storage, reused from record to record.
#[derive(Default)]
pub(crate) struct Doc {
    slots: Vec<Slot>,
    items: Vec<u32>,
    members: Vec<(Span, u32, u64)>,
    /// The strings that held escapes, unescaped.
    owned: String,
    /// Children of the arrays and objects being parsed (a stack: a nested
    /// value's are taken off before its parent goes on).
    pending_items: Vec<u32>,
    /// With each name's first 8 bytes as a number, which orders most names
    /// without comparing their text.
    pending_members: Vec<(Span, u32, u64)>,
}

impl Doc {
    /// Parses `text` as `serde_json::from_str::<Value>` would, into this
    /// document (what it held before is gone), and returns its root.
    pub(crate) fn parse<'a>(&'a mut self, text: &'a str) -> serde_json::Result<DocRef<'a>> {
        self.clear();
        if u32::try_from(text.len()).is_err() {
            return Err(serde::de::Error::custom(
                "a record of 4 GiB or more is not read",
            ));
        }
        let mut de = serde_json::Deserializer::from_str(text);
        let root = Build { doc: self, text }.deserialize(&mut de)?;
        de.end()?;
        Ok(DocRef {
            doc: self,
            text,
            at: root,
        })
    }

    fn clear(&mut self) {
        let slots = [
            self.slots.capacity(),
            self.items.capacity(),
            self.members.capacity(),
            self.pending_items.capacity(),
            self.pending_members.capacity(),
        ];
        if slots.into_iter().any(|n| n > KEPT_SLOTS) || self.owned.capacity() > KEPT_BYTES {
            *self = Doc::default();
            return;
        }
        self.slots.clear();
        self.items.clear();
        self.members.clear();
        self.owned.clear();
        self.pending_items.clear();
        self.pending_members.clear();
    }

    fn push(&mut self, slot: Slot) -> u32 {
        self.slots.push(slot);
        // Fewer slots than the text has bytes, which fit a u32 (`parse`).
        (self.slots.len() - 1) as u32
    }
}

fn resolve<'a>(text: &'a str, owned: &'a str, span: Span) -> &'a str {
    let source = if span.owned { owned } else { text };
    let (start, len) = (span.start as usize, span.len as usize);
    &source[start..start + len]
}

/// A name's first 8 bytes (zeros past its end) as a big-endian number: two
/// names whose numbers differ order as their numbers do.
pub(crate) fn head_of(name: &str) -> u64 {
    let bytes = name.as_bytes();
    if let Some(head) = bytes.first_chunk::<8>() {
        return u64::from_be_bytes(*head);
    }
    // Shorter: byte by byte (a copy of unknown length would be a call).
    bytes
        .iter()
        .enumerate()
        .fold(0, |head, (i, &b)| head | u64::from(b) << (56 - 8 * i))
}

/// The parser's side: builds slots from what serde_json reads.
struct Build<'d, 't> {
    doc: &'d mut Doc,
    text: &'t str,
}

impl Build<'_, '_> {
    /// Where `s` lies: in the text when serde_json lent it from there, else
    /// copied into the document's buffer.
    fn span(&mut self, s: &str, lent: bool) -> Span {
        let text = self.text.as_bytes().as_ptr_range();
        let at = s.as_ptr();
        if lent && text.start <= at && at as usize + s.len() <= text.end as usize {
            return Span {
                start: (at as usize - text.start as usize) as u32,
                len: s.len() as u32,
                owned: false,
            };
        }
        let start = self.doc.owned.len() as u32;
        self.doc.owned.push_str(s);
        Span {
            start,
            len: s.len() as u32,
            owned: true,
        }
    }
}

impl<'de> DeserializeSeed<'de> for &mut Build<'_, 'de> {
    type Value = u32;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<u32, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for &mut Build<'_, 'de> {
    type Value = u32;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<u32, E> {
        Ok(self.doc.push(Slot::Bool(b)))
    }

    fn visit_i64<E>(self, n: i64) -> Result<u32, E> {
        Ok(self.doc.push(Slot::Number(n.into())))
    }

    fn visit_u64<E>(self, n: u64) -> Result<u32, E> {
        Ok(self.doc.push(Slot::Number(n.into())))
    }

    fn visit_f64<E>(self, n: f64) -> Result<u32, E> {
        // As serde_json's `Value` does: a float with no JSON form is null.
        let slot = Number::from_f64(n).map_or(Slot::Null, Slot::Number);
        Ok(self.doc.push(slot))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<u32, E> {
        let span = self.span(s, true);
        Ok(self.doc.push(Slot::Str(span)))
    }

    fn visit_str<E>(self, s: &str) -> Result<u32, E> {
        let span = self.span(s, false);
        Ok(self.doc.push(Slot::Str(span)))
    }

    fn visit_unit<E>(self) -> Result<u32, E> {
        Ok(self.doc.push(Slot::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<u32, A::Error> {
        let mark = self.doc.pending_items.len();
        while let Some(item) = seq.next_element_seed(&mut *self)? {
            self.doc.pending_items.push(item);
        }
        let doc = &mut *self.doc;
        let start = doc.items.len() as u32;
        doc.items.extend(doc.pending_items.drain(mark..));
        let len = doc.items.len() as u32 - start;
        Ok(doc.push(Slot::Array { start, len }))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<u32, A::Error> {
        let mark = self.doc.pending_members.len();
        while let Some(name) = map.next_key_seed(Name(&mut *self))? {
            let value = map.next_value_seed(&mut *self)?;
            let head = head_of(resolve(self.text, &self.doc.owned, name));
            self.doc.pending_members.push((name, value, head));
        }
        let text = self.text;
        let Doc {
            pending_members,
            members,
            owned,
            slots,
            ..
        } = &mut *self.doc;
        let fields = &mut pending_members[mark..];
        let order = |a: &(Span, u32, u64), b: &(Span, u32, u64)| {
            a.2.cmp(&b.2)
                .then_with(|| resolve(text, owned, a.0).cmp(resolve(text, owned, b.0)))
        };
        // Sorted by name, stably, so that of a repeated name the last
        // comes last and is the one kept, as in a `serde_json::Map`.
        if !fields.is_sorted_by(|a, b| order(a, b).is_lt()) {
            fields.sort_by(order);
        }
        let start = members.len() as u32;
        for i in mark..pending_members.len() {
            let repeated = pending_members
                .get(i + 1)
                .is_some_and(|next| order(next, &pending_members[i]).is_eq());
            if !repeated {
                members.push(pending_members[i]);
            }
        }
        pending_members.truncate(mark);
        let len = members.len() as u32 - start;
        slots.push(Slot::Object { start, len });
        Ok((slots.len() - 1) as u32)
    }
}

/// An object's member name.
struct Name<'b, 'd, 't>(&'b mut Build<'d, 't>);

impl<'de> DeserializeSeed<'de> for Name<'_, '_, 'de> {
    type Value = Span;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Span, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Name<'_, '_, 'de> {
    type Value = Span;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a field name")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Span, E> {
        Ok(self.0.span(s, true))
    }

    fn visit_str<E>(self, s: &str) -> Result<Span, E> {
        Ok(self.0.span(s, false))
    }
}

/// A value of a parsed record.
#[derive(Clone, Copy)]
pub(crate) struct DocRef<'a> {
    doc: &'a Doc,
    text: &'a str,
    at: u32,
}

impl<'a> DocRef<'a> {
    fn slot(self) -> &'a Slot {
        &self.doc.slots[self.at as usize]
    }

    fn str_of(self, span: Span) -> &'a str {
        resolve(self.text, &self.doc.owned, span)
    }

    fn with(self, at: u32) -> DocRef<'a> {
        DocRef { at, ..self }
    }

    fn fields(self) -> &'a [(Span, u32, u64)] {
        match *self.slot() {
            Slot::Object { start, len } => {
                &self.doc.members[start as usize..(start + len) as usize]
            }
            _ => &[],
        }
    }

    fn elements(self) -> &'a [u32] {
        match *self.slot() {
            Slot::Array { start, len } => &self.doc.items[start as usize..(start + len) as usize],
            _ => &[],
        }
    }
}

/// What a JSON value is, with its scalar, or its length for an array or an
/// object.
pub(crate) enum Kind<'a> {
    Null,
    Bool(bool),
    Number(&'a Number),
    Str(&'a str),
    Array(usize),
    Object(usize),
}

/// A JSON tree read in place: a parsed record ([`DocRef`]) or a `&Value`.
/// Objects give their members in name order, each name once.
pub(crate) trait Tree<'a>: Copy + 'a {
    fn kind(self) -> Kind<'a>;
    /// An array's items (nothing for any other value).
    fn items(self) -> impl Iterator<Item = Self>;
    /// An object's members in name order (nothing for any other value).
    fn members(self) -> impl Iterator<Item = (&'a str, Self)>;
    /// The member `name` of an object.
    fn get(self, name: &str) -> Option<Self>;
    /// [`Tree::get`] of a name whose [`head_of`] is `head`.
    fn get_headed(self, name: &str, head: u64) -> Option<Self> {
        debug_assert_eq!(head, head_of(name));
        self.get(name)
    }
    /// [`Tree::members`], each name with its [`head_of`].
    fn members_headed(self) -> impl Iterator<Item = (&'a str, u64, Self)> {
        self.members().map(|(name, v)| (name, head_of(name), v))
    }
    /// The value as a `serde_json::Value`, for messages and what keeps it.
    fn to_value(self) -> Value;

    fn is_null(self) -> bool {
        matches!(self.kind(), Kind::Null)
    }

    fn as_i64(self) -> Option<i64> {
        match self.kind() {
            Kind::Number(n) => n.as_i64(),
            _ => None,
        }
    }
}

impl<'a> Tree<'a> for &'a Value {
    fn kind(self) -> Kind<'a> {
        match self {
            Value::Null => Kind::Null,
            Value::Bool(b) => Kind::Bool(*b),
            Value::Number(n) => Kind::Number(n),
            Value::String(s) => Kind::Str(s),
            Value::Array(items) => Kind::Array(items.len()),
            Value::Object(map) => Kind::Object(map.len()),
        }
    }

    fn items(self) -> impl Iterator<Item = Self> {
        self.as_array().into_iter().flatten()
    }

    fn members(self) -> impl Iterator<Item = (&'a str, Self)> {
        self.as_object()
            .into_iter()
            .flatten()
            .map(|(name, value)| (name.as_str(), value))
    }

    fn get(self, name: &str) -> Option<Self> {
        self.as_object()?.get(name)
    }

    fn to_value(self) -> Value {
        self.clone()
    }
}

impl<'a> Tree<'a> for DocRef<'a> {
    fn kind(self) -> Kind<'a> {
        match self.slot() {
            Slot::Null => Kind::Null,
            Slot::Bool(b) => Kind::Bool(*b),
            Slot::Number(n) => Kind::Number(n),
            Slot::Str(span) => Kind::Str(self.str_of(*span)),
            Slot::Array { len, .. } => Kind::Array(*len as usize),
            Slot::Object { len, .. } => Kind::Object(*len as usize),
        }
    }

    fn items(self) -> impl Iterator<Item = Self> {
        Items {
            of: self,
            items: self.elements().iter(),
        }
    }

    fn members(self) -> impl Iterator<Item = (&'a str, Self)> {
        Members {
            of: self,
            fields: self.fields().iter(),
        }
    }

    fn get(self, name: &str) -> Option<Self> {
        self.get_headed(name, head_of(name))
    }

    fn get_headed(self, name: &str, head: u64) -> Option<Self> {
        let fields = self.fields();
        let found = if fields.len() <= 16 {
            // A pass over the heads beats a search's unforeseeable branches.
            fields
                .iter()
                .find(|(n, _, h)| *h == head && self.str_of(*n) == name)
        } else {
            fields
                .binary_search_by(|(n, _, h)| h.cmp(&head).then_with(|| self.str_of(*n).cmp(name)))
                .ok()
                .map(|i| &fields[i])
        };
        found.map(|&(_, at, _)| self.with(at))
    }

    fn members_headed(self) -> impl Iterator<Item = (&'a str, u64, Self)> {
        self.fields()
            .iter()
            .map(move |&(name, at, head)| (self.str_of(name), head, self.with(at)))
    }

    fn to_value(self) -> Value {
        match self.kind() {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(b),
            Kind::Number(n) => Value::Number(n.clone()),
            Kind::Str(s) => Value::String(s.to_owned()),
            Kind::Array(_) => Value::Array(self.items().map(Tree::to_value).collect()),
            Kind::Object(_) => Value::Object(
                self.members()
                    .map(|(name, v)| (name.to_owned(), v.to_value()))
                    .collect(),
            ),
        }
    }
}

/// An array's items.
pub(crate) struct Items<'a> {
    of: DocRef<'a>,
    items: std::slice::Iter<'a, u32>,
}

impl<'a> Iterator for Items<'a> {
    type Item = DocRef<'a>;

    fn next(&mut self) -> Option<DocRef<'a>> {
        self.items.next().map(|&at| self.of.with(at))
    }
}

/// An object's members, in name order.
pub(crate) struct Members<'a> {
    of: DocRef<'a>,
    fields: std::slice::Iter<'a, (Span, u32, u64)>,
}

impl<'a> Iterator for Members<'a> {
    type Item = (&'a str, DocRef<'a>);

    fn next(&mut self) -> Option<(&'a str, DocRef<'a>)> {
        let &(name, at, _) = self.fields.next()?;
        Some((self.of.str_of(name), self.of.with(at)))
    }
}

/// jsonschema's view of a parsed record: validators built with
/// `jsonschema::options_for::<DocJson>()` validate a [`DocRef`] in place.
pub(crate) struct DocJson;

impl jsonschema::json::Json for DocJson {
    type Node<'a> = DocRef<'a>;
    type PreparedKey = String;
    /// Lookups are binary searches: a pass over an object's members beats
    /// them only for small objects, as for serde_json's sorted maps.
    const KEYS_PER_LOOKUP: usize = 2;
    const ACYCLIC: bool = true;
    type StringBuffer = NameDoc;

    fn prepare_key(key: &str) -> String {
        key.to_owned()
    }

    fn with_string_node<T>(
        buffer: &mut NameDoc,
        string: &str,
        f: impl FnOnce(DocRef<'_>) -> T,
    ) -> T {
        let doc = &mut buffer.0;
        doc.clear();
        doc.owned.push_str(string);
        let span = Span {
            start: 0,
            len: string.len() as u32,
            owned: true,
        };
        let at = doc.push(Slot::Str(span));
        f(DocRef { doc, text: "", at })
    }
}

/// Backs the nodes jsonschema makes of member names (`propertyNames`).
#[derive(Default)]
pub(crate) struct NameDoc(Doc);

impl<'a> jsonschema::json::Node<'a, DocJson> for DocRef<'a> {
    type Object = DocObject<'a>;
    type Array = DocArray<'a>;
    type Number = &'a Number;

    fn as_object(&self) -> Option<DocObject<'a>> {
        matches!(self.slot(), Slot::Object { .. }).then_some(DocObject(*self))
    }

    fn as_array(&self) -> Option<DocArray<'a>> {
        matches!(self.slot(), Slot::Array { .. }).then_some(DocArray(*self))
    }

    fn as_string(&self) -> Option<Cow<'a, str>> {
        match self.kind() {
            Kind::Str(s) => Some(Cow::Borrowed(s)),
            _ => None,
        }
    }

    fn as_number(&self) -> Option<&'a Number> {
        match self.slot() {
            Slot::Number(n) => Some(n),
            _ => None,
        }
    }

    fn as_boolean(&self) -> Option<bool> {
        match self.slot() {
            Slot::Bool(b) => Some(*b),
            _ => None,
        }
    }

    fn is_null(&self) -> bool {
        matches!(self.slot(), Slot::Null)
    }

    fn json_type(&self) -> jsonschema::JsonType {
        use jsonschema::JsonType;
        match self.slot() {
            Slot::Null => JsonType::Null,
            Slot::Bool(_) => JsonType::Boolean,
            Slot::Number(_) => JsonType::Number,
            Slot::Str(_) => JsonType::String,
            Slot::Array { .. } => JsonType::Array,
            Slot::Object { .. } => JsonType::Object,
        }
    }

    fn to_value(&self) -> Cow<'a, Value> {
        Cow::Owned(Tree::to_value(*self))
    }

    fn identity(&self) -> Option<jsonschema::json::NodeIdentity> {
        Some(jsonschema::json::NodeIdentity::new(
            std::ptr::from_ref(self.slot()) as usize,
        ))
    }
}

/// An object of a parsed record, for jsonschema.
#[derive(Clone, Copy)]
pub(crate) struct DocObject<'a>(DocRef<'a>);

impl<'a> jsonschema::json::Object<'a, DocJson> for DocObject<'a> {
    type Node = DocRef<'a>;
    type MemberName = &'a str;
    type MembersIter = Members<'a>;

    fn len(&self) -> usize {
        self.0.fields().len()
    }

    fn get(&self, key: &String) -> Option<DocRef<'a>> {
        Tree::get(self.0, key)
    }

    fn members(&self) -> Members<'a> {
        Members {
            of: self.0,
            fields: self.0.fields().iter(),
        }
    }
}

/// An array of a parsed record, for jsonschema.
#[derive(Clone, Copy)]
pub(crate) struct DocArray<'a>(DocRef<'a>);

impl<'a> jsonschema::json::Array<'a, DocJson> for DocArray<'a> {
    type Node = DocRef<'a>;
    type ElementsIter = Items<'a>;

    fn len(&self) -> usize {
        self.0.elements().len()
    }

    fn elements(&self) -> Items<'a> {
        Items {
            of: self.0,
            items: self.0.elements().iter(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::FieldTree;
    use serde_json::json;
    use std::hash::BuildHasher;

    /// Random JSON text: nested objects and arrays, names that repeat,
    /// strings with escapes and non-ASCII, numbers of every kind serde_json
    /// tells apart, and random spacing.
    fn random_json(next: &mut impl FnMut() -> u64, depth: u32, out: &mut String) {
        const NAMES: [&str; 9] = [
            "id",
            "a",
            "b",
            "ab",
            "name",
            "abcdefgh",
            "abcdefghi",
            "é",
            "a\\\"b",
        ];
        const SCALARS: [&str; 16] = [
            "0",
            "-1",
            "1.0",
            "1e3",
            "-0.5",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "9223372036854775807",
            "true",
            "false",
            "null",
            "\"\"",
            "\"plain\"",
            "\"esc\\n\\u00e9\\ud83d\\ude00\"",
            "\"a@b.co\"",
        ];
        let space = |next: &mut dyn FnMut() -> u64, out: &mut String| {
            if next().is_multiple_of(4) {
                out.push_str(&" \n\t"[..(next() % 3 + 1) as usize]);
            }
        };
        space(next, out);
        match (depth, next() % 5) {
            (0, _) | (_, 0 | 1) => out.push_str(SCALARS[(next() % SCALARS.len() as u64) as usize]),
            (_, 2) => {
                out.push('[');
                for i in 0..next() % 4 {
                    if i > 0 {
                        out.push(',');
                    }
                    random_json(next, depth - 1, out);
                }
                out.push(']');
            }
            _ => {
                out.push('{');
                for i in 0..next() % 6 {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push('"');
                    out.push_str(NAMES[(next() % NAMES.len() as u64) as usize]);
                    out.push_str("\":");
                    random_json(next, depth - 1, out);
                }
                out.push('}');
            }
        }
        space(next, out);
    }

    #[test]
    fn a_doc_reads_every_text_as_serde_json_does() {
        let mut next = crate::test_random(0x9e37_79b9_7f4a_7c15);
        let hashing = ahash::RandomState::new();
        let tree = FieldTree::from_schema(&json!({
            "type": "object",
            "properties": {"id": {"type": "integer"}, "a": {"type": "object", "properties": {"b": {"type": "integer"}}}, "ab": {"items": {"properties": {"id": {}}}}}
        }));
        let mut doc = Doc::default();
        let (mut parsed, mut refused) = (0, 0);
        for round in 0..30_000 {
            let mut text = String::new();
            random_json(&mut next, 4, &mut text);
            // Every third text damaged: the same texts must be refused, with
            // the same message.
            if round % 3 == 0 && !text.is_empty() {
                let mut bytes = text.into_bytes();
                let at = (next() % bytes.len() as u64) as usize;
                let damage = b"{}[],:\"\\0e-. x";
                bytes[at] = damage[(next() % damage.len() as u64) as usize];
                text = String::from_utf8_lossy(&bytes).into_owned();
            }
            let ours = doc.parse(&text);
            let theirs = serde_json::from_str::<Value>(&text);
            match (ours, theirs) {
                (Ok(ours), Ok(theirs)) => {
                    parsed += 1;
                    assert_eq!(Tree::to_value(ours), theirs, "{text}");
                    let hash = |v: &dyn Fn(&mut ahash::AHasher)| {
                        let mut h = hashing.build_hasher();
                        v(&mut h);
                        std::hash::Hasher::finish(&h)
                    };
                    assert_eq!(
                        hash(&|h| crate::checks::records::hash_value(ours, h)),
                        hash(&|h| crate::checks::records::hash_value(&theirs, h)),
                        "{text}"
                    );
                    assert_eq!(
                        crate::schema::kind_of(ours),
                        crate::schema::kind_of(&theirs)
                    );
                    assert_eq!(tree.inspect(ours), tree.inspect(&theirs), "{text}");
                    for path in [&["id"][..], &["a", "b"], &["é"], &["a\"b"], &["abcdefghi"]] {
                        let path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
                        assert_eq!(
                            crate::schema::value_at(ours, &path).map(Tree::to_value),
                            crate::schema::value_at(&theirs, &path).cloned(),
                            "{text} at {path:?}"
                        );
                    }
                }
                (Err(ours), Err(theirs)) => {
                    refused += 1;
                    assert_eq!(ours.to_string(), theirs.to_string(), "{text}");
                }
                (ours, theirs) => panic!(
                    "{text}: ours {:?}, serde_json {theirs:?}",
                    ours.map(Tree::to_value)
                ),
            }
        }
        // Both sides are reached.
        assert!(parsed > 10_000 && refused > 3_000, "{parsed} {refused}");
    }

    #[test]
    fn a_repeated_name_keeps_its_last_value_and_members_come_sorted() {
        let mut doc = Doc::default();
        let v = doc
            .parse(r#"{"b": 1, "a": [true], "b": {"x": 2}, "aa": null}"#)
            .unwrap();
        let names: Vec<&str> = v.members().map(|(n, _)| n).collect();
        assert_eq!(names, ["a", "aa", "b"]);
        assert_eq!(Tree::to_value(v.get("b").unwrap()), json!({"x": 2}));
        assert!(v.get("c").is_none());
    }

    /// Hostile: nesting past serde_json's limit is refused as it refuses it,
    /// and a huge record's storage is not kept for the next one.
    #[test]
    fn deep_or_huge_records_are_refused_or_let_go() {
        let mut doc = Doc::default();
        let deep = "[".repeat(100_000);
        let ours = doc.parse(&deep).err().map(|e| e.to_string());
        let theirs = serde_json::from_str::<Value>(&deep)
            .err()
            .map(|e| e.to_string());
        assert!(
            ours.as_deref()
                .is_some_and(|e| e.contains("recursion limit")),
            "{ours:?}"
        );
        assert_eq!(ours, theirs);
        let huge = format!("[{}0]", "0,".repeat(1 << 20));
        assert_eq!(
            Tree::to_value(doc.parse(&huge).unwrap())
                .as_array()
                .unwrap()
                .len(),
            (1 << 20) + 1
        );
        doc.parse("{}").unwrap();
        assert!(
            doc.slots.capacity() <= KEPT_SLOTS && doc.items.capacity() <= KEPT_SLOTS,
            "{}",
            doc.slots.capacity()
        );
        // One string with an escape, unescaped into the document's buffer.
        let escaped = format!("{{\"a\": \"\\n{}\"}}", "x".repeat(8 << 20));
        doc.parse(&escaped).unwrap();
        assert!(doc.owned.capacity() > KEPT_BYTES);
        doc.parse("{}").unwrap();
        assert!(
            doc.owned.capacity() <= KEPT_BYTES,
            "{}",
            doc.owned.capacity()
        );
        // An object of many members.
        let wide: String = (0..100_000).map(|i| format!("\"{i}\": 0,")).collect();
        doc.parse(&format!("{{{wide}\"a\": 0}}")).unwrap();
        assert!(doc.members.capacity() > KEPT_SLOTS);
        doc.parse("{}").unwrap();
        assert!(
            doc.members.capacity() <= KEPT_SLOTS && doc.pending_members.capacity() <= KEPT_SLOTS
        );
    }

    /// The validator of a parsed record says what the validator of its
    /// `Value` says: the same verdict, the same first error, at the same place.
    #[test]
    fn a_doc_validates_as_its_value_does() {
        let schemas = [
            json!({"type": "object", "additionalProperties": false, "required": ["id"],
                   "properties": {"id": {"type": "integer", "minimum": 0}, "name": {"type": ["null", "string"], "maxLength": 3},
                                  "a": {"type": "array", "items": {"type": "number"}, "uniqueItems": true},
                                  "b": {"enum": [true, 1, "x"]}, "é": {"const": {"x": 2}}}}),
            json!({"propertyNames": {"pattern": "^[a-z]+$"}, "patternProperties": {"^a": {"type": "string"}},
                   "additionalProperties": {"type": "boolean"}}),
            json!({"type": "object", "properties": {"name": {"format": "email"}, "ab": {"format": "date-time"}},
                   "oneOf": [{"required": ["id"]}, {"required": ["a"]}]}),
        ];
        let mut next = crate::test_random(0x2545_f491_4f6c_dd1d);
        let mut doc = Doc::default();
        let (mut valid, mut invalid) = (0, 0);
        for schema in &schemas {
            let ours = crate::schema::record_validator_for::<DocJson>(schema).unwrap();
            let theirs = crate::schema::record_validator(schema).unwrap();
            for _ in 0..5_000 {
                let mut text = String::new();
                random_json(&mut next, 3, &mut text);
                let Ok(value) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                let record = doc.parse(&text).unwrap();
                assert_eq!(ours.is_valid(record), theirs.is_valid(&value), "{text}");
                valid += usize::from(theirs.is_valid(&value));
                invalid += usize::from(!theirs.is_valid(&value));
                let first = |e: jsonschema::ValidationError<'_>| {
                    (
                        e.to_string(),
                        e.instance_path().as_str().to_owned(),
                        e.schema_path().as_str().to_owned(),
                    )
                };
                assert_eq!(
                    ours.iter_errors(record).next().map(first),
                    theirs.iter_errors(&value).next().map(first),
                    "{text}"
                );
            }
        }
        // Both verdicts occur: the errors are compared too.
        assert!(valid > 500 && invalid > 500, "{valid} {invalid}");
    }

    /// A record the validator accepts has, by the walk that looks only
    /// where validity leaves a finding possible, the findings of the whole
    /// walk: under closed objects, open ones, `$ref` (whose siblings draft 7
    /// ignores), combinators and arrays.
    #[test]
    fn the_walk_of_a_valid_record_finds_what_the_whole_walk_finds() {
        let schemas = [
            json!({"type": "object", "additionalProperties": false,
                   "properties": {"id": {"type": "integer"}, "a": {"type": "object", "properties": {"b": {"type": "integer"}, "id": {}}},
                                  "ab": {"type": "array", "items": {"type": "object", "additionalProperties": false, "properties": {"id": {"type": "integer"}}}}}}),
            json!({"definitions": {"open": {"type": "object"}},
                   "properties": {"a": {"$ref": "#/definitions/open", "additionalProperties": false, "properties": {"b": {}}},
                                  "id": {"type": ["integer", "null"]}}}),
            json!({"type": "object", "additionalProperties": false, "properties": {"id": {}, "a": {}},
                   "anyOf": [{"properties": {"b": {"type": "integer"}}}, {"required": ["id"]}]}),
            json!({"type": "object", "additionalProperties": false, "properties": {"name": {}, "b": {}, "ab": {"items": {"properties": {"a": {}}}}}}),
            json!({"type": "object", "additionalProperties": false, "properties": {"id": {}}, "patternProperties": {"^a": {}}}),
            json!({"anyOf": [{"properties": {"a": {"additionalProperties": false, "properties": {"id": {}}}}}, {"required": ["b"]}],
                   "allOf": [{"properties": {"ab": {"additionalProperties": false, "properties": {"b": {"type": "integer"}}}}}]}),
        ];
        let mut next = crate::test_random(0xd1b5_4a32_d192_ed03);
        let mut doc = Doc::default();
        let (mut valid, mut found) = (0, 0);
        for schema in &schemas {
            let validator = crate::schema::record_validator_for::<DocJson>(schema).unwrap();
            let tree = FieldTree::from_schema(schema);
            for _ in 0..20_000 {
                let mut text = String::new();
                random_json(&mut next, 3, &mut text);
                let Ok(record) = doc.parse(&text) else {
                    continue;
                };
                if !validator.is_valid(record) {
                    continue;
                }
                valid += 1;
                let whole = tree.inspect(record);
                found += usize::from(whole != Default::default());
                assert_eq!(tree.inspect_valid(record), whole, "{text} against {schema}");
            }
        }
        // Valid records with findings occur: the pruned walk is put to the test.
        assert!(valid > 2_000 && found > 200, "{valid} {found}");
    }
}
