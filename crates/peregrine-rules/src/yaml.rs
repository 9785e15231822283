//! A YAML document tree where every node keeps its position, built from
//! the events of `saphyr-parser`. Positions are reported the way Falco's
//! YAML library reports them: byte offset, 0-based line, 0-based column.

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError};
use std::collections::HashMap;

/// Deepest nesting of sequences and mappings accepted; deeper input is a
/// parse error rather than a risk of exhausting the stack.
pub const MAX_DEPTH: usize = 512;

/// A position in a YAML text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mark {
    /// Byte offset from the start of the text.
    pub pos: usize,
    /// Line, 0-based.
    pub line: usize,
    /// Column, 0-based, in characters.
    pub column: usize,
}

/// What a node holds.
#[derive(Clone, Debug)]
pub enum NodeKind {
    /// An empty value, `~` or `null`.
    Null,
    /// A scalar value (quoted scalars keep `quoted: true`).
    Scalar {
        /// The text.
        value: String,
        /// Whether it was written in quotes or as a block scalar.
        quoted: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order.
    Map(Vec<(Node, Node)>),
}

/// A YAML node with the position where it starts.
#[derive(Clone, Debug)]
pub struct Node {
    /// Where the node starts.
    pub mark: Mark,
    /// Its contents.
    pub kind: NodeKind,
}

/// A YAML syntax error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlError {
    /// Where it was found.
    pub mark: Mark,
    /// The message, worded as Falco's YAML library words it.
    pub message: String,
}

impl Node {
    /// The value under `key` in a mapping (the first such key).
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            NodeKind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.scalar() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text of a scalar node.
    pub fn scalar(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The node's text as YAML would convert it to a string: scalars give
    /// their text, null gives `None`, collections give `None`.
    pub fn as_string(&self) -> Option<String> {
        self.scalar().map(str::to_string)
    }

    /// True for a null node.
    pub fn is_null(&self) -> bool {
        matches!(self.kind, NodeKind::Null)
    }

    /// True for a mapping.
    pub fn is_map(&self) -> bool {
        matches!(self.kind, NodeKind::Map(_))
    }

    /// True for a sequence.
    pub fn is_seq(&self) -> bool {
        matches!(self.kind, NodeKind::Seq(_))
    }

    /// The items of a sequence (empty for anything else).
    pub fn items(&self) -> &[Node] {
        match &self.kind {
            NodeKind::Seq(v) => v,
            _ => &[],
        }
    }

    /// The entries of a mapping (empty for anything else).
    pub fn entries(&self) -> &[(Node, Node)] {
        match &self.kind {
            NodeKind::Map(v) => v,
            _ => &[],
        }
    }
}

/// Decodes a boolean the way YAML 1.1 readers do (`true`, `yes`, `on`, `y`
/// and their negations, in lower, capitalised or upper case).
pub fn decode_bool(s: &str) -> Option<bool> {
    const TRUE: &[&str] = &["y", "yes", "true", "on"];
    const FALSE: &[&str] = &["n", "no", "false", "off"];
    let variants = |w: &str| -> bool {
        s == w || s == w.to_uppercase() || {
            let mut c = w.chars();
            match c.next() {
                Some(f) => s == format!("{}{}", f.to_uppercase(), c.as_str()),
                None => false,
            }
        }
    };
    if TRUE.iter().any(|w| variants(w)) {
        Some(true)
    } else if FALSE.iter().any(|w| variants(w)) {
        Some(false)
    } else {
        None
    }
}

/// Decodes an unsigned 32-bit integer (decimal, `0x` hex or `0o` octal).
pub fn decode_u32(s: &str) -> Option<u32> {
    let t = s.strip_prefix('+').unwrap_or(s);
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return u32::from_str_radix(h, 16).ok();
    }
    if let Some(o) = t.strip_prefix("0o") {
        return u32::from_str_radix(o, 8).ok();
    }
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// Converts character indexes reported by the parser into byte offsets.
struct Offsets {
    bytes: Option<Vec<usize>>,
    len: usize,
}

impl Offsets {
    fn new(text: &str) -> Self {
        let bytes = if text.is_ascii() {
            None
        } else {
            Some(text.char_indices().map(|(b, _)| b).collect())
        };
        Offsets {
            bytes,
            len: text.len(),
        }
    }

