/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/* Linux (x86_64) flag values and their scap (PPM_*) encodings, as listed in
 * the event schema's flag tables (peregrine-event's generated.rs). */
#pragma once

/* open(2) flags, x86_64 values */
#define O_ACCMODE 00000003
#define O_WRONLY 00000001
#define O_RDWR 00000002
#define O_CREAT 00000100
#define O_EXCL 00000200
#define O_TRUNC 00001000
#define O_APPEND 00002000
#define O_NONBLOCK 00004000
#define O_DSYNC 00010000
#define O_DIRECT 00040000
#define O_LARGEFILE 00100000
#define O_DIRECTORY 00200000
#define O_CLOEXEC 02000000
#define __O_SYNC 04000000
#define __O_TMPFILE 020000000

#define PPM_O_RDONLY (1 << 0)
#define PPM_O_WRONLY (1 << 1)
#define PPM_O_RDWR (PPM_O_RDONLY | PPM_O_WRONLY)
#define PPM_O_CREAT (1 << 2)
#define PPM_O_APPEND (1 << 3)
#define PPM_O_DSYNC (1 << 4)
#define PPM_O_EXCL (1 << 5)
#define PPM_O_NONBLOCK (1 << 6)
#define PPM_O_SYNC (1 << 7)
#define PPM_O_TRUNC (1 << 8)
#define PPM_O_DIRECT (1 << 9)
#define PPM_O_DIRECTORY (1 << 10)
#define PPM_O_LARGEFILE (1 << 11)
#define PPM_O_CLOEXEC (1 << 12)
#define PPM_O_TMPFILE (1 << 13)
#define PPM_O_F_CREATED (1 << 14)

static __always_inline __u32 open_flags_to_scap(__u64 f) {
	__u32 r;
	switch(f & O_ACCMODE) {
	case O_WRONLY:
		r = PPM_O_WRONLY;
		break;
	case O_RDWR:
		r = PPM_O_RDWR;
		break;
	default:
		r = PPM_O_RDONLY;
		break;
	}
	if(f & O_CREAT)
		r |= PPM_O_CREAT;
	if(f & __O_TMPFILE)
		r |= PPM_O_TMPFILE;
	if(f & O_APPEND)
		r |= PPM_O_APPEND;
	if(f & O_DSYNC)
		r |= PPM_O_DSYNC;
	if(f & O_EXCL)
		r |= PPM_O_EXCL;
	if(f & O_NONBLOCK)
		r |= PPM_O_NONBLOCK;
	if(f & __O_SYNC)
		r |= PPM_O_SYNC;
	if(f & O_TRUNC)
		r |= PPM_O_TRUNC;
	if(f & O_DIRECT)
		r |= PPM_O_DIRECT;
	if(f & O_DIRECTORY)
		r |= PPM_O_DIRECTORY;
	if(f & O_LARGEFILE)
		r |= PPM_O_LARGEFILE;
	if(f & O_CLOEXEC)
		r |= PPM_O_CLOEXEC;
	return r;
}

/* PPM_S_* equal the S_* permission bits; the mode only counts when the
 * call can create a file. */
static __always_inline __u32 open_mode_to_scap(__u64 flags, __u64 mode) {
	if(!(flags & (O_CREAT | __O_TMPFILE)))
		return 0;
	return mode & 07777;
}

/* openat2 RESOLVE_* -> PPM_RESOLVE_* */
static __always_inline __u32 resolve_to_scap(__u64 f) {
	__u32 r = 0;
	if(f & 0x01) /* RESOLVE_NO_XDEV */
		r |= 1 << 4;
	if(f & 0x02) /* RESOLVE_NO_MAGICLINKS */
		r |= 1 << 2;
	if(f & 0x04) /* RESOLVE_NO_SYMLINKS */
		r |= 1 << 3;
	if(f & 0x08) /* RESOLVE_BENEATH */
		r |= 1 << 0;
	if(f & 0x10) /* RESOLVE_IN_ROOT */
		r |= 1 << 1;
	if(f & 0x20) /* RESOLVE_CACHED */
		r |= 1 << 5;
	return r;
}

/* SOCK_NONBLOCK/SOCK_CLOEXEC (== O_NONBLOCK/O_CLOEXEC) */
static __always_inline __u32 socket_flags_to_scap(__u64 f) {
	__u32 r = 0;
	if(f & O_NONBLOCK)
		r |= PPM_O_NONBLOCK;
	if(f & O_CLOEXEC)
		r |= PPM_O_CLOEXEC;
	return r;
}

