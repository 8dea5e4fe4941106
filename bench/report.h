// SPDX-License-Identifier: GPL-2.0-only
/*
 * report.h - the one results table, printed and written as Markdown.
 *
 * Each row is one figure: which part of issue 8 it answers, what was measured, under which
 * layer and caller, its value, its ratio to the no-guard baseline of the same run, the null
 * comparison (no guard vs no guard) beside it, the target and PASS/MISS. A figure that could not
 * be measured gets a row saying why, so the table keeps its shape.
 */
#ifndef TG_BENCH_REPORT_H
#define TG_BENCH_REPORT_H

#include <stddef.h>
#include <stdio.h>

#define REPORT_MAX_ROWS	 256
#define REPORT_VALUE_LEN 96

struct report_row {
	char part[8];
	char measurement[80];
	char config[64];
	char value[REPORT_VALUE_LEN];
	char ratio[40];
	char null[40];
	char target[24];
	char verdict[16];
};

struct report {
	char kernel[128];
	char cpu[128];
	char date[64];
	char *preamble; /* method lines, Markdown */
	char *notes;	/* sections after the table, Markdown */
	struct report_row rows[REPORT_MAX_ROWS];
	size_t nrows;
};

/* Fill kernel, CPU and date. */
void report_init(struct report *r);
void report_free(struct report *r);

/* A new row; every text field starts as "—" except part, measurement and config. */
struct report_row *report_add(struct report *r, const char *part, const char *measurement,
			      const char *config);

#define row_set(field, ...) snprintf((field), sizeof(field), __VA_ARGS__)

/* Append Markdown text to the preamble or to the notes. */
void report_preamble(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void report_note(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The whole report as Markdown: title, machine, preamble, table, notes. */
void report_write(const struct report *r, FILE *f);

#endif /* TG_BENCH_REPORT_H */
