//! The collector: the lists, macros and rules read so far, merged across
//! files. Later definitions replace earlier ones in place (first-seen order
//! is kept), `append` and `override` update them.

use crate::result::{Context, ErrorCode, LoadResult, WarningCode};
use crate::{Config, Priority};
use peregrine_filter::condition::{OPERATORS, binary_op};
use std::collections::{BTreeSet, HashMap};

/// An error that stops reading or compiling a content: code, message and
/// where.
#[derive(Clone, Debug)]
pub struct Fail {
    /// The code.
    pub code: ErrorCode,
    /// The message.
    pub message: String,
    /// Where.
    pub context: Context,
}

pub(crate) fn fail<T>(
    code: ErrorCode,
    message: impl Into<String>,
    ctx: &Context,
) -> Result<T, Fail> {
    Err(Fail {
        code,
        message: message.into(),
        context: ctx.clone(),
    })
}

fn validate<T>(message: impl Into<String>, ctx: &Context) -> Result<T, Fail> {
    fail(ErrorCode::Validate, message, ctx)
}

/// A map that keeps first-insertion order; a redefinition keeps the slot.
#[derive(Clone, Debug)]
pub struct OrderedMap<T> {
    items: Vec<T>,
    index: HashMap<String, usize>,
}

impl<T> Default for OrderedMap<T> {
    fn default() -> Self {
        OrderedMap {
            items: Vec::new(),
            index: HashMap::new(),
        }
    }
}

impl<T> OrderedMap<T> {
    /// The entry called `name`.
    pub fn get(&self, name: &str) -> Option<&T> {
        self.index.get(name).map(|&i| &self.items[i])
    }
    /// The entry called `name`, mutably.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut T> {
        self.index.get(name).map(|&i| &mut self.items[i])
    }
    /// Inserts or replaces in place.
    pub fn insert(&mut self, name: &str, v: T) {
        match self.index.get(name) {
            Some(&i) => self.items[i] = v,
            None => {
                self.index.insert(name.to_string(), self.items.len());
                self.items.push(v);
            }
        }
    }
    /// Entries in first-seen order.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.items.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// A list definition.
#[derive(Clone, Debug)]
pub struct ListInfo {
    /// Name.
    pub name: String,
    /// Items, as written.
    pub items: Vec<String>,
    /// Where it was (last) defined.
    pub ctx: Context,
    /// Order of first definition.
    pub index: u32,
    /// Order of the last definition or update.
    pub visibility: u32,
}

/// A macro definition.
#[derive(Clone, Debug)]
pub struct MacroInfo {
    /// Name.
    pub name: String,
    /// Condition text (appended conditions joined by a space).
    pub cond: String,
    /// Where it was defined.
    pub ctx: Context,
    /// Where its condition is.
    pub cond_ctx: Context,
    /// Order of first definition.
    pub index: u32,
    /// Order of the last definition or update.
    pub visibility: u32,
}

/// One of an exception's `fields`, `comps` or `values`: a string or a list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExceptionEntry {
    /// True for a list.
    pub is_list: bool,
    /// The string, when not a list.
    pub item: String,
    /// The items, when a list.
    pub items: Vec<ExceptionEntry>,
}

impl ExceptionEntry {
    /// A string entry.
    pub fn string(s: &str) -> Self {
        ExceptionEntry {
            is_list: false,
            item: s.to_string(),
            items: Vec::new(),
        }
    }
    /// Whether it holds something.
    pub fn is_valid(&self) -> bool {
        if self.is_list {
            !self.items.is_empty()
        } else {
            !self.item.is_empty()
        }
    }
}

/// A rule exception.
#[derive(Clone, Debug)]
pub struct ExceptionInfo {
    /// Name.
    pub name: String,
    /// Field or fields.
    pub fields: ExceptionEntry,
    /// Comparison operator(s).
    pub comps: ExceptionEntry,
    /// Value tuples.
    pub values: Vec<ExceptionEntry>,
    /// Where.
    pub ctx: Context,
}

