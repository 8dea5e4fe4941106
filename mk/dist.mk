# SPDX-License-Identifier: GPL-2.0-only
# dist.mk: checks of what ships for a fleet beside the package. Included by the Makefile.
#
#   make check-dist  dist/prometheus/tunnelguard.rules.yml: well-formed alerts that name only
#                    metrics userspace/prometheus.c exports (check_rules.py), and
#                    `promtool check rules` and `promtool test rules` (the alerts fire on
#                    tunnelguard.rules.test.yml's series) when promtool is installed;
#                    dist/ansible/site.yml:
#                    `ansible-playbook --syntax-check`. No root needed.
#
# promtool is not among scripts/deps.sh's packages: Debian 12 ships it only inside the
# prometheus server package (19 MB download, 96 MB installed, a dozen JavaScript libraries),
# too much for CI to check one file. check_rules.py runs everywhere instead.

RULES := dist/prometheus/tunnelguard.rules.yml

.PHONY: check-dist

check-dist:
	$(call msg,CHECK,$(RULES))
	$(Q)python3 dist/prometheus/check_rules.py $(RULES) userspace/prometheus.c
	$(Q)if command -v promtool >/dev/null; then promtool check rules $(RULES) && \
		promtool test rules $(RULES:.yml=.test.yml); \
	else echo "  SKIP     promtool check rules, promtool test rules (promtool not installed)"; fi
	$(call msg,CHECK,dist/ansible/site.yml)
	$(Q)command -v ansible-playbook >/dev/null || \
		{ echo "check-dist: ansible-playbook is missing (scripts/deps.sh installs ansible-core)" >&2; exit 1; }
	$(Q)ANSIBLE_NOCOLOR=1 ANSIBLE_LOCALHOST_WARNING=0 ansible-playbook -i localhost, \
		--syntax-check dist/ansible/site.yml
