//! Error codes, merging (append, override, enabled, exceptions) and
//! robustness of the loader.

mod common;
use peregrine_rules::{Config, ErrorCode, LoadResult, Loader, Priority, WarningCode};

fn cfg() -> Config {
    Config::with_fields(Box::new(|f| {
        !f.starts_with("proc.nobody") && !f.starts_with("not_a") && !f.starts_with("not.")
    }))
}

fn load(docs: &[&str]) -> (Loader, Vec<LoadResult>) {
    let mut l = Loader::new(cfg());
    let r = docs
        .iter()
        .enumerate()
        .map(|(i, d)| l.load(&format!("f{i}.yaml"), d))
        .collect();
    (l, r)
}

fn err(doc: &str) -> (ErrorCode, String) {
    let (_, r) = load(&[doc]);
    let e = r[0].errors.first().expect("an error");
    (e.code, e.message.clone())
}

const RULE: &str =
    "- rule: r\n  desc: d\n  condition: evt.type=open\n  output: o %proc.name\n  priority: INFO\n";

#[test]
fn error_codes() {
    assert_eq!(err("a: [b").0, ErrorCode::YamlParse);
    assert_eq!(err("x").1, "Rules content is not yaml");
    assert_eq!(err("a: b").1, "Rules content is not yaml array of objects");
    assert_eq!(
        err("- list: l\n"),
        (
            ErrorCode::YamlValidate,
            "Item has no mapping for key 'items'".into()
        )
    );
    assert_eq!(
        err("- rule: r\n  desc: d\n  condition: evt.type=open\n  output: o\n  priority: LOUD\n"),
        (ErrorCode::YamlValidate, "Invalid priority".into())
    );
    assert_eq!(
        err("- required_engine_version: 9999\n").0,
        ErrorCode::Validate
    );
    assert_eq!(
        err("- required_engine_version: 0.99.0\n").1,
        "Rules require engine version 0.99.0, but engine version is 0.62.0"
    );
    assert!(
        load(&["- required_engine_version: 0.31.0\n- required_engine_version: 2\n"]).1[0]
            .successful
    );
    assert_eq!(
        err(
            "- rule: r\n  desc: d\n  condition: evt.type=open and\n  output: o\n  priority: INFO\n"
        )
        .0,
        ErrorCode::CompileCondition
    );
    assert_eq!(
        err(
            "- rule: r\n  desc: d\n  condition: evt.type=open and m\n  output: o\n  priority: INFO\n"
        ),
        (
            ErrorCode::Validate,
            "Undefined macro 'm' used in filter.".into()
        )
    );
    assert_eq!(
        err("- rule: r\n  desc: d\n  condition: evt.type=nosuch\n  output: o\n  priority: INFO\n"),
        (
            ErrorCode::CompileCondition,
            "unknown event type nosuch".into()
        )
    );
    assert_eq!(
        err(
            "- rule: r\n  desc: d\n  condition: evt.type=open\n  output: o %not_a_field\n  priority: INFO\n"
        ),
        (
            ErrorCode::CompileOutput,
            "invalid formatting token not_a_field".into()
        )
    );
    assert_eq!(
        err("- required_plugin_versions:\n  - name: k8saudit\n    version: abc\n").1,
        "Invalid required version 'abc' for plugin 'k8saudit'"
    );
}

#[test]
fn warnings() {
    let (_, r) = load(&[
        "- foo: bar\n- list: l\n  items: [a]\n- macro: m\n  condition: evt.type=open\n- rule: r\n  desc: d\n  condition: proc.name=x\n  output: o\n  priority: INFO\n  bogus: 1\n",
    ]);
    let codes: Vec<_> = r[0].warnings.iter().map(|w| w.code).collect();
    for c in [
        WarningCode::UnknownItem,
        WarningCode::UnknownKey,
        WarningCode::NoEvttype,
        WarningCode::UnusedMacro,
        WarningCode::UnusedList,
    ] {
        assert!(codes.contains(&c), "{c:?} in {codes:?}");
    }
    let (_, r) = load(&[
        "- rule: r\n  desc: d\n  condition: proc.name=x\n  output: o\n  priority: INFO\n  warn_evttypes: false\n",
    ]);
    assert!(r[0].warnings.is_empty());
    let (l, r) = load(&[
        "- rule: r\n  desc: d\n  condition: evt.type=open and proc.nobody=x\n  output: o\n  priority: INFO\n  skip-if-unknown-filter: true\n",
    ]);
    assert_eq!(r[0].warnings[0].code, WarningCode::UnknownFilter);
    assert!(r[0].successful && l.rules().is_empty());
    let (_, r) = load(&[
        "- rule: r\n  desc: d\n  condition: evt.type=open\n  output: o\n  priority: INFO\n  source: k8s_audit\n",
    ]);
    assert_eq!(r[0].warnings[0].code, WarningCode::UnknownSource);
}

