//! Compiler and evaluator tests with synthetic events and state.

use super::*;
use crate::condition::parse;
use crate::extract::StreamInfo;
use peregrine_event::{EventBuilder, EventView, code};
use peregrine_scap::records::ThreadRecord;
use peregrine_state::State;

#[derive(Clone, Copy, Debug)]
enum Ev {
    Open,
    Connect,
    Write,
    Mprotect,
    NoThread,
}

fn thread(tid: u64, ptid: u64, comm: &str, exe: &str, exepath: &str) -> ThreadRecord {
    ThreadRecord {
        tid,
        pid: tid,
        ptid,
        comm: comm.into(),
        exe: exe.into(),
        exepath: exepath.into(),
        cwd: "/root".into(),
        ..Default::default()
    }
}

fn v4tuple(s: [u8; 4], sp: u16, d: [u8; 4], dp: u16) -> Vec<u8> {
    let mut t = vec![2u8];
    t.extend_from_slice(&s);
    t.extend_from_slice(&sp.to_le_bytes());
    t.extend_from_slice(&d);
    t.extend_from_slice(&dp.to_le_bytes());
    t
}

fn events(ev: Ev) -> Vec<Vec<u8>> {
    let open = EventBuilder::open_exit(10, 200, 3, "/etc/passwd", 1);
    match ev {
        Ev::Open => vec![open],
        Ev::NoThread => vec![EventBuilder::open_exit(10, 999, 3, "/x", 1)],
        Ev::Connect => vec![
            EventBuilder::new(code::SOCKET_SOCKET_X, 11, 200)
                .u64(4)
                .u32(2)
                .u32(1)
                .u32(0)
                .u32(0)
                .build(),
            EventBuilder::new(code::SOCKET_CONNECT_X, 12, 200)
                .u64(0)
                .param(&v4tuple([10, 0, 0, 5], 40000, [142, 251, 111, 147], 443))
                .u64(4)
                .param(b"")
                .build(),
        ],
        Ev::Write => vec![
            open,
            EventBuilder::new(code::SYSCALL_WRITE_X, 13, 200)
                .u64(5)
                .param(b"hello\x00\x01")
                .u64(3)
                .u32(7)
                .build(),
        ],
        Ev::Mprotect => vec![
            EventBuilder::new(code::GENERIC_X, 14, 200)
                .u16(
                    peregrine_event::syscalls::SYSCALL_NAMES
                        .iter()
                        .position(|n| *n == "mprotect")
                        .unwrap() as u16,
                )
                .u16(10)
                .build(),
        ],
    }
}

fn world(ev: Ev) -> (State, Vec<Vec<u8>>) {
    let mut st = State::new();
    st.load_thread(thread(
        1,
        0,
        "systemd",
        "/sbin/init",
        "/usr/lib/systemd/systemd",
    ));
    st.load_thread(thread(50, 1, "sshd", "sshd", "/usr/sbin/sshd"));
    st.load_thread(thread(100, 50, "bash", "-bash", "/bin/bash"));
    let mut cat = thread(200, 100, "cat", "cat", "/usr/bin/cat");
    cat.args = vec!["/etc/passwd".into()];
    cat.env = vec!["HOME=/root".into()];
    st.load_thread(cat);
    let evs = events(ev);
    for e in &evs {
        st.process(&EventView::parse(e).unwrap());
    }
    (st, evs)
}

/// The context of `ev` (the event numbered 1, on CPU 0) in `st`.
fn ctx<'a>(ev: EventView<'a>, st: &'a State, stream: &'a StreamInfo) -> Ctx<'a> {
    Ctx {
        ev,
        num: 1,
        cpu: 0,
        st: st.context(),
        stream,
    }
}

fn run_with(cond: &str, ev: Ev) -> Result<bool, CompileError> {
    let expr = parse(cond).unwrap_or_else(|e| panic!("{cond}: {e}"));
    let mut f = compile(&expr, cond)?;
    let (st, evs) = world(ev);
    let view = EventView::parse(evs.last().unwrap()).unwrap();
    let stream = StreamInfo::default();
    let cx = ctx(view, &st, &stream);
    let mut cache = FieldCache::default();
    let r = f.matches(&cx, &mut cache);
    // A second evaluation reads through the cache.
    assert_eq!(r, f.matches(&cx, &mut cache), "{cond}");
    // The condition specialized for the event's code agrees.
    let plan = f.plan_for(view.code());
    let mut fresh = FieldCache::default();
    assert_eq!(
        r,
        f.matches_plan(plan, &cx, &mut fresh),
        "{cond} ({plan:?})"
    );
    Ok(r)
}

#[test]
fn plans_fold_event_types() {
    let mut fields = FieldInterner::new();
    let mut c = |text: &str| compile_with(&parse(text).unwrap(), text, &mut fields).unwrap();
    let mut only_open = c("evt.type in (open, openat) and proc.name = cat");
    let mut either =
        c("(evt.type = open and proc.name = cat) or (evt.type = connect and fd.num > 0)");
    let mut negated = c("not evt.type = open");
    let open = code::SYSCALL_OPEN_X;
    let connect = code::SOCKET_CONNECT_X;
    assert!(matches!(only_open.plan_for(open), Plan::Run(_)));
    assert_eq!(only_open.plan_for(connect), Plan::Never);
    assert!(matches!(either.plan_for(open), Plan::Run(_)));
    assert_ne!(either.plan_for(open), either.plan_for(connect));
    assert_eq!(negated.plan_for(open), Plan::Never);
    assert_eq!(negated.plan_for(connect), Plan::Always);
    // Generic events keep their (name) checks.
    assert!(matches!(negated.plan_for(code::GENERIC_X), Plan::Run(_)));
    // Plans are built once per distinct set of `evt.type` outcomes.
    assert_eq!(
        only_open.plan_for(open),
        only_open.plan_for(code::SYSCALL_OPENAT_2_X)
    );
}

