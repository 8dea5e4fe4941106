// SPDX-License-Identifier: GPL-2.0-only
/*
 * gen_corpus.c - writes the fuzzers' seed corpus: valid and near-valid configs, and canned
 * sock_diag and RTM_GETROUTE dump replies built with libmnl the way a 6.x kernel builds them.
 * `make fuzz-corpus` runs it into tests/fuzz/corpus/; its output is committed, so that the
 * fuzz run needs nothing but clang.
 *
 *	gen_corpus DIR    fills DIR/config/, DIR/diag/ and DIR/local_addrs/
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>

/* A reply buffer, aligned as a recv buffer is, and the bytes used so far. */
struct canned {
	uint32_t words[2048];
	size_t len;
};

static const char *out_dir;

static void die(const char *what, const char *name)
{
	fprintf(stderr, "gen_corpus: %s %s: %s\n", what, name, strerror(errno));
	exit(1);
}

static void write_file(const char *sub, const char *name, const void *data, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", out_dir, sub);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		die("cannot create", path);
	snprintf(path, sizeof(path), "%s/%s/%s", out_dir, sub, name);
	f = fopen(path, "wb");
	if (!f)
		die("cannot create", path);
	if (len && fwrite(data, len, 1, f) != 1)
		die("cannot write", path);
	if (fclose(f))
		die("cannot write", path);
}

static void write_canned(const char *sub, const char *name, const struct canned *c)
{
	write_file(sub, name, c->words, c->len);
}

/* Valid configs, and ones a byte or a rule away from valid. */
static void gen_configs(void)
{
	static const struct {
		const char *name;
		const char *text;
	} configs[] = {
		{ "empty.conf", "" },
		{ "defaults.conf", "mode = enforce\npolicy = isolate\ndeny-errno = econnrefused\n"
				   "tenant-uids = 1000-59999\n" },
		{ "all-keys.conf", "# tunnel hub\nmode = audit\npolicy = strict\n"
				   "deny-errno = eperm\ntenant-uids = 1000-59999, 70000\n"
				   "exempt-uids = 1500, 2000-2010\nallow-ports = 53, 5432\n" },
		{ "tests.conf", "tenant-uids = 2001-2003\n" },
		{ "comments.conf", "\t# comment only\n\n  tenant-uids=2001 - 2003 # trailing\n"
				   "allow-ports =\n" },
		{ "crlf.conf", "mode = enforce\r\ntenant-uids = 1-4294967294\r\n" },
		{ "no-newline.conf", "policy = strict" },
		{ "many-ranges.conf", "allow-ports = 1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31,"
				      "33,35,37,39,41,43,45,47,49,51,53,55,57,59,61,63\n" },
		{ "bad-reversed.conf", "tenant-uids = 2003-2001\n" },
		{ "bad-overlap.conf", "tenant-uids = 1000-2000, 1500\n" },
		{ "bad-root.conf", "tenant-uids = 0-10\n" },
		{ "bad-duplicate.conf", "mode = audit\nmode = enforce\n" },
		{ "bad-port.conf", "allow-ports = 0, 65536\n" },
		{ "bad-key.conf", "tenant_uids = 1000\n" },
		{ "bad-huge.conf", "exempt-uids = 99999999999999999999\n" },
		/* Issue 16: sections, reservations and allow rules in any number. */
		{ "sections.conf", "tenant-uids = 2001-2003\nbind-policy = reserved-only\n"
				   "tenant-group = tunnels\nallow = bob:8001-8002, 8005\n"
				   "allow = 2003:9001\n[tenant alice]\nports = 8005-8010, 8001\n"
				   "[tenant carol]\nuser = 2003\nports = 9001\n"
				   "[tenant web.team]\nports = 7000\nuser = www-data\n" },
		{ "many-sections.conf", "[tenant t1]\nports = 1\n[tenant t2]\nports = 2\n"
					"[tenant t3]\nports = 3\n[tenant t4]\nports = 4\n"
					"[tenant t5]\nports = 5-9\n[tenant t6]\nports = 10\n" },
		{ "bad-overlap-sections.conf", "[tenant a]\nports = 8001-8010\n"
					       "[tenant b]\nports = 9000, 8005-8020\n" },
		{ "bad-duplicate-section.conf", "[tenant a]\nports = 1\n[tenant a]\nports = 2\n" },
	};

	for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++)
		write_file("config", configs[i].name, configs[i].text, strlen(configs[i].text));
}

