/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/*
 * scap event builder for the peregrine probe.
 *
 * Layout (little-endian): 26-byte header
 *   u64 ts (ns since epoch), u64 tid, u32 len, u16 type, u32 nparams
 * then nparams u16 lengths, then the parameter bytes.
 *
 * Transport: one ring per CPU, in two BPF_F_MMAPABLE array maps that the
 * consumer maps into its memory. A CPU's programs never run concurrently
 * (the kernel runs one tracing program at a time per CPU), so each ring
 * has exactly one producer and one consumer and needs no lock: the
 * producer writes an event, then publishes the new `head`; the consumer
 * reads up to `head` and publishes `tail` (see src/cpu_ring.rs). Positions
 * are byte counts that only grow. A CPU's ring is `ring_chunks` chunks of
 * RING_CHUNK bytes (array entries cpu * ring_chunks + i); each entry has
 * RING_SLACK more bytes after its chunk, so an event that starts in a chunk
 * is contiguous even when it runs past the chunk's end. An event is started
 * only when the ring has room for the largest one (or for its exact size),
 * so the producer never overwrites what the consumer has not read.
 *
 * An event is written one of three ways:
 *  - fixed-size events (every parameter has a fixed size: fds, numbers,
 *    empty data) are written in place in the ring at positions known at
 *    compile time (ev_fixed());
 *  - most others are also written in place, their size found as they go
 *    (ev_init());
 *  - the few whose parameters are assembled by bpf_loop() callbacks
 *    (execve, clone: argv, cgroups), which find their buffer through a map
 *    lookup, are built in a per-CPU scratch buffer (an ARRAY map indexed
 *    by the CPU number) and copied into the ring once complete
 *    (ev_init_scratch()).
 * The same put_*() functions write all three: in a fixed-size event every
 * position is a compile-time constant, and ev_submit() fails the build when
 * the bytes written differ from the size reserved.
 *
 * Every write goes to `buf + (pos & SCRATCH_MASK)` with a size of at most
 * SCRATCH_HALF, and the space after `buf` is at least 2 * SCRATCH_HALF
 * long: the verifier can prove every access in bounds whatever `pos` is.
 * Callers keep `pos` below SCRATCH_HALF (see ev_room()), so masking never
 * changes a position.
 *
 * Nothing wakes the consumer: it polls.
 */
#pragma once

#define SCRATCH_HALF (64 * 1024)
#define SCRATCH_MASK (SCRATCH_HALF - 1)
#define HDR_LEN 26

/* Size caps for variable-size parameters. */
#define MAX_PATH 4096
#define MAX_ARGS 4096 /* args and env byte arrays */
#define MAX_EXE 4096
#define MAX_ARGV 32 /* argv/envp entries read from user arrays */
#define TASK_COMM_LEN 16

