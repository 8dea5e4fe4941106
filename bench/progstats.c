// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "empty.skel.h"

#include "progstats.h"
#include "util.h"

#define STATS_SYSCTL "/proc/sys/kernel/bpf_stats_enabled"

struct empty_prog {
	struct tg_bench_empty *skel;
	struct bpf_link *link[2];
	struct bpf_link *link_ingress;
	struct bpf_link *link_egress;
	struct bpf_link *link_release;
	struct bpf_link *link_floor[4]; /* connect4, ingress, egress, sock_release: the floor */
};

bool stats_sysctl_on(void)
{
	char val[8];

	return read_line(STATS_SYSCTL, val, sizeof(val)) == 0 && strcmp(val, "0") != 0;
}

int stats_enable(struct stats_switch *s)
{
	int err;

	s->fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (s->fd >= 0)
		return 0;
	s->fd = -1;
	err = read_line(STATS_SYSCTL, s->sysctl_old, sizeof(s->sysctl_old));
	if (!err)
		err = write_text(STATS_SYSCTL, "1\n");
	if (err) {
		fprintf(stderr, "tg-bench: cannot enable BPF stats (BPF_ENABLE_STATS or %s): %s\n",
			STATS_SYSCTL, strerror(-err));
		return err;
	}
	s->sysctl_set = true;
	return 0;
}

void stats_restore(struct stats_switch *s)
{
	char text[16];

	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->sysctl_set) {
		snprintf(text, sizeof(text), "%s\n", s->sysctl_old);
		if (write_text(STATS_SYSCTL, text))
			fprintf(stderr, "tg-bench: cannot restore %s to %s: set it by hand\n",
				STATS_SYSCTL, s->sysctl_old);
		s->sysctl_set = false;
	}
}

int prog_run_read(int prog_fd, struct prog_run *out)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) < 0)
		return -errno;
	out->run_time_ns = info.run_time_ns;
	out->run_cnt = info.run_cnt;
	return 0;
}

struct empty_prog *empty_prog_load(void)
{
	struct empty_prog *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->skel = tg_bench_empty__open_and_load();
	if (!e->skel) {
		int err = errno;

		fprintf(stderr, "tg-bench: cannot load the empty programs: %s\n", strerror(err));
		free(e);
		errno = err;
		return NULL;
	}
	return e;
}

/* Attach prog to the cgroup at path with a new link, into *link. 0 or -errno. */
static int attach_to(struct bpf_program *prog, const char *cgroup, struct bpf_link **link)
{
	int cg_fd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err = 0;

	if (cg_fd < 0)
		return -errno;
	*link = bpf_program__attach_cgroup(prog, cg_fd);
	if (!*link) {
		err = -errno;
		fprintf(stderr, "tg-bench: cannot attach the empty program %s to %s: %s\n",
			bpf_program__name(prog), cgroup, strerror(-err));
	}
	close(cg_fd);
	return err;
}

int empty_prog_attach(struct empty_prog *e, unsigned int slot, const char *cgroup)
{
	return attach_to(e->skel->progs.empty_connect4, cgroup, &e->link[slot]);
}

int empty_prog_attach_ingress(struct empty_prog *e, const char *cgroup)
{
	return attach_to(e->skel->progs.empty_skb_in, cgroup, &e->link_ingress);
}

void empty_prog_detach_ingress(struct empty_prog *e)
{
	bpf_link__destroy(e->link_ingress);
	e->link_ingress = NULL;
}

int empty_prog_ingress_fd(const struct empty_prog *e)
{
	return bpf_program__fd(e->skel->progs.empty_skb_in);
}

void empty_prog_detach(struct empty_prog *e, unsigned int slot)
{
	bpf_link__destroy(e->link[slot]);
	e->link[slot] = NULL;
}

int empty_prog_fd(const struct empty_prog *e)
{
	return bpf_program__fd(e->skel->progs.empty_connect4);
}

int empty_prog_attach_floor(struct empty_prog *e, const char *cgroup)
{
	struct bpf_program *progs[4] = { e->skel->progs.empty_connect4, e->skel->progs.empty_skb_in,
					 e->skel->progs.empty_skb_out,
					 e->skel->progs.empty_sock_release };
	int err = 0;

	for (size_t i = 0; i < 4 && !err; i++)
		err = attach_to(progs[i], cgroup, &e->link_floor[i]);
	return err;
}

int empty_prog_egress_fd(const struct empty_prog *e)
{
	return bpf_program__fd(e->skel->progs.empty_skb_out);
}

int empty_prog_attach_egress(struct empty_prog *e, const char *cgroup)
{
	return attach_to(e->skel->progs.empty_skb_out, cgroup, &e->link_egress);
}

void empty_prog_detach_egress(struct empty_prog *e)
{
	bpf_link__destroy(e->link_egress);
	e->link_egress = NULL;
}

int empty_prog_release_fd(const struct empty_prog *e)
{
	return bpf_program__fd(e->skel->progs.empty_sock_release);
}

int empty_prog_attach_release(struct empty_prog *e, const char *cgroup)
{
	return attach_to(e->skel->progs.empty_sock_release, cgroup, &e->link_release);
}

void empty_prog_detach_release(struct empty_prog *e)
{
	bpf_link__destroy(e->link_release);
	e->link_release = NULL;
}

void empty_prog_destroy(struct empty_prog *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < 4; i++)
		bpf_link__destroy(e->link_floor[i]);
	empty_prog_detach(e, 0);
	empty_prog_detach(e, 1);
	empty_prog_detach_ingress(e);
	empty_prog_detach_egress(e);
	empty_prog_detach_release(e);
	tg_bench_empty__destroy(e->skel);
	free(e);
}
