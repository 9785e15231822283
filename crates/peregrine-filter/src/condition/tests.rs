//! Tests of the condition front end: libsinsp's parser vectors, printing,
//! positions and messages, every condition of the shipped rules files,
//! macro/list expansion and event-type inference.

use super::*;
use std::collections::BTreeMap;

fn p(s: &str) -> Expr {
    match parse(s) {
        Ok(e) => e,
        Err(err) => panic!("parse failed for {s:?}: {err}"),
    }
}

fn show(s: &str) -> String {
    p(s).to_string()
}

fn perr(s: &str) -> ParseError {
    match parse(s) {
        Ok(e) => panic!("expected an error for {s:?}, got {e}"),
        Err(e) => e,
    }
}

/// Parses, prints, re-parses and checks the tree is the same.
fn roundtrip(s: &str) {
    let e = p(s);
    let printed = e.to_string();
    let again = match parse(&printed) {
        Ok(e) => e,
        Err(err) => panic!("reparse of {printed:?} (from {s:?}) failed: {err}"),
    };
    assert_eq!(
        e.without_spans(),
        again.without_spans(),
        "round trip changed the tree: {s:?} -> {printed:?}"
    );
}

fn unesc(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some('x') => {
                let h: String = it.by_ref().take(2).collect();
                out.push(char::from(u8::from_str_radix(&h, 16).unwrap_or(b'?')));
            }
            Some(o) => out.push(o),
            None => {}
        }
    }
    out
}

#[test]
fn libs_parser_vectors() {
    let data = include_str!("testdata/libs_parser_vectors.txt");
    let mut n = 0;
    for line in data
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let input = unesc(cols[1]);
        match cols[0] {
            "A" | "a" => {
                roundtrip(&input);
                if cols[0] == "A" {
                    // As libsinsp's tests do: blanks around, then spaces as
                    // line breaks, then as tabs.
                    let spaced = format!(" {input} ");
                    roundtrip(&spaced);
                    let nl = spaced.replace(' ', "\n");
                    roundtrip(&nl);
                    roundtrip(&nl.replace('\n', "\t"));
                }
            }
            "R" => {
                perr(&input);
            }
            "M" => assert_eq!(perr(&input).message, unesc(cols[2]), "input {input:?}"),
            k => panic!("bad kind {k}"),
        }
        n += 1;
    }
    assert!(n > 500, "only {n} vectors");
}

#[test]
fn display_canonical() {
    let cases = [
        ("a", "a"),
        ("(a)", "a"),
        ("a and b and c", "(a and b and c)"),
        ("a.a=1 or b.b=2 and c", "(a.a = 1 or (b.b = 2 and c))"),
        ("not not a", "a"),
        ("not not not a", "not a"),
        (
            "not not not not not(not not(not not_macro))",
            "not (not not_macro)",
        ),
        ("x.y = \"a\\x5c\"", "x.y = \"a\\x5c\""),
        ("not(a)and(not(b))", "(not a and not b)"),
        (
            "evt.name exists and evt.type in (a, b) or proc.name=cat",
            "((evt.name exists and evt.type in (a, b)) or proc.name = cat)",
        ),
        ("a.b = 'bla'", "a.b = \"bla\""),
        ("a.b = not", "a.b = not"),
        ("fd.name=*.log", "fd.name = *.log"),
        ("a.g in (1, 'a', b.c)", "a.g in (1, \"a\", b.c)"),
        ("test.op in()", "test.op in ()"),
        ("test.num <= 0XaB00AB", "test.num <= 0XaB00AB"),
        (
            "test.str = \"escape \\\" q\"",
            "test.str = \"escape \\\" q\"",
        ),
        ("test.str = 'it\\'s'", "test.str = \"it's\""),
        ("x.y = \"a\\x41\\tb\"", "x.y = \"aA\\tb\""),
        ("test.str[\"a b\"] = x", "test.str[\"a b\"] = x"),
        ("test.str['k'] = x", "test.str[k] = x"),
        ("proc.aname[2]=sshd", "proc.aname[2] = sshd"),
        ("json.value[/user/name] = x", "json.value[/user/name] = x"),
        (
            "container.mount.dest[/var/run/docker.sock] exists",
            "container.mount.dest[/var/run/docker.sock] exists",
        ),
        (
            "b64(evt.name) exists and tolower(toupper(evt.type)) in val(some.field) or \
             proc.name=b64(tolower(some.field))",
            "((b64(evt.name) exists and tolower(toupper(evt.type)) in val(some.field)) or \
             proc.name = b64(tolower(some.field)))",
        ),
        (
            "getopt(proc.args, \"nt:\")[\"t\"] = value",
            "getopt(proc.args, \"nt:\")[t] = value",
        ),
        (
            "proc.name == oneof (cat, nginx)",
            "proc.name == oneof (cat, nginx)",
        ),
        (
            "proc.name startswith anyof my_list",
            "proc.name startswith anyof my_list",
        ),
        (
            "proc.name == anyof and fd.name exists",
            "(proc.name == anyof and fd.name exists)",
        ),
        (
            "len(concat(proc.name, (\"a\", 1))) > 2",
            "len(concat(proc.name, (\"a\", 1))) > 2",
        ),
        ("proc.pname = val(proc.name)", "proc.pname = val(proc.name)"),
        (
            "evt.arg.flags contains O_CREAT",
            "evt.arg.flags contains O_CREAT",
        ),
        ("fd.types[0] = ipv4", "fd.types[0] = ipv4"),
        ("k8s.pod.label[app] = nginx", "k8s.pod.label[app] = nginx"),
        // Backspace is a blank for libsinsp but can be part of a bare string.
        ("x.y = allof\x08eo", "x.y = allof eo"),
        ("x.y =allof\x08eo", "x.y =allof\x08eo"),
        ("x.y contains allof\x081x", "x.y contains \"allof\\b1x\""),
    ];
    for (input, want) in cases {
        assert_eq!(show(input), want, "input {input:?}");
        roundtrip(input);
    }
}

