//! The engine: compiled rules, the per-event-type index, evaluation of one
//! event, and the alert a match produces.

use crate::alert::Alert;
use crate::select::{NamePattern, has_any_tag};
use crate::stats::Stats;
use peregrine_event::EVENT_COUNT;
use peregrine_filter::compile::{self, FieldCache, FieldInterner, Filter, Plan};
use peregrine_filter::extract::{Ctx, extract};
use peregrine_filter::{FieldType, OutputFormat, Segment, Value};
use peregrine_rules::{LoadedRule, Priority};
use std::collections::BTreeSet;

/// One compiled rule.
pub struct Rule {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Priority.
    pub priority: Priority,
    /// Tags, sorted.
    pub tags: Vec<String>,
    tag_set: BTreeSet<String>,
    /// Event source.
    pub source: String,
    /// The output format (with any appended text).
    pub output: OutputFormat,
    /// The output as written in the rules file.
    pub output_text: String,
    /// The condition as written (lists expanded).
    pub condition_text: String,
    /// Enabled in the rules file and by selection.
    pub enabled: bool,
    filter: Filter,
    codes: Option<Vec<u16>>,
}

impl Rule {
    /// Event codes the rule can match (`None`: every event).
    pub fn event_codes(&self) -> Option<&[u16]> {
        self.codes.as_deref()
    }

    /// Event type names the rule can match, sorted (`None`: every event).
    pub fn event_type_names(&self) -> Option<BTreeSet<&'static str>> {
        let codes = self.codes.as_ref()?;
        Some(
            codes
                .iter()
                .filter_map(|&c| peregrine_event::event_info(c))
                .map(|i| i.name)
                .collect(),
        )
    }
}

/// A rule that failed to compile.
#[derive(Debug)]
pub struct RuleError {
    /// The rule.
    pub rule: String,
    /// What was wrong (with the position in the condition or output).
    pub message: String,
}

/// Engine-wide settings.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// Rules below this priority are not loaded (`priority` in falco.yaml).
    pub min_priority: Priority,
    /// Text appended to every rule's output (`-p`, `append_output`).
    pub append_output: Option<String>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            min_priority: Priority::Debug,
            append_output: None,
        }
    }
}

/// The rules engine.
pub struct Engine {
    rules: Vec<Rule>,
    /// Per event code: the enabled rules that can match it, in load
    /// order, each with its condition specialized for the code.
    index: Vec<Vec<(u32, Plan)>>,
    /// The per-event field cache, kept between events to reuse its memory.
    cache: Option<FieldCache<'static>>,
    stats: Stats,
}

impl Engine {
    /// Compiles the enabled rules of `loaded` for the syscall source.
    /// Rules that fail to compile are returned as errors; the others load.
    pub fn new(loaded: &[LoadedRule], options: &EngineOptions) -> (Engine, Vec<RuleError>) {
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        let mut interner = FieldInterner::new();
        for r in loaded {
            if r.source != "syscall" || r.priority > options.min_priority {
                continue;
            }
            let filter = match compile::compile_with(&r.condition, &r.condition_text, &mut interner)
            {
                Ok(f) => f,
                Err(e) => {
                    errors.push(RuleError {
                        rule: r.name.clone(),
                        message: e.to_string(),
                    });
                    continue;
                }
            };
            let mut output_text = r.output.trim_start_matches('*').trim().to_string();
            if let Some(extra) = &options.append_output {
                output_text.push(' ');
                output_text.push_str(extra);
            }
            let output = match OutputFormat::parse(&output_text) {
                Ok(o) => o,
                Err(e) => {
                    errors.push(RuleError {
                        rule: r.name.clone(),
                        message: e.to_string(),
                    });
                    continue;
                }
            };
            let codes = filter.event_codes();
            rules.push(Rule {
                name: r.name.clone(),
                description: r.description.clone(),
                priority: r.priority,
                tags: r.tags.iter().cloned().collect(),
                tag_set: r.tags.clone(),
                source: r.source.clone(),
                output,
                output_text,
                condition_text: r.condition_text.clone(),
                enabled: r.enabled,
                filter,
                codes,
            });
        }
        let cache = Some(FieldCache::new(&interner));
        let mut engine = Engine {
            rules,
            index: Vec::new(),
            cache,
            stats: Stats::default(),
        };
        engine.rebuild_index();
        (engine, errors)
    }

