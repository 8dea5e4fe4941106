// SPDX-License-Identifier: GPL-2.0-only
/*
 * main.c - the tunnelguard command line: parse options, dispatch to one subcommand.
 *
 * Exit codes: 0 success (check: allow), 1 failure (check: deny), 2 bad usage or config,
 * 3 status: not loaded. status also exits 1 when it cannot tell (pins unreadable or out of sight).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "daemon.h"
#include "escape.h"
#include "events.h"
#include "guard.h"
#include "layers.h"
#include "loader.h"
#include "log.h"
#include "mounts.h"
#include "prometheus.h"
#include "status.h"
#include "util.h"

#define EXIT_USAGE 2

enum option_id {
	OPT_PIN_DIR = 256,
	OPT_CGROUP,
	OPT_JSON,
	OPT_UID,
	OPT_PORT,
	OPT_ADDR,
	OPT_VERSION,
	OPT_FOLLOW,
	OPT_INTERVAL,
	OPT_NO_SELF_TEST,
	OPT_BIND,
	OPT_PROMETHEUS,
	OPT_LAST, /* bound of the ids, short options' characters included */
};

#define DEFAULT_INTERVAL_MS 2000

struct cli {
	const char *command;
	const char *config; /* NULL: the default path, built-in defaults when it is absent */
	const char *pin_dir;
	const char *cgroup;
	const char *addr;
	bool json;
	bool prometheus;
	bool follow;
	bool no_self_test;
	unsigned int interval_ms;
	bool have_uid, have_port, bind;
	uint32_t uid;
	uint16_t port;
	int verbosity;
};

static const char usage_text[] =
	"usage: tunnelguard COMMAND [OPTIONS]\n"
	"\n"
	"commands:\n"
	"  load     validate the config, load and attach the guard, pin it, exit\n"
	"           (over a loaded guard: swap to the new config with no gap)\n"
	"  unload   detach the guard, remove everything under the pin dir and the nft table\n"
	"  status   [--json | --prometheus]: show what is loaded, its policy and its counters\n"
	"  check    --uid UID --port PORT [--addr ADDR]: would this connect be allowed?\n"
	"           --uid UID --bind PORT: would this bind() be allowed (on any address)?\n"
	"           [--json]: one JSON object, a result per address\n"
	"  daemon   [--json] [--interval MS]: load if needed, print refusals, keep maps in sync\n"
	"  events   [--follow] [--json]: print refusals when no daemon is running\n"
	"\n"
	"options:\n"
	"  -c, --config FILE   config file (default " CFG_DEFAULT_PATH ")\n"
	"      --pin-dir DIR   bpffs directory of the pins (default " LOADER_DEFAULT_PIN_DIR ")\n"
	"      --cgroup DIR    load: cgroup v2 directory to attach to (default: the root)\n"
	"      --no-self-test  load, daemon: do not prove the guard with a probe connect in a\n"
	"                      throwaway network namespace (for hosts that cannot create one)\n"
	"      --json          status, check, daemon, events: print JSON\n"
	"      --prometheus    status: print Prometheus text exposition format\n"
	"      --follow        events: keep printing until interrupted\n"
	"      --interval MS   daemon: full reconciliation period (default 2000)\n"
	"  -v, --verbose       more messages; twice for libbpf's debug output\n"
	"  -h, --help          this text\n"
	"\n"
	"exit status: 0 ok / allow, 1 failure / deny, 2 bad usage or config, 3 not loaded\n";

