//! `append_output`: text added to the output of chosen rules, and extra
//! fields for the JSON `output_fields` of their alerts, as Falco's
//! `falco.yaml` key of that name (and the `-p` option) give them.
//!
//! An entry chooses rules by source, tags and name (all that are set must
//! hold); its `extra_output` is appended to each chosen rule's output after
//! one space, entries in order. Its extra fields never touch the text: a
//! raw field (`evt.hostname`) puts the field's typed value under the
//! field's name, a formatted one (`home: "%user.homedir"`) puts the
//! formatted text under its key. A later entry's field replaces an earlier
//! one of the same key.

use peregrine_filter::extract::{Ctx, extract};
use peregrine_filter::{Field, OutputFormat};
use std::collections::BTreeSet;

/// Which rules an entry applies to. Unset conditions (and an empty tag
/// set) hold for every rule.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppendMatch {
    /// Only rules of this event source.
    pub source: Option<String>,
    /// Only rules having all of these tags.
    pub tags: BTreeSet<String>,
    /// Only the rule of this name.
    pub rule: Option<String>,
}

impl AppendMatch {
    /// True when the rule `name` of `source` with `tags` is chosen.
    pub fn matches(&self, name: &str, source: &str, tags: &BTreeSet<String>) -> bool {
        let holds = |want: &Option<String>, have: &str| {
            want.as_deref().is_none_or(|w| w.is_empty() || w == have)
        };
        holds(&self.source, source) && self.tags.is_subset(tags) && holds(&self.rule, name)
    }
}

/// One extra field of the JSON `output_fields`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExtraField {
    /// A field by name: its typed value under its name.
    Raw(String),
    /// A format: the formatted text under `key` (an empty format adds
    /// nothing).
    Formatted {
        /// The key in `output_fields`.
        key: String,
        /// The format, with `%field` tokens.
        format: String,
    },
}

impl ExtraField {
    /// The key the field has in `output_fields`.
    pub fn key(&self) -> &str {
        match self {
            ExtraField::Raw(name) => name,
            ExtraField::Formatted { key, .. } => key,
        }
    }

    fn compile(&self) -> Result<Option<CompiledField>, String> {
        let kind = match self {
            ExtraField::Raw(name) => Field::parse(name)
                .map(FieldKind::Raw)
                .map_err(|e| format!("extra field '{name}': {e}"))?,
            ExtraField::Formatted { format, .. } if format.is_empty() => return Ok(None),
            ExtraField::Formatted { key, format } => OutputFormat::parse(format)
                .map(FieldKind::Formatted)
                .map_err(|e| format!("extra field '{key}': {e}"))?,
        };
        Ok(Some(CompiledField {
            key: self.key().to_string(),
            kind,
        }))
    }
}

/// One `append_output` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppendOutput {
    /// The rules it applies to.
    pub matches: AppendMatch,
    /// Text appended to their output, after one space (empty: none).
    pub extra_output: Option<String>,
    /// Fields added to their JSON `output_fields`, in order.
    pub extra_fields: Vec<ExtraField>,
}

impl AppendOutput {
    /// An entry appending `text` to every rule's output (`-p`).
    pub fn everywhere(text: &str) -> AppendOutput {
        AppendOutput {
            extra_output: Some(text.to_string()),
            ..AppendOutput::default()
        }
    }

    /// Checks the entry: the extra output and every extra field parse, and
    /// no key is given twice (a raw field may repeat), as Falco requires.
    pub fn check(&self) -> Result<(), String> {
        if let Some(text) = self.extra_output() {
            OutputFormat::parse(text).map_err(|e| format!("extra_output '{text}': {e}"))?;
        }
        let mut formatted = BTreeSet::new();
        let mut raw = BTreeSet::new();
        for f in &self.extra_fields {
            f.compile()?;
            let key = f.key();
            let clash = match f {
                ExtraField::Raw(_) => {
                    raw.insert(key);
                    formatted.contains(key)
                }
                ExtraField::Formatted { .. } => raw.contains(key) || !formatted.insert(key),
            };
            if clash {
                return Err(format!("extra field '{key}' is defined twice"));
            }
        }
        Ok(())
    }

    fn extra_output(&self) -> Option<&str> {
        self.extra_output.as_deref().filter(|t| !t.is_empty())
    }
}

/// How an extra field is computed.
#[derive(Clone, Debug)]
enum FieldKind {
    Raw(Field),
    Formatted(OutputFormat),
}

/// An extra field ready for one rule's alerts.
#[derive(Clone, Debug)]
pub(crate) struct CompiledField {
    key: String,
    kind: FieldKind,
}

impl CompiledField {
    /// The key in `output_fields`.
    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    /// The JSON value for the event in `cx` (`None` when the raw field has
    /// no value).
    pub(crate) fn value(&self, cx: &Ctx<'_>) -> Option<serde_json::Value> {
        match &self.kind {
            FieldKind::Raw(f) => extract(f, cx).map(|v| crate::engine::json_value(&v)),
            FieldKind::Formatted(format) => {
                let mut out = String::new();
                crate::engine::render(format, cx, &mut out, |_, _| {});
                Some(out.into())
            }
        }
    }
}

