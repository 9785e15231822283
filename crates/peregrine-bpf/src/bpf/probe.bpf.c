/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/*
 * peregrine CO-RE probe: per-syscall tracepoints emitting scap exit events.
 *
 * For each supported syscall X:
 *   tracepoint/syscalls/sys_enter_X  stashes the arguments keyed by tid;
 *   tracepoint/syscalls/sys_exit_X   builds the full exit event of the
 *                                    current schema and writes it to the
 *                                    `events` ring buffer.
 * Plus sched/sched_process_exec (successful execve/execveat) and
 * sched/sched_process_exit (procexit). The loader attaches only the
 * programs of the selected syscalls.
 *
 * Program names: e_<syscall> for enter, x_<syscall> for exit (at most 15
 * characters, the kernel's limit).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

#include "scap.h"
#include "extract.h"
#include "flags.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Layout of the per-syscall tracepoint records (see
 * /sys/kernel/tracing/events/syscalls/sys_enter_openat/format). */
struct sys_enter_ctx {
	__u64 common;
	__s32 nr;
	__u32 pad;
	__u64 args[6];
};

struct sys_exit_ctx {
	__u64 common;
	__s32 nr;
	__u32 pad;
	__s64 ret;
};

struct stash {
	__u64 args[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct stash);
} stash SEC(".maps");

static __always_inline __u32 cur_tid(void) {
	return (__u32)bpf_get_current_pid_tgid();
}

/* Copies the first n arguments only: reading past the record of a
 * syscall with fewer arguments would make the attach fail. */
#define DEFINE_ENTER(sc, n)                                       \
	SEC("tracepoint/syscalls/sys_enter_" #sc)                     \
	int e_##sc(struct sys_enter_ctx *ctx) {                       \
		struct stash s = {};                                      \
		_Pragma("unroll") for(int i = 0; i < (n); i++) s.args[i] = ctx->args[i]; \
		__u32 tid = cur_tid();                                    \
		if(bpf_map_update_elem(&stash, &tid, &s, BPF_ANY))        \
			COUNT(stash_full);                                    \
		return 0;                                                 \
	}

/* Takes the stashed arguments of the current thread (NULL when missing). */
static __always_inline struct stash *stash_get(__u32 *tid) {
	*tid = cur_tid();
	struct stash *s = bpf_map_lookup_elem(&stash, tid);
	if(!s)
		COUNT(stash_miss);
	return s;
}

/* ===================================================================== */
/* Files                                                                  */
/* ===================================================================== */

static __always_inline void file_dev_ino(struct task_struct *t, __s64 fd, __u32 *dev, __u64 *ino, __u32 *created) {
	struct file *f = fd_file(t, fd);
	if(!f)
		return;
	struct inode *i = BPF_CORE_READ(f, f_inode);
	*dev = BPF_CORE_READ(i, i_sb, s_dev);
	*ino = BPF_CORE_READ(i, i_ino);
	__u32 mode = BPF_CORE_READ(f, f_mode);
	if(mode & FMODE_CREATED)
		*created = PPM_O_F_CREATED;
}

static __always_inline __s64 scap_dirfd(__u64 a) {
	__s32 d = (__s32)a;
	return d == AT_FDCWD ? PPM_AT_FDCWD : d;
}

DEFINE_ENTER(open, 3)
SEC("tracepoint/syscalls/sys_exit_open")
int x_open(struct sys_exit_ctx *ctx) {
	__u32 tid;
	struct stash *s = stash_get(&tid);
	if(!s)
		return 0;
	struct ev e;
	if(ev_init(&e, PPME_SYSCALL_OPEN_X, 6, tid) == 0) {
		__s64 ret = ctx->ret;
		__u32 dev = 0, created = 0;
		__u64 ino = 0;
		if(ret >= 0)
			file_dev_ino(cur(), ret, &dev, &ino, &created);
		put_s64(&e, ret);
		put_str(&e, (void *)s->args[0], MAX_PATH, USER);
		put_u32(&e, open_flags_to_scap(s->args[1]) | created);
		put_u32(&e, open_mode_to_scap(s->args[1], s->args[2]));
		put_u32(&e, dev);
		put_u64(&e, ino);
		ev_submit(&e);
	}
	bpf_map_delete_elem(&stash, &tid);
	return 0;
}

