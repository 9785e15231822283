/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/* Reading task, file and socket state with CO-RE reads. */
#pragma once

#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define FMODE_CREATED 0x100000
#define RLIMIT_NOFILE 7
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define PF_KTHREAD 0x00200000
#define EINPROGRESS 115
#define AT_FDCWD -100
#define PPM_AT_FDCWD -100

/* MM_* counters of mm->rss_stat */
#define MM_FILEPAGES 0
#define MM_ANONPAGES 1
#define MM_SWAPENTS 2
#define MM_SHMEMPAGES 3

/* Path walk limits. */
#define PATH_COMPONENTS 40
#define NAME_MAX_LEN 255

struct path_walk {
	struct dentry *dentry;
	struct mount *mnt;
	struct dentry *mnt_root;
	__u32 pos; /* the string is buf[pos .. MAX_PATH - 1) */
};

/* The walk state lives in the map, not on the stack: values read from a
 * map are unknown to the verifier, so the bpf_loop callback converges at
 * once instead of being re-verified for every possible `pos`. */
struct argv_walk {
	__u64 argv; /* user pointer to the next entry */
	__u32 pos;  /* next byte in the scratch buffer */
	__u32 end;  /* stop once pos passes this */
};

/* State of the cgroups parameter's bpf_loop (see put_cgroups()). */
struct cg_walk {
	__u64 cs;   /* struct css_set * */
	__u64 prev; /* cgroup of the previous subsystem */
	__u32 pos;  /* next byte in the scratch buffer */
	__u32 end;  /* stop once pos passes this */
	__u32 prev_start;
	__u32 prev_len;
};

struct pathbuf {
	struct path_walk w;
	struct argv_walk a;
	struct cg_walk c;
	char buf[MAX_PATH + NAME_MAX_LEN + 1];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pathbuf);
} pathbufs SEC(".maps");

/* The current task as a BTF pointer: fields can be loaded directly (the
 * verifier turns the loads into fault-safe PROBE_MEM loads), which costs
 * far less than one bpf_probe_read_kernel() call per field. */
static __always_inline struct task_struct *cur(void) {
	return bpf_get_current_task_btf();
}

static __always_inline __s64 task_ppid(struct task_struct *t) {
	return BPF_CORE_READ(t, real_parent, tgid);
}

/* numbers[level].nr of a struct pid. `numbers` is a flexible array, which
 * CO-RE relocations cannot index: compute the address from the offsets. */
static __always_inline __s64 pid_nr_at(struct pid *p, unsigned int level) {
	if(!p)
		return 0;
	int nr = 0;
	char *a = (char *)p + bpf_core_field_offset(struct pid, numbers) +
	          (level & 31) * bpf_core_type_size(struct upid) + bpf_core_field_offset(struct upid, nr);
	bpf_probe_read_kernel(&nr, sizeof(nr), a);
	return nr;
}

/* The pid namespace a pid was created in (numbers[level].ns). */
static __always_inline struct pid_namespace *pid_ns_of(struct pid *p) {
	if(!p)
		return NULL;
	unsigned int level = BPF_CORE_READ(p, level);
	struct pid_namespace *ns = NULL;
	char *a = (char *)p + bpf_core_field_offset(struct pid, numbers) + (level & 31) * bpf_core_type_size(struct upid) +
	          bpf_core_field_offset(struct upid, ns);
	bpf_probe_read_kernel(&ns, sizeof(ns), a);
	return ns;
}

/* pid number in the namespace the pid was created in (the "v" numbers). */
static __always_inline __s64 pid_vnr(struct pid *p) {
	if(!p)
		return 0;
	return pid_nr_at(p, BPF_CORE_READ(p, level));
}

/* pid number in the initial namespace. */
static __always_inline __s64 pid_nr0(struct pid *p) {
	return pid_nr_at(p, 0);
}

static __always_inline __u32 pid_ns_level(struct task_struct *t) {
	return BPF_CORE_READ(t, thread_pid, level);
}

static __always_inline struct pid *task_pgrp(struct task_struct *t) {
	return BPF_CORE_READ(t, signal, pids[PIDTYPE_PGID]);
}

static __always_inline __u64 task_fdlimit(struct task_struct *t) {
	return BPF_CORE_READ(t, signal, rlim[RLIMIT_NOFILE].rlim_cur);
}