#[test]
fn ast_shapes() {
    let e = p("proc.aname[2] = nginx");
    let ExprKind::Binary { lhs, op, rhs } = &e.kind else {
        panic!("{e:?}")
    };
    let f = lhs.as_field().expect("field");
    assert_eq!(
        (f.name.as_str(), f.arg.as_deref()),
        ("proc.aname", Some("2"))
    );
    assert_eq!(op.cmp, CmpOp::Eq);
    assert!(matches!(rhs, Rhs::Value(v) if v.text == "nginx" && !v.quoted));
    assert_eq!(e.span, Span::new(0, 21));
    assert_eq!(rhs.span(), Span::new(16, 21));

    let e = p("spawned_process and not open_write");
    let refs: Vec<String> = macro_refs(&e).into_iter().map(|(n, _)| n).collect();
    assert_eq!(refs, ["spawned_process", "open_write"]);
    assert_eq!(macro_refs(&e)[1].1, Span::new(24, 34));

    let e = p("proc.name in (shell_binaries, 'quoted', /bin/x) and fd.name pmatch (lst)");
    let refs: Vec<String> = list_refs(&e).into_iter().map(|(n, _)| n).collect();
    assert_eq!(refs, ["shell_binaries", "lst"]);

    let e = p("tolower(proc.name) = val(proc.pname) and fd.name exists and evt.num > 0");
    let names: Vec<&str> = fields(&e).into_iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["proc.name", "proc.pname", "fd.name", "evt.num"]);

    // Field-shaped right sides stay strings (libsinsp does the same).
    let e = p("a.b = a.a");
    assert!(matches!(&e.kind, ExprKind::Binary { rhs: Rhs::Value(v), .. } if v.text == "a.a"));
}

