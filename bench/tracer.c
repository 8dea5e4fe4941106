// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "pins.h"
#include "tg_maps.h"

#include "tracer.h"

int tracer_open(struct tracer *t, const char *pin_dir)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	int err, link_fd;

	err = pins_path(t->pin, sizeof(t->pin), pin_dir, TG_PIN_LINK_LISTEN);
	if (err)
		return err;
	link_fd = bpf_obj_get(t->pin);
	if (link_fd < 0) {
		err = -errno;
		fprintf(stderr, "tg-bench: cannot open the tracer's link %s: %s\n", t->pin,
			strerror(-err));
		return err;
	}
	if (bpf_obj_get_info_by_fd(link_fd, &info, &len) < 0) {
		err = -errno;
	} else {
		if (t->guard.prog_fd >= 0)
			close(t->guard.prog_fd);
		t->guard.prog_fd = bpf_prog_get_fd_by_id(info.prog_id);
		if (t->guard.prog_fd < 0)
			err = -errno;
	}
	close(link_fd);
	if (err) {
		fprintf(stderr, "tg-bench: cannot get tg_listen_state from %s: %s\n", t->pin,
			strerror(-err));
		return err;
	}
	t->pinned = true;
	return 0;
}

bool tracer_attached(const struct tracer *t)
{
	return t->pinned || t->guard.link_fd >= 0;
}

/* Attach or detach one program on the tracepoint with a link of our own. 1 if changed, 0, -errno.
 */
static int raw_tp_set(struct raw_tp *p, bool on)
{
	int err;

	if (on == (p->link_fd >= 0))
		return 0;
	if (!on) {
		close(p->link_fd); /* the last reference: detached before close() returns */
		p->link_fd = -1;
		return 1;
	}
	p->link_fd = bpf_raw_tracepoint_open(TRACER_TRACEPOINT, p->prog_fd);
	if (p->link_fd < 0) {
		err = -errno;
		p->link_fd = -1;
		fprintf(stderr, "tg-bench: cannot attach a program to raw tracepoint %s: %s\n",
			TRACER_TRACEPOINT, strerror(-err));
		return err;
	}
	return 1;
}

/* Replace the pinned link by nothing: open it, remove the pin, close it (synchronous detach). */
static int unpin(struct tracer *t)
{
	int fd = bpf_obj_get(t->pin), err = 0;

	if (fd < 0 || unlink(t->pin) < 0)
		err = -errno;
	if (fd >= 0)
		close(fd);
	if (err) {
		fprintf(stderr, "tg-bench: cannot detach the tracer pinned at %s: %s\n", t->pin,
			strerror(-err));
		return err;
	}
	t->pinned = false;
	return 1;
}

int tracer_set(struct tracer *t, bool on)
{
	int ret;

	if (on == tracer_attached(t))
		return 0;
	ret = !on && t->pinned ? unpin(t) : raw_tp_set(&t->guard, on);
	if (ret > 0)
		t->changes++;
	return ret;
}

int tracer_set_empty(struct tracer *t, int empty_fd, bool on)
{
	int ret;

	t->empty.prog_fd = empty_fd;
	ret = raw_tp_set(&t->empty, on);
	if (ret > 0)
		t->changes++;
	return ret;
}

int tracer_pin_back(struct tracer *t)
{
	int err;

	if (t->pinned || t->guard.prog_fd < 0)
		return 0;
	err = raw_tp_set(&t->guard, true);
	if (err < 0)
		return err;
	if (bpf_obj_pin(t->guard.link_fd, t->pin) < 0) {
		err = -errno;
		fprintf(stderr, "tg-bench: cannot pin the tracer's link at %s: %s\n", t->pin,
			strerror(-err));
		return err;
	}
	close(t->guard.link_fd); /* the pin holds it now */
	t->guard.link_fd = -1;
	t->pinned = true;
	return 0;
}

void tracer_close(struct tracer *t)
{
	raw_tp_set(&t->empty, false);
	if (tracer_pin_back(t))
		fprintf(stderr, "tg-bench: the tracer could not be pinned back; it is detached\n");
	raw_tp_set(&t->guard, false);
	if (t->guard.prog_fd >= 0)
		close(t->guard.prog_fd);
	t->guard.prog_fd = -1;
}