DEFINE_ENTER(openat, 4)
SEC("tracepoint/syscalls/sys_exit_openat")
int x_openat(struct sys_exit_ctx *ctx) {
	__u32 tid;
	struct stash *s = stash_get(&tid);
	if(!s)
		return 0;
	struct ev e;
	if(ev_init(&e, PPME_SYSCALL_OPENAT_2_X, 7, tid) == 0) {
		__s64 ret = ctx->ret;
		__u32 dev = 0, created = 0;
		__u64 ino = 0;
		if(ret >= 0)
			file_dev_ino(cur(), ret, &dev, &ino, &created);
		put_s64(&e, ret);
		put_s64(&e, scap_dirfd(s->args[0]));
		put_str(&e, (void *)s->args[1], MAX_PATH, USER);
		put_u32(&e, open_flags_to_scap(s->args[2]) | created);
		put_u32(&e, open_mode_to_scap(s->args[2], s->args[3]));
		put_u32(&e, dev);
		put_u64(&e, ino);
		ev_submit(&e);
	}
	bpf_map_delete_elem(&stash, &tid);
	return 0;
}

struct open_how_u {
	__u64 flags;
	__u64 mode;
	__u64 resolve;
};

DEFINE_ENTER(openat2, 4)
SEC("tracepoint/syscalls/sys_exit_openat2")
int x_openat2(struct sys_exit_ctx *ctx) {
	__u32 tid;
	struct stash *s = stash_get(&tid);
	if(!s)
		return 0;
	struct ev e;
	if(ev_init(&e, PPME_SYSCALL_OPENAT2_X, 8, tid) == 0) {
		__s64 ret = ctx->ret;
		__u32 dev = 0, created = 0;
		__u64 ino = 0;
		struct open_how_u how = {};
		if(bpf_probe_read_user(&how, sizeof(how), (void *)s->args[2]))
			COUNT(read_fail);
		if(ret >= 0)
			file_dev_ino(cur(), ret, &dev, &ino, &created);
		put_s64(&e, ret);
		put_s64(&e, scap_dirfd(s->args[0]));
		put_str(&e, (void *)s->args[1], MAX_PATH, USER);
		put_u32(&e, open_flags_to_scap(how.flags) | created);
		put_u32(&e, open_mode_to_scap(how.flags, how.mode));
		put_u32(&e, resolve_to_scap(how.resolve));
		put_u32(&e, dev);
		put_u64(&e, ino);
		ev_submit(&e);
	}
	bpf_map_delete_elem(&stash, &tid);
	return 0;
}

DEFINE_ENTER(creat, 2)
SEC("tracepoint/syscalls/sys_exit_creat")
int x_creat(struct sys_exit_ctx *ctx) {
	__u32 tid;
	struct stash *s = stash_get(&tid);
	if(!s)
		return 0;
	struct ev e;
	if(ev_init(&e, PPME_SYSCALL_CREAT_X, 6, tid) == 0) {
		__s64 ret = ctx->ret;
		__u32 dev = 0, created = 0;
		__u64 ino = 0;
		if(ret >= 0)
			file_dev_ino(cur(), ret, &dev, &ino, &created);
		put_s64(&e, ret);
		put_str(&e, (void *)s->args[0], MAX_PATH, USER);
		put_u32(&e, open_mode_to_scap(O_CREAT, s->args[1]));
		put_u32(&e, dev);
		put_u64(&e, ino);
		put_u16(&e, 0); /* creat_flags: overlay layers not detected yet */
		ev_submit(&e);
	}
	bpf_map_delete_elem(&stash, &tid);
	return 0;
}

DEFINE_ENTER(close, 1)
SEC("tracepoint/syscalls/sys_exit_close")
int x_close(struct sys_exit_ctx *ctx) {
	__u32 tid;
	struct stash *s = stash_get(&tid);
	if(!s)
		return 0;
	struct ev e;
	if(ev_init(&e, PPME_SYSCALL_CLOSE_X, 2, tid) == 0) {
		put_s64(&e, ctx->ret);
		put_s64(&e, (__s32)s->args[0]);
		ev_submit(&e);
	}
	bpf_map_delete_elem(&stash, &tid);
	return 0;
}

DEFINE_ENTER(dup, 1)
SEC("tracepoint/syscalls/sys_exit_dup")
int x_dup(struct sys_exit_ctx *ctx) {
	__u32 tid;
	struct stash *s = stash_get(&tid);
	if(!s)
		return 0;
	struct ev e;
	if(ev_init(&e, PPME_SYSCALL_DUP_1_X, 2, tid) == 0) {
		put_s64(&e, ctx->ret);
		put_s64(&e, (__s32)s->args[0]);
		ev_submit(&e);
	}
	bpf_map_delete_elem(&stash, &tid);
	return 0;
}

