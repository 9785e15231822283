//! Load results: Falco's error and warning codes, the chain of locations
//! that says where a problem is, and the JSON and text forms Falco prints.

use crate::yaml::Mark;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Falco's error codes (`LOAD_ERR_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// A file could not be read.
    FileRead,
    /// The content is not valid YAML.
    YamlParse,
    /// The YAML does not have the shape of a rules file.
    YamlValidate,
    /// A condition does not compile.
    CompileCondition,
    /// An output does not compile.
    CompileOutput,
    /// A rule, macro, list or exception is inconsistent.
    Validate,
}

impl ErrorCode {
    /// The code as Falco names it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::FileRead => "LOAD_ERR_FILE_READ",
            ErrorCode::YamlParse => "LOAD_ERR_YAML_PARSE",
            ErrorCode::YamlValidate => "LOAD_ERR_YAML_VALIDATE",
            ErrorCode::CompileCondition => "LOAD_ERR_COMPILE_CONDITION",
            ErrorCode::CompileOutput => "LOAD_ERR_COMPILE_OUTPUT",
            ErrorCode::Validate => "LOAD_ERR_VALIDATE",
        }
    }

    /// The short description Falco prints next to the code (also used as
    /// `codedesc` in JSON, as Falco does).
    pub fn summary(self) -> &'static str {
        match self {
            ErrorCode::FileRead => "File read error",
            ErrorCode::YamlParse => "YAML parse error",
            ErrorCode::YamlValidate => "Error validating internal structure of YAML file",
            ErrorCode::CompileCondition => "Error compiling condition",
            ErrorCode::CompileOutput => "Error compiling output",
            ErrorCode::Validate => "Error validating rule/macro/list/exception objects",
        }
    }
}

/// Falco's warning codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WarningCode {
    /// A rule's source is not known.
    UnknownSource,
    /// A condition compares with `<NA>`.
    UnsafeNaCheck,
    /// A rule matches too many event types.
    NoEvttype,
    /// Unknown field or event type, downgraded by `skip-if-unknown-filter`.
    UnknownFilter,
    /// A macro nobody uses.
    UnusedMacro,
    /// A list nobody uses.
    UnusedList,
    /// An unknown top-level item.
    UnknownItem,
    /// A deprecated construct.
    DeprecatedItem,
    /// A warning in an extension item.
    WarningExtension,
    /// An exception override/append without values.
    AppendNoValues,
    /// Two exceptions of one rule share a name.
    ExceptionNameNotUnique,
    /// A macro name that conditions cannot refer to.
    InvalidMacroName,
    /// A list name that conditions cannot refer to.
    InvalidListName,
    /// A warning from compiling a condition.
    CompileCondition,
    /// An unknown key in an item.
    UnknownKey,
}

