# SPDX-License-Identifier: GPL-2.0-only
# tunnelguard: one Makefile builds vmlinux.h, the BPF object, its skeleton and the CLI out of
# tree into build/. `make V=1` shows every command.

OUTPUT	 ?= build
CLANG	 ?= clang
CC	 ?= gcc
BPFTOOL	 ?= bpftool
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
ARCH	 := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/;s/ppc64le/powerpc/;s/s390x/s390/')

PKGS	 := libbpf libmnl libnftnl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS	 ?= -O2 -g
WARNINGS := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-missing-field-initializers
VERSION := 0.1.0
ALL_CFLAGS := -std=gnu11 -DTG_VERSION=\"$(VERSION)\" $(CFLAGS) $(WARNINGS) -D_GNU_SOURCE -Iinclude -Iuserspace -I$(OUTPUT) \
	$(PKG_CFLAGS)
LDLIBS	 := $(PKG_LIBS) -lelf -lz

ifeq ($(SANITIZE),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS	 += -fsanitize=address,undefined
endif

BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-Iinclude -I$(OUTPUT)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all test test-unit test-kernel clean format format-check check-includes

all: $(OUTPUT)/tunnelguard

# userspace/nft/ holds the parts of the nft layer; its objects go to $(OUTPUT)/obj/nft/.
LIB_SRCS := $(filter-out userspace/main.c,$(wildcard userspace/*.c userspace/nft/*.c))
LIB_OBJS := $(patsubst userspace/%.c,$(OUTPUT)/obj/%.o,$(LIB_SRCS))
SHARED_HDRS := $(wildcard include/*.h)
USER_HDRS := $(wildcard userspace/*.h userspace/nft/*.h)

$(OUTPUT) $(OUTPUT)/obj $(OUTPUT)/tests:
	$(Q)mkdir -p $@

# vmlinux.h is generated from the running kernel's BTF rather than checked in: CO-RE relocates
# field offsets at load time, so any BTF-enabled kernel of the same architecture can run the
# result.
$(OUTPUT)/vmlinux.h: | $(OUTPUT)
	$(call msg,GEN,$@)
	$(Q)test -r $(VMLINUX_BTF) || { echo "no kernel BTF at $(VMLINUX_BTF): set VMLINUX_BTF=" >&2; exit 1; }
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(OUTPUT)/vmlinux.h $(SHARED_HDRS) $(wildcard bpf/*.bpf.h) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp
	$(Q)rm -f $@.tmp

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@

$(OUTPUT)/obj/%.o: userspace/%.c $(SHARED_HDRS) $(USER_HDRS) $(OUTPUT)/tunnelguard.skel.h | $(OUTPUT)/obj
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(OUTPUT)/libtunnelguard.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(OUTPUT)/tunnelguard: $(OUTPUT)/obj/main.o $(OUTPUT)/libtunnelguard.a
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# One criterion binary holds every suite, so a run ends with one synthesis line. Suites that need
# root or kernel features check for them and report a skip with the reason.
TEST_SRCS := $(wildcard tests/unit/*.c tests/kernel/*.c tests/e2e/*.c tests/adversarial/*.c \
	tests/faults/*.c tests/ops/*.c)
TEST_HDRS := $(wildcard tests/*/*.h)
TEST_OBJS := $(patsubst tests/%.c,$(OUTPUT)/tests/%.o,$(TEST_SRCS))

$(OUTPUT)/tests/%.o: tests/%.c $(SHARED_HDRS) $(USER_HDRS) $(TEST_HDRS) $(OUTPUT)/tunnelguard.skel.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests -c $< -o $@

$(OUTPUT)/tests/tunnelguard-tests: $(TEST_OBJS) $(OUTPUT)/libtunnelguard.a
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -lcriterion -o $@

# TG_TEST_ARGS passes options to criterion, e.g. TG_TEST_ARGS='--filter=config/*'.
test: $(OUTPUT)/tunnelguard $(OUTPUT)/tests/tunnelguard-tests
	$(Q)TG_BINARY=$(abspath $(OUTPUT)/tunnelguard) $(OUTPUT)/tests/tunnelguard-tests \
		--jobs 1 $(TG_TEST_ARGS)

# Feature makefiles (bench, e2e, install) live in mk/ and are included when present.
-include $(wildcard mk/*.mk)

format:
	$(Q)clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	$(Q)clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

clean:
	$(call msg,CLEAN,$(OUTPUT))
	$(Q)rm -rf $(OUTPUT)

# Issue 15: no include cycle between userspace modules; the check must also refuse a planted one.
check-includes:
	$(Q)bash scripts/check-includes.sh userspace
	$(Q)if bash scripts/check-includes.sh tests/includes/cycle >/dev/null 2>&1; then \
		echo "check-includes: the planted cycle in tests/includes/cycle was not found"; exit 1; \
	else echo "check-includes: the planted cycle in tests/includes/cycle is refused"; fi