DEFINE_ENTER(dup2, 2)
SEC("tracepoint/syscalls/sys_exit_dup2")
int x_dup2(struct sys_exit_ctx *ctx) {
	__u32 tid;
	struct stash *s = stash_get(&tid);
	if(!s)
		return 0;
	struct ev e;
	if(ev_init(&e, PPME_SYSCALL_DUP2_X, 3, tid) == 0) {
		put_s64(&e, ctx->ret);
		put_s64(&e, (__s32)s->args[0]);
		put_s64(&e, (__s32)s->args[1]);
		ev_submit(&e);
	}
	bpf_map_delete_elem(&stash, &tid);
	return 0;
}

DEFINE_ENTER(dup3, 3)
SEC("tracepoint/syscalls/sys_exit_dup3")
int x_dup3(struct sys_exit_ctx *ctx) {
	__u32 tid;
	struct stash *s = stash_get(&tid);
	if(!s)
		return 0;
	struct ev e;
	if(ev_init(&e, PPME_SYSCALL_DUP3_X, 4, tid) == 0) {
		put_s64(&e, ctx->ret);
		put_s64(&e, (__s32)s->args[0]);
		put_s64(&e, (__s32)s->args[1]);
		put_u32(&e, (s->args[2] & O_CLOEXEC) ? PPM_O_CLOEXEC : 0);
		ev_submit(&e);
	}
	bpf_map_delete_elem(&stash, &tid);
	return 0;
}

/* ===================================================================== */
/* Network                                                                */
/* ===================================================================== */

/* sockaddr parameter from a user sockaddr of `len` bytes. */
static __always_inline void put_user_sockaddr(struct ev *e, const void *uaddr, __u64 len) {
	struct __kernel_sockaddr_storage ss = {};
	if(!uaddr || len < 2 || !ev_room(e, 128)) {
		put_empty(e);
		return;
	}
	__u32 n = len > sizeof(ss) ? sizeof(ss) : len;
	barrier_var(n);
	if(n > sizeof(ss))
		n = sizeof(ss);
	if(bpf_probe_read_user(&ss, n, uaddr)) {
		COUNT(read_fail);
		put_empty(e);
		return;
	}
	__u32 start = e->pos;
	switch(ss.ss_family) {
	case AF_INET: {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		raw_u8(e, AF_INET);
		raw_u32(e, in->sin_addr.s_addr);
		raw_u16(e, bpf_ntohs(in->sin_port));
		break;
	}
	case AF_INET6: {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		raw_u8(e, AF_INET6);
		raw_u32(e, in6->sin6_addr.in6_u.u6_addr32[0]);
		raw_u32(e, in6->sin6_addr.in6_u.u6_addr32[1]);
		raw_u32(e, in6->sin6_addr.in6_u.u6_addr32[2]);
		raw_u32(e, in6->sin6_addr.in6_u.u6_addr32[3]);
		raw_u16(e, bpf_ntohs(in6->sin6_port));
		break;
	}
	case AF_UNIX: {
		struct sockaddr_un *un = (struct sockaddr_un *)&ss;
		raw_u8(e, AF_UNIX);
		long m = bpf_probe_read_kernel_str(e->buf + (e->pos & SCRATCH_MASK), sizeof(un->sun_path), un->sun_path);
		if(m > 0)
			e->pos += m;
		else
			raw_u8(e, 0);
		break;
	}
	default:
		raw_u8(e, (__u8)ss.ss_family);
		break;
	}
	put_len(e, e->pos - start);
}

#define OUTBOUND 0
#define INBOUND 1

/* socktuple parameter of the socket behind `fd`; `ua`/`ualen` is the user
 * sockaddr used when the kernel has no peer address yet. */
