/*
 * ebpf_scanner.c - a test program for tests/integration/test_ebpf.py: opens
 * non-blocking TCP connections to PORT on every address FIRST..LAST of a
 * /24 given as A.B.C, waits WAIT_MS, closes them all and exits.  It is run
 * only inside a network namespace the test creates, so nothing leaves it.
 * It prints its pid first, so the test can look for it in the indicator.
 * usage: ebpf_scanner A.B.C FIRST LAST PORT WAIT_MS
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	char addr[64];
	int fds[256], n = 0, i, first, last, port, wait_ms;

	if (argc != 6)
		return 2;
	first = (int)strtol(argv[2], NULL, 10);
	last = (int)strtol(argv[3], NULL, 10);
	port = (int)strtol(argv[4], NULL, 10);
	wait_ms = (int)strtol(argv[5], NULL, 10);
	printf("%d\n", (int)getpid());
	fflush(stdout);
	for (i = first; i <= last && n < 256; i++) {
		snprintf(addr, sizeof(addr), "%s.%d", argv[1], i);
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((unsigned short)port);
		if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
			return 2;
		if ((fds[n] = socket(AF_INET, SOCK_STREAM, 0)) < 0)
			return 1;
		fcntl(fds[n], F_SETFL, O_NONBLOCK);
		(void)connect(fds[n], (struct sockaddr *)&sin, sizeof(sin));
		n++;
	}
	usleep((useconds_t)wait_ms * 1000);
	for (i = 0; i < n; i++)
		close(fds[i]);
	return n > 0 ? 0 : 1;
}