#[test]
fn equal_checks_share_results_across_filters() {
    let mut fields = FieldInterner::new();
    let a = "proc.name = cat and fd.typechar = 'f'";
    let b = "fd.typechar = 'f' and proc.name in (cat, dog)";
    let fa = compile_with(&parse(a).unwrap(), a, &mut fields).unwrap();
    let fb = compile_with(&parse(b).unwrap(), b, &mut fields).unwrap();
    // `fd.typechar = 'f'` is one check; `proc.name = cat` and
    // `proc.name in (cat, dog)` are two.
    assert_eq!(fields.checks.len(), 3);
    // The shared one is built once and held by both filters.
    let shared: Vec<_> = fa
        .leaves
        .checks
        .iter()
        .filter(|a| {
            fb.leaves
                .checks
                .iter()
                .any(|b| std::sync::Arc::ptr_eq(a, b))
        })
        .collect();
    assert_eq!(shared.len(), 1);
    let (st, evs) = world(Ev::Open);
    let view = EventView::parse(evs.last().unwrap()).unwrap();
    let stream = StreamInfo::default();
    let cx = ctx(view, &st, &stream);
    let mut cache = FieldCache::new(&fields);
    cache.reset();
    assert!(fa.matches(&cx, &mut cache));
    assert!(fb.matches(&cx, &mut cache));
    // A new event forgets the results.
    cache.reset();
    assert!(fb.matches(&cx, &mut cache));
}

fn on(ev: Ev, cases: &[(&str, bool)]) {
    for (cond, want) in cases {
        match run_with(cond, ev) {
            Ok(got) => assert_eq!(got, *want, "{cond} on {ev:?}"),
            Err(e) => panic!("{cond}: compile error {e}"),
        }
    }
}

fn err(cond: &str) -> CompileError {
    let expr = parse(cond).unwrap_or_else(|e| panic!("{cond}: {e}"));
    match compile(&expr, cond) {
        Ok(_) => panic!("{cond}: compiled"),
        Err(e) => e,
    }
}

fn err_msg(cases: &[(&str, &str)]) {
    for (cond, msg) in cases {
        assert_eq!(err(cond).message, *msg, "{cond}");
    }
}

// ------------------------------------------------------------------ strings

#[test]
fn string_equality_and_order() {
    on(
        Ev::Open,
        &[
            ("proc.name = cat", true),
            ("proc.name == cat", true),
            ("proc.name = bash", false),
            ("proc.name != bash", true),
            ("proc.name != cat", false),
            ("proc.name < 5", false),
            ("proc.name <= 5", false),
            ("proc.name > 5", true),
            ("proc.name >= 5", true),
            ("toupper(proc.name) < 5", false),
            ("fd.name = /etc/passwd", true),
        ],
    );
}

#[test]
fn string_substring_ops() {
    on(
        Ev::Open,
        &[
            ("fd.name contains passwd", true),
            ("fd.name contains shadow", false),
            ("fd.name icontains PASSWD", true),
            ("fd.name icontains pAsS", true),
            ("fd.name icontains SHADOW", false),
            ("fd.name startswith /etc", true),
            ("fd.name startswith /usr", false),
            ("fd.name endswith wd", true),
            ("fd.name endswith /etc", false),
            ("fd.name contains ''", true),
        ],
    );
}

#[test]
fn string_glob_and_iglob() {
    on(
        Ev::Open,
        &[
            ("fd.name glob '/etc/*'", true),
            ("fd.name glob '*passwd'", true),
            ("fd.name glob '/etc/pa??wd'", true),
            ("fd.name glob '/etc/[op]asswd'", true),
            ("fd.name glob '/etc/[!p]asswd'", false),
            ("fd.name glob '/ETC/*'", false),
            ("fd.name iglob '/ETC/*'", true),
            ("fd.name iglob '/ETC/[P]ASSWD'", true),
            ("fd.name glob '/e*c/p*d'", true),
        ],
    );
    assert!(check::glob(b"a*b", b"a*b", false));
    assert!(check::glob(b"a\\*b", b"a*b", false));
    assert!(!check::glob(b"a\\*b", b"axb", false));
    assert!(check::glob(b"a[", b"a[", false));
    assert!(check::glob(b"*", b"", false));
    assert!(!check::glob(b"?", b"", false));
}

#[test]
fn string_regex() {
    on(
        Ev::Open,
        &[
            ("fd.name regex '/etc/.*'", true),
            ("fd.name regex 'etc'", false),
            ("fd.name regex '.*pass.*'", true),
            ("proc.name regex 'c[a-z]t'", true),
            ("proc.name regex '^cat$'", true),
        ],
    );
    let e = err("proc.name regex '('");
    assert!(
        e.message.starts_with("invalid regex pattern: "),
        "{}",
        e.message
    );
    assert_eq!(e.span.start, 16);
}