static __always_inline void put_tuple(struct ev *e, struct task_struct *t, __s64 fd, int dir, const void *ua, __u64 ualen) {
	struct socket *sock = file_socket(fd_file(t, fd));
	struct sock *sk = sock ? BPF_CORE_READ(sock, sk) : NULL;
	if(!sk || !ev_room(e, 128)) {
		put_empty(e);
		return;
	}
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	__u32 start = e->pos;
	switch(family) {
	case AF_INET: {
		struct inet_sock *inet = (struct inet_sock *)sk;
		__u32 lip = BPF_CORE_READ(inet, inet_saddr);
		__u16 lport = bpf_ntohs(BPF_CORE_READ(inet, inet_sport));
		__u32 rip = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		__u16 rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
		if(rport == 0 && ua && ualen >= sizeof(struct sockaddr_in)) {
			struct sockaddr_in in = {};
			if(bpf_probe_read_user(&in, sizeof(in), ua) == 0) {
				rip = in.sin_addr.s_addr;
				rport = bpf_ntohs(in.sin_port);
			}
		}
		raw_u8(e, AF_INET);
		if(dir == OUTBOUND) {
			raw_u32(e, lip);
			raw_u16(e, lport);
			raw_u32(e, rip);
			raw_u16(e, rport);
		} else {
			raw_u32(e, rip);
			raw_u16(e, rport);
			raw_u32(e, lip);
			raw_u16(e, lport);
		}
		break;
	}
	case AF_INET6: {
		struct inet_sock *inet = (struct inet_sock *)sk;
		struct in6_addr lip = {}, rip = {};
		BPF_CORE_READ_INTO(&lip, inet, pinet6, saddr);
		BPF_CORE_READ_INTO(&rip, sk, __sk_common.skc_v6_daddr);
		__u16 lport = bpf_ntohs(BPF_CORE_READ(inet, inet_sport));
		__u16 rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
		if(rport == 0 && ua && ualen >= sizeof(struct sockaddr_in6)) {
			struct sockaddr_in6 in6 = {};
			if(bpf_probe_read_user(&in6, sizeof(in6), ua) == 0) {
				rip = in6.sin6_addr;
				rport = bpf_ntohs(in6.sin6_port);
			}
		}
		struct in6_addr *a = dir == OUTBOUND ? &lip : &rip;
		struct in6_addr *b = dir == OUTBOUND ? &rip : &lip;
		__u16 ap = dir == OUTBOUND ? lport : rport;
		__u16 bp = dir == OUTBOUND ? rport : lport;
		raw_u8(e, AF_INET6);
		raw_u32(e, a->in6_u.u6_addr32[0]);
		raw_u32(e, a->in6_u.u6_addr32[1]);
		raw_u32(e, a->in6_u.u6_addr32[2]);
		raw_u32(e, a->in6_u.u6_addr32[3]);
		raw_u16(e, ap);
		raw_u32(e, b->in6_u.u6_addr32[0]);
		raw_u32(e, b->in6_u.u6_addr32[1]);
		raw_u32(e, b->in6_u.u6_addr32[2]);
		raw_u32(e, b->in6_u.u6_addr32[3]);
		raw_u16(e, bp);
		break;
	}
	case AF_UNIX: {
		struct unix_sock *local = (struct unix_sock *)sk;
		struct unix_sock *peer = (struct unix_sock *)BPF_CORE_READ(local, peer);
		struct unix_sock *named = dir == OUTBOUND ? peer : local;
		raw_u8(e, AF_UNIX);
		raw_u64(e, (__u64)(dir == OUTBOUND ? peer : local));
		raw_u64(e, (__u64)(dir == OUTBOUND ? local : peer));
		long m = 0;
		struct unix_address *ua2 = named ? BPF_CORE_READ(named, addr) : NULL;
		if(ua2) {
			char *p = (char *)ua2 + bpf_core_field_offset(struct unix_address, name) +
			          __builtin_offsetof(struct sockaddr_un, sun_path);
			m = bpf_probe_read_kernel_str(e->buf + (e->pos & SCRATCH_MASK), 108, p);
		} else if(ua && ualen > 2) {
			m = bpf_probe_read_user_str(e->buf + (e->pos & SCRATCH_MASK), 108, (char *)ua + 2);
		}
		if(m > 0)
			e->pos += m;
		else
			raw_u8(e, 0);
		break;
	}
	default:
		put_empty(e);
		return;
	}
	put_len(e, e->pos - start);
}

DEFINE_ENTER(socket, 3)
SEC("tracepoint/syscalls/sys_exit_socket")
int x_socket(struct sys_exit_ctx *ctx) {
	__u32 tid;
	struct stash *s = stash_get(&tid);
	if(!s)
		return 0;
	struct ev e;
	if(ev_init(&e, PPME_SOCKET_SOCKET_X, 5, tid) == 0) {
		put_s64(&e, ctx->ret);
		put_u32(&e, (__u32)s->args[0]); /* PPM_AF_* == AF_* */
		put_u32(&e, (__u32)s->args[1]);
		put_u32(&e, (__u32)s->args[2]);
		put_u32(&e, socket_flags_to_scap(s->args[1]));
		ev_submit(&e);
	}
	bpf_map_delete_elem(&stash, &tid);
	return 0;
}

