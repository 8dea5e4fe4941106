// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz.h - what the libFuzzer targets share. A target fails by abort(), which libFuzzer reports
 * as a crash and saves the input for; the sanitizers fail it the same way.
 */
#ifndef TG_FUZZ_H
#define TG_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* An invariant of the parser's contract (its header), checked on every input. */
#define FUZZ_CHECK(cond, ...)                                                                 \
	do {                                                                                  \
		if (!(cond)) {                                                                \
			fprintf(stderr, "%s:%d: invariant '%s' broken: ", __FILE__, __LINE__, \
				#cond);                                                       \
			fprintf(stderr, __VA_ARGS__);                                         \
			fputc('\n', stderr);                                                  \
			abort();                                                              \
		}                                                                             \
	} while (0)

/* The largest errno a kernel returns: parsers pass on -errno from NLMSG_ERROR, no more. */
#define FUZZ_MAX_ERRNO 4095

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* TG_FUZZ_H */
