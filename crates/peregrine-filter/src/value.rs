//! Values produced by field extraction.

use std::borrow::Cow;
use std::fmt::Write;
use std::net::IpAddr;

/// The type of a field, which decides how its values compare and print.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// Text.
    Str,
    /// A file system path (compares as text).
    Path,
    /// Unsigned integer.
    U64,
    /// Signed integer.
    I64,
    /// Boolean.
    Bool,
    /// IPv4 or IPv6 address.
    Ip,
    /// IP network (`10.0.0.0/8`).
    IpNet,
    /// TCP/UDP port.
    Port,
    /// Duration in nanoseconds.
    RelTime,
    /// Time since the epoch in nanoseconds.
    AbsTime,
    /// Raw bytes.
    Bytes,
}

impl FieldType {
    /// The name `--list` shows for the type.
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Str => "CHARBUF",
            FieldType::Path => "FSPATH",
            FieldType::U64 => "UINT64",
            FieldType::I64 => "INT64",
            FieldType::Bool => "BOOL",
            FieldType::Ip => "IPADDR",
            FieldType::IpNet => "IPNET",
            FieldType::Port => "PORT",
            FieldType::RelTime => "RELTIME",
            FieldType::AbsTime => "ABSTIME",
            FieldType::Bytes => "BYTEBUF",
        }
    }
}

/// One extracted value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    /// Text, borrowed from the event or the state when possible.
    Str(Cow<'a, str>),
    /// Raw bytes.
    Bytes(Cow<'a, [u8]>),
    /// Unsigned integer.
    U64(u64),
    /// Signed integer.
    I64(i64),
    /// Boolean.
    Bool(bool),
    /// Address.
    Ip(IpAddr),
}

impl Value<'_> {
    /// Appends the value as sysdig and Falco print it.
    pub fn render(&self, out: &mut String) {
        match self {
            Value::Str(s) => out.push_str(s),
            Value::Bytes(b) => out.push_str(&String::from_utf8_lossy(b)),
            Value::U64(v) => {
                let _ = write!(out, "{v}");
            }
            Value::I64(v) => {
                let _ = write!(out, "{v}");
            }
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Ip(ip) => {
                let _ = write!(out, "{ip}");
            }
        }
    }

    /// The value as text, allocating only for non-text values.
    pub fn to_text(&self) -> Cow<'_, str> {
        match self {
            Value::Str(s) => Cow::Borrowed(s.as_ref()),
            _ => {
                let mut s = String::new();
                self.render(&mut s);
                Cow::Owned(s)
            }
        }
    }

    /// The value as a signed number, for numeric comparisons.
    pub fn as_i128(&self) -> Option<i128> {
        match self {
            Value::U64(v) => Some(*v as i128),
            Value::I64(v) => Some(*v as i128),
            Value::Bool(b) => Some(*b as i128),
            Value::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

/// Converts a borrowed str into a value.
pub fn text(s: &str) -> Value<'_> {
    Value::Str(Cow::Borrowed(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_sysdig() {
        let mut s = String::new();
        Value::Bool(true).render(&mut s);
        s.push(' ');
        Value::I64(-1).render(&mut s);
        s.push(' ');
        Value::Ip("127.0.0.1".parse().unwrap()).render(&mut s);
        assert_eq!(s, "true -1 127.0.0.1");
    }

    #[test]
    fn numbers_compare_across_representations() {
        assert_eq!(text(" 42").as_i128(), Some(42));
        assert_eq!(Value::U64(u64::MAX).as_i128(), Some(u64::MAX as i128));
        assert_eq!(Value::Ip("::1".parse().unwrap()).as_i128(), None);
    }
}