impl WarningCode {
    /// The code as Falco names it.
    pub fn as_str(self) -> &'static str {
        match self {
            WarningCode::UnknownSource => "LOAD_UNKNOWN_SOURCE",
            WarningCode::UnsafeNaCheck => "LOAD_UNSAFE_NA_CHECK",
            WarningCode::NoEvttype => "LOAD_NO_EVTTYPE",
            WarningCode::UnknownFilter => "LOAD_UNKNOWN_FILTER",
            WarningCode::UnusedMacro => "LOAD_UNUSED_MACRO",
            WarningCode::UnusedList => "LOAD_UNUSED_LIST",
            WarningCode::UnknownItem => "LOAD_UNKNOWN_ITEM",
            WarningCode::DeprecatedItem => "LOAD_DEPRECATED_ITEM",
            WarningCode::WarningExtension => "LOAD_WARNING_EXTENSION",
            WarningCode::AppendNoValues => "LOAD_APPEND_NO_VALUES",
            WarningCode::ExceptionNameNotUnique => "LOAD_EXCEPTION_NAME_NOT_UNIQUE",
            WarningCode::InvalidMacroName => "LOAD_INVALID_MACRO_NAME",
            WarningCode::InvalidListName => "LOAD_INVALID_LIST_NAME",
            WarningCode::CompileCondition => "LOAD_COMPILE_CONDITION",
            WarningCode::UnknownKey => "LOAD_UNKNOWN_KEY",
        }
    }

    /// The short description printed next to the code.
    pub fn summary(self) -> &'static str {
        match self {
            WarningCode::UnknownSource => "Unknown event source",
            WarningCode::UnsafeNaCheck => "Unsafe <NA> comparison in condition",
            WarningCode::NoEvttype => "Condition has no event-type restriction",
            WarningCode::UnknownFilter => "Unknown field or event-type in condition or output",
            WarningCode::UnusedMacro => "Unused macro",
            WarningCode::UnusedList => "Unused list",
            WarningCode::UnknownItem => "Unknown rules file item",
            WarningCode::DeprecatedItem => "Used deprecated item",
            WarningCode::WarningExtension => "Warning in extension item",
            WarningCode::AppendNoValues => "Overriding/appending with no values",
            WarningCode::ExceptionNameNotUnique => "Multiple exceptions defined with the same name",
            WarningCode::InvalidMacroName => "Invalid macro name",
            WarningCode::InvalidListName => "Invalid list name",
            WarningCode::CompileCondition => "Warning in rule condition",
            WarningCode::UnknownKey => "Unknown key in item definition",
        }
    }

    /// The long description (`codedesc` in JSON).
    pub fn description(self) -> &'static str {
        match self {
            WarningCode::UnknownSource => {
                "A rule has a unknown event source. This can occur when reading rules content without having a corresponding plugin loaded, etc. The rule will be silently ignored."
            }
            WarningCode::UnsafeNaCheck => {
                "Comparing a field value with <NA> is unsafe and can lead to unpredictable behavior of the rule condition. If you need to check for the existence of a field, consider using the 'exists' operator instead."
            }
            WarningCode::NoEvttype => {
                "A rule condition matches too many evt.type values. This has a significant performance penalty. Make the condition more specific by adding an evt.type field or further restricting the number of evt.type values in the condition."
            }
            WarningCode::UnknownFilter => {
                "A rule condition or output refers to a field or evt.type that does not exist. This is normally an error, but if a rule has a skip-if-unknown-filter property, the error is downgraded to a warning."
            }
            WarningCode::UnusedMacro => {
                "A macro is defined in the rules content but is not used by any other macro or rule."
            }
            WarningCode::UnusedList => {
                "A list is defined in the rules content but is not used by any other list, macro, or rule."
            }
            WarningCode::UnknownItem => {
                "An unknown top-level object is in the rules content. It will be ignored."
            }
            WarningCode::DeprecatedItem => {
                "A deprecated item is employed by lists, macros, or rules."
            }
            WarningCode::WarningExtension => "An extension item has a warning",
            WarningCode::AppendNoValues => {
                "A rule exception is overriding/appending with no values"
            }
            WarningCode::ExceptionNameNotUnique => {
                "A rule is defining multiple exceptions with the same name"
            }
            WarningCode::InvalidMacroName => "A macro is defined with an invalid name",
            WarningCode::InvalidListName => "A list is defined with an invalid name",
            WarningCode::CompileCondition => {
                "A rule condition or output have been parsed with a warning"
            }
            WarningCode::UnknownKey => {
                "An item in the rules content contains an unrecognized key. The key will be ignored. This may indicate a typo or a property placed on the wrong item type."
            }
        }
    }
}

/// The kind of item a location points at (Falco's `item_type` strings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum ItemType {
    ValueFor,
    Exceptions,
    Exception,
    ExceptionValues,
    ExceptionValue,
    RulesContent,
    RulesContentItem,
    RequiredEngineVersion,
    RequiredPluginVersions,
    RequiredPluginVersionsEntry,
    RequiredPluginVersionsAlternative,
    List,
    ListItem,
    Macro,
    MacroCondition,
    Rule,
    RuleCondition,
    ConditionExpression,
    RuleOutput,
    RuleOutputExpression,
    RulePriority,
    Override,
    ExtensionItem,
}