/* Event codes (PPME_*), from peregrine-event's generated table. */
#define PPME_SYSCALL_OPEN_X 3
#define PPME_SYSCALL_CLOSE_X 5
#define PPME_PROCEXIT_1_E 186
#define PPME_SOCKET_SOCKET_X 19
#define PPME_SOCKET_BIND_X 21
#define PPME_SOCKET_CONNECT_X 23
#define PPME_SYSCALL_CREAT_X 59
#define PPME_SYSCALL_CLONE_20_X 223
#define PPME_SYSCALL_FORK_20_X 225
#define PPME_SYSCALL_VFORK_20_X 227
#define PPME_SOCKET_ACCEPT_5_X 247
#define PPME_SYSCALL_EXECVE_19_X 293
#define PPME_SYSCALL_OPENAT_2_X 307
#define PPME_SYSCALL_OPENAT2_X 327
#define PPME_SYSCALL_EXECVEAT_X 331
#define PPME_SYSCALL_CLONE3_X 335
#define PPME_SYSCALL_DUP2_X 363
#define PPME_SYSCALL_DUP3_X 365
#define PPME_SYSCALL_DUP_1_X 367
#define PPME_SOCKET_ACCEPT4_6_X 389
#define PPME_SOCKET_LISTEN_X 25
#define PPME_SOCKET_RECVFROM_X 35
#define PPME_SOCKET_RECVMSG_X 53
#define PPME_SOCKET_SENDMSG_X 49
#define PPME_SOCKET_SENDTO_X 31
#define PPME_SOCKET_SOCKETPAIR_X 43
#define PPME_SYSCALL_BPF_2_X 369
#define PPME_SYSCALL_CAPSET_X 353
#define PPME_SYSCALL_CHDIR_X 95
#define PPME_SYSCALL_CHMOD_X 315
#define PPME_SYSCALL_CHOWN_X 379
#define PPME_SYSCALL_CHROOT_X 267
#define PPME_SYSCALL_FCHDIR_X 97
#define PPME_SYSCALL_FCHMODAT_X 313
#define PPME_SYSCALL_FCHMOD_X 317
#define PPME_SYSCALL_FCHOWNAT_X 385
#define PPME_SYSCALL_FCHOWN_X 383
#define PPME_SYSCALL_FCNTL_X 151
#define PPME_SYSCALL_FINIT_MODULE_X 413
#define PPME_SYSCALL_INIT_MODULE_X 411
#define PPME_SYSCALL_KILL_X 129
#define PPME_SYSCALL_LCHOWN_X 381
#define PPME_SYSCALL_LINKAT_2_X 311
#define PPME_SYSCALL_LINK_2_X 309
#define PPME_SYSCALL_MEMFD_CREATE_X 405
#define PPME_SYSCALL_MKDIRAT_X 305
#define PPME_SYSCALL_MKDIR_2_X 277
#define PPME_SYSCALL_MMAP_X 161
#define PPME_SYSCALL_MOUNT_X 257
#define PPME_SYSCALL_MPROTECT_X 329
#define PPME_SYSCALL_PIPE2_X 393
#define PPME_SYSCALL_PIPE_X 61
#define PPME_SYSCALL_PRCTL_X 401
#define PPME_SYSCALL_PREADV_X 121
#define PPME_SYSCALL_PREAD_X 113
#define PPME_SYSCALL_PTRACE_X 169
#define PPME_SYSCALL_PWRITEV_X 123
#define PPME_SYSCALL_PWRITE_X 115
#define PPME_SYSCALL_READV_X 117
#define PPME_SYSCALL_READ_X 7
#define PPME_SYSCALL_RENAMEAT2_X 319
#define PPME_SYSCALL_RENAMEAT_X 177
#define PPME_SYSCALL_RENAME_X 175
#define PPME_SYSCALL_RMDIR_2_X 279
#define PPME_SYSCALL_SETGID_X 201
#define PPME_SYSCALL_SETNS_X 241
#define PPME_SYSCALL_SETRESGID_X 195
#define PPME_SYSCALL_SETRESUID_X 193
#define PPME_SYSCALL_SETUID_X 199
#define PPME_SYSCALL_SPLICE_X 167
#define PPME_SYSCALL_SYMLINKAT_X 181
#define PPME_SYSCALL_SYMLINK_X 179
#define PPME_SYSCALL_TGKILL_X 133
#define PPME_SYSCALL_TKILL_X 131
#define PPME_SYSCALL_UMOUNT2_X 391
#define PPME_SYSCALL_UNLINKAT_2_X 303
#define PPME_SYSCALL_UNLINK_2_X 301
#define PPME_SYSCALL_UNSHARE_X 285
#define PPME_SYSCALL_USERFAULTFD_X 321
#define PPME_SYSCALL_WRITEV_X 119
#define PPME_SYSCALL_WRITE_X 9

/* Drop/diagnostic counters, one slot each in the per-CPU `counters` map.
 * Keep in sync with `DropCounters` in src/lib.rs. */
struct counters {
	__u64 events;       /* events written to a ring */
	__u64 ring_full;    /* no room in the ring (or no ring): event lost */
	__u64 read_fail;    /* a parameter could not be read (sent empty) */
	__u64 scratch_fail; /* scratch buffer unavailable or overflow: event lost */
};

/* Ring geometry; keep in sync with src/cpu_ring.rs. */
#define RING_CHUNK_SHIFT 20
#define RING_CHUNK (1 << RING_CHUNK_SHIFT)
#define RING_SLACK (2 * SCRATCH_HALF)

/* A ring's positions, one per CPU: each on its own cache line, since the
 * producer writes `head` and the consumer `tail`. */
struct ring_ctl {
	__u64 head;
	__u64 _head_line[7];
	__u64 tail;
	__u64 _tail_line[7];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1); /* set to the number of possible CPUs by the loader */
	__type(key, __u32);
	__type(value, struct ring_ctl);
} ring_ctl SEC(".maps");

struct ring_chunk {
	__u8 b[RING_CHUNK + RING_SLACK];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1); /* set to CPUs * ring_chunks by the loader */
	__type(key, __u32);
	__type(value, struct ring_chunk);
} ring_data SEC(".maps");

/* Chunks in each CPU's ring, a power of two; set by the loader. */
const volatile __u32 ring_chunks = 1;

struct scratch {
	__u8 buf[SCRATCH_HALF * 2];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* set to the number of possible CPUs by the loader */
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct counters);
} counters SEC(".maps");

/* realtime - boottime, set by the loader before load. */
const volatile __u64 boot_offset_ns = 0;

static __always_inline struct counters *ctrs(void) {
	__u32 zero = 0;
	return bpf_map_lookup_elem(&counters, &zero);
}