/// A rule definition as merged so far.
#[derive(Clone, Debug)]
pub struct RuleInfo {
    /// Name.
    pub name: String,
    /// Condition text.
    pub cond: String,
    /// Where the condition is.
    pub cond_ctx: Context,
    /// Output format.
    pub output: String,
    /// Where the output is.
    pub output_ctx: Context,
    /// Description.
    pub desc: String,
    /// Priority.
    pub priority: Priority,
    /// Event source.
    pub source: String,
    /// Tags.
    pub tags: BTreeSet<String>,
    /// Exceptions.
    pub exceptions: Vec<ExceptionInfo>,
    /// Enabled.
    pub enabled: bool,
    /// Warn when the rule matches too many event types.
    pub warn_evttypes: bool,
    /// Downgrade unknown fields to a warning and skip the rule.
    pub skip_if_unknown_filter: bool,
    /// Capture flag.
    pub capture: bool,
    /// Capture duration.
    pub capture_duration: u32,
    /// The source is not one the engine knows.
    pub unknown_source: bool,
    /// Where it was defined.
    pub ctx: Context,
    /// Order of first definition.
    pub index: u32,
    /// Order of the last definition or update.
    pub visibility: u32,
}

/// An `append`/`override` update to a rule.
#[derive(Clone, Debug, Default)]
pub struct RuleUpdate {
    /// Name.
    pub name: String,
    /// Source, if given.
    pub source: String,
    /// Condition.
    pub cond: Option<String>,
    /// Output.
    pub output: Option<String>,
    /// Description.
    pub desc: Option<String>,
    /// Tags.
    pub tags: Option<BTreeSet<String>>,
    /// Exceptions.
    pub exceptions: Option<Vec<ExceptionInfo>>,
    /// Priority.
    pub priority: Option<Priority>,
    /// Capture.
    pub capture: Option<bool>,
    /// Capture duration.
    pub capture_duration: Option<u32>,
    /// Enabled.
    pub enabled: Option<bool>,
    /// Warn on event types.
    pub warn_evttypes: Option<bool>,
    /// Skip if unknown filter.
    pub skip_if_unknown_filter: Option<bool>,
    /// Where.
    pub ctx: Option<Context>,
    /// True when the update came from `append: true` (not `override`).
    pub legacy_append: bool,
}

impl RuleUpdate {
    fn has_any_value(&self) -> bool {
        self.cond.is_some()
            || self.output.is_some()
            || self.desc.is_some()
            || self.tags.is_some()
            || self.exceptions.is_some()
            || self.priority.is_some()
            || self.enabled.is_some()
            || self.capture.is_some()
            || self.capture_duration.is_some()
            || self.warn_evttypes.is_some()
            || self.skip_if_unknown_filter.is_some()
    }
}

/// A required plugin version and its alternatives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginRequirement {
    /// Plugin name.
    pub name: String,
    /// Minimum version.
    pub version: String,
}

/// Everything read so far.
#[derive(Clone, Debug, Default)]
pub struct Collector {
    /// Lists.
    pub lists: OrderedMap<ListInfo>,
    /// Macros.
    pub macros: OrderedMap<MacroInfo>,
    /// Rules.
    pub rules: OrderedMap<RuleInfo>,
    /// Required plugin versions: each entry lists alternatives.
    pub required_plugin_versions: Vec<Vec<PluginRequirement>>,
    /// Highest required engine version seen (semver).
    pub required_engine_version: Option<(u64, u64, u64)>,
    cur_index: u32,
}

/// Parses `x.y.z` (with optional pre-release/build suffix on the patch).
pub fn parse_semver(s: &str) -> Option<(u64, u64, u64)> {
    let mut it = s.trim().splitn(3, '.');
    let a = it.next()?.parse().ok()?;
    let b = it.next()?.parse().ok()?;
    let c = it.next()?;
    let end = c.find(|ch: char| !ch.is_ascii_digit()).unwrap_or(c.len());
    if end == 0 {
        return None;
    }
    Some((a, b, c[..end].parse().ok()?))
}

