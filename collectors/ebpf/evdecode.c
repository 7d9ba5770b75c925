/*
 * evdecode.c - the process collector's record decoder (see evdecode.h).
 * Records are copied field by field out of the caller's bytes with memcpy,
 * so a record at any alignment (a fuzzer's input, a recording) decodes the
 * same as one straight from the ring buffer.  Portable C: the unit test and
 * the fuzzer use it without a kernel.
 */
#include <string.h>

#include "collectors/ebpf/evdecode.h"
#include "collectors/ebpf/proc.h"
#include "common/netaddr.h"

static const size_t fixed_size[PK_EV__MAX] = {
	[PK_EV_EXEC] = sizeof(struct pk_ev_exec),
	[PK_EV_FORK] = sizeof(struct pk_ev_fork),
	[PK_EV_EXIT] = sizeof(struct pk_ev_exit),
	[PK_EV_CONNECT] = sizeof(struct pk_ev_connect),
	[PK_EV_LISTEN] = sizeof(struct pk_ev_listen),
	[PK_EV_OPEN] = sizeof(struct pk_ev_open),
	[PK_EV_PTRACE] = sizeof(struct pk_ev_ptrace),
	[PK_EV_MEMFD] = sizeof(struct pk_ev_name),
	[PK_EV_MODULE] = sizeof(struct pk_ev_name),
};

static const char *const type_names[PK_EV__MAX] = {
	[PK_EV_EXEC] = "exec", [PK_EV_FORK] = "fork", [PK_EV_EXIT] = "exit",
	[PK_EV_CONNECT] = "connect", [PK_EV_LISTEN] = "listen",
	[PK_EV_OPEN] = "open", [PK_EV_PTRACE] = "ptrace",
	[PK_EV_MEMFD] = "memfd", [PK_EV_MODULE] = "module",
};

const char *
pk_pev_type_name(int type)
{
	if (type <= 0 || type >= PK_EV__MAX)
		return "?";
	return type_names[type];
}

const char *
pk_pev_strerror(int err)
{
	switch (err) {
	case PK_PEV_OK:		return "ok";
	case PK_PEV_ESHORT:	return "short record";
	case PK_PEV_ETYPE:	return "unknown type";
	case PK_PEV_EVERSION:	return "unknown layout version";
	case PK_PEV_ESIZE:	return "size disagrees with the record";
	case PK_PEV_ELEN:	return "variable part overruns the record";
	case PK_PEV_ESTRING:	return "NUL inside a path or name";
	case PK_PEV_EFAMILY:	return "unknown address family";
	}
	return "?";
}

/* A path or name: n bytes, none of them NUL. */
static int
clean_string(const char *s, size_t n)
{
	return memchr(s, '\0', n) == NULL;
}

static int
get_addr(struct pk_addr *a, uint16_t family, const uint8_t b[16])
{
	memset(a, 0, sizeof(*a));
	if (family == 2) {
		pk_addr_v4(a, b);
		return 0;
	}
	if (family == 10) {
		pk_addr_v6(a, b);
		return 0;
	}
	return -1;
}

/* Fixed-size NUL-padded name: copy up to the first NUL. */
static void
get_name(char *out, size_t outlen, const char *in, size_t inlen)
{
	const char *z = memchr(in, '\0', inlen);
	size_t n = z != NULL ? (size_t)(z - in) : inlen;

	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, in, n);
	out[n] = '\0';
}

static int
decode_exec(const uint8_t *b, size_t size, struct pk_pev *o)
{
	struct pk_ev_exec e;
	size_t off = sizeof(e);
	const char *p;

	memcpy(&e, b, sizeof(e));
	if (e.fname_len >= PK_EV_FNAME_MAX || e.path_len >= PK_EV_PATH_MAX ||
	    e.argv_len >= PK_EV_ARGV_MAX)
		return PK_PEV_ELEN;
	/* Each bound is small, so the sum cannot wrap. */
	if ((size_t)e.fname_len + e.path_len + e.argv_len > size - off)
		return PK_PEV_ELEN;
	o->u.exec.ppid = e.ppid;
	o->u.exec.old_tid = e.old_tid;
	o->u.exec.cgroup_id = e.cgroup_id;
	o->u.exec.dev = e.dev;
	o->u.exec.ino = e.ino;
	o->u.exec.size = e.size;
	o->u.exec.mtime_ns = e.mtime_ns;
	o->u.exec.ctime_ns = e.ctime_ns;
	o->u.exec.nlink = e.nlink;
	o->u.exec.mode = e.mode;
	o->u.exec.flags = e.flags;
	p = (const char *)b;
	o->u.exec.fname = p + off;
	o->u.exec.fname_len = e.fname_len;
	off += e.fname_len;
	o->u.exec.path = p + off;
	o->u.exec.path_len = e.path_len;
	off += e.path_len;
	o->u.exec.argv = p + off;
	o->u.exec.argv_len = e.argv_len;
	if (!clean_string(o->u.exec.fname, o->u.exec.fname_len) ||
	    !clean_string(o->u.exec.path, o->u.exec.path_len))
		return PK_PEV_ESTRING;
	o->u.exec.argc = 0;
	{
		size_t pos = 0, alen;
		const char *a;

		while (pk_pev_argv_next(o->u.exec.argv, o->u.exec.argv_len,
		    &pos, &a, &alen))
			o->u.exec.argc++;
	}
	return PK_PEV_OK;
}

