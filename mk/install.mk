# SPDX-License-Identifier: GPL-2.0-only
# install.mk: installing tunnelguard and building its Debian package. Included by the Makefile.
#
#   make install       the binary, systemd units, man pages, bash completion, the fail-closed
#                      ssh drop-in and the example config into $(DESTDIR)$(PREFIX)
#                      (PREFIX default /usr/local; the .deb uses /usr). The config goes to
#                      $(SYSCONFDIR)/tunnelguard/tunnelguard.conf (default /etc, whatever the
#                      prefix: the binary reads it there) and never replaces an existing one.
#   make uninstall     removes what install put there, except the config; it does not unload
#                      a guard in force (`tunnelguard unload` does)
#   make test-package  as root: build the .deb from a copy of the tree (and an N+1 with a
#                      bumped version), check it with lintian, install it, load the guard
#                      through the unit's ExecStart with a test-only config, upgrade to N+1
#                      under a cross-tenant connect loop, remove and purge it, and check that
#                      nothing is left (tests/package/test_deb.sh, about 45 s). It uses the
#                      default pin dir, so it refuses to run over a loaded guard or a
#                      non-empty /etc/tunnelguard. Not part of `make test`.

PREFIX	       ?= /usr/local
SBINDIR	       ?= $(PREFIX)/sbin
DATADIR	       ?= $(PREFIX)/share
MANDIR	       ?= $(DATADIR)/man
SYSCONFDIR     ?= /etc
# systemd reads /usr/local/lib/systemd/system too; Debian 12's units live in /lib/systemd/system.
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR    ?= $(DATADIR)/bash-completion/completions

UNITS	   := $(patsubst dist/systemd/%.in,$(OUTPUT)/systemd/%,$(wildcard dist/systemd/*.in))
MAN_PAGES  := docs/man/tunnelguard.8 docs/man/tunnelguard.conf.5
INSTALLED  := $(SBINDIR)/tunnelguard $(BASHCOMPDIR)/tunnelguard \
	$(DATADIR)/tunnelguard/ssh-requires-tunnelguard.conf $(MANDIR)/man8/tunnelguard.8 \
	$(MANDIR)/man5/tunnelguard.conf.5 $(patsubst $(OUTPUT)/systemd/%,$(SYSTEMDUNITDIR)/%,$(UNITS))

.PHONY: install uninstall test-package test-units FORCE

$(OUTPUT)/systemd:
	$(Q)mkdir -p $@

# Units name the binary by its installed path, so they are made per install (SBINDIR).
$(OUTPUT)/systemd/%: dist/systemd/%.in FORCE | $(OUTPUT)/systemd
	$(call msg,GEN,$@)
	$(Q)sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@DATADIR@|$(DATADIR)|g' $< > $@

FORCE:

install: $(OUTPUT)/tunnelguard $(UNITS)
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -D -m 0755 $(OUTPUT)/tunnelguard $(DESTDIR)$(SBINDIR)/tunnelguard
	$(Q)install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	$(Q)install -m 0644 $(UNITS) $(DESTDIR)$(SYSTEMDUNITDIR)/
	$(Q)install -D -m 0644 docs/man/tunnelguard.8 $(DESTDIR)$(MANDIR)/man8/tunnelguard.8
	$(Q)install -D -m 0644 docs/man/tunnelguard.conf.5 $(DESTDIR)$(MANDIR)/man5/tunnelguard.conf.5
	$(Q)install -D -m 0644 completion/tunnelguard.bash $(DESTDIR)$(BASHCOMPDIR)/tunnelguard
	$(Q)install -D -m 0644 dist/systemd/ssh-requires-tunnelguard.conf \
		$(DESTDIR)$(DATADIR)/tunnelguard/ssh-requires-tunnelguard.conf
	$(Q)install -d $(DESTDIR)$(SYSCONFDIR)/tunnelguard
	$(Q)if [ -e $(DESTDIR)$(SYSCONFDIR)/tunnelguard/tunnelguard.conf ]; then \
		echo "  KEEP     $(DESTDIR)$(SYSCONFDIR)/tunnelguard/tunnelguard.conf (exists)"; \
	else \
		install -m 0644 dist/tunnelguard.conf $(DESTDIR)$(SYSCONFDIR)/tunnelguard/tunnelguard.conf; \
	fi

uninstall:
	$(call msg,UNINSTALL,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	$(Q)rmdir $(DESTDIR)$(DATADIR)/tunnelguard 2>/dev/null || true
	$(Q)echo "  KEEP     $(DESTDIR)$(SYSCONFDIR)/tunnelguard/tunnelguard.conf (remove it by hand)"

test-package:
	$(Q)bash tests/package/test_deb.sh

# Issue 17: the units as `make install` writes them, checked by systemd itself. `systemd-analyze
# verify` must pass; `security --offline=true` prints each service's exposure (README,
# "Sandboxing"); then, as root, tests/units/sandbox_systemd.sh starts them under a real systemd
# (PID 1 of a throwaway container) and proves that load self-tests and loads inside the sandbox.
TEST_UNITS_DIR := $(OUTPUT)/test-units

test-units: $(OUTPUT)/tunnelguard
	$(Q)rm -rf $(TEST_UNITS_DIR) && mkdir -p $(TEST_UNITS_DIR)/systemd
	$(Q)ln -sf $(abspath $(OUTPUT)/tunnelguard) $(TEST_UNITS_DIR)/tunnelguard
	$(Q)for f in dist/systemd/*.in; do \
		sed -e 's|@SBINDIR@|$(abspath $(TEST_UNITS_DIR))|g' -e 's|@DATADIR@|$(DATADIR)|g' \
			$$f > $(TEST_UNITS_DIR)/systemd/$$(basename $$f .in) || exit 1; \
	done
	$(Q)cd $(TEST_UNITS_DIR)/systemd && systemd-analyze verify --man=no ./*.service ./*.timer
	$(Q)cd $(TEST_UNITS_DIR)/systemd && for u in *.service; do \
		systemd-analyze security --offline=true --no-pager ./$$u | tail -1 || exit 1; \
	done
	$(Q)bash tests/units/sandbox_systemd.sh $(TEST_UNITS_DIR)
