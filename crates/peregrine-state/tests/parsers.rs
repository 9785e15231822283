//! Parser tests with synthetic events.

use peregrine_event::{EventBuilder, EventView, code};
use peregrine_scap::records::ThreadRecord;
use peregrine_state::{FdType, L4Proto, Role, State};

fn feed(st: &mut State, bytes: &[u8]) {
    let ev = EventView::parse(bytes).expect("valid event");
    st.process(&ev);
}

fn seeded() -> State {
    let mut st = State::new();
    st.load_thread(ThreadRecord {
        tid: 100,
        pid: 100,
        ptid: 1,
        comm: "bash".into(),
        exe: "bash".into(),
        cwd: "/home/u".into(),
        uid: 1000,
        ..Default::default()
    });
    st
}

fn open_x(tid: u64, fd: i64, name: &str, flags: u32) -> Vec<u8> {
    EventBuilder::open_exit(1, tid, fd, name, flags)
}

fn close_pair(st: &mut State, tid: u64, fd: i64) {
    feed(
        st,
        &EventBuilder::new(code::SYSCALL_CLOSE_E, 2, tid)
            .u64(fd as u64)
            .build(),
    );
    feed(
        st,
        &EventBuilder::new(code::SYSCALL_CLOSE_X, 3, tid)
            .u64(0)
            .build(),
    );
}

#[test]
fn open_resolves_relative_paths_and_close_is_deferred() {
    let mut st = seeded();
    feed(&mut st, &open_x(100, 3, "../etc/x", 1));
    let ctx = st.context();
    assert_eq!(ctx.fd_num, Some(3));
    assert_eq!(ctx.fd.unwrap().name, "/home/etc/x");
    assert_eq!(ctx.fd.unwrap().fd_type, FdType::File);
    close_pair(&mut st, 100, 3);
    // rules still see the fd on the close exit
    assert_eq!(st.context().fd.unwrap().name, "/home/etc/x");
    st.flush();
    assert!(st.fd_of(100, 3).is_none());
}

#[test]
fn failed_open_changes_nothing() {
    let mut st = seeded();
    feed(&mut st, &open_x(100, -2i64, "/nope", 1));
    assert!(st.fd_of(100, -2).is_none());
    assert!(st.process_tables(100).unwrap().fds.is_empty());
}

#[test]
fn openat_uses_dirfd_and_old_exit_reads_enter() {
    let mut st = seeded();
    feed(&mut st, &open_x(100, 5, "/var/log", 0x400));
    assert_eq!(st.fd_of(100, 5).unwrap().fd_type, FdType::Directory);
    // old openat: params on the enter event, only fd on the exit
    let e = EventBuilder::new(code::SYSCALL_OPENAT_E, 10, 100)
        .u64(5)
        .str("syslog")
        .u32(1)
        .u32(0)
        .build();
    let x = EventBuilder::new(code::SYSCALL_OPENAT_X, 11, 100)
        .u64(6)
        .build();
    feed(&mut st, &e);
    feed(&mut st, &x);
    assert_eq!(st.fd_of(100, 6).unwrap().name, "/var/log/syslog");
    assert!(st.context().enter.is_some());
}

#[test]
fn clone_fork_child_copies_fds_and_execve_updates() {
    let mut st = seeded();
    feed(&mut st, &open_x(100, 3, "a.txt", 1));
    // caller side of a fork (clone_20: res exe args tid pid ptid cwd fdlimit
    // pgft_maj pgft_min vm_size vm_rss vm_swap comm cgroups flags uid gid vtid vpid)
    let clone = |res: u64, tid: u64, pid: u64, ptid: u64| {
        EventBuilder::new(code::SYSCALL_CLONE_20_X, 20, tid)
            .u64(res)
            .str("bash")
            .param(b"")
            .u64(tid)
            .u64(pid)
            .u64(ptid)
            .str("/home/u")
            .u64(1024)
            .u64(0)
            .u64(0)
            .u32(0)
            .u32(0)
            .u32(0)
            .str("bash")
            .param(
                b"cpu=/docker/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\0",
            )
            .u32(0)
            .u32(1000)
            .u32(1000)
            .u64(tid)
            .u64(pid)
            .build()
    };
    feed(&mut st, &clone(200, 100, 100, 1));
    let child = st.thread(200).expect("child created by caller");
    assert_eq!((child.pid, child.ptid), (200, 100));
    assert_eq!(child.info.container_id, "0123456789ab");
    assert_eq!(st.fd_of(200, 3).unwrap().name, "/home/u/a.txt");
    assert_eq!(st.parent_of(child).unwrap().info.comm, "bash");
    // child side arrives later: kept (same clone)
    feed(&mut st, &clone(0, 200, 200, 100));
    // execve in the child
    let mut b = EventBuilder::new(code::SYSCALL_EXECVE_19_X, 30, 200)
        .u64(0)
        .str("cat")
        .param(b"a.txt\0")
        .u64(200)
        .u64(200)
        .u64(100)
        .str("/home/u")
        .u64(1024)
        .u64(0)
        .u64(0)
        .u32(0)
        .u32(0)
        .u32(0)
        .str("cat");
    b = b.param(b"").param(b"HOME=/home/u\0").u32(0);
    feed(&mut st, &b.build());
    let c = st.thread(200).unwrap();
    assert_eq!(c.info.comm, "cat");
    assert_eq!(c.info.args, vec!["a.txt".to_string()]);
    assert_eq!(c.info.env, vec!["HOME=/home/u".to_string()]);
    assert_eq!(
        st.ancestors(c).map(|t| t.tid).collect::<Vec<_>>(),
        vec![100]
    );
    // parent's table unaffected by the child's close
    close_pair(&mut st, 200, 3);
    st.flush();
    assert!(st.fd_of(200, 3).is_none());
    assert!(st.fd_of(100, 3).is_some());
}

