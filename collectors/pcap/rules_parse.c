/*
 * rules_parse.c - the rule loader: reads rule files (or text), joins
 * backslash-continued lines, skips comments, and parses each rule of the
 * supported Suricata subset (docs/rules.md) into a struct pk_rule.
 *
 * Nothing is silently dropped: a rule that uses anything outside the
 * subset (another action, an application protocol, pcre, http_uri,
 * flowbits, ...) or that is malformed is reported once through the
 * ruleset's reporter as "FILE:LINE: sid N: problem" and counted under its
 * reason; loading goes on with the next rule.  Every input is bounded
 * (rules.h: line length, contents per rule, pattern size, list size and
 * nesting, rules.max_rules), and parsing never reads past the text.
 *
 * Variables ($NAME) come from [vars] (pk_config_var), then from the
 * defaults of Suricata's suricata.yaml.  $HOME_NET, unless [vars] sets it,
 * stays symbolic (PK_RN_HOME) and is resolved per packet from the engine's
 * home set, which the live agent learns from its interfaces.
 *
 * Called by sigdet.c (the rules detector), tests and the fuzz target.
 * Portable: C library only.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "collectors/pcap/rules.h"
#include "common/log.h"
#include "common/util.h"

#define DEFAULT_MAX_RULES	100000
#define REASON_OTHER		"other problems"

/* Suricata's default suricata.yaml vars: address-groups, port-groups. */
static const struct {
	const char	*name;
	const char	*value;		/* NULL: the engine's home set */
	int		 port;
} builtin_vars[] = {
	{ "HOME_NET", NULL, 0 },
	{ "EXTERNAL_NET", "!$HOME_NET", 0 },
	{ "HTTP_SERVERS", "$HOME_NET", 0 },
	{ "SMTP_SERVERS", "$HOME_NET", 0 },
	{ "SQL_SERVERS", "$HOME_NET", 0 },
	{ "DNS_SERVERS", "$HOME_NET", 0 },
	{ "TELNET_SERVERS", "$HOME_NET", 0 },
	{ "AIM_SERVERS", "$EXTERNAL_NET", 0 },
	{ "DC_SERVERS", "$HOME_NET", 0 },
	{ "DNP3_SERVER", "$HOME_NET", 0 },
	{ "DNP3_CLIENT", "$HOME_NET", 0 },
	{ "MODBUS_CLIENT", "$HOME_NET", 0 },
	{ "MODBUS_SERVER", "$HOME_NET", 0 },
	{ "ENIP_CLIENT", "$HOME_NET", 0 },
	{ "ENIP_SERVER", "$HOME_NET", 0 },
	{ "HTTP_PORTS", "80", 1 },
	{ "SHELLCODE_PORTS", "!80", 1 },
	{ "ORACLE_PORTS", "1521", 1 },
	{ "SSH_PORTS", "22", 1 },
	{ "DNP3_PORTS", "20000", 1 },
	{ "MODBUS_PORTS", "502", 1 },
	{ "FILE_DATA_PORTS", "[$HTTP_PORTS,110,143]", 1 },
	{ "FTP_PORTS", "21", 1 },
	{ "GENEVE_PORTS", "6081", 1 },
	{ "VXLAN_PORTS", "4789", 1 },
	{ "TEREDO_PORTS", "3544", 1 },
};

/*
 * Priorities of Suricata's default classification.config, used when a
 * rule has a classtype but no priority keyword.
 */
static const struct {
	const char	*name;
	uint8_t		 prio;
} classtypes[] = {
	{ "not-suspicious", 3 }, { "unknown", 3 }, { "bad-unknown", 2 },
	{ "attempted-recon", 2 }, { "successful-recon-limited", 2 },
	{ "successful-recon-largescale", 2 }, { "attempted-dos", 2 },
	{ "successful-dos", 2 }, { "attempted-user", 1 },
	{ "unsuccessful-user", 1 }, { "successful-user", 1 },
	{ "attempted-admin", 1 }, { "successful-admin", 1 },
	{ "rpc-portmap-decode", 2 }, { "shellcode-detect", 1 },
	{ "string-detect", 3 }, { "suspicious-filename-detect", 2 },
	{ "suspicious-login", 2 }, { "system-call-detect", 2 },
	{ "tcp-connection", 4 }, { "trojan-activity", 1 },
	{ "unusual-client-port-connection", 2 }, { "network-scan", 3 },
	{ "denial-of-service", 2 }, { "non-standard-protocol", 2 },
	{ "protocol-command-decode", 3 }, { "web-application-activity", 2 },
	{ "web-application-attack", 1 }, { "misc-activity", 3 },
	{ "misc-attack", 2 }, { "icmp-event", 3 },
	{ "inappropriate-content", 1 }, { "policy-violation", 1 },
	{ "default-login-attempt", 2 }, { "targeted-activity", 1 },
	{ "exploit-kit", 1 }, { "external-ip-check", 2 },
	{ "domain-c2", 1 }, { "pup-activity", 2 },
	{ "credential-theft", 1 }, { "social-engineering", 2 },
	{ "coin-mining", 2 }, { "command-and-control", 1 },
};

static const char *const other_actions[] = {
	"pass", "drop", "reject", "rejectsrc", "rejectdst", "rejectboth",
	"config",
};

/* Scratch space for one rule, allocated once per set. */
struct pk_rule_parse {
	struct pk_ruleset	*rs;
	const char		*file;
	uint32_t		 line;
	int64_t			 sid;		/* -1 until known */
	int			 failed;
	char			 reason[96];
	char			 msg[192];

	struct pk_rule		 r;
	struct pk_rule_content	 c[PK_RULE_MAX_CONTENTS];
	uint8_t			 pat[PK_RULE_MAX_CONTENTS][PK_RULE_MAX_PATTERN];
	struct pk_rule_node	 nodes[4][PK_RULE_MAX_NODES];
	uint16_t		 nnodes;
	struct pk_rule_node	*cur;		/* list being parsed */
	int			 last;		/* last content, -1 */
	uint8_t			 seen[16];	/* keywords given once */
	uint8_t			 has_th, has_df;
	char			 msgtext[PK_RULE_MAX_MSG];
	char			 classtype[64];
	char			 reference[PK_RULE_MAX_MSG];
	char			 val[PK_RULE_MAX_LINE + 1];
	char			 tok[PK_RULE_MAX_LINE + 1];
};

enum { SEEN_SID, SEEN_REV, SEEN_GID, SEEN_MSG, SEEN_CLASS, SEEN_PRIO,
	SEEN_FLAGS, SEEN_FLOW, SEEN_DSIZE };

/* ---- reporting --------------------------------------------------------- */

static void
count_reason(struct pk_ruleset *rs, const char *reason)
{
	size_t i;

	rs->skipped++;
	for (i = 0; i < rs->nreasons; i++)
		if (strcmp(rs->reasons[i].text, reason) == 0) {
			rs->reasons[i].n++;
			return;
		}
	if (rs->nreasons == PK_RULE_MAX_REASONS - 1)
		reason = REASON_OTHER;	/* the last slot collects the rest */
	for (i = 0; i < rs->nreasons; i++)
		if (strcmp(rs->reasons[i].text, reason) == 0) {
			rs->reasons[i].n++;
			return;
		}
	pk_strlcpy(rs->reasons[rs->nreasons].text, reason,
	    sizeof(rs->reasons[0].text));
	rs->reasons[rs->nreasons++].n = 1;
}

static void
report(struct pk_ruleset *rs, const char *file, uint32_t line, int64_t sid,
    const char *reason, const char *msg)
{
	char buf[512];

	count_reason(rs, reason);
	if (rs->report == NULL)
		return;
	if (sid >= 0)
		snprintf(buf, sizeof(buf), "%s:%u: sid %lld: %s", file, line,
		    (long long)sid, msg);
	else
		snprintf(buf, sizeof(buf), "%s:%u: %s", file, line, msg);
	rs->report(rs->report_arg, buf);
}

