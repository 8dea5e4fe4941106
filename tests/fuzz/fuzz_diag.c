// SPDX-License-Identifier: GPL-2.0-only
/*
 * diag_parse_reply() on arbitrary bytes, as if they were one buffer of a sock_diag dump reply.
 * The input is copied into a heap buffer of exactly its size, so that a read past len is an
 * AddressSanitizer report. Beyond that, the return value must be one the header promises, a
 * failed parse must leave the list as it was, and every listener must be of a known family.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "diag.h"

#include "fuzz.h"

static void check_ret(int ret, size_t before, const struct diag_list *list)
{
	FUZZ_CHECK(ret == 0 || ret == 1 || (ret < 0 && ret >= -FUZZ_MAX_ERRNO), "returned %d", ret);
	FUZZ_CHECK(ret >= 0 || list->count == before, "failed (%d) but the list grew %zu -> %zu",
		   ret, before, list->count);
	FUZZ_CHECK(list->count <= list->capacity, "count %zu over capacity %zu", list->count,
		   list->capacity);
}

static void check_listeners(const struct diag_list *list)
{
	for (size_t i = 0; i < list->count; i++) {
		const struct diag_listener *l = &list->items[i];

		FUZZ_CHECK(l->family == AF_INET || l->family == AF_INET6, "[%zu] family %d", i,
			   l->family);
		FUZZ_CHECK(l->family == AF_INET6 ||
				   (!l->v6only && !l->ip[1] && !l->ip[2] && !l->ip[3]),
			   "[%zu] IPv4 listener with IPv6 state", i);
	}
}

/* Ask the selector about each listener's own address and its port's wildcards. */
static void select_each(const struct diag_list *list)
{
	for (size_t i = 0; i < list->count && i < 16; i++) {
		const struct diag_listener *l = &list->items[i], *got;
		struct tg_dest d = { .port = l->port };

		d.family = l->family == AF_INET ? TG_AF_INET : TG_AF_INET6;
		memcpy(d.ip, l->ip, sizeof(d.ip));
		got = diag_select_listener(list, &d);
		/* A listener bound to a device is not found by a lookup without one. */
		if (!l->ifindex) {
			FUZZ_CHECK(got >= list->items && got < list->items + list->count,
				   "[%zu] its own address selects nothing in the list", i);
			FUZZ_CHECK(got->port == l->port, "[%zu] selected another port", i);
		}
		d.family = TG_AF_INET;
		d.ip[0] = tg_htonl(0x7f000001);
		got = diag_select_listener(list, &d);
		FUZZ_CHECK(!got || (got >= list->items && got < list->items + list->count),
			   "[%zu] 127.0.0.1 selects outside the list", i);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag_list list = { 0 };
	uint8_t *buf = malloc(size + 1);
	size_t before;
	int ret;

	if (!buf)
		return 0;
	/* A misaligned buffer is refused before a byte of it is read. */
	if (size) {
		memcpy(buf + 1, data, size);
		ret = diag_parse_reply(buf + 1, size, &list);
		FUZZ_CHECK(ret == -EINVAL && list.count == 0, "misaligned buffer gave %d", ret);
	}
	free(buf);

	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	ret = diag_parse_reply(buf, size, &list);
	check_ret(ret, 0, &list);
	check_listeners(&list);
	/* The same buffer again appends, as the next buffer of a dump would. */
	if (ret >= 0) {
		before = list.count;
		ret = diag_parse_reply(buf, size, &list);
		check_ret(ret, before, &list);
		FUZZ_CHECK(list.count == 2 * before, "second parse gave %zu listeners, first %zu",
			   list.count - before, before);
		check_listeners(&list);
		select_each(&list);
	}
	diag_list_free(&list);
	FUZZ_CHECK(!list.items && !list.count && !list.capacity, "list not emptied");
	free(buf);
	return 0;
}