static struct nlmsghdr *put_header(struct canned *c, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh;

	if (c->len + 512 > sizeof(c->words)) {
		fprintf(stderr, "gen_corpus: canned buffer full\n");
		exit(1);
	}
	nlh = mnl_nlmsg_put_header((char *)c->words + c->len);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = 1;
	return nlh;
}

static void put_done(struct canned *c, int status)
{
	struct nlmsghdr *nlh = put_header(c, NLMSG_DONE, NLM_F_MULTI);
	int *payload = mnl_nlmsg_put_extra_header(nlh, sizeof(*payload));

	*payload = status;
	c->len += nlh->nlmsg_len;
}

static void put_error(struct canned *c, int error, uint16_t type, size_t req_len)
{
	struct nlmsghdr *nlh = put_header(c, NLMSG_ERROR, 0);
	struct nlmsgerr *err = mnl_nlmsg_put_extra_header(nlh, sizeof(*err));

	err->error = error;
	err->msg.nlmsg_len = sizeof(err->msg) + req_len;
	err->msg.nlmsg_type = type;
	c->len += nlh->nlmsg_len;
}

static void put_noop(struct canned *c)
{
	struct nlmsghdr *nlh = put_header(c, NLMSG_NOOP, 0);

	c->len += nlh->nlmsg_len;
}

/* One socket as inet_diag reports it. v6only < 0 leaves INET_DIAG_SKV6ONLY out. */
static void put_socket(struct canned *c, int family, const char *addr, uint16_t port, uint32_t uid,
		       uint32_t ifindex, int v6only, uint8_t state)
{
	struct nlmsghdr *nlh = put_header(c, SOCK_DIAG_BY_FAMILY, NLM_F_MULTI);
	struct inet_diag_msg *msg = mnl_nlmsg_put_extra_header(nlh, sizeof(*msg));

	msg->idiag_family = family;
	msg->idiag_state = state;
	msg->id.idiag_sport = htons(port);
	if (inet_pton(family, addr, msg->id.idiag_src) != 1) {
		fprintf(stderr, "gen_corpus: bad address %s\n", addr);
		exit(1);
	}
	msg->id.idiag_if = ifindex;
	msg->id.idiag_cookie[0] = 0x1234;
	msg->idiag_uid = uid;
	msg->idiag_inode = 100000 + port;
	/* What a 6.x kernel sends with every listener, unasked. */
	mnl_attr_put_u8(nlh, INET_DIAG_SHUTDOWN, 0);
	if (v6only >= 0)
		mnl_attr_put_u8(nlh, INET_DIAG_SKV6ONLY, (uint8_t)v6only);
	mnl_attr_put_u64(nlh, INET_DIAG_CGROUP_ID, 0x2a);
	c->len += nlh->nlmsg_len;
}

static void gen_diag(void)
{
	struct canned c;

	memset(&c, 0, sizeof(c));
	put_socket(&c, AF_INET, "127.0.0.1", 8001, 2001, 0, -1, TCP_LISTEN);
	put_done(&c, 0);
	write_canned("diag", "v4-listener", &c);

	memset(&c, 0, sizeof(c));
	put_socket(&c, AF_INET6, "::1", 8001, 2001, 0, 1, TCP_LISTEN);
	put_socket(&c, AF_INET6, "::", 8002, 2002, 0, 0, TCP_LISTEN);
	put_socket(&c, AF_INET6, "::ffff:127.0.0.1", 8003, 2003, 0, 0, TCP_LISTEN);
	put_socket(&c, AF_INET6, "2001:db8::7", 8004, 0, 0, 1, TCP_LISTEN);
	put_done(&c, 0);
	write_canned("diag", "v6-listeners", &c);

	memset(&c, 0, sizeof(c));
	put_socket(&c, AF_INET, "0.0.0.0", 22, 0, 0, -1, TCP_LISTEN);
	put_socket(&c, AF_INET, "127.0.0.1", 8001, 2001, 0, -1, TCP_LISTEN);
	put_socket(&c, AF_INET, "10.0.0.1", 8001, 2002, 3, -1, TCP_LISTEN);
	put_socket(&c, AF_INET, "127.0.0.1", 40000, 2001, 0, -1, TCP_ESTABLISHED);
	write_canned("diag", "v4-more-to-come", &c);

	memset(&c, 0, sizeof(c));
	put_noop(&c);
	put_socket(&c, AF_INET, "127.0.0.2", 9000, 1000, 0, -1, TCP_LISTEN);
	put_done(&c, -ENOBUFS);
	write_canned("diag", "done-with-error", &c);

	memset(&c, 0, sizeof(c));
	put_error(&c, -EPERM, SOCK_DIAG_BY_FAMILY, sizeof(struct inet_diag_req_v2));
	write_canned("diag", "error-eperm", &c);

	memset(&c, 0, sizeof(c));
	put_done(&c, 0);
	write_canned("diag", "done-only", &c);
}