#[test]
fn string_pmatch() {
    on(
        Ev::Open,
        &[
            ("fd.name pmatch (/etc)", true),
            ("fd.name pmatch (/etc/passwd)", true),
            ("fd.name pmatch (/etc/pass)", false),
            ("fd.name pmatch (/usr, /etc)", true),
            ("fd.name pmatch (/usr, /var)", false),
            ("fd.name pmatch (/e*)", true),
            ("fd.name pmatch (/e?c/passwd)", true),
            ("fd.name pmatch (/etc/passwd/x)", false),
            ("fd.name pmatch (/)", true),
            ("fd.name pmatch (etc)", true),
        ],
    );
    let mut t = check::PathTrie::default();
    t.add(b"/opt/dir/subdir");
    t.add(b"/opt/dir");
    t.add(b"/opt/*/x");
    t.finish();
    assert!(t.matches(b"/opt/dir/a"));
    assert!(t.matches(b"/opt/other/x/y"));
    assert!(!t.matches(b"/opt/other/y"));
    assert!(!t.matches(b"/opt"));
}

#[test]
fn string_in_and_intersects() {
    on(
        Ev::Open,
        &[
            ("proc.name in (bash, cat)", true),
            ("proc.name in (bash, sh)", false),
            ("proc.name in ()", false),
            ("proc.name intersects (cat)", true),
            ("proc.name intersects (sh)", false),
            (
                "proc.name in (a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, cat)",
                true,
            ),
            (
                "proc.name in (a1, a2, a3, a4, a5, a6, a7, a8, a9, a10)",
                false,
            ),
        ],
    );
}

#[test]
fn string_modifiers() {
    on(
        Ev::Open,
        &[
            ("fd.name startswith anyof (/usr, /etc)", true),
            ("fd.name startswith anyof (/usr, /var)", false),
            ("fd.name startswith oneof (/e, /et)", false),
            ("fd.name startswith oneof (/e, /usr)", true),
            ("fd.name contains allof (etc, pass)", true),
            ("fd.name contains allof (etc, shadow)", false),
            ("proc.name = anyof (cat, dog)", true),
            ("proc.name != allof (dog, cow)", true),
            ("proc.name != allof (cat, cow)", false),
            ("proc.name regex anyof ('c.*', 'x')", true),
            ("fd.name endswith allof (wd, passwd)", true),
        ],
    );
}

// ------------------------------------------------------------------ numbers

#[test]
fn numeric_relations() {
    on(
        Ev::Open,
        &[
            ("proc.pid = 200", true),
            ("proc.pid != 200", false),
            ("proc.pid > 100", true),
            ("proc.pid >= 200", true),
            ("proc.pid < 100", false),
            ("proc.pid <= 200", true),
            ("proc.pid > -5", true),
            ("proc.pid in (1, 2, 200)", true),
            ("proc.pid in (1, 2)", false),
            ("proc.pid intersects (200)", true),
            ("proc.ppid = 100", true),
            ("evt.num = 1", true),
            ("evt.num > 0", true),
            ("fd.num = 3", true),
            ("fd.num < 0", false),
            ("evt.rawres = 3", true),
            ("evt.rawres >= 0", true),
            ("proc.pid = ' 200'", true),
            ("proc.pid = anyof (1, 200)", true),
        ],
    );
}

#[test]
fn unsigned_fields_wrap_negative_constants() {
    // sscanf("%lu") wraps "-1" to 2^64-1.
    on(Ev::Open, &[("evt.num < -1", true), ("evt.num = -1", false)]);
}

#[test]
fn rawarg_uses_the_parameter_type() {
    on(
        Ev::Open,
        &[
            ("evt.rawarg.fd = 3", true),
            ("evt.rawarg.fd > 2", true),
            ("evt.rawarg.name = /etc/passwd", true),
            ("evt.rawarg.flags = 1", true),
        ],
    );
    err_msg(&[("evt.rawarg.fd = abc", "abc is not a valid number")]);
}

#[test]
fn number_literal_errors() {
    err_msg(&[
        ("proc.pid = abc", "abc is not a valid number"),
        ("proc.pid = 0x10", "0x10 is not a valid number"),
        ("proc.pid = '1 '", "1  is not a valid number"),
        ("proc.pid in (1, x)", "x is not a valid number"),
        (
            "fd.sport = nosuchservice",
            "unrecognized protocol nosuchservice",
        ),
    ]);
    let e = err("proc.pid in (1, x)");
    assert_eq!(e.span.start, 16);
    assert_eq!((e.line, e.col), (1, 17));
}

// ------------------------------------------------------------------ booleans

#[test]
fn booleans() {
    on(
        Ev::Open,
        &[
            ("evt.failed = false", true),
            ("evt.failed = true", false),
            ("evt.failed != true", true),
            ("evt.failed in (true, false)", true),
            ("evt.is_open_read = true", true),
            ("evt.is_open_write = true", false),
        ],
    );
    err_msg(&[
        (
            "evt.failed = 1",
            "filter error: unrecognized boolean value 1",
        ),
        (
            "evt.failed > 1",
            "filter error: '>' operator not supported for numeric filters",
        ),
    ]);
}