/* clone(2) flags */
#define CLONE_VM 0x00000100
#define CLONE_FS 0x00000200
#define CLONE_FILES 0x00000400
#define CLONE_SIGHAND 0x00000800
#define CLONE_PTRACE 0x00002000
#define CLONE_VFORK 0x00004000
#define CLONE_PARENT 0x00008000
#define CLONE_THREAD 0x00010000
#define CLONE_NEWNS 0x00020000
#define CLONE_SYSVSEM 0x00040000
#define CLONE_SETTLS 0x00080000
#define CLONE_PARENT_SETTID 0x00100000
#define CLONE_CHILD_CLEARTID 0x00200000
#define CLONE_UNTRACED 0x00800000
#define CLONE_CHILD_SETTID 0x01000000
#define CLONE_NEWCGROUP 0x02000000
#define CLONE_NEWUTS 0x04000000
#define CLONE_NEWIPC 0x08000000
#define CLONE_NEWUSER 0x10000000
#define CLONE_NEWPID 0x20000000
#define CLONE_NEWNET 0x40000000
#define CLONE_IO 0x80000000ULL

#define PPM_CL_CLONE_FILES (1 << 0)
#define PPM_CL_CLONE_FS (1 << 1)
#define PPM_CL_CLONE_IO (1 << 2)
#define PPM_CL_CLONE_NEWIPC (1 << 3)
#define PPM_CL_CLONE_NEWNET (1 << 4)
#define PPM_CL_CLONE_NEWNS (1 << 5)
#define PPM_CL_CLONE_NEWPID (1 << 6)
#define PPM_CL_CLONE_NEWUTS (1 << 7)
#define PPM_CL_CLONE_PARENT (1 << 8)
#define PPM_CL_CLONE_PARENT_SETTID (1 << 9)
#define PPM_CL_CLONE_PTRACE (1 << 10)
#define PPM_CL_CLONE_SIGHAND (1 << 11)
#define PPM_CL_CLONE_SYSVSEM (1 << 12)
#define PPM_CL_CLONE_THREAD (1 << 13)
#define PPM_CL_CLONE_UNTRACED (1 << 14)
#define PPM_CL_CLONE_VM (1 << 15)
#define PPM_CL_CLONE_NEWUSER (1 << 20)
#define PPM_CL_CLONE_CHILD_CLEARTID (1 << 23)
#define PPM_CL_CLONE_CHILD_SETTID (1 << 24)
#define PPM_CL_CLONE_SETTLS (1 << 25)
#define PPM_CL_CLONE_VFORK (1 << 27)
#define PPM_CL_CLONE_NEWCGROUP (1 << 28)
#define PPM_CL_CHILD_IN_PIDNS (1 << 29)

#define MAP_FLAG(from, to) \
	if(f & (from))         \
		r |= (to);

static __always_inline __u32 clone_flags_to_scap(__u64 f) {
	__u32 r = 0;
	MAP_FLAG(CLONE_FILES, PPM_CL_CLONE_FILES)
	MAP_FLAG(CLONE_FS, PPM_CL_CLONE_FS)
	MAP_FLAG(CLONE_IO, PPM_CL_CLONE_IO)
	MAP_FLAG(CLONE_NEWIPC, PPM_CL_CLONE_NEWIPC)
	MAP_FLAG(CLONE_NEWNET, PPM_CL_CLONE_NEWNET)
	MAP_FLAG(CLONE_NEWNS, PPM_CL_CLONE_NEWNS)
	MAP_FLAG(CLONE_NEWPID, PPM_CL_CLONE_NEWPID)
	MAP_FLAG(CLONE_NEWUTS, PPM_CL_CLONE_NEWUTS)
	MAP_FLAG(CLONE_PARENT_SETTID, PPM_CL_CLONE_PARENT_SETTID)
	MAP_FLAG(CLONE_PARENT, PPM_CL_CLONE_PARENT)
	MAP_FLAG(CLONE_PTRACE, PPM_CL_CLONE_PTRACE)
	MAP_FLAG(CLONE_SIGHAND, PPM_CL_CLONE_SIGHAND)
	MAP_FLAG(CLONE_SYSVSEM, PPM_CL_CLONE_SYSVSEM)
	MAP_FLAG(CLONE_THREAD, PPM_CL_CLONE_THREAD)
	MAP_FLAG(CLONE_UNTRACED, PPM_CL_CLONE_UNTRACED)
	MAP_FLAG(CLONE_VM, PPM_CL_CLONE_VM)
	MAP_FLAG(CLONE_NEWUSER, PPM_CL_CLONE_NEWUSER)
	MAP_FLAG(CLONE_CHILD_CLEARTID, PPM_CL_CLONE_CHILD_CLEARTID)
	MAP_FLAG(CLONE_CHILD_SETTID, PPM_CL_CLONE_CHILD_SETTID)
	MAP_FLAG(CLONE_SETTLS, PPM_CL_CLONE_SETTLS)
	MAP_FLAG(CLONE_VFORK, PPM_CL_CLONE_VFORK)
	MAP_FLAG(CLONE_NEWCGROUP, PPM_CL_CLONE_NEWCGROUP)
	return r;
}

