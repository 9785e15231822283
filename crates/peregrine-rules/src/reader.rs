//! The reader: YAML documents to list, macro, rule and version items,
//! validated as Falco validates them, handed to the collector.

use crate::collector::{
    Collector, ExceptionEntry, ExceptionInfo, Fail, PluginRequirement, RuleInfo, RuleUpdate, fail,
    parse_semver,
};
use crate::result::{Context, ErrorCode, ItemType, LoadResult, WarningCode};
use crate::yaml::{self, Node, NodeKind};
use crate::{Config, Priority};
use std::collections::BTreeSet;

const WARNING_APPEND: &str = "'append' key is deprecated. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.";
const WARNING_ENABLED: &str = "The standalone 'enabled' key usage is deprecated. The correct approach requires also a 'replace' entry under the 'override' key (i.e. 'enabled: replace').";
const ERROR_OVERRIDE_APPEND: &str = "Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.";

type R<T> = Result<T, Fail>;

fn bad<T>(message: impl Into<String>, ctx: &Context) -> R<T> {
    fail(ErrorCode::YamlValidate, message, ctx)
}

/// Finds and checks a scalar value under `key`; `None` when absent and
/// optional, or empty and allowed to be.
fn scalar<'a>(
    item: &'a Node,
    key: &str,
    ctx: &Context,
    optional: bool,
    can_be_empty: bool,
) -> R<Option<(&'a str, Context)>> {
    let Some(val) = item.get(key) else {
        if optional {
            return Ok(None);
        }
        return bad(format!("Item has no mapping for key '{key}'"), ctx);
    };
    if val.is_null() {
        if can_be_empty {
            return Ok(None);
        }
        return bad(format!("Mapping for key '{key}' is empty"), ctx);
    }
    let vctx = ctx.child(val.mark, ItemType::ValueFor, key);
    let Some(s) = val.scalar() else {
        return bad("Value is not a scalar value", &vctx);
    };
    if s.is_empty() {
        if can_be_empty {
            return Ok(None);
        }
        return bad("Value must be non-empty", &vctx);
    }
    Ok(Some((s, vctx)))
}

fn string(item: &Node, key: &str, ctx: &Context) -> R<String> {
    Ok(scalar(item, key, ctx, false, false)?
        .map(|(s, _)| s.to_string())
        .unwrap_or_default())
}

fn opt_string(item: &Node, key: &str, ctx: &Context) -> R<Option<String>> {
    Ok(scalar(item, key, ctx, true, false)?.map(|(s, _)| s.to_string()))
}

fn decode<T>(
    item: &Node,
    key: &str,
    ctx: &Context,
    optional: bool,
    f: fn(&str) -> Option<T>,
) -> R<Option<T>> {
    match scalar(item, key, ctx, optional, false)? {
        None => Ok(None),
        Some((s, vctx)) => match f(s) {
            Some(v) => Ok(Some(v)),
            None => bad("Can't decode YAML scalar value", &vctx),
        },
    }
}

fn opt_bool(item: &Node, key: &str, ctx: &Context) -> R<Option<bool>> {
    decode(item, key, ctx, true, yaml::decode_bool)
}

fn seq(item: &Node, key: &str, ctx: &Context, optional: bool) -> R<Option<Vec<String>>> {
    let Some(val) = item.get(key) else {
        if optional {
            return Ok(None);
        }
        return bad(format!("Item has no mapping for key '{key}'"), ctx);
    };
    let vctx = ctx.child(val.mark, ItemType::ValueFor, key);
    if !val.is_seq() {
        return bad("Value is not a sequence", &vctx);
    }
    let mut out = Vec::new();
    for v in val.items() {
        let ictx = vctx.child(v.mark, ItemType::ListItem, "");
        match v.scalar() {
            Some(s) => out.push(s.to_string()),
            None => return bad("sequence value is not scalar", &ictx),
        }
    }
    Ok(Some(out))
}

fn tags(item: &Node, ctx: &Context) -> R<Option<BTreeSet<String>>> {
    Ok(seq(item, "tags", ctx, true)?.map(|v| v.into_iter().collect()))
}

fn is_identifier(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphabetic()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

fn is_barestr(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            !matches!(
                b,
                b'(' | b')'
                    | b'"'
                    | b'\''
                    | b'='
                    | b','
                    | b' '
                    | b'\t'
                    | b'\n'
                    | b'\r'
                    | 0x0b
                    | 0x0c
            )
        })
}