static __always_inline __u32 task_tty(struct task_struct *t) {
	struct tty_struct *tty = BPF_CORE_READ(t, signal, tty);
	if(!tty)
		return 0;
	int index = BPF_CORE_READ(tty, index);
	int major = BPF_CORE_READ(tty, driver, major);
	int minor = BPF_CORE_READ(tty, driver, minor_start) + index;
	/* Old-style 32-bit dev_t encoding, as the drivers send it. */
	return (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12);
}

static __always_inline __u32 task_loginuid(struct task_struct *t) {
	__u32 v = 0xffffffff;
	if(bpf_core_field_exists(t->loginuid))
		BPF_CORE_READ_INTO(&v, t, loginuid.val);
	return v;
}

/* Page counts of mm->rss_stat (percpu_counter array since 6.2). */
static __always_inline __u64 mm_counter(struct mm_struct *mm, int i) {
	__s64 v = 0;
	bpf_core_read(&v, sizeof(v), &mm->rss_stat[i & 3].count);
	return v < 0 ? 0 : v;
}

/*
 * bpf_rdonly_cast(obj, btf_id): `obj` as a read-only pointer to the kernel
 * type `btf_id`, whose fields then load directly (fault-safe PROBE_MEM
 * loads, a few instructions each, instead of a bpf_probe_read_kernel()
 * call). The verifier replaces the call by a register move, so it costs
 * nothing at run time.
 *
 * It is a kfunc, and the loader (aya) does not resolve kfunc calls: the
 * call is emitted here as a raw instruction whose immediate is the marker
 * KFUNC_RDONLY_CAST, and the loader writes the kfunc's id in vmlinux BTF
 * in its place before loading (see `kfunc.rs`). The encoding is
 * BPF_JMP | BPF_CALL (0x85) with src_reg BPF_PSEUDO_KFUNC_CALL (2).
 */
#define KFUNC_RDONLY_CAST 0x7ffe0001
#define KFUNC_CALL_INSN(marker) ".quad (" #marker " << 32) | 0x2085"
#define KFUNC_CALL_INSN_(marker) KFUNC_CALL_INSN(marker)

static __always_inline void *rdonly_cast(const void *obj, __u32 btf_id) {
	void *res;
	asm volatile("r1 = %[obj]\n\t"
	             "r2 = %[id]\n\t" KFUNC_CALL_INSN_(KFUNC_RDONLY_CAST) "\n\t"
	             "%[res] = r0"
	             : [res] "=r"(res)
	             : [obj] "r"(obj), [id] "r"(btf_id)
	             : "r0", "r1", "r2", "r3", "r4", "r5", "memory");
	return res;
}

/* `p` as a pointer to the kernel's `type`, for direct loads. */
#define CAST(p, type) ((type *)rdonly_cast((p), bpf_core_type_id_kernel(type)))

/* The pointer stored at kernel address `slot` (a direct load: the slot is
 * read as the first field of a struct that starts with a pointer). */
static __always_inline void *load_ptr(const void *slot) {
	return CAST(slot, struct callback_head)->next;
}

/* The file behind `fd` of task `t` (a BTF pointer), NULL if none; its
 * fields load directly. */
static __always_inline struct file *fd_file(struct task_struct *t, __s64 fd) {
	if(fd < 0)
		return NULL;
	struct fdtable *fdt = t->files->fdt;
	if(!fdt || fd >= fdt->max_fds)
		return NULL;
	/* `fd` is a pointer to pointers: the verifier sees a plain number. */
	struct file **fds = fdt->fd;
	struct file *f = load_ptr(&fds[fd]);
	return f ? CAST(f, struct file) : NULL;
}

static __always_inline struct socket *file_socket(struct file *f) {
	if(!f)
		return NULL;
	umode_t mode = BPF_CORE_READ(f, f_inode, i_mode);
	if((mode & S_IFMT) != S_IFSOCK)
		return NULL;
	return BPF_CORE_READ(f, private_data);
}

