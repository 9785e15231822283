/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/*
 * peregrine CO-RE probe: per-syscall tracepoints emitting scap exit events.
 *
 * For each supported syscall X, tracepoint/syscalls/sys_exit_X builds the
 * full exit event of the current schema (arguments from the task's saved
 * registers) and writes it to the ring of its CPU (see scap.h).
 * Plus sched/sched_process_exec (successful execve/execveat) and
 * sched/sched_process_exit (procexit). The loader attaches only the
 * programs of the selected syscalls: a syscall without a program costs only
 * the kernel's syscall-tracing slow path (a bit test in the perf handler).
 *
 * Program names: x_<syscall> (at most 15 characters, the kernel's limit).
 *
 * Cost: on kernels with return-thunk mitigations every call costs tens of
 * nanoseconds, so the programs make as few helper calls as they can: the
 * tid is loaded from the task, the saved registers are found from the
 * task's stack base, kernel objects reached through pointers the verifier
 * cannot type (an fd table slot, say) are read with direct loads through
 * bpf_rdonly_cast() (CAST()) rather than bpf_probe_read_kernel(), and
 * events are written in place in a lock-free per-CPU ring that the
 * consumer polls: no helper reserves, submits or wakes. What remains per
 * event is the task (bpf_get_current_task_btf), the clock
 * (bpf_ktime_get_boot_ns) and the user strings the event carries.
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

/* Layout of the per-syscall exit tracepoint record (see
 * /sys/kernel/tracing/events/syscalls/sys_exit_openat/format). */
struct sys_exit_ctx {
	__u64 common;
	__s32 nr;
	__u32 pad;
	__s64 ret;
};

/* Experiments (PEREGRINE_BPF_CFLAGS=-DEXP_EMPTY=1): programs that return
 * at once, to measure what the tracepoint itself costs. */
#ifndef EXP_EMPTY
#define EXP_EMPTY 0
#endif

/* The syscall arguments, read at exit from the registers the task saved
 * on kernel entry (task_pt_regs: x86_64 syscall ABI di, si, dx, r10, r8,
 * r9). The syscall does not change them, so no enter program is needed.
 * Only 64-bit syscalls reach the syscalls/ tracepoints (the kernel skips
 * ia32 compat syscalls there), so the 64-bit ABI is the only one. The
 * loads are direct (the pointer is a BTF one); those a program does not
 * use are optimised away. */
struct args {
	__u64 a[6];
};

/* Where a task's saved registers are, from the base of its kernel stack
 * (the same for every task: the stack size and padding are build
 * constants). 0 until a program has asked bpf_task_pt_regs() once. */
__u64 regs_offset = 0;

/* The task's saved user registers: task_pt_regs(t), from the stack base
 * with direct loads once regs_offset is known. */
static __always_inline struct pt_regs *task_regs(struct task_struct *t) {
	__u64 off = regs_offset;
	if(!off) {
		struct pt_regs *r = (struct pt_regs *)bpf_task_pt_regs(t);
		regs_offset = (__u64)r - (__u64)t->stack;
		return r;
	}
	return CAST(t->stack + off, struct pt_regs);
}

static __always_inline void load_args(struct task_struct *t, struct args *x) {
	struct pt_regs *r = task_regs(t);
	x->a[0] = r->di;
	x->a[1] = r->si;
	x->a[2] = r->dx;
	x->a[3] = r->r10;
	x->a[4] = r->r8;
	x->a[5] = r->r9;
}

/*
 * SYSCALL_EXIT(sc) { ... } defines the exit program x_<sc> on
 * syscalls/sys_exit_<sc>. The body sees `t` (the current task, a BTF
 * pointer), `ret` (the return value) and `a[0..5]` (the arguments), and
 * writes its event itself (execve, for one, writes none on success).
 */
#define SYSCALL_EXIT(sc)                                                                                  \
	static __always_inline void body_##sc(struct task_struct *t, __s64 ret, const __u64 *a);             \
	SEC("tracepoint/syscalls/sys_exit_" #sc)                                                              \
	int x_##sc(struct sys_exit_ctx *ctx) {                                                                \
		if(EXP_EMPTY)                                                                                     \
			return 0;                                                                                     \
		struct task_struct *t = bpf_get_current_task_btf();                                               \
		struct args x;                                                                                    \
		load_args(t, &x);                                                                                 \
		body_##sc(t, ctx->ret, x.a);                                                                      \
		return 0;                                                                                         \
	}                                                                                                     \
	static __always_inline void body_##sc(struct task_struct *t, __s64 ret, const __u64 *a)

/*
 * SYSCALL_EVENT(sc, type, nparams) { ... }: an exit program that writes one
 * event of code `type` with `nparams` parameters, written in place in the
 * ring; the body only writes the parameters, in order, through `e`.
 *
 * SYSCALL_FIXED(sc, type, nparams, payload) { ... }: the same for an event
 * whose parameters all have a fixed size, `payload` bytes in all, at
 * positions known at compile time (the build checks the sum).
 */
#define SYSCALL_EVENT(sc, type, nparams) SYSCALL_EVENT_(sc, ev_init(&ev, type, nparams, t))
#define SYSCALL_FIXED(sc, type, nparams, payload) SYSCALL_EVENT_(sc, ev_fixed(&ev, type, nparams, payload, t))

