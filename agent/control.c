/*
 * control.c - the control socket and status files of control.h.  The
 * server is a small state machine driven by the supervisor's poll hooks:
 * listening -> reading one request line (<= PK_CTL_REQ_MAX bytes) ->
 * writing the answer (<= PK_CTL_ANSWER_MAX bytes) -> closed, every step
 * non-blocking and the whole exchange bounded by PK_CTL_TIMEOUT_MS, so a
 * client that connects and stays silent costs the supervisor nothing.
 * While one client is served the listening socket is not polled: others
 * wait in the kernel's small backlog.  Called by agent/main.c (server,
 * client) and agent/shipper.c (status file).  Unix only.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* accept4, SO_PEERCRED */
#endif
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/control.h"
#include "common/dir.h"
#include "common/log.h"
#include "common/util.h"

struct pk_ctl {
	int		 lfd;		/* listening */
	int		 cfd;		/* the client, -1 none */
	uint64_t	 deadline;	/* monotonic ms, for cfd */
	char		 req[PK_CTL_REQ_MAX + 1];
	size_t		 rlen;
	char		*out;		/* answer being written */
	size_t		 outlen, outoff;
	pk_ctl_answer_fn fn;
	void		*arg;
	char		 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
pk_ctl_parse(const char *buf, size_t len)
{
	if (len == 7 && memcmp(buf, "status\n", 7) == 0)
		return PK_CTL_STATUS;
	if (len == 12 && memcmp(buf, "status json\n", 12) == 0)
		return PK_CTL_STATUS_JSON;
	return PK_CTL_BAD;
}

static int
sun_fill(struct sockaddr_un *sun, const char *path, char *err, size_t errlen)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (path[0] == '\0' || strlen(path) >= sizeof(sun->sun_path)) {
		snprintf(err, errlen, "control socket path \"%s\": empty or "
		    "longer than %zu bytes", path, sizeof(sun->sun_path) - 1);
		return -1;
	}
	pk_strlcpy(sun->sun_path, path, sizeof(sun->sun_path));
	return 0;
}

/* The socket's directory: made 0700 when missing (one level). */
static int
ctl_dir(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)], *slash;

	pk_strlcpy(dir, path, sizeof(dir));
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

struct pk_ctl *
pk_ctl_open(const char *path, pk_ctl_answer_fn fn, void *arg, char *err,
    size_t errlen)
{
	struct sockaddr_un sun;
	struct pk_ctl *c;
	mode_t old;
	int fd, r;

	if (sun_fill(&sun, path, err, errlen) != 0 ||
	    ctl_dir(path, err, errlen) != 0)
		return NULL;
	/* Another picketd answering there keeps its socket. */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return NULL;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		close(fd);
		snprintf(err, errlen, "%s: another picketd answers there",
		    path);
		return NULL;
	}
	close(fd);
	(void)unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return NULL;
	}
	/* Born 0600: no moment in which another user could connect. */
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r != 0 || chmod(path, 0600) != 0 || listen(fd, 4) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		(void)unlink(path);
		return NULL;
	}
	c->lfd = fd;
	c->cfd = -1;
	c->fn = fn;
	c->arg = arg;
	pk_strlcpy(c->path, path, sizeof(c->path));
	return c;
}

const char *
pk_ctl_path(const struct pk_ctl *c)
{
	return c->path;
}

static void
ctl_drop_client(struct pk_ctl *c)
{
	char junk[1024];
	int i;

	if (c->cfd >= 0) {
		/* Unread bytes would make close() send a reset, which may
		 * destroy the answer before the client read it: take what
		 * is there (bounded, non-blocking). */
		for (i = 0; i < 16 && read(c->cfd, junk, sizeof(junk)) > 0;
		    i++)
			;
		close(c->cfd);
	}
	c->cfd = -1;
	free(c->out);
	c->out = NULL;
	c->outlen = c->outoff = c->rlen = 0;
}

void
pk_ctl_close(struct pk_ctl *c)
{
	if (c == NULL)
		return;
	ctl_drop_client(c);
	close(c->lfd);
	(void)unlink(c->path);
	free(c);
}