static __always_inline __u64 task_caps(struct task_struct *t, int which) {
	const struct cred *c = BPF_CORE_READ(t, cred);
	kernel_cap_t cap = {};
	if(which == 0)
		BPF_CORE_READ_INTO(&cap, c, cap_inheritable);
	else if(which == 1)
		BPF_CORE_READ_INTO(&cap, c, cap_permitted);
	else
		BPF_CORE_READ_INTO(&cap, c, cap_effective);
	__u64 v = 0;
	__builtin_memcpy(&v, &cap, sizeof(v) < sizeof(cap) ? sizeof(v) : sizeof(cap));
	/* PPM_CAP_x == 1 << CAP_x for the 41 capabilities the schema knows. */
	return v & ((1ULL << 41) - 1);
}

static __always_inline __u64 timespec_ns(__s64 sec, __s64 nsec) {
	return (__u64)sec * 1000000000ULL + (__u64)nsec;
}

/* One step of the walk up (bpf_loop callback): 0 to go on, 1 to stop. */
static long path_step(__u32 i, void *ctx) {
	__u32 zero = 0;
	struct pathbuf *pb = bpf_map_lookup_elem(&pathbufs, &zero);
	if(!pb)
		return 1;
	struct path_walk *w = &pb->w;
	struct dentry *dentry = w->dentry;
	if(dentry == w->mnt_root) {
		struct mount *mnt = w->mnt;
		struct mount *parent = BPF_CORE_READ(mnt, mnt_parent);
		if(parent == mnt || !parent)
			return 1;
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = parent;
		w->mnt_root = BPF_CORE_READ(parent, mnt.mnt_root);
		return 0;
	}
	struct dentry *up = BPF_CORE_READ(dentry, d_parent);
	if(up == dentry || !up)
		return 1;
	struct qstr q = BPF_CORE_READ(dentry, d_name);
	__u32 len = q.len;
	if(len > NAME_MAX_LEN)
		len = NAME_MAX_LEN;
	__u32 pos = w->pos;
	if(len + 2 > pos || pos > MAX_PATH - 1)
		return 1;
	pos -= len;
	bpf_probe_read_kernel(&pb->buf[pos & (MAX_PATH - 1)], len & NAME_MAX_LEN, q.name);
	pos -= 1;
	pb->buf[pos & (MAX_PATH - 1)] = '/';
	w->pos = pos;
	w->dentry = up;
	return 0;
}

/*
 * Stores the path of (dentry, vfsmount) as a charbuf parameter, walking up
 * the dentry tree and across mounts (at most PATH_COMPONENTS steps; deeper
 * paths keep their last components). The path is assembled backwards in a
 * per-CPU buffer, then copied into the event. The walk runs in bpf_loop()
 * so the verifier checks one step, not every iteration.
 */
static __always_inline void put_path(struct ev *e, struct dentry *dentry, struct vfsmount *vfsmnt) {
	__u32 zero = 0;
	struct pathbuf *pb = bpf_map_lookup_elem(&pathbufs, &zero);
	if(!pb || !dentry || !vfsmnt || !ev_room(e, MAX_PATH)) {
		put_empty(e);
		return;
	}
	pb->w.dentry = dentry;
	pb->w.mnt = container_of(vfsmnt, struct mount, mnt);
	pb->w.mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	pb->w.pos = MAX_PATH - 1;
	pb->buf[MAX_PATH - 1] = 0;
	bpf_loop(PATH_COMPONENTS, path_step, NULL, 0);
	__u32 pos = pb->w.pos;
	if(pos > MAX_PATH - 1) {
		put_empty(e);
		return;
	}
	if(pos == MAX_PATH - 1) {
		pos -= 1;
		pb->buf[pos & (MAX_PATH - 1)] = '/';
	}
	__u32 n = MAX_PATH - pos; /* with the NUL */
	barrier_var(n);
	if(n > MAX_PATH || n == 0) {
		put_empty(e);
		return;
	}
	if(bpf_probe_read_kernel(e->buf + (e->pos & SCRATCH_MASK), n, &pb->buf[pos & (MAX_PATH - 1)])) {
		COUNT(read_fail);
		put_empty(e);
		return;
	}
	e->pos += n;
	put_len(e, n);
}

static __always_inline void put_task_cwd(struct ev *e, struct task_struct *t) {
	struct path p = {};
	BPF_CORE_READ_INTO(&p, t, fs, pwd);
	put_path(e, p.dentry, p.mnt);
}

static __always_inline struct file *task_exe_file(struct task_struct *t) {
	return BPF_CORE_READ(t, mm, exe_file);
}