impl ItemType {
    /// The name Falco prints.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemType::ValueFor => "value for",
            ItemType::Exceptions => "exceptions",
            ItemType::Exception => "exception",
            ItemType::ExceptionValues => "exception values",
            ItemType::ExceptionValue => "exception value",
            ItemType::RulesContent => "rules content",
            ItemType::RulesContentItem => "rules content item",
            ItemType::RequiredEngineVersion => "required_engine_version",
            ItemType::RequiredPluginVersions => "required plugin versions",
            ItemType::RequiredPluginVersionsEntry => "required plugin versions entry",
            ItemType::RequiredPluginVersionsAlternative => "required plugin versions alternative",
            ItemType::List => "list",
            ItemType::ListItem => "list item",
            ItemType::Macro => "macro",
            ItemType::MacroCondition => "macro condition",
            ItemType::Rule => "rule",
            ItemType::RuleCondition => "rule condition",
            ItemType::ConditionExpression => "condition expression",
            ItemType::RuleOutput => "rule output",
            ItemType::RuleOutputExpression => "rule output expression",
            ItemType::RulePriority => "rule priority",
            ItemType::Override => "overrides",
            ItemType::ExtensionItem => "extension item",
        }
    }
}

/// One step of a context: which content, where, what item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The content's name: a file name, or for positions inside a
    /// condition, the quoted start of the condition.
    pub name: String,
    /// Where (Falco's numbering: byte offset, 0-based line and column).
    pub pos: Mark,
    /// What kind of item.
    pub item_type: ItemType,
    /// The item's name, or empty.
    pub item_name: String,
}

/// Where a problem is: the chain from the file down to the item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    /// Locations, outermost first; never empty.
    pub locations: Vec<Location>,
    /// For positions inside a condition: the condition text, used for the
    /// snippet instead of the file.
    pub alt_content: Option<String>,
}

impl Context {
    /// The context of a whole rules content.
    pub fn root(name: &str) -> Context {
        Context {
            locations: vec![Location {
                name: name.to_string(),
                pos: Mark::default(),
                item_type: ItemType::RulesContent,
                item_name: String::new(),
            }],
            alt_content: None,
        }
    }

    /// The content name of the outermost location.
    pub fn name(&self) -> &str {
        self.locations
            .first()
            .map(|l| l.name.as_str())
            .unwrap_or("")
    }

    /// A child context for an item at `pos`.
    pub fn child(&self, pos: Mark, item_type: ItemType, item_name: &str) -> Context {
        let mut locations = self.locations.clone();
        locations.push(Location {
            name: self.name().to_string(),
            pos,
            item_type,
            item_name: item_name.to_string(),
        });
        Context {
            locations,
            alt_content: None,
        }
    }

    /// A child context for a position inside `condition` (line and column
    /// 1-based within the condition, as Falco's condition parser counts),
    /// offset by the position of the parent's last location.
    pub fn in_condition(&self, idx: usize, line: usize, col: usize, condition: &str) -> Context {
        let mut short: String = if condition.chars().count() > 20 {
            let head: String = condition.chars().take(17).collect();
            format!("\"{head}...\"")
        } else {
            format!("\"{condition}\"")
        };
        short = short.replace(['\n', '\r'], " ");
        let last = self.locations.last().map(|l| l.pos).unwrap_or_default();
        let mut locations = self.locations.clone();
        locations.push(Location {
            name: short,
            pos: Mark {
                pos: idx + last.pos,
                line: line + last.line,
                column: col + last.column,
            },
            item_type: ItemType::ConditionExpression,
            item_name: String::new(),
        });
        Context {
            locations,
            alt_content: Some(condition.to_string()),
        }
    }

    /// The locations as Falco prints them to stderr (`In rule 'x': (f:1:2)`).
    pub fn as_text(&self) -> String {
        let mut s = String::new();
        for (i, l) in self.locations.iter().enumerate() {
            s.push_str(if i == 0 { "In " } else { "    " });
            s.push_str(l.item_type.as_str());
            if !l.item_name.is_empty() {
                s.push_str(&format!(" '{}'", l.item_name));
            }
            s.push_str(&format!(": ({}:{}:{})\n", l.name, l.pos.line, l.pos.column));
        }
        s
    }