    fn mark(&self, m: &saphyr_parser::Marker) -> Mark {
        let pos = match &self.bytes {
            None => m.index().min(self.len),
            Some(v) => v.get(m.index()).copied().unwrap_or(self.len),
        };
        Mark {
            pos,
            line: m.line().saturating_sub(1),
            column: m.col(),
        }
    }
}

fn yaml_cpp_message(info: &str) -> String {
    // Falco reports its YAML library's wording; map the common cases.
    let lower = info.to_ascii_lowercase();
    if lower.contains("mapping values are not allowed") {
        "illegal map value".to_string()
    } else if lower.contains("did not find expected key") || lower.contains("block mapping") {
        "end of map not found".to_string()
    } else if lower.contains("block sequence") || lower.contains("did not find expected '-'") {
        "end of sequence not found".to_string()
    } else if lower.contains("flow sequence") {
        "end of sequence flow not found".to_string()
    } else if lower.contains("flow mapping") {
        "end of map flow not found".to_string()
    } else if lower.contains("unknown anchor") {
        "the referenced anchor is not defined".to_string()
    } else if lower.contains("tab") {
        "illegal tab when looking for indentation".to_string()
    } else if lower.contains("quoted scalar") {
        "end of string not found".to_string()
    } else {
        info.to_string()
    }
}

fn scan_error(off: &Offsets, e: &ScanError) -> YamlError {
    let mark = off.mark(e.marker());
    YamlError {
        message: format!(
            "yaml-cpp: error at line {}, column {}: {}",
            mark.line + 1,
            mark.column + 1,
            yaml_cpp_message(e.info())
        ),
        mark,
    }
}

enum Frame {
    Seq(Mark, usize, Vec<Node>),
    Map(Mark, usize, Vec<(Node, Node)>, Option<Node>),
}

/// Parses every document of `text`. An empty document gives a null node.
///
/// Falco's YAML library accepts a flow collection whose closing bracket
/// is less indented than the mapping holding it (`items: [\n a\n]`),
/// which YAML 1.2 forbids; such a bracket is moved to the end of the
/// preceding content (same length, same lines, so positions stay right)
/// and the text parsed again.
pub fn load_all(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut owned: Option<String> = None;
    for _ in 0..10_000 {
        let cur = owned.as_deref().unwrap_or(text);
        match load_all_strict(cur) {
            Err(e) if e.message.ends_with("invalid indentation") => {
                match move_bracket(cur, e.mark.pos) {
                    Some(fixed) => owned = Some(fixed),
                    None => return Err(e),
                }
            }
            r => return r,
        }
    }
    load_all_strict(owned.as_deref().unwrap_or(text))
}

fn move_bracket(text: &str, pos: usize) -> Option<String> {
    let b = text.as_bytes();
    if !matches!(b.get(pos), Some(b']' | b'}')) {
        return None;
    }
    let mut start = pos;
    while start > 0 && matches!(b[start - 1], b' ' | b'\t' | b'\n' | b'\r') {
        start -= 1;
    }
    if start == 0 || start == pos {
        return None;
    }
    let line_start = b[..start]
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |p| p + 1);
    let line = &b[line_start..start];
    if line.contains(&b'#') {
        return None;
    }
    let mut v = b.to_vec();
    v.copy_within(start..pos, start + 1);
    v[start] = b[pos];
    String::from_utf8(v).ok()
}

fn load_all_strict(text: &str) -> Result<Vec<Node>, YamlError> {
    let off = Offsets::new(text);
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut doc: Option<Node> = None;
    let mut in_doc = false;
    for ev in Parser::new_from_str(text) {
        let (ev, span) = ev.map_err(|e| scan_error(&off, &e))?;
        let mark = off.mark(&span.start);
        let node = match ev {
            Event::DocumentStart(_) => {
                in_doc = true;
                doc = None;
                continue;
            }
            Event::DocumentEnd => {
                if in_doc {
                    docs.push(doc.take().unwrap_or(Node {
                        mark,
                        kind: NodeKind::Null,
                    }));
                }
                in_doc = false;
                anchors.clear();
                continue;
            }
            Event::Scalar(value, style, anchor, _tag) => {
                let quoted = style != ScalarStyle::Plain;
                let kind = if !quoted && matches!(&*value, "" | "~" | "null" | "Null" | "NULL") {
                    NodeKind::Null
                } else {
                    NodeKind::Scalar {
                        value: value.into_owned(),
                        quoted,
                    }
                };
                let n = Node { mark, kind };
                if anchor > 0 {
                    anchors.insert(anchor, n.clone());
                }
                n
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some(n) => n.clone(),
                None => {
                    return Err(YamlError {
                        message: format!(
                            "yaml-cpp: error at line {}, column {}: the referenced anchor is not defined",
                            mark.line + 1,
                            mark.column + 1
                        ),
                        mark,
                    });
                }
            },
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(YamlError {
                        message: format!(
                            "yaml-cpp: error at line {}, column {}: nesting too deep",
                            mark.line + 1,
                            mark.column + 1
                        ),
                        mark,
                    });
                }
                stack.push(if matches!(ev, Event::SequenceStart(..)) {
                    Frame::Seq(mark, anchor, Vec::new())
                } else {
                    Frame::Map(mark, anchor, Vec::new(), None)
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (n, anchor) = match stack.pop() {
                    Some(Frame::Seq(m, a, items)) => (
                        Node {
                            mark: m,
                            kind: NodeKind::Seq(items),
                        },
                        a,
                    ),
                    Some(Frame::Map(m, a, entries, _)) => (
                        Node {
                            mark: m,
                            kind: NodeKind::Map(entries),
                        },
                        a,
                    ),
                    None => continue,
                };
                if anchor > 0 {
                    anchors.insert(anchor, n.clone());
                }
                n
            }
            Event::StreamStart | Event::StreamEnd | Event::Nothing => continue,
        };
        match stack.last_mut() {
            Some(Frame::Seq(_, _, items)) => items.push(node),
            Some(Frame::Map(_, _, entries, key)) => match key.take() {
                Some(k) => entries.push((k, node)),
                None => *key = Some(node),
            },
            None => doc = Some(node),
        }
    }
    if in_doc {
        docs.push(doc.unwrap_or(Node {
            mark: Mark::default(),
            kind: NodeKind::Null,
        }));
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_zero_based() {
        let docs = load_all("- rule: a\n  desc: b\n").unwrap();
        assert_eq!(docs.len(), 1);
        let item = &docs[0].items()[0];
        assert_eq!(item.mark.line, 0);
        assert_eq!(item.mark.column, 2);
        let desc = item.get("desc").unwrap();
        assert_eq!(
            desc.mark,
            Mark {
                pos: 18,
                line: 1,
                column: 8
            }
        );
    }

    #[test]
    fn parse_error_like_yaml_cpp() {
        let e = load_all("this : is : not : yaml").unwrap_err();
        assert_eq!(
            e.message,
            "yaml-cpp: error at line 1, column 11: illegal map value"
        );
    }

    #[test]
    fn bools() {
        assert_eq!(decode_bool("True"), Some(true));
        assert_eq!(decode_bool("OFF"), Some(false));
        assert_eq!(decode_bool("maybe"), None);
    }
}
