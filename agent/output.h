/*
 * output.h - local indicator outputs.  The NDJSON output writes each
 * indicator as one line to a file or stdout; it is what `-o` and
 * [output] file configure, and what an operator tails before a hub exists.
 */
#ifndef PICKET_OUTPUT_H
#define PICKET_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "agent/indicator.h"

struct pk_output_ndjson {
	FILE		*fp;
	char		 path[1024];
	int		 is_stdout;
	int		 flush_each;	/* live: every line reaches the file */
	uint64_t	 lines;
	uint64_t	 errors;	/* lines that could not be written */
};

/* path "-" = stdout.  Returns 0 or -1 (errno set, nothing logged). */
int pk_output_ndjson_open(struct pk_output_ndjson *o, const char *path,
    int flush_each);
void pk_output_ndjson_write(void *arg, const char *line, size_t len,
    const struct pk_indicator *ind);
void pk_output_ndjson_close(struct pk_output_ndjson *o);

#endif