/// Reads `override:`; returns the keys to append and to replace.
fn overrides(
    item: &Node,
    can_append: &[&str],
    can_replace: &[&str],
    ctx: &Context,
) -> R<(BTreeSet<String>, BTreeSet<String>)> {
    let mut app = BTreeSet::new();
    let mut rep = BTreeSet::new();
    let Some(val) = item.get("override") else {
        return Ok((app, rep));
    };
    let octx = ctx.child(item.mark, ItemType::Override, "");
    for (k, v) in val.entries() {
        let (Some(key), Some(op)) = (k.scalar(), v.scalar()) else {
            let m = if k.scalar().is_none() { k.mark } else { v.mark };
            return fail(
                ErrorCode::Validate,
                format!(
                    "yaml-cpp: error at line {}, column {}: bad conversion",
                    m.line + 1,
                    m.column + 1
                ),
                &Context::root(ctx.name()),
            );
        };
        let is_app = can_append.contains(&key);
        let is_rep = can_replace.contains(&key);
        match op {
            "append" => {
                if !is_app {
                    let kctx = octx.child(k.mark, ItemType::Override, key);
                    return bad(
                        format!("Key '{key}' cannot be appended to, use 'replace' instead"),
                        &kctx,
                    );
                }
                app.insert(key.to_string());
            }
            "replace" => {
                if !is_rep {
                    let kctx = octx.child(k.mark, ItemType::Override, key);
                    return bad(format!("Key '{key}' cannot be replaced"), &kctx);
                }
                rep.insert(key.to_string());
            }
            _ => {
                let vctx = octx.child(v.mark, ItemType::ValueFor, key);
                let mut msg = format!(
                    "Invalid override operation for key '{key}': '{op}'. Allowed values are: "
                );
                if is_app {
                    msg.push_str("append ");
                }
                if is_rep {
                    msg.push_str("replace ");
                }
                return bad(msg, &vctx);
            }
        }
    }
    Ok((app, rep))
}

fn exception_entry(
    val: Option<&Node>,
    key: Option<&str>,
    ctx: &Context,
    optional: bool,
) -> R<ExceptionEntry> {
    let mut out = ExceptionEntry::default();
    let Some(val) = val else {
        if optional {
            return Ok(out);
        }
        return bad(
            format!("Item has no mapping for key '{}'", key.unwrap_or("")),
            ctx,
        );
    };
    let vctx = ctx.child(val.mark, ItemType::ValueFor, key.unwrap_or(""));
    match &val.kind {
        NodeKind::Scalar { value, .. } => {
            if value.is_empty() {
                return bad("Value must be non-empty", &vctx);
            }
            out.item = value.clone();
        }
        NodeKind::Seq(items) => {
            out.is_list = true;
            for v in items {
                let lctx = vctx.child(v.mark, ItemType::Exception, "");
                out.items
                    .push(exception_entry(Some(v), None, &lctx, false)?);
            }
        }
        _ => {}
    }
    Ok(out)
}

fn exceptions(
    res: &mut LoadResult,
    item: &Node,
    parent: &Context,
    append: bool,
) -> R<Vec<ExceptionInfo>> {
    let mut out: Vec<ExceptionInfo> = Vec::new();
    let Some(exs) = item.get("exceptions") else {
        return Ok(out);
    };
    if exs.is_null() {
        return Ok(out);
    }
    let exes_ctx = parent.child(exs.mark, ItemType::Exceptions, "");
    if !exs.is_seq() {
        return bad("Rule exceptions must be a sequence", &exes_ctx);
    }
    for ex in exs.items() {
        let tmp = exes_ctx.child(ex.mark, ItemType::Exception, "");
        if !ex.is_map() {
            return bad("Rule exception must be a mapping", &tmp);
        }
        let name = string(ex, "name", &tmp)?;
        let ex_ctx = parent.child(ex.mark, ItemType::Exception, &name);
        if out.iter().any(|e| e.name == name) {
            res.add_warning(
                WarningCode::ExceptionNameNotUnique,
                format!("Multiple definitions of exception '{name}' in the same rule"),
                ex_ctx.clone(),
            );
        }
        let fields = exception_entry(ex.get("fields"), Some("fields"), &ex_ctx, append)?;
        let comps = exception_entry(ex.get("comps"), Some("comps"), &ex_ctx, true)?;
        let mut values = Vec::new();
        match ex.get("values") {
            Some(vals) => {
                let vals_ctx = ex_ctx.child(vals.mark, ItemType::ExceptionValues, "");
                if !vals.is_seq() {
                    return bad("Rule exception values must be a sequence", &vals_ctx);
                }
                for v in vals.items() {
                    let vctx = vals_ctx.child(v.mark, ItemType::ExceptionValue, "");
                    values.push(exception_entry(Some(v), None, &vctx, false)?);
                }
            }
            None if append => res.add_warning(
                WarningCode::AppendNoValues,
                "Overriding/appending exception with no values",
                ex_ctx.clone(),
            ),
            None => {}
        }
        out.push(ExceptionInfo {
            name,
            fields,
            comps,
            values,
            ctx: ex_ctx,
        });
    }
    Ok(out)
}