DEFINE_ENTER(bind, 3)
SEC("tracepoint/syscalls/sys_exit_bind")
int x_bind(struct sys_exit_ctx *ctx) {
	__u32 tid;
	struct stash *s = stash_get(&tid);
	if(!s)
		return 0;
	struct ev e;
	if(ev_init(&e, PPME_SOCKET_BIND_X, 3, tid) == 0) {
		put_s64(&e, ctx->ret);
		put_user_sockaddr(&e, (void *)s->args[1], s->args[2]);
		put_s64(&e, (__s32)s->args[0]);
		ev_submit(&e);
	}
	bpf_map_delete_elem(&stash, &tid);
	return 0;
}

DEFINE_ENTER(connect, 3)
SEC("tracepoint/syscalls/sys_exit_connect")
int x_connect(struct sys_exit_ctx *ctx) {
	__u32 tid;
	struct stash *s = stash_get(&tid);
	if(!s)
		return 0;
	struct ev e;
	if(ev_init(&e, PPME_SOCKET_CONNECT_X, 4, tid) == 0) {
		__s64 ret = ctx->ret;
		__s64 fd = (__s32)s->args[0];
		put_s64(&e, ret);
		if(ret == 0 || ret == -EINPROGRESS)
			put_tuple(&e, cur(), fd, OUTBOUND, (void *)s->args[1], s->args[2]);
		else
			put_empty(&e);
		put_s64(&e, fd);
		put_user_sockaddr(&e, (void *)s->args[1], s->args[2]);
		ev_submit(&e);
	}
	bpf_map_delete_elem(&stash, &tid);
	return 0;
}

static __always_inline void put_accept_common(struct ev *e, __s64 ret, __s64 lfd) {
	struct task_struct *t = cur();
	__u32 qlen = 0, qmax = 0;
	__u8 qpct = 0;
	put_s64(e, ret);
	if(ret >= 0) {
		put_tuple(e, t, ret, INBOUND, NULL, 0);
		struct socket *ls = file_socket(fd_file(t, lfd));
		struct sock *lsk = ls ? BPF_CORE_READ(ls, sk) : NULL;
		if(lsk) {
			qlen = BPF_CORE_READ(lsk, sk_ack_backlog);
			qmax = BPF_CORE_READ(lsk, sk_max_ack_backlog);
			if(qlen && qmax)
				qpct = (__u8)((__u64)qlen * 100 / qmax);
		}
	} else {
		put_empty(e);
	}
	put_u8(e, qpct);
	put_u32(e, qlen);
	put_u32(e, qmax);
}

DEFINE_ENTER(accept, 1)
SEC("tracepoint/syscalls/sys_exit_accept")
int x_accept(struct sys_exit_ctx *ctx) {
	__u32 tid;
	struct stash *s = stash_get(&tid);
	if(!s)
		return 0;
	struct ev e;
	if(ev_init(&e, PPME_SOCKET_ACCEPT_5_X, 5, tid) == 0) {
		put_accept_common(&e, ctx->ret, (__s32)s->args[0]);
		ev_submit(&e);
	}
	bpf_map_delete_elem(&stash, &tid);
	return 0;
}

DEFINE_ENTER(accept4, 4)
SEC("tracepoint/syscalls/sys_exit_accept4")
int x_accept4(struct sys_exit_ctx *ctx) {
	__u32 tid;
	struct stash *s = stash_get(&tid);
	if(!s)
		return 0;
	struct ev e;
	if(ev_init(&e, PPME_SOCKET_ACCEPT4_6_X, 6, tid) == 0) {
		put_accept_common(&e, ctx->ret, (__s32)s->args[0]);
		put_u32(&e, socket_flags_to_scap(s->args[3]));
		ev_submit(&e);
	}
	bpf_map_delete_elem(&stash, &tid);
	return 0;
}

/* ===================================================================== */
/* Processes                                                              */
/* ===================================================================== */

/* exe + args from the task's own argument area (mm->arg_start..arg_end). */
static __always_inline void put_task_exe_args(struct ev *e, struct task_struct *t) {
	unsigned long as = BPF_CORE_READ(t, mm, arg_start);
	unsigned long ae = BPF_CORE_READ(t, mm, arg_end);
	if(!as || ae <= as) {
		put_empty(e);
		put_empty(e);
		return;
	}
	__u32 n = put_str(e, (void *)as, MAX_EXE, USER);
	if(ae - as > n && n > 0)
		put_user_bytes(e, (void *)(as + n), ae - as - n);
	else
		put_empty(e);
}