// ------------------------------------------------------------------ network

#[test]
fn ip_addresses() {
    on(
        Ev::Connect,
        &[
            ("fd.sip = 142.251.111.147", true),
            ("fd.sip != 142.251.111.147", false),
            ("fd.cip = 10.0.0.5", true),
            ("fd.sip = ::1", false),
            ("fd.sip != ::1", true),
            ("fd.sip in (1.1.1.1, 142.251.111.147)", true),
            ("fd.sip in (1.1.1.1)", false),
            ("fd.sip = anyof (1.1.1.1, 142.251.111.147)", true),
            ("fd.sip = allof (142.251.111.147, 10.0.0.1)", false),
            ("fd.sip = oneof (10.0.0.1, 142.251.111.147)", true),
            ("fd.ip = 10.0.0.5", true),
            ("fd.ip = 142.251.111.147", true),
            ("fd.ip = 1.2.3.4", false),
            ("fd.ip != 10.0.0.5", false),
            ("fd.ip != 1.2.3.4", true),
        ],
    );
    err_msg(&[
        (
            "fd.sip = 10.0.0.0/8",
            "unrecognized IPv4 address 10.0.0.0/8",
        ),
        ("fd.sip = zz", "unrecognized IPv6 address zz"),
        (
            "fd.sip contains 1",
            "filter error: 'contains' operator not supported for ip address and network filters",
        ),
        (
            "fd.sip startswith anyof (1)",
            "filter error: 'startswith' with modifier not supported for ip address and network filters",
        ),
    ]);
}

#[test]
fn ip_networks() {
    on(
        Ev::Connect,
        &[
            ("fd.snet = 142.0.0.0/8", true),
            ("fd.snet = 142.251.111.0/24", true),
            ("fd.snet = 10.0.0.0/8", false),
            ("fd.snet != 10.0.0.0/8", true),
            ("fd.cnet = 10.0.0.0/8", true),
            ("fd.net = 10.0.0.0/8", true),
            ("fd.net = 142.0.0.0/8", true),
            ("fd.net != 10.0.0.0/8", false),
            ("fd.net != 192.168.0.0/16", true),
            ("fd.net in (\"127.0.0.1/24\")", false),
            ("fd.net in (192.168.0.0/16, 10.0.0.5/32)", true),
            ("fd.snet != 2001:db8::0/64", true),
            ("fd.snet = 2001:db8::0/64", false),
        ],
    );
    err_msg(&[
        ("fd.net = 10.0.0.1", "unrecognized IP network 10.0.0.1"),
        ("fd.net = 10.0.0.1/33", "invalid netmask 33"),
        ("fd.net = 10.0.0.1/x", "x is not a valid number"),
        ("fd.net = x.y/8", "unrecognized IP address x.y/8"),
        ("fd.net = ::1", "invalid v6 netmask: ::1"),
        ("fd.net = ::1/0", "invalid v6 netmask 0"),
    ]);
}

#[test]
fn ports() {
    on(
        Ev::Connect,
        &[
            ("fd.sport = 443", true),
            ("fd.sport = https", true),
            ("fd.cport = 40000", true),
            ("fd.sport in (80, 443)", true),
            ("fd.sport > 1024", false),
            ("fd.port = 443", true),
            ("fd.port = 40000", true),
            ("fd.port != 443", false),
            ("fd.port > 1024", true),
            ("fd.port < 100", false),
            ("fd.port in (22, 443)", true),
            ("fd.sport = 65979", true), // 16-bit store, as libsinsp
        ],
    );
}

// ------------------------------------------------------------------ buffers

#[test]
fn byte_buffers() {
    on(
        Ev::Write,
        &[
            ("evt.buffer contains hell", true),
            ("evt.buffer contains world", false),
            ("evt.buffer bcontains 6c6c6f", true),
            ("evt.buffer bcontains 0001", true),
            ("evt.buffer bcontains 0002", false),
            ("evt.buffer bstartswith 68656c", true),
            ("evt.buffer bstartswith 656c", false),
            ("evt.buffer startswith he", true),
            ("evt.buffer endswith lo", false),
            ("evt.buffer = hello", false),
            ("evt.buffer != hello", true),
            ("evt.buffer in (hello, x)", false),
            ("evt.buflen = 5", true),
        ],
    );
    err_msg(&[
        (
            "evt.buffer bcontains 6c6",
            "filter error: bcontains and bstartswith operator support hex strings only",
        ),
        (
            "evt.buffer bcontains zz",
            "filter error: bcontains and bstartswith operator support hex strings only",
        ),
        (
            "evt.buffer glob x",
            "filter error: 'glob' operator not supported for buffer filters",
        ),
        (
            "proc.name bcontains 00",
            "filter error: 'bcontains' operator not supported for string filters",
        ),
        (
            "proc.name bstartswith 00",
            "filter error: 'bstartswith' operator not supported for string filters",
        ),
    ]);
}

// ------------------------------------------------------------------ multi-valued

