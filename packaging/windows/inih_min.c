/*
 * inih_min.c - the part of inih's API that agent/config_ini.c uses
 * (ini_parse_stream and the ini_max_line variable of Debian's build), for
 * the Windows agent when Debian's libinih source package cannot be fetched
 * to cross-build it (packaging/windows/deps.sh falls back to this file and
 * says so; the Linux build always links the system's libinih).
 *
 * It is not a general INI parser and need not be: config_ini.c's reader
 * hands inih only normalised lines (it numbers, measures and checks every
 * physical line itself, strips comments and blanks, refuses anything that
 * is neither "[name]" nor "name = value"), so what remains for inih is to
 * split those lines.  This does that split the way inih does for them:
 * the section is the text between '[' and the first ']'; a key line is
 * cut at the first '=' or ':', the name and the value trimmed of white
 * space (isspace in the C locale); every line, blank ones included,
 * advances the line number; the handler's 0 records the first such line.
 * Continuation lines (leading white space) never reach here, since the
 * reader trims every line.  Callers: config_ini.c in the Windows build.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

/* Debian's libinih lets the caller size the line buffer; config_ini.c
 * sets it through a weak reference. */
int ini_max_line = 200;

static int
min_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
	    c == '\r';
}

static char *
min_trim(char *s)
{
	size_t n;

	while (min_space(*s))
		s++;
	n = strlen(s);
	while (n > 0 && min_space(s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* One line; returns 0 if the handler or the syntax refused it. */
static int
min_line(char *s, char *section, size_t seclen, ini_handler handler,
    void *user)
{
	char *end, *name, *value;
	size_t n;

	s = min_trim(s);
	if (*s == '\0' || *s == ';' || *s == '#')
		return 1;
	if (*s == '[') {
		if ((end = strchr(s + 1, ']')) == NULL)
			return 0;
		n = (size_t)(end - (s + 1));
		if (n >= seclen)
			n = seclen - 1;		/* inih cuts long names too */
		memcpy(section, s + 1, n);
		section[n] = '\0';
		return 1;
	}
	if ((end = strpbrk(s, "=:")) == NULL)
		return 0;
	*end = '\0';
	name = min_trim(s);
	value = min_trim(end + 1);
	return handler(user, section, name, value) != 0;
}

int
ini_parse_stream(ini_reader reader, void *stream, ini_handler handler,
    void *user)
{
	char section[50] = "", *line;
	int lineno = 0, error = 0;
	size_t cap;

	cap = ini_max_line > 2 ? (size_t)ini_max_line : 200;
	if ((line = malloc(cap)) == NULL)
		return -2;
	while (reader(line, (int)cap, stream) != NULL) {
		lineno++;
		line[cap - 1] = '\0';
		if (!min_line(line, section, sizeof(section), handler, user) &&
		    error == 0)
			error = lineno;
	}
	free(line);
	return error;
}
