// SPDX-License-Identifier: GPL-2.0-only
/* test_config.c - cfg_parse, cfg_load and the formatting helpers (userspace/config*.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

/* Text of a config as a (pointer, length) pair, so cases can hold NUL bytes. */
#define TEXT(s) .text = (s), .len = sizeof(s) - 1

/* The built-in defaults, spelled out so the tests do not trust cfg_defaults() to define them. */
#define DEFAULT_POLICY                                                                   \
	{                                                                                \
		.mode = TG_MODE_ENFORCE, .policy = TG_POLICY_ISOLATE, .deny_errno = 111, \
		.n_tenant = 1, .tenant = (struct tg_uid_range[]){ { 1000, 59999 } },     \
	}

static const struct tg_policy default_policy = DEFAULT_POLICY;

static void assert_policy_eq(const char *name, const struct tg_policy *got,
			     const struct tg_policy *want)
{
	cr_assert_eq(got->mode, want->mode, "%s: mode %u, want %u", name, got->mode, want->mode);
	cr_assert_eq(got->policy, want->policy, "%s: policy %u, want %u", name, got->policy,
		     want->policy);
	cr_assert_eq(got->deny_errno, want->deny_errno, "%s: deny_errno %u, want %u", name,
		     got->deny_errno, want->deny_errno);
	cr_assert_eq(got->n_tenant, want->n_tenant, "%s: n_tenant %u, want %u", name, got->n_tenant,
		     want->n_tenant);
	cr_assert_eq(got->n_exempt, want->n_exempt, "%s: n_exempt %u, want %u", name, got->n_exempt,
		     want->n_exempt);
	cr_assert_eq(got->n_allow_port, want->n_allow_port, "%s: n_allow_port %u, want %u", name,
		     got->n_allow_port, want->n_allow_port);
	for (unsigned int i = 0; i < want->n_tenant; i++)
		cr_assert(got->tenant[i].first == want->tenant[i].first &&
				  got->tenant[i].last == want->tenant[i].last,
			  "%s: tenant[%u] %u-%u, want %u-%u", name, i, got->tenant[i].first,
			  got->tenant[i].last, want->tenant[i].first, want->tenant[i].last);
	for (unsigned int i = 0; i < want->n_exempt; i++)
		cr_assert(got->exempt[i].first == want->exempt[i].first &&
				  got->exempt[i].last == want->exempt[i].last,
			  "%s: exempt[%u] %u-%u, want %u-%u", name, i, got->exempt[i].first,
			  got->exempt[i].last, want->exempt[i].first, want->exempt[i].last);
	for (unsigned int i = 0; i < want->n_allow_port; i++)
		cr_assert(got->allow_port[i].first == want->allow_port[i].first &&
				  got->allow_port[i].last == want->allow_port[i].last,
			  "%s: allow_port[%u] %u-%u, want %u-%u", name, i, got->allow_port[i].first,
			  got->allow_port[i].last, want->allow_port[i].first,
			  want->allow_port[i].last);
}

Test(config, defaults)
{
	struct tg_config cfg;

	memset(&cfg, 0xa5, sizeof(cfg));
	cfg_defaults(&cfg);
	assert_policy_eq("cfg_defaults", &cfg.policy, &default_policy);
	cfg_free(&cfg);
}

struct good_case {
	const char *name;
	const char *text;
	size_t len;
	struct tg_policy want;
};