    /// All compiled rules, in load order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Disables the rules whose name matches `pattern` (`-D`).
    pub fn disable_matching(&mut self, pattern: &NamePattern) {
        self.rules
            .iter_mut()
            .filter(|r| pattern.matches(&r.name))
            .for_each(|r| r.enabled = false);
        self.rebuild_index();
    }

    /// Disables the rules having any of `tags` (`-T`).
    pub fn disable_tags(&mut self, tags: &[String]) {
        self.rules
            .iter_mut()
            .filter(|r| has_any_tag(&r.tag_set, tags))
            .for_each(|r| r.enabled = false);
        self.rebuild_index();
    }

    /// Keeps enabled only the rules having any of `tags` (`-t`).
    pub fn run_only_tags(&mut self, tags: &[String]) {
        self.rules
            .iter_mut()
            .filter(|r| !has_any_tag(&r.tag_set, tags))
            .for_each(|r| r.enabled = false);
        self.rebuild_index();
    }

    fn rebuild_index(&mut self) {
        let mut index = vec![Vec::new(); EVENT_COUNT];
        for (i, rule) in self.rules.iter_mut().enumerate() {
            if !rule.enabled {
                continue;
            }
            let mut add = |c: usize, filter: &mut Filter| {
                if let Some(list) = index.get_mut(c) {
                    let plan = filter.plan_for(c as u16);
                    if plan != Plan::Never {
                        list.push((i as u32, plan));
                    }
                }
            };
            match &rule.codes {
                Some(codes) => codes
                    .iter()
                    .for_each(|&c| add(c as usize, &mut rule.filter)),
                None => (0..EVENT_COUNT).for_each(|c| add(c, &mut rule.filter)),
            }
        }
        self.index = index;
    }

    /// True when some enabled rule can match events of `code`: events
    /// without candidates need no state context at all.
    pub fn has_candidates(&self, code: u16) -> bool {
        self.index
            .get(code as usize)
            .is_some_and(|list| !list.is_empty())
    }

    /// Evaluates the event in `cx`; returns the first matching rule (in
    /// load order), as Falco's `rule_matching: first` does, and counts it.
    pub fn process(&mut self, cx: &Ctx<'_>) -> Option<usize> {
        let candidates = self.index.get(cx.ev.code() as usize)?;
        if candidates.is_empty() {
            return None;
        }
        let mut cache: FieldCache<'_> = self.cache.take().unwrap_or_default().recycle();
        let mut found = None;
        for &(i, plan) in candidates {
            let rule = &self.rules[i as usize];
            if rule.filter.matches_plan(plan, cx, &mut cache) {
                self.stats.record(i as usize, rule.priority);
                found = Some(i as usize);
                break;
            }
        }
        self.cache = Some(cache.recycle());
        found
    }

    /// The alert of rule `rule` for the event in `cx`. `time_field` is the
    /// field Falco puts first in the output (`evt.time` or `evt.time.iso8601`).
    pub fn alert<'r>(&'r self, rule: usize, cx: &Ctx<'_>, time_field: &str) -> Alert<'r> {
        let r = &self.rules[rule];
        let mut output = String::new();
        let mut fields = vec![(
            time_field.to_string(),
            Some(serde_json::Value::from(cx.ev.ts())),
        )];
        for seg in &r.output.segments {
            match seg {
                Segment::Literal(t) => output.push_str(t),
                Segment::Field(f) => {
                    let v = extract(f, cx);
                    match &v {
                        Some(v) => v.render(&mut output),
                        None => output.push_str("<NA>"),
                    }
                    fields.push((f.canonical(), v.map(|v| json_value(&v, f.def.ftype))));
                }
            }
        }
        Alert {
            ts: cx.ev.ts(),
            rule: &r.name,
            priority: r.priority,
            tags: &r.tags,
            source: &r.source,
            output,
            fields,
        }
    }

    /// Alert counts so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Falco's `-v` summary of alert counts.
    pub fn summary(&self) -> String {
        self.stats.summary(|i| self.rules[i].name.as_str())
    }
}

fn json_value(v: &Value<'_>, ftype: FieldType) -> serde_json::Value {
    match (v, ftype) {
        (Value::U64(n), _) => (*n).into(),
        (Value::I64(n), _) => (*n).into(),
        (Value::Bool(b), _) => (*b).into(),
        _ => v.to_text().into_owned().into(),
    }
}
