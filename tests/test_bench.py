#!/usr/bin/env python3
"""TAP test of `lcode bench` on a tiny random model: its output, not its speed.

    test_bench.py LCODE

The model is written by make_model.py (llama, Q4_K asked for, n_embd 96, so that rows
of 96 fall back to Q5_0 and the FFN's rows of 256 stay Q4_K, with F32 norms: three
types). What the file holds (parameters, bytes of tensor data, tensors per type) is
counted here with gguf_writer.read_gguf, a reader independent of lcode's. The summary
statistics of --json are recomputed from its own samples with Python's statistics
module (mean, sample standard deviation), and tokens/s from the token counts and
nanoseconds. Speeds are only required to be positive and finite: no test here
depends on how fast the machine is.
"""
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_writer  # noqa: E402
import make_model  # noqa: E402

TG_PROMPT = 8  # the untimed prompt before a tg run (lcode(1), bench)
results = []


def check(name, cond, detail=""):
    results.append((name, bool(cond), detail))


def run(lcode, *args):
    return subprocess.run([lcode, "bench", *args], capture_output=True, text=True, timeout=120)


def file_facts(path):
    g = gguf_writer.read_gguf(path)
    params, size, count, nbytes = 0, 0, {}, {}
    for name in g.tensor_order:
        t = g.tensors[name]
        tname = gguf_writer.QTYPES[t.qtype][0]
        params += math.prod(t.ne)
        size += len(t.data)
        count[tname] = count.get(tname, 0) + 1
        nbytes[tname] = nbytes.get(tname, 0) + len(t.data)
    # most tensors first, ties by type id (lcode model-info's order)
    order = sorted(count, key=lambda n: (-count[n], gguf_writer.QTYPE_ID[n]))
    types = ", ".join("%s: %d" % (n, count[n]) for n in order)
    main = max(nbytes, key=lambda n: nbytes[n])
    return params, size, types, main


def finite_pos(x):
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def test_table(lcode, model, facts):
    params, size, types, main = facts
    p = run(lcode, "--model", model, "-p", "16", "-n", "4", "-r", "2", "-t", "1")
    check("the table: exit 0, nothing on stderr (not a terminal)",
          p.returncode == 0 and p.stderr == "", "rc=%d %r" % (p.returncode, p.stderr))
    out = p.stdout
    rows = [ln for ln in out.splitlines() if ln.startswith("|")]
    cells = [[c.strip() for c in ln.strip("|").split("|")] for ln in rows]
    check("the table: header, separator and one row per test",
          len(cells) == 4 and cells[0] == ["model", "size", "params", "threads", "test", "t/s"]
          and all(re.fullmatch(r":?-+:?", c) for c in cells[1]), out)
    if len(cells) != 4:
        return
    want_params = "%.2f K" % (params / 1e3)
    want_size = "%.2f MiB" % (size / 2**20)
    for row, test in zip(cells[2:], ("pp16", "tg4")):
        check("the table: row %s names the model, size, params and threads" % test,
              row[:5] == ["llama " + main, want_size, want_params, "1", test],
              "%r, expected %r" % (row, ["llama " + main, want_size, want_params, "1", test]))
        m = re.fullmatch(r"(\S+) ± (\S+)", row[5])
        ok = m and finite_pos(float(m.group(1))) and math.isfinite(float(m.group(2))) \
            and float(m.group(2)) >= 0
        check("the table: %s t/s is mean ± stddev, positive and finite" % test, ok, row[5])
    check("the table: the tensor types line counts the file's tensors",
          "tensor types: %s\n" % types in out, "expected %r in %r" % (types, out))
    m = re.search(r"^load: (\S+) ms$", out, re.M)
    check("the table: load time in ms", m and math.isfinite(float(m.group(1))), out)
    m = re.search(r"^peak RSS: (\S+) MiB$", out, re.M)
    check("the table: peak RSS in MiB, positive", m and finite_pos(float(m.group(1))), out)
    check("the table: the seed and the runs are named",
          "seed 42" in out and "and 2 timed runs of each test" in out, out)


def test_json(lcode, model, facts):
    params, size, types, main = facts
    reps = 3
    p = run(lcode, "--model", model, "-p", "24", "-n", "5", "-r", str(reps), "-t", "1",
            "--json")
    try:
        j = json.loads(p.stdout)
    except ValueError as e:
        check("--json: one JSON object on stdout", False, "%s: %r" % (e, p.stdout))
        return
    check("--json: exit 0, one object, nothing on stderr",
          p.returncode == 0 and isinstance(j, dict) and p.stderr == "", p.stderr)
    check("--json: the file's facts",
          j.get("model") == model and j.get("arch") == "llama" and j.get("type") == main
          and j.get("n_params") == params and j.get("size_bytes") == size
          and j.get("tensor_types") == types and j.get("n_threads") == 1
          and j.get("seed") == 42 and j.get("repetitions") == reps,
          {k: v for k, v in j.items() if k != "tests"})
    check("--json: load_ms and peak_rss_mib are finite, RSS positive",
          math.isfinite(j.get("load_ms", math.nan)) and j["load_ms"] >= 0
          and finite_pos(j.get("peak_rss_mib")), j)
    tests = j.get("tests", [])
    check("--json: tests pp24 and tg5 with the token counts asked for",
          [(t.get("test"), t.get("n_prompt"), t.get("n_gen"), t.get("n_past"))
           for t in tests] == [("pp24", 24, 0, 0), ("tg5", 0, 5, TG_PROMPT)],
          [(t.get("test"), t.get("n_prompt"), t.get("n_gen"), t.get("n_past")) for t in tests])
    for t in tests:
        name, ns, ts = t.get("test"), t.get("samples_ns", []), t.get("samples_ts", [])
        n_tok = t.get("n_prompt", 0) + t.get("n_gen", 0)
        check("--json %s: %d samples, all positive and finite" % (name, reps),
              len(ns) == reps and len(ts) == reps and all(map(finite_pos, ns + ts)), t)
        if len(ns) != reps or not all(map(finite_pos, ns + ts)):
            continue
        # samples_ns are rounded to whole ns, so tokens/s agree to about 1 ns in the run
        check("--json %s: samples_ts = tokens * 1e9 / samples_ns" % name,
              all(abs(s - n_tok * 1e9 / n) <= s * 1.0 / n + 1e-9 * s for s, n in zip(ts, ns)),
              t)
        close = lambda a, b: math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)  # noqa: E731
        check("--json %s: avg_ts and stddev_ts are the samples' mean and sample stddev" % name,
              close(t.get("avg_ts", -1), statistics.mean(ts))
              and close(t.get("stddev_ts", -1), statistics.stdev(ts)), t)
        check("--json %s: avg_ns and stddev_ns likewise (to the ns)" % name,
              abs(t.get("avg_ns", -1) - statistics.mean(ns)) <= 1
              and abs(t.get("stddev_ns", -1) - statistics.stdev(ns)) <= 1, t)