static int __attribute__((format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprint_tagged(LOG_LEVEL_ERROR, "tunnelguard: ", fmt, ap);
	va_end(ap);
	log_print_plain(LOG_LEVEL_ERROR, "(see tunnelguard --help)\n");
	return EXIT_USAGE;
}

/* Decimal only, no sign, whole string, within max. */
static int parse_number(const char *text, unsigned long max, unsigned long *out)
{
	char *end;

	if (text[0] < '0' || text[0] > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoul(text, &end, 10);
	if (errno || *end || *out > max)
		return -EINVAL;
	return 0;
}

/* An argument as a message may echo it: controls and non-UTF-8 bytes as \xNN (escape.h). */
static const char *shown(const char *arg)
{
	/* Two slots: one message echoes at most two arguments. */
	static char slots[2][ESCAPE_SIZE(256)];
	static unsigned int next;
	char *out = slots[next++ % 2];

	return escape_text(out, sizeof(slots[0]), arg);
}

/*
 * Paths and addresses are echoed by many messages after this point: refuse, here and once, those
 * with bytes a terminal or a log would act on.
 */
static int check_text_option(const char *option, const char *value)
{
	if (!escape_needed(value))
		return 0;
	return usage_error(
		"%s %s: control characters or bytes that are not UTF-8; give a plain path or value",
		option, shown(value));
}

/* The long name of an option, as getopt_long knows it, for "given twice". */
static const char *option_name(const struct option *options, int id)
{
	for (; options->name; options++)
		if (options->val == id)
			return options->name;
	return "?";
}

static int parse_cli(int argc, char **argv, struct cli *cli)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "pin-dir", required_argument, NULL, OPT_PIN_DIR },
		{ "cgroup", required_argument, NULL, OPT_CGROUP },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "uid", required_argument, NULL, OPT_UID },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "addr", required_argument, NULL, OPT_ADDR },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "follow", no_argument, NULL, OPT_FOLLOW },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "no-self-test", no_argument, NULL, OPT_NO_SELF_TEST },
		{ "bind", required_argument, NULL, OPT_BIND },
		{ "prometheus", no_argument, NULL, OPT_PROMETHEUS },
		{},
	};
	/* Every option but -v takes effect once: a second one is a mistake, not an override. */
	bool seen[OPT_LAST] = {};
	unsigned long n;
	int opt;

	cli->pin_dir = LOADER_DEFAULT_PIN_DIR;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":c:vh", options, NULL)) != -1) {
		if (opt > 0 && opt < OPT_LAST && opt != 'v' && opt != ':' && opt != '?') {
			if (seen[opt])
				return usage_error("option --%s given twice",
						   option_name(options, opt));
			seen[opt] = true;
		}
		switch (opt) {
		case 'c':
			if (check_text_option("--config", optarg))
				return EXIT_USAGE;
			cli->config = optarg;
			break;
		case OPT_PIN_DIR:
			if (check_text_option("--pin-dir", optarg))
				return EXIT_USAGE;
			cli->pin_dir = optarg;
			break;
		case OPT_CGROUP:
			if (check_text_option("--cgroup", optarg))
				return EXIT_USAGE;
			cli->cgroup = optarg;
			break;
		case OPT_JSON:
			cli->json = true;
			break;
		case OPT_UID:
			if (parse_number(optarg, 4294967294UL, &n))
				return usage_error("--uid %s: not a uid (0-4294967294)",
						   shown(optarg));
			cli->uid = n;
			cli->have_uid = true;
			break;
		case OPT_PORT:
			if (parse_number(optarg, 65535, &n) || n == 0)
				return usage_error("--port %s: not a port (1-65535)",
						   shown(optarg));
			if (cli->have_port)
				return usage_error("%s", "give --port or --bind, not both");
			cli->port = n;
			cli->have_port = true;
			break;
		case OPT_BIND:
			if (parse_number(optarg, 65535, &n))
				return usage_error("--bind %s: not a port (0-65535)",
						   shown(optarg));
			if (cli->have_port)
				return usage_error("%s", "give --port or --bind, not both");
			cli->port = n;
			cli->have_port = true;
			cli->bind = true;
			break;
		case OPT_ADDR:
			if (check_text_option("--addr", optarg))
				return EXIT_USAGE;
			cli->addr = optarg;
			break;
		case OPT_PROMETHEUS:
			cli->prometheus = true;
			break;
		case OPT_FOLLOW:
			cli->follow = true;
			break;
		case OPT_NO_SELF_TEST:
			cli->no_self_test = true;
			break;
		case OPT_INTERVAL:
			if (parse_number(optarg, 3600000, &n) || n < 100)
				return usage_error(
					"--interval %s: milliseconds from 100 to 3600000",
					shown(optarg));
			cli->interval_ms = n;
			break;
		case 'v':
			cli->verbosity++;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case OPT_VERSION:
			puts("tunnelguard " TG_VERSION);
			exit(0);
		case ':':
			return usage_error("option %s needs a value", shown(argv[optind - 1]));
		default:
			return usage_error("unknown option %s", shown(argv[optind - 1]));
		}
	}
	if (optind >= argc)
		return usage_error(
			"%s", "no command given: load, unload, status, check, daemon or events");
	cli->command = argv[optind];
	if (optind + 1 < argc)
		return usage_error("unexpected argument %s", shown(argv[optind + 1]));
	return 0;
}

