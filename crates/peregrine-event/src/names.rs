//! Name tables used to render parameters: errno codes, signals and
//! syscall codes, as sysdig and Falco print them.

use crate::syscalls::SYSCALL_NAMES;

/// Linux errno names by number, as the libraries know them (the kernel's
/// internal codes 512.. included). Numbers missing here have no name.
static ERRNO_NAMES: &[(u16, &str)] = &[
    (1, "EPERM"),
    (2, "ENOENT"),
    (3, "ESRCH"),
    (4, "EINTR"),
    (5, "EIO"),
    (6, "ENXIO"),
    (7, "E2BIG"),
    (8, "ENOEXEC"),
    (9, "EBADF"),
    (10, "ECHILD"),
    (11, "EAGAIN"),
    (12, "ENOMEM"),
    (13, "EACCES"),
    (14, "EFAULT"),
    (15, "ENOTBLK"),
    (16, "EBUSY"),
    (17, "EEXIST"),
    (18, "EXDEV"),
    (19, "ENODEV"),
    (20, "ENOTDIR"),
    (21, "EISDIR"),
    (22, "EINVAL"),
    (23, "ENFILE"),
    (24, "EMFILE"),
    (25, "ENOTTY"),
    (26, "ETXTBSY"),
    (27, "EFBIG"),
    (28, "ENOSPC"),
    (29, "ESPIPE"),
    (30, "EROFS"),
    (31, "EMLINK"),
    (32, "EPIPE"),
    (33, "EDOM"),
    (34, "ERANGE"),
    (35, "EDEADLK"),
    (36, "ENAMETOOLONG"),
    (37, "ENOLCK"),
    (38, "ENOSYS"),
    (39, "ENOTEMPTY"),
    (40, "ELOOP"),
    (42, "ENOMSG"),
    (43, "EIDRM"),
    (44, "ECHRNG"),
    (45, "EL2NSYNC"),
    (46, "EL3HLT"),
    (47, "EL3RST"),
    (48, "ELNRNG"),
    (49, "EUNATCH"),
    (50, "ENOCSI"),
    (51, "EL2HLT"),
    (52, "EBADE"),
    (53, "EBADR"),
    (54, "EXFULL"),
    (55, "ENOANO"),
    (56, "EBADRQC"),
    (57, "EBADSLT"),
    (59, "EBFONT"),
    (60, "ENOSTR"),
    (61, "ENODATA"),
    (62, "ETIME"),
    (63, "ENOSR"),
    (64, "ENONET"),
    (65, "ENOPKG"),
    (66, "EREMOTE"),
    (67, "ENOLINK"),
    (68, "EADV"),
    (69, "ESRMNT"),
    (70, "ECOMM"),
    (71, "EPROTO"),
    (72, "EMULTIHOP"),
    (73, "EDOTDOT"),
    (74, "EBADMSG"),
    (75, "EOVERFLOW"),
    (76, "ENOTUNIQ"),
    (77, "EBADFD"),
    (78, "EREMCHG"),
    (79, "ELIBACC"),
    (80, "ELIBBAD"),
    (81, "ELIBSCN"),
    (82, "ELIBMAX"),
    (83, "ELIBEXEC"),
    (84, "EILSEQ"),
    (85, "ERESTART"),
    (86, "ESTRPIPE"),
    (87, "EUSERS"),
    (88, "ENOTSOCK"),
    (89, "EDESTADDRREQ"),
    (90, "EMSGSIZE"),
    (91, "EPROTOTYPE"),
    (92, "ENOPROTOOPT"),
    (93, "EPROTONOSUPPORT"),
    (94, "ESOCKTNOSUPPORT"),
    (95, "EOPNOTSUPP"),
    (96, "EPFNOSUPPORT"),
    (97, "EAFNOSUPPORT"),
    (98, "EADDRINUSE"),
    (99, "EADDRNOTAVAIL"),
    (100, "ENETDOWN"),
    (101, "ENETUNREACH"),
    (102, "ENETRESET"),
    (103, "ECONNABORTED"),
    (104, "ECONNRESET"),
    (105, "ENOBUFS"),
    (106, "EISCONN"),
    (107, "ENOTCONN"),
    (108, "ESHUTDOWN"),
    (109, "ETOOMANYREFS"),
    (110, "ETIMEDOUT"),
    (111, "ECONNREFUSED"),
    (112, "EHOSTDOWN"),
    (113, "EHOSTUNREACH"),
    (114, "EALREADY"),
    (115, "EINPROGRESS"),
    (116, "ESTALE"),
    (117, "EUCLEAN"),
    (118, "ENOTNAM"),
    (119, "ENAVAIL"),
    (120, "EISNAM"),
    (121, "EREMOTEIO"),
    (122, "EDQUOT"),
    (123, "ENOMEDIUM"),
    (124, "EMEDIUMTYPE"),
    (125, "ECANCELED"),
    // Kernel-internal codes that can leak to user space through tracing.
    // 516 (ERESTART_RESTARTBLOCK) has no name in the libraries either.
    (512, "ERESTARTSYS"),
    (513, "ERESTARTNOINTR"),
    (514, "ERESTARTNOHAND"),
    (515, "ENOIOCTLCMD"),
    (521, "EBADHANDLE"),
    (522, "ENOTSYNC"),
    (523, "EBADCOOKIE"),
    (524, "ENOTSUPP"),
    (525, "ETOOSMALL"),
    (526, "ESERVERFAULT"),
    (527, "EBADTYPE"),
    (528, "EJUKEBOX"),
    (529, "EIOCBQUEUED"),
    (530, "EIOCBRETRY"),
];