/* Parameters tid .. cgroups, shared by the clone and execve exit events. */
static __always_inline void put_task_common(struct ev *e, struct task_struct *t) {
	put_s64(e, BPF_CORE_READ(t, pid));
	put_s64(e, BPF_CORE_READ(t, tgid));
	put_s64(e, task_ppid(t));
	put_task_cwd(e, t);
	put_u64(e, task_fdlimit(t));
	put_u64(e, BPF_CORE_READ(t, maj_flt));
	put_u64(e, BPF_CORE_READ(t, min_flt));
	struct mm_struct *mm = BPF_CORE_READ(t, mm);
	if(mm) {
		__u64 total = BPF_CORE_READ(mm, total_vm);
		__u64 rss = mm_counter(mm, MM_FILEPAGES) + mm_counter(mm, MM_ANONPAGES) + mm_counter(mm, MM_SHMEMPAGES);
		put_u32(e, total * 4); /* pages -> KiB (4 KiB pages) */
		put_u32(e, rss * 4);
		put_u32(e, mm_counter(mm, MM_SWAPENTS) * 4);
	} else {
		put_u32(e, 0);
		put_u32(e, 0);
		put_u32(e, 0);
	}
	put_str(e, &t->comm, TASK_COMM_LEN, KERNEL);
	put_empty(e); /* cgroups: not collected yet */
}

static __always_inline __u32 exe_flags(struct task_struct *t, struct file *exe) {
	__u32 flags = 0;
	if(!exe)
		return 0;
	/* Writable by the current fsuid: owner with u+w, or root. */
	struct inode *ino = BPF_CORE_READ(exe, f_inode);
	__u32 mode = BPF_CORE_READ(ino, i_mode);
	__u32 iuid = BPF_CORE_READ(ino, i_uid.val);
	__u32 fsuid = BPF_CORE_READ(t, cred, fsuid.val);
	if(fsuid == 0 || (iuid == fsuid && (mode & 0200)) || (mode & 0002))
		flags |= PPM_EXE_WRITABLE;
	/* memfd: exe file name starts with "memfd:" on an unlinked inode. */
	char name[8] = {};
	const unsigned char *np = BPF_CORE_READ(exe, f_path.dentry, d_name.name);
	bpf_probe_read_kernel(name, 6, np);
	if(name[0] == 'm' && name[1] == 'e' && name[2] == 'm' && name[3] == 'f' && name[4] == 'd' && name[5] == ':')
		flags |= PPM_EXE_FROM_MEMFD;
	return flags;
}

/* Parameters env .. gid of the execve exit event (env given by caller). */
static __always_inline void put_exec_tail(struct ev *e, struct task_struct *t) {
	put_u32(e, task_tty(t));
	put_s64(e, pid_vnr(task_pgrp(t)));
	put_u32(e, task_loginuid(t));
	struct file *exe = task_exe_file(t);
	put_u32(e, exe_flags(t, exe));
	put_u64(e, task_caps(t, 0));
	put_u64(e, task_caps(t, 1));
	put_u64(e, task_caps(t, 2));
	struct inode *ino = exe ? BPF_CORE_READ(exe, f_inode) : NULL;
	if(ino) {
		put_u64(e, BPF_CORE_READ(ino, i_ino));
		__s64 cs = 0, ms = 0;
		__u32 cns = 0, mns = 0;
		if(bpf_core_field_exists(ino->i_ctime_sec)) {
			cs = BPF_CORE_READ(ino, i_ctime_sec);
			cns = BPF_CORE_READ(ino, i_ctime_nsec);
			ms = BPF_CORE_READ(ino, i_mtime_sec);
			mns = BPF_CORE_READ(ino, i_mtime_nsec);
		}
		/* the top bits of i_ctime_nsec are multigrain-timestamp flags */
		put_u64(e, timespec_ns(cs, cns & 0x3fffffff));
		put_u64(e, timespec_ns(ms, mns & 0x3fffffff));
	} else {
		put_u64(e, 0);
		put_u64(e, 0);
		put_u64(e, 0);
	}
	put_u32(e, BPF_CORE_READ(t, cred, euid.val));
	if(exe)
		put_path(e, BPF_CORE_READ(exe, f_path.dentry), BPF_CORE_READ(exe, f_path.mnt));
	else
		put_empty(e);
	put_s64(e, pid_nr0(task_pgrp(t)));
	put_u32(e, BPF_CORE_READ(t, cred, egid.val));
}

