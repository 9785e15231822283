//! The engine: compiled rules, the per-event-type index, evaluation of one
//! event, and the alert a match produces.

use crate::alert::Alert;
use crate::append::{self, AppendOutput, CompiledField};
use crate::select::{NamePattern, has_any_tag};
use crate::stats::Stats;
use peregrine_event::EVENT_COUNT;
use peregrine_filter::compile::{
    self, Batch, BatchBuilder, FieldCache, FieldInterner, Filter, Plan,
};
use peregrine_filter::extract::{Ctx, extract};
use peregrine_filter::{Field, OutputFormat, Segment, Value};
use peregrine_rules::{LoadedRule, Priority};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

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
    /// The output format (with the text of `append_output` entries).
    pub output: OutputFormat,
    /// The output as written in the rules file, with the text of
    /// `append_output` entries.
    pub output_text: String,
    /// The condition as written (lists expanded).
    pub condition_text: String,
    /// Enabled in the rules file and by selection.
    pub enabled: bool,
    filter: Filter,
    codes: Option<Vec<u16>>,
    extra_fields: Vec<CompiledField>,
}

impl Rule {
    /// The keys `append_output` adds to the rule's JSON `output_fields`.
    pub fn extra_field_keys(&self) -> impl Iterator<Item = &str> {
        self.extra_fields.iter().map(CompiledField::key)
    }

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
    /// Text and fields added to chosen rules' alerts (`append_output`,
    /// then `-p` as an entry choosing every rule), in order.
    pub append_output: Vec<AppendOutput>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            min_priority: Priority::Debug,
            append_output: Vec::new(),
        }
    }
}