#[test]
fn append_and_redefine() {
    let (l, r) = load(&[
        "- list: a\n  items: [x]\n- list: b\n  items: [a, y]\n- macro: m\n  condition: proc.name in (b)\n",
        "- list: a\n  items: [z]\n  append: true\n- macro: m\n  condition: or proc.name=w\n  append: true\n",
        &RULE.replace("evt.type=open", "evt.type=open and m"),
        "- rule: r\n  condition: and proc.pid=1\n  append: true\n",
    ]);
    assert!(r.iter().all(|r| r.successful), "{r:#?}");
    assert_eq!(
        l.rules()[0].condition_text,
        "evt.type=open and m and proc.pid=1"
    );
    let mlist = &l.collector().lists.get("a").unwrap().items;
    assert_eq!(mlist, &["x", "z"]);
    // list b was defined when a had only x: it keeps b = [x, y] at
    // compile time since a is visible to b.
    let (_, r) = load(&["- macro: m\n  condition: x\n  append: true\n"]);
    assert_eq!(
        r[0].errors[0].message,
        "Macro has 'append' key but no macro by that name already exists"
    );
    let (_, r) = load(&["- list: m\n  items: [x]\n  override:\n    items: append\n"]);
    assert!(r[0].errors[0].message.starts_with("List uses 'append'"));
}

#[test]
fn override_and_enabled() {
    let (l, r) = load(&[
        RULE,
        "- rule: r\n  condition: and proc.pid=1\n  priority: ERROR\n  tags: [t]\n  override:\n    condition: append\n    priority: replace\n    tags: replace\n",
        "- rule: r\n  enabled: false\n",
    ]);
    assert!(r.iter().all(|r| r.successful), "{r:#?}");
    let rule = &l.rules()[0];
    assert_eq!(rule.condition_text, "evt.type=open and proc.pid=1");
    assert_eq!(rule.priority, Priority::Error);
    assert!(!rule.enabled);
    assert!(rule.tags.contains("t"));
    let (_, r) = load(&[
        RULE,
        "- rule: r\n  priority: ERROR\n  override:\n    priority: append\n",
    ]);
    assert_eq!(
        r[1].errors[0].message,
        "Key 'priority' cannot be appended to, use 'replace' instead"
    );
    let (_, r) = load(&[
        RULE,
        "- rule: r\n  desc: x\n  output: y\n  override:\n    desc: replace\n",
    ]);
    assert_eq!(
        r[1].errors[0].message,
        "Unexpected key 'output': no corresponding entry under 'override' is defined."
    );
}

#[test]
fn priorities() {
    for (s, p) in [
        ("emergency", Priority::Emergency),
        ("ALERT", Priority::Alert),
        ("Critical", Priority::Critical),
        ("error", Priority::Error),
        ("warning", Priority::Warning),
        ("notice", Priority::Notice),
        ("info", Priority::Informational),
        ("INFORMATIONAL", Priority::Informational),
        ("debug", Priority::Debug),
    ] {
        assert_eq!(Priority::parse(s), Some(p));
    }
    assert_eq!(Priority::parse("loud"), None);
}

