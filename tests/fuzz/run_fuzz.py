#!/usr/bin/env python3
"""Run a libFuzzer target for a while over a seed corpus of generated files (TAP).

usage: run_fuzz.py FUZZER GENERATOR SECONDS NAME

GENERATOR is a script that writes valid seed files into the directory it is given
(tests/gen_gguf_fixtures.py). Prints '1..1' and 'ok 1 - NAME SECONDSs' when the
fuzzer ran out its time without finding a crash, 'not ok' with its last lines otherwise.
"""
import os
import subprocess
import sys
import tempfile

fuzzer, generator, seconds, name = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
print("1..1")
with tempfile.TemporaryDirectory() as tmp:
    corpus = os.path.join(tmp, "corpus")
    subprocess.run([sys.executable, generator, corpus], check=True)
    p = subprocess.run([fuzzer, f"-max_total_time={seconds}", "-timeout=10",
                        "-rss_limit_mb=1024", f"-artifact_prefix={tmp}/", "-print_final_stats=1",
                        corpus], capture_output=True, text=True)
    log = p.stderr.splitlines()
    runs = [l for l in log if l.startswith("stat::number_of_executed_units")]
    if p.returncode == 0:
        print(f"ok 1 - {name} {seconds}s")
        for l in runs:
            print(f"# {l}")
        sys.exit(0)
    print(f"not ok 1 - {name} {seconds}s")
    for l in log[-40:]:
        print(f"# {l}")
    for f in os.listdir(tmp):
        if f.startswith(("crash-", "leak-", "timeout-", "oom-")):
            with open(os.path.join(tmp, f), "rb") as a:
                print(f"# {f}: {a.read()[:256].hex()}")
    sys.exit(1)