static const struct good_case good_cases[] = {
	{
		.name = "empty text",
		TEXT(""),
		.want = DEFAULT_POLICY,
	},
	{
		.name = "only comments and blank lines",
		TEXT("# tunnelguard\n\n   \n\t# mode = audit\n#\n"),
		.want = DEFAULT_POLICY,
	},
	{
		.name = "every key",
		TEXT("mode = audit\npolicy = strict\ndeny-errno = eperm\ntenant-uids = 2001-2003\n"
		     "exempt-uids = 2002\nallow-ports = 53, 5432\n"),
		.want = { .mode = TG_MODE_AUDIT,
			  .policy = TG_POLICY_STRICT,
			  .deny_errno = 1,
			  .n_tenant = 1,
			  .tenant = (struct tg_uid_range[]){ { 2001, 2003 } },
			  .n_exempt = 1,
			  .exempt = (struct tg_uid_range[]){ { 2002, 2002 } },
			  .n_allow_port = 2,
			  .allow_port = (struct tg_port_range[]){ { 53, 53 }, { 5432, 5432 } } },
	},
	{
		.name = "defaults spelled out",
		TEXT("mode = enforce\npolicy = isolate\ndeny-errno = econnrefused\n"
		     "tenant-uids = 1000-59999\nexempt-uids =\nallow-ports =\n"),
		.want = DEFAULT_POLICY,
	},
	{
		.name = "worked example of tg_policy.h",
		TEXT("tenant-uids = 2001-2003\nallow-ports = 53\n"),
		.want = { .mode = TG_MODE_ENFORCE,
			  .policy = TG_POLICY_ISOLATE,
			  .deny_errno = 111,
			  .n_tenant = 1,
			  .tenant = (struct tg_uid_range[]){ { 2001, 2003 } },
			  .n_allow_port = 1,
			  .allow_port = (struct tg_port_range[]){ { 53, 53 } } },
	},
	{
		.name = "trailing comments",
		TEXT("mode = audit # only while we watch\npolicy=strict#no blanks\n"
		     "allow-ports = 53 # dns\n"),
		.want = { .mode = TG_MODE_AUDIT,
			  .policy = TG_POLICY_STRICT,
			  .deny_errno = 111,
			  .n_tenant = 1,
			  .tenant = (struct tg_uid_range[]){ { 1000, 59999 } },
			  .n_allow_port = 1,
			  .allow_port = (struct tg_port_range[]){ { 53, 53 } } },
	},
	{
		.name = "blanks and tabs around key and value",
		TEXT("  \tmode\t=\taudit  \n deny-errno   =eperm\t\n"),
		.want = { .mode = TG_MODE_AUDIT,
			  .policy = TG_POLICY_ISOLATE,
			  .deny_errno = 1,
			  .n_tenant = 1,
			  .tenant = (struct tg_uid_range[]){ { 1000, 59999 } } },
	},
	{
		.name = "CRLF line ends",
		TEXT("# dos\r\nmode = audit\r\n\r\ntenant-uids = 1000-2000 # c\r\n"),
		.want = { .mode = TG_MODE_AUDIT,
			  .policy = TG_POLICY_ISOLATE,
			  .deny_errno = 111,
			  .n_tenant = 1,
			  .tenant = (struct tg_uid_range[]){ { 1000, 2000 } } },
	},
	{
		.name = "no newline at end of text",
		TEXT("policy = strict"),
		.want = { .mode = TG_MODE_ENFORCE,
			  .policy = TG_POLICY_STRICT,
			  .deny_errno = 111,
			  .n_tenant = 1,
			  .tenant = (struct tg_uid_range[]){ { 1000, 59999 } } },
	},
	{
		.name = "empty lists",
		TEXT("tenant-uids =\nexempt-uids = \t\nallow-ports=# none\n"),
		.want = { .mode = TG_MODE_ENFORCE, .policy = TG_POLICY_ISOLATE, .deny_errno = 111 },
	},
	{
		.name = "uid ranges sorted",
		TEXT("tenant-uids = 70000-70005, 60010, 1000-59999\n"
		     "exempt-uids = 4294967294, 0, 1500\n"),
		.want = { .mode = TG_MODE_ENFORCE,
			  .policy = TG_POLICY_ISOLATE,
			  .deny_errno = 111,
			  .n_tenant = 3,
			  .tenant = (struct tg_uid_range[]){ { 1000, 59999 },
							     { 60010, 60010 },
							     { 70000, 70005 } },
			  .n_exempt = 3,
			  .exempt = (struct tg_uid_range[]){ { 0, 0 },
							     { 1500, 1500 },
							     { 4294967294, 4294967294 } } },
	},
	{
		.name = "port ranges sorted, edges 1 and 65535",
		TEXT("allow-ports = 65535, 8000-8080, 1\n"),
		.want = { .mode = TG_MODE_ENFORCE,
			  .policy = TG_POLICY_ISOLATE,
			  .deny_errno = 111,
			  .n_tenant = 1,
			  .tenant = (struct tg_uid_range[]){ { 1000, 59999 } },
			  .n_allow_port = 3,
			  .allow_port = (struct tg_port_range[]){ { 1, 1 },
								  { 8000, 8080 },
								  { 65535, 65535 } } },
	},
	{
		.name = "adjacent ranges do not overlap",
		TEXT("tenant-uids = 2000-2999, 1000-1999, 1\nallow-ports = 1-65535\n"),
		.want = { .mode = TG_MODE_ENFORCE,
			  .policy = TG_POLICY_ISOLATE,
			  .deny_errno = 111,
			  .n_tenant = 3,
			  .tenant = (struct tg_uid_range[]){ { 1, 1 },
							     { 1000, 1999 },
							     { 2000, 2999 } },
			  .n_allow_port = 1,
			  .allow_port = (struct tg_port_range[]){ { 1, 65535 } } },
	},
	{
		.name = "blanks around the range dash",
		TEXT("tenant-uids = 1000 - 2000,3000\t-\t3001\n"),
		.want = { .mode = TG_MODE_ENFORCE,
			  .policy = TG_POLICY_ISOLATE,
			  .deny_errno = 111,
			  .n_tenant = 2,
			  .tenant = (struct tg_uid_range[]){ { 1000, 2000 }, { 3000, 3001 } } },
	},
	{
		.name = "leading zeros are decimal, not octal",
		TEXT("allow-ports = 010, 0053\n"),
		.want = { .mode = TG_MODE_ENFORCE,
			  .policy = TG_POLICY_ISOLATE,
			  .deny_errno = 111,
			  .n_tenant = 1,
			  .tenant = (struct tg_uid_range[]){ { 1000, 59999 } },
			  .n_allow_port = 2,
			  .allow_port = (struct tg_port_range[]){ { 10, 10 }, { 53, 53 } } },
	},
	{
		.name = "32 entries (once the cap), sorted",
		TEXT("allow-ports = 32,31,30,29,28,27,26,25,24,23,22,21,20,19,18,17,"
		     "16,15,14,13,12,11,10,9,8,7,6,5,4,3,2,1\n"),
		.want = { .mode = TG_MODE_ENFORCE,
			  .policy = TG_POLICY_ISOLATE,
			  .deny_errno = 111,
			  .n_tenant = 1,
			  .tenant = (struct tg_uid_range[]){ { 1000, 59999 } },
			  .n_allow_port = 32,
			  .allow_port =
				  (struct tg_port_range[]){
					  { 1, 1 },   { 2, 2 },	  { 3, 3 },   { 4, 4 },
					  { 5, 5 },   { 6, 6 },	  { 7, 7 },   { 8, 8 },
					  { 9, 9 },   { 10, 10 }, { 11, 11 }, { 12, 12 },
					  { 13, 13 }, { 14, 14 }, { 15, 15 }, { 16, 16 },
					  { 17, 17 }, { 18, 18 }, { 19, 19 }, { 20, 20 },
					  { 21, 21 }, { 22, 22 }, { 23, 23 }, { 24, 24 },
					  { 25, 25 }, { 26, 26 }, { 27, 27 }, { 28, 28 },
					  { 29, 29 }, { 30, 30 }, { 31, 31 }, { 32, 32 } } },
	},
	{
		.name = "length excludes what follows a NUL-free text",
		.text = "mode = audit\nmode = enforce\n",
		.len = 13,
		.want = { .mode = TG_MODE_AUDIT,
			  .policy = TG_POLICY_ISOLATE,
			  .deny_errno = 111,
			  .n_tenant = 1,
			  .tenant = (struct tg_uid_range[]){ { 1000, 59999 } } },
	},
};

