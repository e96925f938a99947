#!/usr/bin/env python3
"""lcode's main job end to end with its demo model, in the three ways people use it.

usage: test_demo_model.py LCODE      (TAP output)

Repositories and requests come from demo/tasks.py's held-out random stream
(seeds training never used). Each run is checked by its result in the
repository - file bytes, commits, the index, the user's uncommitted work -
not by what lcode printed. What lcode promises holds whatever the model
does: an edit that lands keeps the Python compiling (checked with CPython's
own compiler, not lcode's validator), a finished request is one commit titled
with the request that touches only the task's files, the user's work is never
touched, a stopped pre-commit pass leaves the index as the user staged it.
How often the model gets a task right is measured by demo/eval.py, not here;
one task the model solves (GOLDEN) checks that the whole path still yields
the exact expected commit.
  - one-shot: `lcode --model demo -m REQUEST`;
  - the REPL: requests and /exit on standard input;
  - the pre-commit pass: `lcode hook install`, a configured request, `git commit`;
  - constrained decoding with sampling: over many seeds at temperature 1,
    every tool call the model emits parses (no "could not be used" observation).
Skipped when the demo model file is not there.
"""
import json
import os
import random
import subprocess
import sys
import tempfile

SRC = os.environ.get("LC_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(SRC, "demo"))
sys.path.insert(0, os.path.join(SRC, "tests"))
import corpus  # noqa: E402
import tasks  # noqa: E402

lcode = os.path.abspath(sys.argv[1])
model = os.path.join(SRC, "demo", "lcode-demo.gguf")
ENV = dict(os.environ, NO_COLOR="1", XDG_STATE_HOME="", XDG_CONFIG_HOME="/nonexistent",
           XDG_CACHE_HOME="")
results = []


def check(name, ok, detail=""):
    results.append((name, bool(ok), detail))


def git(repo, *args):
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True).stdout


def read(repo, rel):
    with open(os.path.join(repo, rel)) as f:
        return f.read()


def task(seed, kind):
    return tasks.make_task(random.Random(seed), kind)


def repo_for(t, root, user_work=True):
    os.makedirs(root)
    corpus.git_repo(t.files, root)
    if user_work:
        # Uncommitted work of the user's that no run may touch.
        with open(os.path.join(root, "NOTES.txt"), "w") as f:
            f.write("the user's own notes\n")
    return root


def lcode_run(repo, *args, stdin=None):
    p = subprocess.run([lcode, "--model", "demo", *args], cwd=repo, capture_output=True,
                       text=True, input=stdin, env=ENV, timeout=300)
    return p.returncode, p.stdout, p.stderr


def expected_ok(repo, t):
    return all(read(repo, p) == text for p, text in t.expected.items())


def python_compiles(repo, paths):
    """The .py files among paths that CPython's compiler refuses, with its message."""
    bad = []
    for p in paths:
        if p.endswith(".py") and os.path.exists(os.path.join(repo, p)):
            try:
                compile(read(repo, p), p, "exec")
            except SyntaxError as e:
                bad.append("%s:%s: %s" % (p, e.lineno, e.msg))
    return bad


def check_request_run(name, repo, t, rc, err):
    """What holds after any one-shot or REPL request, whatever the model did."""
    commits = int(git(repo, "rev-list", "--count", "HEAD").strip())
    touched = set(git(repo, "diff", "--name-only", "HEAD~1", "HEAD").split()) \
        if commits > 1 else set()
    check(name + ": exit status 0 (done) or 1 (could not finish)", rc in (0, 1), err[-400:])
    check(name + ": done means one new commit, titled with the request, of task files only",
          rc != 0 or (commits == 2 and touched <= set(t.files) and
                      git(repo, "log", "-1", "--format=%s").strip() == t.request[:72]),
          "%d commits, touched %s" % (commits, sorted(touched)))
    check(name + ": the Python it leaves compiles (CPython)",
          not python_compiles(repo, t.files), python_compiles(repo, t.files))
    check(name + ": the user's uncommitted work is untouched",
          read(repo, "NOTES.txt") == "the user's own notes\n" and
          "NOTES.txt" not in touched, git(repo, "status", "--porcelain"))


# A held-out task the demo model solves, greedy: a change anywhere on the path
# (runtime, tokenizer, template, constraint, tools) that loses it shows here.
GOLDEN = (910005, "rename")


