//! Output formats: text with `%field` tokens, as sysdig's `-p` and Falco's
//! rule outputs write them.

use crate::field::{Field, FieldError};

/// One piece of a parsed format.
#[derive(Clone, Debug)]
pub enum Segment {
    /// Text copied as is.
    Literal(String),
    /// A field whose value is substituted.
    Field(Field),
}

/// A parsed output format.
#[derive(Clone, Debug)]
pub struct OutputFormat {
    /// The pieces, in order.
    pub segments: Vec<Segment>,
    /// With a leading `*`, every event prints and missing values show as
    /// `<NA>`; without it (sysdig's `-p` default) an event prints only when
    /// every field has a value.
    pub print_all: bool,
}

/// Error in a format string, with the byte offset of the bad token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatError {
    /// Byte offset in the format string.
    pub offset: usize,
    /// What is wrong.
    pub error: FieldError,
}

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "format offset {}: {}", self.offset, self.error)
    }
}

impl std::error::Error for FormatError {}

impl OutputFormat {
    /// Parses `text`. `%%` is a literal percent sign; `%{field}` and
    /// `%(field)` delimit a field explicitly.
    pub fn parse(text: &str) -> Result<Self, FormatError> {
        let (print_all, body) = match text.strip_prefix('*') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let base = text.len() - body.len();
        let mut segments = Vec::new();
        let mut literal = String::new();
        let mut i = 0;
        while let Some(pos) = body[i..].find('%') {
            literal.push_str(&body[i..i + pos]);
            let start = i + pos + 1;
            let rest = &body[start..];
            if rest.starts_with('%') {
                literal.push('%');
                i = start + 1;
                continue;
            }
            let (inner, skip, close) = match rest.as_bytes().first() {
                Some(b'{') => (&rest[1..], 1, Some('}')),
                Some(b'(') => (&rest[1..], 1, Some(')')),
                _ => (rest, 0, None),
            };
            let (field, n) = Field::parse_prefix(inner).map_err(|error| FormatError {
                offset: base + start,
                error,
            })?;
            let mut end = start + skip + n;
            if let Some(c) = close {
                if body[end..].starts_with(c) {
                    end += 1;
                } else {
                    return Err(FormatError {
                        offset: base + end,
                        error: FieldError::BadArgument {
                            field: field.def.name,
                            reason: "unclosed field delimiter",
                        },
                    });
                }
            }
            if !literal.is_empty() {
                segments.push(Segment::Literal(std::mem::take(&mut literal)));
            }
            segments.push(Segment::Field(field));
            i = end;
        }
        literal.push_str(&body[i..]);
        if !literal.is_empty() {
            segments.push(Segment::Literal(literal));
        }
        Ok(OutputFormat {
            segments,
            print_all,
        })
    }

    /// The fields the format uses, in order.
    pub fn fields(&self) -> impl Iterator<Item = &Field> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Field(f) => Some(f),
            Segment::Literal(_) => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_literals_and_fields() {
        let f =
            OutputFormat::parse("*%evt.num %proc.name (%thread.tid) 100%% %{fd.name}x").unwrap();
        assert!(f.print_all);
        let names: Vec<_> = f.fields().map(|f| f.def.name).collect();
        assert_eq!(names, ["evt.num", "proc.name", "thread.tid", "fd.name"]);
        let lits: Vec<_> = f
            .segments
            .iter()
            .filter_map(|s| match s {
                Segment::Literal(l) => Some(l.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(lits, [" ", " (", ") 100% ", "x"]);
    }

    #[test]
    fn reports_offset_of_bad_field() {
        let err = OutputFormat::parse("ok %proc.nope").unwrap_err();
        assert_eq!(err.offset, 4);
        assert!(OutputFormat::parse("%{proc.name").is_err());
        assert!(OutputFormat::parse("%").is_err());
    }
}
