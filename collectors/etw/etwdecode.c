/*
 * etwdecode.c - the ETW record decoder (see etwdecode.h).  It walks each
 * event's fields in the order of the provider's manifest, checking every
 * field against the record's length before reading it, with little-endian
 * loads from bytes (records at any alignment, on any host).  Only the
 * fields the process table needs are kept; the rest are checked for size
 * and skipped.  Bytes after the last field of a known layout are ignored,
 * so a build that appends fields still decodes.  Portable C: the unit test
 * and the fuzzer use it without Windows.
 */
#include <string.h>

#include "collectors/ebpf/proc.h"
#include "collectors/etw/etwdecode.h"
#include "common/netaddr.h"

/* {22FB2CD6-0E7B-422B-A0C7-2FAD1FD0E716} */
const uint8_t pk_etw_guid_kernel_process[16] = {
	0xd6, 0x2c, 0xfb, 0x22, 0x7b, 0x0e, 0x2b, 0x42,
	0xa0, 0xc7, 0x2f, 0xad, 0x1f, 0xd0, 0xe7, 0x16,
};

/* {7DD42A49-5329-4832-8DFD-43D979153A88} */
const uint8_t pk_etw_guid_kernel_network[16] = {
	0x49, 0x2a, 0xd4, 0x7d, 0x29, 0x53, 0x32, 0x48,
	0x8d, 0xfd, 0x43, 0xd9, 0x79, 0x15, 0x3a, 0x88,
};

#define SID_MAX_SUBAUTH	15	/* SID_MAX_SUB_AUTHORITIES */

/* A cursor over one record's user data. */
struct rd {
	const uint8_t	*b;
	size_t		 len, off;
};

const char *
pk_etw_strerror(int err)
{
	switch (err) {
	case PK_ETW_OK:		return "ok";
	case PK_ETW_EPROVIDER:	return "unknown provider";
	case PK_ETW_EEVENT:	return "event not decoded for this provider";
	case PK_ETW_EVERSION:	return "unknown event version";
	case PK_ETW_EPTRSIZE:	return "pointer size not 4 or 8";
	case PK_ETW_ESHORT:	return "record shorter than its fields";
	case PK_ETW_EUNTERM:	return "string without terminator";
	case PK_ETW_EODD:	return "string of an odd number of bytes";
	case PK_ETW_ESID:	return "malformed SID";
	case PK_ETW_EARG:	return "invalid arguments";
	}
	return "?";
}

static int
take(struct rd *r, size_t n, const uint8_t **p)
{
	if (n > r->len - r->off)
		return PK_ETW_ESHORT;
	*p = r->b + r->off;
	r->off += n;
	return PK_ETW_OK;
}

static int
get_u32(struct rd *r, uint32_t *v)
{
	const uint8_t *p;
	int e;

	if ((e = take(r, 4, &p)) != PK_ETW_OK)
		return e;
	*v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
	return PK_ETW_OK;
}

static int
skip(struct rd *r, size_t n)
{
	const uint8_t *p;

	return take(r, n, &p);
}

/*
 * A NUL-terminated UTF-16LE string (manifest UnicodeString): *s and *n
 * get its bytes without the terminator; the cursor moves past it.
 */
static int
get_wstr(struct rd *r, const uint8_t **s, size_t *n)
{
	size_t left = r->len - r->off, i;
	const uint8_t *b = r->b + r->off;

	for (i = 0; i + 1 < left; i += 2) {
		if (b[i] == 0 && b[i + 1] == 0) {
			*s = b;
			*n = i;
			r->off += i + 2;
			return PK_ETW_OK;
		}
	}
	return (left & 1) ? PK_ETW_EODD : PK_ETW_EUNTERM;
}

/* A SID (manifest win:SID): revision 1, its sub-authorities in the record. */
static int
skip_sid(struct rd *r)
{
	size_t left = r->len - r->off;
	const uint8_t *b = r->b + r->off;

	if (left < 8)
		return PK_ETW_ESHORT;
	if (b[0] != 1 || b[1] > SID_MAX_SUBAUTH)
		return PK_ETW_ESID;
	if (8 + 4 * (size_t)b[1] > left)
		return PK_ETW_ESHORT;
	r->off += 8 + 4 * (size_t)b[1];
	return PK_ETW_OK;
}