Test(config, layers)
{
	static const struct {
		const char *text;
		__u32 want;
	} cases[] = {
		{ "", TG_LAYER_BPF | TG_LAYER_NFT },
		{ "layers = bpf\n", TG_LAYER_BPF },
		{ "layers = nft\n", TG_LAYER_NFT },
		{ "layers = bpf nft\n", TG_LAYER_BPF | TG_LAYER_NFT },
		{ "layers = nft, bpf\n", TG_LAYER_BPF | TG_LAYER_NFT },
		{ "layers =\tnft \t bpf  # both\n", TG_LAYER_BPF | TG_LAYER_NFT },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg_error err = { 0 };
		struct tg_config cfg;

		memset(&cfg, 0xa5, sizeof(cfg));
		cr_assert_eq(cfg_parse(cases[i].text, strlen(cases[i].text), &cfg, &err), 0,
			     "'%s': %s", cases[i].text, err.message);
		cr_expect_eq(cfg.layers, cases[i].want, "'%s': layers %u, expected %u",
			     cases[i].text, cfg.layers, cases[i].want);
		cfg_free(&cfg);
	}
}

Test(config, parse_good)
{
	for (size_t i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
		const struct good_case *c = &good_cases[i];
		struct cfg_error err = { 0 };
		struct tg_config cfg;
		int ret;

		memset(&cfg, 0xa5, sizeof(cfg));
		ret = cfg_parse(c->text, c->len, &cfg, &err);
		cr_assert_eq(ret, 0, "%s: cfg_parse returned %d, line %u: %s", c->name, ret,
			     err.line, err.message);
		assert_policy_eq(c->name, &cfg.policy, &c->want);
		cfg_free(&cfg);
	}
}

struct bad_case {
	const char *name;
	const char *text;
	size_t len;
	unsigned int line;
	const char *message; /* a substring of the expected message */
};

