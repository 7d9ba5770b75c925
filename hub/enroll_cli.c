/*
 * enroll_cli.c - the enrollment subcommands of picket-hub (docs/hub.md,
 * docs/enrollment.md):
 *   ca init [--name N] [--days N] [--hub-name NAME]... [--hub-ip IP]...
 *   ca import --cert X --key Y
 *   enroll-token create [--expires 24h|never] [--uses N] [--tag TAG]
 *   enroll-token list | revoke ID
 *   agent list | revoke ID
 * all with [-c hub.ini].  The member CA lives in data_dir/ca/ (directory
 * 0700, key 0600) and never leaves the hub; `ca init` also issues the
 * hub's own certificate when [tls] cert and key do not exist yet, and
 * copies the CA certificate to [tls] ca when that file does not exist, so
 * a fresh hub is one command away from serving.  Every change is an audit
 * row with actor "cli" (hub/cli.c).  They work while `serve` runs
 * (SQLite WAL; the listener reads revocations at each HELLO).  Called by
 * hub/main.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/pktime.h"
#include "common/util.h"
#include "hub/auth.h"
#include "hub/cli.h"
#include "hub/config.h"
#include "hub/enroll.h"
#include "hub/store.h"
#include "transport/pki.h"

#define CA_DAYS			3650
#define HUB_DAYS		397
#define TOKEN_EXPIRES_S		86400
#define CA_FILE_MAX		(64 * 1024)

enum { O_NAME = 400, O_DAYS, O_HUBNAME, O_HUBIP, O_CERT, O_KEY, O_EXPIRES,
	O_USES, O_TAG };

static void
cli_usage(void)
{
	fprintf(stderr,
	    "usage: picket-hub ca init [-c hub.ini] [--name NAME] [--days N]\n"
	    "                  [--hub-name NAME]... [--hub-ip IP]...\n"
	    "       picket-hub ca import --cert FILE --key FILE [-c hub.ini]\n"
	    "       picket-hub enroll-token create [--expires 24h|never] "
	    "[--uses N] [--tag TAG]\n"
	    "                  [-c hub.ini]\n"
	    "       picket-hub enroll-token list|revoke ID [-c hub.ini]\n"
	    "       picket-hub agent list|revoke ID [-c hub.ini]\n");
}

static void
cli_audit(const struct hub_config *c, const char *action, const char *target,
    const char *result)
{
	struct hub_store *st;

	if ((st = hub_cli_store(c, NULL)) == NULL)
		return;
	hub_cli_audit(st, action, target, result);
	st->ops->close(st);
}

/* A PEM file (at most CA_FILE_MAX bytes), or NULL with a message. */
static char *
read_small(const char *path, size_t *len)
{
	char err[HUB_PATH_MAX + 64], *buf;

	if ((buf = pk_read_file(path, CA_FILE_MAX, len, err,
	    sizeof(err))) == NULL)
		fprintf(stderr, "picket-hub: %s\n", err);
	return buf;
}

/* Copy the CA certificate to [tls] ca when that file is missing. */
static void
publish_ca(const struct hub_config *c, const char *crt)
{
	char err[PK_PKI_ERRLEN], *pem;
	struct stat sb;
	size_t len;

	if (c->tls_ca[0] == '\0') {
		printf("[tls] ca is not set: point it at %s\n", crt);
		return;
	}
	if (stat(c->tls_ca, &sb) == 0) {
		printf("[tls] ca %s exists: it must hold %s, or the listener "
		    "refuses enrolled agents\n", c->tls_ca, crt);
		return;
	}
	if ((pem = read_small(crt, &len)) == NULL)
		return;
	if (pk_pki_write_file(c->tls_ca, pem, len, 0644, 0, err,
	    sizeof(err)) == -1)
		fprintf(stderr, "picket-hub: [tls] ca: %s\n", err);
	else
		printf("wrote %s ([tls] ca)\n", c->tls_ca);
	free(pem);
}