fn warn_unknown_keys(res: &mut LoadResult, item: &Node, expected: &[&str], ctx: &Context) {
    for (k, _) in item.entries() {
        let key = k.scalar().unwrap_or("");
        if !expected.contains(&key) {
            res.add_warning(
                WarningCode::UnknownKey,
                format!("Unknown key '{key}'. The key will be ignored."),
                ctx.clone(),
            );
        }
    }
}

/// Parses a priority name (case-insensitive; `info` is `informational`).
pub fn parse_priority(s: &str) -> Option<Priority> {
    Priority::ALL
        .iter()
        .copied()
        .find(|p| p.name().eq_ignore_ascii_case(s))
        .or_else(|| {
            s.eq_ignore_ascii_case("info")
                .then_some(Priority::Informational)
        })
}

fn priority(item: &Node, ctx: &Context) -> R<Priority> {
    let p = string(item, "priority", ctx)?;
    let pctx = ctx.child(
        item.get("priority").map(|n| n.mark).unwrap_or_default(),
        ItemType::RulePriority,
        "",
    );
    match parse_priority(&p) {
        Some(p) => Ok(p),
        None => bad("Invalid priority", &pctx),
    }
}

const RULE_APPENDABLE: &[&str] = &["condition", "output", "desc", "tags", "exceptions"];
const RULE_REPLACEABLE: &[&str] = &[
    "condition",
    "output",
    "desc",
    "priority",
    "capture",
    "capture_duration",
    "tags",
    "exceptions",
    "enabled",
    "warn_evttypes",
    "skip-if-unknown-filter",
];

