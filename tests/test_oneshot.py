#!/usr/bin/env python3
"""One request through the real binary: lcode --script FILE -m REQUEST.

usage: test_oneshot.py LCODE      (TAP output)

A script (agent/scriptlm.h: turns separated by "--- turn ---" lines) speaks
for the model through the Qwen2 vocabulary in $LC_SHARED_DATA, in a scratch
git repository. Checked from outside, as a user or a CI job sees it: exit
statuses (0 done, 1 failed, 2 usage, 3 model error, as lcode --help and
lcode(1) say), the --json event stream, the stdout/stderr split without
--json, and the repository afterwards through the git program.
"""
import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

lcode = os.path.abspath(sys.argv[1])
vocab = os.path.join(os.environ.get("LC_SHARED_DATA", "/work/shared/data"), "vocab",
                     "ggml-vocab-qwen2.gguf")
results = []
scratch = tempfile.mkdtemp(prefix="lcode-oneshot-")

CALC_PY = "def add(a, b):\n    return a + b\n"
USER_WORK = "notes\nthe user's own unsaved thoughts\n"
SEP = "\n--- turn ---\n"


def call(name, args):
    """A Hermes tool call as the Qwen template has the model write it."""
    return '<tool_call>\n{"name": "%s", "arguments": %s}\n</tool_call>' % (name, json.dumps(args))


def check(name, cond, detail=""):
    results.append((name, bool(cond), detail))


ENV = dict(os.environ)
ENV.pop("LCODE_MODEL", None)
ENV.update({"HOME": scratch, "XDG_CONFIG_HOME": scratch, "XDG_CACHE_HOME": scratch,
            "GIT_CONFIG_NOSYSTEM": "1", "NO_COLOR": "1"})
for k in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
    ENV.pop(k, None)


def git(repo, *args):
    return subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True,
                          env=ENV, check=True).stdout


counter = [0]


