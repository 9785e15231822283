//! Threads, process information, users and groups.

use std::borrow::Cow;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use crate::container;

/// A NUL-separated list (arguments, environment, cgroups) kept as the
/// event's bytes and split into strings only when first read: execve and
/// clone events carry long lists that few rules look at. Clones share the
/// bytes and the split form. Reads as a `[String]` (through `Deref`).
#[derive(Clone, Default)]
pub struct NulList(Option<Arc<NulListInner>>);

struct NulListInner {
    /// The list as the event carried it; `None` when built from strings.
    raw: Option<Box<[u8]>>,
    split: OnceLock<Vec<String>>,
}

impl NulList {
    /// The list in a NUL-separated buffer, split (as sinsp does: one
    /// trailing NUL ignored, lossy UTF-8) when first read.
    pub fn from_raw(raw: &[u8]) -> Self {
        if raw.is_empty() {
            return NulList(None);
        }
        NulList(Some(Arc::new(NulListInner {
            raw: Some(raw.into()),
            split: OnceLock::new(),
        })))
    }

    /// True when this list was made by [`NulList::from_raw`] from the same
    /// bytes (so that an unchanged list is kept without work).
    pub fn is_raw(&self, raw: &[u8]) -> bool {
        match &self.0 {
            None => raw.is_empty(),
            Some(i) => i.raw.as_deref() == Some(raw),
        }
    }

    /// The NUL-separated pieces of the list as the event carried them
    /// (`None` for a list built from strings).
    pub fn raw(&self) -> Option<&[u8]> {
        match &self.0 {
            None => Some(&[]),
            Some(i) => i.raw.as_deref(),
        }
    }

    /// The items joined with spaces (sinsp's `proc.env`, `proc.args`),
    /// straight from the event's bytes when the list came from one, so a
    /// long list read once is not split first.
    pub fn joined(&self) -> String {
        match self.0.as_ref().and_then(|i| i.raw.as_deref()) {
            Some(raw) => {
                let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
                let spaced: Vec<u8> = raw.iter().map(|&c| if c == 0 { b' ' } else { c }).collect();
                match String::from_utf8(spaced) {
                    Ok(s) => s,
                    Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
                }
            }
            _ => self.as_slice().join(" "),
        }
    }

    /// The value of the first item `key=value` (`proc.env[KEY]`).
    pub fn value_of(&self, key: &str) -> Option<Cow<'_, str>> {
        match self.0.as_ref().and_then(|i| i.raw.as_deref()) {
            Some(raw) => {
                let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
                raw.split(|&c| c == 0).find_map(|item| {
                    let v = item.strip_prefix(key.as_bytes())?.strip_prefix(b"=")?;
                    Some(String::from_utf8_lossy(v))
                })
            }
            _ => self.as_slice().iter().find_map(|e| {
                let v = e.strip_prefix(key)?.strip_prefix('=')?;
                Some(Cow::Borrowed(v))
            }),
        }
    }

    /// The list as strings.
    pub fn as_slice(&self) -> &[String] {
        match &self.0 {
            None => &[],
            Some(i) => i.split.get_or_init(|| match &i.raw {
                Some(raw) => split_nul(raw),
                None => Vec::new(),
            }),
        }
    }
}

/// Splits a NUL-separated buffer (args, env, cgroups) as sinsp does.
pub(crate) fn split_nul(b: &[u8]) -> Vec<String> {
    if b.is_empty() {
        return Vec::new();
    }
    let b = b.strip_suffix(&[0]).unwrap_or(b);
    b.split(|&c| c == 0).map(crate::parse::lossy).collect()
}

impl From<Vec<String>> for NulList {
    fn from(v: Vec<String>) -> Self {
        if v.is_empty() {
            return NulList(None);
        }
        NulList(Some(Arc::new(NulListInner {
            raw: None,
            split: OnceLock::from(v),
        })))
    }
}

impl Deref for NulList {
    type Target = [String];

    fn deref(&self) -> &[String] {
        self.as_slice()
    }
}