static const struct bad_case bad_cases[] = {
	{ "unknown key", TEXT("mode = audit\nfoo = 1\n"), 2,
	  "unknown key 'foo' (valid keys: mode," },
	{ "key in the wrong case", TEXT("Mode = audit\n"), 1, "unknown key 'Mode'" },
	{ "key with an inner blank", TEXT("tenant uids = 1000\n"), 1, "unknown key 'tenant uids'" },
	{ "line without =", TEXT("\n# c\nmode audit\n"), 3, "no '=' in 'mode audit'" },
	{ "empty key", TEXT("= audit\n"), 1, "empty key before '='" },
	{ "blank key", TEXT("mode = audit\n \t= audit\n"), 2, "empty key before '='" },
	{ "duplicate key", TEXT("mode = audit\n# c\nmode = enforce\n"), 3,
	  "duplicate key 'mode' (first set on line 1)" },
	{ "duplicate empty list", TEXT("policy = strict\nallow-ports =\n\nallow-ports =\n"), 4,
	  "duplicate key 'allow-ports' (first set on line 2)" },
	{ "bad mode", TEXT("mode = block\n"), 1,
	  "invalid mode 'block' (expected enforce or audit)" },
	{ "mode in the wrong case", TEXT("mode = Audit\n"), 1, "invalid mode 'Audit'" },
	{ "empty mode", TEXT("mode =\n"), 1, "invalid mode '' (expected enforce or audit)" },
	{ "two = signs", TEXT("mode = = audit\n"), 1, "invalid mode '= audit'" },
	{ "CR inside a value", TEXT("mode = au\rdit\n"), 1, "invalid mode 'au\\x0ddit'" },
	{ "bad policy", TEXT("policy = open\n"), 1,
	  "invalid policy 'open' (expected isolate or strict)" },
	{ "numeric deny-errno", TEXT("deny-errno = 111\n"), 1,
	  "invalid deny-errno '111' (expected econnrefused or eperm)" },
	{ "long bad value is cut",
	  TEXT("mode = aaaaaaaaaabbbbbbbbbbccccccccccddddddddddeeeeeeeeee\n"), 1,
	  "invalid mode 'aaaaaaaaaabbbbbbbbbbccccccccccdddddddddd...'" },
	{ "uid above 4294967294", TEXT("tenant-uids = 1000-4294967295\n"), 1,
	  "tenant-uids: uid 4294967295 is out of range (0-4294967294)" },
	{ "uid beyond 64 bits", TEXT("exempt-uids = 99999999999999999999999\n"), 1,
	  "exempt-uids: uid 99999999999999999999999 is out of range" },
	{ "uid 2^64 + 5 does not wrap to 5", TEXT("exempt-uids = 18446744073709551621\n"), 1,
	  "exempt-uids: uid 18446744073709551621 is out of range" },
	{ "port 2^64 + 53 does not wrap to 53", TEXT("allow-ports = 18446744073709551669\n"), 1,
	  "allow-ports: port 18446744073709551669 is out of range (1-65535)" },
	{ "port 0", TEXT("allow-ports = 0\n"), 1, "allow-ports: port 0 is out of range (1-65535)" },
	{ "port 65536", TEXT("allow-ports = 53, 65536\n"), 1, "port 65536 is out of range" },
	{ "port range end too big", TEXT("allow-ports = 8000-70000\n"), 1, "port 70000 is out" },
	{ "port range starting at 0", TEXT("allow-ports = 0-10\n"), 1, "port 0 is out of range" },
	{ "reversed uid range", TEXT("tenant-uids = 5-3\n"), 1,
	  "tenant-uids: range 5-3 is reversed (did you mean 3-5?)" },
	{ "reversed port range", TEXT("allow-ports = 90-80\n"), 1, "range 90-80 is reversed" },
	{ "overlapping uid ranges", TEXT("tenant-uids = 1000-2000, 1500\n"), 1,
	  "tenant-uids: 1000-2000 overlaps 1500" },
	{ "repeated port", TEXT("allow-ports = 53, 53\n"), 1, "allow-ports: 53 overlaps 53" },
	{ "overlap found after sorting", TEXT("\nallow-ports = 9000-9100, 80, 8000-9000\n"), 2,
	  "allow-ports: 8000-9000 overlaps 9000-9100" },
	{ "overlap in exempt-uids", TEXT("exempt-uids = 1-10, 5-6\n"), 1, "1-10 overlaps 5-6" },
	{ "root as tenant", TEXT("tenant-uids = 0\n"), 1,
	  "tenant-uids: uid 0 is root and cannot be a tenant" },
	{ "root inside a tenant range", TEXT("tenant-uids = 0-999\n"), 1, "uid 0 is root" },
	{ "NUL byte", TEXT("mode = audit\nmo\0de = enforce\n"), 2, "NUL byte in the text" },
	{ "NUL byte in a comment", TEXT("\n\n# \0\n"), 3, "NUL byte in the text" },
	{ "garbage after a range", TEXT("tenant-uids = 1000-2000x\n"), 1,
	  "tenant-uids: invalid entry '1000-2000x' (expected a uid or a range A-B, in decimal)" },
	{ "double comma", TEXT("allow-ports = 1,,2\n"), 1,
	  "allow-ports: empty entry (stray comma?)" },
	{ "leading comma", TEXT("allow-ports = ,1\n"), 1, "allow-ports: empty entry" },
	{ "trailing comma", TEXT("exempt-uids = 1, \n"), 1, "exempt-uids: empty entry" },
	{ "lone comma", TEXT("tenant-uids = ,\n"), 1, "tenant-uids: empty entry" },
	{ "plus sign", TEXT("allow-ports = +5\n"), 1, "invalid entry '+5' (expected a port" },
	{ "minus sign", TEXT("exempt-uids = -5\n"), 1, "invalid entry '-5'" },
	{ "blank inside a number", TEXT("allow-ports = 5 6\n"), 1, "invalid entry '5 6'" },
	{ "hex", TEXT("allow-ports = 0x50\n"), 1, "invalid entry '0x50'" },
	{ "open range", TEXT("allow-ports = 5-\n"), 1, "invalid entry '5-'" },
	{ "range of three", TEXT("allow-ports = 1-2-3\n"), 1, "invalid entry '1-2-3'" },
	{ "dash alone", TEXT("allow-ports = -\n"), 1, "invalid entry '-'" },
	{ "semicolon separator", TEXT("allow-ports = 1;2\n"), 1, "invalid entry '1;2'" },
	{ "CRLF keeps line numbers", TEXT("mode = audit\r\n\r\nfoo = 1\r\n"), 3,
	  "unknown key 'foo'" },
	{ "first error wins", TEXT("mode = audit\npolicy = x\nfoo = 1\n"), 2,
	  "invalid policy 'x'" },
	{ "unknown layer", TEXT("layers = bpf iptables\n"), 1,
	  "layers: unknown layer 'iptables' (expected bpf, nft or both)" },
	{ "layer twice", TEXT("layers = nft bpf nft\n"), 1, "layers: nft is named twice" },
	{ "no layer", TEXT("\nlayers =\n"), 2, "layers: empty (expected bpf, nft or both)" },
	{ "layer in the wrong case", TEXT("layers = BPF\n"), 1, "layers: unknown layer 'BPF'" },
	{ "trailing comma after layers", TEXT("layers = bpf,\n"), 1,
	  "layers: nothing after the last ','" },
	{ "empty layer between commas", TEXT("layers = bpf,,nft\n"), 1,
	  "layers: unknown layer ''" },
	{ "duplicate layers key", TEXT("layers = bpf\nlayers = nft\n"), 2,
	  "duplicate key 'layers' (first set on line 1)" },
};

Test(config, parse_bad)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct cfg_error err;
		struct tg_config cfg;
		int ret;

		memset(&err, 0xa5, sizeof(err));
		ret = cfg_parse(c->text, c->len, &cfg, &err);
		cr_assert_eq(ret, -EINVAL, "%s: cfg_parse returned %d, want -EINVAL", c->name, ret);
		cr_assert_eq(err.line, c->line, "%s: error on line %u, want %u (%s)", c->name,
			     err.line, c->line, err.message);
		cr_assert(memchr(err.message, '\0', sizeof(err.message)) != NULL,
			  "%s: message not terminated", c->name);
		cr_assert(strstr(err.message, c->message) != NULL,
			  "%s: message \"%s\" lacks \"%s\"", c->name, err.message, c->message);
	}
}