def new_repo():
    """A repository with calc.py committed and the user's notes.txt changed, not committed."""
    counter[0] += 1
    repo = os.path.join(scratch, "repo%d" % counter[0])
    os.makedirs(repo)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Test User")
    git(repo, "config", "user.email", "test@example.com")
    with open(os.path.join(repo, "calc.py"), "w") as f:
        f.write(CALC_PY)
    with open(os.path.join(repo, "notes.txt"), "w") as f:
        f.write("notes\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "init")
    with open(os.path.join(repo, "notes.txt"), "w") as f:
        f.write(USER_WORK)
    return repo


def write_script(turns):
    counter[0] += 1
    path = os.path.join(scratch, "script%d.txt" % counter[0])
    with open(path, "w") as f:
        f.write(SEP.join(turns))
    return path


def run(repo, *args):
    p = subprocess.run([lcode, *args], cwd=repo, capture_output=True, text=True, env=ENV,
                       stdin=subprocess.DEVNULL, timeout=120)
    return p.returncode, p.stdout, p.stderr


def read(repo, rel):
    with open(os.path.join(repo, rel)) as f:
        return f.read()


def events(stdout):
    """The JSON lines of stdout; None if one is not JSON."""
    out = []
    for line in stdout.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            return None
    return out


TYPE_HINTS = [
    "Let me look.\n" + call("read_file", {"path": "calc.py"}),
    call("edit", {"path": "calc.py", "search": "def add(a, b):",
                  "replace": "def add(a: int, b: int) -> int:"}),
    "Added type hints.",
]
HINTED = "def add(a: int, b: int) -> int:\n    return a + b\n"

# --- done, with --json --------------------------------------------------------
repo = new_repo()
script = write_script(TYPE_HINTS)
rc, out, err = run(repo, "--model", vocab, "--script", script, "-m", "add type hints", "--json")
check("done: exit status 0", rc == 0, f"rc={rc} err={err!r}")
evs = events(out)
check("--json: every stdout line is a JSON object", evs is not None and evs and
      all(isinstance(e, dict) and "type" in e for e in evs), out[:300])
evs = evs or []
kinds = [e["type"] for e in evs if e["type"] not in ("text", "stats", "message")]
check("--json: request, call, observation, call, edit, observation, final, commit",
      kinds == ["request", "call", "observation", "call", "edit", "observation", "final",
                "commit"],
      f"{kinds}")
by = {}
for e in evs:
    by.setdefault(e["type"], []).append(e)
check("request event carries the request",
      by.get("request", [{}])[0].get("text") == "add type hints")
calls = by.get("call", [])
check("call events name the tool and carry the arguments as JSON",
      len(calls) == 2 and calls[0].get("tool") == "read_file" and
      calls[0].get("args") == {"path": "calc.py"} and calls[1].get("tool") == "edit" and
      calls[1].get("args", {}).get("replace") == "def add(a: int, b: int) -> int:", f"{calls}")
obs = by.get("observation", [])
check("observation events: tool, status ok, the numbered file",
      len(obs) == 2 and obs[0].get("tool") == "read_file" and obs[0].get("status") == "ok" and
      obs[0].get("text") == "1| def add(a, b):\n2|     return a + b\n" and
      obs[1].get("status") == "ok", f"{obs}")
# The diff below is written by hand in GNU diff -u's format for the one changed line.
edits = by.get("edit", [])
check("edit event: tool, path, match level, unified diff",
      len(edits) == 1 and edits[0].get("tool") == "edit" and edits[0].get("path") == "calc.py" and
      edits[0].get("match") == "exact" and
      edits[0].get("diff") == "--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n"
      "-def add(a, b):\n+def add(a: int, b: int) -> int:\n     return a + b\n", f"{edits}")
check("final event carries the answer",
      by.get("final", [{}])[0].get("text") == "Added type hints.")
head = git(repo, "rev-parse", "HEAD").strip()
check("commit event carries the new HEAD", by.get("commit", [{}])[0].get("id") == head)
check("stats events report tokens", all(s.get("prompt_tokens", 0) > 0 for s in by.get("stats", []))
      and len(by.get("stats", [])) == 3)
check("the file is changed", read(repo, "calc.py") == HINTED)
check("the commit: request as title, answer as body, Co-authored-by trailer",
      git(repo, "log", "-1", "--format=%B") ==
      "add type hints\n\nAdded type hints.\n\nCo-authored-by: lcode (script)\n\n",
      git(repo, "log", "-1", "--format=%B"))
check("one commit more, holding calc.py only",
      git(repo, "rev-list", "--count", "HEAD") == "2\n" and
      git(repo, "show", "--format=", "--name-only", "HEAD") == "calc.py\n")
check("the user's uncommitted work is untouched",
      read(repo, "notes.txt") == USER_WORK and git(repo, "status", "--porcelain") == " M notes.txt\n")

# --- edit events of each writing tool ------------------------------------------
# A SEARCH without the file's indentation matches at the cascade's "indentation offset"
# level (tools/edit.h); write_file matches nothing (match null) and its diff comes from
# /dev/null; apply_patch names its match level per file. Diffs written by hand.
repo = new_repo()
turns = [
    call("edit", {"path": "calc.py", "search": "return a + b\n", "replace": "return b + a\n"}),
    call("write_file", {"path": "new.py", "content": "X = 1\n"}),
    call("apply_patch", {"patch": "--- a/new.py\n+++ b/new.py\n@@ -1 +1 @@\n-X = 1\n+X = 2\n"}),
    call("read_file", {"path": "new.py"}),
    "Done.",
]
rc, out, err = run(repo, "--model", vocab, "--script", write_script(turns), "-m", "edits",
                   "--json")
evs = events(out) or []
edits = [e for e in evs if e["type"] == "edit"]
check("edit events: exit status 0, one per write", rc == 0 and len(edits) == 3,
      f"rc={rc} err={err!r} {[e['type'] for e in evs]}")
edits += [{}] * 3
check("edit event of an edit matched with its indentation off",
      edits[0].get("match") == "indentation offset" and edits[0].get("diff") ==
      "--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a + b\n"
      "+    return b + a\n", f"{edits[0]}")
check("edit event of write_file: no match level, the diff of a new file",
      edits[1].get("tool") == "write_file" and edits[1].get("path") == "new.py" and
      "match" in edits[1] and edits[1]["match"] is None and
      edits[1].get("diff") == "--- /dev/null\n+++ b/new.py\n@@ -0,0 +1 @@\n+X = 1\n",
      f"{edits[1]}")
check("edit event of apply_patch: exact, its diff",
      edits[2].get("tool") == "apply_patch" and edits[2].get("match") == "exact" and
      edits[2].get("diff") == "--- a/new.py\n+++ b/new.py\n@@ -1 +1 @@\n-X = 1\n+X = 2\n",
      f"{edits[2]}")
order = [e["type"] for e in evs if e["type"] in ("call", "edit", "observation")]
check("each edit event comes between its call and its observation",
      order == ["call", "edit", "observation"] * 3 + ["call", "observation"], f"{order}")
check("edit events: the files as the diffs say",
      read(repo, "calc.py") == "def add(a, b):\n    return b + a\n" and
      read(repo, "new.py") == "X = 2\n")
rc, out, err = run(new_repo(), "--model", vocab, "--script", write_script(turns), "-m", "edits")
check("plain: the diff is shown under its call on stderr",
      rc == 0 and "    -    return a + b\n    +    return b + a\n" in err, repr(err))

# --- done, without --json: answer on stdout, progress on stderr ---------------
repo = new_repo()
rc, out, err = run(repo, "--model", vocab, "--script", script, "-m", "add type hints")
check("plain: exit status 0", rc == 0, f"rc={rc} err={err!r}")
check("plain: stdout is the answer alone", out == "Added type hints.\n", repr(out))
check("plain: progress on stderr (calls, results, commit)",
      "read_file" in err and "edit" in err and "ok" in err and "committed" in err, repr(err))
check("plain: no answer text on stderr", "Added type hints." not in err, repr(err))
check("plain: no escape sequences off a terminal", "\033[" not in out + err)

# --- lcode undo after the run -------------------------------------------------
# The plain run above committed its edit; undo puts calc.py back as it was before the
# agent's change and leaves the user's notes.txt alone. A second undo has nothing left.
rc, out, err = run(repo, "undo")
check("undo: exit status 0, says what it restored", rc == 0 and "calc.py" in out,
      f"rc={rc} out={out!r} err={err!r}")
check("undo: calc.py is back to the original", read(repo, "calc.py") == CALC_PY)
check("undo: the user's uncommitted work is untouched", read(repo, "notes.txt") == USER_WORK)
check("undo: the commit stays; the restore shows as a change",
      git(repo, "rev-list", "--count", "HEAD") == "2\n" and
      git(repo, "status", "--porcelain") == " M calc.py\n M notes.txt\n",
      git(repo, "status", "--porcelain"))
rc, out, err = run(repo, "undo")
check("undo: nothing left to undo is exit status 1", rc == 1 and out == "", f"rc={rc}")

# undo refuses, writing nothing, when a file was changed after the agent's change.
repo = new_repo()
run(repo, "--model", vocab, "--script", script, "-m", "add type hints")
with open(os.path.join(repo, "calc.py"), "a") as f:
    f.write("# the user's line\n")
rc, out, err = run(repo, "undo")
check("undo: refused after the user changed the file (exit 1, named)",
      rc == 1 and "calc.py" in err, f"rc={rc} err={err!r}")
check("undo: the user's line survives the refusal",
      read(repo, "calc.py") == HINTED + "# the user's line\n")

# --- --no-commit ----------------------------------------------------------------
repo = new_repo()
rc, out, err = run(repo, "--model", vocab, "--script", script, "-m", "add type hints",
                   "--no-commit", "--json")
evs = events(out) or []
check("--no-commit: exit status 0", rc == 0, f"rc={rc} err={err!r}")
check("--no-commit: the change is on disk", read(repo, "calc.py") == HINTED)
check("--no-commit: nothing committed, no commit event",
      git(repo, "rev-list", "--count", "HEAD") == "1\n" and
      not any(e["type"] == "commit" for e in evs))
check("--no-commit: the change is left uncommitted beside the user's",
      git(repo, "status", "--porcelain") == " M calc.py\n M notes.txt\n",
      git(repo, "status", "--porcelain"))

# --- failed: exit 1 ----------------------------------------------------------------
repo = new_repo()
loop = write_script([call("read_file", {"path": "calc.py"})] * 8)
rc, out, err = run(repo, "--model", vocab, "--script", loop, "-m", "read it", "--json")
evs = events(out) or []
check("failed: exit status 1 when the model repeats a call", rc == 1, f"rc={rc} err={err!r}")
check("failed: --json ends with an error event saying why",
      evs and evs[-1].get("type") == "error" and "repeating" in evs[-1].get("message", ""),
      f"{evs[-1:]}")
check("failed: stderr says why, as 'lcode: ...'", err.startswith("lcode: ") and "repeating" in err,
      repr(err))
check("failed: nothing committed, nothing changed",
      git(repo, "rev-list", "--count", "HEAD") == "1\n" and read(repo, "calc.py") == CALC_PY)

repo = new_repo()
refused = write_script([call("edit", {"path": "calc.py", "search": "nope%d" % i,
                                      "replace": "x"}) for i in range(10)])
rc, out, err = run(repo, "--model", vocab, "--script", refused, "-m", "edit", "--json")
check("failed: exit status 1 after too many refused calls", rc == 1, f"rc={rc} err={err!r}")
check("failed: the file is untouched", read(repo, "calc.py") == CALC_PY)
evs = events(out) or []
check("failed: by default the 6th refused call ends the request",
      sum(e["type"] == "call" for e in evs) == 6, f"{[e['type'] for e in evs]}")

# --max-failures N: the Nth refused call ends the request; the message says how many, the
# limit, and what the last call was told (here: its SEARCH text matches nothing).
rc, out, err = run(repo, "--model", vocab, "--script", refused, "-m", "edit", "--json",
                   "--max-failures", "3")
evs = events(out) or []
check("--max-failures 3: exit status 1", rc == 1, f"rc={rc} err={err!r}")
check("--max-failures 3: three calls, all refused",
      sum(e["type"] == "call" for e in evs) == 3 and
      [e.get("status") for e in evs if e["type"] == "observation"] == ["refused"] * 3,
      f"{[e['type'] for e in evs]}")
msg = evs[-1].get("message", "") if evs else ""
check("--max-failures 3: the error says how many, the limit and what failed",
      evs and evs[-1].get("type") == "error" and
      "3 tool calls were refused or failed (max-failures is 3)" in msg and
      "a call of edit: error: edit of calc.py refused" in msg and
      "matches no place" in msg, msg)
check("--max-failures 3: stderr says it too", "max-failures is 3" in err, repr(err))
check("--max-failures 3: the file is untouched", read(repo, "calc.py") == CALC_PY)
os.makedirs(os.path.join(repo, ".lcode"), exist_ok=True)
with open(os.path.join(repo, ".lcode", "config"), "w") as f:
    f.write("max-failures = 2\n")
rc, out, err = run(repo, "--model", vocab, "--script", refused, "-m", "edit", "--json")
evs = events(out) or []
check("max-failures = 2 in .lcode/config: two calls, exit status 1",
      rc == 1 and sum(e["type"] == "call" for e in evs) == 2, f"rc={rc} err={err!r}")
rc, out, err = run(repo, "--model", vocab, "--script", refused, "-m", "edit", "--json",
                   "--max-failures", "4")
evs = events(out) or []
check("--max-failures beats the configuration",
      rc == 1 and sum(e["type"] == "call" for e in evs) == 4, f"rc={rc} err={err!r}")
with open(os.path.join(repo, ".lcode", "config"), "w") as f:
    f.write("max-failures = 0\n")
rc, out, err = run(repo, "--model", vocab, "--script", refused, "-m", "edit")
check("max-failures = 0 is a usage error naming the key",
      rc == 2 and "max-failures takes a whole number from 1 to 1000" in err, f"rc={rc} err={err!r}")
os.remove(os.path.join(repo, ".lcode", "config"))
rc, out, err = run(repo, "--model", vocab, "--script", refused, "-m", "edit", "--max-failures", "x")
check("--max-failures x is a usage error", rc == 2 and "--max-failures" in err, f"rc={rc} err={err!r}")

# --- usage: exit 2 -------------------------------------------------------------------
repo = new_repo()
rc, out, err = run(repo, "--script", script, "-m", "add type hints")
check("no model: exit status 2", rc == 2, f"rc={rc}")
check("no model: says so on stderr, nothing on stdout",
      out == "" and err.startswith("lcode: no model"), repr(err))
# Every way to get and name a model, as lcode --help and lcode(1) describe them.
check("no model: says how to download one", "lcode pull hf:OWNER/REPO/FILE.gguf" in err, err)
check("no model: names --model PATH, LCODE_MODEL and the config key",
      "--model PATH" in err and "LCODE_MODEL" in err and "model = PATH" in err, err)
check("no model: the config files are named by their path",
      os.path.join(scratch, "lcode", "config") in err and ".lcode/config" in err, err)
check("no model: offers the demonstration model", "--model demo" in err, err)
rc, out, err = run(repo, "--model", vocab, "--script", script, "-m", "x", "--call-format", "xml")
check("unknown call format: exit status 2", rc == 2 and "xml" in err, f"rc={rc} err={err!r}")
rc, out, err = run(repo, "--model", vocab, "--script", script, "-m", "x", "-C",
                   os.path.join(scratch, "no-such-dir"))
check("-C to a missing directory: exit status 2", rc == 2, f"rc={rc} err={err!r}")
check("usage errors change nothing", git(repo, "rev-list", "--count", "HEAD") == "1\n" and
      read(repo, "calc.py") == CALC_PY)

# --- model error: exit 3 --------------------------------------------------------------
repo = new_repo()
bogus = os.path.join(scratch, "not-a-model.gguf")
with open(bogus, "w") as f:
    f.write("this is not a GGUF file\n" * 10)
rc, out, err = run(repo, "--model", bogus, "-m", "add type hints")
check("a model file that is not GGUF: exit status 3", rc == 3, f"rc={rc} err={err!r}")
check("model error: 'lcode: ' message naming the file on stderr, nothing on stdout",
      out == "" and err.startswith("lcode: ") and "not-a-model.gguf" in err, repr(err))
rc, out, err = run(repo, "--model", bogus, "--script", script, "-m", "add type hints")
check("a script over a vocabulary that is not GGUF: exit status 3", rc == 3, f"rc={rc}")
rc, out, err = run(repo, "--model", os.path.join(scratch, "missing.gguf"), "-m", "x")
check("a model file that does not exist: exit status 3", rc == 3, f"rc={rc} err={err!r}")
check("model errors change nothing", git(repo, "rev-list", "--count", "HEAD") == "1\n" and
      read(repo, "calc.py") == CALC_PY and git(repo, "status", "--porcelain") == " M notes.txt\n")

# --- -m at a terminal asks nothing; the REPL at a terminal asks --------------------------
# Standard input is a pseudo-terminal (Python's pty module). One request (-m) must never wait
# for an answer: what needs approval is refused, and a note names the --approval mode that
# would allow it. A run that waited would hit the timeout below.
SHELL_HI = [call("shell", {"command": "echo hi"}), "Done."]


def run_tty_stdin(repo, *args):
    """lcode with a pseudo-terminal as standard input; None when it waited 30 s."""
    master, slave = pty.openpty()
    p = subprocess.Popen([lcode, *args], cwd=repo, stdin=slave, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=ENV)
    os.close(slave)
    try:
        out, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        return None
    finally:
        os.close(master)
    return p.returncode, out, err


repo = new_repo()
hi = write_script(SHELL_HI)
r = run_tty_stdin(repo, "--model", vocab, "--script", hi, "-m", "say hi")
check("-m at a terminal: does not wait for an answer", r is not None)
rc, out, err = r or (None, "", "")
check("-m at a terminal: the command is refused without a question, the request goes on",
      rc == 0 and "[y/N]" not in err and "refused error: not approved: run: echo hi" in err and
      out == "Done.\n", f"rc={rc} out={out!r} err={err!r}")
check("-m at a terminal: a note names --approval full-auto as the way to allow it",
      "note: not approved: run: echo hi." in err and "--approval full-auto" in err, repr(err))
r = run_tty_stdin(repo, "--model", vocab, "--script", write_script(TYPE_HINTS), "-m",
                  "add type hints", "--approval", "ask")
rc, out, err = r or (None, "", "")
check("-m --approval ask at a terminal: the edit is refused unasked, nothing written",
      r is not None and "[y/N]" not in err and "not approved: edit calc.py" in err and
      read(repo, "calc.py") == CALC_PY, f"rc={rc} err={err!r}")
check("-m --approval ask: the note names --approval auto-edit", "--approval auto-edit" in err,
      repr(err))


def drain(master, quiet):
    """What the terminal's master side shows until it closes or stays quiet for quiet s."""
    shown = b""
    while select.select([master], [], [], quiet)[0]:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    return shown


def repl_on_tty(repo, args, steps):
    """The REPL on a pseudo-terminal: for each (wait_for, answer), read until wait_for shows,
    then type answer. Returns (exit status or None, everything shown)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([lcode, *args], cwd=repo, stdin=slave, stdout=slave, stderr=slave,
                         env=ENV, start_new_session=True)
    os.close(slave)
    shown, pos = b"", 0
    try:
        for wait_for, answer in steps:
            deadline = time.time() + 30
            while wait_for.encode() not in shown[pos:] and time.time() < deadline:
                ready, _, _ = select.select([master], [], [], 0.5)
                if ready:
                    try:
                        chunk = os.read(master, 4096)
                    except OSError:
                        chunk = b""
                    if not chunk:
                        break
                    shown += chunk
            if wait_for.encode() not in shown[pos:]:
                p.kill()
                return None, shown.decode(errors="replace")
            pos = shown.index(wait_for.encode(), pos) + len(wait_for)
            os.write(master, answer.encode())
        rc = p.wait(timeout=30)
        shown += drain(master, 0.2)
        return rc, shown.decode(errors="replace")
    except subprocess.TimeoutExpired:
        p.kill()
        return None, shown.decode(errors="replace")
    finally:
        os.close(master)


repo = new_repo()
rc, shown = repl_on_tty(repo, ["--model", vocab, "--script", hi],
                        [("lcode> ", "say hi\r"), ("allow", ""), ("[y/N] ", "y\r"),
                         ("lcode> ", "/exit\r")])
check("REPL at a terminal: asks before running a command", rc is not None and
      "run: echo hi? [y/N]" in shown, shown[-600:])
check("REPL at a terminal: the approved command ran and the request finished",
      rc == 0 and "ok exit status 0" in shown and "Done." in shown, shown[-600:])

# --- the REPL's slash commands say their subject once --------------------------------
# tools/git.h's messages begin "commit: " and "undo: "; the REPL must not put its own
# "commit: " in front of them ("lcode: commit: commit: ...").
repo = new_repo()
p = subprocess.run([lcode, "--model", vocab, "--script", script], cwd=repo, capture_output=True,
                   text=True, env=ENV, input="/commit\n/undo\n/exit\n", timeout=120)
check("REPL /commit with nothing to commit: the reason, 'commit:' said once",
      "lcode: commit: the agent has no uncommitted changes\n" in p.stderr and
      "commit: commit:" not in p.stderr, repr(p.stderr))
check("REPL /undo with nothing to undo: the reason, 'undo:' said once",
      "lcode: undo: there is no change by the agent to undo\n" in p.stderr and
      "undo: undo:" not in p.stderr, repr(p.stderr))
check("REPL: nothing committed", git(repo, "rev-list", "--count", "HEAD") == "1\n")

# --- colour only on a terminal, and never with NO_COLOR ---------------------------------
# Progress goes to standard error; here that is a pseudo-terminal. ANSI SGR sequences
# ("\033[") appear there unless NO_COLOR is set; the model's text streams live either way
# (NO_COLOR turns colour off, not output); through a pipe there is neither.


def run_tty_stderr(repo, env, *args):
    master, slave = pty.openpty()
    p = subprocess.Popen([lcode, *args], cwd=repo, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    shown = drain(master, 30)
    os.close(master)
    p.wait(timeout=30)
    return p.returncode, shown.decode(errors="replace")


def plain(text):
    """text without its SGR sequences (each streamed piece is dimmed on its own)."""
    return re.sub(r"\033\[[0-9;]*m", "", text)


LIVE = ["I will add type hints. " + call("read_file", {"path": "calc.py"}), "Done."]
repo = new_repo()
colour_env = {k: v for k, v in ENV.items() if k != "NO_COLOR"}
rc, shown = run_tty_stderr(repo, colour_env, "--model", vocab, "--script",
                           write_script(LIVE), "-m", "look")
check("stderr a terminal, NO_COLOR unset: coloured progress", rc == 0 and "\033[" in shown,
      repr(shown[-300:]))
check("stderr a terminal: the model's text is shown live",
      "I will add type hints." in plain(shown),
      repr(shown[-300:]))
rc, shown = run_tty_stderr(repo, ENV, "--model", vocab, "--script", write_script(LIVE),
                           "-m", "look")
check("stderr a terminal, NO_COLOR=1: no colour, the model's text still live",
      rc == 0 and "\033[" not in shown and "I will add type hints." in shown,
      repr(shown[-300:]))
rc, out, err = run(repo, "--model", vocab, "--script", write_script(LIVE), "-m", "look")
check("stderr a pipe: no colour and no live text", rc == 0 and "\033[" not in err and
      "I will add type hints." not in err, repr(err[-300:]))

shutil.rmtree(scratch, ignore_errors=True)
print(f"1..{len(results)}")
for i, (name, ok, detail) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    if not ok and detail:
        print(f"# {detail}")
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