fn read_item(
    cfg: &Config,
    col: &mut Collector,
    res: &mut LoadResult,
    item: &Node,
    parent: &Context,
) -> R<()> {
    if !item.is_map() {
        let tmp = parent.child(item.mark, ItemType::RulesContentItem, "");
        return bad(
            "Unexpected element type. Each element should be a yaml associative array.",
            &tmp,
        );
    }
    if item.get("required_engine_version").is_some() {
        let ctx = parent.child(item.mark, ItemType::RequiredEngineVersion, "");
        let (text, _) = scalar(item, "required_engine_version", &ctx, false, false)?
            .unwrap_or(("", ctx.clone()));
        let (req, shown) = match yaml::decode_u32(text) {
            Some(n) => (
                (cfg.engine_version.0, n as u64, cfg.engine_version.2),
                n.to_string(),
            ),
            None => match parse_semver(text) {
                Some(v) => (v, text.to_string()),
                None => {
                    let vctx = ctx.child(
                        item.get("required_engine_version")
                            .map(|n| n.mark)
                            .unwrap_or_default(),
                        ItemType::ValueFor,
                        "required_engine_version",
                    );
                    return bad("Can't decode YAML scalar value", &vctx);
                }
            },
        };
        col.define_engine_version(cfg, req, &shown, &ctx)?;
        warn_unknown_keys(res, item, &["required_engine_version"], &ctx);
    } else if let Some(rpv) = item.get("required_plugin_versions") {
        let ctx = parent.child(rpv.mark, ItemType::RequiredPluginVersions, "");
        if !rpv.is_seq() {
            return bad("Value of required_plugin_versions must be a sequence", &ctx);
        }
        for plugin in rpv.items() {
            let tmp = ctx.child(plugin.mark, ItemType::RequiredPluginVersionsEntry, "");
            if !plugin.is_map() {
                return bad("Plugin version must be a mapping", &tmp);
            }
            let name = string(plugin, "name", &tmp)?;
            let pctx = ctx.child(plugin.mark, ItemType::RequiredPluginVersionsEntry, &name);
            let version = string(plugin, "version", &pctx)?;
            let mut alts = vec![PluginRequirement { name, version }];
            if let Some(a) = plugin.get("alternatives") {
                if !a.is_seq() {
                    return bad(
                        "Value of plugin version alternatives must be a sequence",
                        &pctx,
                    );
                }
                for req in a.items() {
                    let tmp = pctx.child(req.mark, ItemType::RequiredPluginVersionsAlternative, "");
                    if !req.is_map() {
                        return bad("Plugin version alternative must be a mapping", &tmp);
                    }
                    let name = string(req, "name", &tmp)?;
                    let tmp =
                        pctx.child(req.mark, ItemType::RequiredPluginVersionsAlternative, &name);
                    let version = string(req, "version", &tmp)?;
                    alts.push(PluginRequirement { name, version });
                }
            }
            col.define_plugin_versions(alts, &pctx)?;
        }
        let rctx = parent.child(item.mark, ItemType::RequiredPluginVersions, "");
        warn_unknown_keys(res, item, &["required_plugin_versions"], &rctx);
    } else if item.get("list").is_some() {
        let tmp = parent.child(item.mark, ItemType::List, "");
        let name = string(item, "list", &tmp)?;
        let ctx = parent.child(item.mark, ItemType::List, &name);
        if !is_barestr(&name) {
            res.add_warning(
                WarningCode::InvalidListName,
                "List has an invalid name. List names should match a regular expression: ([^()\"'[:space:]=,]+)",
                ctx.clone(),
            );
        }
        let items = seq(item, "items", &ctx, false)?.unwrap_or_default();
        let append = opt_bool(item, "append", &ctx)?.unwrap_or(false);
        if append {
            res.add_warning(WarningCode::DeprecatedItem, WARNING_APPEND, ctx.clone());
        }
        let (oa, or) = overrides(item, &["items"], &["items"], &ctx)?;
        if append && (!oa.is_empty() || !or.is_empty()) {
            return bad(ERROR_OVERRIDE_APPEND, &ctx);
        }
        if append || oa.contains("items") {
            col.append_list(&name, items, append, &ctx)?;
        } else {
            col.define_list(&name, items, ctx.clone());
        }
        warn_unknown_keys(res, item, &["list", "items", "append", "override"], &ctx);
    } else if item.get("macro").is_some() {
        let tmp = parent.child(item.mark, ItemType::Macro, "");
        let name = string(item, "macro", &tmp)?;
        let ctx = parent.child(item.mark, ItemType::Macro, &name);
        if !is_identifier(&name) {
            res.add_warning(
                WarningCode::InvalidMacroName,
                "Macro has an invalid name. Macro names should match a regular expression: ([a-zA-Z]+[a-zA-Z0-9_]*)",
                ctx.clone(),
            );
        }
        let cond = string(item, "condition", &ctx)?;
        let cond_ctx = ctx.child(
            item.get("condition").map(|n| n.mark).unwrap_or_default(),
            ItemType::MacroCondition,
            "",
        );
        let append = opt_bool(item, "append", &ctx)?.unwrap_or(false);
        if append {
            res.add_warning(WarningCode::DeprecatedItem, WARNING_APPEND, ctx.clone());
        }
        let (oa, or) = overrides(item, &["condition"], &["condition"], &ctx)?;
        if append && (!oa.is_empty() || !or.is_empty()) {
            return bad(ERROR_OVERRIDE_APPEND, &ctx);
        }
        if append || oa.contains("condition") {
            col.append_macro(&name, &cond, append, &ctx)?;
        } else {
            col.define_macro(&name, cond, ctx.clone(), cond_ctx);
        }
        warn_unknown_keys(
            res,
            item,
            &["macro", "condition", "append", "override"],
            &ctx,
        );
    } else if item.get("rule").is_some() {
        let tmp = parent.child(item.mark, ItemType::Rule, "");
        let name = string(item, "rule", &tmp)?;
        let ctx = parent.child(item.mark, ItemType::Rule, &name);
        read_rule(cfg, col, res, item, &name, &ctx)?;
        warn_unknown_keys(
            res,
            item,
            &[
                "rule",
                "condition",
                "output",
                "desc",
                "priority",
                "source",
                "enabled",
                "capture",
                "capture_duration",
                "warn_evttypes",
                "skip-if-unknown-filter",
                "tags",
                "exceptions",
                "override",
                "append",
            ],
            &ctx,
        );
    } else {
        let ctx = parent.child(item.mark, ItemType::RulesContentItem, "");
        res.add_warning(WarningCode::UnknownItem, "Unknown top level item", ctx);
    }
    Ok(())
}

