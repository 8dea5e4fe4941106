// SPDX-License-Identifier: GPL-2.0-only
/*
 * local_addrs_parse_reply() on arbitrary bytes, as if they were one buffer of an RTM_GETROUTE
 * dump reply. The input is copied into a heap buffer of exactly its size, so that a read past
 * len is an AddressSanitizer report. Beyond that, the return value must be one the header
 * promises, a failed parse must leave the list as it was, and every key must be one the LPM
 * trie accepts, with a prefix length of at most 128.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "local_addrs.h"

#include "fuzz.h"

static void check(int ret, size_t before, const struct local_addr_list *list)
{
	FUZZ_CHECK(ret == 0 || ret == 1 || (ret < 0 && ret >= -FUZZ_MAX_ERRNO), "returned %d", ret);
	FUZZ_CHECK(ret >= 0 || list->count == before, "failed (%d) but the list grew %zu -> %zu",
		   ret, before, list->count);
	FUZZ_CHECK(list->count <= list->capacity, "count %zu over capacity %zu", list->count,
		   list->capacity);
	for (size_t i = 0; i < list->count; i++)
		FUZZ_CHECK(list->keys[i].prefixlen <= 128, "[%zu] prefix length %u", i,
			   list->keys[i].prefixlen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct local_addr_list list = { 0 };
	uint8_t *buf = malloc(size + 1);
	size_t before;
	int ret;

	if (!buf)
		return 0;
	/* A misaligned buffer is refused before a byte of it is read. */
	if (size) {
		memcpy(buf + 1, data, size);
		ret = local_addrs_parse_reply(buf + 1, size, &list);
		FUZZ_CHECK(ret == -EINVAL && list.count == 0, "misaligned buffer gave %d", ret);
	}
	free(buf);

	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	ret = local_addrs_parse_reply(buf, size, &list);
	check(ret, 0, &list);
	/* The same buffer again appends, as the next buffer of a dump would. */
	if (ret >= 0) {
		before = list.count;
		ret = local_addrs_parse_reply(buf, size, &list);
		check(ret, before, &list);
		FUZZ_CHECK(list.count == 2 * before, "second parse gave %zu keys, first %zu",
			   list.count - before, before);
	}
	local_addrs_free(&list);
	FUZZ_CHECK(!list.keys && !list.count && !list.capacity, "list not emptied");
	free(buf);
	return 0;
}
