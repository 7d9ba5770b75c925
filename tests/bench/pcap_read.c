/*
 * pcap_read.c - the floor of the packet-analysis benchmark (issue 9): a bare
 * libpcap loop that reads a capture file with pcap_dispatch() and only
 * counts packets and bytes.  tests/bench/throughput.py runs it beside
 * `picketd -r` and Suricata on the same file, so "percent of the bare read
 * rate" says how much of the time goes to analysis rather than to reading.
 * Nothing else calls it.  Built by `make build/bench/pcap_read`.
 *
 *	pcap_read FILE		prints "packets N bytes N" on stdout
 */
#include <stdint.h>
#include <stdio.h>

#include <pcap/pcap.h>

struct counts {
	uint64_t	packets;
	uint64_t	bytes;
};

static void
count(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	struct counts *c = (struct counts *)(void *)user;

	(void)data;
	c->packets++;
	c->bytes += h->len;
}

int
main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE];
	struct counts c = { 0, 0 };
	pcap_t *p;
	int n;

	if (argc != 2) {
		fprintf(stderr, "usage: pcap_read FILE\n");
		return 2;
	}
	p = pcap_open_offline(argv[1], err);
	if (p == NULL) {
		fprintf(stderr, "pcap_read: %s\n", err);
		return 1;
	}
	/* -1: every packet in the buffer; 0 at end of file. */
	while ((n = pcap_dispatch(p, -1, count, (u_char *)&c)) > 0)
		;
	if (n == -1) {
		fprintf(stderr, "pcap_read: %s\n", pcap_geterr(p));
		pcap_close(p);
		return 1;
	}
	pcap_close(p);
	printf("packets %llu bytes %llu\n", (unsigned long long)c.packets,
	    (unsigned long long)c.bytes);
	return 0;
}