#define PPM_EXE_WRITABLE (1 << 0)
#define PPM_EXE_UPPER_LAYER (1 << 1)
#define PPM_EXE_FROM_MEMFD (1 << 2)
#define PPM_EXE_LOWER_LAYER (1 << 3)

/* chmod modes: PPM_S_* equal the S_* permission bits. */
static __always_inline __u32 chmod_mode_to_scap(__u64 m) {
	return m & 07777;
}

/* fchownat flags, as the drivers map them (AT_SYMLINK_FOLLOW and
 * AT_EMPTY_PATH keep their values). */
static __always_inline __u32 fchownat_flags_to_scap(__u64 f) {
	return f & (0x400 | 0x1000);
}

/* linkat: AT_SYMLINK_FOLLOW 0x400, AT_EMPTY_PATH 0x1000 (same values). */
static __always_inline __u32 linkat_flags_to_scap(__u64 f) {
	return f & (0x400 | 0x1000);
}

/* unlinkat: AT_REMOVEDIR 0x200 (same value). */
static __always_inline __u32 unlinkat_flags_to_scap(__u64 f) {
	return f & 0x200;
}

/* renameat2 RENAME_NOREPLACE/EXCHANGE/WHITEOUT (same values). */
static __always_inline __u32 renameat2_flags_to_scap(__u64 f) {
	return f & 7;
}

/* umount2 MNT_FORCE/MNT_DETACH/MNT_EXPIRE/UMOUNT_NOFOLLOW (same values). */
static __always_inline __u32 umount2_flags_to_scap(__u64 f) {
	return f & 0xf;
}

/* memfd_create MFD_CLOEXEC/ALLOW_SEALING/HUGETLB (same values). */
static __always_inline __u32 memfd_flags_to_scap(__u64 f) {
	return f & 7;
}

/* finit_module MODULE_INIT_* (same values). */
static __always_inline __u32 finit_module_flags_to_scap(__u64 f) {
	return f & 7;
}

/* splice SPLICE_F_* (same values). */
static __always_inline __u32 splice_flags_to_scap(__u64 f) {
	return f & 0xf;
}

/* pipe2: O_CLOEXEC, O_DIRECT, O_NONBLOCK. */
static __always_inline __u32 pipe2_flags_to_scap(__u64 f) {
	__u32 r = 0;
	if((__s32)f < 0)
		return 0;
	if(f & O_CLOEXEC)
		r |= PPM_O_CLOEXEC;
	if(f & O_DIRECT)
		r |= PPM_O_DIRECT;
	if(f & O_NONBLOCK)
		r |= PPM_O_NONBLOCK;
	return r;
}

/* userfaultfd: O_CLOEXEC, O_NONBLOCK (UFFD_USER_MODE_ONLY is not in the
 * table). */
static __always_inline __u32 userfaultfd_flags_to_scap(__u64 f) {
	__u32 r = 0;
	if(f & O_CLOEXEC)
		r |= PPM_O_CLOEXEC;
	if(f & O_NONBLOCK)
		r |= PPM_O_NONBLOCK;
	return r;
}

/* mmap/mprotect PROT_* */
static __always_inline __u32 prot_flags_to_scap(__u64 f) {
	__u32 r = f & 0xf; /* READ, WRITE, EXEC, SEM: same values */
	if(f & 0x01000000) /* PROT_GROWSDOWN */
		r |= 0x10;
	if(f & 0x02000000) /* PROT_GROWSUP */
		r |= 0x20;
	return r;
}

/* mmap MAP_* (x86_64 values) */
static __always_inline __u32 mmap_flags_to_scap(__u64 f) {
	__u32 r = 0;
	MAP_FLAG(0x01, 0x1)       /* SHARED */
	MAP_FLAG(0x02, 0x2)       /* PRIVATE */
	MAP_FLAG(0x10, 0x4)       /* FIXED */
	MAP_FLAG(0x20, 0x8)       /* ANONYMOUS */
	MAP_FLAG(0x40, 0x10)      /* 32BIT */
	MAP_FLAG(0x4000, 0x40)    /* NORESERVE */
	MAP_FLAG(0x8000, 0x80)    /* POPULATE */
	MAP_FLAG(0x10000, 0x100)  /* NONBLOCK */
	MAP_FLAG(0x100, 0x200)    /* GROWSDOWN */
	MAP_FLAG(0x800, 0x400)    /* DENYWRITE */
	MAP_FLAG(0x1000, 0x800)   /* EXECUTABLE */
	MAP_FLAG(0x2000, 0x4000)  /* LOCKED */
	return r;
}