#[test]
fn exceptions() {
    let (l, r) = load(&[
        "- list: cats\n  items: [cat, tac]\n- rule: r\n  desc: d\n  condition: evt.type=open\n  output: o\n  priority: INFO\n  exceptions:\n  - name: e1\n    fields: [proc.name, fd.name]\n    comps: [=, startswith]\n    values:\n    - [a b, /tmp]\n    - [c, /x]\n  - name: e2\n    fields: proc.name\n    values: [x, y z]\n  - name: e3\n    fields: [proc.name]\n    comps: [in]\n    values:\n    - [cats]\n    - [[p, q r]]\n",
        "- rule: r\n  exceptions:\n  - name: e2\n    values: [w]\n  append: true\n",
    ]);
    assert!(r.iter().all(|r| r.successful), "{r:#?}");
    assert_eq!(
        l.rules()[0].condition_text,
        // It names a list: the expanded condition, printed canonically.
        "(evt.type = open and not ((proc.name = \"a b\" and fd.name startswith /tmp) or (proc.name = c and fd.name startswith /x)) and not proc.name in (x, \"y z\", w) and not (proc.name in (cat, tac) or proc.name in (p, \"q r\")))"
    );
    // The compiled condition has the list expanded.
    assert!(
        l.rules()[0]
            .condition
            .to_string()
            .contains("proc.name in (cat, tac)"),
        "{}",
        l.rules()[0].condition
    );
    let (_, r) = load(&[
        "- rule: r\n  desc: d\n  condition: evt.type=open\n  output: o\n  priority: INFO\n  exceptions:\n  - name: e\n    fields: [proc.name, fd.name]\n    comps: [=]\n",
    ]);
    assert_eq!(
        r[0].errors[0].message,
        "Fields and comps lists must have equal length"
    );
    let (_, r) = load(&[
        "- rule: r\n  desc: d\n  condition: evt.type=open\n  output: o\n  priority: INFO\n  exceptions:\n  - name: e\n    fields: [not.exist]\n",
    ]);
    assert_eq!(
        r[0].errors[0].message,
        "'not.exist' is not a supported filter field"
    );
}

#[test]
fn json_and_text() {
    let (l, r) = load(&["- rule: r\n  desc: d\n  condition: evt.type=open\n  output: o\n"]);
    let j = peregrine_rules::results_json(&r, l.contents());
    let e = &j["falco_load_results"][0]["errors"][0];
    assert_eq!(e["code"], "LOAD_ERR_YAML_VALIDATE");
    assert_eq!(
        e["codedesc"],
        "Error validating internal structure of YAML file"
    );
    assert_eq!(e["message"], "Item has no mapping for key 'priority'");
    assert_eq!(e["context"]["locations"][1]["item_type"], "rule");
    assert_eq!(e["context"]["locations"][1]["position"]["line"], 0);
    assert_eq!(e["context"]["snippet"], "- rule: r\n  ^\n");
    let text = r[0].as_verbose_text(l.contents());
    assert!(
        text.contains("In rules content: (f0.yaml:0:0)\n    rule 'r': (f0.yaml:0:2)\n"),
        "{text}"
    );
    assert!(text.contains("LOAD_ERR_YAML_VALIDATE (Error validating internal structure of YAML file): Item has no mapping for key 'priority'"));
}

/// Random bytes and mutations of real rules files never panic.
#[test]
fn robustness() {
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let base = std::fs::read_to_string(format!(
        "{}/falco-rules/legacy-0.7.0/falco_rules.yaml",
        common::SHARED
    ))
    .unwrap();
    let alphabet = b" -:[]{}(),'\"\n\t#&*!|>%ab0.=";
    for i in 0..300 {
        let mut bytes: Vec<u8> = if i % 3 == 0 {
            (0..(rnd() % 400))
                .map(|_| alphabet[(rnd() % alphabet.len() as u64) as usize])
                .collect()
        } else {
            let mut b = base.as_bytes().to_vec();
            for _ in 0..(1 + rnd() % 8) {
                let p = (rnd() as usize) % b.len().max(1);
                match rnd() % 3 {
                    0 => b[p] = alphabet[(rnd() % alphabet.len() as u64) as usize],
                    1 => {
                        b.remove(p);
                    }
                    _ => b.insert(p, alphabet[(rnd() % alphabet.len() as u64) as usize]),
                }
            }
            b
        };
        if i % 7 == 0 {
            bytes.push(0xff);
        }
        let text = String::from_utf8_lossy(&bytes);
        let mut l = Loader::new(Config::permissive());
        let r = l.load("fuzz.yaml", &text);
        let _ = peregrine_rules::results_json(std::slice::from_ref(&r), l.contents());
        let _ = r.as_verbose_text(l.contents());
    }
    // Deep nesting is an error, not a stack overflow.
    let deep = "[".repeat(100_000);
    let mut l = Loader::new(Config::permissive());
    assert!(!l.load("deep.yaml", &deep).successful);
    let deep = format!(
        "- rule: r\n  desc: d\n  condition: {}a\n  output: o\n  priority: INFO\n",
        "(".repeat(5000)
    );
    assert!(!l.load("deep2.yaml", &deep).successful);
}