impl<'a> IntoIterator for &'a NulList {
    type Item = &'a String;
    type IntoIter = std::slice::Iter<'a, String>;

    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl std::fmt::Debug for NulList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl PartialEq for NulList {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) if Arc::ptr_eq(a, b) => true,
            (Some(a), Some(b)) if a.raw.is_some() && a.raw == b.raw => true,
            _ => self.as_slice() == other.as_slice(),
        }
    }
}

impl Eq for NulList {}

impl PartialEq<Vec<String>> for NulList {
    fn eq(&self, other: &Vec<String>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialEq<[String]> for NulList {
    fn eq(&self, other: &[String]) -> bool {
        self.as_slice() == other
    }
}

/// `PPM_CL_*` clone flags and sinsp thread flags.
pub mod flags {
    /// Shares the fd table with the parent.
    pub const CLONE_FILES: u32 = 0x1;
    /// Shares cwd/root with the parent.
    pub const CLONE_FS: u32 = 0x2;
    /// New pid namespace.
    pub const CLONE_NEWPID: u32 = 0x40;
    /// Same parent as the caller.
    pub const CLONE_PARENT: u32 = 0x100;
    /// A thread of the caller's process.
    pub const CLONE_THREAD: u32 = 0x2000;
    /// Created from the child's side of the clone exit.
    pub const CLONE_INVERTED: u32 = 0x10000;
    /// comm/exe changed by execve.
    pub const NAME_CHANGED: u32 = 0x20000;
    /// Thread has exited.
    pub const CLOSED: u32 = 0x40000;
    /// Thread seen alive.
    pub const ACTIVE: u32 = 0x80000;
    /// New user namespace.
    pub const CLONE_NEWUSER: u32 = 0x100000;
    /// vfork-like clone.
    pub const CLONE_VFORK: u32 = 0x8000000;
    /// The caller is inside a child pid namespace.
    pub const CHILD_IN_PIDNS: u32 = 0x20000000;
}

/// What rules read about a thread's process, shared by the threads of a
/// process until one of them changes it (copy on write), and safe to
/// hand to another thread as a snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Command name (`proc.name`).
    pub comm: String,
    /// `argv[0]` (`proc.exe`).
    pub exe: String,
    /// Full executable path (`proc.exepath`).
    pub exepath: String,
    /// Arguments after `argv[0]` (`proc.args`).
    pub args: NulList,
    /// Environment, `KEY=VALUE` each.
    pub env: NulList,
    /// Root directory.
    pub root: String,
    /// Controlling terminal.
    pub tty: u32,
    /// Login uid (`user.loginuid`).
    pub loginuid: u32,
    /// Effective user id.
    pub uid: u32,
    /// Effective group id.
    pub gid: u32,
    /// Inheritable capabilities.
    pub cap_inheritable: u64,
    /// Permitted capabilities.
    pub cap_permitted: u64,
    /// Effective capabilities.
    pub cap_effective: u64,
    /// Session id.
    pub sid: i64,
    /// Process group id in the process's pid namespace.
    pub vpgid: i64,
    /// Process group id on the host.
    pub pgid: i64,
    /// fd limit.
    pub fdlimit: i64,
    /// Cgroups, `subsys=path` each.
    pub cgroups: NulList,
    /// Container id from the cgroups (`"host"` outside containers).
    pub container_id: String,
    /// Executable writable by its user.
    pub exe_writable: bool,
    /// Executable in an overlayfs upper layer.
    pub exe_upper_layer: bool,
    /// Executable in an overlayfs lower layer.
    pub exe_lower_layer: bool,
    /// Executable from a memfd.
    pub exe_from_memfd: bool,
    /// Executable inode.
    pub exe_ino: u64,
    /// Executable inode ctime.
    pub exe_ino_ctime: u64,
    /// Executable inode mtime.
    pub exe_ino_mtime: u64,
    /// Start of the pid namespace's init task.
    pub pidns_init_start_ts: u64,
}

impl ProcessInfo {
    /// Sets the cgroups and recomputes the container id.
    pub fn set_cgroups(&mut self, cgroups: Vec<String>) {
        self.container_id = container::container_id(&cgroups).to_string();
        self.cgroups = cgroups.into();
    }