    /// The `locations` array of the JSON form.
    pub fn as_json(&self) -> Value {
        Value::Array(
            self.locations
                .iter()
                .map(|l| {
                    json!({
                        "item_type": l.item_type.as_str(),
                        "item_name": l.item_name,
                        "position": {
                            "name": l.name,
                            "line": l.pos.line,
                            "column": l.pos.column,
                            "offset": l.pos.pos,
                        }
                    })
                })
                .collect(),
        )
    }

    /// The line holding the last location, with a `^` under the position
    /// (at most `width` characters around it), as Falco prints it.
    pub fn snippet(&self, contents: &HashMap<String, String>, width: usize) -> String {
        let Some(loc) = self.locations.last() else {
            return "<No context available>\n".to_string();
        };
        let text: &str = match (&self.alt_content, contents.get(&loc.name)) {
            (Some(alt), _) => alt,
            (None, Some(c)) => c,
            (None, None) => return format!("<No context for file + {}>\n", loc.name),
        };
        let b = text.as_bytes();
        if b.is_empty() {
            return "<No context available>\n".to_string();
        }
        let half = width / 2;
        let mut pos = loc.pos.pos;
        while pos > 0 && (pos >= b.len() || b[pos] == b'\n') {
            pos -= 1;
        }
        let mut from = pos;
        while from > 0 && b[from] != b'\n' && pos - from < half {
            from -= 1;
        }
        let mut to = pos;
        while to + 1 < b.len() && b[to] != b'\n' && to - pos < half {
            to += 1;
        }
        if from < b.len() && b[from] == b'\n' {
            from += 1;
        }
        if to < b.len() && b[to] == b'\n' && to > 0 {
            to -= 1;
        }
        if to + 1 < from {
            return "<No context available>\n".to_string();
        }
        let mut ret: Vec<u8> = b[from..=to.min(b.len() - 1)].to_vec();
        if ret.is_empty() {
            return "<No context available>\n".to_string();
        }
        if pos >= from && pos - from >= half && ret.len() >= 3 {
            ret[..3].copy_from_slice(b"...");
        }
        if to >= pos && to - pos >= half && ret.len() >= 3 {
            let n = ret.len();
            ret[n - 3..].copy_from_slice(b"...");
        }
        let mut s = String::from_utf8_lossy(&ret).into_owned();
        s.push('\n');
        if pos >= from && pos - from < ret.len() {
            s.push_str(&" ".repeat(pos - from));
            s.push_str("^\n");
        }
        s
    }
}

/// Falco's default snippet width.
pub const SNIPPET_WIDTH: usize = 160;

/// An error found while loading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// The code.
    pub code: ErrorCode,
    /// The message.
    pub message: String,
    /// Where.
    pub context: Context,
}

/// A warning found while loading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadWarning {
    /// The code.
    pub code: WarningCode,
    /// The message.
    pub message: String,
    /// Where.
    pub context: Context,
    /// For deprecated-field warnings, the field.
    pub deprecated_field: Option<String>,
}

/// The result of loading one rules content (one file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadResult {
    /// The content's name (usually the file path).
    pub name: String,
    /// False once any error was added.
    pub successful: bool,
    /// Errors, in the order found.
    pub errors: Vec<LoadError>,
    /// Warnings, in the order found.
    pub warnings: Vec<LoadWarning>,
}