/* One route as RTM_GETROUTE dumps it. dst NULL leaves RTA_DST out. */
static void put_route(struct canned *c, int family, const char *dst, uint8_t dst_len, uint8_t table,
		      uint8_t type)
{
	struct nlmsghdr *nlh = put_header(c, RTM_NEWROUTE, NLM_F_MULTI);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	uint32_t addr[4] = { 0 };

	rtm->rtm_family = family;
	rtm->rtm_dst_len = dst_len;
	rtm->rtm_table = table;
	rtm->rtm_protocol = RTPROT_KERNEL;
	rtm->rtm_scope = type == RTN_LOCAL ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE;
	rtm->rtm_type = type;
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	if (dst) {
		if (inet_pton(family, dst, addr) != 1) {
			fprintf(stderr, "gen_corpus: bad address %s\n", dst);
			exit(1);
		}
		mnl_attr_put(nlh, RTA_DST, family == AF_INET ? 4 : 16, addr);
	}
	mnl_attr_put_u32(nlh, RTA_OIF, 1);
	c->len += nlh->nlmsg_len;
}

static void gen_local_addrs(void)
{
	struct canned c;

	memset(&c, 0, sizeof(c));
	put_route(&c, AF_INET, "127.0.0.0", 8, RT_TABLE_LOCAL, RTN_LOCAL);
	put_route(&c, AF_INET, "127.0.0.1", 32, RT_TABLE_LOCAL, RTN_LOCAL);
	put_route(&c, AF_INET, "127.255.255.255", 32, RT_TABLE_LOCAL, RTN_BROADCAST);
	put_route(&c, AF_INET6, "::1", 128, RT_TABLE_LOCAL, RTN_LOCAL);
	put_done(&c, 0);
	write_canned("local_addrs", "loopback", &c);

	memset(&c, 0, sizeof(c));
	put_route(&c, AF_INET, NULL, 0, RT_TABLE_MAIN, RTN_UNICAST);
	put_route(&c, AF_INET, "192.0.2.0", 24, RT_TABLE_MAIN, RTN_UNICAST);
	put_route(&c, AF_INET, "192.0.2.10", 32, RT_TABLE_LOCAL, RTN_LOCAL);
	put_route(&c, AF_INET, "10.9.0.0", 16, RT_TABLE_LOCAL, RTN_LOCAL);
	put_route(&c, AF_INET6, "2001:db8::", 64, RT_TABLE_MAIN, RTN_UNICAST);
	put_route(&c, AF_INET6, "2001:db8::10", 128, RT_TABLE_LOCAL, RTN_LOCAL);
	put_route(&c, AF_INET6, "ff00::", 8, RT_TABLE_LOCAL, RTN_MULTICAST);
	write_canned("local_addrs", "host-more-to-come", &c);

	memset(&c, 0, sizeof(c));
	put_noop(&c);
	put_route(&c, RTNL_FAMILY_IPMR, NULL, 0, RT_TABLE_DEFAULT, RTN_MULTICAST);
	put_route(&c, AF_INET6, NULL, 0, RT_TABLE_LOCAL, RTN_LOCAL);
	put_done(&c, 0);
	write_canned("local_addrs", "other-families", &c);

	memset(&c, 0, sizeof(c));
	put_route(&c, AF_INET, "127.0.0.1", 32, RT_TABLE_LOCAL, RTN_LOCAL);
	put_done(&c, -EINTR);
	write_canned("local_addrs", "done-with-error", &c);

	memset(&c, 0, sizeof(c));
	put_error(&c, -EPERM, RTM_GETROUTE, sizeof(struct rtmsg));
	write_canned("local_addrs", "error-eperm", &c);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus DIR\n");
		return 2;
	}
	out_dir = argv[1];
	if (mkdir(out_dir, 0755) < 0 && errno != EEXIST)
		die("cannot create", out_dir);
	gen_configs();
	gen_diag();
	gen_local_addrs();
	return 0;
}
