// SPDX-License-Identifier: GPL-2.0-only
/* user_names.c - uid -> user name: getpwuid() for a few, one getpwent() walk for many. */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "user_names.h"
#include "util.h"

struct user_name {
	uint32_t uid;
	char name[32];
};

static struct {
	struct user_name *items; /* sorted by uid once walked; else the direct lookups */
	size_t n, cap;
	unsigned int direct; /* getpwuid() calls made */
	int walked;	     /* 1: items is the getpwent() table */
} names;

static int by_uid(const void *a, const void *b)
{
	const struct user_name *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static const struct user_name *find(uint32_t uid)
{
	if (names.walked) {
		struct user_name key = { .uid = uid };

		return bsearch(&key, names.items, names.n, sizeof(key), by_uid);
	}
	for (size_t i = 0; i < names.n; i++)
		if (names.items[i].uid == uid)
			return &names.items[i];
	return NULL;
}

static const char *add(uint32_t uid, const char *name)
{
	struct user_name *u;

	if (util_grow((void **)&names.items, &names.cap, names.n + 1, sizeof(*names.items)))
		return "";
	u = &names.items[names.n++];
	u->uid = uid;
	snprintf(u->name, sizeof(u->name), "%s", name);
	return u->name;
}

/* Every user getpwent() lists, sorted by uid (the first of a duplicated uid wins). */
static void walk(void)
{
	struct passwd *pw;

	names.n = 0;
	setpwent();
	while ((pw = getpwent()))
		add(pw->pw_uid, pw->pw_name);
	endpwent();
	qsort(names.items, names.n, sizeof(*names.items), by_uid);
	names.walked = 1;
}

const char *user_name_of(uint32_t uid)
{
	const struct user_name *u = find(uid);
	struct passwd *pw;

	if (u)
		return u->name;
	if (names.walked)
		return "";
	if (names.direct == USER_NAMES_DIRECT) {
		walk();
		u = find(uid);
		return u ? u->name : "";
	}
	names.direct++;
	pw = getpwuid(uid);
	return add(uid, pw ? pw->pw_name : "");
}

void user_names_reset(void)
{
	free(names.items);
	memset(&names, 0, sizeof(names));
}
