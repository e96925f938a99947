#!/usr/bin/env python3
"""Count TAP results in meson test logs.

usage: tap-count.py BUILD_DIR...
Prints 'N passed, N failed, N skipped' over every subtest of every run. A
subtest marked '# SKIP' counts as skipped, not passed; so does a whole test
that skipped ('1..0 # SKIP ...'). A test that failed without reporting a
failing subtest (a crash, a timeout) counts as one failure. A skipped
subtest's reason is printed, so that nothing is skipped unseen.
"""
import json
import re
import sys

passed = failed = skipped = 0
for build in sys.argv[1:]:
    try:
        log = open(f"{build}/meson-logs/testlog.json", encoding="utf-8")
    except OSError:
        failed += 1
        continue
    for line in log:
        t = json.loads(line)
        out = t.get("stdout") or ""
        # cmocka writes a skipped test as 'not ok N # SKIP': a skip all the same.
        skips = re.findall(r"^(?:(?:not )?ok\b.*#\s*SKIP\b(.*)|1\.\.0\s*#\s*SKIP\b(.*))$", out,
                           re.M | re.I)
        ok = len(re.findall(r"^ok\b(?!.*#\s*SKIP)", out, re.M | re.I))
        bad = len(re.findall(r"^not ok\b(?!.*#\s*SKIP)", out, re.M | re.I))
        if t["result"] not in ("OK", "SKIP", "EXPECTEDFAIL") and bad == 0:
            bad = 1
        for a, b in skips:
            print(f"skipped in {build}: {t['name']}:{(a or b).rstrip()}")
        passed += ok
        failed += bad
        skipped += len(skips)
print(f"{passed} passed, {failed} failed, {skipped} skipped")