def test_skips_and_defaults(lcode, model):
    p = run(lcode, "--model", model, "-p", "0", "-n", "3", "-r", "1", "--json")
    ok = p.returncode == 0
    j = json.loads(p.stdout) if ok else {}
    check("-p 0 runs tg only", ok and [t["test"] for t in j["tests"]] == ["tg3"], p.stdout)
    check("-r 1: one sample, stddev 0",
          ok and len(j["tests"][0]["samples_ns"]) == 1 and j["tests"][0]["stddev_ts"] == 0, j)
    check("without -t, one thread per online core",
          ok and j["n_threads"] == os.sysconf("SC_NPROCESSORS_ONLN"), j.get("n_threads"))
    p = run(lcode, "--model", model, "-p", "5", "-n", "0", "-r", "1", "-t", "1")
    check("-n 0 runs pp only",
          p.returncode == 0 and re.search(r"\|\s+pp5 \|", p.stdout)
          and not re.search(r"\|\s+tg", p.stdout), p.stdout)
    p = run(lcode, "--help")
    check("--help exits 0 with the usage", p.returncode == 0
          and p.stdout.startswith("usage: lcode bench") and "--repetitions" in p.stdout, p.stdout)


def test_errors(lcode, model, tmp):
    notgguf = os.path.join(tmp, "not.gguf")
    with open(notgguf, "w") as f:
        f.write("plain text\n")
    usage = [
        (["--model", model, "-p", "x"], "-p takes a whole number"),
        (["--model", model, "-n", "-1"], "-n takes a whole number"),
        (["--model", model, "-p", "12abc"], "-p takes a whole number"),
        (["--model", model, "-r", "0"], "-r takes a whole number"),
        (["--model", model, "-t", "0"], "-t takes a whole number"),
        (["--model", model, "-p", "0", "-n", "0"], "nothing to measure"),
        (["-p", "8"], "--model FILE"),
        (["--model", model, "extra"], "no other arguments"),
        (["--model", model, "--bogus"], "bogus"),
        # make_model wrote context_length 256
        (["--model", model, "-p", "257", "-n", "1"], "pp257 needs a context of 257 tokens"),
        (["--model", model, "-p", "1", "-n", "249"], "tg249 needs a context of 257 tokens"),
    ]
    for args, msg in usage:
        p = run(lcode, *args)
        check("%s: exit 2, %r on stderr, nothing on stdout" % (" ".join(args[2:] or args), msg),
              p.returncode == 2 and msg in p.stderr and p.stdout == "",
              "rc=%d stdout=%r stderr=%r" % (p.returncode, p.stdout, p.stderr))
    for path, msg in ((os.path.join(tmp, "missing.gguf"), "missing.gguf"),
                      (notgguf, "GGUF")):
        p = run(lcode, "--model", path, "-p", "4", "-n", "1")
        check("model %s: exit 3 naming the problem" % os.path.basename(path),
              p.returncode == 3 and msg in p.stderr and p.stdout == "",
              "rc=%d %r" % (p.returncode, p.stderr))


def main():
    lcode = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="lc-bench-") as tmp:
        model = os.path.join(tmp, "tiny.gguf")
        make_model.write(model, arch="llama", qtype="Q4_K", n_embd=96, n_layer=2, n_head=4,
                         n_head_kv=2, n_ff=256, n_ctx=256, seed=5)
        facts = file_facts(model)
        check("the model has three tensor types", facts[2].count(":") == 3, facts[2])
        for what, fn in (("table", lambda: test_table(lcode, model, facts)),
                         ("json", lambda: test_json(lcode, model, facts)),
                         ("skips", lambda: test_skips_and_defaults(lcode, model)),
                         ("errors", lambda: test_errors(lcode, model, tmp))):
            try:
                fn()
            except Exception as e:  # one part's crash must not hide the others' results
                check("%s tests ran" % what, False, repr(e))
    print("1..%d" % len(results))
    for i, (name, ok, detail) in enumerate(results, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
        if detail and (not ok or os.environ.get("LC_TEST_VERBOSE")):
            print("# " + str(detail).replace("\n", "\n# "))
    return 0 if all(ok for _, ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