/* Refuse options that do not belong to the command, rather than silently ignore them. */
static int check_option_scope(const struct cli *cli)
{
	bool is_check = strcmp(cli->command, "check") == 0;

	bool is_daemon = strcmp(cli->command, "daemon") == 0;
	bool is_events = strcmp(cli->command, "events") == 0;

	if (cli->cgroup && strcmp(cli->command, "load") != 0 && !is_daemon)
		return usage_error("--cgroup is only for load and daemon, not %s", cli->command);
	if (cli->json && strcmp(cli->command, "status") != 0 && !is_daemon && !is_events &&
	    !is_check)
		return usage_error("--json is only for status, check, daemon and events, not %s",
				   cli->command);
	if (cli->prometheus && strcmp(cli->command, "status") != 0)
		return usage_error("--prometheus is only for status, not %s", cli->command);
	if (cli->prometheus && cli->json)
		return usage_error("%s", "--prometheus and --json exclude each other");
	if (cli->follow && !is_events)
		return usage_error("--follow is only for events, not %s", cli->command);
	if (cli->no_self_test && strcmp(cli->command, "load") != 0 && !is_daemon)
		return usage_error("--no-self-test is only for load and daemon, not %s",
				   cli->command);
	if (cli->interval_ms && !is_daemon)
		return usage_error("--interval is only for daemon, not %s", cli->command);
	if (!is_check && (cli->have_uid || cli->have_port || cli->addr))
		return usage_error("--uid, --port, --bind and --addr are only for check, not %s",
				   cli->command);
	if (is_check && (!cli->have_uid || !cli->have_port))
		return usage_error("%s needs --uid UID and --port PORT (or --bind PORT)",
				   cli->command);
	if (cli->bind && cli->addr)
		return usage_error(
			"%s", "--addr is for --port: a reservation holds a port on every address");
	return 0;
}

/*
 * Every command that reads or writes the pins must see the ones that outlive it (mounts.h): under
 * `ip netns exec`, load would pin into a bpffs that dies with it and leave nothing attached, and
 * status would say "not loaded" over a guard in force. Returns 0 or the exit status.
 */
static int check_pin_view(const struct cli *cli)
{
	bool loads = strcmp(cli->command, "load") == 0 || strcmp(cli->command, "daemon") == 0;
	bool check = strcmp(cli->command, "check") == 0;
	char why[PATH_MAX + 256];
	int err;

	/* check reads the pins only for want of -c; it falls back to the config file when it
	 * cannot read them, which is a lie only when it cannot see them. */
	if (check && cli->config)
		return 0;
	err = mounts_check_pin_view(cli->pin_dir, why, sizeof(why));
	if (!err || (check && err != -EXDEV))
		return 0;
	if (loads) {
		pr_err("refusing to %s: %s; %s\n", cli->command, why, MOUNTS_NSENTER_HINT);
		return 1;
	}
	if (check) {
		pr_err("cannot see the pins in %s from here (%s); give -c FILE, or %s\n",
		       cli->pin_dir, why, MOUNTS_NSENTER_HINT);
		return EXIT_USAGE; /* its 1 means deny */
	}
	pr_err("cannot see the pins in %s from here, so cannot tell what is loaded: %s; %s\n",
	       cli->pin_dir, why, MOUNTS_NSENTER_HINT);
	return strcmp(cli->command, "status") == 0 ? STATUS_UNREADABLE : 1;
}

static int cmd_load(const struct cli *cli)
{
	struct loader_opts opts = {
		.pin_dir = cli->pin_dir,
		.cgroup = cli->cgroup,
		.no_self_test = cli->no_self_test,
	};
	struct tg_config cfg;

	if (cfg_load(cli->config, &cfg))
		return EXIT_USAGE;
	if (cli->cgroup && mounts_check_cgroup_dir(cli->cgroup))
		return EXIT_USAGE;
	if (layers_load(&cfg, &opts))
		return 1;
	if (cfg.layers & TG_LAYER_BPF)
		printf("tunnelguard: guard in force, layers %s (pin dir %s)\n",
		       layers_name(cfg.layers), cli->pin_dir);
	else
		printf("tunnelguard: guard in force, layers nft (table inet tunnelguard)\n");
	return 0;
}

static int cmd_unload(const struct cli *cli)
{
	return layers_unload(cli->pin_dir) ? 1 : 0;
}

static int cmd_status(const struct cli *cli)
{
	struct status_report r;
	int err = status_collect_view(cli->pin_dir,
				      cli->prometheus ? STATUS_VIEW_PROMETHEUS
				      : cli->json     ? STATUS_VIEW_JSON
						      : STATUS_VIEW_TEXT,
				      &r);

	if (err) {
		pr_err("cannot read pin dir %s: %s%s\n", cli->pin_dir, strerror(-err),
		       err == -EACCES || err == -EPERM ? " (reading BPF pins needs root)" : "");
		return STATUS_UNREADABLE;
	}
	if (cli->prometheus)
		prometheus_print(stdout, &r);
	else if (cli->json)
		status_print_json(stdout, &r, cli->pin_dir);
	else
		status_print_text(stdout, &r, cli->pin_dir);
	err = status_exit_code(&r);
	status_free(&r);
	return err;
}