/* The hub's certificate and key, when neither file exists yet. */
static int
hub_cert(const struct hub_config *c, const char *crt, const char *key,
    const char **names, const char **ips)
{
	char err[PK_PKI_ERRLEN], host[256];
	const char *defnames[2] = { NULL, NULL };
	struct pk_pki_issued is;
	struct pk_pki_key *k;
	struct pk_pki_ca *ca;
	struct stat sb;
	int have_cert, have_key, rc = -1;

	if (c->tls_cert[0] == '\0' || c->tls_key[0] == '\0') {
		printf("[tls] cert/key are not set: no hub certificate made\n");
		return 0;
	}
	have_cert = stat(c->tls_cert, &sb) == 0;
	have_key = stat(c->tls_key, &sb) == 0;
	if (have_cert || have_key) {
		printf("%s exists: hub certificate left as it is\n",
		    have_cert ? c->tls_cert : c->tls_key);
		return 0;
	}
	if (names[0] == NULL && ips[0] == NULL) {
		if (gethostname(host, sizeof(host)) == -1)
			pk_strlcpy(host, "localhost", sizeof(host));
		host[sizeof(host) - 1] = '\0';
		defnames[0] = host;
		names = defnames;
	}
	if ((ca = pk_pki_ca_load(crt, key, err, sizeof(err))) == NULL) {
		fprintf(stderr, "picket-hub: %s\n", err);
		return -1;
	}
	if ((k = pk_pki_key_new(err, sizeof(err))) != NULL &&
	    pk_pki_ca_sign_server(ca, k, names, ips, HUB_DAYS, &is, err,
	    sizeof(err)) == 0) {
		if (pk_pki_key_write(k, c->tls_key, err, sizeof(err)) == 0 &&
		    pk_pki_write_file(c->tls_cert, is.pem, strlen(is.pem),
		    0644, 0, err, sizeof(err)) == 0) {
			printf("wrote %s and %s (the hub's certificate, %d "
			    "days)\n", c->tls_cert, c->tls_key, HUB_DAYS);
			rc = 0;
		}
		free(is.pem);
	}
	if (rc == -1)
		fprintf(stderr, "picket-hub: hub certificate: %s\n", err);
	pk_pki_key_free(k);
	pk_pki_ca_free(ca);
	return rc;
}

static int
ca_dir(const struct hub_config *c, char *crt, char *key, size_t cap)
{
	char dir[HUB_PATH_MAX + 8];

	snprintf(dir, sizeof(dir), "%s/%s", c->data_dir, HUB_CA_DIR);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		fprintf(stderr, "picket-hub: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	if (hub_ca_paths(c->data_dir, crt, key, cap) == -1) {
		fprintf(stderr, "picket-hub: data_dir too long\n");
		return -1;
	}
	return 0;
}

