//! `{{ … }}` in the strings of a step: `{{ unique }}` (unique to the run,
//! the recorded one in replay), `{{ vars.NAME }}`, `{{ each.KEY }}` (the
//! `for_each` row or `matrix` cell), `{{ captures.NAME }}` (kept by an earlier
//! step), each optionally followed by a path into the value
//! (`{{ captures.state.invoices }}`). A string that is one template alone
//! becomes the value itself (an object stays an object); templates inside
//! text are replaced by the value's text.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

static TEMPLATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{\{\s*([^{}]*?)\s*\}\}").expect("a valid pattern"));

/// What a template names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root {
    Unique,
    Vars,
    Each,
    Captures,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    pub root: Root,
    /// The variable, key or capture (empty for `unique`).
    pub name: String,
    pub rest: Option<super::path::Path>,
}

impl Reference {
    fn parse(inner: &str) -> Result<Reference, String> {
        if inner == "unique" {
            return Ok(Reference {
                root: Root::Unique,
                name: String::new(),
                rest: None,
            });
        }
        let bad = || {
            format!(
                "`{{{{ {inner} }}}}` names nothing: a template is `{{{{ unique }}}}`, `{{{{ vars.NAME }}}}`, `{{{{ each.KEY }}}}` or `{{{{ captures.NAME }}}}`"
            )
        };
        let (root, rest) = inner.split_once('.').ok_or_else(bad)?;
        let root = match root {
            "vars" => Root::Vars,
            "each" => Root::Each,
            "captures" => Root::Captures,
            _ => return Err(bad()),
        };
        let (name, rest) = match rest.split_once('.') {
            Some((name, rest)) => (name, Some(super::path::parse(rest)?)),
            None => (rest, None),
        };
        if name.is_empty() {
            return Err(bad());
        }
        Ok(Reference {
            root,
            name: name.to_string(),
            rest,
        })
    }
}

/// Every template in the strings of `value` (keys included), parsed.
pub fn references(value: &Value) -> Vec<Result<Reference, String>> {
    let mut out = Vec::new();
    walk_strings(value, &mut |s| {
        out.extend(TEMPLATE.captures_iter(s).map(|c| Reference::parse(&c[1])))
    });
    out
}

fn walk_strings(value: &Value, f: &mut dyn FnMut(&str)) {
    match value {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().for_each(|v| walk_strings(v, f)),
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            f(k);
            walk_strings(v, f)
        }),
        _ => {}
    }
}

/// The values templates are replaced with.
pub struct Scope<'a> {
    pub unique: &'a str,
    pub vars: &'a BTreeMap<String, Value>,
    pub each: &'a BTreeMap<String, Value>,
    pub captures: &'a BTreeMap<String, Value>,
}

impl Scope<'_> {
    fn value_of(&self, inner: &str) -> Result<Value, String> {
        let reference = Reference::parse(inner)?;
        let (map, what) = match reference.root {
            Root::Unique => return Ok(Value::String(self.unique.to_string())),
            Root::Vars => (self.vars, "variable"),
            Root::Each => (self.each, "for_each/matrix key"),
            Root::Captures => (self.captures, "capture"),
        };
        let value = map.get(&reference.name).ok_or_else(|| {
            format!(
                "`{{{{ {inner} }}}}`: no {what} `{}` has a value here",
                reference.name
            )
        })?;
        match &reference.rest {
            None => Ok(value.clone()),
            Some(path) => path.resolve(value).ok_or_else(|| {
                format!(
                    "`{{{{ {inner} }}}}`: the {what} `{}` has nothing at `{path}`",
                    reference.name
                )
            }),
        }
    }

    /// `value` with every template replaced.
    pub fn render(&self, value: &Value) -> Result<Value, String> {
        Ok(match value {
            Value::String(s) => self.render_str(s)?,
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.render(v))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => {
                let mut out = serde_json::Map::new();
                for (k, v) in map {
                    let key = match self.render_str(k)? {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    out.insert(key, self.render(v)?);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }

    /// A string with its templates replaced: the value itself when the
    /// string is one template alone.
    pub fn render_str(&self, text: &str) -> Result<Value, String> {
        if let Some(c) = TEMPLATE.captures(text)
            && c[0].len() == text.len()
        {
            return self.value_of(&c[1]);
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for c in TEMPLATE.captures_iter(text) {
            let whole = c.get(0).expect("group 0");
            out.push_str(&text[last..whole.start()]);
            match self.value_of(&c[1])? {
                Value::String(s) => out.push_str(&s),
                other => out.push_str(&other.to_string()),
            }
            last = whole.end();
        }
        out.push_str(&text[last..]);
        Ok(Value::String(out))
    }

    /// A string field of a step, rendered: it must stay a string.
    pub fn render_text(&self, text: &str) -> Result<String, String> {
        match self.render_str(text)? {
            Value::String(s) => Ok(s),
            other => Ok(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_become_values_alone_and_text_inside_text() {
        let vars = BTreeMap::from([("region".to_string(), json!("eu"))]);
        let each = BTreeMap::from([("n".to_string(), json!(3))]);
        let captures = BTreeMap::from([("state".to_string(), json!({"invoices": {"at": "x"}}))]);
        let scope = Scope {
            unique: "ctest_1234abcd",
            vars: &vars,
            each: &each,
            captures: &captures,
        };
        assert_eq!(scope.render_str("{{ each.n }}").unwrap(), json!(3));
        assert_eq!(
            scope.render_str("{{captures.state}}").unwrap(),
            json!({"invoices": {"at": "x"}})
        );
        assert_eq!(
            scope
                .render_str("{{ captures.state.invoices.at }}")
                .unwrap(),
            json!("x")
        );
        assert_eq!(
            scope
                .render_str("row-{{ unique }}-{{ vars.region }}-{{ each.n }}")
                .unwrap(),
            json!("row-ctest_1234abcd-eu-3")
        );
        assert_eq!(
            scope
                .render(&json!({"k": ["{{ vars.region }}", 1], "{{ vars.region }}": true}))
                .unwrap(),
            json!({"k": ["eu", 1], "eu": true})
        );
        let e = scope.render_str("{{ vars.nope }}").unwrap_err();
        assert!(e.contains("no variable `nope`"), "{e}");
        let e = scope.render_str("{{ env.HOME }}").unwrap_err();
        assert!(e.contains("names nothing"), "{e}");
        let e = scope
            .render_str("{{ captures.state.customers }}")
            .unwrap_err();
        assert!(e.contains("nothing at `customers`"), "{e}");
    }

    #[test]
    fn references_are_found_in_keys_and_values() {
        let refs = references(&json!({"a": "{{ vars.x }} {{ each.y.z }}", "{{ unique }}": 1}));
        let roots: Vec<_> = refs.iter().map(|r| r.as_ref().unwrap().root).collect();
        assert_eq!(roots.len(), 3);
        assert!(roots.contains(&Root::Vars) && roots.contains(&Root::Each));
        assert!(roots.contains(&Root::Unique));
    }
}