#[test]
fn ancestors_without_index_match_any() {
    on(
        Ev::Open,
        &[
            ("proc.aname = sshd", true),
            ("proc.aname = bash", true),
            ("proc.aname = systemd", true),
            ("proc.aname = cat", false),
            ("proc.aname in (nginx, sshd)", true),
            ("proc.aname != sshd", true),
            ("proc.aname[1] = bash", true),
            ("proc.aname[2] = sshd", true),
            ("proc.aname[2] = bash", false),
            ("proc.aname[0] = cat", true),
            ("proc.aexepath = /usr/sbin/sshd", true),
            ("proc.aexe startswith -b", true),
            ("proc.apid = 50", true),
            ("proc.apid = 51", false),
            ("proc.apid[1] = 100", true),
            ("proc.aname exists", true),
        ],
    );
}

#[test]
fn list_field_type_rules() {
    on(
        Ev::Open,
        &[
            ("fd.types in (file, ipv4)", true),
            ("fd.types intersects (file)", true),
            ("fd.types intersects (ipv4)", false),
            ("fd.types exists", true),
            ("len(fd.types) = 1", true),
        ],
    );
    err_msg(&[
        (
            "fd.types = file",
            "filter error: '=' operator not supported list filters",
        ),
        (
            "fd.types contains f",
            "filter error: 'contains' operator not supported list filters",
        ),
    ]);
}

// ------------------------------------------------------------------ missing values

#[test]
fn missing_values_are_false_and_not_true() {
    on(
        Ev::NoThread,
        &[
            ("proc.pname = cat", false),
            ("proc.pname != cat", false),
            ("not proc.pname = cat", true),
            ("not proc.pname != cat", true),
            ("proc.pname exists", false),
            ("not proc.pname exists", true),
            ("proc.aname = bash", false),
            ("evt.type = open", true),
        ],
    );
    on(
        Ev::Open,
        &[
            ("fd.sip = 1.2.3.4", false),
            ("fd.sip != 1.2.3.4", false),
            ("fd.ip != 1.2.3.4", false),
            ("fd.port > 0", false),
            ("fd.name exists", true),
            ("fd.sip exists", false),
        ],
    );
}

#[test]
fn boolean_operators_short_circuit_and_nest() {
    on(
        Ev::Open,
        &[
            ("proc.name = cat and fd.name = /etc/passwd", true),
            ("proc.name = cat and fd.name = /x", false),
            ("proc.name = x or fd.name = /etc/passwd", true),
            ("not (proc.name = x or fd.name = /x)", true),
            ("not not proc.name = cat", true),
            (
                "(proc.name = x or (proc.name = cat and not proc.pid = 1))",
                true,
            ),
        ],
    );
}

// ------------------------------------------------------------------ transformers

#[test]
fn transformers() {
    on(
        Ev::Open,
        &[
            ("toupper(proc.name) = CAT", true),
            ("tolower(toupper(proc.name)) = cat", true),
            ("tolower(fd.name) contains passwd", true),
            ("basename(fd.name) = passwd", true),
            ("basename(proc.exepath) = cat", true),
            ("basename(proc.name) = cat", true),
            ("len(fd.name) = 11", true),
            ("len(proc.name) > 2", true),
            ("len(basename(fd.name)) = 6", true),
            ("toupper(proc.name) in (CAT, DOG)", true),
            ("toupper(proc.name) pmatch (CAT)", true),
            ("b64(proc.env[HOME]) exists", false), // "/root" is not base64
        ],
    );
    on(
        Ev::Write,
        &[
            ("len(evt.buffer) = 7", true),
            ("b64(evt.buffer) exists", false),
        ],
    );
    let mut out = Vec::new();
    assert!(transform::b64_decode(b"aGVsbG8=", &mut out));
    assert_eq!(out, b"hello");
    out.clear();
    assert!(transform::b64_decode(b"aGVsbG8", &mut out));
    assert_eq!(out, b"hello");
    assert!(!transform::b64_decode(b"a!", &mut Vec::new()));
}

#[test]
fn transformer_type_rules() {
    err_msg(&[
        (
            "tolower(proc.pid) = 1",
            "can't add field transformer: type 'INT64' is not supported by 'tolower' transformer applied on field 'proc.pid'",
        ),
        (
            "toupper(evt.failed) = true",
            "can't add field transformer: type 'BOOL' is not supported by 'toupper' transformer applied on field 'evt.failed'",
        ),
        (
            "basename(evt.buffer) = x",
            "can't add field transformer: type 'BYTEBUF' is not supported by 'basename' transformer applied on field 'evt.buffer'",
        ),
        (
            "b64(proc.pid) = x",
            "can't add field transformer: type 'INT64' is not supported by 'b64' transformer applied on field 'proc.pid'",
        ),
        (
            "len(proc.pid) = 1",
            "can't add field transformer: type 'INT64' is not supported by 'len' transformer applied on field 'proc.pid'",
        ),
        (
            "tolower(len(proc.name)) = 1",
            "can't add field transformer: type 'UINT64' is not supported by 'tolower' transformer applied on field 'proc.name'",
        ),
        (
            "len(proc.name) contains 1",
            "filter error: 'contains' operator not supported for numeric filters",
        ),
        (
            "tolower(fd.ip) = x",
            "field 'fd.ip' does not support transformers",
        ),
        (
            "tolower(proc.aname) = x",
            "field 'proc.aname' does not support transformers",
        ),
        (
            "tolower(proc.aname[2]) = x",
            "field 'proc.aname' does not support transformers",
        ),
    ]);
}

// ------------------------------------------------------------------ field to field