/* Copy an existing CA (checked first) into data_dir/ca. */
static int
ca_import(const char *from_crt, const char *from_key, const char *crt,
    const char *key)
{
	char err[PK_PKI_ERRLEN], *a = NULL, *b = NULL;
	struct pk_pki_ca *ca;
	size_t alen, blen;
	int rc = -1;

	if ((ca = pk_pki_ca_load(from_crt, from_key, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "picket-hub: %s\n", err);
		return -1;
	}
	pk_pki_ca_free(ca);
	if ((a = read_small(from_crt, &alen)) != NULL &&
	    (b = read_small(from_key, &blen)) != NULL) {
		if (access(crt, F_OK) == 0 || access(key, F_OK) == 0)
			fprintf(stderr, "picket-hub: %s exists (refusing to "
			    "overwrite)\n", access(crt, F_OK) == 0 ? crt : key);
		else if (pk_pki_write_file(key, b, blen, 0600, 0, err,
		    sizeof(err)) == -1 || pk_pki_write_file(crt, a, alen, 0644,
		    0, err, sizeof(err)) == -1)
			fprintf(stderr, "picket-hub: %s\n", err);
		else
			rc = 0;
	}
	free(a);
	if (b != NULL) {
		memset(b, 0, blen);
		free(b);
	}
	return rc;
}

int
hub_cmd_ca(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "name", required_argument, NULL, O_NAME },
		{ "days", required_argument, NULL, O_DAYS },
		{ "hub-name", required_argument, NULL, O_HUBNAME },
		{ "hub-ip", required_argument, NULL, O_HUBIP },
		{ "cert", required_argument, NULL, O_CERT },
		{ "key", required_argument, NULL, O_KEY },
		{ NULL, 0, NULL, 0 },
	};
	const char *names[PK_PKI_SAN_MAX + 1] = { NULL };
	const char *ips[PK_PKI_SAN_MAX + 1] = { NULL };
	const char *conf = NULL, *name = "Picket Member CA", *from_crt = NULL;
	const char *from_key = NULL, *sub, *why;
	char crt[HUB_PATH_MAX + 32], key[HUB_PATH_MAX + 32];
	char err[PK_PKI_ERRLEN];
	struct hub_config c;
	uint64_t days = CA_DAYS;
	size_t nn = 0, ni = 0;
	int ch, rc;

	if (argc < 2) {
		cli_usage();
		return 2;
	}
	sub = argv[1];
	optind = 2;
	while ((ch = getopt_long(argc, argv, "c:", lo, NULL)) != -1) {
		switch (ch) {
		case 'c':	conf = optarg; break;
		case O_NAME:	name = optarg; break;
		case O_CERT:	from_crt = optarg; break;
		case O_KEY:	from_key = optarg; break;
		case O_DAYS:
			if (pk_parse_u64(optarg, 1, 36500, &days, &why) ==
			    -1) {
				fprintf(stderr, "picket-hub: --days: %s\n", why);
				return 2;
			}
			break;
		case O_HUBNAME:
		case O_HUBIP:
			if (nn + ni >= PK_PKI_SAN_MAX) {
				fprintf(stderr, "picket-hub: at most %d hub "
				    "names and addresses\n", PK_PKI_SAN_MAX);
				return 2;
			}
			if (ch == O_HUBNAME)
				names[nn++] = optarg;
			else
				ips[ni++] = optarg;
			break;
		default:
			cli_usage();
			return 2;
		}
	}
	if (optind != argc || (strcmp(sub, "init") != 0 &&
	    strcmp(sub, "import") != 0) || (strcmp(sub, "import") == 0 &&
	    (from_crt == NULL || from_key == NULL))) {
		cli_usage();
		return 2;
	}
	if (hub_cli_config(conf, &c) == -1 ||
	    ca_dir(&c, crt, key, sizeof(crt)) == -1)
		return 1;
	if (strcmp(sub, "init") == 0) {
		rc = pk_pki_ca_create(name, (unsigned)days, crt, key, err,
		    sizeof(err));
		if (rc == -1)
			fprintf(stderr, "picket-hub: ca init: %s\n", err);
		else
			printf("wrote %s and %s (member CA \"%s\", %llu "
			    "days)\n", crt, key, name,
			    (unsigned long long)days);
	} else {
		rc = ca_import(from_crt, from_key, crt, key);
		if (rc == 0)
			printf("imported %s and %s as %s and %s\n", from_crt,
			    from_key, crt, key);
	}
	cli_audit(&c, strcmp(sub, "init") == 0 ? "ca.init" : "ca.import", crt,
	    rc == 0 ? "ok" : "error");
	if (rc == -1)
		return 1;
	publish_ca(&c, crt);
	if (hub_cert(&c, crt, key, names, ips) == -1)
		return 1;
	return fflush(stdout) == 0 ? 0 : 1;
}

/* ------------------------------------------------------------ tokens */

