/* Syscall-heavy loops for bench/live.sh.
 *
 *   loop getppid N     N getppid() calls
 *   loop orc N         N x (openat /etc/hostname, read 64 bytes, close)
 *   loop forkexec N    N x (fork, execve /bin/true, waitpid)
 *   loop dupclose N    N x (dup of an fd open on /dev/null, close of the
 *                      copy): two cheap syscalls that the state set
 *                      attaches, each a successful call that the engine's
 *                      fd table follows (an fd added, then removed), so
 *                      two events per iteration at a high rate
 *
 * Prints "<wall ns per iteration> <total wall ns> <cpu ns per iteration>"
 * on stdout. The CPU time is the loop's own (user + system, this process
 * and, for forkexec, its waited-for children): unlike the wall time it
 * does not grow when other work on a shared machine takes the CPU away,
 * and the probe's programs run in the context of the task whose syscall
 * they trace, so their cost is in it.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long clock_ns(clockid_t c) {
	struct timespec ts;
	clock_gettime(c, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* CPU time of this process (ns resolution) plus its reaped children. */
static long long cpu_ns(void) {
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	long long children = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
	                     (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
	return clock_ns(CLOCK_PROCESS_CPUTIME_ID) + children;
}

int main(int argc, char **argv) {
	if(argc < 3) {
		fprintf(stderr, "usage: loop getppid|orc|forkexec|dupclose N\n");
		return 2;
	}
	long n = atol(argv[2]);
	if(n <= 0) {
		fprintf(stderr, "N must be positive\n");
		return 2;
	}
	char buf[64];
	long long t0 = clock_ns(CLOCK_MONOTONIC);
	long long c0 = cpu_ns();
	if(!strcmp(argv[1], "getppid")) {
		for(long i = 0; i < n; i++)
			syscall(SYS_getppid);
	} else if(!strcmp(argv[1], "orc")) {
		for(long i = 0; i < n; i++) {
			int fd = openat(AT_FDCWD, "/etc/hostname", O_RDONLY);
			if(fd < 0) {
				perror("open");
				return 1;
			}
			if(read(fd, buf, sizeof(buf)) < 0)
				return 1;
			close(fd);
		}
	} else if(!strcmp(argv[1], "dupclose")) {
		int fd = open("/dev/null", O_RDONLY);
		if(fd < 0) {
			perror("/dev/null");
			return 1;
		}
		for(long i = 0; i < n; i++) {
			int copy = dup(fd);
			if(copy < 0) {
				perror("dup");
				return 1;
			}
			close(copy);
		}
		close(fd);
	} else if(!strcmp(argv[1], "forkexec")) {
		char *const av[] = {"true", NULL};
		char *const ev[] = {"PATH=/bin:/usr/bin", NULL};
		for(long i = 0; i < n; i++) {
			pid_t p = fork();
			if(p == 0) {
				execve("/bin/true", av, ev);
				_exit(127);
			}
			int st;
			waitpid(p, &st, 0);
		}
	} else {
		fprintf(stderr, "unknown loop %s\n", argv[1]);
		return 2;
	}
	long long dt = clock_ns(CLOCK_MONOTONIC) - t0;
	long long dc = cpu_ns() - c0;
	printf("%lld %lld %lld\n", dt / n, dt, dc / n);
	return 0;
}