/* Successful execve/execveat: the new image is in place. */
SEC("tracepoint/sched/sched_process_exec")
int sched_exec(void *ctx) {
	struct task_struct *t = cur();
	if(BPF_CORE_READ(t, flags) & PF_KTHREAD)
		return 0;
	struct ev e;
	if(ev_init(&e, PPME_SYSCALL_EXECVE_19_X, 31, cur_tid()) != 0)
		return 0;
	put_s64(&e, 0);
	put_task_exe_args(&e, t);
	put_task_common(&e, t);
	unsigned long es = BPF_CORE_READ(t, mm, env_start);
	unsigned long ee = BPF_CORE_READ(t, mm, env_end);
	if(es && ee > es)
		put_user_bytes(&e, (void *)es, ee - es);
	else
		put_empty(&e);
	put_exec_tail(&e, t);
	/* filename: __data_loc at offset 8 of the record. */
	__u32 loc = 0;
	bpf_probe_read_kernel(&loc, sizeof(loc), (char *)ctx + 8);
	put_str(&e, (char *)ctx + (loc & 0xffff), MAX_PATH, KERNEL);
	ev_submit(&e);
	return 0;
}

/* One entry of an argv-style array (bpf_loop callback; state in the map
 * so that the verifier checks one step only). */
static long argv_step(__u32 k, void *ctx) {
	__u32 zero = 0, cpu = bpf_get_smp_processor_id();
	struct pathbuf *pb = bpf_map_lookup_elem(&pathbufs, &zero);
	__u8 *buf = bpf_map_lookup_elem(&scratch, &cpu);
	if(!pb || !buf)
		return 1;
	struct argv_walk *a = &pb->a;
	const char *p = NULL;
	if(bpf_probe_read_user(&p, sizeof(p), (void *)a->argv) || !p)
		return 1;
	__u32 pos = a->pos;
	if(pos >= a->end || pos > SCRATCH_HALF - MAX_PATH)
		return 1;
	long n = bpf_probe_read_user_str(buf + (pos & SCRATCH_MASK), MAX_PATH, p);
	if(n <= 0)
		return 1;
	a->pos = pos + n;
	a->argv += sizeof(p);
	return 0;
}

/* argv-style array of user strings: the first as its own parameter when
 * `first` is set, the rest NUL-separated in one byte-array parameter. */
static __always_inline void put_argv(struct ev *e, const char *const *argv, int first) {
	__u32 zero = 0;
	struct pathbuf *pb = bpf_map_lookup_elem(&pathbufs, &zero);
	if(!argv || !pb) {
		if(first)
			put_empty(e);
		put_empty(e);
		return;
	}
	if(first) {
		const char *a0 = NULL;
		bpf_probe_read_user(&a0, sizeof(a0), &argv[0]);
		put_str(e, a0, MAX_EXE, USER);
		argv++;
	}
	if(!ev_room(e, MAX_ARGS + MAX_PATH)) {
		put_empty(e);
		return;
	}
	__u32 start = e->pos;
	pb->a.argv = (__u64)argv;
	pb->a.pos = start;
	pb->a.end = start + MAX_ARGS;
	bpf_loop(MAX_ARGV, argv_step, NULL, 0);
	__u32 end = pb->a.pos;
	if(end < start || end > start + MAX_ARGS + MAX_PATH) {
		put_empty(e);
		return;
	}
	e->pos = end;
	put_len(e, end - start);
}

static __always_inline int execve_fail(struct sys_exit_ctx *ctx, __u16 type, int argv_i, int fname_i, int nparams) {
	__u32 tid;
	struct stash *s = stash_get(&tid);
	if(!s)
		return 0;
	__s64 ret = ctx->ret;
	struct ev e;
	if(ret != 0 && ev_init(&e, type, nparams, tid) == 0) {
		struct task_struct *t = cur();
		put_s64(&e, ret);
		put_argv(&e, (const char *const *)s->args[argv_i], 1);
		put_task_common(&e, t);
		put_argv(&e, (const char *const *)s->args[argv_i + 1], 0);
		put_exec_tail(&e, t);
		if(fname_i >= 0)
			put_str(&e, (void *)s->args[fname_i], MAX_PATH, USER);
		ev_submit(&e);
	}
	bpf_map_delete_elem(&stash, &tid);
	return 0;
}

DEFINE_ENTER(execve, 3)
SEC("tracepoint/syscalls/sys_exit_execve")
int x_execve(struct sys_exit_ctx *ctx) {
	/* Success is reported by sched_process_exec. */
	return execve_fail(ctx, PPME_SYSCALL_EXECVE_19_X, 1, 0, 31);
}

DEFINE_ENTER(execveat, 5)
SEC("tracepoint/syscalls/sys_exit_execveat")
int x_execveat(struct sys_exit_ctx *ctx) {
	return execve_fail(ctx, PPME_SYSCALL_EXECVEAT_X, 2, -1, 30);
}

/* clone-family exit event. Caller side: res = child tid, flags from the
 * arguments. Child side (res == 0, first thing the child runs): flags
 * derived from the task, as the drivers do for sched_process_fork. */