if not os.path.exists(model):
    print("1..0 # SKIP the demo model is not in demo/lcode-demo.gguf")
    sys.exit(0)

with tempfile.TemporaryDirectory() as d:
    # --- one-shot ----------------------------------------------------------------
    t = task(910001, "rename")
    repo = repo_for(t, os.path.join(d, "oneshot"))
    rc, out, err = lcode_run(repo, "-m", t.request)
    check_request_run("one-shot", repo, t, rc, err)

    t = task(*GOLDEN)
    repo = repo_for(t, os.path.join(d, "golden"))
    rc, out, err = lcode_run(repo, "-m", t.request)
    check("one-shot, task %d: exit 0 and exactly the expected change committed" % GOLDEN[0],
          rc == 0 and expected_ok(repo, t) and
          git(repo, "rev-list", "--count", "HEAD").strip() == "2" and
          git(repo, "status", "--porcelain") == "?? NOTES.txt\n", err[-400:])

    # --- the REPL, requests on standard input --------------------------------------
    t1 = task(910002, "docstring")
    repo = repo_for(t1, os.path.join(d, "repl"))
    rc, out, err = lcode_run(repo, stdin=t1.request + "\n/exit\n")
    check("REPL: /exit ends it with status 0", rc == 0, err[-400:])
    # The REPL's status is /exit's: a request counts as done when it committed.
    n = git(repo, "rev-list", "--count", "HEAD").strip()
    check_request_run("REPL", repo, t1, 1 if n == "1" else 0, err)

    # --- the pre-commit pass -------------------------------------------------------
    t2 = task(910003, "unused_import")
    repo = repo_for(t2, os.path.join(d, "hook"), user_work=False)
    (path, text), = ((p, x) for p, x in t2.files.items() if p.endswith(".py"))
    os.makedirs(os.path.join(repo, ".lcode"))
    with open(os.path.join(repo, ".lcode", "config"), "w") as f:
        f.write('model = demo\npre-commit.request = "%s"\n' % t2.request.replace('"', "'"))
    subprocess.run([lcode, "hook", "install"], cwd=repo, capture_output=True, env=ENV)
    with open(os.path.join(repo, path), "a") as f:
        f.write("\n\nVERSION = 2\n")
    git(repo, "add", path)
    staged = git(repo, "diff", "--cached")
    p = subprocess.run(["git", "commit", "-qm", "bump the version"], cwd=repo,
                       capture_output=True, text=True, env=ENV, timeout=300)
    sessions = os.path.join(repo, ".lcode", "sessions")
    check("pre-commit: the hook ran lcode (its session log is there)",
          os.path.isdir(sessions) and os.listdir(sessions), p.stderr[-400:])
    if p.returncode == 0:
        committed = git(repo, "show", "HEAD:" + path)
        check("pre-commit: the commit holds the user's change",
              committed.endswith("\n\nVERSION = 2\n") and
              git(repo, "log", "-1", "--format=%s").strip() == "bump the version", committed)
        check("pre-commit: the committed Python compiles (CPython)",
              not python_compiles(repo, [path]), python_compiles(repo, [path]))
    else:
        check("pre-commit: a stopped commit says why", "pre-commit" in p.stderr, p.stderr)
        check("pre-commit: a stopped commit leaves the index as the user staged it",
              git(repo, "diff", "--cached") == staged and
              git(repo, "rev-list", "--count", "HEAD").strip() == "1")

    # --- constrained decoding with sampling: every call parses ----------------------
    malformed, runs = 0, 0
    for seed in range(1, 11):
        t3 = task(920000 + seed, ["rename", "docstring", "unused_import", "explain"][seed % 4])
        repo = repo_for(t3, os.path.join(d, "seed%d" % seed), user_work=False)
        rc, out, err = lcode_run(repo, "-m", t3.request, "--json", "--temp", "1.0",
                                 "--seed", str(seed), "--max-steps", "8")
        for line in out.splitlines():
            e = json.loads(line)
            if e["type"] == "observation" and e.get("tool") == "":
                malformed += 1
        runs += 1
    check("constrained sampling at temperature 1: no malformed call in %d runs" % runs,
          malformed == 0, "%d malformed" % malformed)

print("1..%d" % len(results))
for i, (name, ok, detail) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
    if not ok and detail:
        print("# " + str(detail).replace("\n", "\n# "))
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