/// What the entries choosing one rule add to it: the rule's output text
/// with the extra outputs appended, and its extra fields.
pub(crate) fn apply(
    entries: &[AppendOutput],
    name: &str,
    source: &str,
    tags: &BTreeSet<String>,
    output: &mut String,
) -> Result<Vec<CompiledField>, String> {
    let chosen = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.matches.matches(name, source, tags));
    let mut fields: Vec<CompiledField> = Vec::new();
    for (i, entry) in chosen {
        let named = |e: String| format!("append_output entry {}: {e}", i + 1);
        entry.check().map_err(named)?;
        if let Some(text) = entry.extra_output() {
            output.push(' ');
            output.push_str(text);
        }
        for f in &entry.extra_fields {
            fields.retain(|c| c.key != f.key());
            if let Some(c) = f.compile().map_err(named)? {
                fields.push(c);
            }
        }
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(t: &[&str]) -> BTreeSet<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    fn m(source: Option<&str>, t: &[&str], rule: Option<&str>) -> AppendMatch {
        AppendMatch {
            source: source.map(str::to_string),
            tags: tags(t),
            rule: rule.map(str::to_string),
        }
    }

    #[test]
    fn empty_match_chooses_every_rule() {
        let any = AppendMatch::default();
        assert!(any.matches("r", "syscall", &tags(&[])));
        assert!(any.matches("other", "k8s_audit", &tags(&["x"])));
        // Empty strings count as unset, as in Falco.
        assert!(m(Some(""), &[], Some("")).matches("r", "syscall", &tags(&[])));
    }

    #[test]
    fn source_must_be_equal() {
        let s = m(Some("syscall"), &[], None);
        assert!(s.matches("r", "syscall", &tags(&["a"])));
        assert!(!s.matches("r", "k8s_audit", &tags(&["a"])));
        assert!(!s.matches("r", "syscalls", &tags(&[])));
    }

    #[test]
    fn rule_needs_all_the_tags() {
        let ab = m(None, &["a", "b"], None);
        assert!(ab.matches("r", "syscall", &tags(&["a", "b"])));
        assert!(ab.matches("r", "syscall", &tags(&["c", "b", "a"])));
        assert!(!ab.matches("r", "syscall", &tags(&["a"])));
        assert!(!ab.matches("r", "syscall", &tags(&["b", "c"])));
        assert!(!ab.matches("r", "syscall", &tags(&[])));
    }

    #[test]
    fn rule_name_must_be_equal() {
        let r = m(None, &[], Some("Write below etc"));
        assert!(r.matches("Write below etc", "syscall", &tags(&[])));
        assert!(!r.matches("Write below etc2", "syscall", &tags(&[])));
        assert!(!r.matches("write below etc", "syscall", &tags(&[])));
    }

    #[test]
    fn every_condition_set_must_hold() {
        let all = m(Some("syscall"), &["a"], Some("r"));
        assert!(all.matches("r", "syscall", &tags(&["a", "b"])));
        assert!(!all.matches("r", "k8s_audit", &tags(&["a"])));
        assert!(!all.matches("r", "syscall", &tags(&["b"])));
        assert!(!all.matches("q", "syscall", &tags(&["a"])));
    }

    fn entry(rule: Option<&str>, text: &str, fields: Vec<ExtraField>) -> AppendOutput {
        AppendOutput {
            matches: m(None, &[], rule),
            extra_output: Some(text.to_string()),
            extra_fields: fields,
        }
    }

    fn formatted(key: &str, format: &str) -> ExtraField {
        ExtraField::Formatted {
            key: key.into(),
            format: format.into(),
        }
    }

    #[test]
    fn outputs_append_in_entry_order_and_later_fields_win() {
        let entries = [
            entry(None, "one=%proc.name", vec![formatted("k", "%fd.name")]),
            entry(Some("other"), "skipped", vec![formatted("x", "y")]),
            entry(None, "", vec![ExtraField::Raw("evt.cpu".into())]),
            entry(None, "two", vec![formatted("k", "%proc.pid")]),
        ];
        let mut out = "Base".to_string();
        let fields = apply(&entries, "r", "syscall", &tags(&[]), &mut out).unwrap();
        assert_eq!(out, "Base one=%proc.name two");
        let keys: Vec<&str> = fields.iter().map(CompiledField::key).collect();
        assert_eq!(keys, ["evt.cpu", "k"]);
        assert!(matches!(&fields[1].kind, FieldKind::Formatted(f)
            if f.fields().next().unwrap().def.name == "proc.pid"));
    }

    #[test]
    fn bad_entries_are_errors_naming_the_entry() {
        let bad = [
            entry(None, "%nosuch.field", vec![]),
            entry(None, "", vec![ExtraField::Raw("proc.name x".into())]),
            entry(None, "", vec![formatted("k", "%nosuch")]),
            entry(None, "", vec![formatted("k", "a"), formatted("k", "b")]),
            entry(
                None,
                "",
                vec![
                    ExtraField::Raw("proc.pid".into()),
                    formatted("proc.pid", "b"),
                ],
            ),
            entry(
                None,
                "",
                vec![
                    formatted("proc.name", "b"),
                    ExtraField::Raw("proc.name".into()),
                ],
            ),
        ];
        for (i, e) in bad.iter().enumerate() {
            assert!(e.check().is_err(), "entry {i} passed");
            let mut out = String::new();
            let err = apply(std::slice::from_ref(e), "r", "s", &tags(&[]), &mut out)
                .err()
                .unwrap_or_else(|| panic!("entry {i} applied"));
            assert!(err.starts_with("append_output entry 1: "), "{err}");
        }
        // A raw field may be named twice; an empty format is allowed.
        let ok = entry(
            None,
            "",
            vec![
                ExtraField::Raw("proc.name".into()),
                ExtraField::Raw("proc.name".into()),
                formatted("e", ""),
            ],
        );
        assert_eq!(ok.check(), Ok(()));
    }
}