#define SYSCALL_EVENT_(sc, start)                                                                          \
	static __always_inline void fill_##sc(struct ev *e, struct task_struct *t, __s64 ret, const __u64 *a); \
	SYSCALL_EXIT(sc) {                                                                                     \
		struct ev ev;                                                                                      \
		if(start != 0)                                                                                     \
			return;                                                                                        \
		fill_##sc(&ev, t, ret, a);                                                                         \
		ev_submit(&ev);                                                                                    \
	}                                                                                                      \
	static __always_inline void fill_##sc(struct ev *e, struct task_struct *t, __s64 ret, const __u64 *a)

/* ===================================================================== */
/* Files                                                                  */
/* ===================================================================== */

/* What the open family reports of the file it opened: its device and
 * inode, and PPM_O_F_CREATED when the call created it. Direct loads: the
 * fd table slot, then the file, the inode and the super block. */
struct opened {
	__u32 dev;
	__u32 created;
	__u64 ino;
};

static __always_inline struct opened opened_file(struct task_struct *t, __s64 fd) {
	struct opened o = {};
	struct file *f = fd_file(t, fd);
	if(!f)
		return o;
	struct inode *i = f->f_inode;
	if(!i)
		return o;
	o.ino = i->i_ino;
	struct super_block *sb = i->i_sb;
	if(sb)
		o.dev = sb->s_dev;
	if(f->f_mode & FMODE_CREATED)
		o.created = PPM_O_F_CREATED;
	return o;
}

/* The dev and ino parameters that end the open family's events. */
static __always_inline void put_dev_ino(struct ev *e, const struct opened *o) {
	put_u32(e, o->dev);
	put_u64(e, o->ino);
}

static __always_inline __s64 scap_dirfd(__u64 a) {
	__s32 d = (__s32)a;
	return d == AT_FDCWD ? PPM_AT_FDCWD : d;
}

/* A directory fd argument (AT_FDCWD in scap's encoding). */
static __always_inline void put_dirfd(struct ev *e, __u64 arg) {
	put_s64(e, scap_dirfd(arg));
}

SYSCALL_EVENT(open, PPME_SYSCALL_OPEN_X, 6) {
	struct opened o = opened_file(t, ret);
	put_s64(e, ret);
	put_upath(e, a[0]);
	put_u32(e, open_flags_to_scap(a[1]) | o.created);
	put_u32(e, open_mode_to_scap(a[1], a[2]));
	put_dev_ino(e, &o);
}

SYSCALL_EVENT(openat, PPME_SYSCALL_OPENAT_2_X, 7) {
	struct opened o = opened_file(t, ret);
	put_s64(e, ret);
	put_dirfd(e, a[0]);
	put_upath(e, a[1]);
	put_u32(e, open_flags_to_scap(a[2]) | o.created);
	put_u32(e, open_mode_to_scap(a[2], a[3]));
	put_dev_ino(e, &o);
}

struct open_how_u {
	__u64 flags;
	__u64 mode;
	__u64 resolve;
};

SYSCALL_EVENT(openat2, PPME_SYSCALL_OPENAT2_X, 8) {
	struct open_how_u how = {};
	if(bpf_probe_read_user(&how, sizeof(how), (void *)a[2]))
		COUNT(read_fail);
	struct opened o = opened_file(t, ret);
	put_s64(e, ret);
	put_dirfd(e, a[0]);
	put_upath(e, a[1]);
	put_u32(e, open_flags_to_scap(how.flags) | o.created);
	put_u32(e, open_mode_to_scap(how.flags, how.mode));
	put_u32(e, resolve_to_scap(how.resolve));
	put_dev_ino(e, &o);
}

SYSCALL_EVENT(creat, PPME_SYSCALL_CREAT_X, 6) {
	struct opened o = opened_file(t, ret);
	put_s64(e, ret);
	put_upath(e, a[0]);
	put_u32(e, open_mode_to_scap(O_CREAT, a[1]));
	put_dev_ino(e, &o);
	put_u16(e, 0); /* creat_flags: overlay layers not detected yet */
}

SYSCALL_FIXED(close, PPME_SYSCALL_CLOSE_X, 2, 8 + 8) {
	put_s64(e, ret);
	put_fd(e, a[0]);
}

SYSCALL_FIXED(dup, PPME_SYSCALL_DUP_1_X, 2, 8 + 8) {
	put_s64(e, ret);
	put_fd(e, a[0]);
}

SYSCALL_FIXED(dup2, PPME_SYSCALL_DUP2_X, 3, 8 + 8 + 8) {
	put_s64(e, ret);
	put_fd(e, a[0]);
	put_fd(e, a[1]);
}