    /// Sets the cgroups from an event's NUL-separated buffer and
    /// recomputes the container id, unless they are the ones already set
    /// or the ones last set on any process (`cache`).
    pub(crate) fn set_cgroups_raw(&mut self, raw: &[u8], cache: &mut CgroupsCache) {
        if raw.is_empty() {
            self.cgroups = NulList::default();
            set_str(&mut self.container_id, container::HOST);
            return;
        }
        if self.cgroups.is_raw(raw) {
            // the container id was computed from these very bytes
            return;
        }
        let (list, id) = cache.get(raw);
        self.cgroups = list.clone();
        set_str(&mut self.container_id, id);
    }
}

/// The cgroups last set from events, with their container ids: processes
/// mostly share a few sets of cgroups, so most events find theirs here.
#[derive(Debug, Default)]
pub(crate) struct CgroupsCache {
    entries: Vec<(NulList, String)>,
    /// The entry replaced next once full.
    next: usize,
}

impl CgroupsCache {
    const SIZE: usize = 16;

    /// The list and container id of the cgroups in `raw` (not empty).
    fn get(&mut self, raw: &[u8]) -> &(NulList, String) {
        let i = match self.entries.iter().position(|(l, _)| l.is_raw(raw)) {
            Some(i) => i,
            None => {
                let e = (
                    NulList::from_raw(raw),
                    container::container_id_raw(raw).to_string(),
                );
                if self.entries.len() < Self::SIZE {
                    self.entries.push(e);
                    self.entries.len() - 1
                } else {
                    let i = self.next;
                    self.next = (i + 1) % Self::SIZE;
                    self.entries[i] = e;
                    i
                }
            }
        };
        &self.entries[i]
    }
}

/// `*s = v`, without allocating when it already is.
fn set_str(s: &mut String, v: &str) {
    if s != v {
        s.clear();
        s.push_str(v);
    }
}

/// One thread.
#[derive(Debug)]
pub struct Thread {
    /// Thread id.
    pub tid: i64,
    /// Process id (thread group leader); `tid` when unknown.
    pub pid: i64,
    /// Parent thread id; -1 when unknown.
    pub ptid: i64,
    /// Thread id in its pid namespace.
    pub vtid: i64,
    /// Process id in its pid namespace; -1 when unknown.
    pub vpid: i64,
    /// `PPM_CL_*` flags (see [`flags`]).
    pub flags: u32,
    /// Clone timestamp (0 when not seen).
    pub clone_ts: u64,
    /// Timestamp of the last successful execve (0 when not seen).
    pub lastexec_ts: u64,
    /// Process information (shared with the other threads of the process
    /// until changed).
    pub info: Arc<ProcessInfo>,
    pub(crate) last_enter: Vec<u8>,
    pub(crate) last_code: Option<u16>,
    pub(crate) last_fd: i64,
}

impl Thread {
    /// A thread about which nothing is known yet, as sinsp creates it for
    /// an unseen tid: pid = tid, no parent, unknown uid, name and
    /// executable `<NA>`.
    pub fn unknown(tid: i64) -> Self {
        let info = ProcessInfo {
            comm: "<NA>".to_string(),
            exe: "<NA>".to_string(),
            uid: u32::MAX,
            gid: u32::MAX,
            loginuid: u32::MAX,
            container_id: container::HOST.to_string(),
            sid: -1,
            vpgid: -1,
            pgid: -1,
            ..Default::default()
        };
        Thread::with_info(tid, tid, -1, Arc::new(info))
    }

    pub(crate) fn with_info(tid: i64, pid: i64, ptid: i64, info: Arc<ProcessInfo>) -> Self {
        Thread {
            tid,
            pid,
            ptid,
            vtid: tid,
            vpid: -1,
            flags: 0,
            clone_ts: 0,
            lastexec_ts: 0,
            info,
            last_enter: Vec::new(),
            last_code: None,
            last_fd: -1,
        }
    }