static int cmd_daemon(const struct cli *cli)
{
	struct daemon_opts opts = {
		.config = cli->config,
		.pin_dir = cli->pin_dir,
		.cgroup = cli->cgroup,
		.no_self_test = cli->no_self_test,
		.json = cli->json,
		.interval_ms = cli->interval_ms ? cli->interval_ms : DEFAULT_INTERVAL_MS,
	};
	int err;

	if (cli->cgroup && mounts_check_cgroup_dir(cli->cgroup))
		return EXIT_USAGE;
	err = daemon_run(&opts);

	return err == -EINVAL ? EXIT_USAGE : err ? 1 : 0;
}

static volatile sig_atomic_t stop_following;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_following = 1;
}

static int cmd_events(const struct cli *cli)
{
	struct events_reader reader;
	pid_t holder = 0;
	int lock_fd, err, n;

	lock_fd = events_lock(cli->pin_dir, &holder);
	if (lock_fd == -EWOULDBLOCK) {
		pr_err("a tunnelguard daemon (pid %d) is reading the events of %s: they are in its output (journalctl -u tunnelguard-daemon)\n",
		       holder, cli->pin_dir);
		return 1;
	}
	if (lock_fd < 0) {
		pr_err("cannot take the events lock: %s\n", strerror(-lock_fd));
		return 1;
	}
	err = events_open(&reader, cli->pin_dir, cli->json, stdout);
	if (err) {
		pr_err("cannot open the events of %s: %s (is the guard loaded?)\n", cli->pin_dir,
		       strerror(-err));
		close(lock_fd);
		return 1;
	}
	signal(SIGINT, on_stop_signal);
	signal(SIGTERM, on_stop_signal);
	do {
		n = events_poll(&reader, cli->follow ? 200 : 0);
	} while (n >= 0 && cli->follow && !stop_following);
	events_close(&reader);
	close(lock_fd);
	return n < 0 ? 1 : 0;
}

/*
 * The policy to judge by: the file given with -c, else the loaded guard's (st, when read: its
 * lists are taken over), else the default.
 */
static int check_policy(const struct cli *cli, struct guard_state *st, struct tg_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	if (!cli->config && st && st->have_config) {
		cfg->policy = st->policy; /* cfg takes the policy's lists over */
		memset(&st->policy, 0, sizeof(st->policy));
		return 0;
	}
	return cfg_load(cli->config, cfg);
}

static int cmd_check(const struct cli *cli)
{
	struct check_request req = {
		.uid = cli->uid,
		.port = cli->port,
		.addr = cli->addr,
		.pin_dir = cli->pin_dir,
		.json = cli->json,
	};
	/* The guard is read once: its policy (without -c), the namespace it follows (connect). */
	bool read_guard = !cli->config || !cli->bind;
	struct guard_state st, *guard = NULL;
	struct tg_config cfg;
	int verdict;

	if (read_guard && guard_read(cli->pin_dir, &st) == 0 && st.have_config)
		guard = &st;
	req.guard = guard;
	if (check_policy(cli, guard, &cfg)) {
		verdict = -EINVAL;
		goto cleanup;
	}
	if (cli->bind)
		verdict = check_bind_run(&cfg.policy, &req, stdout);
	else
		verdict = check_run(&cfg.policy, &req, stdout);
	cfg_free(&cfg);
cleanup:
	if (read_guard)
		guard_free(&st);
	return verdict < 0 ? EXIT_USAGE : verdict;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(const struct cli *cli);
		bool needs_root;
	} commands[] = {
		{ "load", cmd_load, true },	 { "unload", cmd_unload, true },
		{ "status", cmd_status, false }, { "check", cmd_check, false },
		{ "daemon", cmd_daemon, true },	 { "events", cmd_events, true },
	};
	struct cli cli = {};
	int err = parse_cli(argc, argv, &cli);

	if (err)
		return err;
	log_set_level(cli.verbosity >= 2 ? LOG_LEVEL_DEBUG
		      : cli.verbosity	 ? LOG_LEVEL_INFO
					 : LOG_LEVEL_WARN);
	log_setup_libbpf();
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(cli.command, commands[i].name) != 0)
			continue;
		err = check_option_scope(&cli);
		if (err)
			return err;
		if (commands[i].needs_root && geteuid() != 0) {
			pr_err("%s needs root (CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN): run it with sudo\n",
			       cli.command);
			return 1;
		}
		err = check_pin_view(&cli);
		if (err)
			return err;
		return commands[i].run(&cli);
	}
	return usage_error("unknown command %s: load, unload, status, check, daemon or events",
			   shown(cli.command));
}
