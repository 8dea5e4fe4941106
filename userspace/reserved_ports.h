// SPDX-License-Identifier: GPL-2.0-only
/*
 * reserved_ports.h - keep the kernel's own port picks off the tenants' reservations.
 *
 * bind(port 0) and listen() without bind() let the kernel choose a port from the ephemeral
 * range; tg_post_bind4/6 refuse a bind that lands on another tenant's reservation, but listen()
 * without bind() runs no hook that can refuse. The kernel skips every port listed in
 * net.ipv4.ip_local_reserved_ports (per network namespace, IPv4 and IPv6 alike) when it picks,
 * so `load` (enforce mode) adds the reservations to that list in the guard's namespace, and the
 * daemon does the same in each namespace where it sees a listener. A bind() that names the port
 * is not affected: the owner still gets it. Ports are only added, never removed: unload leaves
 * them (an admin's own entries could not be told apart). Example: the list "9000" and
 * reservations 8001-8010 and 8443 become "8001-8010,8443,9000".
 */
#ifndef TG_RESERVED_PORTS_H
#define TG_RESERVED_PORTS_H

#include <stddef.h>

#include "tg_policy.h"

#include "policy.h"

/*
 * Merge the sysctl's text (a comma-separated list of ports and first-last ranges, as the kernel
 * prints it) with the reservations of p into out, in the same form, sorted and joined. Returns
 * the number of ports that the reservations add, or -EINVAL for text the kernel would not print
 * and -ENOSPC when out is too small.
 */
int reserved_ports_merge(const char *current, const struct tg_policy *p, char *out, size_t len);

/*
 * Add p's reservations to net.ipv4.ip_local_reserved_ports of the calling thread's network
 * namespace (nothing in audit mode, which must not change what the kernel does). 0, or -errno
 * after a warning that says what is then left to tg_syn_in (squatting listeners get no
 * connection) and what to do.
 */
int reserved_ports_apply(const struct tg_policy *p);

#endif /* TG_RESERVED_PORTS_H */