    /// True when sinsp would call the thread invalid (pid or parent unknown).
    pub fn is_invalid(&self) -> bool {
        self.tid < 0 || self.pid < 0 || self.ptid < 0
    }

    /// True for the thread group leader.
    pub fn is_main_thread(&self) -> bool {
        self.tid == self.pid
    }

    /// Mutable process info (copied first when shared).
    pub fn info_mut(&mut self) -> &mut ProcessInfo {
        Arc::make_mut(&mut self.info)
    }
}

/// A user (`user.*` fields).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserInfo {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Login name.
    pub name: String,
    /// Home directory.
    pub homedir: String,
    /// Login shell.
    pub shell: String,
}

/// A group (`group.*` fields).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupInfo {
    /// Group id.
    pub gid: u32,
    /// Group name.
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_list_splits_lazily_as_sinsp() {
        let l = NulList::from_raw(b"a\0b\xff\0\0c\0");
        assert_eq!(
            l,
            vec!["a".to_string(), "b\u{fffd}".into(), "".into(), "c".into()]
        );
        assert!(l.is_raw(b"a\0b\xff\0\0c\0"));
        assert!(!l.is_raw(b"a\0b"));
        assert!(NulList::from_raw(b"").is_empty());
        assert_eq!(NulList::from_raw(b"\0"), vec![String::new()]);
        let v: NulList = vec!["x".to_string()].into();
        assert_eq!(v.raw(), None);
        assert!(!v.is_raw(b"x"));
        assert_eq!(v, NulList::from_raw(b"x"));
        assert_eq!(l.clone().join(" "), "a b\u{fffd}  c");
    }

    #[test]
    fn nul_list_joins_and_looks_up_as_its_split_form() {
        let raws: [&[u8]; 6] = [
            b"A=1\0B=x\xff\0\0C=\0",
            b"PATH=/bin\0HOME=/root",
            b"\0",
            b"K=\xe2\x82\0K=2\0",
            b"noequals\0A==b\0",
            b"",
        ];
        for raw in raws {
            let l = NulList::from_raw(raw);
            let split: Vec<String> = l.as_slice().to_vec();
            // Before and after the lazy split, from the bytes or the strings.
            for list in [
                NulList::from_raw(raw),
                l.clone(),
                NulList::from(split.clone()),
            ] {
                assert_eq!(list.joined(), split.join(" "), "{raw:?}");
                for key in ["A", "B", "C", "K", "PATH", "HOME", "noequals", "Z", ""] {
                    let want = split
                        .iter()
                        .find_map(|e| e.strip_prefix(&format!("{key}=")));
                    assert_eq!(list.value_of(key).as_deref(), want, "{raw:?} {key}");
                }
            }
        }
    }

    #[test]
    fn cgroups_cache_gives_the_same_container_id() {
        let id = "9dbcbd0c435f2b3a4c6e9e4d8f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c";
        let raw = format!("cpu=/docker/{id}\0");
        let mut cache = CgroupsCache::default();
        let (mut a, mut b) = (ProcessInfo::default(), ProcessInfo::default());
        a.set_cgroups_raw(raw.as_bytes(), &mut cache);
        b.set_cgroups_raw(raw.as_bytes(), &mut cache);
        assert_eq!(
            (a.container_id.as_str(), b.container_id.as_str()),
            ("9dbcbd0c435f", "9dbcbd0c435f")
        );
        b.set_cgroups_raw(b"cpu=/user.slice\0", &mut cache);
        assert_eq!(b.container_id, container::HOST);
        assert_eq!(b.cgroups, vec!["cpu=/user.slice".to_string()]);
        b.set_cgroups_raw(b"", &mut cache);
        assert_eq!(
            (b.container_id.as_str(), b.cgroups.len()),
            (container::HOST, 0)
        );
    }
}