static int
decode_connect(const uint8_t *b, struct pk_pev *o)
{
	struct pk_ev_connect e;

	memcpy(&e, b, sizeof(e));
	if (e.phase < PK_CONN_ATTEMPT || e.phase > PK_CONN_FAIL)
		return PK_PEV_ELEN;
	if (get_addr(&o->u.conn.dst, e.family, e.daddr) != 0)
		return PK_PEV_EFAMILY;
	if (e.proto == 6)
		get_addr(&o->u.conn.src, e.family, e.saddr);
	o->u.conn.sock = e.sock;
	o->u.conn.phase = e.phase;
	o->u.conn.proto = e.proto;
	o->u.conn.sport = e.sport;
	o->u.conn.dport = e.dport;
	o->u.conn.err = e.err;
	return PK_PEV_OK;
}

static int
decode_body(int type, const uint8_t *b, size_t size, struct pk_pev *o)
{
	switch (type) {
	case PK_EV_EXEC:
		return decode_exec(b, size, o);
	case PK_EV_FORK: {
		struct pk_ev_fork e;

		memcpy(&e, b, sizeof(e));
		o->u.fork.child = e.child;
		return PK_PEV_OK;
	}
	case PK_EV_EXIT: {
		struct pk_ev_exit e;

		memcpy(&e, b, sizeof(e));
		o->u.exit.code = e.code;
		return PK_PEV_OK;
	}
	case PK_EV_CONNECT:
		return decode_connect(b, o);
	case PK_EV_LISTEN: {
		struct pk_ev_listen e;

		memcpy(&e, b, sizeof(e));
		if (get_addr(&o->u.listen.addr, e.family, e.addr) != 0)
			return PK_PEV_EFAMILY;
		o->u.listen.port = e.port;
		return PK_PEV_OK;
	}
	case PK_EV_OPEN: {
		struct pk_ev_open e;

		memcpy(&e, b, sizeof(e));
		if (e.path_len >= PK_EV_PATH_MAX ||
		    e.path_len > size - sizeof(e))
			return PK_PEV_ELEN;
		o->u.open.flags = e.flags;
		o->u.open.path = (const char *)b + sizeof(e);
		o->u.open.path_len = e.path_len;
		if (!clean_string(o->u.open.path, e.path_len))
			return PK_PEV_ESTRING;
		return PK_PEV_OK;
	}
	case PK_EV_PTRACE: {
		struct pk_ev_ptrace e;

		memcpy(&e, b, sizeof(e));
		o->u.ptrace.request = e.request;
		o->u.ptrace.target = e.target;
		return PK_PEV_OK;
	}
	case PK_EV_MEMFD:
	case PK_EV_MODULE: {
		struct pk_ev_name e;

		memcpy(&e, b, sizeof(e));
		o->u.name.flags = e.flags;
		get_name(o->u.name.name, sizeof(o->u.name.name), e.name,
		    sizeof(e.name));
		return PK_PEV_OK;
	}
	}
	return PK_PEV_ETYPE;
}

int
pk_pev_decode(const void *buf, size_t len, struct pk_pev *out)
{
	const uint8_t *b = buf;
	struct pk_ev_hdr h;

	memset(out, 0, sizeof(*out));
	if (buf == NULL || len < sizeof(h))
		return PK_PEV_ESHORT;
	memcpy(&h, b, sizeof(h));
	if (h.type == 0 || h.type >= PK_EV__MAX)
		return PK_PEV_ETYPE;
	if (h.version != PK_EV_VERSION)
		return PK_PEV_EVERSION;
	if (len < fixed_size[h.type])
		return PK_PEV_ESHORT;
	if (h.size < fixed_size[h.type] || h.size > len)
		return PK_PEV_ESIZE;
	out->type = h.type;
	out->ts_ns = h.ts_ns;
	out->pid = h.pid;
	out->tid = h.tid;
	out->uid = h.uid;
	out->gid = h.gid;
	get_name(out->comm, sizeof(out->comm), h.comm, sizeof(h.comm));
	return decode_body(h.type, b, h.size, out);
}

int
pk_pev_argv_next(const char *argv, size_t len, size_t *pos, const char **arg,
    size_t *alen)
{
	const char *z;
	size_t p = *pos;

	if (argv == NULL || p >= len)
		return 0;
	z = memchr(argv + p, '\0', len - p);
	*arg = argv + p;
	*alen = z != NULL ? (size_t)(z - (argv + p)) : len - p;
	*pos = p + *alen + 1;
	return 1;
}
