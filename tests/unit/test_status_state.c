// SPDX-License-Identifier: GPL-2.0-only
/*
 * status never says "loaded", exit 0, with a part missing or out of step with the kernel
 * (issue 14 items 3 and 4): one table of guard states, the exit code and the words each must
 * give. No privileges: the reports are built by hand, as guard_read() would fill them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tg_maps.h"

#include "status.h"

struct state_case {
	const char *name;
	unsigned int layers;
	bool complete;
	bool have_config;
	const char *missing;
	const char *detached;
	const char *inconsistent;
	bool selftest_stale;
	bool nft_missing;
	int exit_code;
	const char *text;  /* must appear in the text output */
	const char *json;  /* must appear in the JSON output */
	const char *never; /* must not appear in the text output */
};

static const struct state_case cases[] = {
	{ "whole", TG_LAYER_BPF | TG_LAYER_NFT, true, true, "", "", "", false, false, 0,
	  "tunnelguard: loaded\n", "\"loaded\":true,\"complete\":true", "missing:" },
	{ "config pin deleted", TG_LAYER_BPF | TG_LAYER_NFT, false, true, "config", "", "", false,
	  false, 1, "missing:     config (run `tunnelguard load` to repair)",
	  "\"missing\":[\"config\"]", "tunnelguard: loaded" },
	/* The old "loaded, layers: none", exit 0: links, but no config to say which layers. */
	{ "no readable config", 0, false, false, "config", "", "", false, false, 1,
	  "tunnelguard: DEGRADED", "\"complete\":false", "tunnelguard: loaded" },
	{ "link pin deleted", TG_LAYER_BPF, false, true, "link_connect4", "link_connect4", "",
	  false, false, 1, "detached:    link_connect4: the link is gone",
	  "\"detached\":[\"link_connect4\"]", NULL },
	{ "interrupted load", TG_LAYER_BPF, false, true, "", "", "programs prog_connect4", true,
	  false, 1, "interrupted: programs prog_connect4 do not match",
	  "\"inconsistent\":[\"programs\",\"prog_connect4\"]", NULL },
	{ "self-test of other programs", TG_LAYER_BPF, true, true, "", "", "", true, false, 0,
	  "self-test:   not run for the running programs",
	  "\"result\":\"not run for the running programs\",\"recorded\":\"passed\"",
	  "self-test:   passed" },
	{ "nft table deleted", TG_LAYER_BPF | TG_LAYER_NFT, true, true, "", "", "", false, true, 1,
	  "missing:     table inet tunnelguard", "\"missing\":true", "tunnelguard: loaded" },
};

static char *render(const struct status_report *r, bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	if (json)
		status_print_json(f, r, "/nonexistent/tg-unit");
	else
		status_print_text(f, r, "/nonexistent/tg-unit");
	fclose(f);
	return buf;
}

Test(status_state, exit_code_and_words_for_each_state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct state_case *c = &cases[i];
		struct status_report *r = calloc(1, sizeof(*r));
		char *text, *json;

		cr_assert_not_null(r);
		r->guard.loaded = true;
		r->guard.complete = c->complete;
		r->guard.have_config = c->have_config;
		r->guard.layers = c->layers;
		r->layers = c->layers;
		snprintf(r->guard.missing, sizeof(r->guard.missing), "%s", c->missing);
		snprintf(r->guard.detached, sizeof(r->guard.detached), "%s", c->detached);
		snprintf(r->guard.inconsistent, sizeof(r->guard.inconsistent), "%s",
			 c->inconsistent);
		r->guard.selftest.result = TG_SELFTEST_PASSED;
		r->guard.selftest_stale = c->selftest_stale;
		r->nft_checked = true;
		r->nft_missing = c->nft_missing;
		r->nft.present = !c->nft_missing && (c->layers & TG_LAYER_NFT);
		r->drift_checked = true;
		r->tunnels_known = true;
		cr_expect_eq(status_exit_code(r), c->exit_code, "%s: exit %d, want %d", c->name,
			     status_exit_code(r), c->exit_code);
		text = render(r, false);
		json = render(r, true);
		cr_expect(strstr(text, c->text), "%s: no '%s' in:\n%s", c->name, c->text, text);
		cr_expect(strstr(json, c->json), "%s: no '%s' in:\n%s", c->name, c->json, json);
		if (c->never)
			cr_expect_null(strstr(text, c->never), "%s: '%s' in:\n%s", c->name,
				       c->never, text);
		free(text);
		free(json);
		r->nft.present = false; /* nothing allocated to free */
		free(r);
	}
}