#[test]
fn error_messages_and_offsets() {
    let cases: &[(&str, usize, &str)] = &[
        ("", 0, "filter input string is empty"),
        (
            "evt.type=execve foo",
            16,
            "unexpected token after 'execve', expecting 'or', 'and'",
        ),
        (
            "evt.type=open invalid",
            14,
            "unexpected token after 'open', expecting 'or', 'and'",
        ),
        ("a andb", 5, "expected blank or '(' after 'and'"),
        ("a orb", 4, "expected blank or '(' after 'or'"),
        ("(a.b = 1", 8, "expected a ')' token"),
        (
            "and a",
            4,
            "unexpected token after 'and', expecting 'or', 'and'",
        ),
        ("a and", 5, "expected blank or '(' after 'and'"),
        (
            "a and ",
            6,
            "expected a '(' token, a field check, or an identifier",
        ),
        (
            "   ",
            3,
            "expected a '(' token, a field check, or an identifier",
        ),
        (
            "a.a foo xxx",
            4,
            "expected a valid check operator: one of 'exists', '<=', '<', '>=', '>', '==', '=', \
             '!=', 'glob', 'iglob', 'contains', 'icontains', 'bcontains', 'startswith', \
             'bstartswith', 'endswith', 'regex', 'intersects', 'in', 'pmatch'",
        ),
        (
            "test.num <= a",
            12,
            "expected a number value or a field with a valid transformer: 'val', 'tolower', \
             'toupper', 'b64', 'basename', 'len', 'join', 'concat', 'getopt'",
        ),
        (
            "a.b = (x)",
            6,
            "expected a string value or a field with a valid transformer: 'val', 'tolower', \
             'toupper', 'b64', 'basename', 'len', 'join', 'concat', 'getopt'",
        ),
        ("a.b in (x,)", 10, "expected a string value"),
        ("a.b in (x", 9, "expected a ')' token"),
        (
            "a.b = val(x)",
            10,
            "expected a field within 'val' transformer",
        ),
        (
            "a.b = 'x\\q'",
            11,
            "unsupported string escape sequence: \\q",
        ),
        (
            "a.b = 'x\\\"'",
            11,
            "invalid \\\" escape in '-quoted string",
        ),
        (
            "a.b = \"x\\'\"",
            11,
            "invalid \\' escape in \"-quoted string",
        ),
        ("a.b = \"\\x4\"", 11, "truncated hex char escape sequence"),
        (
            "a.b = \"\\xzz\"",
            12,
            "invalid hex char escape sequence: zz",
        ),
        ("a.b[x = y", 5, "expected a ']' token"),
        (
            "b64(a.b exists",
            8,
            "expected a ')' token closing the transformer",
        ),
        (
            "b64() exists",
            4,
            "expected field transformer argument: field, transformer, quoted string, number, \
             or transformer list",
        ),
        // `in` is matched as a prefix, as libsinsp does.
        (
            "a.a invalidop x",
            14,
            "unexpected token after 'validop', expecting 'or', 'and'",
        ),
        (
            "a \n and \n  b c",
            13,
            "unexpected token after 'b', expecting 'or', 'and'",
        ),
    ];
    for (input, off, msg) in cases {
        let e = perr(input);
        assert_eq!(
            (e.offset, e.message.as_str()),
            (*off, *msg),
            "input {input:?}"
        );
        let (l, c) = line_col(input, *off);
        assert_eq!((e.line, e.column), (l, c));
    }
    let e = perr("a \n and \n  b c");
    assert_eq!((e.line, e.column), (3, 5));
}

#[test]
fn depth_limit() {
    let deep = "(".repeat(100_000);
    let e = Parser::new(&deep).with_max_depth(100).parse().unwrap_err();
    assert_eq!(e.message, "exceeded max depth limit of 100");
    let e = perr(&deep);
    assert_eq!(e.message, "exceeded max depth limit of 1000");
    assert!(parse("((((((((((a))))))))))").is_ok());
    // Falco's loader limit allows ~200 nested parentheses.
    let ok = format!("{}a{}", "(".repeat(190), ")".repeat(190));
    assert!(parse(&ok).is_ok());
    // Worst cases at the limit fit in a 2 MiB test thread, even unoptimised.
    let deep_tr = format!("{}a.b{} exists", "b64(".repeat(600), ")".repeat(600));
    assert_eq!(perr(&deep_tr).message, "exceeded max depth limit of 1000");
    let ok_tr = format!("{}a.b{} exists", "b64(".repeat(495), ")".repeat(495));
    assert!(parse(&ok_tr).is_ok());
    let deep_mix = format!(
        "{}x.y = {}a.b{}",
        "(".repeat(150),
        "b64(".repeat(400),
        ")".repeat(550)
    );
    assert!(parse(&deep_mix).is_err());
    let nots = "not ".repeat(10_000) + "a";
    assert!(matches!(p(&nots).kind, ExprKind::Macro(_)));
}

