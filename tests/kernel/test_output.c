// SPDX-License-Identifier: GPL-2.0-only
/*
 * What operators and their tools read: syslog priorities on stderr when it is the journal, JSON
 * that is JSON only, and the shapes of check --json and status --json. Needs root; each test runs
 * in its own network namespace and cgroup (fixture.h). JSON is read with Python's json module
 * (scripts/deps.sh installs python3).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tg_maps.h"

#include "fixture.h"

#define TENANT_A 2001
#define TENANT_B 2002
#define CONFIG	 "tenant-uids = 2001-2003\nlayers = bpf\n"

static struct fx fx;

static void setup(void)
{
	fx_setup(&fx);
}

static void teardown(void)
{
	unsetenv("JOURNAL_STREAM");
	fx_teardown(&fx);
}

/*
 * Run a Python check on a JSON text: the script reads the file named by sys.argv[1] and exits
 * non-zero (an assert) when the text is wrong. Returns the exit status.
 */
static int python_check(const char *text, const char *script)
{
	char path[] = "/tmp/tg-test-json-XXXXXX";
	int fd = mkstemp(path), status;
	size_t len = strlen(text);

	cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	setenv("TG_PY", script, 1);
	setenv("TG_PY_FILE", path, 1);
	status = system("python3 -c \"$TG_PY\" \"$TG_PY_FILE\" >&2");
	unlink(path);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static char *read_file(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	cr_assert_not_null(f, "cannot read %s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static bool wait_for(const char *path, const char *text, long lines, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 10) {
		if (fx_count_lines(path, text) >= lines)
			return true;
		usleep(10000);
	}
	return false;
}

/*
 * journalctl -p warning must find the daemon's warnings and errors: with JOURNAL_STREAM naming
 * its stderr (as systemd sets it), every line the daemon writes there starts with "<N>" and
 * journald files it at that priority. Warnings (a repaired drift) are <4>, errors (a reload that
 * failed, a command that failed) <3>, normal lines <5> (shown by default) or <6> (-v). And with
 * --json, its stdout holds JSON objects only, each with a time.
 */
Test(output, journal_priorities_and_json_only_stdout, .init = setup, .fini = teardown,
     .timeout = 60)
{
	static const char json_only[] =
		"import json, re, sys\n"
		"lines = open(sys.argv[1], encoding='utf-8').read().splitlines()\n"
		"assert lines, 'no event'\n"
		"for line in lines:\n"
		"    o = json.loads(line)\n"
		"    assert isinstance(o, dict), line\n"
		"    assert re.fullmatch(r'\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z', "
		"o['time']), line\n"
		"assert any(o.get('comm') == 'tunnelguard-tes' for o in map(json.loads, lines))\n";
	char stream[64], path[PATH_MAX + 32], cmd[2 * PATH_MAX + 256], out[4096],
		line[PATH_MAX + 16];
	struct fx_listener l;
	struct stat st;
	uint32_t uid = 0;
	long lines = 0;
	int fd;
	pid_t pid;
	FILE *f;

	fx_write_config(&fx, CONFIG);
	/* The daemon's stderr file exists before it starts: its device and inode are the stream. */
	fd = open(fx.daemon_err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0, "%s: %s", fx.daemon_err, strerror(errno));
	cr_assert_eq(fstat(fd, &st), 0);
	close(fd);
	snprintf(stream, sizeof(stream), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", stream, 1);
	pid = fx_daemon_start(&fx, "--json", "-v", "--interval", "200", NULL);
	cr_assert(wait_for(fx.daemon_err, "<5>tunnelguard: daemon running", 1, 5000),
		  "daemon did not start: %s", read_file(fx.daemon_err));

	/* An event on stdout. */
	l = fx_listen(TENANT_A, "127.0.0.1", 8001, false);
	cr_expect_eq(fx_connect_as(&fx, TENANT_B, AF_INET, "127.0.0.1", 8001), ECONNREFUSED);
	cr_assert(wait_for(fx.daemon_out, "\"comm\":\"tunnelguard-tes\"", 1, 2000), "no event");

	/* A warning: drift made by hand, repaired by the daemon. */
	cr_assert(fx_wait_port_owner(&fx, "127.0.0.1", 8001, true, &uid, 1000));
	snprintf(path, sizeof(path), "%s/" TG_PIN_PORT_OWNER, fx.pin_dir);
	snprintf(cmd, sizeof(cmd),
		 "bpftool map delete pinned %s key 0 0 0 0 0 0 0 0 0 0 255 255 127 0 0 1 "
		 "0x41 0x1f 2 0",
		 path);
	cr_assert_eq(system(cmd), 0, "bpftool map delete failed");
	cr_expect(wait_for(fx.daemon_err, "<4>tunnelguard: drift repaired: port_owner", 1, 3000),
		  "no <4> drift repair: %s", read_file(fx.daemon_err));

	/* Errors: a config that does not parse, on SIGHUP. */
	fx_write_config(&fx, "bogus = 1\n");
	kill(pid, SIGHUP);
	cr_expect(wait_for(fx.daemon_err, "<3>tunnelguard: SIGHUP: config not reloaded", 1, 3000),
		  "no <3> reload error: %s", read_file(fx.daemon_err));
	snprintf(line, sizeof(line), "<3>%s:1: ", fx.config);
	cr_expect_eq(fx_count_lines(fx.daemon_err, line), 1, "config error not at <3>: %s",
		     read_file(fx.daemon_err));

	/* A command that fails, its stderr the journal: events while the daemon reads them. */
	snprintf(cmd, sizeof(cmd),
		 "f=$(mktemp); JOURNAL_STREAM=$(stat -c %%d:%%i \"$f\") %s events --pin-dir %s "
		 "2>>\"$f\"; echo \"exit $?\" >>\"$f\"; cat \"$f\"; rm -f \"$f\"",
		 fx_binary(), fx.pin_dir);
	fx_run(cmd, out, sizeof(out));
	cr_expect(strstr(out, "<3>tunnelguard: a tunnelguard daemon (pid "), "events: %s", out);
	cr_expect(strstr(out, "exit 1\n"), "events: %s", out);

	fx_listener_stop(&l);
	cr_assert_eq(fx_daemon_stop(pid, SIGTERM), 0);
	cr_expect_eq(fx_count_lines(fx.daemon_err, "<5>tunnelguard: signal 15: exiting"), 1, "%s",
		     read_file(fx.daemon_err));
	/* -v: the load the daemon made is info. */
	cr_expect_geq(fx_count_lines(fx.daemon_err, "<6>tunnelguard: guard in force on"), 1, "%s",
		      read_file(fx.daemon_err));

	/* Every line carries a priority, and nothing that warns is filed above 4. */
	f = fopen(fx.daemon_err, "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f)) {
		bool prefixed =
			line[0] == '<' && line[1] >= '3' && line[1] <= '7' && line[2] == '>';

		lines++;
		cr_expect(prefixed, "line without a priority: %s", line);
		if (strstr(line, "drift repaired") || strstr(line, "not reloaded"))
			cr_expect_leq(line[1], '4', "a warning or error filed at %c: %s", line[1],
				      line);
	}
	fclose(f);
	cr_expect_geq(lines, 5, "%s", read_file(fx.daemon_err));

	cr_expect_eq(python_check(read_file(fx.daemon_out), json_only), 0,
		     "daemon --json stdout is not JSON objects with a time:\n%s",
		     read_file(fx.daemon_out));
}

/* check --json: one object, a result per address, owner null where nothing is known. */
Test(output, check_json, .init = setup, .fini = teardown)
{
	static const char connect_check[] =
		"import json, sys\n"
		"o = json.load(open(sys.argv[1]))\n"
		"assert o['check'] == 'connect' and o['uid'] == 2002 and o['port'] == 8001, o\n"
		"assert o['verdict'] == 'deny', o\n"
		"v4, v6 = o['results']\n"
		"assert v4['addr'] == '127.0.0.1' and v4['port'] == 8001, v4\n"
		"assert v4['verdict'] == 'deny' and v4['reason'] == 'deny_other_tenant', v4\n"
		"assert v4['owner_uid'] == 2001 and v4['owner'] is None, v4\n"
		"assert isinstance(v4['netns'], int) and v4['netns'] > 0, v4\n"
		"assert isinstance(v4['netns_name'], str) and v4['netns_name'], v4\n"
		"assert v4['netns_addrs_known'] is True, v4\n"
		"assert isinstance(v4['text'], str) and v4['text'], v4\n"
		"assert v6['addr'] == '::1' and v6['owner_uid'] is None and v6['owner'] is None, "
		"v6\n"
		"assert v6['netns'] == v4['netns'], v6\n";
	static const char bind_check[] =
		"import json, sys\n"
		"o = json.load(open(sys.argv[1]))\n"
		"assert o['check'] == 'bind' and o['verdict'] == 'allow', o\n"
		"(r,) = o['results']\n"
		"assert r['addr'] is None and r['netns'] is None and r['owner_uid'] is None, r\n"
		"assert r['reason'] == 'allow_bind_unreserved' or r['verdict'] == 'allow', r\n";
	struct fx_listener l;

	fx_write_config(&fx, CONFIG);
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	l = fx_listen(TENANT_A, "127.0.0.1", 8001, false);
	cr_expect_eq(fx_cli(&fx, "check", "--json", "--uid", "2002", "--port", "8001", "--pin-dir",
			    fx.pin_dir, NULL),
		     1, "check: %s", fx.output);
	cr_expect_eq(python_check(fx.output, connect_check), 0, "check --json: %s", fx.output);
	cr_expect_eq(fx_cli(&fx, "check", "--json", "--uid", "2002", "--bind", "8001", "--pin-dir",
			    fx.pin_dir, NULL),
		     0, "check --bind: %s", fx.output);
	cr_expect_eq(python_check(fx.output, bind_check), 0, "check --json --bind: %s", fx.output);
	fx_listener_stop(&l);
}

/* status --json: lists are arrays, and no name is "" (unknown ones are null). */
Test(output, status_json_arrays_and_nulls, .init = setup, .fini = teardown)
{
	static const char status_check[] =
		"import json, sys\n"
		"o = json.load(open(sys.argv[1]))\n"
		"assert o['loaded'] is True and o['complete'] is True, o\n"
		"assert o['layers'] == ['bpf'] and o['missing'] == [], o\n"
		"assert o['tenant_uids'] == [{'first': 2001, 'last': 2002}], o['tenant_uids']\n"
		"assert o['exempt_uids'] == [], o['exempt_uids']\n"
		"assert o['allow_ports'] == [{'first': 8000, 'last': 8001}], o['allow_ports']\n"
		"assert isinstance(o['cgroup'], str) and isinstance(o['self_test']['time'], str), "
		"o\n"
		"(t,) = [t for t in o['tunnels'] if t['port'] == 8001]\n"
		"assert t['uid'] == 2001 and t['user'] is None, t\n"
		"assert isinstance(t['pid'], int) and t['pid'] > 0, t\n"
		"assert isinstance(t['process'], str), t\n"
		"assert isinstance(o['drift'], list) and isinstance(o['namespaces'], list), o\n"
		"def walk(v, where):\n"
		"    if isinstance(v, dict):\n"
		"        for k, x in v.items(): walk(x, where + '.' + k)\n"
		"    elif isinstance(v, list):\n"
		"        for i, x in enumerate(v): walk(x, where + '[%d]' % i)\n"
		"    else:\n"
		"        assert v != '', 'empty string at ' + where\n"
		"walk(o, '')\n";
	struct fx_listener l;
	uint32_t uid = 0;

	fx_write_config(&fx, CONFIG "allow-ports = 8000-8001\nexempt-uids = 2003\n");
	cr_assert_eq(fx_load(&fx), 0, "load: %s", fx.output);
	l = fx_listen(TENANT_A, "127.0.0.1", 8001, false);
	cr_assert(fx_wait_port_owner(&fx, "127.0.0.1", 8001, true, &uid, 1000));
	cr_expect_eq(fx_cli(&fx, "status", "--json", "--pin-dir", fx.pin_dir, NULL), 0, "%s",
		     fx.output);
	cr_expect_eq(python_check(fx.output, status_check), 0, "status --json: %s", fx.output);
	fx_listener_stop(&l);
}
