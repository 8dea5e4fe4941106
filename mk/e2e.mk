# SPDX-License-Identifier: GPL-2.0-only
# e2e.mk: tunnelguard against a real OpenSSH server. Included by the main Makefile.
#
#   make demo      install dependencies, build, then run scripts/demo.sh as root: the leak
#                  between two tenants of a real sshd, the guard loaded, the refusal, cleanup
#   make test-e2e  the scenarios of tests/e2e/ssh_isolation.sh straight from the script, each
#                  on its own throwaway hub (`make test` runs the same ones through criterion,
#                  suite e2e)
#
# The test object rule is the main Makefile's $(OUTPUT)/tests/%.o pattern.

.PHONY: demo test-e2e

# deps.sh and the demo need root; the build runs as whoever called make.
E2E_SUDO = $(if $(filter 0,$(shell id -u)),,sudo)

# The build is a sub-make: the pkg-config flags of this make were computed before deps.sh ran.
demo:
	$(Q)$(E2E_SUDO) bash scripts/deps.sh
	$(Q)$(MAKE) --no-print-directory $(OUTPUT)/tunnelguard
	$(Q)$(E2E_SUDO) env TG_BINARY=$(abspath $(OUTPUT)/tunnelguard) bash scripts/demo.sh

test-e2e: $(OUTPUT)/tunnelguard
	$(Q)$(E2E_SUDO) env TG_BINARY=$(abspath $(OUTPUT)/tunnelguard) \
		bash tests/e2e/ssh_isolation.sh all