/* ---- UTF-16 to UTF-8 ------------------------------------------------------ */

static size_t
utf8_encode(uint32_t cp, uint8_t out[4])
{
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xc0 | cp >> 6);
		out[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xe0 | cp >> 12);
		out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (uint8_t)(0xf0 | cp >> 18);
	out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

size_t
pk_etw_utf16_to_utf8(const uint8_t *s, size_t n, char *out, size_t cap,
    unsigned *flags)
{
	size_t i = 0, o = 0, k;
	uint32_t u, lo;
	uint8_t enc[4];
	unsigned f = 0;

	if (cap == 0)
		return 0;
	while (i + 1 < n) {
		u = (uint32_t)s[i] | (uint32_t)s[i + 1] << 8;
		i += 2;
		if (u == 0)
			break;
		if (u >= 0xd800 && u <= 0xdbff && i + 1 < n) {
			lo = (uint32_t)s[i] | (uint32_t)s[i + 1] << 8;
			if (lo >= 0xdc00 && lo <= 0xdfff) {
				u = 0x10000 + ((u - 0xd800) << 10) +
				    (lo - 0xdc00);
				i += 2;
			}
		}
		if (u >= 0xd800 && u <= 0xdfff) {	/* unpaired */
			u = 0xfffd;
			f |= PK_ETW_F_REPLACED;
		}
		k = utf8_encode(u, enc);
		if (k > cap - 1 - o) {
			f |= PK_ETW_F_TRUNC;
			break;
		}
		memcpy(out + o, enc, k);
		o += k;
	}
	out[o] = '\0';
	if (flags != NULL)
		*flags |= f;
	return o;
}

/* ---- events ---------------------------------------------------------------- */

static int
guid_eq(const uint8_t a[16], const uint8_t b[16])
{
	return memcmp(a, b, 16) == 0;
}

static const char *const empty = "";

