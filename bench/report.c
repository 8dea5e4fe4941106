// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "report.h"
#include "util.h"

static void read_cpu_model(char *buf, size_t len)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "re");

	snprintf(buf, len, "unknown");
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) != 0 || !colon)
			continue;
		colon += 1 + strspn(colon + 1, " \t");
		colon[strcspn(colon, "\n")] = '\0';
		snprintf(buf, len, "%s", colon);
		break;
	}
	if (f)
		fclose(f);
}

void report_init(struct report *r)
{
	struct utsname u;
	time_t now = time(NULL);
	struct tm tm;

	memset(r, 0, sizeof(*r));
	if (uname(&u) == 0)
		snprintf(r->kernel, sizeof(r->kernel), "%s", u.release);
	read_cpu_model(r->cpu, sizeof(r->cpu));
	gmtime_r(&now, &tm);
	strftime(r->date, sizeof(r->date), "%Y-%m-%d %H:%M UTC", &tm);
}

void report_free(struct report *r)
{
	free(r->preamble);
	free(r->notes);
	r->preamble = r->notes = NULL;
}

struct report_row *report_add(struct report *r, const char *part, const char *measurement,
			      const char *config)
{
	static struct report_row overflow;
	struct report_row *row = r->nrows < REPORT_MAX_ROWS ? &r->rows[r->nrows++] : &overflow;

	memset(row, 0, sizeof(*row));
	row_set(row->part, "%s", part);
	row_set(row->measurement, "%s", measurement);
	row_set(row->config, "%s", config);
	row_set(row->value, "—");
	row_set(row->ratio, "—");
	row_set(row->null, "—");
	row_set(row->target, "—");
	row_set(row->verdict, "—");
	return row;
}

static void append(char **text, const char *fmt, va_list ap)
{
	size_t old = *text ? strlen(*text) : 0;
	va_list copy;
	int n;
	char *grown;

	va_copy(copy, ap);
	n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		return;
	grown = realloc(*text, old + (size_t)n + 1);
	if (!grown)
		return;
	vsnprintf(grown + old, (size_t)n + 1, fmt, ap);
	*text = grown;
}

void report_preamble(struct report *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	append(&r->preamble, fmt, ap);
	va_end(ap);
}

void report_note(struct report *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	append(&r->notes, fmt, ap);
	va_end(ap);
}

/* Width on a terminal: count UTF-8 lead bytes only, so µ, ≥ and — are one column each. */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

#define NCOLS 8

static const char *const headers[NCOLS] = {
	"#", "measurement", "layer, caller", "value", "vs no guard", "null", "target", "",
};

static const char *cell(const struct report_row *row, int col)
{
	const char *cells[NCOLS] = {
		row->part,  row->measurement, row->config, row->value,
		row->ratio, row->null,	      row->target, row->verdict,
	};

	return cells[col];
}

static void write_cell(FILE *f, const char *text, size_t width)
{
	size_t w = text_width(text);

	fprintf(f, "| %s", text);
	while (w++ < width)
		fputc(' ', f);
	fputc(' ', f);
}

void report_write(const struct report *r, FILE *f)
{
	size_t width[NCOLS], i, w;
	int col;

	fprintf(f, "# tunnelguard benchmark results\n\n");
	fprintf(f, "Kernel %s; CPU %s; %s.\n\n", r->kernel, r->cpu, r->date);
	if (r->preamble)
		fprintf(f, "%s\n", r->preamble);
	for (col = 0; col < NCOLS; col++) {
		width[col] = text_width(headers[col]);
		for (i = 0; i < r->nrows; i++) {
			w = text_width(cell(&r->rows[i], col));
			if (w > width[col])
				width[col] = w;
		}
	}
	for (col = 0; col < NCOLS; col++)
		write_cell(f, headers[col], width[col]);
	fprintf(f, "|\n");
	for (col = 0; col < NCOLS; col++) {
		fputc('|', f);
		for (w = 0; w < width[col] + 2; w++)
			fputc('-', f);
	}
	fprintf(f, "|\n");
	for (i = 0; i < r->nrows; i++) {
		for (col = 0; col < NCOLS; col++)
			write_cell(f, cell(&r->rows[i], col), width[col]);
		fprintf(f, "|\n");
	}
	if (r->notes)
		fprintf(f, "\n%s", r->notes);
}
