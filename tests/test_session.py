#!/usr/bin/env python3
"""The session log (.lcode/sessions/*.jsonl) and the configuration files, through lcode -m
with a scripted model.

usage: test_session.py LCODE      (TAP output)

Independent references: Python's hashlib for the model file's SHA-256, the
json module for the log's lines, the script written here for the events, and
the values written into the configuration files by hand.
"""
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

lcode = os.path.abspath(sys.argv[1])
vocab = os.path.join(os.environ.get("LC_SHARED_DATA", "/work/shared/data"), "vocab",
                     "ggml-vocab-qwen2.gguf")
results = []
top = tempfile.mkdtemp(prefix="lc-session-")
home = os.path.join(top, "home")
xdg_config = os.path.join(top, "xdg-config")
xdg_cache = os.path.join(top, "xdg-cache")
os.makedirs(home)
env = dict(os.environ)
env.update({"HOME": home, "XDG_CONFIG_HOME": xdg_config, "XDG_CACHE_HOME": xdg_cache,
            "GIT_CONFIG_NOSYSTEM": "1", "NO_COLOR": "1"})
env.pop("LCODE_MODEL", None)


def check(name, cond, detail=""):
    results.append((name, bool(cond), detail))


def git(repo, *args):
    subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True, env=env)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def run(repo, *args, extra_env=None):
    e = dict(env)
    if extra_env:
        e.update(extra_env)
    return subprocess.run([lcode, *args], cwd=repo, capture_output=True, text=True, env=e,
                          timeout=120)


def logs(repo):
    return sorted(glob.glob(os.path.join(repo, ".lcode", "sessions", "*.jsonl")))


def header_of(path):
    with open(path) as f:
        return json.loads(f.readline())


repo = os.path.join(top, "repo")
os.makedirs(repo)
git(repo, "init", "-q", "-b", "main")
git(repo, "config", "user.name", "Test")
git(repo, "config", "user.email", "test@example.com")
write(os.path.join(repo, "a.py"), "def f():\n    return 1\n")
git(repo, "add", "a.py")
git(repo, "commit", "-q", "-m", "init")
script = os.path.join(top, "script")
call = {"name": "edit", "arguments": {"path": "a.py", "search": "    return 1\n",
                                      "replace": "    return 2\n"}}
write(script, "<tool_call>\n" + json.dumps(call) + "\n</tool_call>\n--- turn ---\nDone.")

# 1. One scripted run: the log, line by line.
p = run(repo, "--model", vocab, "--script", script, "-m", "return 2")
check("the scripted run succeeds", p.returncode == 0, p.stderr)
files = logs(repo)
check("one session log is written", len(files) == 1, files)
lines = []
ok = True
for line in open(files[0]) if files else []:
    try:
        lines.append(json.loads(line))
    except ValueError:
        ok = False
check("every line parses as JSON", ok and lines, lines)
want_sha = hashlib.sha256(open(vocab, "rb").read()).hexdigest()
h = lines[0] if lines else {}
check("the first line is the header", h.get("type") == "session", h)
check("the header has the model's SHA-256", h.get("model_sha256") == want_sha,
      f"{h.get('model_sha256')} != {want_sha}")
check("the header names the model file", h.get("model") == os.path.realpath(vocab), h.get("model"))
check("a vocabulary-only file has no dominant tensor type", h.get("quantization") == "none")
check("the header has template, call format, prompt version, sampler, n_ctx",
      h.get("template") == "chatml" and h.get("call_format") == "hermes"
      and len(h.get("prompt_version", "")) == 16 and h.get("sampler", {}).get("temp") == 0
      and isinstance(h.get("n_ctx"), int) and h.get("n_ctx") > 0, h)
kinds = [l.get("type") for l in lines]
want = ["session", "request", "stats", "message", "call", "edit", "observation", "stats",
        "message", "final", "commit", "end"]
check("the events come in order", kinds == want, kinds)
by = {k: l for l, k in zip(lines, kinds)}
check("the call has its arguments", by.get("call", {}).get("args") == call["arguments"],
      by.get("call"))