/* comm: the image's last component, cut to 16 bytes on a UTF-8 boundary. */
static void
set_comm(struct pk_pev *out, const char *path, size_t len)
{
	size_t i = len, n;

	while (i > 0 && path[i - 1] != '\\' && path[i - 1] != '/')
		i--;
	n = len - i;
	if (n > sizeof(out->comm) - 1) {
		n = sizeof(out->comm) - 1;
		while (n > 0 && ((unsigned char)path[i + n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(out->comm, path + i, n);
	out->comm[n] = '\0';
}

static int
is_ntdevice(const char *p, size_t n)
{
	static const char pre[] = "\\device\\";
	size_t i;

	if (n < sizeof(pre) - 1)
		return 0;
	for (i = 0; i < sizeof(pre) - 1; i++) {
		char c = p[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != pre[i])
			return 0;
	}
	return 1;
}

/*
 * ProcessStart, manifest order by version:
 *  v0:    ProcessID, CreateTime, ParentProcessID, SessionID, ImageName
 *  v1,v2: ProcessID, CreateTime, ParentProcessID, SessionID, Flags,
 *         ImageName, ImageChecksum, TimeDateStamp, PackageFullName,
 *         PackageRelativeAppId
 *  v3:    ProcessID, ProcessSequenceNumber, CreateTime, ParentProcessID,
 *         ParentProcessSequenceNumber, SessionID, Flags,
 *         ProcessTokenElevationType, ProcessTokenIsElevated,
 *         MandatoryLabel (SID), ImageName, then as v1.
 */
static int
decode_start(const struct pk_etw_rec *rec, struct rd *r, struct pk_pev *out,
    char *path, size_t pathcap, unsigned *fl)
{
	uint32_t pid, ppid, v;
	const uint8_t *img, *s;
	size_t imglen, n;
	int e;

	if (rec->version > 3)
		return PK_ETW_EVERSION;
	if ((e = get_u32(r, &pid)) != PK_ETW_OK ||
	    (rec->version == 3 && (e = skip(r, 8)) != PK_ETW_OK) ||
	    (e = skip(r, 8)) != PK_ETW_OK ||		/* CreateTime */
	    (e = get_u32(r, &ppid)) != PK_ETW_OK ||
	    (rec->version == 3 && (e = skip(r, 8)) != PK_ETW_OK) ||
	    (e = get_u32(r, &v)) != PK_ETW_OK)		/* SessionID */
		return e;
	if (rec->version >= 1 && (e = get_u32(r, &v)) != PK_ETW_OK)
		return e;				/* Flags */
	if (rec->version == 3 && ((e = skip(r, 8)) != PK_ETW_OK ||
	    (e = skip_sid(r)) != PK_ETW_OK))		/* elevation, label */
		return e;
	if ((e = get_wstr(r, &img, &imglen)) != PK_ETW_OK)
		return e;
	if (rec->version >= 1 && ((e = skip(r, 8)) != PK_ETW_OK ||
	    (e = get_wstr(r, &s, &n)) != PK_ETW_OK ||	/* PackageFullName */
	    (e = get_wstr(r, &s, &n)) != PK_ETW_OK))	/* ...RelativeAppId */
		return e;

	out->type = PK_EV_EXEC;
	out->pid = pid;
	out->u.exec.ppid = ppid;
	n = pk_etw_utf16_to_utf8(img, imglen, path, pathcap, fl);
	if (*fl & PK_ETW_F_TRUNC)
		out->u.exec.flags |= PK_EXEC_PATH_TRUNC;
	if (is_ntdevice(path, n))
		*fl |= PK_ETW_F_NTDEVICE;
	out->u.exec.path = path;
	out->u.exec.path_len = n;
	/* ETW gives the image, not the name it was started by. */
	out->u.exec.fname = path;
	out->u.exec.fname_len = n;
	out->u.exec.argv = empty;
	set_comm(out, path, n);
	return PK_ETW_OK;
}

/*
 * ProcessStop: ProcessID, (v2: ProcessSequenceNumber,) CreateTime,
 * ExitTime, ExitCode, then counters and the ANSI image name, not read.
 */
static int
decode_stop(const struct pk_etw_rec *rec, struct rd *r, struct pk_pev *out)
{
	uint32_t pid, code;
	int e;

	if (rec->version > 2)
		return PK_ETW_EVERSION;
	if ((e = get_u32(r, &pid)) != PK_ETW_OK ||
	    (rec->version == 2 && (e = skip(r, 8)) != PK_ETW_OK) ||
	    (e = skip(r, 16)) != PK_ETW_OK ||		/* Create-, ExitTime */
	    (e = get_u32(r, &code)) != PK_ETW_OK)
		return e;
	out->type = PK_EV_EXIT;
	out->pid = pid;
	out->u.exit.code = (int32_t)code;
	return PK_ETW_OK;
}

/*
 * TCP connect and accept (v0), IPv4 and IPv6: PID, size, daddr, saddr,
 * dport, sport (ports in network order; daddr and dport the remote end),
 * then mss, sackopt, tsopt, wsopt, rcvwin, rcvwinscale, sndwinscale,
 * seqnum, connid, not read.
 */
static int
decode_tcp(const struct pk_etw_rec *rec, struct rd *r, struct pk_pev *out,
    unsigned *fl)
{
	int v6 = rec->id == PK_ETW_TCP6_CONNECT || rec->id == PK_ETW_TCP6_ACCEPT;
	size_t alen = v6 ? 16 : 4;
	const uint8_t *da, *sa, *dp, *sp;
	uint32_t pid, size;
	int e;

	if (rec->version != 0)
		return PK_ETW_EVERSION;
	if ((e = get_u32(r, &pid)) != PK_ETW_OK ||
	    (e = get_u32(r, &size)) != PK_ETW_OK ||
	    (e = take(r, alen, &da)) != PK_ETW_OK ||
	    (e = take(r, alen, &sa)) != PK_ETW_OK ||
	    (e = take(r, 2, &dp)) != PK_ETW_OK ||
	    (e = take(r, 2, &sp)) != PK_ETW_OK)
		return e;
	out->type = PK_EV_CONNECT;
	out->pid = pid;
	out->u.conn.proto = 6;
	if (rec->id == PK_ETW_TCP4_ACCEPT || rec->id == PK_ETW_TCP6_ACCEPT) {
		/* Established by a peer: its own phase, so that the
		 * detections keep it out of the process's fan-out. */
		out->u.conn.phase = PK_CONN_ACCEPTED;
		*fl |= PK_ETW_F_INBOUND;
	} else
		out->u.conn.phase = PK_CONN_ATTEMPT;
	if (v6) {
		pk_addr_v6(&out->u.conn.dst, da);
		pk_addr_v6(&out->u.conn.src, sa);
	} else {
		pk_addr_v4(&out->u.conn.dst, da);
		pk_addr_v4(&out->u.conn.src, sa);
	}
	out->u.conn.dport = (uint16_t)(dp[0] << 8 | dp[1]);
	out->u.conn.sport = (uint16_t)(sp[0] << 8 | sp[1]);
	return PK_ETW_OK;
}

int
pk_etw_decode(const struct pk_etw_rec *rec, struct pk_pev *out, char *path,
    size_t pathcap, unsigned *flags)
{
	struct rd r;
	unsigned fl = 0;
	int e;

	if (flags != NULL)
		*flags = 0;
	if (rec == NULL || out == NULL || path == NULL || pathcap == 0 ||
	    (rec->data == NULL && rec->len != 0))
		return PK_ETW_EARG;
	memset(out, 0, sizeof(*out));
	path[0] = '\0';
	if (rec->ptrsize != 4 && rec->ptrsize != 8)
		return PK_ETW_EPTRSIZE;
	r.b = rec->data;
	r.len = rec->len;
	r.off = 0;
	if (guid_eq(rec->provider, pk_etw_guid_kernel_process)) {
		if (rec->id == PK_ETW_PROCESS_START)
			e = decode_start(rec, &r, out, path, pathcap, &fl);
		else if (rec->id == PK_ETW_PROCESS_STOP)
			e = decode_stop(rec, &r, out);
		else
			e = PK_ETW_EEVENT;
	} else if (guid_eq(rec->provider, pk_etw_guid_kernel_network)) {
		if (rec->id == PK_ETW_TCP4_CONNECT ||
		    rec->id == PK_ETW_TCP4_ACCEPT ||
		    rec->id == PK_ETW_TCP6_CONNECT ||
		    rec->id == PK_ETW_TCP6_ACCEPT)
			e = decode_tcp(rec, &r, out, &fl);
		else
			e = PK_ETW_EEVENT;
	} else
		e = PK_ETW_EPROVIDER;
	if (e != PK_ETW_OK) {
		memset(out, 0, sizeof(*out));
		path[0] = '\0';
		return e;
	}
	out->ts_ns = rec->ts_ns;
	if (flags != NULL)
		*flags = fl;
	return PK_ETW_OK;
}

const char *
pk_etw_layout(const uint8_t provider[16], uint16_t id, uint8_t version)
{
	if (guid_eq(provider, pk_etw_guid_kernel_process)) {
		if (id == PK_ETW_PROCESS_START && version == 0)
			return "ProcessID,CreateTime,ParentProcessID,"
			    "SessionID,ImageName";
		if (id == PK_ETW_PROCESS_START && (version == 1 ||
		    version == 2))
			return "ProcessID,CreateTime,ParentProcessID,"
			    "SessionID,Flags,ImageName,ImageChecksum,"
			    "TimeDateStamp,PackageFullName,"
			    "PackageRelativeAppId";
		if (id == PK_ETW_PROCESS_START && version == 3)
			return "ProcessID,ProcessSequenceNumber,CreateTime,"
			    "ParentProcessID,ParentProcessSequenceNumber,"
			    "SessionID,Flags,ProcessTokenElevationType,"
			    "ProcessTokenIsElevated,MandatoryLabel,ImageName,"
			    "ImageChecksum,TimeDateStamp,PackageFullName,"
			    "PackageRelativeAppId";
		if (id == PK_ETW_PROCESS_STOP && version <= 1)
			return "ProcessID,CreateTime,ExitTime,ExitCode";
		if (id == PK_ETW_PROCESS_STOP && version == 2)
			return "ProcessID,ProcessSequenceNumber,CreateTime,"
			    "ExitTime,ExitCode";
		return NULL;
	}
	if (guid_eq(provider, pk_etw_guid_kernel_network) && version == 0 &&
	    (id == PK_ETW_TCP4_CONNECT || id == PK_ETW_TCP4_ACCEPT ||
	    id == PK_ETW_TCP6_CONNECT || id == PK_ETW_TCP6_ACCEPT))
		return "PID,size,daddr,saddr,dport,sport";
	return NULL;
}