SYSCALL_FIXED(dup3, PPME_SYSCALL_DUP3_X, 4, 8 + 8 + 8 + 4) {
	put_s64(e, ret);
	put_fd(e, a[0]);
	put_fd(e, a[1]);
	put_u32(e, (a[2] & O_CLOEXEC) ? PPM_O_CLOEXEC : 0);
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

SYSCALL_FIXED(socket, PPME_SOCKET_SOCKET_X, 5, 8 + 4 + 4 + 4 + 4) {
	put_s64(e, ret);
	put_u32(e, (__u32)a[0]); /* PPM_AF_* == AF_* */
	put_u32(e, (__u32)a[1]);
	put_u32(e, (__u32)a[2]);
	put_u32(e, socket_flags_to_scap(a[1]));
}

SYSCALL_EVENT(bind, PPME_SOCKET_BIND_X, 3) {
	put_s64(e, ret);
	put_user_sockaddr(e, (void *)a[1], a[2]);
	put_fd(e, a[0]);
}

SYSCALL_EVENT(connect, PPME_SOCKET_CONNECT_X, 4) {
	__s64 fd = (__s32)a[0];
	put_s64(e, ret);
	if(ret == 0 || ret == -EINPROGRESS)
		put_tuple(e, t, fd, OUTBOUND, (void *)a[1], a[2]);
	else
		put_empty(e);
	put_s64(e, fd);
	put_user_sockaddr(e, (void *)a[1], a[2]);
}

/* Parameters res .. queuemax of the accept events; `lfd` is the listening
 * socket. */
static __always_inline void put_accept_common(struct ev *e, struct task_struct *t, __s64 ret, __s64 lfd) {
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

SYSCALL_EVENT(accept, PPME_SOCKET_ACCEPT_5_X, 5) {
	put_accept_common(e, t, ret, (__s32)a[0]);
}

SYSCALL_EVENT(accept4, PPME_SOCKET_ACCEPT4_6_X, 6) {
	put_accept_common(e, t, ret, (__s32)a[0]);
	put_u32(e, socket_flags_to_scap(a[3]));
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

/* kernfs_node.parent before 6.15 (renamed __parent). */
struct kernfs_node___old {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn) {
	if(bpf_core_field_exists(kn->__parent))
		return BPF_CORE_READ(kn, __parent);
	return BPF_CORE_READ((struct kernfs_node___old *)kn, parent);
}

#define CG_DEPTH 16
#define CG_SUBSYS 16
#define CG_NAME 128
#define CG_MAX 4096 /* bytes of the whole parameter, roughly */

/* Appends the path of cgroup `cg` (its kernfs node names from the root
 * down, "/" for the root) at buf[c->pos]; deeper paths keep their first
 * CG_DEPTH components. The position lives in the map (`c->pos`): values
 * loaded from a map are unknown to the verifier, so the loop's states
 * converge instead of multiplying. */
static __always_inline void raw_cgroup_path(__u8 *buf, struct cg_walk *c, struct cgroup *cg) {
	struct kernfs_node *nodes[CG_DEPTH] = {};
	struct kernfs_node *kn = BPF_CORE_READ(cg, kn);
	int depth = 0;
	for(int i = 0; i < CG_DEPTH; i++) {
		struct kernfs_node *up = kn ? kn_parent(kn) : NULL;
		if(!up)
			break;
		nodes[i] = kn;
		kn = up;
		depth++;
	}
	if(depth == 0) {
		__u32 p = c->pos;
		buf[p & SCRATCH_MASK] = '/';
		c->pos = p + 1;
		return;
	}
	for(int j = CG_DEPTH - 1; j >= 0; j--) {
		if(j >= depth)
			continue;
		__u32 p = c->pos;
		buf[p & SCRATCH_MASK] = '/';
		const char *name = BPF_CORE_READ(nodes[j], name);
		long n = bpf_probe_read_kernel_str(buf + ((p + 1) & SCRATCH_MASK), CG_NAME, name);
		c->pos = p + 1 + (n > 1 ? n - 1 : 0);
	}
}

/* One subsystem of the cgroups parameter (bpf_loop callback; state in the
 * per-CPU map so that the verifier checks one step). */
static long cg_step(__u32 i, void *ctx) {
	__u32 zero = 0, cpu = bpf_get_smp_processor_id();
	struct pathbuf *pb = bpf_map_lookup_elem(&pathbufs, &zero);
	__u8 *buf = bpf_map_lookup_elem(&scratch, &cpu);
	if(!pb || !buf)
		return 1;
	struct cg_walk *c = &pb->c;
	__u32 pos = c->pos;
	if(pos > c->end || pos > SCRATCH_HALF - CG_DEPTH * CG_NAME - 64)
		return 1;
	struct css_set *cs = (struct css_set *)c->cs;
	struct cgroup_subsys_state *css = NULL;
	bpf_probe_read_kernel(&css, sizeof(css), (char *)cs + bpf_core_field_offset(struct css_set, subsys) + (i & 31) * 8);
	if(!css)
		return 0;
	const char *name = BPF_CORE_READ(css, ss, name);
	long n = bpf_probe_read_kernel_str(buf + (pos & SCRATCH_MASK), 32, name);
	if(n <= 1)
		return 0;
	pos += n - 1;
	buf[pos & SCRATCH_MASK] = '=';
	pos++;
	struct cgroup *cg = BPF_CORE_READ(css, cgroup);
	__u32 path_start = pos;
	__u32 plen = c->prev_len;
	barrier_var(plen);
	plen &= CG_DEPTH * CG_NAME - 1;
	if((__u64)cg == c->prev && plen > 0) {
		bpf_probe_read_kernel(buf + (pos & SCRATCH_MASK), plen, buf + (c->prev_start & SCRATCH_MASK));
		pos += plen;
	} else {
		c->pos = pos;
		raw_cgroup_path(buf, c, cg);
		pos = c->pos;
		if(pos < path_start || pos > path_start + CG_DEPTH * CG_NAME)
			return 1;
	}
	c->prev = (__u64)cg;
	c->prev_start = path_start;
	c->prev_len = pos - path_start;
	buf[pos & SCRATCH_MASK] = 0;
	c->pos = pos + 1;
	return 0;
}

/* cgroups parameter: "subsys=path" NUL-separated for every subsystem of
 * the task's css_set, as the drivers send it. A subsystem whose cgroup is
 * the previous one's reuses that path. */
static __always_inline void put_cgroups(struct ev *e, struct task_struct *t) {
	__u32 zero = 0;
	struct pathbuf *pb = bpf_map_lookup_elem(&pathbufs, &zero);
	struct css_set *cs = BPF_CORE_READ(t, cgroups);
	if(!pb || !cs || !ev_room(e, CG_MAX + CG_DEPTH * CG_NAME + 64)) {
		put_empty(e);
		return;
	}
	__u32 start = e->pos;
	pb->c.cs = (__u64)cs;
	pb->c.prev = 0;
	pb->c.prev_len = 0;
	pb->c.pos = start;
	pb->c.end = start + CG_MAX;
	__u32 count = bpf_core_enum_value(enum cgroup_subsys_id, CGROUP_SUBSYS_COUNT);
	bpf_loop(count < CG_SUBSYS ? count : CG_SUBSYS, cg_step, NULL, 0);
	__u32 end = pb->c.pos;
	if(end < start || end > start + CG_MAX + CG_DEPTH * CG_NAME + 64) {
		put_empty(e);
		return;
	}
	e->pos = end;
	put_len(e, end - start);
}

/* vm_size, vm_rss, vm_swap (KiB) of the task's mm. */
static __always_inline void put_mm_sizes(struct ev *e, struct task_struct *t) {
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
	put_mm_sizes(e, t);
	put_str(e, &t->comm, TASK_COMM_LEN, KERNEL);
	put_cgroups(e, t);
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
	if(t->flags & PF_KTHREAD)
		return 0;
	struct ev e;
	if(ev_init_scratch(&e, PPME_SYSCALL_EXECVE_19_X, 31, t) != 0)
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

/* Failed execve/execveat (success comes from sched_process_exec): the
 * registers still hold the caller's arguments. */
static __always_inline void execve_fail(struct task_struct *t, __s64 ret, const __u64 *a, __u16 type,
                                        int argv_i, int fname_i, int nparams) {
	struct ev e;
	if(ret == 0 || ev_init_scratch(&e, type, nparams, t) != 0)
		return;
	put_s64(&e, ret);
	put_argv(&e, (const char *const *)a[argv_i], 1);
	put_task_common(&e, t);
	put_argv(&e, (const char *const *)a[argv_i + 1], 0);
	put_exec_tail(&e, t);
	if(fname_i >= 0)
		put_str(&e, (void *)a[fname_i], MAX_PATH, USER);
	ev_submit(&e);
}

SYSCALL_EXIT(execve) {
	execve_fail(t, ret, a, PPME_SYSCALL_EXECVE_19_X, 1, 0, 31);
}

SYSCALL_EXIT(execveat) {
	execve_fail(t, ret, a, PPME_SYSCALL_EXECVEAT_X, 2, -1, 30);
}

/* start_time of the init process of the task's pid namespace (child side
 * only, as the drivers send it). */
static __always_inline __u64 pidns_init_start_ts(struct task_struct *t) {
	struct pid_namespace *ns = pid_ns_of(t->thread_pid);
	if(!ns)
		return 0;
	return BPF_CORE_READ(ns, child_reaper, start_time);
}

/* clone-family exit event, caller side (res = child tid) and child side
 * (res == 0, the first thing the child runs). The child's saved registers
 * are a copy of the caller's, so both sides see the same flags. */
static __always_inline void clone_exit(struct task_struct *t, __s64 ret, __u16 type, __u64 raw_flags) {
	struct ev e;
	if(ev_init_scratch(&e, type, 21, t) != 0)
		return;
	put_s64(&e, ret);
	if(ret >= 0)
		put_task_exe_args(&e, t);
	else {
		put_empty(&e);
		put_empty(&e);
	}
	put_task_common(&e, t);
	__u32 flags = clone_flags_to_scap(raw_flags);
	if(pid_ns_level(t) != 0 || (ret > 0 && t->nsproxy->pid_ns_for_children != pid_ns_of(t->thread_pid)))
		flags |= PPM_CL_CHILD_IN_PIDNS;
	put_u32(&e, flags);
	put_u32(&e, t->cred->euid.val);
	put_u32(&e, t->cred->egid.val);
	put_s64(&e, pid_vnr(t->thread_pid));
	put_s64(&e, pid_vnr(t->group_leader->thread_pid));
	put_u64(&e, ret == 0 ? pidns_init_start_ts(t) : 0);
	ev_submit(&e);
}

SYSCALL_EXIT(clone) {
	clone_exit(t, ret, PPME_SYSCALL_CLONE_20_X, a[0]);
}

SYSCALL_EXIT(clone3) {
	/* struct clone_args starts with u64 flags. */
	__u64 f = 0;
	bpf_probe_read_user(&f, sizeof(f), (void *)a[0]);
	clone_exit(t, ret, PPME_SYSCALL_CLONE3_X, f);
}

SYSCALL_EXIT(fork) {
	clone_exit(t, ret, PPME_SYSCALL_FORK_20_X, 0);
}

SYSCALL_EXIT(vfork) {
	clone_exit(t, ret, PPME_SYSCALL_VFORK_20_X, CLONE_VM | CLONE_VFORK);
}

/* procexit (PPME_PROCEXIT_1_E, the event the drivers send). */
SEC("tracepoint/sched/sched_process_exit")
int sched_exit(void *ctx) {
	struct task_struct *t = cur();
	if(t->flags & PF_KTHREAD)
		return 0;
	struct ev e;
	if(ev_fixed(&e, PPME_PROCEXIT_1_E, 5, 8 + 8 + 1 + 1 + 8, t) != 0)
		return 0;
	__s32 code = t->exit_code;
	put_s64(&e, code);
	put_s64(&e, (code >> 8) & 0xff);
	__u8 sig = code & 0x7f;
	put_u8(&e, (sig != 0 && sig != 0x7f) ? sig : 0);
	put_u8(&e, (code & 0x80) ? 1 : 0);
	put_s64(&e, 0); /* reaper_tid: user space finds the reaper */
	ev_submit(&e);
	return 0;
}

/* ===================================================================== */
/* I/O (data is sent empty: sizes and fds only)                           */
/* ===================================================================== */

/* Total length of the first MAX_IOV entries of a user iovec array. */
#define MAX_IOV 16
static __always_inline __u32 iov_total(const void *iov, __u64 cnt) {
	__u64 total = 0;
	for(int i = 0; i < MAX_IOV; i++) {
		if(i >= cnt)
			break;
		__u64 len = 0;
		if(bpf_probe_read_user(&len, sizeof(len), (const char *)iov + i * 16 + 8))
			break;
		total += len;
	}
	return (__u32)total;
}

/* res, data (not sent), fd, size: the start of the read/write events. */
static __always_inline void put_rw(struct ev *e, __s64 ret, const __u64 *a) {
	put_s64(e, ret);
	put_empty(e);
	put_fd(e, a[0]);
	put_u32(e, (__u32)a[2]);
}

SYSCALL_FIXED(read, PPME_SYSCALL_READ_X, 4, 8 + 8 + 4) {
	put_rw(e, ret, a);
}

SYSCALL_FIXED(write, PPME_SYSCALL_WRITE_X, 4, 8 + 8 + 4) {
	put_rw(e, ret, a);
}

SYSCALL_FIXED(pread64, PPME_SYSCALL_PREAD_X, 5, 8 + 8 + 4 + 8) {
	put_rw(e, ret, a);
	put_u64(e, a[3]);
}

SYSCALL_FIXED(pwrite64, PPME_SYSCALL_PWRITE_X, 5, 8 + 8 + 4 + 8) {
	put_rw(e, ret, a);
	put_u64(e, a[3]);
}

/* res, size read, data (not sent), fd: the start of readv and preadv. */
static __always_inline void put_readv(struct ev *e, __s64 ret, const __u64 *a) {
	put_s64(e, ret);
	put_u32(e, ret > 0 ? (__u32)ret : 0);
	put_empty(e);
	put_fd(e, a[0]);
}

SYSCALL_FIXED(readv, PPME_SYSCALL_READV_X, 4, 8 + 4 + 8) {
	put_readv(e, ret, a);
}

SYSCALL_FIXED(preadv, PPME_SYSCALL_PREADV_X, 5, 8 + 4 + 8 + 8) {
	put_readv(e, ret, a);
	put_u64(e, a[3]);
}

/* res, data (not sent), fd, size of the iovecs: the start of writev and
 * pwritev. */
static __always_inline void put_writev(struct ev *e, __s64 ret, const __u64 *a) {
	put_s64(e, ret);
	put_empty(e);
	put_fd(e, a[0]);
	put_u32(e, iov_total((void *)a[1], a[2]));
}

SYSCALL_FIXED(writev, PPME_SYSCALL_WRITEV_X, 4, 8 + 8 + 4) {
	put_writev(e, ret, a);
}

SYSCALL_FIXED(pwritev, PPME_SYSCALL_PWRITEV_X, 5, 8 + 8 + 4 + 8) {
	put_writev(e, ret, a);
	put_u64(e, a[3]);
}

SYSCALL_FIXED(splice, PPME_SYSCALL_SPLICE_X, 5, 8 + 8 + 8 + 8 + 4) {
	put_s64(e, ret);
	put_fd(e, a[0]);
	put_fd(e, a[2]);
	put_u64(e, a[4]);
	put_u32(e, splice_flags_to_scap(a[5]));
}

SYSCALL_FIXED(fcntl, PPME_SYSCALL_FCNTL_X, 4, 8 + 8 + 1 + 8) {
	put_s64(e, ret);
	put_fd(e, a[0]);
	put_u8(e, fcntl_cmd_to_scap((__u32)a[1]));
	put_u64(e, a[2]);
}

/* pipe/pipe2: the fds from the user array, the inode of the pipe. */
static __always_inline void pipe_common(struct ev *e, struct task_struct *t, __s64 ret, __u64 uarr) {
	__s32 fds[2] = {-1, -1};
	if(bpf_probe_read_user(fds, sizeof(fds), (void *)uarr)) {
		fds[0] = -1;
		fds[1] = -1;
	}
	__u64 ino = 0;
	if(ret == 0) {
		struct file *f = fd_file(t, fds[0]);
		if(f)
			ino = BPF_CORE_READ(f, f_inode, i_ino);
	}
	put_s64(e, ret);
	put_s64(e, fds[0]);
	put_s64(e, fds[1]);
	put_u64(e, ino);
}

SYSCALL_FIXED(pipe, PPME_SYSCALL_PIPE_X, 4, 8 + 8 + 8 + 8) {
	pipe_common(e, t, ret, a[0]);
}

SYSCALL_FIXED(pipe2, PPME_SYSCALL_PIPE2_X, 5, 8 + 8 + 8 + 8 + 4) {
	pipe_common(e, t, ret, a[0]);
	put_u32(e, pipe2_flags_to_scap(a[1]));
}

/* ===================================================================== */
/* File system                                                            */
/* ===================================================================== */

SYSCALL_EVENT(rename, PPME_SYSCALL_RENAME_X, 3) {
	put_s64(e, ret);
	put_upath(e, a[0]);
	put_upath(e, a[1]);
}

SYSCALL_EVENT(renameat, PPME_SYSCALL_RENAMEAT_X, 5) {
	put_s64(e, ret);
	put_dirfd(e, a[0]);
	put_upath(e, a[1]);
	put_dirfd(e, a[2]);
	put_upath(e, a[3]);
}

SYSCALL_EVENT(renameat2, PPME_SYSCALL_RENAMEAT2_X, 6) {
	put_s64(e, ret);
	put_dirfd(e, a[0]);
	put_upath(e, a[1]);
	put_dirfd(e, a[2]);
	put_upath(e, a[3]);
	put_u32(e, renameat2_flags_to_scap(a[4]));
}

SYSCALL_EVENT(unlink, PPME_SYSCALL_UNLINK_2_X, 2) {
	put_s64(e, ret);
	put_upath(e, a[0]);
}

SYSCALL_EVENT(unlinkat, PPME_SYSCALL_UNLINKAT_2_X, 4) {
	put_s64(e, ret);
	put_dirfd(e, a[0]);
	put_upath(e, a[1]);
	put_u32(e, unlinkat_flags_to_scap(a[2]));
}

SYSCALL_EVENT(mkdir, PPME_SYSCALL_MKDIR_2_X, 3) {
	put_s64(e, ret);
	put_upath(e, a[0]);
	put_u32(e, (__u32)a[1]);
}

SYSCALL_EVENT(mkdirat, PPME_SYSCALL_MKDIRAT_X, 4) {
	put_s64(e, ret);
	put_dirfd(e, a[0]);
	put_upath(e, a[1]);
	put_u32(e, (__u32)a[2]);
}

SYSCALL_EVENT(rmdir, PPME_SYSCALL_RMDIR_2_X, 2) {
	put_s64(e, ret);
	put_upath(e, a[0]);
}

SYSCALL_EVENT(link, PPME_SYSCALL_LINK_2_X, 3) {
	put_s64(e, ret);
	put_upath(e, a[0]);
	put_upath(e, a[1]);
}

SYSCALL_EVENT(linkat, PPME_SYSCALL_LINKAT_2_X, 6) {
	put_s64(e, ret);
	put_dirfd(e, a[0]);
	put_upath(e, a[1]);
	put_dirfd(e, a[2]);
	put_upath(e, a[3]);
	put_u32(e, linkat_flags_to_scap(a[4]));
}

SYSCALL_EVENT(symlink, PPME_SYSCALL_SYMLINK_X, 3) {
	put_s64(e, ret);
	put_upath(e, a[0]);
	put_upath(e, a[1]);
}

SYSCALL_EVENT(symlinkat, PPME_SYSCALL_SYMLINKAT_X, 4) {
	put_s64(e, ret);
	put_upath(e, a[0]);
	put_dirfd(e, a[1]);
	put_upath(e, a[2]);
}

SYSCALL_EVENT(chmod, PPME_SYSCALL_CHMOD_X, 3) {
	put_s64(e, ret);
	put_upath(e, a[0]);
	put_u32(e, chmod_mode_to_scap(a[1]));
}

SYSCALL_FIXED(fchmod, PPME_SYSCALL_FCHMOD_X, 3, 8 + 8 + 4) {
	put_s64(e, ret);
	put_fd(e, a[0]);
	put_u32(e, chmod_mode_to_scap(a[1]));
}

SYSCALL_EVENT(fchmodat, PPME_SYSCALL_FCHMODAT_X, 4) {
	put_s64(e, ret);
	put_dirfd(e, a[0]);
	put_upath(e, a[1]);
	put_u32(e, chmod_mode_to_scap(a[2]));
}

static __always_inline void chown_path(struct ev *e, __s64 ret, const __u64 *a) {
	put_s64(e, ret);
	put_upath(e, a[0]);
	put_u32(e, (__u32)a[1]);
	put_u32(e, (__u32)a[2]);
}

SYSCALL_EVENT(chown, PPME_SYSCALL_CHOWN_X, 4) {
	chown_path(e, ret, a);
}

SYSCALL_EVENT(lchown, PPME_SYSCALL_LCHOWN_X, 4) {
	chown_path(e, ret, a);
}

SYSCALL_FIXED(fchown, PPME_SYSCALL_FCHOWN_X, 4, 8 + 8 + 4 + 4) {
	put_s64(e, ret);
	put_fd(e, a[0]);
	put_u32(e, (__u32)a[1]);
	put_u32(e, (__u32)a[2]);
}

SYSCALL_EVENT(fchownat, PPME_SYSCALL_FCHOWNAT_X, 6) {
	put_s64(e, ret);
	put_dirfd(e, a[0]);
	put_upath(e, a[1]);
	put_u32(e, (__u32)a[2]);
	put_u32(e, (__u32)a[3]);
	put_u32(e, fchownat_flags_to_scap(a[4]));
}

SYSCALL_EVENT(chdir, PPME_SYSCALL_CHDIR_X, 2) {
	put_s64(e, ret);
	put_upath(e, a[0]);
}

SYSCALL_FIXED(fchdir, PPME_SYSCALL_FCHDIR_X, 2, 8 + 8) {
	put_s64(e, ret);
	put_fd(e, a[0]);
}

SYSCALL_EVENT(chroot, PPME_SYSCALL_CHROOT_X, 2) {
	put_s64(e, ret);
	put_upath(e, a[0]);
}

#define MS_MGC_MSK 0xffff0000
#define MS_MGC_VAL 0xC0ED0000

SYSCALL_EVENT(mount, PPME_SYSCALL_MOUNT_X, 5) {
	put_s64(e, ret);
	put_upath(e, a[0]);
	put_upath(e, a[1]);
	put_upath(e, a[2]);
	__u32 flags = (__u32)a[3];
	if((flags & MS_MGC_MSK) == MS_MGC_VAL)
		flags &= ~MS_MGC_MSK;
	put_u32(e, flags);
}

SYSCALL_EVENT(umount2, PPME_SYSCALL_UMOUNT2_X, 3) {
	put_s64(e, ret);
	put_upath(e, a[0]);
	put_u32(e, umount2_flags_to_scap(a[1]));
}

/* ===================================================================== */
/* Network (tuple, fd and size; data sent empty)                          */
/* ===================================================================== */

SYSCALL_FIXED(listen, PPME_SOCKET_LISTEN_X, 3, 8 + 8 + 4) {
	put_s64(e, ret);
	put_fd(e, a[0]);
	put_s32(e, (__s32)a[1]);
}

SYSCALL_FIXED(socketpair, PPME_SOCKET_SOCKETPAIR_X, 8, 8 + 8 + 8 + 8 + 8 + 4 + 4 + 4) {
	__s32 fds[2] = {-1, -1};
	__u64 source = 0, peer = 0;
	if(ret == 0) {
		bpf_probe_read_user(fds, sizeof(fds), (void *)a[3]);
		struct socket *sock = file_socket(fd_file(t, fds[0]));
		if(sock) {
			struct sock *sk = BPF_CORE_READ(sock, sk);
			source = (__u64)sk;
			peer = (__u64)BPF_CORE_READ((struct unix_sock *)sk, peer);
		}
	}
	put_s64(e, ret);
	put_s64(e, fds[0]);
	put_s64(e, fds[1]);
	put_u64(e, source);
	put_u64(e, peer);
	put_u32(e, (__u8)a[0]);
	put_u32(e, (__u32)a[1]);
	put_u32(e, (__u32)a[2]);
}

SYSCALL_EVENT(sendto, PPME_SOCKET_SENDTO_X, 5) {
	__s64 fd = (__s32)a[0];
	put_s64(e, ret);
	put_empty(e);
	put_s64(e, fd);
	put_u32(e, (__u32)a[2]);
	if(ret >= 0)
		put_tuple(e, t, fd, OUTBOUND, (void *)a[4], a[5]);
	else
		put_empty(e);
}

SYSCALL_EVENT(recvfrom, PPME_SOCKET_RECVFROM_X, 5) {
	__s64 fd = (__s32)a[0];
	put_s64(e, ret);
	put_empty(e);
	if(ret >= 0) {
		/* the peer address the kernel wrote to the user buffer */
		__u32 alen = 0;
		if(a[5])
			bpf_probe_read_user(&alen, sizeof(alen), (void *)a[5]);
		put_tuple(e, t, fd, INBOUND, (void *)a[4], alen);
	} else {
		put_empty(e);
	}
	put_s64(e, fd);
	put_u32(e, ret > 0 ? (__u32)ret : 0);
}

SYSCALL_EVENT(sendmsg, PPME_SOCKET_SENDMSG_X, 5) {
	__s64 fd = (__s32)a[0];
	struct user_msghdr mh = {};
	bpf_probe_read_user(&mh, sizeof(mh), (void *)a[1]);
	put_s64(e, ret);
	put_empty(e);
	put_s64(e, fd);
	put_u32(e, iov_total(mh.msg_iov, mh.msg_iovlen));
	if(ret >= 0)
		put_tuple(e, t, fd, OUTBOUND, mh.msg_name, mh.msg_namelen);
	else
		put_empty(e);
}

SYSCALL_EVENT(recvmsg, PPME_SOCKET_RECVMSG_X, 6) {
	__s64 fd = (__s32)a[0];
	put_s64(e, ret);
	if(ret >= 0) {
		struct user_msghdr mh = {};
		bpf_probe_read_user(&mh, sizeof(mh), (void *)a[1]);
		put_u32(e, (__u32)ret);
		put_empty(e);
		put_tuple(e, t, fd, INBOUND, mh.msg_name, mh.msg_namelen);
	} else {
		put_u32(e, 0);
		put_empty(e);
		put_empty(e);
	}
	put_empty(e); /* msgcontrol */
	put_s64(e, fd);
}

/* ===================================================================== */
/* Credentials, namespaces, signals, memory, modules                      */
/* ===================================================================== */

SYSCALL_FIXED(setuid, PPME_SYSCALL_SETUID_X, 2, 8 + 4) {
	put_s64(e, ret);
	put_u32(e, (__u32)a[0]);
}

SYSCALL_FIXED(setgid, PPME_SYSCALL_SETGID_X, 2, 8 + 4) {
	put_s64(e, ret);
	put_u32(e, (__u32)a[0]);
}

SYSCALL_FIXED(setresuid, PPME_SYSCALL_SETRESUID_X, 4, 8 + 4 + 4 + 4) {
	put_s64(e, ret);
	put_u32(e, (__u32)a[0]);
	put_u32(e, (__u32)a[1]);
	put_u32(e, (__u32)a[2]);
}

SYSCALL_FIXED(setresgid, PPME_SYSCALL_SETRESGID_X, 4, 8 + 4 + 4 + 4) {
	put_s64(e, ret);
	put_u32(e, (__u32)a[0]);
	put_u32(e, (__u32)a[1]);
	put_u32(e, (__u32)a[2]);
}

SYSCALL_FIXED(capset, PPME_SYSCALL_CAPSET_X, 4, 8 + 8 + 8 + 8) {
	put_s64(e, ret);
	put_u64(e, task_caps(t, 0));
	put_u64(e, task_caps(t, 1));
	put_u64(e, task_caps(t, 2));
}

#define PTRACE_IDX_UINT64 0
#define PTRACE_IDX_SIGTYPE 1

SYSCALL_EVENT(ptrace, PPME_SYSCALL_PTRACE_X, 5) {
	__u16 req = ptrace_req_to_scap(a[0]);
	put_s64(e, ret);
	/* addr (dynamic: u64) */
	raw_u8(e, PTRACE_IDX_UINT64);
	raw_u64(e, ret < 0 ? 0 : a[2]);
	put_len(e, 9);
	/* data (dynamic: u64, or the signal for the resuming requests) */
	if(ret < 0) {
		raw_u8(e, PTRACE_IDX_UINT64);
		raw_u64(e, 0);
		put_len(e, 9);
	} else if(req == PPM_PTRACE_CONT || req == PPM_PTRACE_SINGLESTEP || req == PPM_PTRACE_DETACH ||
	          req == PPM_PTRACE_SYSCALL) {
		raw_u8(e, PTRACE_IDX_SIGTYPE);
		raw_u8(e, (__u8)a[3]);
		put_len(e, 2);
	} else {
		__u64 v = a[3];
		if(req == PPM_PTRACE_PEEKTEXT || req == PPM_PTRACE_PEEKDATA || req == PPM_PTRACE_PEEKUSR) {
			v = 0;
			bpf_probe_read_user(&v, sizeof(v), (void *)a[3]);
		}
		raw_u8(e, PTRACE_IDX_UINT64);
		raw_u64(e, v);
		put_len(e, 9);
	}
	put_u16(e, req);
	put_int(e, a[1]);
}

SYSCALL_FIXED(unshare, PPME_SYSCALL_UNSHARE_X, 2, 8 + 4) {
	put_s64(e, ret);
	put_u32(e, clone_flags_to_scap(a[0]));
}

SYSCALL_FIXED(setns, PPME_SYSCALL_SETNS_X, 3, 8 + 8 + 4) {
	put_s64(e, ret);
	put_fd(e, a[0]);
	put_u32(e, clone_flags_to_scap(a[1]));
}

#define PR_SET_NAME 15
#define PR_GET_NAME 16
#define PR_GET_CHILD_SUBREAPER 37

SYSCALL_EVENT(prctl, PPME_SYSCALL_PRCTL_X, 4) {
	__u32 option = (__u32)a[0];
	put_s64(e, ret);
	put_u32(e, option);
	if(option == PR_SET_NAME || option == PR_GET_NAME) {
		put_str(e, (void *)a[1], TASK_COMM_LEN, USER);
		put_s64(e, 0);
	} else if(option == PR_GET_CHILD_SUBREAPER) {
		__s32 v = 0;
		bpf_probe_read_user(&v, sizeof(v), (void *)a[1]);
		put_empty(e);
		put_s64(e, v);
	} else {
		put_empty(e);
		put_s64(e, (__s64)a[1]);
	}
}

SYSCALL_FIXED(kill, PPME_SYSCALL_KILL_X, 3, 8 + 8 + 1) {
	put_s64(e, ret);
	put_int(e, a[0]);
	put_u8(e, (__u8)a[1]);
}

SYSCALL_FIXED(tkill, PPME_SYSCALL_TKILL_X, 3, 8 + 8 + 1) {
	put_s64(e, ret);
	put_int(e, a[0]);
	put_u8(e, (__u8)a[1]);
}

SYSCALL_FIXED(tgkill, PPME_SYSCALL_TGKILL_X, 4, 8 + 8 + 8 + 1) {
	put_s64(e, ret);
	put_int(e, a[0]);
	put_int(e, a[1]);
	put_u8(e, (__u8)a[2]);
}

SYSCALL_FIXED(mmap, PPME_SYSCALL_MMAP_X, 10, 8 + 4 + 4 + 4 + 8 + 8 + 4 + 4 + 8 + 8) {
	put_s64(e, ret);
	put_mm_sizes(e, t);
	put_u64(e, a[0]);
	put_u64(e, a[1]);
	put_u32(e, prot_flags_to_scap(a[2]));
	put_u32(e, mmap_flags_to_scap(a[3]));
	put_fd(e, a[4]);
	put_u64(e, a[5]);
}

SYSCALL_FIXED(mprotect, PPME_SYSCALL_MPROTECT_X, 4, 8 + 8 + 8 + 4) {
	put_s64(e, ret);
	put_u64(e, a[0]);
	put_u64(e, a[1]);
	put_u32(e, prot_flags_to_scap(a[2]));
}

SYSCALL_EVENT(memfd_create, PPME_SYSCALL_MEMFD_CREATE_X, 3) {
	put_s64(e, ret);
	put_upath(e, a[0]);
	put_u32(e, memfd_flags_to_scap(a[1]));
}

SYSCALL_FIXED(userfaultfd, PPME_SYSCALL_USERFAULTFD_X, 2, 8 + 4) {
	put_s64(e, ret);
	put_u32(e, userfaultfd_flags_to_scap(a[0]));
}

SYSCALL_FIXED(bpf, PPME_SYSCALL_BPF_2_X, 2, 8 + 4) {
	put_s64(e, ret);
	put_u32(e, (__u32)a[0]);
}

SYSCALL_EVENT(init_module, PPME_SYSCALL_INIT_MODULE_X, 4) {
	put_s64(e, ret);
	put_empty(e); /* img: not sent */
	put_u64(e, a[1]);
	put_upath(e, a[2]);
}

SYSCALL_EVENT(finit_module, PPME_SYSCALL_FINIT_MODULE_X, 4) {
	put_s64(e, ret);
	put_fd(e, a[0]);
	put_upath(e, a[1]);
	put_u32(e, finit_module_flags_to_scap(a[2]));
}