#define COUNT(field)                   \
	do {                               \
		struct counters *__c = ctrs(); \
		if(__c)                        \
			__c->field++;              \
	} while(0)

struct ev {
	__u8 *buf;             /* where the event is built: its ring slot, or the scratch buffer */
	struct ring_ctl *ctl;  /* this CPU's ring */
	__u64 head;            /* the ring position the event starts at */
	__u32 pos;    /* next payload byte */
	__u32 lenpos; /* next parameter-length slot */
	__u32 size;   /* fixed-size events: the bytes reserved; 0 otherwise */
	__u8 scratch; /* built in the scratch buffer, copied at submit */
};

/* Header of an event of task `t` (its tid: the pid in the initial pid
 * namespace, loaded from the task rather than asked of a helper). `len` is
 * written by ev_fixed() or ev_submit(). */
static __always_inline void ev_header(struct ev *e, __u16 type, __u32 nparams, struct task_struct *t) {
	__u8 *b = e->buf;
	*(__u64 *)b = bpf_ktime_get_boot_ns() + boot_offset_ns;
	*(__u64 *)(b + 8) = (__u32)t->pid;
	*(__u16 *)(b + 20) = type;
	*(__u32 *)(b + 22) = nparams;
	e->lenpos = HDR_LEN;
	e->pos = HDR_LEN + 2 * nparams;
}

/* Finds this CPU's ring and, if it has room for `room` bytes, the place
 * of the next event in it (e->buf); 0 on success, the loss counted
 * otherwise. */
static __always_inline int ring_slot(struct ev *e, __u32 room) {
	/* Keys are locals: the address of `e` must not escape, or the
	 * compiler could no longer prove the sizes of fixed events. */
	__u32 cpu = bpf_get_smp_processor_id();
	struct ring_ctl *ctl = bpf_map_lookup_elem(&ring_ctl, &cpu);
	if(!ctl) {
		COUNT(ring_full);
		return -1;
	}
	__u64 head = ctl->head;
	__u64 tail = *(volatile __u64 *)&ctl->tail;
	__u32 chunks = ring_chunks;
	if(head - tail + room > (__u64)chunks << RING_CHUNK_SHIFT) {
		COUNT(ring_full);
		return -1;
	}
	__u32 entry = cpu * chunks + ((__u32)(head >> RING_CHUNK_SHIFT) & (chunks - 1));
	struct ring_chunk *c = bpf_map_lookup_elem(&ring_data, &entry);
	if(!c) {
		COUNT(ring_full);
		return -1;
	}
	e->ctl = ctl;
	e->head = head;
	e->buf = c->b + (head & (RING_CHUNK - 1));
	return 0;
}

/* Starts an event of any size in place in the ring; 0 on success. */
static __always_inline int ev_init(struct ev *e, __u16 type, __u32 nparams, struct task_struct *t) {
	e->size = 0;
	e->scratch = 0;
	if(ring_slot(e, SCRATCH_HALF))
		return -1;
	ev_header(e, type, nparams, t);
	return 0;
}

/* Starts an event of any size in the scratch buffer, for events whose
 * parameters bpf_loop() callbacks write there; 0 on success. */
static __always_inline int ev_init_scratch(struct ev *e, __u16 type, __u32 nparams, struct task_struct *t) {
	__u32 cpu = bpf_get_smp_processor_id();
	e->size = 0;
	e->scratch = 1;
	e->buf = bpf_map_lookup_elem(&scratch, &cpu);
	if(!e->buf) {
		COUNT(scratch_fail);
		return -1;
	}
	ev_header(e, type, nparams, t);
	return 0;
}

/* Starts an event whose parameters are all of fixed size, `payload` bytes
 * in all, in place in the ring; 0 on success. The event must then be
 * submitted with ev_submit(). */
static __always_inline int ev_fixed(struct ev *e, __u16 type, __u32 nparams, __u32 payload, struct task_struct *t) {
	e->size = HDR_LEN + 2 * nparams + payload;
	e->scratch = 0;
	if(ring_slot(e, e->size))
		return -1;
	ev_header(e, type, nparams, t);
	*(__u32 *)(e->buf + 16) = e->size;
	return 0;
}

static __always_inline void put_len(struct ev *e, __u16 len) {
	*(__u16 *)(e->buf + (e->lenpos & SCRATCH_MASK)) = len;
	e->lenpos += 2;
}

/* True when `n` more bytes fit below SCRATCH_HALF. */
static __always_inline int ev_room(struct ev *e, __u32 n) {
	return e->pos + n <= SCRATCH_HALF;
}

static __always_inline void put_empty(struct ev *e) {
	put_len(e, 0);
}

#define DEFINE_PUT(name, type)                                     \
	static __always_inline void put_##name(struct ev *e, type v) { \
		*(type *)(e->buf + (e->pos & SCRATCH_MASK)) = v;           \
		e->pos += sizeof(type);                                    \
		put_len(e, sizeof(type));                                  \
	}