#[test]
fn positions() {
    assert_eq!(line_col("a \n and \n  b", 12), (3, 4));
    assert_eq!(line_col("a \n and \n not \n b", 17), (4, 3));
    assert_eq!(line_col("abc", 2), (1, 3));
    let text = "\n(proc.aname[2]=nginx\n     and evt.type in (connect,accept))";
    let e = p(text);
    let ExprKind::And(c) = &e.kind else { panic!() };
    assert_eq!(c[0].span.line_col(text), (2, 2));
    assert_eq!(c[1].span.line_col(text), (3, 10));
    assert_eq!(
        &text[c[1].span.start..c[1].span.end],
        "evt.type in (connect,accept)"
    );
}

// ------------------------------------------------------------ rules files

/// A minimal YAML reader for `condition:` values: block scalars, plain
/// multi-line scalars and quoted scalars. Returns (line, text).
fn yaml_conditions(src: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = src.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        let body = trimmed.strip_prefix("- ").unwrap_or(trimmed);
        let Some(rest) = body.strip_prefix("condition:") else {
            i += 1;
            continue;
        };
        let key_indent = line.len() - trimmed.len() + (trimmed.len() - body.len());
        let rest = rest.trim();
        let start = i + 1;
        i += 1;
        let mut cont = Vec::new();
        while i < lines.len() {
            let l = lines[i];
            let ind = l.len() - l.trim_start().len();
            if l.trim().is_empty() || ind > key_indent {
                cont.push(l);
                i += 1;
            } else {
                break;
            }
        }
        while cont.last().is_some_and(|l| l.trim().is_empty()) {
            cont.pop();
        }
        let text = if rest.starts_with('>') || rest.starts_with('|') {
            cont.join("\n")
        } else if let Some(q) = rest.strip_prefix('\'') {
            let all = std::iter::once(q)
                .chain(cont.iter().map(|l| l.trim()))
                .collect::<Vec<_>>()
                .join(" ");
            let end = all.rfind('\'').unwrap_or(all.len());
            all[..end].replace("''", "'")
        } else if let Some(q) = rest.strip_prefix('"') {
            let all = std::iter::once(q)
                .chain(cont.iter().map(|l| l.trim()))
                .collect::<Vec<_>>()
                .join(" ");
            let end = all.rfind('"').unwrap_or(all.len());
            all[..end]
                .replace("\\\\", "\u{0}")
                .replace("\\\"", "\"")
                .replace('\u{0}', "\\")
        } else {
            let mut parts = vec![strip_comment(rest)];
            parts.extend(cont.iter().map(|l| strip_comment(l.trim())));
            parts.join(" ")
        };
        out.push((start, text));
    }
    out
}

fn strip_comment(s: &str) -> &str {
    match s.find(" #") {
        Some(i) => s[..i].trim_end(),
        None if s.starts_with('#') => "",
        None => s,
    }
}

