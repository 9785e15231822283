/* Syscall-heavy loops for bench/live.sh.
 *
 *   loop getppid N     N getppid() calls
 *   loop orc N         N x (openat /etc/hostname, read 64 bytes, close)
 *   loop forkexec N    N x (fork, execve /bin/true, waitpid)
 *
 * Prints "<ns per iteration> <total ns>" on stdout.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
	if(argc < 3) {
		fprintf(stderr, "usage: loop getppid|orc|forkexec N\n");
		return 2;
	}
	long n = atol(argv[2]);
	char buf[64];
	long long t0 = now_ns();
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
	long long dt = now_ns() - t0;
	printf("%lld %lld\n", dt / n, dt);
	return 0;
}