/// True for a string operator with a list modifier (`startswith oneof`).
fn is_modifier_operator(op: &str) -> bool {
    binary_op(op).is_some_and(|o| o.modifier.is_some())
}

fn normalize_comp(s: &mut String) {
    *s = s.trim_matches([' ', '\t', '\r', '\n']).to_string();
}

impl Collector {
    fn next_index(&mut self) -> u32 {
        let i = self.cur_index;
        self.cur_index += 1;
        i
    }

    /// Checks a `required_engine_version` against the engine's.
    pub fn define_engine_version(
        &mut self,
        cfg: &Config,
        required: (u64, u64, u64),
        shown: &str,
        ctx: &Context,
    ) -> Result<(), Fail> {
        let engine = cfg.engine_version;
        let ok = engine.0 == required.0 && engine >= required;
        if !ok {
            let engine_shown = if shown.contains('.') {
                format!("{}.{}.{}", engine.0, engine.1, engine.2)
            } else {
                engine.1.to_string()
            };
            return validate(
                format!(
                    "Rules require engine version {shown}, but engine version is {engine_shown}"
                ),
                ctx,
            );
        }
        if self.required_engine_version.is_none_or(|v| v < required) {
            self.required_engine_version = Some(required);
        }
        Ok(())
    }

    /// Records a plugin requirement with its alternatives.
    pub fn define_plugin_versions(
        &mut self,
        alternatives: Vec<PluginRequirement>,
        ctx: &Context,
    ) -> Result<(), Fail> {
        let mut names = BTreeSet::new();
        for r in &alternatives {
            if parse_semver(&r.version).is_none() {
                return validate(
                    format!(
                        "Invalid required version '{}' for plugin '{}'",
                        r.version, r.name
                    ),
                    ctx,
                );
            }
            if !names.insert(r.name.clone()) {
                return validate(
                    format!(
                        "Defined multiple alternative version requirements for plugin '{}'",
                        r.name
                    ),
                    ctx,
                );
            }
        }
        self.required_plugin_versions.push(alternatives);
        Ok(())
    }

    /// Defines (or redefines) a list.
    pub fn define_list(&mut self, name: &str, items: Vec<String>, ctx: Context) {
        let id = self.next_index();
        let index = self.lists.get(name).map(|p| p.index).unwrap_or(id);
        self.lists.insert(
            name,
            ListInfo {
                name: name.to_string(),
                items,
                ctx,
                index,
                visibility: id,
            },
        );
    }

    /// Appends items to a list.
    pub fn append_list(
        &mut self,
        name: &str,
        items: Vec<String>,
        legacy: bool,
        ctx: &Context,
    ) -> Result<(), Fail> {
        let id = self.next_index();
        let Some(prev) = self.lists.get_mut(name) else {
            return validate(
                if legacy {
                    "List has 'append' key but no list by that name already exists"
                } else {
                    "List uses 'append' or 'override.items: append' but no list by that name already exists"
                },
                ctx,
            );
        };
        prev.items.extend(items);
        prev.visibility = id;
        Ok(())
    }

    /// Defines (or redefines) a macro.
    pub fn define_macro(&mut self, name: &str, cond: String, ctx: Context, cond_ctx: Context) {
        let id = self.next_index();
        let index = self.macros.get(name).map(|p| p.index).unwrap_or(id);
        self.macros.insert(
            name,
            MacroInfo {
                name: name.to_string(),
                cond,
                ctx,
                cond_ctx,
                index,
                visibility: id,
            },
        );
    }

    /// Appends to a macro's condition.
    pub fn append_macro(
        &mut self,
        name: &str,
        cond: &str,
        legacy: bool,
        ctx: &Context,
    ) -> Result<(), Fail> {
        let id = self.next_index();
        let Some(prev) = self.macros.get_mut(name) else {
            return validate(
                if legacy {
                    "Macro has 'append' key but no macro by that name already exists"
                } else {
                    "Macro uses 'append' or 'override.condition: append' but no macro by that name already exists"
                },
                ctx,
            );
        };
        prev.cond.push(' ');
        prev.cond.push_str(cond);
        prev.visibility = id;
        Ok(())
    }

