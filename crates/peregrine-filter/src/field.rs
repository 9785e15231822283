//! Parsed field references such as `proc.aname[2]` or `evt.arg.fd`.

use crate::registry::{ArgSpec, FieldDef, lookup};
use std::fmt;

/// The argument given to a field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldArg {
    /// None given.
    None,
    /// `[N]`.
    Index(u32),
    /// `.name` or `[name]`.
    Name(Box<str>),
}

/// A field reference bound to its definition.
#[derive(Clone, Debug)]
pub struct Field {
    /// The field's definition.
    pub def: &'static FieldDef,
    /// Its argument.
    pub arg: FieldArg,
}

/// Why a field reference is not valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldError {
    /// No field of that name.
    Unknown(String),
    /// The field needs an argument that is missing or of the wrong kind.
    BadArgument {
        /// Field name.
        field: &'static str,
        /// What was wrong.
        reason: &'static str,
    },
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldError::Unknown(name) => write!(f, "unknown field '{name}'"),
            FieldError::BadArgument { field, reason } => write!(f, "field '{field}': {reason}"),
        }
    }
}

impl std::error::Error for FieldError {}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'.'
}

impl Field {
    /// Parses a field reference at the start of `text`; returns it and the
    /// number of bytes it spans. The reference ends at the first byte that
    /// cannot belong to a field name, or after a closing `]`.
    pub fn parse_prefix(text: &str) -> Result<(Field, usize), FieldError> {
        let bytes = text.as_bytes();
        let mut end = bytes
            .iter()
            .position(|&b| !is_name_byte(b))
            .unwrap_or(bytes.len());
        // A trailing dot is punctuation, not part of the name.
        while end > 0 && bytes[end - 1] == b'.' {
            end -= 1;
        }
        let name = &text[..end];
        let (def, mut arg) = match lookup(name) {
            Some(def) => (def, FieldArg::None),
            None => resolve_dotted_arg(name)?,
        };
        let mut consumed = end;
        if bytes.get(end) == Some(&b'[') {
            let close = text[end..].find(']').ok_or(FieldError::BadArgument {
                field: def.name,
                reason: "missing ']'",
            })?;
            let inner = &text[end + 1..end + close];
            arg = match inner.parse::<u32>() {
                Ok(n) => FieldArg::Index(n),
                Err(_) if !inner.is_empty() => FieldArg::Name(inner.into()),
                Err(_) => {
                    return Err(FieldError::BadArgument {
                        field: def.name,
                        reason: "empty '[]'",
                    });
                }
            };
            consumed = end + close + 1;
        }
        check_arg(def, &arg)?;
        Ok((Field { def, arg }, consumed))
    }

    /// Parses a whole string as one field reference.
    pub fn parse(text: &str) -> Result<Field, FieldError> {
        match Field::parse_prefix(text)? {
            (field, n) if n == text.len() => Ok(field),
            _ => Err(FieldError::Unknown(text.to_string())),
        }
    }

    /// The reference as written canonically (`proc.aname[2]`).
    pub fn canonical(&self) -> String {
        match &self.arg {
            FieldArg::None => self.def.name.to_string(),
            FieldArg::Index(i) => format!("{}[{i}]", self.def.name),
            FieldArg::Name(n) if self.def.arg == ArgSpec::NameOrIndex => {
                format!("{}.{n}", self.def.name)
            }
            FieldArg::Name(n) => format!("{}[{n}]", self.def.name),
        }
    }
}

/// `evt.arg.fd` style: the longest registered prefix taking a name.
fn resolve_dotted_arg(name: &str) -> Result<(&'static FieldDef, FieldArg), FieldError> {
    let mut cut = name.len();
    while let Some(dot) = name[..cut].rfind('.') {
        if let Some(def) = lookup(&name[..dot])
            && def.arg == ArgSpec::NameOrIndex
        {
            return Ok((def, FieldArg::Name(name[dot + 1..].into())));
        }
        cut = dot;
    }
    Err(FieldError::Unknown(name.to_string()))
}

fn check_arg(def: &'static FieldDef, arg: &FieldArg) -> Result<(), FieldError> {
    let bad = |reason| {
        Err(FieldError::BadArgument {
            field: def.name,
            reason,
        })
    };
    match (def.arg, arg) {
        (ArgSpec::None, FieldArg::None) => Ok(()),
        (ArgSpec::None, _) => bad("takes no argument"),
        (ArgSpec::Index, FieldArg::Index(_)) => Ok(()),
        (ArgSpec::Index, _) => bad("needs a numeric index"),
        (ArgSpec::OptionalIndex, FieldArg::Name(_)) => bad("index must be a number"),
        (ArgSpec::OptionalIndex, _) => Ok(()),
        (ArgSpec::NameOrIndex, FieldArg::None) => bad("needs an argument name or index"),
        (ArgSpec::NameOrIndex, _) => Ok(()),
        (ArgSpec::OptionalKey, _) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::FieldId;

    #[test]
    fn parses_plain_indexed_and_named_fields() {
        let f = Field::parse("proc.name").unwrap();
        assert_eq!(f.def.id, FieldId::ProcName);
        let f = Field::parse("proc.aname[2]").unwrap();
        assert_eq!((f.def.id, f.arg), (FieldId::ProcAname, FieldArg::Index(2)));
        let f = Field::parse("evt.arg.fd").unwrap();
        assert_eq!(
            (f.def.id, f.arg),
            (FieldId::EvtArg, FieldArg::Name("fd".into()))
        );
        let f = Field::parse("evt.arg[1]").unwrap();
        assert_eq!(f.arg, FieldArg::Index(1));
        let f = Field::parse("proc.env[HOME]").unwrap();
        assert_eq!(f.arg, FieldArg::Name("HOME".into()));
    }

    #[test]
    fn prefix_stops_at_punctuation() {
        let (f, n) = Field::parse_prefix("fd.name) and").unwrap();
        assert_eq!((f.def.name, n), ("fd.name", 7));
        let (f, n) = Field::parse_prefix("proc.name.").unwrap();
        assert_eq!((f.def.name, n), ("proc.name", 9));
        let (f, n) = Field::parse_prefix("proc.aname[3]:x").unwrap();
        assert_eq!((f.canonical(), n), ("proc.aname[3]".to_string(), 13));
    }

    #[test]
    fn rejects_bad_references() {
        assert!(matches!(
            Field::parse("proc.nope"),
            Err(FieldError::Unknown(_))
        ));
        assert!(Field::parse("evt.arg").is_err());
        assert!(Field::parse("proc.name[1]").is_err());
        assert!(Field::parse("proc.aname[x]").is_err());
        assert!(Field::parse("proc.aname[1").is_err());
        assert!(Field::parse("").is_err());
    }
}