#[test]
fn field_comparisons() {
    on(
        Ev::Open,
        &[
            ("proc.name = val(proc.name)", true),
            ("proc.name = val(proc.pname)", false),
            ("proc.name != val(proc.pname)", true),
            ("proc.pid > val(proc.ppid)", true),
            ("proc.ppid in val(proc.ppid)", true),
            ("fd.name contains val(proc.name)", false),
            ("proc.cmdline contains val(proc.name)", true),
            ("toupper(proc.name) = toupper(proc.name)", true),
            ("proc.name = tolower(proc.name)", true),
            ("fd.name endswith val(fd.filename)", true),
            ("proc.exepath endswith val(proc.name)", true),
            ("proc.exepath glob val(proc.exepath)", true),
        ],
    );
    err_msg(&[
        (
            "proc.name = val(proc.pid)",
            "field 'proc.name' has type 'CHARBUF' while the right-hand side field 'proc.pid' has incompatible type 'INT64'",
        ),
        (
            "proc.name regex val(proc.pname)",
            "operator 'REGEX' doesn't support right-hand side fields",
        ),
        (
            "proc.name pmatch val(proc.pname)",
            "operator 'PMATCH' doesn't support right-hand side fields",
        ),
        (
            "fd.cnet = val(fd.snet)",
            "field type 'IPNET' doesn't support right-hand side fields",
        ),
        (
            "fd.ip = val(fd.sip)",
            "field 'fd.ip' doesn't support right-hand side fields",
        ),
        (
            "proc.aname = val(proc.name)",
            "field 'proc.aname' doesn't support right-hand side fields",
        ),
        (
            "proc.name = val(proc.aname[1])",
            "field 'proc.aname' can't be used as a right-hand side field",
        ),
        (
            "evt.type = val(proc.name)",
            "right-hand field comparisons on `evt.type`/`syscall.type` checks are not supported by event code search",
        ),
    ]);
}

// ------------------------------------------------------------------ compile errors

#[test]
fn unknown_fields_and_macros() {
    let e = err("evt.type = open and proc.nobody = x");
    assert_eq!(
        e.message,
        "filter_check called with nonexistent field proc.nobody"
    );
    assert_eq!((e.span.start, e.line, e.col), (20, 1, 21));
    assert_eq!(e.check.start, 20);
    let e = err("proc.name = x and\n  not foo.bar[1] exists");
    assert_eq!(
        e.message,
        "filter_check called with nonexistent field foo.bar[1]"
    );
    assert_eq!((e.line, e.col), (2, 7));
    let e = err("proc.name = x or some_macro");
    assert_eq!(e.message, "Undefined macro 'some_macro' used in filter.");
    assert_eq!(e.span.start, 17);
    err_msg(&[
        (
            "proc.name[1] = x",
            "filter error: can't parse field expression 'proc.name[1]'",
        ),
        (
            "tolower(proc.name)[1] = x",
            "filter error: transformer 'tolower' does not support field arguments",
        ),
        (
            "proc.name = val(proc.name)[1]",
            "filter error: transformer 'val' does not support field arguments",
        ),
        (
            "proc.name = \"a\\x00b\"",
            "filter error: filter value cannot contain a NUL byte (\\x00)",
        ),
    ]);
}

#[test]
fn operator_type_rules() {
    err_msg(&[
        (
            "proc.pid contains 1",
            "filter error: 'contains' operator not supported for numeric filters",
        ),
        (
            "proc.pid pmatch (1)",
            "filter error: 'pmatch' operator not supported for numeric filters",
        ),
        (
            "proc.pid glob 1",
            "filter error: 'glob' operator not supported for numeric filters",
        ),
        (
            "proc.pid regex 1",
            "filter error: 'regex' operator not supported for numeric filters",
        ),
        (
            "evt.failed contains t",
            "filter error: 'contains' operator not supported for numeric filters",
        ),
        (
            "fd.sip < 1",
            "filter error: '<' operator not supported for ip address and network filters",
        ),
        (
            "evt.buffer < 1",
            "filter error: '<' operator not supported for buffer filters",
        ),
    ]);
    // Strings take every operator but the byte ones; relational ones too.
    for op in [
        "=",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "contains",
        "icontains",
        "startswith",
        "endswith",
        "glob",
        "iglob",
        "regex",
    ] {
        let c = format!("proc.name {op} 1");
        run_with(&c, Ev::Open).unwrap_or_else(|e| panic!("{c}: {e}"));
    }
}

// ------------------------------------------------------------------ event types