    fn check_source(&self, name: &str, source: &str, ctx: &Context) -> Result<(), Fail> {
        if let Some(prev) = self.rules.get(name)
            && !prev.source.is_empty()
            && !source.is_empty()
            && prev.source != source
        {
            return validate("Rule has been re-defined with a different source", ctx);
        }
        Ok(())
    }

    /// Defines (or redefines) a rule.
    pub fn define_rule(
        &mut self,
        cfg: &Config,
        res: &mut LoadResult,
        mut info: RuleInfo,
    ) -> Result<(), Fail> {
        self.check_source(&info.name, &info.source, &info.ctx)?;
        let known = cfg.source(&info.source).is_some();
        if !known {
            info.unknown_source = true;
            res.add_warning(
                WarningCode::UnknownSource,
                format!("Unknown source {}, skipping", info.source),
                info.ctx.clone(),
            );
        }
        for ex in &mut info.exceptions {
            if !ex.fields.is_valid() {
                return validate(
                    "Rule exception item must have fields property with a list of fields",
                    &ex.ctx,
                );
            }
            validate_exception(cfg, known.then_some(info.source.as_str()), ex)?;
        }
        let id = self.next_index();
        info.index = self.rules.get(&info.name).map(|p| p.index).unwrap_or(id);
        info.visibility = id;
        let name = info.name.clone();
        self.rules.insert(&name, info);
        Ok(())
    }

    /// Applies `append: true` or `override: {key: append}`.
    pub fn append_rule(&mut self, cfg: &Config, upd: RuleUpdate) -> Result<(), Fail> {
        let ctx = upd.ctx.clone().unwrap_or_else(|| Context::root(""));
        self.check_source(&upd.name, &upd.source, &ctx)?;
        let id = self.next_index();
        let Some(prev) = self.rules.get_mut(&upd.name) else {
            return validate(
                if upd.legacy_append {
                    "Rule has 'append' key but no rule by that name already exists"
                } else {
                    "Rule uses 'append' or 'override.<key>: append' but no rule by that name already exists"
                },
                &ctx,
            );
        };
        if !upd.has_any_value() {
            return validate(
                "Appended rule must have exceptions or condition property",
                &ctx,
            );
        }
        let source = (!prev.unknown_source).then(|| prev.source.clone());
        if let Some(c) = upd.cond.filter(|c| !c.is_empty()) {
            prev.cond.push(' ');
            prev.cond.push_str(&c);
        }
        if let Some(c) = upd.output.filter(|c| !c.is_empty()) {
            prev.output.push(' ');
            prev.output.push_str(&c);
        }
        if let Some(c) = upd.desc.filter(|c| !c.is_empty()) {
            prev.desc.push(' ');
            prev.desc.push_str(&c);
        }
        if let Some(t) = upd.tags {
            prev.tags.extend(t);
        }
        if let Some(exs) = upd.exceptions {
            for mut ex in exs {
                match prev.exceptions.iter_mut().find(|p| p.name == ex.name) {
                    None => {
                        if !ex.fields.is_valid() {
                            return validate(
                                "Rule exception must have fields property with a list of fields",
                                &ex.ctx,
                            );
                        }
                        if ex.values.is_empty() {
                            return validate(
                                "Rule exception must have values property with a list of values",
                                &ex.ctx,
                            );
                        }
                        validate_exception(cfg, source.as_deref(), &mut ex)?;
                        prev.exceptions.push(ex);
                    }
                    Some(p) => {
                        if ex.fields.is_valid() {
                            return validate(
                                "Can not append exception fields to existing exception, only values",
                                &ex.ctx,
                            );
                        }
                        if ex.comps.is_valid() {
                            return validate(
                                "Can not append exception comps to existing exception, only values",
                                &ex.ctx,
                            );
                        }
                        p.values.extend(ex.values);
                    }
                }
            }
        }
        prev.visibility = id;
        Ok(())
    }