void
pk_ctl_forget(struct pk_ctl *c)
{
	if (c == NULL)
		return;
	ctl_drop_client(c);
	close(c->lfd);
	free(c);
}

int
pk_ctl_fds(struct pk_ctl *c, struct pollfd *pfd, int max,
    uint64_t *timeout_ms)
{
	uint64_t now;

	if (max < 1)
		return 0;
	if (c->cfd < 0) {
		pfd[0].fd = c->lfd;
		pfd[0].events = POLLIN;
		return 1;
	}
	pfd[0].fd = c->cfd;
	pfd[0].events = c->out != NULL ? POLLOUT : POLLIN;
	now = mono_ms();
	if (c->deadline <= now)
		*timeout_ms = 0;
	else if (c->deadline - now < *timeout_ms)
		*timeout_ms = c->deadline - now;
	return 1;
}

/* Make the answer: "OK <status>\n" and the body, or "ERR <why>\n". */
static void
ctl_answer(struct pk_ctl *c, int req)
{
	char *body = NULL, head[32];
	size_t blen = 0;
	FILE *fp;
	int code;

	if (req == PK_CTL_BAD) {
		c->out = strdup("ERR unknown request (send \"status\" or "
		    "\"status json\")\n");
	} else if ((fp = open_memstream(&body, &blen)) != NULL) {
		code = c->fn(req, fp, c->arg);
		fclose(fp);
		if (blen > PK_CTL_ANSWER_MAX - sizeof(head))
			blen = PK_CTL_ANSWER_MAX - sizeof(head);
		snprintf(head, sizeof(head), "OK %d\n", code);
		if ((c->out = malloc(strlen(head) + blen + 1)) != NULL) {
			memcpy(c->out, head, strlen(head));
			memcpy(c->out + strlen(head), body, blen);
			c->out[strlen(head) + blen] = '\0';
		}
		free(body);
	}
	if (c->out == NULL) {
		ctl_drop_client(c);
		return;
	}
	c->outlen = strlen(c->out);
	c->outoff = 0;
}

static void
ctl_accept(struct pk_ctl *c)
{
	static const char refused[] = "ERR root only\n";
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	ssize_t w;
	int fd;

	if ((fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) < 0)
		return;
	/* The socket's mode already keeps others out; this says so. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) != 0 ||
	    cr.uid != 0) {
		w = send(fd, refused, sizeof(refused) - 1, MSG_NOSIGNAL);
		(void)w;
		close(fd);
		return;
	}
	c->cfd = fd;
	c->rlen = 0;
	c->deadline = mono_ms() + PK_CTL_TIMEOUT_MS;
}

static void
ctl_read(struct pk_ctl *c)
{
	ssize_t r;

	r = read(c->cfd, c->req + c->rlen, sizeof(c->req) - 1 - c->rlen);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		ctl_drop_client(c);
		return;
	}
	c->rlen += (size_t)r;
	if (memchr(c->req, '\n', c->rlen) != NULL)
		ctl_answer(c, pk_ctl_parse(c->req, c->rlen));
	else if (c->rlen >= sizeof(c->req) - 1)
		ctl_answer(c, PK_CTL_BAD);
}

static void
ctl_write(struct pk_ctl *c)
{
	ssize_t r;

	r = send(c->cfd, c->out + c->outoff, c->outlen - c->outoff,
	    MSG_NOSIGNAL);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0 || (c->outoff += (size_t)r) >= c->outlen)
		ctl_drop_client(c);
}

void
pk_ctl_ready(struct pk_ctl *c, const struct pollfd *pfd, int n)
{
	if (c->cfd >= 0 && mono_ms() >= c->deadline) {
		ctl_drop_client(c);
		return;
	}
	if (n < 1 || pfd[0].revents == 0)
		return;
	if (pfd[0].fd == c->lfd)
		ctl_accept(c);
	else if (c->out == NULL)
		ctl_read(c);
	else
		ctl_write(c);
}

/* ---- the client -------------------------------------------------------- */

int
pk_ctl_query(const char *path, int json, FILE *out, char *err,
    size_t errlen)
{
	struct sockaddr_un sun;
	struct timeval tv = { PK_CTL_TIMEOUT_MS / 1000 + 3, 0 };
	const char *req = json ? "status json\n" : "status\n";
	char *buf, *body;
	size_t len = 0;
	ssize_t r;
	int fd, code = 2;

	if (sun_fill(&sun, path, err, errlen) != 0)
		return 3;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return 3;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		int e = errno;

		snprintf(err, errlen, "%s: %s%s", path, strerror(e),
		    e == EACCES ? " (root only)" : " (is picketd running?)");
		close(fd);
		return e == EACCES ? 4 : 3;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req) ||
	    (buf = malloc(PK_CTL_ANSWER_MAX + 1)) == NULL) {
		snprintf(err, errlen, "%s: cannot send the request", path);
		close(fd);
		return 2;
	}
	while (len < PK_CTL_ANSWER_MAX && (r = read(fd, buf + len,
	    PK_CTL_ANSWER_MAX - len)) > 0)
		len += (size_t)r;
	close(fd);
	buf[len] = '\0';
	if (len > 5 && strncmp(buf, "OK ", 3) == 0 &&
	    (body = strchr(buf, '\n')) != NULL) {
		code = buf[3] == '1' ? 1 : 0;
		fputs(body + 1, out);
	} else if (strncmp(buf, "ERR ", 4) == 0)
		snprintf(err, errlen, "picketd: %.*s", (int)strcspn(buf + 4,
		    "\n"), buf + 4);
	else
		snprintf(err, errlen, "%s: no answer", path);
	free(buf);
	return code;
}