DEFINE_PUT(u8, __u8)
DEFINE_PUT(u16, __u16)
DEFINE_PUT(u32, __u32)
DEFINE_PUT(u64, __u64)
DEFINE_PUT(s64, __s64)
DEFINE_PUT(s32, __s32)

/* Raw bytes appended to the current parameter (no length slot). */
#define DEFINE_RAW(name, type)                                     \
	static __always_inline void raw_##name(struct ev *e, type v) { \
		*(type *)(e->buf + (e->pos & SCRATCH_MASK)) = v;           \
		e->pos += sizeof(type);                                    \
	}
DEFINE_RAW(u8, __u8)
DEFINE_RAW(u16, __u16)
DEFINE_RAW(u32, __u32)
DEFINE_RAW(u64, __u64)

/* An `int` argument (a pid, say), as the int64 parameter scap uses. */
static __always_inline void put_int(struct ev *e, __u64 arg) {
	put_s64(e, (__s32)arg);
}

/* A file descriptor argument (an `int`), as an int64 parameter. */
static __always_inline void put_fd(struct ev *e, __u64 arg) {
	put_int(e, arg);
}

#define USER 0
#define KERNEL 1

/* NUL-terminated string parameter (charbuf/fspath). Returns the stored
 * length (with the NUL), 0 when empty. */
static __always_inline __u32 put_str(struct ev *e, const void *p, __u32 max, int kernel) {
	long n = 0;
	if(!p || !ev_room(e, max)) {
		put_empty(e);
		return 0;
	}
	if(kernel)
		n = bpf_probe_read_kernel_str(e->buf + (e->pos & SCRATCH_MASK), max, p);
	else
		n = bpf_probe_read_user_str(e->buf + (e->pos & SCRATCH_MASK), max, p);
	if(n <= 0) {
		COUNT(read_fail);
		put_empty(e);
		return 0;
	}
	e->pos += n;
	put_len(e, n);
	return n;
}

/* A path argument (user string) as a charbuf/fspath parameter. */
static __always_inline void put_upath(struct ev *e, __u64 arg) {
	put_str(e, (const void *)arg, MAX_PATH, USER);
}

/* Byte-array parameter of `len` bytes (capped at MAX_ARGS) from user memory,
 * e.g. NUL-separated args or env. A last byte that is not NUL is replaced by
 * one so the array always ends with a terminated string. */
static __always_inline void put_user_bytes(struct ev *e, const void *p, __u64 len) {
	if(!p || len == 0 || !ev_room(e, MAX_ARGS)) {
		put_empty(e);
		return;
	}
	__u32 n = len > MAX_ARGS ? MAX_ARGS : (__u32)len;
	barrier_var(n);
	if(n > MAX_ARGS)
		n = MAX_ARGS;
	if(bpf_probe_read_user(e->buf + (e->pos & SCRATCH_MASK), n, p)) {
		COUNT(read_fail);
		put_empty(e);
		return;
	}
	e->buf[(e->pos + n - 1) & SCRATCH_MASK] = 0;
	e->pos += n;
	put_len(e, n);
}

/* Called when a fixed-size event writes a different number of bytes than
 * ev_fixed() reserved: the call survives optimisation only then, and the
 * build fails. */
extern void fixed_event_size_mismatch(void)
	__attribute__((error("a fixed-size event wrote a different size than it reserved (see ev_fixed)")));

/* Makes the `len` bytes at the event's ring position visible to the
 * consumer: the bytes are stored before `head` (x86 keeps stores in
 * order; the barrier keeps the compiler from moving them). */
static __always_inline void ring_publish(struct ev *e, __u32 len) {
	asm volatile("" ::: "memory");
	*(volatile __u64 *)&e->ctl->head = e->head + len;
	COUNT(events);
}

/* Copies an event built in the scratch buffer into the ring. */
static __always_inline void submit_scratch(struct ev *e, __u32 len) {
	__u8 *src = e->buf;
	if(ring_slot(e, len))
		return;
	if(bpf_probe_read_kernel(e->buf, len & (SCRATCH_HALF * 2 - 1), src)) {
		COUNT(scratch_fail);
		return;
	}
	ring_publish(e, len);
}

static __always_inline void ev_submit(struct ev *e) {
	if(e->size) {
		if(e->pos != e->size)
			fixed_event_size_mismatch();
		ring_publish(e, e->size);
		return;
	}
	__u32 len = e->pos;
	if(len > SCRATCH_HALF) {
		COUNT(scratch_fail);
		return;
	}
	*(__u32 *)(e->buf + 16) = len;
	if(e->scratch)
		submit_scratch(e, len);
	else
		ring_publish(e, len);
}