static int
print_etoken(void *arg, const struct hub_enroll_token *t)
{
	char c[PK_TIMESTRLEN], e[PK_TIMESTRLEN], uses[48];

	snprintf(uses, sizeof(uses), "%llu/%llu",
	    (unsigned long long)t->uses, (unsigned long long)t->uses_max);
	printf("%-6lld %-16s %-9s %-27s %-27s %s\n", (long long)t->id,
	    t->tag[0] ? t->tag : "-", uses,
	    pk_time_format((uint64_t)t->created_us, c, sizeof(c)),
	    hub_cli_time(t->expires_us, "never", e, sizeof(e)),
	    hub_etoken_state(t, *(const int64_t *)arg));
	return 0;
}

int
hub_cmd_enroll_token(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "expires", required_argument, NULL, O_EXPIRES },
		{ "uses", required_argument, NULL, O_USES },
		{ "tag", required_argument, NULL, O_TAG },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = NULL, *tag = "", *sub, *why = "failed";
	char secret[HUB_ETOKEN_LEN + 1], target[32], e[PK_TIMESTRLEN];
	struct hub_config c;
	struct hub_store *st;
	uint64_t uses = 1, expires_s = TOKEN_EXPIRES_S, id = 0;
	int64_t now = (int64_t)pk_now_us(), newid = 0;
	int ch, rc = 1, found;

	if (argc < 2) {
		cli_usage();
		return 2;
	}
	sub = argv[1];
	optind = 2;
	while ((ch = getopt_long(argc, argv, "c:", lo, NULL)) != -1) {
		switch (ch) {
		case 'c':	conf = optarg; break;
		case O_TAG:	tag = optarg; break;
		case O_USES:
			if (pk_parse_u64(optarg, 1, 1000000, &uses, &why) ==
			    -1) {
				fprintf(stderr, "picket-hub: --uses: %s\n", why);
				return 2;
			}
			break;
		case O_EXPIRES:
			if (strcmp(optarg, "never") == 0)
				expires_s = 0;
			else if (pk_parse_duration(optarg, 1, 3650ULL * 86400,
			    &expires_s, &why) == -1) {
				fprintf(stderr, "picket-hub: --expires: %s\n",
				    why);
				return 2;
			}
			break;
		default:
			cli_usage();
			return 2;
		}
	}
	if (strcmp(sub, "revoke") == 0 && optind + 1 == argc &&
	    pk_parse_u64(argv[optind++], 1, INT64_MAX, &id, &why) == -1) {
		fprintf(stderr, "picket-hub: enroll-token revoke: ID: %s\n",
		    why);
		return 2;
	}
	if (optind != argc || (strcmp(sub, "revoke") == 0 && id == 0) ||
	    (strcmp(sub, "create") != 0 && strcmp(sub, "list") != 0 &&
	    strcmp(sub, "revoke") != 0)) {
		cli_usage();
		return 2;
	}
	if (!hub_tag_ok(tag)) {
		fprintf(stderr, "picket-hub: --tag: want 0..%d of A-Z a-z 0-9 "
		    ". _ : @ -\n", HUB_TAG_MAX);
		return 2;
	}
	if (hub_cli_config(conf, &c) == -1 ||
	    (st = hub_cli_store(&c, NULL)) == NULL)
		return 1;
	if (strcmp(sub, "list") == 0) {
		printf("%-6s %-16s %-9s %-27s %-27s %s\n", "ID", "TAG", "USES",
		    "CREATED", "EXPIRES", "STATE");
		rc = st->ops->etoken_list(st, print_etoken, &now) == 0 ? 0 : 1;
	} else if (strcmp(sub, "create") == 0) {
		if (hub_etoken_create(st, uses, expires_s ? now +
		    (int64_t)expires_s * 1000000 : 0, tag, secret,
		    sizeof(secret), &newid, &why) == 0) {
			printf("%s\n", secret);
			fprintf(stderr, "enrollment token %lld: %llu use%s, "
			    "expires %s%s%s\n", (long long)newid,
			    (unsigned long long)uses, uses == 1 ? "" : "s",
			    expires_s ? pk_time_format((uint64_t)(now +
			    (int64_t)expires_s * 1000000), e, sizeof(e)) :
			    "never", tag[0] ? ", tag " : "", tag);
			rc = 0;
		} else {
			fprintf(stderr, "picket-hub: enroll-token: %s\n", why);
		}
		snprintf(target, sizeof(target), "token %lld",
		    (long long)newid);
		hub_cli_audit(st, "enroll_token.create", target, rc == 0 ?
		    "ok" : "error");
	} else {
		if (st->ops->etoken_revoke(st, (int64_t)id, now, &found) == -1)
			found = -1;
		if (found == 1)
			rc = 0;
		else if (found == 0)
			fprintf(stderr, "picket-hub: no unrevoked enrollment "
			    "token %llu\n", (unsigned long long)id);
		snprintf(target, sizeof(target), "token %llu",
		    (unsigned long long)id);
		hub_cli_audit(st, "enroll_token.revoke", target, found == 1 ?
		    "ok" : found == 0 ? "unknown" : "error");
	}
	st->ops->close(st);
	return rc == 0 && fflush(stdout) == 0 ? 0 : 1;
}