/* ---- status files ------------------------------------------------------ */

int
pk_status_write(const char *dir, const char *name, const char *text,
    size_t len)
{
	char path[1200];

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		return -1;
	/* No fsync: a status lost in a crash is rewritten in seconds. */
	return pk_file_replace(path, text, len, 0640, 0);
}

char *
pk_status_read(const char *dir, const char *name)
{
	char path[1200], *buf;
	size_t n;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "re")) == NULL)
		return NULL;
	if ((buf = malloc(PK_STATUS_MAX + 1)) != NULL) {
		n = fread(buf, 1, PK_STATUS_MAX, fp);
		buf[n] = '\0';
	}
	fclose(fp);
	return buf;
}

int
pk_status_get(const char *text, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key), vlen;
	const char *p = text, *v;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, key, klen) == 0 && p[klen] == ' ') {
			v = p + klen + 1;
			vlen = strcspn(v, "\n");
			if (vlen >= outlen)
				vlen = outlen - 1;
			memcpy(out, v, vlen);
			out[vlen] = '\0';
			return 0;
		}
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	if (outlen > 0)
		out[0] = '\0';
	return -1;
}

uint64_t
pk_status_u64(const char *text, const char *key)
{
	const char *e;
	char v[32];
	uint64_t n;

	if (text == NULL || pk_status_get(text, key, v, sizeof(v)) != 0 ||
	    pk_parse_u64(v, 0, UINT64_MAX, &n, &e) != 0)
		return 0;
	return n;
}

uint64_t
pk_status_sum(const char *text, const char *prefix, const char *suffix)
{
	size_t plen = strlen(prefix), slen = strlen(suffix), klen;
	const char *p = text, *sp, *e;
	uint64_t sum = 0, v;
	char num[32];

	while (p != NULL && *p != '\0') {
		sp = strchr(p, ' ');
		klen = sp != NULL ? (size_t)(sp - p) : 0;
		if (sp != NULL && klen >= plen + slen &&
		    strncmp(p, prefix, plen) == 0 &&
		    strncmp(sp - slen, suffix, slen) == 0 &&
		    memchr(p, '\n', klen) == NULL) {
			pk_strlcpy(num, sp + 1, sizeof(num));
			num[strcspn(num, "\n")] = '\0';
			if (pk_parse_u64(num, 0, UINT64_MAX, &v, &e) == 0)
				sum += v;
		}
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return sum;
}