/*
 * No 4096-byte line cap any more (a tenant-uids list of 100,000 uids is one line): a 1 MiB line
 * is fine, and only a line past 8 MiB, which no config needs, is refused.
 */
Test(config, line_length)
{
	static const struct {
		const char *name;
		size_t line_len; /* bytes before the '\n' */
		int ret;
	} cases[] = {
		{ "4097-byte comment line", 4097, 0 },
		{ "1 MiB comment line", 1024 * 1024, 0 },
		{ "8 MiB comment line", 8 * 1024 * 1024, 0 },
		{ "8 MiB and one byte", 8 * 1024 * 1024 + 1, -EINVAL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg_error err = { 0 };
		struct tg_config cfg;
		char *text = malloc(cases[i].line_len + 64);
		size_t len;
		int ret;

		cr_assert_not_null(text);
		/* Line 1 is short; line 2 is the long one, a comment so only its length matters. */
		len = (size_t)snprintf(text, 64, "mode = audit\n");
		memset(text + len, '#', cases[i].line_len);
		len += cases[i].line_len;
		text[len++] = '\n';
		ret = cfg_parse(text, len, &cfg, &err);
		free(text);
		cr_assert_eq(ret, cases[i].ret, "%s: cfg_parse returned %d, want %d (%s)",
			     cases[i].name, ret, cases[i].ret, err.message);
		if (ret) {
			cr_assert_eq(err.line, 2, "%s: error on line %u, want 2", cases[i].name,
				     err.line);
			cr_assert(strstr(err.message,
					 "line is 8388609 bytes long, more than 8388608"),
				  "%s: message \"%s\"", cases[i].name, err.message);
		} else {
			cr_assert_eq(cfg.policy.mode, TG_MODE_AUDIT, "%s: mode %u", cases[i].name,
				     cfg.policy.mode);
			cfg_free(&cfg);
		}
	}
}

/* No cap on list entries any more: 1,000 allow-ports (once at most 32) parse, sorted. */
Test(config, long_lists)
{
	size_t cap = 1000 * 8 + 64, len;
	char *text = malloc(cap);
	struct cfg_error err = { 0 };
	struct tg_config cfg;
	int ret;

	cr_assert_not_null(text);
	len = (size_t)snprintf(text, cap, "allow-ports = ");
	for (unsigned int i = 1000; i > 0; i--) /* descending: the parser sorts */
		len += (size_t)snprintf(text + len, cap - len, "%u%s", 2 * i, i > 1 ? "," : "\n");
	ret = cfg_parse(text, len, &cfg, &err);
	free(text);
	cr_assert_eq(ret, 0, "1000 allow-ports: line %u: %s", err.line, err.message);
	cr_assert_eq(cfg.policy.n_allow_port, 1000, "n_allow_port %u", cfg.policy.n_allow_port);
	for (unsigned int i = 0; i < 1000; i++)
		cr_assert(cfg.policy.allow_port[i].first == 2 * (i + 1) &&
				  cfg.policy.allow_port[i].last == 2 * (i + 1),
			  "allow_port[%u] %u-%u", i, cfg.policy.allow_port[i].first,
			  cfg.policy.allow_port[i].last);
	cfg_free(&cfg);
}

Test(config, parse_without_error_struct)
{
	struct tg_config cfg;

	cr_assert_eq(cfg_parse("mode = x\n", 9, &cfg, NULL), -EINVAL,
		     "NULL err: bad text must still fail with -EINVAL");
	cr_assert_eq(cfg_parse("mode = audit\n", 13, &cfg, NULL), 0,
		     "NULL err: good text must parse");
	cr_assert_eq(cfg.policy.mode, TG_MODE_AUDIT, "NULL err: mode %u", cfg.policy.mode);
	cfg_free(&cfg);
}

/* The temp file and directory of the cfg_load tests; cleanup_temp() removes them on every path. */
static char temp_file[64];
static char temp_dir[64];

static void cleanup_temp(void)
{
	if (temp_file[0])
		unlink(temp_file);
	if (temp_dir[0])
		rmdir(temp_dir);
	temp_file[0] = '\0';
	temp_dir[0] = '\0';
}

/* Make temp_file hold len bytes of text. */
static void make_temp(const char *name, const char *text, size_t len)
{
	int fd;

	snprintf(temp_file, sizeof(temp_file), "/tmp/tg-test-config-XXXXXX");
	fd = mkstemp(temp_file);
	if (fd < 0)
		temp_file[0] = '\0';
	cr_assert(fd >= 0, "%s: mkstemp: %s", name, strerror(errno));
	cr_assert_eq(write(fd, text, len), (ssize_t)len, "%s: write: %s", name, strerror(errno));
	cr_assert_eq(close(fd), 0, "%s: close: %s", name, strerror(errno));
}

/* cfg_load() with stderr captured into out. */
static int load_capturing(const char *name, const char *path, struct tg_config *cfg, char *out,
			  size_t out_len)
{
	FILE *capture = tmpfile();
	int saved, ret;
	size_t n;

	cr_assert(capture, "%s: tmpfile: %s", name, strerror(errno));
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	cr_assert(saved >= 0, "%s: dup: %s", name, strerror(errno));
	cr_assert(dup2(fileno(capture), STDERR_FILENO) >= 0, "%s: dup2: %s", name, strerror(errno));
	ret = cfg_load(path, cfg);
	fflush(stderr);
	cr_assert(dup2(saved, STDERR_FILENO) >= 0, "%s: dup2 back: %s", name, strerror(errno));
	close(saved);
	rewind(capture);
	n = fread(out, 1, out_len - 1, capture);
	out[n] = '\0';
	fclose(capture);
	return ret;
}

struct load_case {
	const char *name;
	const char *text; /* NULL: big_text */
	size_t len;
	int ret;
};

Test(config, load_file, .fini = cleanup_temp)
{
	static char big_text[1024 * 1024 + 1];
	const struct load_case cases[] = {
		{ "good file", TEXT("mode = audit\n"), 0 },
		{ "parse error", TEXT("mode = audit\n\nbogus\n"), -EINVAL },
		{ "NUL byte", TEXT("mode = audit\n\0"), -EINVAL },
		{ "exactly 1 MiB", NULL, sizeof(big_text) - 1, 0 },
		/* The 1 MiB cap is gone (issue 16): a hub's config is a few MiB. */
		{ "1 MiB and one byte", NULL, sizeof(big_text), 0 },
	};

	/* 1 MiB of 64-byte comment lines. */
	for (size_t i = 0; i < sizeof(big_text); i++)
		big_text[i] = i % 64 == 63 ? '\n' : '#';

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct load_case *c = &cases[i];
		const char *text = c->text ? c->text : big_text;
		struct cfg_error err = { 0 };
		struct tg_config cfg, want;
		char path[64], out[1024], expect[1024];
		int ret;

		make_temp(c->name, text, c->len);
		snprintf(path, sizeof(path), "%s", temp_file);
		ret = load_capturing(c->name, path, &cfg, out, sizeof(out));
		cleanup_temp();
		cr_assert_eq(ret, c->ret, "%s: cfg_load returned %d, want %d (stderr: %s)", c->name,
			     ret, c->ret, out);
		if (c->ret == 0) {
			cr_assert_str_empty(out, "%s: stderr \"%s\", want nothing", c->name, out);
			cr_assert_eq(cfg_parse(text, c->len, &want, &err), 0, "%s: reparse",
				     c->name);
			assert_policy_eq(c->name, &cfg.policy, &want.policy);
			cfg_free(&cfg);
			cfg_free(&want);
		} else if (c->ret == -EINVAL) {
			/* Exactly "FILE:LINE: message\n", with the message cfg_parse gives. */
			cr_assert_eq(cfg_parse(text, c->len, &want, &err), -EINVAL, "%s: reparse",
				     c->name);
			snprintf(expect, sizeof(expect), "%s:%u: %s\n", path, err.line,
				 err.message);
			cr_assert_str_eq(out, expect, "%s: stderr \"%s\", want \"%s\"", c->name,
					 out, expect);
		}
	}
}