/// The rules engine.
pub struct Engine {
    rules: Vec<Rule>,
    /// Per event code: the enabled rules that can match it, in load
    /// order, each with its condition specialized for the code, joined
    /// into one program.
    index: Vec<Arc<Batch>>,
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
            let (output_text, output, extra_fields) = match rule_output(r, &options.append_output) {
                Ok(o) => o,
                Err(message) => {
                    errors.push(RuleError {
                        rule: r.name.clone(),
                        message,
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
                extra_fields,
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
        // Per code: the rules that can match it, with their plans.
        let mut plans: Vec<Vec<(u32, Plan)>> = vec![Vec::new(); EVENT_COUNT];
        for (i, rule) in self.rules.iter_mut().enumerate() {
            if !rule.enabled {
                continue;
            }
            let mut add = |c: usize| {
                if let Some(list) = plans.get_mut(c) {
                    let plan = rule.filter.plan_for(c as u16);
                    if plan != Plan::Never {
                        list.push((i as u32, plan));
                    }
                }
            };
            match &rule.codes {
                Some(codes) => codes.iter().for_each(|&c| add(c as usize)),
                None => (0..EVENT_COUNT).for_each(add),
            }
        }
        // Codes with the same rules and plans (the versions of one call)
        // share one joined program.
        let mut built: HashMap<Vec<(u32, Plan)>, Arc<Batch>> = HashMap::new();
        self.index = plans
            .into_iter()
            .map(|list| {
                let rules = &self.rules;
                Arc::clone(built.entry(list).or_insert_with_key(|list| {
                    let mut b = BatchBuilder::new();
                    for &(i, plan) in list {
                        b.push(i, &rules[i as usize].filter, plan);
                    }
                    Arc::new(b.build())
                }))
            })
            .collect();
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
        let batch = self.index.get(cx.ev.code() as usize)?;
        if batch.is_empty() {
            return None;
        }
        // Recycled at the end of the last call: only its lifetime changes.
        let mut cache: FieldCache<'_> = self.cache.take().unwrap_or_default().retype();
        let found = batch.first_match(cx, &mut cache).map(|i| i as usize);
        self.cache = Some(cache.recycle());
        if let Some(i) = found {
            self.stats.record(i, self.rules[i].priority);
        }
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
        render(&r.output, cx, &mut output, |f, v| {
            fields.push((f.canonical(), v.map(json_value)));
        });
        let extra_fields = r
            .extra_fields
            .iter()
            .map(|x| (x.key().to_string(), x.value(cx)))
            .collect();
        Alert {
            ts: cx.ev.ts(),
            rule: &r.name,
            priority: r.priority,
            tags: &r.tags,
            source: &r.source,
            output,
            fields,
            extra_fields,
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

/// A rule's output text with the `append_output` text of the entries
/// choosing it, parsed, and its extra fields.
fn rule_output(
    r: &LoadedRule,
    entries: &[AppendOutput],
) -> Result<(String, OutputFormat, Vec<CompiledField>), String> {
    let mut text = r.output.trim_start_matches('*').trim().to_string();
    let extra = append::apply(entries, &r.name, &r.source, &r.tags, &mut text)?;
    let format = OutputFormat::parse(&text).map_err(|e| e.to_string())?;
    Ok((text, format, extra))
}

/// Renders `format` for the event in `cx` into `out` (`<NA>` for fields
/// without a value), telling `field` each field and its value.
pub(crate) fn render(
    format: &OutputFormat,
    cx: &Ctx<'_>,
    out: &mut String,
    mut field: impl FnMut(&Field, Option<&Value<'_>>),
) {
    for seg in &format.segments {
        match seg {
            Segment::Literal(t) => out.push_str(t),
            Segment::Field(f) => {
                let v = extract(f, cx);
                match &v {
                    Some(v) => v.render(out),
                    None => out.push_str("<NA>"),
                }
                field(f, v.as_ref());
            }
        }
    }
}

/// A field value in JSON alerts: numbers and booleans typed, the rest as
/// rendered text.
pub(crate) fn json_value(v: &Value<'_>) -> serde_json::Value {
    match v {
        Value::U64(n) => (*n).into(),
        Value::I64(n) => (*n).into(),
        Value::Bool(b) => (*b).into(),
        _ => v.to_text().into_owned().into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::append::{AppendMatch, ExtraField};
    use peregrine_rules::{Config, Loader};

    const RULES: &str = r#"
- rule: plain
  desc: d
  condition: evt.type = open
  output: "Plain (file=%fd.name)"
  priority: WARNING
- rule: tagged_ab
  desc: d
  condition: evt.type = open
  output: "Tagged ab"
  priority: WARNING
  tags: [b, a]
- rule: tagged_a
  desc: d
  condition: evt.type = open
  output: "Tagged a"
  priority: WARNING
  tags: [a]
"#;

    fn engine(entries: Vec<AppendOutput>) -> (Engine, Vec<RuleError>) {
        let mut loader = Loader::new(Config::new());
        let res = loader.load("rules.yaml", RULES);
        assert!(res.successful, "{}", res.as_verbose_text(loader.contents()));
        let options = EngineOptions {
            append_output: entries,
            ..EngineOptions::default()
        };
        Engine::new(loader.rules(), &options)
    }

    fn outputs(e: &Engine) -> Vec<(&str, &str, Vec<&str>)> {
        e.rules()
            .iter()
            .map(|r| {
                let keys = r.extra_field_keys().collect();
                (r.name.as_str(), r.output_text.as_str(), keys)
            })
            .collect()
    }

    fn chosen(source: Option<&str>, tags: &[&str], rule: Option<&str>) -> AppendMatch {
        AppendMatch {
            source: source.map(str::to_string),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            rule: rule.map(str::to_string),
        }
    }

    #[test]
    fn entries_apply_to_the_rules_they_choose() {
        let entries = vec![
            AppendOutput {
                matches: chosen(None, &["a", "b"], None),
                extra_output: Some("ab=%proc.name".into()),
                extra_fields: vec![ExtraField::Raw("evt.cpu".into())],
            },
            AppendOutput {
                matches: chosen(Some("syscall"), &["a"], None),
                extra_output: Some("a".into()),
                extra_fields: Vec::new(),
            },
            AppendOutput {
                matches: chosen(None, &[], Some("plain")),
                extra_output: None,
                extra_fields: vec![ExtraField::Formatted {
                    key: "where".into(),
                    format: "on %fd.name".into(),
                }],
            },
            AppendOutput {
                matches: chosen(Some("k8s_audit"), &[], None),
                extra_output: Some("never".into()),
                extra_fields: vec![ExtraField::Raw("evt.num".into())],
            },
            AppendOutput::everywhere("p=%proc.pid"),
        ];
        let (e, errors) = engine(entries);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            outputs(&e),
            [
                ("plain", "Plain (file=%fd.name) p=%proc.pid", vec!["where"]),
                (
                    "tagged_ab",
                    "Tagged ab ab=%proc.name a p=%proc.pid",
                    vec!["evt.cpu"]
                ),
                ("tagged_a", "Tagged a a p=%proc.pid", vec![]),
            ]
        );
        // The parsed output holds the appended field.
        let fields: Vec<_> = e.rules()[1].output.fields().map(|f| f.def.name).collect();
        assert_eq!(fields, ["proc.name", "proc.pid"]);
    }

    #[test]
    fn no_entries_leave_outputs_alone() {
        let (e, errors) = engine(Vec::new());
        assert!(errors.is_empty());
        let texts: Vec<_> = e.rules().iter().map(|r| r.output_text.as_str()).collect();
        assert_eq!(texts, ["Plain (file=%fd.name)", "Tagged ab", "Tagged a"]);
        assert!(e.rules().iter().all(|r| r.extra_field_keys().count() == 0));
    }

    #[test]
    fn a_bad_entry_fails_the_rules_it_chooses() {
        let entries = vec![AppendOutput {
            matches: chosen(None, &["a"], None),
            extra_output: None,
            extra_fields: vec![ExtraField::Raw("nosuch.field".into())],
        }];
        let (e, errors) = engine(entries);
        let failed: Vec<_> = errors.iter().map(|r| r.rule.as_str()).collect();
        assert_eq!(failed, ["tagged_ab", "tagged_a"]);
        assert!(
            errors[0].message.contains("append_output") && errors[0].message.contains("nosuch"),
            "{}",
            errors[0].message
        );
        assert_eq!(e.rules().len(), 1);
    }
}
