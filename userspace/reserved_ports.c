// SPDX-License-Identifier: GPL-2.0-only
/* reserved_ports.c - reservations into net.ipv4.ip_local_reserved_ports (reserved_ports.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "reserved_ports.h"

#define SYSCTL_PATH "/proc/sys/net/ipv4/ip_local_reserved_ports"
#define NR_PORTS    65536
#define SYSCTL_MAX  (NR_PORTS * 7) /* "65535," per port, at the very worst */

static void mark(uint8_t *set, unsigned int first, unsigned int last)
{
	for (unsigned int port = first; port <= last; port++)
		set[port / 8] |= (uint8_t)(1u << (port % 8));
}

static bool marked(const uint8_t *set, unsigned int port)
{
	return set[port / 8] & (1u << (port % 8));
}

static int parse_port(const char **s, unsigned int *port)
{
	char *end;
	unsigned long v;

	if (**s < '0' || **s > '9')
		return -EINVAL;
	v = strtoul(*s, &end, 10);
	if (v >= NR_PORTS)
		return -EINVAL;
	*port = (unsigned int)v;
	*s = end;
	return 0;
}

static int parse_list(const char *s, uint8_t *set)
{
	unsigned int first, last;

	while (*s == ' ' || *s == '\t')
		s++;
	while (*s && *s != '\n') {
		if (parse_port(&s, &first))
			return -EINVAL;
		last = first;
		if (*s == '-') {
			s++;
			if (parse_port(&s, &last) || last < first)
				return -EINVAL;
		}
		mark(set, first, last);
		if (*s == ',')
			s++;
		else if (*s && *s != '\n')
			return -EINVAL;
	}
	return 0;
}

static int format_list(const uint8_t *set, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (unsigned int port = 0; port < NR_PORTS; port++) {
		unsigned int last = port;
		int n;

		if (!marked(set, port))
			continue;
		while (last + 1 < NR_PORTS && marked(set, last + 1))
			last++;
		n = last == port ? snprintf(out + used, len - used, "%s%u", used ? "," : "", port)
				 : snprintf(out + used, len - used, "%s%u-%u", used ? "," : "",
					    port, last);
		if (n < 0 || (size_t)n >= len - used)
			return -ENOSPC;
		used += (size_t)n;
		port = last;
	}
	return 0;
}

int reserved_ports_merge(const char *current, const struct tg_policy *p, char *out, size_t len)
{
	uint8_t *set = calloc(2, NR_PORTS / 8), *mine = NULL;
	int added = 0, err;

	if (!set)
		return -ENOMEM;
	mine = set + NR_PORTS / 8;
	err = parse_list(current, set);
	for (__u32 i = 0; !err && i < p->n_reservation; i++)
		mark(mine, p->reservation[i].first, p->reservation[i].last);
	for (unsigned int port = 0; !err && port < NR_PORTS; port++) {
		if (marked(mine, port) && !marked(set, port)) {
			mark(set, port, port);
			added++;
		}
	}
	if (!err)
		err = format_list(set, out, len);
	free(set);
	return err ? err : added;
}

static int read_sysctl(char *buf, size_t len)
{
	FILE *f = fopen(SYSCTL_PATH, "re");
	size_t n;
	int err = 0;

	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	if (ferror(f))
		err = -EIO;
	else if (n == len - 1)
		err = -ENOSPC;
	buf[n] = '\0';
	fclose(f);
	return err;
}

static int write_sysctl(const char *text)
{
	FILE *f = fopen(SYSCTL_PATH, "we");
	int err = 0;

	if (!f)
		return -errno;
	if (fprintf(f, "%s\n", text) < 0)
		err = -EIO;
	if (fclose(f) != 0 && !err)
		err = -errno;
	return err;
}

int reserved_ports_apply(const struct tg_policy *p)
{
	char *current, *merged;
	int added, err;

	if (p->mode == TG_MODE_AUDIT || p->n_reservation == 0)
		return 0;
	current = malloc(SYSCTL_MAX);
	merged = malloc(SYSCTL_MAX);
	err = current && merged ? read_sysctl(current, SYSCTL_MAX) : -ENOMEM;
	added = err ? err : reserved_ports_merge(current, p, merged, SYSCTL_MAX);
	if (added > 0)
		err = write_sysctl(merged);
	else if (added < 0)
		err = added;
	if (err)
		pr_warn("cannot add the reserved ports to net.ipv4.ip_local_reserved_ports: %s; the kernel may give them to another tenant's listen() without bind(), whose listener then gets no connection (tg_syn_in); add them by hand\n",
			strerror(-err));
	else if (added > 0) /* a host setting changed: said at the default level */
		pr_warn("net.ipv4.ip_local_reserved_ports is now %s: the kernel no longer picks the reserved ports for bind(port 0) or listen() without bind()\n",
			merged);
	free(current);
	free(merged);
	return err;
}
