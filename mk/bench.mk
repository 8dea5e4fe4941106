# SPDX-License-Identifier: GPL-2.0-only
# `sudo make bench`: what the guard costs a loopback connect, against no guard in the same run;
# prints one table and writes it to bench/RESULTS.md. Never part of `make test`.
# BENCH_ARGS passes options, e.g. BENCH_ARGS=--quick for a short smoke run.

BENCH_C_SRCS := $(filter-out %.bpf.c,$(wildcard bench/*.c))
BENCH_OBJS := $(patsubst bench/%.c,$(OUTPUT)/bench/%.o,$(BENCH_C_SRCS))
BENCH_HDRS := $(wildcard bench/*.h)

.PHONY: bench

$(OUTPUT)/bench:
	$(Q)mkdir -p $@

# The empty connect4 program, built like the guard's own %.bpf.o.
$(OUTPUT)/bench/empty.bpf.o: bench/empty.bpf.c $(OUTPUT)/vmlinux.h | $(OUTPUT)/bench
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp
	$(Q)rm -f $@.tmp

$(OUTPUT)/bench/empty.skel.h: $(OUTPUT)/bench/empty.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name tg_bench_empty > $@

$(OUTPUT)/bench/%.o: bench/%.c $(BENCH_HDRS) $(SHARED_HDRS) $(USER_HDRS) \
		$(OUTPUT)/bench/empty.skel.h | $(OUTPUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -Ibench -I$(OUTPUT)/bench -c $< -o $@

$(OUTPUT)/bench/tg-bench: $(BENCH_OBJS) $(OUTPUT)/libtunnelguard.a
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -lpthread -lm -o $@

bench: $(OUTPUT)/tunnelguard $(OUTPUT)/bench/tg-bench
	$(Q)$(OUTPUT)/bench/tg-bench --tunnelguard $(OUTPUT)/tunnelguard \
		--output bench/RESULTS.md $(BENCH_ARGS)
