//! Key paths of `-o key=value`, as Falco writes them: `a.b`, escaped dots
//! (`a\.b`), list items (`a[2]`) and list appends (`a[]`).

use peregrine_rules::yaml::{Mark, Node, NodeKind};

/// One step of a key path.
#[derive(Debug, PartialEq, Eq)]
pub enum Segment {
    /// A map key.
    Key(String),
    /// A list item, by index.
    Index(usize),
    /// A new item at the end of a list (`[]`).
    Append,
}

/// An empty map node.
pub fn empty_map() -> Node {
    Node {
        mark: Mark::default(),
        kind: NodeKind::Map(Vec::new()),
    }
}

/// A plain scalar node.
pub fn scalar(value: &str) -> Node {
    Node {
        mark: Mark::default(),
        kind: NodeKind::Scalar {
            value: value.to_string(),
            quoted: false,
        },
    }
}

/// Splits `a.b\.c[2].d[]` into path segments.
pub fn split_key(key: &str) -> Result<Vec<Segment>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = key.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('.' | '[' | ']' | '\\')) => cur.push(e),
                Some(e) => return Err(format!("invalid escape sequence '\\{e}'")),
                None => return Err("trailing backslash".into()),
            },
            '.' => {
                if !cur.is_empty() {
                    out.push(Segment::Key(std::mem::take(&mut cur)));
                }
            }
            '[' => {
                if !cur.is_empty() {
                    out.push(Segment::Key(std::mem::take(&mut cur)));
                }
                let mut idx = String::new();
                loop {
                    match chars.next() {
                        Some(']') => break,
                        Some(d) => idx.push(d),
                        None => return Err("missing ']'".into()),
                    }
                }
                if idx.trim().is_empty() {
                    out.push(Segment::Append);
                } else {
                    let i = idx
                        .trim()
                        .parse()
                        .map_err(|_| format!("expected a numeric index, found '{idx}'"))?;
                    out.push(Segment::Index(i));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(Segment::Key(cur));
    }
    if out.is_empty() {
        return Err("empty key".into());
    }
    Ok(out)
}

/// Sets `path` to `value` in `node`, creating maps and growing lists by
/// one item at most.
pub fn set_path(node: &mut Node, path: &[Segment], value: Node) -> Result<(), String> {
    let Some((first, rest)) = path.split_first() else {
        *node = value;
        return Ok(());
    };
    match first {
        Segment::Key(k) => {
            if !node.is_map() {
                *node = empty_map();
            }
            let NodeKind::Map(entries) = &mut node.kind else {
                return Err("internal: not a map".into());
            };
            let pos = entries
                .iter()
                .position(|(key, _)| key.scalar() == Some(k.as_str()));
            let i = match pos {
                Some(i) => i,
                None => {
                    entries.push((scalar(k), empty_map()));
                    entries.len() - 1
                }
            };
            set_path(&mut entries[i].1, rest, value)
        }
        Segment::Index(_) | Segment::Append => {
            if !node.is_seq() {
                if !(node.is_null() || node.entries().is_empty() && node.is_map()) {
                    return Err("not a list".into());
                }
                *node = Node {
                    mark: Mark::default(),
                    kind: NodeKind::Seq(Vec::new()),
                };
            }
            let NodeKind::Seq(items) = &mut node.kind else {
                return Err("internal: not a list".into());
            };
            let i = match first {
                Segment::Index(i) => *i,
                _ => items.len(),
            };
            if i > items.len() {
                return Err(format!(
                    "list index {i} past the end ({} items)",
                    items.len()
                ));
            }
            if i == items.len() {
                items.push(empty_map());
            }
            set_path(&mut items[i], rest, value)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_dots_indexes_and_appends() {
        let segs = split_key(r"a.b\.c[1].d[]").unwrap();
        assert_eq!(
            segs,
            [
                Segment::Key("a".into()),
                Segment::Key("b.c".into()),
                Segment::Index(1),
                Segment::Key("d".into()),
                Segment::Append
            ]
        );
        assert!(split_key(r"a\x").is_err());
        assert!(split_key("a[x]").is_err());
        assert!(split_key("a[1").is_err());
        assert!(split_key("").is_err());
    }
}