impl LoadResult {
    /// An empty, successful result.
    pub fn new(name: &str) -> Self {
        LoadResult {
            name: name.to_string(),
            successful: true,
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Adds an error (the result becomes unsuccessful).
    pub fn add_error(&mut self, code: ErrorCode, message: impl Into<String>, context: Context) {
        self.successful = false;
        self.errors.push(LoadError {
            code,
            message: message.into(),
            context,
        });
    }

    /// Adds a warning.
    pub fn add_warning(&mut self, code: WarningCode, message: impl Into<String>, context: Context) {
        self.warnings.push(LoadWarning {
            code,
            message: message.into(),
            context,
            deprecated_field: None,
        });
    }

    /// The JSON object Falco prints for this result with `-V` and
    /// `json_output`; `contents` maps content names to their text.
    pub fn as_json(&self, contents: &HashMap<String, String>) -> Value {
        let errors: Vec<Value> = self
            .errors
            .iter()
            .map(|e| {
                let mut ctx = json!({ "locations": e.context.as_json() });
                ctx["snippet"] = Value::String(e.context.snippet(contents, SNIPPET_WIDTH));
                json!({
                    "context": ctx,
                    "code": e.code.as_str(),
                    "codedesc": e.code.summary(),
                    "message": e.message,
                })
            })
            .collect();
        let warnings: Vec<Value> = self
            .warnings
            .iter()
            .map(|w| {
                let mut ctx = json!({ "locations": w.context.as_json() });
                ctx["snippet"] = Value::String(w.context.snippet(contents, SNIPPET_WIDTH));
                let mut j = json!({
                    "context": ctx,
                    "code": w.code.as_str(),
                    "codedesc": w.code.description(),
                    "message": w.message,
                });
                if let Some(f) = &w.deprecated_field {
                    j["deprecated_field"] = Value::String(f.clone());
                }
                j
            })
            .collect();
        json!({
            "name": self.name,
            "successful": self.successful,
            "errors": errors,
            "warnings": warnings,
        })
    }

    /// The one-line summary: `name: Ok`, `name: Ok, with warnings` or
    /// `name: Invalid`, followed by the lists of codes.
    pub fn as_summary_text(&self) -> String {
        let mut s = self.header();
        if !self.errors.is_empty() {
            let codes: Vec<String> = self
                .errors
                .iter()
                .map(|e| format!("{} ({})", e.code.as_str(), e.code.summary()))
                .collect();
            s.push_str(&format!(
                "\n {} errors: [{}]",
                self.errors.len(),
                codes.join(" ")
            ));
        }
        if !self.warnings.is_empty() {
            let codes: Vec<String> = self
                .warnings
                .iter()
                .map(|w| format!("{} ({})", w.code.as_str(), w.code.summary()))
                .collect();
            s.push_str(&format!(
                "\n {} warnings: [{}]",
                self.warnings.len(),
                codes.join(" ")
            ));
        }
        s
    }

    fn header(&self) -> String {
        let mut s = String::new();
        if !self.name.is_empty() {
            s.push_str(&self.name);
            s.push_str(": ");
        }
        if self.successful {
            s.push_str("Ok");
            if !self.warnings.is_empty() {
                s.push_str(", with warnings");
            }
        } else {
            s.push_str("Invalid");
        }
        s
    }

    /// The detailed text Falco prints to stderr: every error and warning
    /// with its locations, snippet, code and message.
    pub fn as_verbose_text(&self, contents: &HashMap<String, String>) -> String {
        let mut s = self.header();
        if !self.errors.is_empty() {
            s.push_str(&format!("\n{} Errors:\n", self.errors.len()));
            for e in &self.errors {
                s.push_str(&e.context.as_text());
                s.push_str("------\n");
                s.push_str(&e.context.snippet(contents, SNIPPET_WIDTH));
                s.push_str("------\n");
                s.push_str(&format!(
                    "{} ({}): {}\n",
                    e.code.as_str(),
                    e.code.summary(),
                    e.message
                ));
            }
        }
        if !self.warnings.is_empty() {
            s.push_str(&format!("\n{} Warnings:\n", self.warnings.len()));
            for w in &self.warnings {
                s.push_str(&w.context.as_text());
                s.push_str("------\n");
                s.push_str(&w.context.snippet(contents, SNIPPET_WIDTH));
                s.push_str("------\n");
                s.push_str(&format!(
                    "{} ({}): {}\n",
                    w.code.as_str(),
                    w.code.summary(),
                    w.message
                ));
            }
        }
        s
    }
}

/// The `-V` JSON document for several results:
/// `{"falco_load_results": [...]}`.
pub fn results_json(results: &[LoadResult], contents: &HashMap<String, String>) -> Value {
    json!({
        "falco_load_results": results.iter().map(|r| r.as_json(contents)).collect::<Vec<_>>()
    })
}