#[test]
fn evt_type_checks_and_codes() {
    on(
        Ev::Open,
        &[
            ("evt.type = open", true),
            ("evt.type = openat", false),
            ("evt.type != open", false),
            ("evt.type in (openat, open)", true),
            ("evt.type in (mprotect)", false),
            ("evt.type startswith op", true),
        ],
    );
    on(
        Ev::Mprotect,
        &[
            ("evt.type = mprotect", true),
            ("evt.type = open", false),
            ("evt.type != mprotect", false),
            ("evt.type in (open, mprotect)", true),
            ("evt.type = syscall", false),
        ],
    );
    let codes = |c: &str| compile(&parse(c).unwrap(), c).unwrap().event_codes();
    let open: Vec<u16> = peregrine_event::codes_named("open").collect();
    assert_eq!(
        codes("evt.type = open and proc.name = cat"),
        Some(open.clone())
    );
    assert_eq!(codes("proc.name = cat"), None);
    assert_eq!(codes("not proc.name = cat"), None);
    assert_eq!(codes("evt.type = open or proc.name = cat"), None);
    let mut both = open.clone();
    both.extend(peregrine_event::codes_named("openat"));
    both.sort_unstable();
    assert_eq!(codes("evt.type in (open, openat)"), Some(both));
    assert_eq!(
        codes("evt.type = open and evt.type = openat"),
        Some(Vec::new())
    );
    // A syscall without an event of its own arrives as a generic event.
    let only_generic = peregrine_event::syscalls::SYSCALL_NAMES
        .iter()
        .find(|n| {
            !n.is_empty() && !n.starts_with('<') && peregrine_event::codes_named(n).next().is_none()
        })
        .unwrap();
    let generic = vec![code::GENERIC_E, code::GENERIC_X];
    let c = format!("evt.type = {only_generic}");
    assert_eq!(codes(&c), Some(generic.clone()));
    let mut og = generic.clone();
    og.extend(&open);
    let c = format!("evt.type in (open, {only_generic})");
    assert_eq!(codes(&c), Some(og));
    // Negations: complements, keeping generic events for syscall names.
    let not_open = codes("not evt.type = open").unwrap();
    assert!(!not_open.contains(&open[0]) && not_open.contains(&code::GENERIC_X));
    assert_eq!(codes("evt.type != open"), Some(not_open.clone()));
    assert_eq!(
        codes("not (evt.type = open or proc.name = x)"),
        Some(not_open)
    );
    let c = format!("evt.type != {only_generic}");
    let not_mp = codes(&c).unwrap();
    assert!(not_mp.contains(&code::GENERIC_E) && not_mp.contains(&open[0]));
    assert_eq!(codes("not not evt.type = open"), Some(open.clone()));
    assert_eq!(codes("evt.type exists and evt.type = open"), Some(open));
}

// ------------------------------------------------------------------ cache

#[test]
fn shared_interner_and_cache() {
    let mut fields = FieldInterner::new();
    let a = "proc.name = cat and fd.name startswith /etc";
    let b = "proc.name = bash or proc.pname = bash";
    let fa = compile_with(&parse(a).unwrap(), a, &mut fields).unwrap();
    let fb = compile_with(&parse(b).unwrap(), b, &mut fields).unwrap();
    assert_eq!(fields.len(), 3);
    let (st, evs) = world(Ev::Open);
    let stream = StreamInfo::default();
    let mut cache = FieldCache::new(&fields);
    for _ in 0..3 {
        let view = EventView::parse(evs.last().unwrap()).unwrap();
        let cx = ctx(view, &st, &stream);
        let mut c = cache.recycle();
        assert!(fa.matches(&cx, &mut c));
        assert!(fb.matches(&cx, &mut c));
        c.reset();
        assert!(fb.matches(&cx, &mut c));
        cache = c.recycle();
    }
    // A filter compiled with another interner gets a correct answer too.
    let fc = compile(&parse("proc.name = cat").unwrap(), "proc.name = cat").unwrap();
    let view = EventView::parse(evs.last().unwrap()).unwrap();
    let cx = ctx(view, &st, &stream);
    let mut c = cache.recycle();
    assert!(fa.matches(&cx, &mut c));
    assert!(fc.matches(&cx, &mut c));
    assert!(fa.matches(&cx, &mut c));
}

// ------------------------------------------------------------------ robustness

/// A tiny deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'s>(&mut self, xs: &[&'s str]) -> &'s str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

fn random_condition(r: &mut Rng, depth: u32) -> String {
    const FIELDS: &[&str] = &[
        "proc.name",
        "proc.pid",
        "fd.name",
        "fd.sip",
        "fd.net",
        "fd.port",
        "evt.type",
        "evt.failed",
        "evt.buffer",
        "proc.aname",
        "proc.aname[2]",
        "fd.types",
        "evt.rawarg.fd",
        "evt.arg.name",
        "proc.env[HOME]",
        "nope.field",
        "tolower(proc.name)",
        "len(fd.name)",
        "b64(evt.buffer)",
        "basename(fd.name)",
    ];
    const OPS: &[&str] = &[
        "=",
        "!=",
        "<",
        ">=",
        "contains",
        "icontains",
        "bcontains",
        "startswith",
        "bstartswith",
        "endswith",
        "glob",
        "iglob",
        "regex",
        "in",
        "intersects",
        "pmatch",
        "startswith anyof",
        "= oneof",
        "contains allof",
    ];
    const VALUES: &[&str] = &[
        "1",
        "-1",
        "cat",
        "/etc",
        "10.0.0.0/8",
        "1.2.3.4",
        "::1",
        "true",
        "6869",
        "'('",
        "'[a-'",
        "\"\"",
        "'*'",
        "https",
        "99999999999999999999999",
        "val(proc.name)",
        "val(proc.pid)",
        "tolower(fd.name)",
    ];
    if depth == 0 || r.next().is_multiple_of(3) {
        let f = r.pick(FIELDS);
        if r.next().is_multiple_of(8) {
            return format!("{f} exists");
        }
        let op = r.pick(OPS);
        let list = op.contains(' ') || matches!(op, "in" | "intersects" | "pmatch");
        let v = if list {
            let n = r.next() % 3;
            let items: Vec<&str> = (0..n).map(|_| r.pick(&VALUES[..15])).collect();
            format!("({})", items.join(", "))
        } else {
            r.pick(VALUES).to_string()
        };
        return format!("{f} {op} {v}");
    }
    let a = random_condition(r, depth - 1);
    let b = random_condition(r, depth - 1);
    match r.next() % 3 {
        0 => format!("({a} and {b})"),
        1 => format!("({a} or {b})"),
        _ => format!("not ({a})"),
    }
}