static __always_inline int clone_exit(struct sys_exit_ctx *ctx, __u16 type, __u64 raw_flags, int have_flags) {
	struct task_struct *t = cur();
	__s64 ret = ctx->ret;
	struct ev e;
	if(ev_init(&e, type, 21, cur_tid()) != 0)
		return 0;
	put_s64(&e, ret);
	if(ret >= 0)
		put_task_exe_args(&e, t);
	else {
		put_empty(&e);
		put_empty(&e);
	}
	put_task_common(&e, t);
	__u32 flags = 0;
	if(ret == 0) {
		if(BPF_CORE_READ(t, pid) != BPF_CORE_READ(t, tgid))
			flags |= PPM_CL_CLONE_THREAD | PPM_CL_CLONE_SIGHAND | PPM_CL_CLONE_VM;
		if(BPF_CORE_READ(t, files) == BPF_CORE_READ(t, group_leader, files) &&
		   BPF_CORE_READ(t, pid) != BPF_CORE_READ(t, tgid))
			flags |= PPM_CL_CLONE_FILES;
	} else if(have_flags) {
		flags = clone_flags_to_scap(raw_flags);
	}
	if(pid_ns_level(t) != 0)
		flags |= PPM_CL_CHILD_IN_PIDNS;
	put_u32(&e, flags);
	put_u32(&e, BPF_CORE_READ(t, cred, euid.val));
	put_u32(&e, BPF_CORE_READ(t, cred, egid.val));
	put_s64(&e, pid_vnr(BPF_CORE_READ(t, thread_pid)));
	put_s64(&e, pid_vnr(BPF_CORE_READ(t, group_leader, thread_pid)));
	put_u64(&e, 0); /* pidns_init_start_ts: not collected yet */
	ev_submit(&e);
	return 0;
}

/* The child has no stash entry: its exit is handled without one. */
DEFINE_ENTER(clone, 1)
SEC("tracepoint/syscalls/sys_exit_clone")
int x_clone(struct sys_exit_ctx *ctx) {
	__u32 tid = cur_tid();
	struct stash *s = bpf_map_lookup_elem(&stash, &tid);
	__u64 f = s ? s->args[0] : 0;
	clone_exit(ctx, PPME_SYSCALL_CLONE_20_X, f, s != NULL);
	if(s)
		bpf_map_delete_elem(&stash, &tid);
	return 0;
}

DEFINE_ENTER(clone3, 1)
SEC("tracepoint/syscalls/sys_exit_clone3")
int x_clone3(struct sys_exit_ctx *ctx) {
	__u32 tid = cur_tid();
	struct stash *s = bpf_map_lookup_elem(&stash, &tid);
	__u64 f = 0;
	int have = 0;
	if(s && ctx->ret != 0) {
		/* struct clone_args starts with u64 flags. */
		have = bpf_probe_read_user(&f, sizeof(f), (void *)s->args[0]) == 0;
	}
	clone_exit(ctx, PPME_SYSCALL_CLONE3_X, f, have);
	if(s)
		bpf_map_delete_elem(&stash, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_fork")
int x_fork(struct sys_exit_ctx *ctx) {
	return clone_exit(ctx, PPME_SYSCALL_FORK_20_X, 0, 1);
}

SEC("tracepoint/syscalls/sys_exit_vfork")
int x_vfork(struct sys_exit_ctx *ctx) {
	return clone_exit(ctx, PPME_SYSCALL_VFORK_20_X, CLONE_VM | CLONE_VFORK, 1);
}

/* procexit (PPME_PROCEXIT_1_E, the event the drivers send). Also drops a
 * stale stash entry of the dying thread. */
SEC("tracepoint/sched/sched_process_exit")
int sched_exit(void *ctx) {
	struct task_struct *t = cur();
	__u32 tid = cur_tid();
	bpf_map_delete_elem(&stash, &tid);
	if(BPF_CORE_READ(t, flags) & PF_KTHREAD)
		return 0;
	struct ev e;
	if(ev_init(&e, PPME_PROCEXIT_1_E, 5, tid) != 0)
		return 0;
	__s32 code = BPF_CORE_READ(t, exit_code);
	put_s64(&e, code);
	put_s64(&e, (code >> 8) & 0xff);
	__u8 sig = code & 0x7f;
	put_u8(&e, (sig != 0 && sig != 0x7f) ? sig : 0);
	put_u8(&e, (code & 0x80) ? 1 : 0);
	put_s64(&e, 0); /* reaper_tid: user space finds the reaper */
	ev_submit(&e);
	return 0;
}