check("the observation has its status", by.get("observation", {}).get("status") == "ok")
# The diff is written by hand in GNU diff -u's format: one line changed in a two-line file.
ed = by.get("edit", {})
check("the edit records tool, path, match level and diff",
      ed.get("tool") == "edit" and ed.get("path") == "a.py" and ed.get("match") == "exact" and
      ed.get("diff") == "--- a/a.py\n+++ b/a.py\n@@ -1,2 +1,2 @@\n def f():\n-    return 1\n"
      "+    return 2\n", ed)
check("the request is recorded", by.get("request", {}).get("text") == "return 2")
check("every line has a UTC timestamp",
      all(isinstance(l.get("ts"), str) and l["ts"].endswith("Z") for l in lines))
check("the end records exit status 0", by.get("end", {}).get("exit_status") == 0)
st = subprocess.run(["git", "-C", repo, "status", "--porcelain"], capture_output=True,
                    text=True).stdout
check("git does not see the logs", ".lcode/sessions" not in st, st)
cache = os.path.join(xdg_cache, "lcode", "model-sha256")
check("the digest is cached under XDG_CACHE_HOME",
      os.path.exists(cache) and want_sha in open(cache).read())

# 2. Configuration precedence, seen in the header: repository > user > default; flags first.
write(os.path.join(xdg_config, "lcode", "config"), "temp = 0.75\nseed = 11\n")
write(os.path.join(repo, ".lcode", "config"), "# the repository's\nseed = 22\n")
git(repo, "checkout", "-q", "--", "a.py")
write(script, "Nothing to do.")
before = set(logs(repo))
p = run(repo, "--model", vocab, "--script", script, "-m", "nothing")
new = sorted(set(logs(repo)) - before)
h = header_of(new[0]) if new else {}
check("user config applies when the repository's says nothing", h.get("sampler", {}).get("temp") == 0.75, h)
check("repository config beats the user's", h.get("sampler", {}).get("seed") == 22, h)
before = set(logs(repo))
p = run(repo, "--model", vocab, "--script", script, "--temp", "0.25", "--seed", "33", "-m", "x")
new = sorted(set(logs(repo)) - before)
h = header_of(new[0]) if new else {}
check("flags beat both files", h.get("sampler", {}).get("temp") == 0.25
      and h.get("sampler", {}).get("seed") == 33, h)

# 3. model from the configuration, LCODE_MODEL over it.
write(os.path.join(repo, ".lcode", "config"), f'model = "{vocab}"\n')
p = run(repo, "--script", script, "-m", "x")
check("model from .lcode/config", p.returncode == 0, p.stderr)
p = run(repo, "--script", script, "-m", "x", extra_env={"LCODE_MODEL": "/nonexistent.gguf"})
check("LCODE_MODEL beats the configuration", p.returncode == 3 and "nonexistent" in p.stderr,
      p.stderr)

# 4. Errors name the file and the line.
write(os.path.join(repo, ".lcode", "config"), "ctx = 2048\nbogus = 1\n")
p = run(repo, "--model", vocab, "--script", script, "-m", "x")
check("an unknown key is a usage error", p.returncode == 2, p.returncode)
check("the message names file, line and key",
      f"{os.path.realpath(repo)}/.lcode/config:2: unknown key 'bogus'" in p.stderr, p.stderr)
os.remove(os.path.join(repo, ".lcode", "config"))
write(os.path.join(xdg_config, "lcode", "config"), "approval = maybe\n")
p = run(repo, "--model", vocab, "--script", script, "-m", "x")
check("a bad value in the user's file names it",
      p.returncode == 2 and f"{xdg_config}/lcode/config:1: approval takes" in p.stderr, p.stderr)

print(f"1..{len(results)}")
for i, (name, ok, detail) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    if not ok and detail:
        for line in str(detail).splitlines()[:20]:
            print(f"# {line}")
shutil.rmtree(top, ignore_errors=True)
