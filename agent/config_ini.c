/*
 * config_ini.c - reads the agent's INI file (or a string) with inih and
 * hands every name = value to pk_config_set(), reporting each problem as
 * "NAME:LINE: message".  Called by main (-c FILE, -n, -nv), the unit tests
 * and the INI fuzzer.  Not part of the portable core (links -linih).
 *
 * inih only tells us the line of its *first* syntax error and, as built by
 * most distributions, does not pass line numbers to the handler.  So inih
 * reads through our own line reader, which numbers physical lines, refuses
 * over-long lines and lines with NUL bytes instead of letting inih split
 * them, strips comments, and checks the shape of each line itself ("[x]"
 * or "name = value").  inih then never meets a malformed line, every
 * problem gets its own line number, and the result does not depend on how
 * inih was compiled (multi-line values, inline comment characters).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <ini.h>

#include "agent/config.h"
#include "common/util.h"

/*
 * Longest line, newline not counted; docs/configuration.md promises this
 * (doc_intro in config.c).  Room for a full pcap.filter and its name.
 */
#define INI_LINE_MAX	2000
#define INI_SEEN_MAX	128	/* options set so far; there are fewer */

/*
 * Debian's libinih lets the line buffer size be set at run time; upstream
 * inih has it fixed at build time (200) and no such variable.  A weak
 * reference uses the variable where it exists and links everywhere else;
 * the reader then refuses lines longer than the buffer inih offers.
 */
extern int ini_max_line;
#pragma weak ini_max_line

struct ini_seen {
	char		section[16];
	char		key[32];
	unsigned long	line;
};

struct ini_ctx {
	struct pk_config *c;
	const char	*name;
	FILE		*errfp;
	int		 problems;
	/* the source: a FILE or a NUL-terminated string */
	FILE		*fp;
	const char	*str;
	unsigned long	 lineno;	/* physical line last given to inih */
	int		 bad_section;	/* keys here were already reported */
	struct ini_seen	 seen[INI_SEEN_MAX];
	size_t		 nseen;
};

static void
ini_problem(struct ini_ctx *x, unsigned long line, const char *msg)
{
	fprintf(x->errfp, "%s:%lu: %s\n", x->name, line, msg);
	x->problems++;
}

static int
ini_space(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' ||
	    ch == '\v' || ch == '\f';
}

static int
ini_getc(struct ini_ctx *x)
{
	if (x->fp != NULL)
		return getc(x->fp);
	if (*x->str == '\0')
		return EOF;
	return (unsigned char)*x->str++;
}

/*
 * Read one physical line into buf (at most cap characters kept).  Returns
 * the line's full length, or -1 at end of input.  *nul is set if the line
 * holds a NUL byte (only possible from a file).
 */
static long
ini_read_line(struct ini_ctx *x, char *buf, size_t cap, int *nul)
{
	long len = 0;
	int ch;

	*nul = 0;
	while ((ch = ini_getc(x)) != EOF && ch != '\n') {
		if (ch == '\0')
			*nul = 1;
		if ((size_t)len < cap)
			buf[len] = (char)ch;
		if (len < 0x7fffffffL)	/* a huge line stays "too long" */
			len++;
	}
	if (ch == EOF && len == 0)
		return -1;
	buf[(size_t)len < cap ? (size_t)len : cap] = '\0';
	return len;
}

