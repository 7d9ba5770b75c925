/*
 * ui.c - serves the SOC web UI's static files (see ui.h, docs/ui.md).
 * Only regular files directly in [api] ui_dir whose names are plain
 * ([A-Za-z0-9._-], no leading dot) and whose extension we know are
 * served; the file is opened with O_NOFOLLOW (a symlink planted in the
 * directory is refused, not followed) and O_NONBLOCK (a FIFO cannot stall
 * the event loop), then fstat'ed: anything but a regular file of at most
 * HUB_UI_FILE_MAX bytes is a 404.  Every answer carries a strict
 * Content-Security-Policy (scripts and styles from the hub only, no
 * inline code, no framing), nosniff, X-Frame-Options and no referrer, so
 * that even a bug in the page cannot run injected script or leak the
 * token-bearing origin elsewhere.  Reads are synchronous on the event
 * loop: the files are a few KiB on local disk.  Called by hub/api.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "common/log.h"
#include "common/util.h"
#include "hub/config.h"
#include "hub/ui.h"

#define UI_PREFIX	"/ui/"
#define UI_INDEX	"index.html"

/*
 * default-src 'self' covers fetch (connect-src), images and the favicon;
 * script-src and style-src are spelled out so that nobody loosens
 * default-src and gets inline script with it.  The page draws its charts
 * as SVG elements from script, so it needs neither data: images nor
 * inline styles.
 */
static const char ui_csp[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

static char ui_dir[HUB_PATH_MAX];

static const struct {
	const char	*ext;
	const char	*type;
} ui_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".ico", "image/x-icon" },
	{ ".png", "image/png" },
	{ ".json", "application/json" },
};

int
hub_ui_set_dir(const char *dir)
{
	if (pk_strlcpy(ui_dir, dir, sizeof(ui_dir)) >= sizeof(ui_dir)) {
		ui_dir[0] = '\0';
		return -1;
	}
	return 0;
}

int
hub_ui_name_ok(const char *name)
{
	size_t i;
	char c;

	if (name[0] == '\0' || name[0] == '.')
		return 0;
	for (i = 0; name[i] != '\0'; i++) {
		if (i >= HUB_UI_NAME_MAX)
			return 0;
		c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

const char *
hub_ui_content_type(const char *name)
{
	size_t i, n = strlen(name), e;

	for (i = 0; i < PK_NELEM(ui_types); i++) {
		e = strlen(ui_types[i].ext);
		if (n > e && strcmp(name + n - e, ui_types[i].ext) == 0)
			return ui_types[i].type;
	}
	return NULL;
}

static void
ui_headers(struct evhttp_request *req, const char *ctype)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", "no-cache");
	evhttp_add_header(h, "Content-Security-Policy", ui_csp);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "Cross-Origin-Opener-Policy", "same-origin");
}

/* The API's error shape; msg is one of ours, never client bytes. */
static void
ui_error(struct evhttp_request *req, int status, const char *msg)
{
	struct evbuffer *b = evhttp_request_get_output_buffer(req);

	ui_headers(req, "application/json");
	evbuffer_add_printf(b, "{\"error\":\"%s\"}", msg);
	evhttp_send_reply(req, status, NULL, NULL);
}

/*
 * Read the regular file dir/name (at most HUB_UI_FILE_MAX bytes) into b.
 * 0, or -1 with errno (ENOENT for anything we will not serve).
 */
static int
ui_read(const char *name, struct evbuffer *b)
{
	char path[HUB_PATH_MAX + HUB_UI_NAME_MAX + 2];
	struct stat sb;
	size_t left;
	int fd, n, saved;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", ui_dir, name) >=
	    sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > HUB_UI_FILE_MAX) {
		close(fd);
		errno = ENOENT;
		return -1;
	}
	/* Bounded by the size fstat saw: a file growing meanwhile is cut. */
	left = (size_t)sb.st_size;
	while (left > 0) {
		n = evbuffer_read(b, fd, (int)left);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		if (n == 0)
			break;	/* shrank meanwhile: serve what is there */
		left -= (size_t)n;
	}
	close(fd);
	return 0;
}

int
hub_ui_serve(struct evhttp_request *req, const char *method,
    const char *path)
{
	const char *name, *ctype;

	if (ui_dir[0] == '\0' || strcmp(method, "GET") != 0)
		return -1;
	if (strcmp(path, "/") == 0)
		name = UI_INDEX;
	else if (strncmp(path, UI_PREFIX, strlen(UI_PREFIX)) == 0)
		name = path + strlen(UI_PREFIX);
	else
		return -1;
	/* No '/' can pass: sub directories are not served. */
	if (!hub_ui_name_ok(name) ||
	    (ctype = hub_ui_content_type(name)) == NULL) {
		ui_error(req, 404, "no such file");
		return 0;
	}
	if (ui_read(name, evhttp_request_get_output_buffer(req)) == -1) {
		if (errno != ENOENT && errno != ELOOP && errno != ENOTDIR)
			log_warn("ui: %s/%s", ui_dir, name);
		evbuffer_drain(evhttp_request_get_output_buffer(req),
		    evbuffer_get_length(evhttp_request_get_output_buffer(req)));
		ui_error(req, 404, "no such file");
		return 0;
	}
	ui_headers(req, ctype);
	evhttp_send_reply(req, 200, NULL, NULL);
	return 0;
}