fn read_rule(
    cfg: &Config,
    col: &mut Collector,
    res: &mut LoadResult,
    item: &Node,
    name: &str,
    ctx: &Context,
) -> R<()> {
    let source = scalar(item, "source", ctx, true, true)?
        .map(|(s, _)| s.to_string())
        .unwrap_or_default();
    let has_append = opt_bool(item, "append", ctx)?.unwrap_or(false);
    if has_append {
        res.add_warning(WarningCode::DeprecatedItem, WARNING_APPEND, ctx.clone());
    }
    let (oa, or) = overrides(item, RULE_APPENDABLE, RULE_REPLACEABLE, ctx)?;
    let has_overrides = !oa.is_empty() || !or.is_empty();
    if has_append && has_overrides {
        return bad(ERROR_OVERRIDE_APPEND, ctx);
    }
    if has_overrides {
        let mut expected: BTreeSet<&str> = RULE_APPENDABLE
            .iter()
            .chain(RULE_REPLACEABLE)
            .copied()
            .filter(|k| item.get(k).is_some())
            .collect();
        let mut check = |set: &BTreeSet<String>, kind: &str, key: &str| -> R<bool> {
            if !set.contains(key) {
                return Ok(false);
            }
            if !expected.remove(key) {
                return bad(
                    format!(
                        "An {kind} override for '{key}' was specified but '{key}' is not defined"
                    ),
                    ctx,
                );
            }
            Ok(true)
        };
        if !oa.is_empty() {
            let mut v = RuleUpdate {
                name: name.to_string(),
                ctx: Some(ctx.clone()),
                ..Default::default()
            };
            if check(&oa, "append", "condition")? {
                v.source = source.clone();
                v.cond = Some(string(item, "condition", ctx)?);
            }
            if check(&oa, "append", "exceptions")? {
                v.exceptions = Some(exceptions(res, item, ctx, true)?);
            }
            if check(&oa, "append", "output")? {
                v.output = Some(string(item, "output", ctx)?);
            }
            if check(&oa, "append", "desc")? {
                v.desc = Some(string(item, "desc", ctx)?);
            }
            if check(&oa, "append", "tags")? {
                v.tags = tags(item, ctx)?;
            }
            col.append_rule(cfg, v)?;
        }
        if !or.is_empty() {
            let mut v = RuleUpdate {
                name: name.to_string(),
                ctx: Some(ctx.clone()),
                ..Default::default()
            };
            if check(&or, "replace", "condition")? {
                v.source = source.clone();
                v.cond = Some(string(item, "condition", ctx)?);
            }
            if check(&or, "replace", "exceptions")? {
                v.exceptions = Some(exceptions(res, item, ctx, false)?);
            }
            if check(&or, "replace", "output")? {
                v.output = Some(string(item, "output", ctx)?);
            }
            if check(&or, "replace", "desc")? {
                v.desc = Some(string(item, "desc", ctx)?);
            }
            if check(&or, "replace", "tags")? {
                v.tags = tags(item, ctx)?;
            }
            if check(&or, "replace", "priority")? {
                v.priority = Some(priority(item, ctx)?);
            }
            if check(&or, "replace", "capture")? {
                v.capture = decode(item, "capture", ctx, false, yaml::decode_bool)?;
            }
            if check(&or, "replace", "capture_duration")? {
                v.capture_duration =
                    decode(item, "capture_duration", ctx, false, yaml::decode_u32)?;
            }
            if check(&or, "replace", "enabled")? {
                v.enabled = decode(item, "enabled", ctx, false, yaml::decode_bool)?;
            }
            if check(&or, "replace", "warn_evttypes")? {
                v.warn_evttypes = decode(item, "warn_evttypes", ctx, false, yaml::decode_bool)?;
            }
            if check(&or, "replace", "skip-if-unknown-filter")? {
                v.skip_if_unknown_filter = decode(
                    item,
                    "skip-if-unknown-filter",
                    ctx,
                    false,
                    yaml::decode_bool,
                )?;
            }
            col.replace_rule(v)?;
        }
        if let Some(key) = expected.iter().next() {
            let kctx = ctx.child(
                item.get(key).map(|n| n.mark).unwrap_or_default(),
                ItemType::Override,
                key,
            );
            return bad(
                format!(
                    "Unexpected key '{key}': no corresponding entry under 'override' is defined."
                ),
                &kctx,
            );
        }
    } else if has_append {
        let mut v = RuleUpdate {
            name: name.to_string(),
            source,
            ctx: Some(ctx.clone()),
            legacy_append: true,
            ..Default::default()
        };
        if item.get("condition").is_some() {
            v.cond = Some(string(item, "condition", ctx)?);
        }
        if item.get("exceptions").is_some() {
            v.exceptions = Some(exceptions(res, item, ctx, true)?);
        }
        col.append_rule(cfg, v)?;
    } else if item.get("condition").is_none()
        && item.get("output").is_none()
        && item.get("desc").is_none()
        && item.get("priority").is_none()
    {
        let enabled = decode(item, "enabled", ctx, false, yaml::decode_bool)?.unwrap_or(true);
        res.add_warning(WarningCode::DeprecatedItem, WARNING_ENABLED, ctx.clone());
        col.enable_rule(name, enabled, ctx)?;
    } else {
        let cond = string(item, "condition", ctx)?;
        let cond_ctx = ctx.child(
            item.get("condition").map(|n| n.mark).unwrap_or_default(),
            ItemType::RuleCondition,
            "",
        );
        let output = string(item, "output", ctx)?;
        let output_ctx = ctx.child(
            item.get("output").map(|n| n.mark).unwrap_or_default(),
            ItemType::RuleOutput,
            "",
        );
        let desc = string(item, "desc", ctx)?;
        let priority = priority(item, ctx)?;
        let info = RuleInfo {
            name: name.to_string(),
            cond,
            cond_ctx,
            output: output.trim().to_string(),
            output_ctx,
            desc,
            priority,
            source: opt_string(item, "source", ctx)?.unwrap_or_else(|| "syscall".to_string()),
            enabled: opt_bool(item, "enabled", ctx)?.unwrap_or(true),
            capture: opt_bool(item, "capture", ctx)?.unwrap_or(false),
            capture_duration: decode(item, "capture_duration", ctx, true, yaml::decode_u32)?
                .unwrap_or(0),
            warn_evttypes: opt_bool(item, "warn_evttypes", ctx)?.unwrap_or(true),
            skip_if_unknown_filter: opt_bool(item, "skip-if-unknown-filter", ctx)?.unwrap_or(false),
            tags: tags(item, ctx)?.unwrap_or_default(),
            exceptions: exceptions(res, item, ctx, false)?,
            unknown_source: false,
            ctx: ctx.clone(),
            index: 0,
            visibility: 0,
        };
        col.define_rule(cfg, res, info)?;
    }
    Ok(())
}

