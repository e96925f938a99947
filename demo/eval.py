#!/usr/bin/env python3
"""Evaluate lcode with the demo model on held-out tasks.

usage: eval.py --lcode PATH --model GGUF --tasks heldout.jsonl [-n N] [--no-constrain]
               [--json OUT]

Each task runs as a user would run it: a fresh git repository holding the
task's files, then `lcode --model GGUF -m REQUEST --json --approval full-auto`
(full-auto so that the test-running tasks may run their command, inside the
sandbox). A task succeeds when
  - a change was expected: the files are exactly as expected, the change is
    committed in one new commit that touches only those files, and the work
    tree is clean;
  - an answer was expected: lcode exited 0, the answer contains the expected
    text, and nothing was committed or changed.
Also counted, from lcode's JSON events: malformed tool calls (the model's call
could not be parsed), refused edits, loop-guard interventions, steps (model
messages) and wall-clock seconds per task. Prints a Markdown table.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from corpus import git_repo  # noqa: E402


def git(repo, *args):
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True).stdout


def run_task(lcode, model, task, constrain, timeout):
    with tempfile.TemporaryDirectory() as d:
        repo = os.path.join(d, "repo")
        os.makedirs(repo)
        git_repo(task["files"], repo)
        cmd = [lcode, "--model", model, "-m", task["request"], "--json",
               "--approval", "full-auto", "--max-steps", "12"]
        if not constrain:
            cmd.append("--no-constrain")
        t0 = time.time()
        try:
            p = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=timeout)
            rc, out = p.returncode, p.stdout
        except subprocess.TimeoutExpired as e:
            out = e.stdout or ""
            rc, out = -1, out.decode() if isinstance(out, bytes) else out
        secs = time.time() - t0
        events = []
        for line in out.splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                pass
        r = {"kind": task["kind"], "rc": rc, "seconds": secs,
             "steps": sum(1 for e in events if e["type"] == "message"),
             "malformed": sum(1 for e in events if e["type"] == "observation"
                              and e.get("tool") == ""),
             "refused_edits": sum(1 for e in events if e["type"] == "observation"
                                  and e.get("tool") in ("edit", "apply_patch", "write_file")
                                  and e.get("status") == "refused"),
             "loops": sum(e.get("loop_interventions", 0) for e in events
                          if e["type"] == "stats")}
        final = [e["text"] for e in events if e["type"] == "final"]
        commits = int(git(repo, "rev-list", "--count", "HEAD").strip() or 0)
        clean = git(repo, "status", "--porcelain") == ""
        if task["expected"]:
            same = all(open(os.path.join(repo, p)).read() == text
                       for p, text in task["expected"].items())
            touched = set(git(repo, "diff", "--name-only", "HEAD~1", "HEAD").split()) \
                if commits == 2 else set()
            ok = rc == 0 and same and commits == 2 and clean and \
                touched == set(task["expected"])
        else:
            ok = rc == 0 and commits == 1 and clean and bool(final) and \
                task["answer_must"].lower() in final[-1].lower()
        r["success"] = bool(ok)
        return r


def table(results, title):
    kinds = sorted({r["kind"] for r in results})
    rows = ["| %s | tasks | success | malformed calls | refused edits | loop-guard "
            "interventions | mean steps | mean seconds |" % title,
            "|---|---|---|---|---|---|---|---|"]
    for k in kinds + ["all"]:
        rs = [r for r in results if k == "all" or r["kind"] == k]
        n = len(rs)
        rows.append("| %s | %d | %.0f %% | %d | %d | %d | %.1f | %.1f |" % (
            k, n, 100.0 * sum(r["success"] for r in rs) / n, sum(r["malformed"] for r in rs),
            sum(r["refused_edits"] for r in rs), sum(r["loops"] for r in rs),
            sum(r["steps"] for r in rs) / n, sum(r["seconds"] for r in rs) / n))
    return "\n".join(rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lcode", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--tasks", required=True)
    ap.add_argument("-n", type=int, default=0, help="first N tasks only")
    ap.add_argument("--no-constrain", action="store_true")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--json", help="write per-task results here")
    a = ap.parse_args()
    a.lcode, a.model = os.path.abspath(a.lcode), os.path.abspath(a.model)  # runs in the repo
    tasks = [json.loads(l) for l in open(a.tasks)]
    if a.n:
        tasks = tasks[:a.n]
    results = []
    for i, t in enumerate(tasks):
        r = run_task(a.lcode, a.model, t, not a.no_constrain, a.timeout)
        results.append(r)
        print("%3d %-14s %s  %d steps  %.1f s" % (i + 1, r["kind"], "ok  " if r["success"]
                                                  else "FAIL", r["steps"], r["seconds"]),
              file=sys.stderr, flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    print(table(results, "constrained" if not a.no_constrain else "unconstrained"))


if __name__ == "__main__":
    main()
