#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
# check_rules.py RULES.yml PROMETHEUS.c: the check of tunnelguard.rules.yml that runs where
# promtool is not installed (make check-dist runs promtool too when it is).
#
# Checks what promtool's rule-file check would, short of parsing PromQL: the YAML loads, every
# group has a unique name and rules, every rule is an alert with an expression, a `for`
# duration if any, a severity label and summary and description annotations, no alert name is
# used twice, and the parentheses, brackets and braces of each expression balance. It also
# checks what promtool cannot: every tunnelguard_* metric an expression names is one that
# PROMETHEUS.c (userspace/prometheus.c) exports. Exit 1 with FILE: message lines on failure.
import re
import sys

import yaml

SEVERITIES = {"critical", "warning", "info"}
DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")


def exported_metrics(source):
    """Metric names in the C file's string literals; a name ending in _ is a prefix."""
    text = open(source, encoding="utf-8").read()
    return set(re.findall(r'"(tunnelguard_[a-z0-9_]+)', text))


def balanced(expr):
    pairs, stack, quote = {")": "(", "]": "[", "}": "{"}, [], None
    for i, ch in enumerate(expr):
        if quote:
            if ch == quote and expr[i - 1] != "\\":
                quote = None
        elif ch in "\"'`":
            quote = ch
        elif ch in "([{":
            stack.append(ch)
        elif ch in pairs:
            if not stack or stack.pop() != pairs[ch]:
                return False
    return not stack and quote is None


def check(path, source):
    errors = []
    metrics = exported_metrics(source)
    if not metrics:
        return ["%s: no tunnelguard_ metric names found" % source]
    doc = yaml.safe_load(open(path, encoding="utf-8"))
    if not isinstance(doc, dict) or not isinstance(doc.get("groups"), list) or not doc["groups"]:
        return ["%s: no groups: list" % path]
    groups, alerts = set(), set()
    for group in doc["groups"]:
        name = group.get("name")
        if not name or name in groups:
            errors.append("%s: group name %r missing or used twice" % (path, name))
        groups.add(name)
        if not group.get("rules"):
            errors.append("%s: group %s has no rules" % (path, name))
        for rule in group.get("rules") or []:
            alert = rule.get("alert")
            where = "%s: alert %s" % (path, alert)
            if not alert or "record" in rule:
                errors.append("%s: a rule that is not an alert: %r" % (path, rule))
                continue
            if alert in alerts:
                errors.append("%s: used twice" % where)
            alerts.add(alert)
            unknown = set(rule) - {"alert", "expr", "for", "labels", "annotations"}
            if unknown:
                errors.append("%s: unknown keys %s" % (where, sorted(unknown)))
            expr = rule.get("expr")
            if not isinstance(expr, str) or not expr.strip():
                errors.append("%s: no expr" % where)
                continue
            if not balanced(expr):
                errors.append("%s: unbalanced brackets or quotes in expr" % where)
            for metric in re.findall(r"\btunnelguard_[a-z0-9_]+", expr):
                if metric not in metrics and not any(
                    m.endswith("_") and metric.startswith(m) for m in metrics
                ):
                    errors.append("%s: %s is not exported by %s" % (where, metric, source))
            if "for" in rule and not DURATION.match(str(rule["for"])):
                errors.append("%s: for: %r is not a duration" % (where, rule["for"]))
            if (rule.get("labels") or {}).get("severity") not in SEVERITIES:
                errors.append("%s: severity label not one of %s" % (where, sorted(SEVERITIES)))
            annotations = rule.get("annotations") or {}
            for key in ("summary", "description"):
                if not str(annotations.get(key, "")).strip():
                    errors.append("%s: no %s annotation" % (where, key))
    return errors


def main():
    if len(sys.argv) != 3:
        print("usage: check_rules.py RULES.yml PROMETHEUS.c", file=sys.stderr)
        return 2
    errors = check(sys.argv[1], sys.argv[2])
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        return 1
    print("%s: rules well-formed, metrics all exported by %s" % (sys.argv[1], sys.argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