#[test]
fn procexit_removes_after_the_event() {
    let mut st = seeded();
    feed(
        &mut st,
        &EventBuilder::new(code::PROCEXIT_1_E, 5, 100)
            .u64(0)
            .u64(0)
            .param(&[0])
            .param(&[0])
            .u64(0)
            .build(),
    );
    assert!(st.context().thread.is_some());
    st.flush();
    assert!(st.thread(100).is_none());
    assert!(st.process_tables(100).is_none());
}

fn v4tuple(s: [u8; 4], sp: u16, d: [u8; 4], dp: u16) -> Vec<u8> {
    let mut t = vec![2u8];
    t.extend_from_slice(&s);
    t.extend_from_slice(&sp.to_le_bytes());
    t.extend_from_slice(&d);
    t.extend_from_slice(&dp.to_le_bytes());
    t
}

#[test]
fn socket_connect_accept_name_like_sinsp() {
    let mut st = seeded();
    // exit-only stream: socket(AF_INET, SOCK_STREAM, 0)
    feed(
        &mut st,
        &EventBuilder::new(code::SOCKET_SOCKET_X, 1, 100)
            .u64(4)
            .u32(2)
            .u32(1)
            .u32(0)
            .u32(0)
            .build(),
    );
    let tuple = v4tuple([127, 0, 0, 1], 40000, [127, 0, 0, 1], 80);
    feed(
        &mut st,
        &EventBuilder::new(code::SOCKET_CONNECT_X, 2, 100)
            .u64(0)
            .param(&tuple)
            .u64(4)
            .param(b"")
            .build(),
    );
    let f = st.fd_of(100, 4).unwrap();
    assert_eq!(f.name, "127.0.0.1:40000->127.0.0.1:80");
    assert_eq!(f.role, Role::Client);
    assert_eq!(f.l4proto(), L4Proto::Tcp);
    feed(
        &mut st,
        &EventBuilder::new(code::SOCKET_ACCEPT4_6_X, 3, 100)
            .u64(7)
            .param(&tuple)
            .param(&[0])
            .u32(0)
            .u32(0)
            .u32(0)
            .build(),
    );
    let ctx = st.context();
    assert_eq!(ctx.fd_num, Some(7));
    let f = ctx.fd.unwrap();
    assert_eq!(f.role, Role::Server);
    assert_eq!(f.type_char(), '4');
    assert_eq!(f.client_server().unwrap().0.to_string(), "127.0.0.1");
}

#[test]
fn dup_pipe_and_fcntl() {
    let mut st = seeded();
    feed(
        &mut st,
        &EventBuilder::new(code::SYSCALL_PIPE2_X, 1, 100)
            .u64(0)
            .u64(3)
            .u64(4)
            .u64(99)
            .u32(0x1000)
            .build(),
    );
    assert_eq!(st.fd_of(100, 3).unwrap().fd_type, FdType::Fifo);
    assert!(st.fd_of(100, 4).unwrap().is_cloexec());
    feed(
        &mut st,
        &EventBuilder::new(code::SYSCALL_DUP2_X, 2, 100)
            .u64(1)
            .u64(4)
            .u64(1)
            .build(),
    );
    let f = st.fd_of(100, 1).unwrap();
    assert_eq!(f.fd_type, FdType::Fifo);
    assert!(!f.is_cloexec());
    feed(
        &mut st,
        &EventBuilder::new(code::SYSCALL_FCNTL_X, 3, 100)
            .u64(9)
            .u64(3)
            .param(&[0x1a])
            .u64(0)
            .build(),
    );
    assert!(st.fd_of(100, 9).unwrap().is_cloexec());
}

#[test]
fn setuid_and_chdir() {
    let mut st = seeded();
    feed(
        &mut st,
        &EventBuilder::new(code::SYSCALL_SETUID_X, 1, 100)
            .u64(0)
            .u32(0)
            .build(),
    );
    assert_eq!(st.thread(100).unwrap().info.uid, 0);
    feed(
        &mut st,
        &EventBuilder::new(code::SYSCALL_CHDIR_X, 2, 100)
            .u64(0)
            .str("../tmp")
            .build(),
    );
    assert_eq!(st.cwd(st.thread(100).unwrap()), "/home/tmp/");
    feed(
        &mut st,
        &EventBuilder::new(code::SYSCALL_SETUID_X, 3, 100)
            .u64(-1i64 as u64)
            .u32(5)
            .build(),
    );
    assert_eq!(st.thread(100).unwrap().info.uid, 0);
}

#[test]
fn unknown_thread_looks_like_sinsp() {
    let mut st = State::new();
    feed(&mut st, &open_x(555, 3, "x", 1));
    let t = st.thread(555).unwrap();
    assert_eq!((t.pid, t.ptid, t.info.uid), (555, -1, u32::MAX));
    assert_eq!(st.context().container_id(), Some("host"));
}

#[test]
fn arbitrary_params_never_panic() {
    // every event code, with 0..4 parameters of odd sizes
    let mut st = seeded();
    let sizes: [&[u8]; 5] = [
        &[],
        &[0xff],
        &[1, 2, 3],
        &[0xff; 8],
        &[2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
    ];
    for c in 0..peregrine_event::EVENT_COUNT as u16 {
        for n in 0..5 {
            for tid in [100u64, 7, u64::MAX] {
                let mut b = EventBuilder::new(c, 1, tid);
                for i in 0..n {
                    b = b.param(sizes[(i + c as usize) % sizes.len()]);
                }
                let bytes = b.build();
                if let Ok(ev) = EventView::parse(&bytes) {
                    st.process(&ev);
                    let _ = st.context();
                }
            }
        }
    }
}