/// Name of the errno of a failed syscall's result `res` (a negative
/// number: `-2` gives `ENOENT`). Like the libraries, the value is first
/// truncated to 32 bits; `None` for values without a name.
pub fn errno_name(res: i64) -> Option<&'static str> {
    let code = (res as i32).unsigned_abs();
    let code = u16::try_from(code).ok()?;
    ERRNO_NAMES
        .binary_search_by_key(&code, |&(n, _)| n)
        .ok()
        .map(|i| ERRNO_NAMES[i].1)
}

/// Names of signals 1 to 31 (real-time signals have none).
static SIGNAL_NAMES: [&str; 31] = [
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
];

/// Name of signal `sig` (`17` gives `SIGCHLD`); `None` for 0 and for
/// real-time signals, as in the libraries.
pub fn signal_name(sig: u8) -> Option<&'static str> {
    SIGNAL_NAMES.get((sig as usize).checked_sub(1)?).copied()
}

/// Number of PPM_SC syscall codes known; codes at or past it render as
/// `<unknown syscall>`.
pub fn syscall_code_count() -> usize {
    SYSCALL_NAMES.len()
}

/// Name of PPM_SC syscall code `code` (what a `PT_SYSCALLID` parameter
/// holds, e.g. the `ID` of generic events): `139` gives `madvise`, `0`
/// gives `<unknown>`.
pub fn syscall_name(code: u16) -> Option<&'static str> {
    SYSCALL_NAMES
        .get(code as usize)
        .copied()
        .filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_names() {
        assert_eq!(errno_name(-2), Some("ENOENT"));
        assert_eq!(errno_name(-110), Some("ETIMEDOUT"));
        assert_eq!(errno_name(-115), Some("EINPROGRESS"));
        assert_eq!(errno_name(-512), Some("ERESTARTSYS"));
        assert_eq!(errno_name(-41), None);
        assert_eq!(errno_name(-516), None);
        assert_eq!(errno_name(0), None);
        assert_eq!(errno_name(i64::MIN), None);
        assert!(ERRNO_NAMES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn signal_names() {
        assert_eq!(signal_name(0), None);
        assert_eq!(signal_name(9), Some("SIGKILL"));
        assert_eq!(signal_name(17), Some("SIGCHLD"));
        assert_eq!(signal_name(31), Some("SIGSYS"));
        assert_eq!(signal_name(32), None);
    }

    #[test]
    fn syscall_names() {
        // syscall.scap: generic madvise events carry ID=139.
        assert_eq!(syscall_name(139), Some("madvise"));
        assert_eq!(syscall_name(0), Some("<unknown>"));
        assert_eq!(syscall_name(5), Some("open"));
        assert_eq!(syscall_name(u16::MAX), None);
    }
}
