// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_e2e.c - tunnelguard against a real OpenSSH server: one Test per scenario of
 * tests/e2e/ssh_isolation.sh, which says what each scenario checks. The script builds a
 * throwaway hub (network namespace, cgroup, test-only tenants tg-e2e-a/tg-e2e-b with uids
 * 2101/2102, its own sshd) and removes it on every exit path, a timeout included.
 *
 * Exit 0 passes; 77 is a skip with the reason the script printed on its "SKIP: " line; anything
 * else fails and prints the script's output. TG_E2E_VERBOSE=1 prints it for passing runs too;
 * TG_E2E_SCRIPT overrides the script path (default: relative to the repository root, where
 * `make test` runs).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#define E2E_SCRIPT    "tests/e2e/ssh_isolation.sh"
#define E2E_EXIT_SKIP 77
/* timeout(1)'s status when it had to stop the script. */
#define E2E_EXIT_TIMEOUT 124
/*
 * A scenario takes 2-4 s. The script gets SIGTERM at 45 s and runs its cleanup; criterion's
 * .timeout (60 s) is the last resort, which would leave the cleanup to the next run's sweep.
 */
#define E2E_SCRIPT_TIMEOUT_S "45"
#define E2E_TEST_TIMEOUT_S   60

static const char *script_path(void)
{
	const char *s = getenv("TG_E2E_SCRIPT");

	return s && *s ? s : E2E_SCRIPT;
}

/* The whole of a small file as a string; NULL with errno set on failure. */
static char *read_file(const char *path)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return NULL;
	if (getdelim(&text, &size, '\0', f) < 0) {
		free(text);
		text = strdup(""); /* empty file */
	}
	fclose(f);
	return text;
}

/* The reason on the script's last "SKIP: " line, cut at the newline, or a default. */
static void skip_reason(char *output, char *reason, size_t len)
{
	char *line = NULL, *p = output, *end;

	while ((p = strstr(p, "SKIP: "))) {
		if (p == output || p[-1] == '\n')
			line = p + strlen("SKIP: ");
		p++;
	}
	if (!line) {
		snprintf(reason, len, "%s exited %d without saying why", script_path(),
			 E2E_EXIT_SKIP);
		return;
	}
	end = strchr(line, '\n');
	snprintf(reason, len, "%.*s", end ? (int)(end - line) : (int)strlen(line), line);
}

static void run_scenario(const char *scenario)
{
	char out_path[] = "/tmp/tg-e2e-out.XXXXXX";
	char command[4096], reason[512];
	const char *script = script_path();
	int fd, status, code;
	char *output;

	cr_assert_eq(access(script, R_OK), 0,
		     "cannot read %s: %s (run from the repository root, or set TG_E2E_SCRIPT)",
		     script, strerror(errno));
	cr_assert_null(strchr(script, '\''), "TG_E2E_SCRIPT must not contain a quote: %s", script);
	fd = mkstemp(out_path);
	cr_assert_geq(fd, 0, "mkstemp %s: %s", out_path, strerror(errno));
	close(fd);

	snprintf(command, sizeof(command),
		 "timeout -k 5 " E2E_SCRIPT_TIMEOUT_S " bash '%s' %s >%s 2>&1 </dev/null", script,
		 scenario, out_path);
	status = system(command);
	output = read_file(out_path);
	unlink(out_path);
	cr_assert_not_null(output, "cannot read the output of %s", script);
	cr_assert_neq(status, -1, "cannot run %s: %s", command, strerror(errno));

	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (code == E2E_EXIT_SKIP) {
		skip_reason(output, reason, sizeof(reason));
		free(output);
		cr_skip_test("%s", reason);
	}
	if (code != 0 || getenv("TG_E2E_VERBOSE"))
		fprintf(stderr, "--- %s %s (exit %d):\n%s--- end of %s %s\n", script, scenario,
			code, output, script, scenario);
	free(output);
	cr_assert_neq(code, E2E_EXIT_TIMEOUT, "e2e %s: %s did not finish in %s s", scenario, script,
		      E2E_SCRIPT_TIMEOUT_S);
	cr_assert_eq(code, 0, "e2e %s: %s exited %d; its output is above", scenario, script, code);
}

Test(e2e, forward_to_other_tenant_refused, .timeout = E2E_TEST_TIMEOUT_S)
{
	run_scenario("forward");
}

Test(e2e, shell_connect_to_other_tenant_refused, .timeout = E2E_TEST_TIMEOUT_S)
{
	run_scenario("shell");
}

Test(e2e, owner_and_root_still_allowed, .timeout = E2E_TEST_TIMEOUT_S)
{
	run_scenario("allowed");
}

Test(e2e, nft_layer_alone_refuses_the_forward, .timeout = E2E_TEST_TIMEOUT_S)
{
	run_scenario("nft");
}

Test(e2e, reserved_port_cannot_be_taken_by_another_tenant, .timeout = E2E_TEST_TIMEOUT_S)
{
	run_scenario("reserve");
}

Test(e2e, max_tunnels_one_more_forward_refused, .timeout = E2E_TEST_TIMEOUT_S)
{
	run_scenario("limit");
}

Test(e2e, container_netns_forward_and_shell_refused, .timeout = E2E_TEST_TIMEOUT_S)
{
	run_scenario("container");
}