/* A 3 MiB config (past the old 1 MiB cap) loads, and its last line counts. */
Test(config, load_3_mib, .fini = cleanup_temp)
{
	static const char last[] = "mode = audit\n";
	size_t len = 3 * 1024 * 1024, body = len - (sizeof(last) - 1);
	char *text = malloc(len), out[1024];
	struct tg_config cfg;
	int ret;

	cr_assert_not_null(text);
	for (size_t i = 0; i < body; i++)
		text[i] = i % 64 == 63 || i == body - 1 ? '\n' : '#';
	memcpy(text + body, last, sizeof(last) - 1);
	make_temp("3 MiB", text, len);
	free(text);
	ret = load_capturing("3 MiB", temp_file, &cfg, out, sizeof(out));
	cr_assert_eq(ret, 0, "3 MiB: cfg_load returned %d (stderr: %s)", ret, out);
	cr_assert_str_empty(out, "3 MiB: stderr \"%s\"", out);
	cr_assert_eq(cfg.policy.mode, TG_MODE_AUDIT, "3 MiB: the last line was not read");
	cfg_free(&cfg);
}

/* What is still refused: a file past 256 MiB (sparse here), before reading any of it. */
Test(config, load_too_big, .fini = cleanup_temp)
{
	char out[1024], expect[1024];
	struct tg_config cfg;
	int ret;

	make_temp("too big", "", 0);
	cr_assert_eq(truncate(temp_file, 256L * 1024 * 1024 + 1), 0, "truncate: %s",
		     strerror(errno));
	ret = load_capturing("too big", temp_file, &cfg, out, sizeof(out));
	cr_assert_eq(ret, -EFBIG, "256 MiB and one byte: cfg_load returned %d (stderr: %s)", ret,
		     out);
	snprintf(
		expect, sizeof(expect),
		"%s: cannot read: File too large (a config file is at most 256 MiB; is this the right file?)\n",
		temp_file);
	cr_assert_str_eq(out, expect, "stderr \"%s\", want \"%s\"", out, expect);
}