/* Cut a comment: ';' or '#' at the start or after a space or tab. */
static void
ini_strip_comment(char *s)
{
	char *p;

	for (p = s; *p != '\0'; p++) {
		if ((*p == ';' || *p == '#') &&
		    (p == s || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			return;
		}
	}
}

static char *
ini_trim(char *s)
{
	size_t n;

	while (ini_space((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && ini_space((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/*
 * A section header: "[name]" and nothing after it.  The name is written
 * back trimmed ("[ scan ]" is [scan]); an unknown section is reported
 * here, once, even if it holds no keys.  Returns 0 or -1 (syntax).
 */
static int
ini_section_line(struct ini_ctx *x, char *s, char *out, size_t outlen)
{
	char *end = strchr(s, ']'), *name, msg[128];

	if (end == NULL || *ini_trim(end + 1) != '\0')
		return -1;
	*end = '\0';
	name = ini_trim(s + 1);
	snprintf(out, outlen, "[%s]\n", name);
	x->bad_section = 0;
	if (pk_config_set(x->c, name, NULL, NULL, msg, sizeof(msg)) != 0) {
		ini_problem(x, x->lineno, msg);
		x->bad_section = 1;
	}
	return 0;
}

/*
 * inih's fgets-like reader.  Every physical line becomes exactly one line
 * for inih (blank if it was a comment or had a problem), so inih's own
 * line count stays equal to ours.
 */
static char *
cfg_ini_reader(char *out, int num, void *stream)
{
	struct ini_ctx *x = stream;
	char line[INI_LINE_MAX + 8], msg[96], *s;
	size_t limit, n;
	long len;
	int nul;

	if (num < 4)
		return NULL;
	/* inih needs room for our newline and NUL after the text. */
	limit = PK_MIN((size_t)INI_LINE_MAX, (size_t)num - 3);
	if ((len = ini_read_line(x, line, sizeof(line) - 1, &nul)) < 0)
		return NULL;
	x->lineno++;
	memcpy(out, "\n", 2);

	s = line;
	if (x->lineno == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;		/* UTF-8 byte order mark */
	/* The CR of a CRLF line end does not count. */
	n = (size_t)len - (size_t)(s - line);
	if (n == limit + 1 && s[limit] == '\r')
		n--;
	if (n > limit) {
		snprintf(msg, sizeof(msg), "line too long (more than %zu "
		    "characters)", limit);
		ini_problem(x, x->lineno, msg);
		return out;
	}
	if (nul) {
		ini_problem(x, x->lineno, "NUL byte in line");
		return out;
	}
	ini_strip_comment(s);
	s = ini_trim(s);
	if (*s == '\0')
		return out;
	if (*s == '[') {
		if (ini_section_line(x, s, out, (size_t)num) != 0)
			ini_problem(x, x->lineno, "syntax error");
		return out;
	}
	if (strpbrk(s, "=:") == NULL) {
		ini_problem(x, x->lineno, "syntax error");
		return out;
	}
	snprintf(out, (size_t)num, "%s\n", s);
	return out;
}

static struct ini_seen *
ini_seen_find(struct ini_ctx *x, const char *section, const char *key)
{
	size_t i;

	for (i = 0; i < x->nseen; i++)
		if (strcmp(x->seen[i].section, section) == 0 &&
		    strcmp(x->seen[i].key, key) == 0)
			return &x->seen[i];
	return NULL;
}

/* Names are compared case-insensitively, so remember them in lowercase. */
static void
ini_lower(char *dst, const char *src, size_t size)
{
	size_t i;

	for (i = 0; i + 1 < size && src[i] != '\0'; i++)
		dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ?
		    (char)(src[i] - 'A' + 'a') : src[i];
	dst[i] = '\0';
}

static int
cfg_ini_handler(void *user, const char *section, const char *key,
    const char *value)
{
	struct ini_ctx *x = user;
	struct ini_seen *seen;
	char err[PK_CFG_STR_MAX + 160], sec[16], k[32];

	/* key NULL: inih built to announce each new section; nothing to do. */
	if (x->bad_section || key == NULL || value == NULL)
		return 1;
	/* Longer names are no option of ours: pk_config_set will say so. */
	ini_lower(sec, section, sizeof(sec));
	ini_lower(k, key, sizeof(k));
	if (strlen(section) < sizeof(sec) && strlen(key) < sizeof(k) &&
	    (seen = ini_seen_find(x, sec, k)) != NULL) {
		snprintf(err, sizeof(err), "duplicate key \"%s\" in section "
		    "[%s] (first set on line %lu)", key, section, seen->line);
		ini_problem(x, x->lineno, err);
		return 1;
	}
	if (pk_config_set(x->c, section, key, value, err, sizeof(err)) != 0) {
		ini_problem(x, x->lineno, err);
		return 1;
	}
	if (x->nseen < INI_SEEN_MAX) {
		pk_strlcpy(x->seen[x->nseen].section, sec, sizeof(sec));
		pk_strlcpy(x->seen[x->nseen].key, k, sizeof(k));
		x->seen[x->nseen].line = x->lineno;
		x->nseen++;
	}
	/* Problems are counted, not returned: inih would stop or miscount. */
	return 1;
}

static int
ini_run(struct ini_ctx *x)
{
	int r;

	pk_config_defaults(x->c);
	if (&ini_max_line != NULL)
		ini_max_line = INI_LINE_MAX + 3;
	r = ini_parse_stream(cfg_ini_reader, x, cfg_ini_handler, x);
	if (r > 0) {
		/* The reader lets no malformed line through; belt and braces. */
		ini_problem(x, (unsigned long)r, "syntax error");
	} else if (r < 0) {
		fprintf(x->errfp, "%s: out of memory\n", x->name);
		x->problems++;
	}
	return x->problems;
}

static void
ini_ctx_init(struct ini_ctx *x, struct pk_config *c, const char *name,
    FILE *errfp)
{
	memset(x, 0, sizeof(*x));
	x->c = c;
	x->name = name != NULL ? name : "config";
	x->errfp = errfp;
}

/*
 * Both loaders start from the defaults, so an empty input is the default
 * configuration.  Cross-option checks are pk_config_validate()'s job.
 */
int
pk_config_load(struct pk_config *c, const char *path, FILE *errfp)
{
	struct ini_ctx x;
	int n;

	ini_ctx_init(&x, c, path, errfp);
	if ((x.fp = fopen(path, "r")) == NULL) {
		pk_config_defaults(c);
		fprintf(errfp, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	n = ini_run(&x);
	if (ferror(x.fp)) {
		fprintf(errfp, "%s: read error\n", path);
		n++;
	}
	fclose(x.fp);
	return n;
}

int
pk_config_load_string(struct pk_config *c, const char *text,
    const char *name, FILE *errfp)
{
	struct ini_ctx x;

	ini_ctx_init(&x, c, name, errfp);
	x.str = text != NULL ? text : "";
	return ini_run(&x);
}