/* ------------------------------------------------------------ agents */

static int
print_agent(void *arg, const struct hub_agent *a)
{
	char en[PK_TIMESTRLEN], na[PK_TIMESTRLEN], rv[PK_TIMESTRLEN];

	(void)arg;
	printf("%-26s %-24.24s %-16s %-27s %-27s %s\n", a->agent_id,
	    a->host_name[0] ? a->host_name : "-", a->tag[0] ? a->tag : "-",
	    pk_time_format((uint64_t)a->enrolled_us, en, sizeof(en)),
	    pk_time_format((uint64_t)a->not_after_us, na, sizeof(na)),
	    hub_cli_time(a->revoked_us, "-", rv, sizeof(rv)));
	return 0;
}

int
hub_cmd_agent(int argc, char **argv)
{
	const char *conf = NULL, *sub, *id = NULL;
	struct hub_config c;
	struct hub_store *st;
	int ch, rc = 1, found;

	if (argc < 2) {
		cli_usage();
		return 2;
	}
	sub = argv[1];
	optind = 2;
	while ((ch = getopt(argc, argv, "c:")) != -1) {
		switch (ch) {
		case 'c':	conf = optarg; break;
		default:
			cli_usage();
			return 2;
		}
	}
	if (strcmp(sub, "revoke") == 0 && optind + 1 == argc)
		id = argv[optind++];
	if (optind != argc || (strcmp(sub, "revoke") == 0 && (id == NULL ||
	    id[0] == '\0' || strlen(id) > HUB_ID_MAX)) ||
	    (strcmp(sub, "list") != 0 && strcmp(sub, "revoke") != 0)) {
		cli_usage();
		return 2;
	}
	if (hub_cli_config(conf, &c) == -1 ||
	    (st = hub_cli_store(&c, NULL)) == NULL)
		return 1;
	if (strcmp(sub, "list") == 0) {
		printf("%-26s %-24s %-16s %-27s %-27s %s\n", "ID", "HOST",
		    "TAG", "ENROLLED", "NOT-AFTER", "REVOKED");
		rc = st->ops->agent_list(st, print_agent, NULL) == 0 ? 0 : 1;
	} else {
		if (st->ops->agent_revoke(st, id, (int64_t)pk_now_us(),
		    &found) == -1)
			found = -1;
		if (found == 1) {
			printf("agent %s revoked: the hub refuses its next "
			    "connection\n", id);
			rc = 0;
		} else if (found == 0) {
			fprintf(stderr, "picket-hub: no enrolled, unrevoked "
			    "agent %s\n", id);
		}
		hub_cli_audit(st, "agent.revoke", id, found == 1 ? "ok" :
		    found == 0 ? "unknown" : "error");
	}
	st->ops->close(st);
	return rc == 0 && fflush(stdout) == 0 ? 0 : 1;
}
