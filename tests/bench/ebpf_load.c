/*
 * ebpf_load.c - workload for tests/bench/ebpf_bench.sh: each of W worker
 * processes runs N rounds of fork + execve(/bin/true) + wait and one TCP
 * connect to 127.0.0.1:PORT (a closed port: refused at once), then the
 * parent prints rounds per second.  usage: ebpf_load W N PORT
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void
worker(long n, int port)
{
	struct sockaddr_in sin;
	char *argv[] = { "true", NULL }, *envp[] = { NULL };
	long i;
	pid_t p;
	int s;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < n; i++) {
		if ((p = fork()) == 0) {
			execve("/bin/true", argv, envp);
			_exit(127);
		}
		if (p > 0)
			waitpid(p, NULL, 0);
		if ((s = socket(AF_INET, SOCK_STREAM, 0)) >= 0) {
			(void)connect(s, (struct sockaddr *)&sin, sizeof(sin));
			close(s);
		}
	}
}

int
main(int argc, char **argv)
{
	struct timespec a, b;
	long w, n, i;
	int port;
	double secs;

	if (argc != 4)
		return 2;
	w = strtol(argv[1], NULL, 10);
	n = strtol(argv[2], NULL, 10);
	port = (int)strtol(argv[3], NULL, 10);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < w; i++)
		if (fork() == 0) {
			worker(n, port);
			_exit(0);
		}
	while (wait(NULL) > 0)
		;
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	printf("%.3f %.0f\n", secs, (double)(w * n) / secs);
	return 0;
}