#[test]
fn random_conditions_never_panic() {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let mut compiled = 0;
    for _ in 0..3000 {
        let c = random_condition(&mut r, 3);
        let Ok(expr) = parse(&c) else {
            continue;
        };
        if let Ok(f) = compile(&expr, &c) {
            compiled += 1;
            for ev in [Ev::Open, Ev::Connect, Ev::Write, Ev::Mprotect, Ev::NoThread] {
                let (st, evs) = world(ev);
                let view = EventView::parse(evs.last().unwrap()).unwrap();
                let stream = StreamInfo::default();
                let cx = ctx(view, &st, &stream);
                let _ = f.matches(&cx, &mut FieldCache::default());
            }
            let _ = f.event_codes();
        }
    }
    assert!(compiled > 100, "only {compiled} compiled");
}

#[test]
fn plans_fold_checks_the_code_decides() {
    let mut fields = FieldInterner::new();
    let mut c = |text: &str| compile_with(&parse(text).unwrap(), text, &mut fields).unwrap();
    let open_x = code::SYSCALL_OPEN_X;
    let open_e = code::SYSCALL_OPEN_E;
    let mprotect = code::GENERIC_X;
    // Direction: decided by the code.
    assert_eq!(c("evt.dir = <").plan_for(open_x), Plan::Always);
    assert_eq!(c("evt.dir = <").plan_for(open_e), Plan::Never);
    // Open flags: read from opens' exits only, false elsewhere.
    let mut read = c("evt.is_open_read = true and proc.name = cat");
    assert!(matches!(read.plan_for(open_x), Plan::Run(_)));
    assert_eq!(read.plan_for(open_e), Plan::Never);
    assert_eq!(
        c("evt.is_open_write = false").plan_for(open_e),
        Plan::Always
    );
    // fd fields: none on events of calls without an fd, so `not` holds.
    assert_eq!(c("fd.name exists").plan_for(mprotect), Plan::Never);
    assert_eq!(
        c("not fd.name startswith /etc").plan_for(mprotect),
        Plan::Always
    );
    assert!(matches!(c("fd.name exists").plan_for(open_x), Plan::Run(_)));
    // Both ends of `fd.ip` missing: false, also under `!=`.
    assert_eq!(c("fd.ip != 10.0.0.1").plan_for(mprotect), Plan::Never);
    // Each specialization agrees with the condition as written.
    for cond in [
        "evt.dir = < and proc.name = cat",
        "evt.is_open_read = true",
        "not fd.name exists",
        "fd.ip != 10.0.0.1 or evt.is_io = true",
    ] {
        for ev in [Ev::Open, Ev::Connect, Ev::Write, Ev::Mprotect, Ev::NoThread] {
            run_with(cond, ev).unwrap();
        }
    }
}

#[test]
fn batches_return_the_first_filter_that_holds() {
    let mut fields = FieldInterner::new();
    let mut c = |text: &str| compile_with(&parse(text).unwrap(), text, &mut fields).unwrap();
    let mut filters = [
        c("evt.type = connect"),
        c("proc.name = dog or (fd.typechar = 'f' and proc.name = sheep)"),
        c("evt.type = open and not evt.dir = <"),
        c("fd.typechar = 'f' and proc.name in (cat, dog)"),
        c("evt.type = open"),
    ];
    let (st, evs) = world(Ev::Open);
    let view = EventView::parse(evs.last().unwrap()).unwrap();
    let stream = StreamInfo::default();
    let cx = ctx(view, &st, &stream);
    let code = view.code();
    let batch = |ids: &[u32], filters: &mut [Filter]| {
        let mut b = BatchBuilder::new();
        for &i in ids {
            let f = &mut filters[i as usize];
            let plan = f.plan_for(code);
            b.push(i * 10, f, plan);
        }
        b.build()
    };
    let mut cache = FieldCache::new(&fields);
    let mut first = |b: &Batch| {
        cache.reset();
        b.first_match(&cx, &mut cache)
    };
    // Filters 0 and 2 can never match an open exit: left out.
    let all = batch(&[0, 1, 2, 3, 4], &mut filters);
    assert_eq!(all.ids(), &[10, 30, 40]);
    // Filter 1 fails on both branches and goes on to filter 3.
    assert_eq!(first(&all), Some(30));
    // A filter that always holds ends the batch there.
    assert_eq!(first(&batch(&[4, 3], &mut filters)), Some(40));
    assert_eq!(first(&batch(&[1], &mut filters)), None);
    assert_eq!(first(&batch(&[0, 2], &mut filters)), None);
    assert!(batch(&[0, 2], &mut filters).is_empty());
    // Nothing matches: None, also on an empty batch.
    assert_eq!(first(&BatchBuilder::new().build()), None);
}