fn rules_files() -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for dir in [
        "/work/shared/falco-rules/upstream",
        "/work/shared/falco-rules/legacy-0.7.0",
        "/work/shared/falco-regression/rules",
    ] {
        let Ok(rd) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in rd.flatten() {
            let path = e.path();
            if path.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Conditions in the regression rules that are wrong on purpose, with the
/// message Falco gives.
const EXPECTED_BAD: &[(&str, &str)] = &[(
    "invalid_condition_not_rule.yaml",
    "filter input string is empty",
)];

#[test]
fn parse_every_rules_file_condition() {
    let files = rules_files();
    if files.is_empty() {
        eprintln!("no rules files found; skipping");
        return;
    }
    let mut count = 0;
    let mut failures = Vec::new();
    for f in &files {
        let Ok(src) = std::fs::read_to_string(f) else {
            continue;
        };
        for (line, mut cond) in yaml_conditions(&src) {
            count += 1;
            // Fragments appended to an earlier condition.
            let t = cond.trim_start();
            if t.starts_with("and ") || t.starts_with("or ") {
                cond = format!("appended {cond}");
            }
            match parse(&cond) {
                Ok(e) => {
                    let again = parse(&e.to_string()).map(|x| x.without_spans());
                    if again != Ok(e.without_spans()) {
                        failures.push(format!("{}:{line}: round trip: {e}", f.display()));
                    }
                }
                Err(err) => {
                    let name = f.file_name().map(|n| n.to_string_lossy().to_string());
                    let expected = EXPECTED_BAD
                        .iter()
                        .any(|(file, msg)| name.as_deref() == Some(*file) && err.message == *msg);
                    if !expected {
                        failures.push(format!("{}:{line}: {err}: {cond:?}", f.display()));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(count > 500, "only {count} conditions found");
}

// ------------------------------------------------------------ expansion

#[test]
fn macro_expansion() {
    let macros: BTreeMap<&str, Expr> = [
        ("open_write", p("evt.type=open and fd.typechar='f'")),
        ("spawned", p("evt.type=execve and evt.dir=<")),
        ("both", p("open_write or spawned")),
        ("loop_a", p("loop_b")),
        ("loop_b", p("loop_a")),
        ("self", p("proc.name=x and self")),
    ]
    .into_iter()
    .collect();
    let look = |n: &str| macros.get(n);
    let e = expand_macros(&p("both and not proc.name=sh"), &look).unwrap();
    assert_eq!(
        e.to_string(),
        "(((evt.type = open and fd.typechar = \"f\") or (evt.type = execve and evt.dir = <)) \
         and not proc.name = sh)"
    );
    assert!(macro_refs(&e).is_empty());

    let err = expand_macros(&p("a.b=1 and nothere"), &look).unwrap_err();
    assert_eq!(err.kind, MacroErrorKind::Undefined);
    assert_eq!(err.to_string(), "Undefined macro 'nothere' used in filter.");
    assert_eq!(err.span, Span::new(10, 17));

    // Loops are reported before undefined macros, wherever they are.
    let err = expand_macros(&p("nothere or loop_a"), &look).unwrap_err();
    assert_eq!(err.kind, MacroErrorKind::Loop);
    assert_eq!(err.to_string(), "reference loop in macro 'loop_a'");
    let err = expand_macros(&p("self"), &look).unwrap_err();
    assert_eq!(err.to_string(), "reference loop in macro 'self'");
}

#[test]
fn list_expansion() {
    let lists: BTreeMap<&str, Vec<String>> = [
        ("shells", vec!["bash".to_string(), "sh".to_string()]),
        ("empty", vec![]),
        (
            "spacey",
            vec![
                "a b".to_string(),
                "'q r'".to_string(),
                "\"x\\ty\"".to_string(),
            ],
        ),
    ]
    .into_iter()
    .collect();
    let look = |n: &str| lists.get(n).map(|v| v.as_slice());
    let e = expand_lists(
        &p("proc.name in (shells, zsh, 'shells', empty) and a.b in spacey"),
        &look,
    );
    assert_eq!(
        e.to_string(),
        "(proc.name in (bash, sh, zsh, \"shells\") and a.b in (\"a b\", \"q r\", \"x\\ty\"))"
    );
    // Modifier lists are lists too.
    let e = expand_lists(&p("proc.name startswith oneof (shells)"), &look);
    assert_eq!(e.to_string(), "proc.name startswith oneof (bash, sh)");

    // Ordered expansion: an item inserted by an earlier list is expanded by
    // a later one (Falco's textual substitution does this).
    let ordered = vec![
        (
            "first".to_string(),
            vec!["second".to_string(), "x".to_string()],
        ),
        ("second".to_string(), vec!["y".to_string()]),
        ("unused".to_string(), vec!["z".to_string()]),
    ];
    let (e, used) = expand_lists_ordered(&p("a.b in (first)"), &ordered);
    assert_eq!(e.to_string(), "a.b in (y, x)");
    assert_eq!(used.into_iter().collect::<Vec<_>>(), ["first", "second"]);

    // ...but never by an earlier one: `early` is defined before `late`,
    // which inserts its name, so it stays as text.
    let ordered = vec![
        ("early".to_string(), vec!["e".to_string()]),
        (
            "late".to_string(),
            vec!["early".to_string(), "next".to_string()],
        ),
        ("next".to_string(), vec!["n1".to_string(), "n2".to_string()]),
    ];
    let (e, used) = expand_lists_ordered(
        &p("a.b in (late, early) and c.d = late and e.f = next"),
        &ordered,
    );
    assert_eq!(
        e.to_string(),
        "(a.b in (early, n1, n2, e) and c.d = \"early, next\" and e.f = \"n1, n2\")"
    );
    assert_eq!(
        used.into_iter().collect::<Vec<_>>(),
        ["early", "late", "next"]
    );
    // A list defined twice: the second definition expands what the first
    // inserted under the same name.
    let twice = vec![
        ("dup".to_string(), vec!["dup".to_string(), "a".to_string()]),
        ("dup".to_string(), vec!["b".to_string()]),
    ];
    let (e, _) = expand_lists_ordered(&p("x.y in (dup)"), &twice);
    assert_eq!(e.to_string(), "x.y in (b, a)");
    // A bare name whose single item names a later list is expanded again.
    let chain = vec![
        ("one".to_string(), vec!["two".to_string()]),
        ("two".to_string(), vec!["cat".to_string()]),
    ];
    let (e, used) = expand_lists_ordered(&p("proc.name = one"), &chain);
    assert_eq!(e.to_string(), "proc.name = cat");
    assert_eq!(used.len(), 2);
}

#[test]
fn a_long_chain_of_lists_expands_without_deep_recursion() {
    // l0 names l1, which names l2, ... : as deep as a rules file makes it.
    let n = 50_000;
    let chain: Vec<(String, Vec<String>)> = (0..n)
        .map(|i| {
            let item = if i + 1 < n {
                format!("l{}", i + 1)
            } else {
                "end".into()
            };
            (format!("l{i}"), vec![item])
        })
        .collect();
    let (e, used) = expand_lists_ordered(&p("a.b in (l0) and c.d = l0"), &chain);
    assert_eq!(e.to_string(), "(a.b in (end) and c.d = end)");
    assert_eq!(used.len(), n);
}

#[test]
fn list_items_resolution() {
    let a = vec!["open".to_string()];
    let b = vec!["list_a".to_string(), "x".to_string()];
    let c = vec!["list_b".to_string()];
    let defs = [
        ListDef {
            name: "list_a",
            items: &a,
            visibility: 0,
        },
        ListDef {
            name: "list_b",
            items: &b,
            visibility: 1,
        },
        ListDef {
            name: "list_c",
            items: &c,
            visibility: 2,
        },
    ];
    let (out, used) = resolve_list_items(&defs);
    assert_eq!(out[1].1, ["open", "x"]);
    // One level only, from the referenced list's items as written.
    assert_eq!(out[2].1, ["list_a", "x"]);
    assert_eq!(used.into_iter().collect::<Vec<_>>(), ["list_a", "list_b"]);
    // A list cannot see later lists.
    let defs = [
        ListDef {
            name: "list_b",
            items: &b,
            visibility: 0,
        },
        ListDef {
            name: "list_a",
            items: &a,
            visibility: 1,
        },
    ];
    assert_eq!(resolve_list_items(&defs).0[0].1, ["list_a", "x"]);
}

// ------------------------------------------------------------ event types

fn names(e: &EventTypes) -> String {
    match e {
        EventTypes::All => "all".into(),
        EventTypes::Names(s) => s.iter().cloned().collect::<Vec<_>>().join(","),
    }
}

#[test]
fn event_types_libsinsp() {
    let cases = [
        ("evt.type=execve", "execve"),
        ("proc.name=foo", "all"),
        ("evt.type!=execve", "all"),
        ("not evt.type=execve", "all"),
        ("evt.type=execve and proc.name!=foo", "execve"),
        (
            "evt.type=execve and not proc.name=foo or evt.type=open",
            "execve,open",
        ),
        (
            "evt.type in (execve, open) and proc.name!=foo or evt.type=connect",
            "connect,execve,open",
        ),
        ("evt.type in (execve, open) or evt.type!=connect", "all"),
        ("not evt.type in (execve, open)", "all"),
        ("proc.name!=foo and evt.type=execve", "execve"),
        (
            "not proc.name=foo and evt.type in (execve, open)",
            "execve,open",
        ),
        ("evt.type in (open) or evt.type in (open, open)", "open"),
        ("evt.type in (open, execve) and not evt.type=open", "execve"),
        (
            "not (evt.type=open or evt.type=execve) and evt.type in (open, close)",
            "close",
        ),
        ("not (evt.type!=open)", "open"),
        ("not not_macro and evt.type=open", "open"),
        ("evt.type=open and evt.type=close", ""),
        ("evt.num=0", ""),
        ("evt.num>0 and evt.type=open", "open"),
        ("not evt.num>=1", ""),
        ("not evt.type exists", ""),
        ("evt.type exists", "all"),
        ("syscall.type=open", "open"),
        ("evt.type = val(evt.type)", "all"),
        ("tolower(evt.type) = open", "all"),
        ("evt.type startswith open", "all"),
        (
            "evt.type in (execve, open) and (proc.name=a or evt.type=open)",
            "execve,open",
        ),
    ];
    for (cond, want) in cases {
        assert_eq!(names(&event_types(&p(cond))), want, "{cond}");
    }
    let universe: BTreeSet<String> = ["open", "close", "execve", "connect"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let got = event_types_in(&p("evt.type!=execve and evt.type!=open"), &universe);
    assert_eq!(got.into_iter().collect::<Vec<_>>(), ["close", "connect"]);
    let got = event_types_in(&p("evt.type=nosuch or evt.type=open"), &universe);
    assert_eq!(got.into_iter().collect::<Vec<_>>(), ["open"]);
}

/// Parses falco_tests.yaml's `rules_events` block and the matching rules
/// file, and checks [`event_types_legacy`] gives those sets; also checks the
/// LOAD_NO_EVTTYPE expectations against [`event_types`].
#[test]
fn event_types_regression_suite() {
    let Ok(tests) = std::fs::read_to_string("/work/shared/falco-regression/falco_tests.yaml")
    else {
        return;
    };
    let Ok(rules) =
        std::fs::read_to_string("/work/shared/falco-regression/rules/falco_rules_warnings.yaml")
    else {
        return;
    };
    let mut conds = BTreeMap::new();
    let mut name = None;
    for l in rules.lines() {
        if let Some(n) = l.strip_prefix("- rule:") {
            name = Some(n.trim().to_string());
        } else if let Some(c) = l.trim().strip_prefix("condition:")
            && let Some(n) = name.take()
        {
            conds.insert(n, c.trim().to_string());
        }
    }
    let mut expected = Vec::new();
    let mut in_block = false;
    for l in tests.lines() {
        if l.trim() == "rules_events:" {
            in_block = true;
            continue;
        }
        if in_block {
            let Some(item) = l.trim().strip_prefix("- ") else {
                break;
            };
            let (n, set) = item.split_once(':').expect("name: [set]");
            let set = set.trim().trim_start_matches('[').trim_end_matches(']');
            expected.push((n.trim().to_string(), set.replace(' ', "")));
        }
    }
    assert_eq!(expected.len(), 31);
    let mut no_evttype = BTreeSet::new();
    let mut cur_code_rule: Option<String> = None;
    for l in tests
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .take_while(|l| !l.contains("rules_events"))
    {
        if let Some(n) = l.trim().strip_prefix("item_name:") {
            cur_code_rule = Some(n.trim().to_string());
        } else if l.contains("code: LOAD_NO_EVTTYPE")
            && let Some(n) = cur_code_rule.take()
        {
            no_evttype.insert(n);
        }
    }
    assert_eq!(no_evttype.len(), 9);
    for (rule, want) in expected {
        let cond = &conds[&rule];
        let e = p(cond);
        assert_eq!(
            names(&event_types_legacy(&e)),
            want,
            "legacy {rule}: {cond}"
        );
        let modern = event_types(&e);
        assert_eq!(
            modern == EventTypes::All,
            no_evttype.contains(&rule),
            "LOAD_NO_EVTTYPE for {rule}: {cond} -> {modern:?}"
        );
    }
}

#[test]
fn operators_as_written_in_exceptions() {
    let listed: Vec<String> = OPERATORS.iter().map(|o| format!("'{o}'")).collect();
    assert_eq!(
        perr("a.b ~ 1").message,
        format!(
            "expected a valid check operator: one of {}",
            listed.join(", ")
        )
    );
    for op in OPERATORS.iter().filter(|o| **o != "exists") {
        let b = binary_op(op).unwrap();
        assert_eq!((b.cmp.as_str(), b.modifier), (*op, None));
    }
    let b = binary_op(" startswith \t oneof ").unwrap();
    assert_eq!(
        (b.cmp, b.modifier),
        (CmpOp::StartsWith, Some(Modifier::OneOf))
    );
    assert!(b.takes_list());
    assert!(binary_op("in").unwrap().takes_list());
    assert!(!binary_op("=").unwrap().takes_list());
    for bad in [
        "exists",
        "",
        "in oneof",
        "< anyof",
        "startswith oneof x",
        "oneof",
        "==",
    ] {
        assert_eq!(binary_op(bad).is_some(), bad == "==", "{bad:?}");
    }
}
