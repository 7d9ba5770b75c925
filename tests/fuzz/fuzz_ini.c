/*
 * fuzz_ini.c - libFuzzer target for the configuration reader: the input,
 * as a NUL-terminated string, goes through pk_config_load_string() (our
 * line reader, inih, pk_config_set for every type), then the result is
 * validated and printed.  Messages go to /dev/null, opened once.  Built
 * by `make fuzz` with clang -fsanitize=fuzzer,address,undefined -linih.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null;
	static struct pk_config cfg;	/* 17 KiB: not on the stack */
	char *text;

	if (null == NULL && (null = fopen("/dev/null", "w")) == NULL)
		abort();
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	pk_config_load_string(&cfg, text, "fuzz.ini", null);
	pk_config_validate(&cfg, "fuzz.ini", null);
	pk_config_print(&cfg, null);
	free(text);
	return 0;
}
