//! Choosing which loaded rules run: by name (substring or regular
//! expression, as `-D` does), by tag (`-t`, `-T`) and by priority.

use regex::Regex;
use std::collections::BTreeSet;

/// A rule-name pattern: a substring, or a regular expression when the
/// text is a valid one (Falco matches `-D` both ways).
#[derive(Clone, Debug)]
pub struct NamePattern {
    text: String,
    regex: Option<Regex>,
}

impl NamePattern {
    /// A pattern from `-D` text.
    pub fn new(text: &str) -> NamePattern {
        NamePattern {
            text: text.to_string(),
            regex: Regex::new(text).ok(),
        }
    }

    /// True when `name` contains the text or matches the expression.
    pub fn matches(&self, name: &str) -> bool {
        name.contains(&self.text) || self.regex.as_ref().is_some_and(|r| r.is_match(name))
    }
}

/// True when any of `tags` is in `wanted`.
pub fn has_any_tag(tags: &BTreeSet<String>, wanted: &[String]) -> bool {
    wanted.iter().any(|t| tags.contains(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substrings_and_regexes() {
        assert!(NamePattern::new("open").matches("open_from_cat"));
        assert!(NamePattern::new("open.*cat").matches("open_from_cat"));
        assert!(NamePattern::new("(bad regex").matches("a (bad regex here"));
        assert!(!NamePattern::new("^cat").matches("open_from_cat"));
    }

    #[test]
    fn tags() {
        let tags: BTreeSet<String> = ["a".to_string(), "b".to_string()].into();
        assert!(has_any_tag(&tags, &["b".into()]));
        assert!(!has_any_tag(&tags, &["c".into()]));
        assert!(!has_any_tag(&tags, &[]));
    }
}
