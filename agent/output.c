/*
 * output.c - the NDJSON file output.  Appends, so a restart never
 * truncates what an operator is reading; a failed write is counted and
 * logged once per burst, never fatal: detection goes on.
 */
#include <errno.h>
#include <string.h>

#include "agent/output.h"
#include "common/log.h"
#include "common/util.h"

int
pk_output_ndjson_open(struct pk_output_ndjson *o, const char *path,
    int flush_each)
{
	memset(o, 0, sizeof(*o));
	pk_strlcpy(o->path, path, sizeof(o->path));
	o->flush_each = flush_each;
	if (strcmp(path, "-") == 0) {
		o->fp = stdout;
		o->is_stdout = 1;
		return 0;
	}
	if ((o->fp = fopen(path, "a")) == NULL)
		return -1;
	return 0;
}

void
pk_output_ndjson_write(void *arg, const char *line, size_t len,
    const struct pk_indicator *ind)
{
	struct pk_output_ndjson *o = arg;

	(void)ind;
	if (fwrite(line, 1, len, o->fp) != len || fputc('\n', o->fp) == EOF ||
	    (o->flush_each && fflush(o->fp) != 0)) {
		if (o->errors++ == 0 || o->errors % 1000 == 0)
			log_warn("output %s: write failed (%llu lines lost)",
			    o->path, (unsigned long long)o->errors);
		clearerr(o->fp);
		return;
	}
	o->lines++;
}

void
pk_output_ndjson_close(struct pk_output_ndjson *o)
{
	if (o->fp == NULL)
		return;
	if (fflush(o->fp) != 0)
		log_warn("output %s: flush failed", o->path);
	if (!o->is_stdout)
		fclose(o->fp);
	o->fp = NULL;
}