static int perr(struct pk_rule_parse *, const char *, const char *, ...)
    PK_PRINTF(3, 4);

/* Record the first problem of the rule being parsed; always -1. */
static int
perr(struct pk_rule_parse *p, const char *reason, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return -1;
	p->failed = 1;
	pk_strlcpy(p->reason, reason, sizeof(p->reason));
	if (fmt == NULL) {
		pk_strlcpy(p->msg, reason, sizeof(p->msg));
		return -1;
	}
	va_start(ap, fmt);
	vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* "unsupported keyword "X"" is both the reason and the message. */
static int
unsupported(struct pk_rule_parse *p, const char *what, const char *name)
{
	char r[96];

	snprintf(r, sizeof(r), "unsupported %s \"%.48s\"", what, name);
	return perr(p, r, NULL);
}

/* ---- small lexing helpers ---------------------------------------------- */

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
	    c == '\v';
}

static int
ascii_caseeq(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++)
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return 0;
	return *a == *b;
}

/* Trim in place; returns the start. */
static char *
trim(char *s)
{
	size_t n;

	while (is_space((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && is_space((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Strict decimal: digits only, at most max. */
static int
parse_dec(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (s == NULL || s[0] == '\0')
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 12)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static int
parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	uint64_t v;
	int neg = 0;

	if (s[0] == '-') {
		neg = 1;
		s++;
	}
	if (parse_dec(s, (uint64_t)INT64_MAX / 2, &v) == -1)
		return -1;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return *out < min || *out > max ? -1 : 0;
}

/* ---- variables ---------------------------------------------------------- */

static const char *
var_value(const struct pk_ruleset *rs, const char *name, int *builtin_home,
    int *found)
{
	const char *v;
	size_t i;

	*builtin_home = 0;
	*found = 1;
	if (rs->cfg != NULL && (v = pk_config_var(rs->cfg, name)) != NULL)
		return v;
	for (i = 0; i < PK_NELEM(builtin_vars); i++)
		if (strcmp(builtin_vars[i].name, name) == 0) {
			if (builtin_vars[i].value == NULL)
				*builtin_home = 1;
			return builtin_vars[i].value;
		}
	*found = 0;
	return NULL;
}

/* ---- address and port lists ---------------------------------------------- */

struct cur {
	const char	*s;
	size_t		 i, n;
};

static void
cur_skip(struct cur *c)
{
	while (c->i < c->n && is_space((unsigned char)c->s[c->i]))
		c->i++;
}

static int
new_node(struct pk_rule_parse *p, int is_port, uint16_t *idx)
{
	struct pk_rule_node *n;

	if (p->nnodes >= PK_RULE_MAX_NODES)
		return perr(p, is_port ? "port list too long" :
		    "address list too long", "%s list longer than %d elements",
		    is_port ? "port" : "address", PK_RULE_MAX_NODES);
	*idx = p->nnodes++;
	n = &p->cur[*idx];
	memset(n, 0, sizeof(*n));
	n->size = 1;
	return 0;
}

static int parse_elem(struct pk_rule_parse *, struct cur *, int, int);

static int
parse_var(struct pk_rule_parse *p, struct cur *c, int is_port, int depth)
{
	char name[PK_CFG_VAR_NAME_MAX + 1];
	const char *v;
	struct cur vc;
	size_t k = 0;
	uint16_t idx = 0;
	int home, found;

	c->i++;		/* '$' */
	while (c->i < c->n && (isalnum((unsigned char)c->s[c->i]) ||
	    c->s[c->i] == '_')) {
		if (k >= sizeof(name) - 1)
			return perr(p, "bad variable", "variable name too long");
		name[k++] = c->s[c->i++];
	}
	name[k] = '\0';
	if (k == 0)
		return perr(p, "bad variable", "'$' without a name");
	v = var_value(p->rs, name, &home, &found);
	if (!found)
		return perr(p, "unknown variable", "unknown variable \"$%s\"",
		    name);
	if (home) {
		if (is_port)
			return perr(p, "bad port", "$%s is an address "
			    "variable", name);
		if (new_node(p, is_port, &idx) == -1)
			return -1;
		p->cur[idx].kind = PK_RN_HOME;
		return 0;
	}
	vc.s = v;
	vc.i = 0;
	vc.n = strlen(v);
	if (parse_elem(p, &vc, is_port, depth + 1) == -1)
		return -1;
	cur_skip(&vc);
	if (vc.i != vc.n)
		return perr(p, is_port ? "bad port" : "bad address",
		    "bad value of $%s: \"%.64s\"", name, v);
	return 0;
}

static int
parse_port_lit(struct pk_rule_parse *p, const char *t, struct pk_rule_node *n)
{
	const char *colon = strchr(t, ':');
	char a[16], b[16];
	uint64_t lo = 0, hi = 65535;
	size_t la;

	if (ascii_caseeq(t, "any")) {
		n->kind = PK_RN_ANY;
		return 0;
	}
	if (colon == NULL) {
		if (parse_dec(t, 65535, &lo) == -1)
			return perr(p, "bad port", "bad port \"%.32s\"", t);
		n->kind = PK_RN_RANGE;
		n->lo = n->hi = (uint16_t)lo;
		return 0;
	}
	la = (size_t)(colon - t);
	if (la >= sizeof(a) || strlen(colon + 1) >= sizeof(b))
		return perr(p, "bad port", "bad port range \"%.32s\"", t);
	memcpy(a, t, la);
	a[la] = '\0';
	pk_strlcpy(b, colon + 1, sizeof(b));
	if ((la > 0 && parse_dec(a, 65535, &lo) == -1) ||
	    (b[0] != '\0' && parse_dec(b, 65535, &hi) == -1) ||
	    (la == 0 && b[0] == '\0') || lo > hi)
		return perr(p, "bad port", "bad port range \"%.32s\"", t);
	n->kind = PK_RN_RANGE;
	n->lo = (uint16_t)lo;
	n->hi = (uint16_t)hi;
	return 0;
}

static int
parse_lit(struct pk_rule_parse *p, struct cur *c, int is_port)
{
	char t[64];
	size_t k = 0;
	uint16_t idx = 0;
	struct pk_rule_node *n;

	while (c->i < c->n && c->s[c->i] != ',' && c->s[c->i] != ']' &&
	    c->s[c->i] != '[' && !is_space((unsigned char)c->s[c->i])) {
		if (k >= sizeof(t) - 1)
			return perr(p, is_port ? "bad port" : "bad address",
			    "%s too long", is_port ? "port" : "address");
		t[k++] = c->s[c->i++];
	}
	t[k] = '\0';
	if (k == 0)
		return perr(p, is_port ? "bad port" : "bad address",
		    "empty %s", is_port ? "port" : "address");
	if (new_node(p, is_port, &idx) == -1)
		return -1;
	n = &p->cur[idx];
	if (is_port)
		return parse_port_lit(p, t, n);
	if (ascii_caseeq(t, "any")) {
		n->kind = PK_RN_ANY;
		return 0;
	}
	if (pk_cidr_parse(t, &n->cidr) == -1)
		return perr(p, "bad address", "bad address \"%.48s\"", t);
	n->kind = PK_RN_CIDR;
	return 0;
}

static int
parse_group(struct pk_rule_parse *p, struct cur *c, int is_port, int depth)
{
	uint16_t idx = 0;
	int nchild = 0;

	if (new_node(p, is_port, &idx) == -1)
		return -1;
	p->cur[idx].kind = PK_RN_GROUP;
	c->i++;		/* '[' */
	for (;;) {
		cur_skip(c);
		if (c->i < c->n && c->s[c->i] == ']' && nchild == 0)
			return perr(p, is_port ? "bad port" : "bad address",
			    "empty list");
		if (parse_elem(p, c, is_port, depth + 1) == -1)
			return -1;
		nchild++;
		cur_skip(c);
		if (c->i >= c->n)
			return perr(p, is_port ? "bad port" : "bad address",
			    "unterminated list");
		if (c->s[c->i] == ']') {
			c->i++;
			break;
		}
		if (c->s[c->i] != ',')
			return perr(p, is_port ? "bad port" : "bad address",
			    "bad list separator '%c'", c->s[c->i]);
		c->i++;
	}
	p->cur[idx].size = (uint16_t)(p->nnodes - idx);
	return 0;
}

static int
parse_elem(struct pk_rule_parse *p, struct cur *c, int is_port, int depth)
{
	uint16_t start;

	if (depth > PK_RULE_MAX_NEST)
		return perr(p, is_port ? "bad port" : "bad address",
		    "lists or variables nested deeper than %d",
		    PK_RULE_MAX_NEST);
	cur_skip(c);
	if (c->i >= c->n)
		return perr(p, is_port ? "bad port" : "bad address",
		    "missing %s", is_port ? "port" : "address");
	start = p->nnodes;
	switch (c->s[c->i]) {
	case '!':
		c->i++;
		if (parse_elem(p, c, is_port, depth + 1) == -1)
			return -1;
		p->cur[start].neg ^= 1;
		return 0;
	case '[':
		return parse_group(p, c, is_port, depth);
	case '$':
		return parse_var(p, c, is_port, depth);
	default:
		return parse_lit(p, c, is_port);
	}
}

static int
parse_list(struct pk_rule_parse *p, const char *s, int is_port, int which,
    struct pk_rule_list *out)
{
	struct cur c;
	struct pk_rule_node *n;

	p->cur = p->nodes[which];
	p->nnodes = 0;
	c.s = s;
	c.i = 0;
	c.n = strlen(s);
	if (parse_elem(p, &c, is_port, 0) == -1)
		return -1;
	cur_skip(&c);
	if (c.i != c.n)
		return perr(p, is_port ? "bad port" : "bad address",
		    "trailing text in %s \"%.48s\"", is_port ? "port" :
		    "address", s);
	n = p->cur;
	if (n[0].kind == PK_RN_ANY && n[0].neg)
		return perr(p, is_port ? "bad port" : "bad address",
		    "\"!any\" matches nothing");
	out->n = p->cur;
	out->len = p->nnodes;
	out->any = p->nnodes == 1 && n[0].kind == PK_RN_ANY;
	out->single = p->nnodes == 1 && n[0].kind == PK_RN_RANGE &&
	    !n[0].neg && n[0].lo == n[0].hi ? n[0].lo : -1;
	return 0;
}

/* ---- content ------------------------------------------------------------- */

/*
 * Decode a quoted value: text, |hex| blocks (if allow_hex), and the
 * escapes \; \" \\ \:.  v is the whole trimmed value with its quotes.
 */
static int
unquote(struct pk_rule_parse *p, const char *v, int allow_hex,
    uint8_t *out, size_t cap, size_t *outlen, const char *what)
{
	size_t n = strlen(v), i, k = 0;
	int hex = 0, nib = -1, h;

	if (n < 2 || v[0] != '"' || v[n - 1] != '"')
		return perr(p, "bad quoting", "%s must be in double quotes",
		    what);
	for (i = 1; i < n - 1; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (hex) {
			if (ch == '|') {
				if (nib >= 0)
					return perr(p, "bad content", "odd "
					    "number of hex digits in %s", what);
				hex = 0;
			} else if (is_space(ch)) {
				if (nib >= 0)
					return perr(p, "bad content", "split "
					    "hex byte in %s", what);
			} else if ((h = pk_hexval(ch)) >= 0) {
				if (nib < 0)
					nib = h;
				else {
					if (k >= cap)
						goto toolong;
					out[k++] = (uint8_t)(nib << 4 | h);
					nib = -1;
				}
			} else
				return perr(p, "bad content", "bad hex digit "
				    "'%c' in %s", ch, what);
			continue;
		}
		if (ch == '|' && allow_hex) {
			hex = 1;
			continue;
		}
		if (ch == '\\') {
			if (i + 1 >= n - 1 || (v[i + 1] != ';' &&
			    v[i + 1] != '"' && v[i + 1] != '\\' &&
			    v[i + 1] != ':'))
				return perr(p, "bad escape", "bad escape in "
				    "%s (only \\; \\\" \\\\ \\:)", what);
			ch = (unsigned char)v[++i];
		} else if (ch == '"')
			return perr(p, "bad quoting", "unescaped '\"' in %s",
			    what);
		if (k >= cap)
			goto toolong;
		out[k++] = ch;
	}
	if (hex)
		return perr(p, "bad content", "unterminated |hex| in %s",
		    what);
	*outlen = k;
	return 0;
toolong:
	return perr(p, "content too long", "%s longer than %zu bytes", what,
	    cap);
}

static int
kw_content(struct pk_rule_parse *p, char *v)
{
	struct pk_rule_content *c;
	size_t len;
	int neg = 0;

	if (v == NULL)
		return perr(p, "bad content", "content needs a value");
	if (p->r.ncontents >= PK_RULE_MAX_CONTENTS)
		return perr(p, "too many contents", "more than %d contents",
		    PK_RULE_MAX_CONTENTS);
	if (*v == '!') {
		neg = 1;
		v = trim(v + 1);
	}
	c = &p->c[p->r.ncontents];
	memset(c, 0, sizeof(*c));
	if (unquote(p, v, 1, p->pat[p->r.ncontents], PK_RULE_MAX_PATTERN,
	    &len, "content") == -1)
		return -1;
	if (len == 0)
		return perr(p, "bad content", "empty content");
	c->pat = p->pat[p->r.ncontents];
	c->len = (uint16_t)len;
	c->negated = (uint8_t)neg;
	p->last = p->r.ncontents++;
	return 0;
}

static struct pk_rule_content *
last_content(struct pk_rule_parse *p, const char *kw)
{
	if (p->last < 0) {
		perr(p, "modifier without content", "%s without a preceding "
		    "content", kw);
		return NULL;
	}
	return &p->c[p->last];
}

static int
kw_nocase(struct pk_rule_parse *p, char *v)
{
	struct pk_rule_content *c;

	if ((c = last_content(p, "nocase")) == NULL)
		return -1;
	if (v != NULL)
		return perr(p, "bad content modifier", "nocase takes no value");
	if (c->nocase)
		return perr(p, "bad content modifier", "nocase twice");
	c->nocase = 1;
	return 0;
}

static int
kw_rawbytes(struct pk_rule_parse *p, char *v)
{
	/* Suricata: no effect, kept for Snort rules. */
	if (last_content(p, "rawbytes") == NULL)
		return -1;
	(void)v;
	return 0;
}

static int
kw_fast_pattern(struct pk_rule_parse *p, char *v)
{
	struct pk_rule_content *c;
	int i;

	if ((c = last_content(p, "fast_pattern")) == NULL)
		return -1;
	if (v != NULL && strcmp(v, "only") != 0)
		return unsupported(p, "keyword", "fast_pattern:<offset>,<length>");
	if (c->negated)
		return perr(p, "bad content modifier", "fast_pattern on a "
		    "negated content");
	for (i = 0; i < p->r.ncontents; i++)
		if (p->c[i].fast)
			return perr(p, "bad content modifier", "fast_pattern "
			    "on two contents");
	c->fast = 1;
	c->fast_only = v != NULL;
	return 0;
}

static int
kw_posmod(struct pk_rule_parse *p, const char *kw, char *v)
{
	struct pk_rule_content *c;
	int64_t x;
	int rel = kw[0] == 'd' && kw[1] == 'i' ? 1 : kw[0] == 'w';

	if ((c = last_content(p, kw)) == NULL)
		return -1;
	if (v == NULL)
		return perr(p, "bad content modifier", "%s needs a value", kw);
	if (parse_int(v, rel ? -PK_RULE_DISTANCE_MAX : 0,
	    PK_RULE_DISTANCE_MAX, &x) == -1)
		return perr(p, "bad content modifier", "bad %s \"%.32s\"", kw,
		    v);
	if (rel ? (c->has_offset || c->has_depth) :
	    (c->has_distance || c->has_within))
		return perr(p, "bad content modifier", "%s mixes relative "
		    "(distance, within) and absolute (offset, depth) "
		    "modifiers", kw);
	if (c->fast_only)
		return perr(p, "bad content modifier", "%s with "
		    "fast_pattern:only", kw);
	switch (kw[0]) {
	case 'o':
		if (c->has_offset)
			goto twice;
		c->has_offset = 1;
		c->offset = (uint32_t)x;
		break;
	case 'd':
		if (rel) {
			if (c->has_distance)
				goto twice;
			c->has_distance = 1;
			c->distance = (int32_t)x;
			c->relative = 1;
			break;
		}
		if (c->has_depth)
			goto twice;
		if (x < c->len)
			return perr(p, "bad content modifier", "depth %lld "
			    "less than the content length %u", (long long)x,
			    c->len);
		c->has_depth = 1;
		c->depth = (uint32_t)x;
		break;
	default:
		if (c->has_within)
			goto twice;
		if (x < c->len)
			return perr(p, "bad content modifier", "within %lld "
			    "less than the content length %u", (long long)x,
			    c->len);
		c->has_within = 1;
		c->within = (int32_t)x;
		c->relative = 1;
		break;
	}
	return 0;
twice:
	return perr(p, "bad content modifier", "%s twice for one content", kw);
}

static int kw_offset(struct pk_rule_parse *p, char *v)
{ return kw_posmod(p, "offset", v); }
static int kw_depth(struct pk_rule_parse *p, char *v)
{ return kw_posmod(p, "depth", v); }
static int kw_distance(struct pk_rule_parse *p, char *v)
{ return kw_posmod(p, "distance", v); }
static int kw_within(struct pk_rule_parse *p, char *v)
{ return kw_posmod(p, "within", v); }

/* ---- header-ish options ------------------------------------------------ */

static int
once(struct pk_rule_parse *p, int which, const char *kw)
{
	if (p->seen[which])
		return perr(p, "duplicate keyword", "%s given twice", kw);
	p->seen[which] = 1;
	return 0;
}

static int
kw_dsize(struct pk_rule_parse *p, char *v)
{
	char t[64], *q, *r;
	size_t k = 0;
	uint64_t a, b;
	int op = PK_DS_EQ;

	if (once(p, SEEN_DSIZE, "dsize") == -1)
		return -1;
	if (v == NULL)
		return perr(p, "bad dsize", "dsize needs a value");
	for (q = v; *q != '\0' && k < sizeof(t) - 1; q++)
		if (!is_space((unsigned char)*q))
			t[k++] = *q;
	t[k] = '\0';
	q = t;
	if ((r = strstr(t, "<>")) != NULL) {
		*r = '\0';
		if (parse_dec(t, 65535, &a) == -1 ||
		    parse_dec(r + 2, 65535, &b) == -1 || a >= b)
			return perr(p, "bad dsize", "bad dsize \"%.32s\"", v);
		p->r.dsize_op = PK_DS_RANGE;
		p->r.dsize_lo = (uint16_t)a;
		p->r.dsize_hi = (uint16_t)b;
		return 0;
	}
	if (q[0] == '<' && q[1] == '=') {
		op = PK_DS_LE;
		q += 2;
	} else if (q[0] == '>' && q[1] == '=') {
		op = PK_DS_GE;
		q += 2;
	} else if (q[0] == '<') {
		op = PK_DS_LT;
		q++;
	} else if (q[0] == '>') {
		op = PK_DS_GT;
		q++;
	} else if (q[0] == '!') {
		op = PK_DS_NE;
		q++;
	} else if (q[0] == '=')
		q++;
	if (parse_dec(q, 65535, &a) == -1 || (op == PK_DS_LT && a == 0) ||
	    (op == PK_DS_GT && a == 65535))
		return perr(p, "bad dsize", "bad dsize \"%.32s\"", v);
	p->r.dsize_op = (uint8_t)op;
	p->r.dsize_lo = p->r.dsize_hi = (uint16_t)a;
	return 0;
}

static int
flag_bit(int ch)
{
	switch (toupper(ch)) {
	case 'F': return PK_TH_FIN;
	case 'S': return PK_TH_SYN;
	case 'R': return PK_TH_RST;
	case 'P': return PK_TH_PUSH;
	case 'A': return PK_TH_ACK;
	case 'U': return PK_TH_URG;
	case 'C': case '1': return PK_TH_CWR;
	case 'E': case '2': return PK_TH_ECE;
	default: return -1;
	}
}

static int
kw_flags(struct pk_rule_parse *p, char *v)
{
	char *comma, *q;
	int mod = -1, b, zero = 0;
	uint8_t val = 0, ign = 0;

	if (once(p, SEEN_FLAGS, "flags") == -1)
		return -1;
	if (v == NULL)
		return perr(p, "bad flags", "flags needs a value");
	if ((comma = strchr(v, ',')) != NULL)
		*comma++ = '\0';
	for (q = trim(v); *q != '\0'; q++) {
		if (*q == '+' || *q == '*' || *q == '!') {
			if (mod >= 0)
				return perr(p, "bad flags", "two flags "
				    "modifiers");
			mod = *q == '+' ? PK_FM_PLUS : *q == '*' ? PK_FM_ANY :
			    PK_FM_NOT;
		} else if (*q == '0')
			zero = 1;
		else if ((b = flag_bit((unsigned char)*q)) >= 0)
			val |= (uint8_t)b;
		else
			return perr(p, "bad flags", "bad flag '%c'", *q);
	}
	if ((zero && val != 0) || (!zero && val == 0))
		return perr(p, "bad flags", "bad flags \"%.16s\"", v);
	if (comma != NULL) {
		for (q = trim(comma); *q != '\0'; q++)
			if ((b = flag_bit((unsigned char)*q)) >= 0)
				ign |= (uint8_t)b;
			else
				return perr(p, "bad flags", "bad flag '%c' in "
				    "the mask", *q);
	}
	p->r.has_flags = 1;
	p->r.flags_mod = (uint8_t)(mod < 0 ? PK_FM_EXACT : mod);
	p->r.flags_val = val;
	p->r.flags_keep = (uint8_t)~ign;
	return 0;
}

static int
kw_flow(struct pk_rule_parse *p, char *v)
{
	static const struct { const char *n; uint8_t bit; } opts[] = {
		{ "to_server", PK_FLOW_TO_SERVER },
		{ "from_client", PK_FLOW_TO_SERVER },
		{ "to_client", PK_FLOW_TO_CLIENT },
		{ "from_server", PK_FLOW_TO_CLIENT },
		{ "established", PK_FLOW_ESTABLISHED },
		{ "not_established", PK_FLOW_NOT_ESTABLISHED },
		{ "stateless", PK_FLOW_STATELESS },
		{ "only_stream", PK_FLOW_ONLY_STREAM },
		{ "no_stream", PK_FLOW_NO_STREAM },
	};
	char *tok, *next;
	size_t i;
	uint8_t f = 0;

	if (once(p, SEEN_FLOW, "flow") == -1)
		return -1;
	if (v == NULL)
		return perr(p, "bad flow", "flow needs a value");
	for (tok = v; tok != NULL; tok = next) {
		if ((next = strchr(tok, ',')) != NULL)
			*next++ = '\0';
		tok = trim(tok);
		for (i = 0; i < PK_NELEM(opts); i++)
			if (strcmp(tok, opts[i].n) == 0)
				break;
		if (i == PK_NELEM(opts)) {
			if (strcmp(tok, "only_frag") == 0 ||
			    strcmp(tok, "no_frag") == 0)
				return unsupported(p, "flow option", tok);
			return perr(p, "bad flow", "bad flow option "
			    "\"%.32s\"", tok);
		}
		f |= opts[i].bit;
	}
	if ((f & PK_FLOW_TO_SERVER && f & PK_FLOW_TO_CLIENT) ||
	    (f & PK_FLOW_ESTABLISHED && f & PK_FLOW_NOT_ESTABLISHED) ||
	    (f & PK_FLOW_ONLY_STREAM && f & PK_FLOW_NO_STREAM))
		return perr(p, "bad flow", "conflicting flow options");
	p->r.flow = f;
	return 0;
}

/* threshold / detection_filter: "key value, key value, ..." */
static int
parse_thresh(struct pk_rule_parse *p, char *v, int df)
{
	const char *kw = df ? "detection_filter" : "threshold";
	char *tok, *next, *sp;
	int type = df ? PK_RT_DETECTION : -1, track = -1;
	int64_t count = -1, secs = -1;

	if (p->has_th || p->has_df)
		return perr(p, "bad threshold", "more than one threshold or "
		    "detection_filter");
	if (v == NULL)
		return perr(p, "bad threshold", "%s needs a value", kw);
	for (tok = v; tok != NULL; tok = next) {
		if ((next = strchr(tok, ',')) != NULL)
			*next++ = '\0';
		tok = trim(tok);
		if ((sp = strpbrk(tok, " \t")) == NULL)
			return perr(p, "bad threshold", "bad %s part "
			    "\"%.32s\"", kw, tok);
		*sp++ = '\0';
		sp = trim(sp);
		if (!df && strcmp(tok, "type") == 0) {
			if (strcmp(sp, "limit") == 0)
				type = PK_RT_LIMIT;
			else if (strcmp(sp, "threshold") == 0)
				type = PK_RT_THRESHOLD;
			else if (strcmp(sp, "both") == 0)
				type = PK_RT_BOTH;
			else if (strcmp(sp, "backoff") == 0)
				return unsupported(p, "threshold type", sp);
			else
				return perr(p, "bad threshold", "bad "
				    "threshold type \"%.32s\"", sp);
		} else if (strcmp(tok, "track") == 0) {
			if (strcmp(sp, "by_src") == 0)
				track = PK_TRACK_SRC;
			else if (strcmp(sp, "by_dst") == 0)
				track = PK_TRACK_DST;
			else if (strcmp(sp, "by_both") == 0)
				track = PK_TRACK_BOTH;
			else if (strcmp(sp, "by_rule") == 0)
				track = PK_TRACK_RULE;
			else if (strcmp(sp, "by_flow") == 0)
				return unsupported(p, "threshold track", sp);
			else
				return perr(p, "bad threshold", "bad track "
				    "\"%.32s\"", sp);
		} else if (strcmp(tok, "count") == 0) {
			if (parse_int(sp, 1, UINT32_MAX, &count) == -1)
				return perr(p, "bad threshold", "bad count "
				    "\"%.32s\"", sp);
		} else if (strcmp(tok, "seconds") == 0) {
			if (parse_int(sp, 1, 86400 * 366, &secs) == -1)
				return perr(p, "bad threshold", "bad seconds "
				    "\"%.32s\"", sp);
		} else if (strcmp(tok, "multiplier") == 0 ||
		    strcmp(tok, "unique_on") == 0)
			return unsupported(p, "threshold option", tok);
		else
			return perr(p, "bad threshold", "bad %s part "
			    "\"%.32s\"", kw, tok);
	}
	if (type < 0 || track < 0 || count < 0 || secs < 0)
		return perr(p, "bad threshold", "%s needs%s track, count and "
		    "seconds", kw, df ? "" : " type,");
	p->r.th_type = (uint8_t)type;
	p->r.th_track = (uint8_t)track;
	p->r.th_count = (uint32_t)count;
	p->r.th_seconds = (uint32_t)secs;
	if (df)
		p->has_df = 1;
	else
		p->has_th = 1;
	return 0;
}

static int kw_threshold(struct pk_rule_parse *p, char *v)
{ return parse_thresh(p, v, 0); }
static int kw_detection_filter(struct pk_rule_parse *p, char *v)
{ return parse_thresh(p, v, 1); }

/* ---- meta options ------------------------------------------------------ */

static int
kw_num(struct pk_rule_parse *p, char *v, int which, const char *kw,
    uint64_t min, uint64_t max, uint64_t *out)
{
	if (once(p, which, kw) == -1)
		return -1;
	if (v == NULL || parse_dec(v, max, out) == -1 || *out < min)
		return perr(p, "bad meta keyword", "bad %s \"%.32s\"", kw,
		    v != NULL ? v : "");
	return 0;
}

static int
kw_sid(struct pk_rule_parse *p, char *v)
{
	uint64_t x;

	if (kw_num(p, v, SEEN_SID, "sid", 1, UINT32_MAX, &x) == -1)
		return -1;
	p->r.sid = (uint32_t)x;
	p->sid = (int64_t)x;
	return 0;
}

static int
kw_rev(struct pk_rule_parse *p, char *v)
{
	uint64_t x;

	if (kw_num(p, v, SEEN_REV, "rev", 0, UINT32_MAX, &x) == -1)
		return -1;
	p->r.rev = (uint32_t)x;
	return 0;
}

static int
kw_gid(struct pk_rule_parse *p, char *v)
{
	uint64_t x;

	if (kw_num(p, v, SEEN_GID, "gid", 1, UINT32_MAX, &x) == -1)
		return -1;
	p->r.gid = (uint32_t)x;
	return 0;
}

static int
kw_priority(struct pk_rule_parse *p, char *v)
{
	uint64_t x;

	if (kw_num(p, v, SEEN_PRIO, "priority", 1, 255, &x) == -1)
		return -1;
	p->r.priority = (uint8_t)x;
	return 0;
}

static int
kw_msg(struct pk_rule_parse *p, char *v)
{
	uint8_t buf[PK_RULE_MAX_MSG * 4];
	size_t n, i, k = 0;

	if (once(p, SEEN_MSG, "msg") == -1)
		return -1;
	if (v == NULL)
		return perr(p, "bad meta keyword", "msg needs a value");
	if (unquote(p, v, 0, buf, sizeof(buf), &n, "msg") == -1) {
		/* an over-long message is cut, not an error */
		if (strcmp(p->reason, "content too long") != 0)
			return -1;
		p->failed = 0;
		n = sizeof(buf);
	}
	for (i = 0; i < n && k < sizeof(p->msgtext) - 1; i++)
		if (buf[i] >= 0x20 && buf[i] != 0x7f)
			p->msgtext[k++] = (char)buf[i];
	p->msgtext[k] = '\0';
	return 0;
}

static int
kw_classtype(struct pk_rule_parse *p, char *v)
{
	size_t i;

	if (once(p, SEEN_CLASS, "classtype") == -1)
		return -1;
	if (v == NULL || v[0] == '\0' || strlen(v) >= sizeof(p->classtype))
		return perr(p, "bad meta keyword", "bad classtype");
	for (i = 0; v[i] != '\0'; i++)
		if (!isalnum((unsigned char)v[i]) && v[i] != '-' &&
		    v[i] != '_' && v[i] != '.')
			return perr(p, "bad meta keyword", "bad classtype "
			    "\"%.48s\"", v);
	pk_strlcpy(p->classtype, v, sizeof(p->classtype));
	return 0;
}

/*
 * reference:SCHEME,VALUE.  The first one is kept as "SCHEME:VALUE"
 * ("cve:2003-0352"); for url references just the VALUE.
 */
static int
kw_reference(struct pk_rule_parse *p, char *v)
{
	char *comma, *val;
	size_t i, k = 0;

	if (v == NULL || (comma = strchr(v, ',')) == NULL)
		return perr(p, "bad meta keyword", "reference needs "
		    "SCHEME,VALUE");
	*comma = '\0';
	val = trim(comma + 1);
	v = trim(v);
	if (v[0] == '\0' || val[0] == '\0')
		return perr(p, "bad meta keyword", "reference needs "
		    "SCHEME,VALUE");
	if (p->reference[0] != '\0')
		return 0;
	if (strcmp(v, "url") != 0)
		k = (size_t)snprintf(p->reference, sizeof(p->reference),
		    "%.32s:", v);
	for (i = 0; val[i] != '\0' && k < sizeof(p->reference) - 1; i++)
		if ((unsigned char)val[i] >= 0x20 && val[i] != 0x7f)
			p->reference[k++] = val[i];
	p->reference[k] = '\0';
	return 0;
}

static int
kw_ignore(struct pk_rule_parse *p, char *v)
{
	(void)p;
	(void)v;
	return 0;
}

static const struct {
	const char	*name;
	int		(*fn)(struct pk_rule_parse *, char *);
} keywords[] = {
	{ "msg", kw_msg },
	{ "content", kw_content },
	{ "nocase", kw_nocase },
	{ "rawbytes", kw_rawbytes },
	{ "fast_pattern", kw_fast_pattern },
	{ "offset", kw_offset },
	{ "depth", kw_depth },
	{ "distance", kw_distance },
	{ "within", kw_within },
	{ "dsize", kw_dsize },
	{ "flags", kw_flags },
	{ "flow", kw_flow },
	{ "threshold", kw_threshold },
	{ "detection_filter", kw_detection_filter },
	{ "sid", kw_sid },
	{ "rev", kw_rev },
	{ "gid", kw_gid },
	{ "classtype", kw_classtype },
	{ "reference", kw_reference },
	{ "metadata", kw_ignore },
	{ "priority", kw_priority },
};

static int
dispatch(struct pk_rule_parse *p, const char *name, char *val)
{
	size_t i;

	for (i = 0; name[i] != '\0'; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_' &&
		    name[i] != '.' && name[i] != '-')
			return perr(p, "bad option", "bad option name "
			    "\"%.32s\"", name);
	for (i = 0; i < PK_NELEM(keywords); i++)
		if (strcmp(keywords[i].name, name) == 0)
			return keywords[i].fn(p, val);
	return unsupported(p, "keyword", name);
}

/* Options between the parentheses: name[:value]; ... */
static int
parse_options(struct pk_rule_parse *p, const char *s, size_t n)
{
	size_t i = 0, k, nl, vs, ve;
	char name[64];
	char *val;

	for (;;) {
		while (i < n && is_space((unsigned char)s[i]))
			i++;
		if (i >= n)
			return 0;
		k = i;
		while (i < n && s[i] != ':' && s[i] != ';')
			i++;
		nl = i - k;
		while (nl > 0 && is_space((unsigned char)s[k + nl - 1]))
			nl--;
		if (nl == 0 || nl >= sizeof(name))
			return perr(p, "bad option", "bad option near "
			    "\"%.24s\"", s + k);
		memcpy(name, s + k, nl);
		name[nl] = '\0';
		val = NULL;
		if (i < n && s[i] == ':') {
			vs = ++i;
			while (i < n && s[i] != ';') {
				if (s[i] == '\\' && i + 1 < n)
					i++;
				i++;
			}
			ve = i < n ? i : n;
			memcpy(p->val, s + vs, ve - vs);
			p->val[ve - vs] = '\0';
			val = trim(p->val);
		}
		if (i < n)
			i++;	/* ';' */
		if (dispatch(p, name, val) == -1)
			return -1;
	}
}

/* ---- the rule ------------------------------------------------------------ */

/* Next header token (brackets may hold spaces); NULL at '(' or end. */
static const char *
header_token(const char *s, size_t n, size_t *i, size_t *len)
{
	size_t start;
	int depth = 0;

	while (*i < n && is_space((unsigned char)s[*i]))
		(*i)++;
	if (*i >= n || s[*i] == '(')
		return NULL;
	start = *i;
	while (*i < n) {
		char ch = s[*i];

		if (ch == '[')
			depth++;
		else if (ch == ']')
			depth--;
		else if (depth <= 0 && (is_space((unsigned char)ch) ||
		    ch == '('))
			break;
		(*i)++;
	}
	*len = *i - start;
	return s + start;
}

/* Find "sid:N" before parsing, so every message can name the rule. */
static int64_t
prescan_sid(const char *s, size_t n)
{
	size_t i;
	uint64_t v;
	int digits;

	for (i = 0; i + 3 < n; i++) {
		if (strncmp(s + i, "sid", 3) != 0 || (i > 0 &&
		    s[i - 1] != ';' && s[i - 1] != '(' &&
		    !is_space((unsigned char)s[i - 1])))
			continue;
		i += 3;
		while (i < n && is_space((unsigned char)s[i]))
			i++;
		if (i >= n || s[i] != ':')
			continue;
		i++;
		while (i < n && is_space((unsigned char)s[i]))
			i++;
		for (v = 0, digits = 0; i < n && s[i] >= '0' && s[i] <= '9' &&
		    digits < 11; i++, digits++)
			v = v * 10 + (uint64_t)(s[i] - '0');
		if (digits > 0 && v > 0 && v <= UINT32_MAX)
			return (int64_t)v;
	}
	return -1;
}

static int
parse_header(struct pk_rule_parse *p, const char *s, size_t n, size_t *i)
{
	const char *t[7];
	size_t tl[7], k;
	char *tok = p->tok;

	for (k = 0; k < 7; k++)
		if ((t[k] = header_token(s, n, i, &tl[k])) == NULL)
			return perr(p, "bad header", "incomplete rule header");
	memcpy(tok, t[0], tl[0]);
	tok[tl[0]] = '\0';
	if (strcmp(tok, "alert") != 0) {
		for (k = 0; k < PK_NELEM(other_actions); k++)
			if (strcmp(tok, other_actions[k]) == 0)
				return unsupported(p, "action", tok);
		return perr(p, "bad action", "bad action \"%.32s\"", tok);
	}
	memcpy(tok, t[1], tl[1]);
	tok[tl[1]] = '\0';
	if (ascii_caseeq(tok, "tcp"))
		p->r.proto = PK_RP_TCP;
	else if (ascii_caseeq(tok, "udp"))
		p->r.proto = PK_RP_UDP;
	else if (ascii_caseeq(tok, "icmp"))
		p->r.proto = PK_RP_ICMP;
	else if (ascii_caseeq(tok, "ip"))
		p->r.proto = PK_RP_IP;
	else
		return unsupported(p, "protocol", tok);
	if (tl[4] == 2 && memcmp(t[4], "->", 2) == 0)
		p->r.bidir = 0;
	else if (tl[4] == 2 && memcmp(t[4], "<>", 2) == 0)
		p->r.bidir = 1;
	else
		return perr(p, "bad direction", "bad direction \"%.*s\"",
		    (int)PK_MIN(tl[4], 8), t[4]);
	for (k = 2; k < 7; k++) {
		static const int which[7] = { 0, 0, 0, 1, 0, 2, 3 };
		static const int isport[7] = { 0, 0, 0, 1, 0, 0, 1 };
		struct pk_rule_list *l[7] = { NULL, NULL, &p->r.src,
		    &p->r.sport, NULL, &p->r.dst, &p->r.dport };

		if (k == 4)
			continue;
		memcpy(tok, t[k], tl[k]);
		tok[tl[k]] = '\0';
		if (parse_list(p, tok, isport[k], which[k], l[k]) == -1)
			return -1;
	}
	return 0;
}

static void
parse_reset(struct pk_rule_parse *p)
{
	memset(&p->r, 0, sizeof(p->r));
	memset(p->seen, 0, sizeof(p->seen));
	p->r.gid = 1;
	p->r.fast = -1;
	p->failed = 0;
	p->last = -1;
	p->has_th = p->has_df = 0;
	p->msgtext[0] = p->classtype[0] = p->reference[0] = '\0';
}

/* Pick the prefilter content: fast_pattern, else the longest positive. */
static void
choose_fast(struct pk_rule_parse *p)
{
	int i, best = -1;

	for (i = 0; i < p->r.ncontents; i++) {
		if (p->c[i].negated)
			continue;
		if (p->c[i].fast) {
			best = i;
			break;
		}
		if (best < 0 || p->c[i].len > p->c[best].len)
			best = i;
	}
	p->r.fast = (int8_t)best;
	for (i = 1; i < p->r.ncontents; i++)
		if (p->c[i].relative)
			p->c[i - 1].relative_next = 1;
}

static int
parse_rule(struct pk_rule_parse *p, const char *s, size_t n)
{
	size_t i = 0, end;
	size_t k;

	parse_reset(p);
	p->sid = prescan_sid(s, n);
	if (parse_header(p, s, n, &i) == -1)
		return -1;
	while (i < n && is_space((unsigned char)s[i]))
		i++;
	if (i >= n || s[i] != '(')
		return perr(p, "bad header", "expected '(' after the header");
	end = n;
	while (end > i && is_space((unsigned char)s[end - 1]))
		end--;
	if (end <= i + 1 || s[end - 1] != ')')
		return perr(p, "bad options", "options not closed by ')'");
	if (parse_options(p, s + i + 1, end - i - 2) == -1)
		return -1;
	if (!p->seen[SEEN_SID])
		return perr(p, "no sid", "rule has no sid");
	if (p->r.has_flags && p->r.proto != PK_RP_TCP &&
	    p->r.proto != PK_RP_IP)
		return perr(p, "bad flags", "flags in a rule that is not tcp");
	if (p->r.flow & (PK_FLOW_ONLY_STREAM | PK_FLOW_NO_STREAM) &&
	    p->r.proto != PK_RP_TCP)
		return perr(p, "bad flow", "only_stream/no_stream need tcp");
	if (p->r.dsize_op != PK_DS_NONE &&
	    p->r.flow & PK_FLOW_ONLY_STREAM)
		return perr(p, "bad flow", "dsize with only_stream");
	if (p->r.priority == 0 && p->classtype[0] != '\0')
		for (k = 0; k < PK_NELEM(classtypes); k++)
			if (strcmp(classtypes[k].name, p->classtype) == 0)
				p->r.priority = classtypes[k].prio;
	choose_fast(p);
	return 0;
}

/* ---- storing ----------------------------------------------------------- */

static void
rule_free(struct pk_rule *r)
{
	uint8_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->ncontents; i++)
		free(r->c[i].pat);
	free(r->c);
	free(r->src.n);
	free(r->sport.n);
	free(r->dst.n);
	free(r->dport.n);
	free(r->msg);
	free(r->classtype);
	free(r->reference);
	free(r);
}

static char *
xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);

	if (d != NULL)
		memcpy(d, s, n);
	return d;
}

static int
copy_list(struct pk_rule_list *l)
{
	struct pk_rule_node *n;

	if ((n = malloc(l->len * sizeof(*n))) == NULL)
		return -1;
	memcpy(n, l->n, l->len * sizeof(*n));
	l->n = n;
	return 0;
}

/* A heap copy of the scratch rule. */
static struct pk_rule *
rule_copy(struct pk_rule_parse *p)
{
	struct pk_rule *r;
	uint8_t i;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	*r = p->r;
	r->src.n = r->sport.n = r->dst.n = r->dport.n = NULL;
	r->c = NULL;
	r->ncontents = 0;
	r->msg = r->classtype = r->reference = NULL;
	r->src = p->r.src;
	r->sport = p->r.sport;
	r->dst = p->r.dst;
	r->dport = p->r.dport;
	if (copy_list(&r->src) == -1) {
		r->src.n = r->sport.n = r->dst.n = r->dport.n = NULL;
		goto fail;
	}
	if (copy_list(&r->sport) == -1) {
		r->sport.n = r->dst.n = r->dport.n = NULL;
		goto fail;
	}
	if (copy_list(&r->dst) == -1) {
		r->dst.n = r->dport.n = NULL;
		goto fail;
	}
	if (copy_list(&r->dport) == -1) {
		r->dport.n = NULL;
		goto fail;
	}
	if (p->r.ncontents > 0) {
		if ((r->c = calloc(p->r.ncontents, sizeof(*r->c))) == NULL)
			goto fail;
		for (i = 0; i < p->r.ncontents; i++) {
			r->c[i] = p->c[i];
			if ((r->c[i].pat = malloc(p->c[i].len)) == NULL)
				goto fail;
			memcpy(r->c[i].pat, p->c[i].pat, p->c[i].len);
			r->ncontents++;
		}
	}
	if ((r->msg = xstrdup(p->msgtext)) == NULL ||
	    (p->classtype[0] != '\0' &&
	    (r->classtype = xstrdup(p->classtype)) == NULL) ||
	    (p->reference[0] != '\0' &&
	    (r->reference = xstrdup(p->reference)) == NULL))
		goto fail;
	return r;
fail:
	rule_free(r);
	return NULL;
}

static uint64_t
sid_hash(uint32_t gid, uint32_t sid)
{
	uint64_t k = (uint64_t)gid << 32 | sid;

	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return k;
}

static int
sidtab_grow(struct pk_ruleset *rs)
{
	size_t nsz = rs->sidmask ? (rs->sidmask + 1) * 2 : 1024, i, j;
	uint32_t *t;

	if ((t = calloc(nsz, sizeof(*t))) == NULL)
		return -1;
	for (i = 0; i < rs->n; i++) {
		const struct pk_rule *r = rs->rules[i];

		j = sid_hash(r->gid, r->sid) & (nsz - 1);
		while (t[j] != 0)
			j = (j + 1) & (nsz - 1);
		t[j] = (uint32_t)i + 1;
	}
	free(rs->sidtab);
	rs->sidtab = t;
	rs->sidmask = nsz - 1;
	return 0;
}

/* Slot of (gid, sid): holds idx + 1, or 0 when free. */
static uint32_t *
sidtab_slot(struct pk_ruleset *rs, uint32_t gid, uint32_t sid)
{
	size_t j = sid_hash(gid, sid) & rs->sidmask;

	while (rs->sidtab[j] != 0) {
		const struct pk_rule *r = rs->rules[rs->sidtab[j] - 1];

		if (r->gid == gid && r->sid == sid)
			break;
		j = (j + 1) & rs->sidmask;
	}
	return &rs->sidtab[j];
}

/* 1 stored, 0 reported (duplicate or limit), -1 no memory. */
static int
store(struct pk_ruleset *rs, struct pk_rule_parse *p, const char *base)
{
	struct pk_rule *r, *old;
	uint32_t *slot;
	char m[96];

	if ((rs->n + 1) * 2 > rs->sidmask + 1 && sidtab_grow(rs) == -1)
		return -1;
	slot = sidtab_slot(rs, p->r.gid, p->r.sid);
	if (*slot != 0) {
		old = rs->rules[*slot - 1];
		if (p->r.rev <= old->rev) {
			snprintf(m, sizeof(m), "duplicate of %s:%u (rev %u "
			    "kept)", old->file, old->line, old->rev);
			report(rs, p->file, p->line, p->sid, "duplicate sid",
			    m);
			return 0;
		}
		if ((r = rule_copy(p)) == NULL)
			return -1;
		snprintf(m, sizeof(m), "duplicate of %s:%u (rev %u kept)",
		    base, p->line, r->rev);
		report(rs, old->file, old->line, old->sid, "duplicate sid", m);
		r->idx = old->idx;
		r->file = base;
		r->line = p->line;
		rs->rules[old->idx] = r;
		rule_free(old);
		return 1;
	}
	if (rs->n >= rs->max_rules) {
		snprintf(m, sizeof(m), "rule limit reached (rules.max_rules "
		    "%llu)", (unsigned long long)rs->max_rules);
		report(rs, p->file, p->line, p->sid, "rule limit reached", m);
		return 0;
	}
	if (rs->n == rs->cap) {
		size_t nc = rs->cap ? rs->cap * 2 : 256;
		struct pk_rule **nr = realloc(rs->rules, nc * sizeof(*nr));

		if (nr == NULL)
			return -1;
		rs->rules = nr;
		rs->cap = nc;
	}
	if ((r = rule_copy(p)) == NULL)
		return -1;
	r->idx = (uint32_t)rs->n;
	r->file = base;
	r->line = p->line;
	rs->rules[rs->n++] = r;
	*slot = (uint32_t)rs->n;
	return 1;
}

/* ---- lines ---------------------------------------------------------------- */

struct loader {
	struct pk_ruleset	*rs;
	const char		*name;	/* for messages */
	const char		*base;	/* owned by rs */
	char			*buf;	/* one rule, lines joined */
	size_t			 len;
	uint32_t		 start;	/* line the rule began on */
	int			 cont;	/* previous line ended in '\' */
	int			 toolong;
	long			 loaded;
	int			 nomem;
};

static void
loader_rule(struct loader *ld)
{
	struct pk_rule_parse *p = ld->rs->scratch;
	int r;

	if (ld->toolong) {
		report(ld->rs, ld->name, ld->start,
		    prescan_sid(ld->buf, ld->len), "rule too long",
		    "rule longer than 65536 bytes");
		return;
	}
	if (ld->rs->compiled) {
		report(ld->rs, ld->name, ld->start, -1, "set already compiled",
		    "set already compiled");
		return;
	}
	p->file = ld->name;
	p->line = ld->start;
	if (parse_rule(p, ld->buf, ld->len) == -1) {
		report(ld->rs, ld->name, ld->start, p->sid, p->reason, p->msg);
		return;
	}
	if ((r = store(ld->rs, p, ld->base)) == -1)
		ld->nomem = 1;
	else
		ld->loaded += r;
}

/* One physical line (no newline). */
static void
loader_line(struct loader *ld, const char *s, size_t n, uint32_t lineno,
    int overflow)
{
	size_t i = 0;
	int more;

	if (n > 0 && s[n - 1] == '\r' && !overflow)
		n--;
	if (!ld->cont) {
		while (i < n && is_space((unsigned char)s[i]))
			i++;
		if ((i == n && !overflow) || (i < n && s[i] == '#'))
			return;	/* blank or comment */
		ld->len = 0;
		ld->toolong = 0;
		ld->start = lineno;
	}
	/* an over-long line is cut: it cannot continue */
	more = !overflow && n > 0 && s[n - 1] == '\\';
	if (more)
		n--;
	if (!ld->toolong) {
		/* keep what fits: the message names the sid if it is there */
		size_t take = n - i;

		if (ld->len + take > PK_RULE_MAX_LINE) {
			take = PK_RULE_MAX_LINE - ld->len;
			ld->toolong = 1;
		}
		memcpy(ld->buf + ld->len, s + i, take);
		ld->len += take;
	}
	if (overflow)
		ld->toolong = 1;
	ld->cont = more;
	if (!more)
		loader_rule(ld);
}

static const char *
add_file(struct pk_ruleset *rs, const char *path)
{
	const char *b = path, *q;
	char **nf;
	size_t i;

	for (q = path; *q != '\0'; q++)
		if (*q == '/' || *q == '\\')
			b = q + 1;
	for (i = 0; i < rs->nfiles; i++)
		if (strcmp(rs->files[i], b) == 0)
			return rs->files[i];
	if ((nf = realloc(rs->files, (rs->nfiles + 1) * sizeof(*nf))) == NULL)
		return NULL;
	rs->files = nf;
	if ((nf[rs->nfiles] = xstrdup(b)) == NULL)
		return NULL;
	return nf[rs->nfiles++];
}

static int
loader_init(struct loader *ld, struct pk_ruleset *rs, const char *name)
{
	memset(ld, 0, sizeof(*ld));
	ld->rs = rs;
	ld->name = name;
	if ((ld->base = add_file(rs, name)) == NULL ||
	    (ld->buf = malloc(PK_RULE_MAX_LINE + 1)) == NULL)
		return -1;
	if (rs->scratch == NULL &&
	    (rs->scratch = calloc(1, sizeof(*rs->scratch))) == NULL) {
		free(ld->buf);
		return -1;
	}
	rs->scratch->rs = rs;
	return 0;
}

static long
loader_done(struct loader *ld)
{
	if (ld->cont)		/* text ended inside a continued rule */
		loader_rule(ld);
	free(ld->buf);
	return ld->nomem ? -1 : ld->loaded;
}

long
pk_ruleset_load_text(struct pk_ruleset *rs, const char *name,
    const char *text, size_t len)
{
	struct loader ld;
	size_t i = 0, e;
	uint32_t lineno = 0;

	if (loader_init(&ld, rs, name) == -1)
		return -1;
	while (i < len && !ld.nomem) {
		for (e = i; e < len && text[e] != '\n'; e++)
			;
		lineno++;
		if (e - i > PK_RULE_MAX_LINE)
			loader_line(&ld, text + i, PK_RULE_MAX_LINE, lineno, 1);
		else
			loader_line(&ld, text + i, e - i, lineno, 0);
		i = e + 1;
	}
	return loader_done(&ld);
}

long
pk_ruleset_load_file(struct pk_ruleset *rs, const char *path)
{
	struct loader ld;
	FILE *fp;
	char *line;
	size_t n = 0;
	uint32_t lineno = 0;
	int ch, overflow = 0;

	if ((fp = fopen(path, "rb")) == NULL)
		return -1;
	if ((line = malloc(PK_RULE_MAX_LINE + 1)) == NULL) {
		fclose(fp);
		return -1;
	}
	if (loader_init(&ld, rs, path) == -1) {
		free(line);
		fclose(fp);
		return -1;
	}
	while ((ch = getc(fp)) != EOF && !ld.nomem) {
		if (ch != '\n') {
			if (n < PK_RULE_MAX_LINE)
				line[n++] = (char)ch;
			else
				overflow = 1;
			continue;
		}
		loader_line(&ld, line, n, ++lineno, overflow);
		n = 0;
		overflow = 0;
	}
	if ((n > 0 || overflow) && !ld.nomem)
		loader_line(&ld, line, n, ++lineno, overflow);
	if (ferror(fp)) {
		fclose(fp);
		free(line);
		loader_done(&ld);
		return -1;
	}
	fclose(fp);
	free(line);
	return loader_done(&ld);
}

/* ---- the set ---------------------------------------------------------------- */

struct pk_ruleset *
pk_ruleset_new(const struct pk_config *cfg)
{
	struct pk_ruleset *rs;

	if ((rs = calloc(1, sizeof(*rs))) == NULL)
		return NULL;
	rs->cfg = cfg;
	rs->max_rules = cfg != NULL && cfg->rules.max_rules > 0 ?
	    cfg->rules.max_rules : DEFAULT_MAX_RULES;
	return rs;
}

void
pk_ruleset_free(struct pk_ruleset *rs)
{
	size_t i;

	if (rs == NULL)
		return;
	pk_ruleset_uncompile(rs);
	for (i = 0; i < rs->n; i++)
		rule_free(rs->rules[i]);
	free(rs->rules);
	for (i = 0; i < rs->nfiles; i++)
		free(rs->files[i]);
	free(rs->files);
	free(rs->sidtab);
	free(rs->scratch);
	free(rs);
}

void
pk_ruleset_set_reporter(struct pk_ruleset *rs, pk_rules_report_fn fn,
    void *arg)
{
	rs->report = fn;
	rs->report_arg = arg;
}

size_t
pk_ruleset_count(const struct pk_ruleset *rs)
{
	return rs->n;
}

const struct pk_rule *
pk_ruleset_rule(const struct pk_ruleset *rs, size_t i)
{
	return i < rs->n ? rs->rules[i] : NULL;
}

uint64_t
pk_ruleset_skipped(const struct pk_ruleset *rs)
{
	return rs->skipped;
}

const char *
pk_ruleset_reason(const struct pk_ruleset *rs, size_t i, uint64_t *count)
{
	if (i >= rs->nreasons)
		return NULL;
	*count = rs->reasons[i].n;
	return rs->reasons[i].text;
}
