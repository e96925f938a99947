#!/usr/bin/env python3
"""Count TAP results in meson test logs.

usage: tap-count.py BUILD_DIR...
Prints 'N passed, N failed' over every subtest of every run. A test that
failed without reporting a failing subtest (a crash, a timeout) counts as
one failure.
"""
import json
import re
import sys

passed = failed = 0
for build in sys.argv[1:]:
    try:
        log = open(f"{build}/meson-logs/testlog.json", encoding="utf-8")
    except OSError:
        failed += 1
        continue
    for line in log:
        t = json.loads(line)
        out = t.get("stdout") or ""
        ok = len(re.findall(r"^ok\b", out, re.M))
        bad = len(re.findall(r"^not ok\b", out, re.M))
        if t["result"] not in ("OK", "SKIP", "EXPECTEDFAIL") and bad == 0:
            bad = 1
        passed += ok
        failed += bad
print(f"{passed} passed, {failed} failed")
