/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/*
 * scap event builder for the peregrine probe.
 *
 * Layout (little-endian): 26-byte header
 *   u64 ts (ns since epoch), u64 tid, u32 len, u16 type, u32 nparams
 * then nparams u16 lengths, then the parameter bytes.
 *
 * An event is written one of two ways:
 *  - fixed-size events (every parameter has a fixed size: fds, numbers,
 *    empty data) are written in place in a ring buffer reservation of their
 *    exact size (ev_fixed()): no copy, no scratch buffer;
 *  - the others are built in a per-CPU scratch buffer (an ARRAY map indexed
 *    by the CPU number: per-CPU maps are limited to 32 KiB values) and
 *    copied to the ring buffer with bpf_ringbuf_output() once their size is
 *    known (ev_init()).
 * The same put_*() functions write both: in a fixed-size event every
 * position is a compile-time constant, and ev_submit() fails the build when
 * the bytes written differ from the size reserved.
 *
 * In the scratch buffer every write goes to `buf + (pos & SCRATCH_MASK)`
 * with a size of at most SCRATCH_HALF, and the buffer is 2 * SCRATCH_HALF
 * long: the verifier can prove every access in bounds whatever `pos` is.
 * Callers keep `pos` below SCRATCH_HALF (see ev_room()), so masking never
 * changes a position.
 *
 * The events are never announced to the consumer (BPF_RB_NO_WAKEUP): a
 * wakeup costs the producer an irq_work, and the consumer polls instead.
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
	__u64 events;       /* events written to a ring buffer */
	__u64 ring_full;    /* no room in the ring buffer (or no ring buffer): event lost */
	__u64 read_fail;    /* a parameter could not be read (sent empty) */
	__u64 scratch_fail; /* scratch buffer unavailable or overflow: event lost */
};

/* The ring buffers: one per group of CPUs (`cpus_for_each_buffer`), found
 * through this array indexed by CPU number; the loader creates the buffers
 * and fills every slot. The inner definition is only a template: ring
 * buffers of any size fit in the slots. */
struct ringbuf_map {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1); /* set to the number of possible CPUs by the loader */
	__type(key, __u32);
	__array(values, struct ringbuf_map);
} ringbufs SEC(".maps");

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
	__u8 *buf;    /* the scratch buffer, or the ring buffer reservation */
	void *ring;   /* the ring buffer of this CPU */
	__u32 pos;    /* next payload byte */
	__u32 lenpos; /* next parameter-length slot */
	__u32 size;   /* fixed-size events: the bytes reserved; 0 otherwise */
};

/* The ring buffer of the current CPU (NULL: none, the event is lost). */
static __always_inline void *cpu_ring(void) {
	__u32 cpu = bpf_get_smp_processor_id();
	return bpf_map_lookup_elem(&ringbufs, &cpu);
}

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

/* Starts an event of any size in the scratch buffer; 0 on success. */
static __always_inline int ev_init(struct ev *e, __u16 type, __u32 nparams, struct task_struct *t) {
	__u32 cpu = bpf_get_smp_processor_id();
	e->size = 0;
	e->buf = bpf_map_lookup_elem(&scratch, &cpu);
	if(!e->buf) {
		COUNT(scratch_fail);
		return -1;
	}
	e->ring = cpu_ring();
	if(!e->ring) {
		COUNT(ring_full);
		return -1;
	}
	ev_header(e, type, nparams, t);
	return 0;
}

/* Starts an event whose parameters are all of fixed size, `payload` bytes
 * in all, in place in the ring buffer; 0 on success. The event must then
 * be submitted with ev_submit(). */
static __always_inline int ev_fixed(struct ev *e, __u16 type, __u32 nparams, __u32 payload, struct task_struct *t) {
	e->ring = cpu_ring();
	if(!e->ring) {
		COUNT(ring_full);
		return -1;
	}
	e->size = HDR_LEN + 2 * nparams + payload;
	e->buf = bpf_ringbuf_reserve(e->ring, e->size, 0);
	if(!e->buf) {
		COUNT(ring_full);
		return -1;
	}
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

#ifndef EXP_NO_OUTPUT
#define EXP_NO_OUTPUT 0
#endif

/* Called when a fixed-size event writes a different number of bytes than
 * ev_fixed() reserved: the call survives optimisation only then, and the
 * build fails. */
extern void fixed_event_size_mismatch(void)
	__attribute__((error("a fixed-size event wrote a different size than it reserved (see ev_fixed)")));

static __always_inline void ev_submit(struct ev *e) {
	if(e->size) {
		if(e->pos != e->size)
			fixed_event_size_mismatch();
		if(EXP_NO_OUTPUT) {
			bpf_ringbuf_discard(e->buf, BPF_RB_NO_WAKEUP);
			return;
		}
		bpf_ringbuf_submit(e->buf, BPF_RB_NO_WAKEUP);
		COUNT(events);
		return;
	}
	if(EXP_NO_OUTPUT)
		return;
	__u32 len = e->pos;
	if(len > SCRATCH_HALF) {
		COUNT(scratch_fail);
		return;
	}
	*(__u32 *)(e->buf + 16) = len;
	if(bpf_ringbuf_output(e->ring, e->buf, len, BPF_RB_NO_WAKEUP)) {
		COUNT(ring_full);
		return;
	}
	COUNT(events);
}