/// Reads one rules content into the collector. Returns false when reading
/// stopped at an error (recorded in `res`).
pub fn read(
    cfg: &Config,
    col: &mut Collector,
    res: &mut LoadResult,
    name: &str,
    content: &str,
) -> bool {
    read_parsed(cfg, col, res, name, yaml::load_all(content))
}

/// [`read`] for a content whose YAML is already parsed
/// ([`yaml::load_all`]), so that parsing can happen elsewhere.
pub fn read_parsed(
    cfg: &Config,
    col: &mut Collector,
    res: &mut LoadResult,
    name: &str,
    parsed: Result<Vec<yaml::Node>, yaml::YamlError>,
) -> bool {
    let root = Context::root(name);
    let docs = match parsed {
        Ok(d) => d,
        Err(e) => {
            let ctx = root.child(e.mark, ItemType::ValueFor, "");
            res.add_error(ErrorCode::YamlParse, e.message, ctx);
            return false;
        }
    };
    for doc in &docs {
        if doc.is_null() {
            continue;
        }
        let r = (|| -> R<()> {
            if !doc.is_map() && !doc.is_seq() {
                return bad("Rules content is not yaml", &root);
            }
            if !doc.is_seq() {
                return bad("Rules content is not yaml array of objects", &root);
            }
            for it in doc.items() {
                if !it.is_null() {
                    read_item(cfg, col, res, it, &root)?;
                }
            }
            Ok(())
        })();
        if let Err(f) = r {
            res.add_error(f.code, f.message, f.context);
            return false;
        }
    }
    true
}