/* fcntl F_* -> PPM_FCNTL_* */
static __always_inline __u8 fcntl_cmd_to_scap(__u64 cmd) {
	switch(cmd) {
	case 0: return 1;     /* F_DUPFD */
	case 1: return 2;     /* F_GETFD */
	case 2: return 3;     /* F_SETFD */
	case 3: return 4;     /* F_GETFL */
	case 4: return 5;     /* F_SETFL */
	case 5: return 6;     /* F_GETLK */
	case 6: return 8;     /* F_SETLK */
	case 7: return 9;     /* F_SETLKW */
	case 8: return 10;    /* F_SETOWN */
	case 9: return 12;    /* F_GETOWN */
	case 10: return 13;   /* F_SETSIG */
	case 11: return 15;   /* F_GETSIG */
	case 15: return 21;   /* F_SETOWN_EX */
	case 16: return 22;   /* F_GETOWN_EX */
	case 36: return 30;   /* F_OFD_GETLK */
	case 37: return 31;   /* F_OFD_SETLK */
	case 38: return 32;   /* F_OFD_SETLKW */
	case 1024: return 23; /* F_SETLEASE */
	case 1025: return 24; /* F_GETLEASE */
	case 1026: return 27; /* F_NOTIFY */
	case 1029: return 25; /* F_CANCELLK */
	case 1030: return 26; /* F_DUPFD_CLOEXEC */
	case 1031: return 28; /* F_SETPIPE_SZ */
	case 1032: return 29; /* F_GETPIPE_SZ */
	default: return 0;
	}
}

/* ptrace PTRACE_* (x86_64 values) -> PPM_PTRACE_* */
#define PPM_PTRACE_PEEKTEXT 2
#define PPM_PTRACE_PEEKDATA 3
#define PPM_PTRACE_PEEKUSR 4
#define PPM_PTRACE_CONT 8
#define PPM_PTRACE_SINGLESTEP 10
#define PPM_PTRACE_DETACH 12
#define PPM_PTRACE_SYSCALL 13
static __always_inline __u16 ptrace_req_to_scap(__u64 req) {
	switch(req) {
	case 0: return 1;       /* TRACEME */
	case 1: return 2;       /* PEEKTEXT */
	case 2: return 3;       /* PEEKDATA */
	case 3: return 4;       /* PEEKUSR */
	case 4: return 5;       /* POKETEXT */
	case 5: return 6;       /* POKEDATA */
	case 6: return 7;       /* POKEUSR */
	case 7: return 8;       /* CONT */
	case 8: return 9;       /* KILL */
	case 9: return 10;      /* SINGLESTEP */
	case 12: return 0x1a;   /* GETREGS */
	case 13: return 0x1b;   /* SETREGS */
	case 14: return 0x1c;   /* GETFPREGS */
	case 15: return 0x1d;   /* SETFPREGS */
	case 16: return 0xb;    /* ATTACH */
	case 17: return 0xc;    /* DETACH */
	case 18: return 0x1e;   /* GETFPXREGS */
	case 19: return 0x1f;   /* SETFPXREGS */
	case 21: return 0x20;   /* OLDSETOPTIONS */
	case 24: return 0xd;    /* SYSCALL */
	case 25: return 0x21;   /* GET_THREAD_AREA */
	case 26: return 0x22;   /* SET_THREAD_AREA */
	case 30: return 0x23;   /* ARCH_PRCTL */
	case 31: return 0x24;   /* SYSEMU */
	case 32: return 0x25;   /* SYSEMU_SINGLESTEP */
	case 33: return 0x26;   /* SINGLEBLOCK */
	case 0x4200: return 0xe;  /* SETOPTIONS */
	case 0x4201: return 0xf;  /* GETEVENTMSG */
	case 0x4202: return 0x10; /* GETSIGINFO */
	case 0x4203: return 0x11; /* SETSIGINFO */
	case 0x4204: return 0x12; /* GETREGSET */
	case 0x4205: return 0x13; /* SETREGSET */
	case 0x4206: return 0x14; /* SEIZE */
	case 0x4207: return 0x15; /* INTERRUPT */
	case 0x4208: return 0x16; /* LISTEN */
	case 0x4209: return 0x17; /* PEEKSIGINFO */
	case 0x420a: return 0x18; /* GETSIGMASK */
	case 0x420b: return 0x19; /* SETSIGMASK */
	default: return 0;
	}
}
