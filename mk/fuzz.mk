# SPDX-License-Identifier: GPL-2.0-only
# fuzz.mk: the parsers of hostile input under libFuzzer, the unit suites under ASan/UBSan, and
# the CLI under valgrind (issue 7 item 6). Included by the main Makefile.
#
#   make fuzz            build the libFuzzer targets of tests/fuzz/ with clang and run each for
#                        FUZZ_SECONDS (default 20) on its seed corpus; fails on any crash,
#                        sanitizer report or broken invariant, and names the saved input
#   make fuzz-corpus     regenerate the committed seed corpus tests/fuzz/corpus/
#   make test-sanitize   the unit suites (SAN_SUITES, every unit suite) built with gcc and
#                        -fsanitize=address,undefined into SAN_OUTPUT (default build/asan: its
#                        own objects, gone with make clean); fails on any sanitizer report,
#                        leaks included
#   make memcheck        valgrind memcheck over the CLI paths that need no guard
#
# The fuzz targets compile the userspace files they need themselves, with clang and the
# sanitizers; they never link the gcc-built libtunnelguard.a. libmnl is the system's, so its own
# code is not instrumented: the parsers check every length before handing a buffer to it.

FUZZ_CC	     ?= clang
FUZZ_SECONDS ?= 20
FUZZ_OUT     := $(OUTPUT)/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=gnu11 -g -O1 $(WARNINGS) -D_GNU_SOURCE -Iinclude -Iuserspace -Itests/fuzz \
	$(shell pkg-config --cflags libmnl 2>/dev/null) $(FUZZ_SAN)
FUZZ_LDLIBS  := $(shell pkg-config --libs libmnl 2>/dev/null)

# Each target and the userspace files it needs.
FUZZ_TARGETS	       := config diag local_addrs
FUZZ_USER_config       := config_parse config_values config_limits config_format escape policy util
FUZZ_USER_diag	       := diag nlreply util
FUZZ_USER_local_addrs  := local_addrs nlreply util
FUZZ_ARGS_config       := -dict=tests/fuzz/config.dict -max_len=8192
FUZZ_ARGS_diag	       := -max_len=8192
FUZZ_ARGS_local_addrs  := -max_len=8192
FUZZ_BINS := $(patsubst %,$(FUZZ_OUT)/fuzz_%,$(FUZZ_TARGETS))

# clang ships libFuzzer's runtime in a package of its own on Debian (libclang-rt-N-dev).
FUZZ_RUNTIME = $(shell $(FUZZ_CC) -print-file-name=libclang_rt.fuzzer-$(shell uname -m).a)
FUZZ_CLANG_MAJOR = $(shell $(FUZZ_CC) -dumpversion | cut -d. -f1)

SAN_OUTPUT ?= $(OUTPUT)/asan
SAN_SUITES ?= @(config|config_messages|escape|config_tenants|config_scale|policy|addr|diag|local_addrs|nft_build|prometheus|owner_feed|nft_watch|capacity_report|reserved_ports|quote|events|log|status_state|drift)/*

.PHONY: fuzz fuzz-build fuzz-runtime fuzz-corpus test-sanitize memcheck

fuzz-runtime:
	$(Q)test -f "$(FUZZ_RUNTIME)" || { echo "fuzz: clang's libFuzzer runtime" \
		"($(notdir $(FUZZ_RUNTIME))) is missing: apt-get install" \
		"libclang-rt-$(FUZZ_CLANG_MAJOR)-dev" >&2; exit 1; }

$(FUZZ_OUT)/obj:
	$(Q)mkdir -p $@

$(FUZZ_OUT)/obj/%.o: userspace/%.c $(SHARED_HDRS) $(USER_HDRS) | $(FUZZ_OUT)/obj fuzz-runtime
	$(call msg,FUZZ-CC,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_OUT)/obj/fuzz_%.o: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(SHARED_HDRS) $(USER_HDRS) \
		| $(FUZZ_OUT)/obj fuzz-runtime
	$(call msg,FUZZ-CC,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_OUT)/fuzz_%: $(FUZZ_OUT)/obj/fuzz_%.o
	$(call msg,FUZZ-LD,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer $^ $(FUZZ_LDLIBS) -o $@

$(foreach t,$(FUZZ_TARGETS),$(eval $(FUZZ_OUT)/fuzz_$(t): $(patsubst %,$(FUZZ_OUT)/obj/%.o,$(FUZZ_USER_$(t)))))

fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	$(Q)$(foreach t,$(FUZZ_TARGETS),tests/fuzz/run.sh $(FUZZ_OUT)/fuzz_$(t) $(t) $(FUZZ_SECONDS) \
		tests/fuzz/corpus/$(t) $(FUZZ_OUT) $(FUZZ_ARGS_$(t)) && ) true

# The generator is an ordinary host program; its output is committed.
$(FUZZ_OUT)/gen_corpus: tests/fuzz/gen_corpus.c
	$(call msg,BINARY,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) -std=gnu11 $(CFLAGS) $(WARNINGS) -D_GNU_SOURCE \
		$(shell pkg-config --cflags libmnl 2>/dev/null) $< $(FUZZ_LDLIBS) -o $@

fuzz-corpus: $(FUZZ_OUT)/gen_corpus
	$(Q)rm -rf tests/fuzz/corpus
	$(Q)$(FUZZ_OUT)/gen_corpus tests/fuzz/corpus

# A sub-make, so that SAN_OUTPUT gets its own vmlinux.h, skeleton and objects. Criterion reports
# a leak found at a test worker's exit but does not fail the test for it: the log decides.
test-sanitize:
	$(Q)mkdir -p $(SAN_OUTPUT)
	$(Q)ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		$(MAKE) --no-print-directory OUTPUT=$(SAN_OUTPUT) SANITIZE=1 test \
		TG_TEST_ARGS="--filter='$(SAN_SUITES)'" >$(SAN_OUTPUT)/sanitize.log 2>&1; \
		rc=$$?; grep -v '^  [A-Z-]* ' $(SAN_OUTPUT)/sanitize.log; \
		if [ $$rc -ne 0 ] || grep -q -e 'Sanitizer' -e 'runtime error:' \
			$(SAN_OUTPUT)/sanitize.log; then \
			echo "test-sanitize: FAILED (log: $(SAN_OUTPUT)/sanitize.log)" >&2; exit 1; \
		fi; \
		echo "test-sanitize: unit suites clean under ASan, UBSan and LeakSanitizer"

memcheck: $(OUTPUT)/tunnelguard
	$(Q)bash tests/fuzz/memcheck.sh $(OUTPUT)/tunnelguard