Test(config, load_unreadable, .fini = cleanup_temp)
{
	char missing[64], out[1024], expect[1024];
	struct tg_config cfg;
	int ret;

	/* A name that surely does not exist: make a temp file and remove it. */
	make_temp("missing file", "", 0);
	snprintf(missing, sizeof(missing), "%s", temp_file);
	cleanup_temp();
	snprintf(temp_dir, sizeof(temp_dir), "/tmp/tg-test-config-XXXXXX");
	if (!mkdtemp(temp_dir))
		temp_dir[0] = '\0';
	cr_assert(temp_dir[0], "directory: mkdtemp: %s", strerror(errno));

	const struct {
		const char *name;
		const char *path;
		int ret;
		const char *why;
	} cases[] = {
		{ "missing explicit file", missing, -ENOENT,
		  "cannot read: No such file or directory (check the path)" },
		{ "directory", temp_dir, -EINVAL, "not a regular file" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ret = load_capturing(cases[i].name, cases[i].path, &cfg, out, sizeof(out));
		cr_assert_eq(ret, cases[i].ret, "%s: cfg_load returned %d, want %d", cases[i].name,
			     ret, cases[i].ret);
		snprintf(expect, sizeof(expect), "%s: %s\n", cases[i].path, cases[i].why);
		cr_assert_str_eq(out, expect, "%s: stderr \"%s\", want \"%s\"", cases[i].name, out,
				 expect);
	}
}

/* A missing default file means the built-in defaults, silently. */
Test(config, load_default_path_absent)
{
	struct tg_config cfg;
	char out[512];
	int ret;

	if (access(CFG_DEFAULT_PATH, F_OK) == 0 || errno != ENOENT)
		cr_skip_test("%s exists on this host; cannot test its absence", CFG_DEFAULT_PATH);
	memset(&cfg, 0xa5, sizeof(cfg));
	ret = load_capturing("default path", NULL, &cfg, out, sizeof(out));
	cr_assert_eq(ret, 0, "default path: cfg_load returned %d (%s)", ret, out);
	cr_assert_str_empty(out, "default path: stderr \"%s\", want nothing", out);
	assert_policy_eq("default path", &cfg.policy, &default_policy);
	cfg_free(&cfg);
}

struct format_case {
	const char *name;
	unsigned int n;
	struct tg_uid_range uid[4];
	struct tg_port_range port[4];
	const char *want;
};

static const struct format_case format_cases[] = {
	{ "none", 0, { { 0 } }, { { 0 } }, "" },
	{ "one range", 1, { { 1000, 59999 } }, { { 1000, 59999 } }, "1000-59999" },
	{ "one value", 1, { { 53, 53 } }, { { 53, 53 } }, "53" },
	{ "range then value",
	  2,
	  { { 1000, 59999 }, { 60010, 60010 } },
	  { { 1000, 59999 }, { 60010, 60010 } },
	  "1000-59999, 60010" },
	{ "edges",
	  3,
	  { { 1, 1 }, { 2, 65534 }, { 65535, 65535 } },
	  { { 1, 1 }, { 2, 65534 }, { 65535, 65535 } },
	  "1, 2-65534, 65535" },
};

Test(config, format_ranges)
{
	for (size_t i = 0; i < sizeof(format_cases) / sizeof(format_cases[0]); i++) {
		const struct format_case *c = &format_cases[i];
		char buf[128];

		memset(buf, 'Z', sizeof(buf));
		cfg_format_uid_ranges(c->uid, c->n, buf, sizeof(buf));
		cr_assert_str_eq(buf, c->want, "%s: uid ranges \"%s\", want \"%s\"", c->name, buf,
				 c->want);
		memset(buf, 'Z', sizeof(buf));
		cfg_format_port_ranges(c->port, c->n, buf, sizeof(buf));
		cr_assert_str_eq(buf, c->want, "%s: port ranges \"%s\", want \"%s\"", c->name, buf,
				 c->want);
	}
}

Test(config, format_uid_extremes)
{
	static const struct tg_uid_range r[] = { { 0, 0 }, { 4294967294, 4294967294 } };
	char buf[64];

	cfg_format_uid_ranges(r, 2, buf, sizeof(buf));
	cr_assert_str_eq(buf, "0, 4294967294", "uid extremes: \"%s\"", buf);
}

/* Every buffer size gives a terminated prefix of the full text and writes nothing past len. */
Test(config, format_truncation)
{
	static const struct tg_uid_range uid[] = { { 1000, 59999 }, { 60010, 60010 } };
	static const struct tg_port_range port[] = { { 1000, 59999 }, { 60010, 60010 } };
	static const char full[] = "1000-59999, 60010";

	for (size_t len = 0; len <= sizeof(full) + 2; len++) {
		for (int kind = 0; kind < 2; kind++) {
			const char *name = kind ? "port" : "uid";
			size_t want_len =
				len ? (len - 1 < sizeof(full) - 1 ? len - 1 : sizeof(full) - 1) : 0;
			char buf[64];

			memset(buf, 'Z', sizeof(buf));
			if (kind)
				cfg_format_port_ranges(port, 2, buf, len);
			else
				cfg_format_uid_ranges(uid, 2, buf, len);
			for (size_t j = len; j < sizeof(buf); j++)
				cr_assert_eq(buf[j], 'Z',
					     "%s len %zu: byte %zu written past the end", name, len,
					     j);
			if (!len)
				continue;
			cr_assert_eq(strnlen(buf, len), want_len,
				     "%s len %zu: length %zu, want %zu", name, len,
				     strnlen(buf, len), want_len);
			cr_assert(memcmp(buf, full, want_len) == 0,
				  "%s len %zu: \"%s\" is not a prefix of \"%s\"", name, len, buf,
				  full);
		}
	}
	/* A zero-length buffer may be NULL. */
	cfg_format_uid_ranges(uid, 2, NULL, 0);
	cfg_format_port_ranges(port, 2, NULL, 0);
}

/* What the formatter prints, the parser reads back unchanged. */
Test(config, format_round_trip)
{
	static const char *const texts[] = {
		"tenant-uids = 70000-70005, 60010, 1000-59999\nexempt-uids = 0, 4294967294\n"
		"allow-ports = 1, 8000-8080, 65535\n",
		"tenant-uids =\nexempt-uids =\nallow-ports =\n",
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct tg_config cfg, again;
		struct cfg_error err = { 0 };
		char tenant[256], exempt[256], ports[256], text[1024];
		int len;

		cr_assert_eq(cfg_parse(texts[i], strlen(texts[i]), &cfg, &err), 0,
			     "case %zu: parse: %s", i, err.message);
		cfg_format_uid_ranges(cfg.policy.tenant, cfg.policy.n_tenant, tenant,
				      sizeof(tenant));
		cfg_format_uid_ranges(cfg.policy.exempt, cfg.policy.n_exempt, exempt,
				      sizeof(exempt));
		cfg_format_port_ranges(cfg.policy.allow_port, cfg.policy.n_allow_port, ports,
				       sizeof(ports));
		len = snprintf(text, sizeof(text),
			       "mode = %s\npolicy = %s\ndeny-errno = %s\ntenant-uids = %s\n"
			       "exempt-uids = %s\nallow-ports = %s\n",
			       cfg_mode_name(cfg.policy.mode), cfg_policy_name(cfg.policy.policy),
			       cfg_errno_name(cfg.policy.deny_errno), tenant, exempt, ports);
		cr_assert_eq(cfg_parse(text, (size_t)len, &again, &err), 0,
			     "case %zu: reparse of \"%s\": line %u: %s", i, text, err.line,
			     err.message);
		assert_policy_eq(texts[i], &again.policy, &cfg.policy);
		cfg_free(&cfg);
		cfg_free(&again);
	}
}

Test(config, names)
{
	static const struct {
		const char *name;
		const char *(*fn)(unsigned int);
		unsigned int value;
		const char *want; /* NULL: no name */
	} cases[] = {
		{ "mode enforce", cfg_mode_name, TG_MODE_ENFORCE, "enforce" },
		{ "mode audit", cfg_mode_name, TG_MODE_AUDIT, "audit" },
		{ "mode 2", cfg_mode_name, 2, NULL },
		{ "policy isolate", cfg_policy_name, TG_POLICY_ISOLATE, "isolate" },
		{ "policy strict", cfg_policy_name, TG_POLICY_STRICT, "strict" },
		{ "policy 2", cfg_policy_name, 2, NULL },
		{ "errno 111", cfg_errno_name, 111, "econnrefused" },
		{ "errno 1", cfg_errno_name, 1, "eperm" },
		{ "errno 0", cfg_errno_name, 0, NULL },
		{ "errno 13", cfg_errno_name, 13, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got;

		errno = 0;
		got = cases[i].fn(cases[i].value);
		if (!cases[i].want) {
			cr_assert_null(got, "%s: got \"%s\", want NULL", cases[i].name, got);
			cr_assert_eq(errno, EINVAL, "%s: errno %d, want EINVAL", cases[i].name,
				     errno);
		} else {
			cr_assert_not_null(got, "%s: got NULL, want \"%s\"", cases[i].name,
					   cases[i].want);
			cr_assert_str_eq(got, cases[i].want, "%s: got \"%s\"", cases[i].name, got);
		}
	}
}

Test(config, port_owner_max)
{
	static const struct {
		const char *text;
		int ret;
		__u32 want;	     /* when ret == 0 */
		const char *message; /* when ret != 0: a piece of the message */
	} cases[] = {
		{ "", 0, TG_PORT_OWNER_MAX, NULL },
		{ "port-owner-max = 64\n", 0, 64, NULL },
		{ "port-owner-max = 16\n", 0, 16, NULL },
		{ "port-owner-max = 4194304\n", 0, 4194304, NULL },
		{ "port-owner-max=1048576 # a big hub\n", 0, 1048576, NULL },
		{ "port-owner-max = 15\n", -EINVAL, 0, "'15' is out of range (16 to 4194304)" },
		{ "port-owner-max = 4194305\n", -EINVAL, 0, "out of range" },
		{ "port-owner-max = 99999999999999999999999\n", -EINVAL, 0, "out of range" },
		{ "port-owner-max = 262,144\n", -EINVAL, 0, "'262,144' is not a whole number" },
		{ "port-owner-max = -1\n", -EINVAL, 0, "not a whole number" },
		{ "port-owner-max = 0x100\n", -EINVAL, 0, "not a whole number" },
		{ "port-owner-max =\n", -EINVAL, 0, "port-owner-max: empty" },
		{ "port-owner-max = 64\nport-owner-max = 128\n", -EINVAL, 0, "port-owner-max" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg_error err = { 0 };
		struct tg_config cfg;
		int ret;

		memset(&cfg, 0xa5, sizeof(cfg));
		ret = cfg_parse(cases[i].text, strlen(cases[i].text), &cfg, &err);
		cr_assert_eq(ret, cases[i].ret, "'%s': returned %d (%s), expected %d",
			     cases[i].text, ret, err.message, cases[i].ret);
		if (ret == 0) {
			cr_expect_eq(cfg.port_owner_max, cases[i].want,
				     "'%s': port_owner_max %u, expected %u", cases[i].text,
				     cfg.port_owner_max, cases[i].want);
			cfg_free(&cfg);
		} else
			cr_expect(strstr(err.message, cases[i].message) != NULL,
				  "'%s': message '%s' lacks '%s'", cases[i].text, err.message,
				  cases[i].message);
	}
}