    /// Applies `override: {key: replace}`.
    pub fn replace_rule(&mut self, upd: RuleUpdate) -> Result<(), Fail> {
        let ctx = upd.ctx.clone().unwrap_or_else(|| Context::root(""));
        self.check_source(&upd.name, &upd.source, &ctx)?;
        let id = self.next_index();
        let Some(prev) = self.rules.get_mut(&upd.name) else {
            return validate(
                "An 'override.<key>: replace' to a rule was requested but no rule by that name already exists",
                &ctx,
            );
        };
        if !upd.has_any_value() {
            return validate(
                "The rule must have at least one field that can be replaced",
                &ctx,
            );
        }
        if let Some(v) = upd.cond {
            prev.cond = v;
        }
        if let Some(v) = upd.output {
            prev.output = v;
        }
        if let Some(v) = upd.desc {
            prev.desc = v;
        }
        if let Some(v) = upd.tags {
            prev.tags = v;
        }
        if let Some(v) = upd.exceptions {
            prev.exceptions = v;
        }
        if let Some(v) = upd.priority {
            prev.priority = v;
        }
        if let Some(v) = upd.capture {
            prev.capture = v;
        }
        if let Some(v) = upd.capture_duration {
            prev.capture_duration = v;
        }
        if let Some(v) = upd.enabled {
            prev.enabled = v;
        }
        if let Some(v) = upd.warn_evttypes {
            prev.warn_evttypes = v;
        }
        if let Some(v) = upd.skip_if_unknown_filter {
            prev.skip_if_unknown_filter = v;
        }
        prev.visibility = id;
        Ok(())
    }

    /// Applies a rule item with only `rule` and `enabled`.
    pub fn enable_rule(&mut self, name: &str, enabled: bool, ctx: &Context) -> Result<(), Fail> {
        let Some(prev) = self.rules.get_mut(name) else {
            return validate(
                "Rule has 'enabled' key but no rule by that name already exists",
                ctx,
            );
        };
        prev.enabled = enabled;
        Ok(())
    }
}

fn validate_exception(
    cfg: &Config,
    source: Option<&str>,
    ex: &mut ExceptionInfo,
) -> Result<(), Fail> {
    let known_field = |f: &str| match source.and_then(|s| cfg.source(s)) {
        Some(src) => (src.known_field)(f),
        None => true,
    };
    if ex.fields.is_list {
        if !ex.comps.is_valid() {
            ex.comps.is_list = true;
            ex.comps.items = ex
                .fields
                .items
                .iter()
                .map(|_| ExceptionEntry::string("="))
                .collect();
        }
        if ex.fields.items.len() != ex.comps.items.len() {
            return validate("Fields and comps lists must have equal length", &ex.ctx);
        }
        for c in &mut ex.comps.items {
            normalize_comp(&mut c.item);
            if !OPERATORS.contains(&c.item.as_str()) && !is_modifier_operator(&c.item) {
                return validate(
                    format!("'{}' is not a supported comparison operator", c.item),
                    &ex.ctx,
                );
            }
        }
        for f in &ex.fields.items {
            if source.is_some() && !known_field(&f.item) {
                return validate(
                    format!("'{}' is not a supported filter field", f.item),
                    &ex.ctx,
                );
            }
        }
    } else {
        if !ex.comps.is_valid() {
            ex.comps.is_list = false;
            ex.comps.item = "in".into();
        }
        if ex.comps.is_list {
            return validate("Fields and comps must both be strings", &ex.ctx);
        }
        normalize_comp(&mut ex.comps.item);
        let c = ex.comps.item.as_str();
        if c != "in" && c != "pmatch" && c != "intersects" && !is_modifier_operator(c) {
            return validate(
                "When fields is a single value, comps must be one of (in, pmatch, intersects) or a modifier operator (e.g. startswith oneof)",
                &ex.ctx,
            );
        }
        if source.is_some() && !known_field(&ex.fields.item) {
            return validate(
                format!("'{}' is not a supported filter field", ex.fields.item),
                &ex.ctx,
            );
        }
    }
    Ok(())
}
