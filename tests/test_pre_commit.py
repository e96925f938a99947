#!/usr/bin/env python3
"""lcode hook install/uninstall and lcode pre-commit, through real `git commit`s.

usage: test_pre_commit.py LCODE      (TAP output)

The model is scripted (--script) over the Qwen2 vocabulary in LC_SHARED_DATA;
the hook is installed with those flags after --. Expected contents are written
out by hand in this file; git itself (git show, git diff) is the independent
reader of what was committed and staged.
"""
import os
import shutil
import stat
import subprocess
import sys
import tempfile

lcode = os.path.abspath(sys.argv[1])
vocab = os.path.join(os.environ.get("LC_SHARED_DATA", "/work/shared/data"), "vocab",
                     "ggml-vocab-qwen2.gguf")
results = []
top = tempfile.mkdtemp(prefix="lc-pre-commit-")
home = os.path.join(top, "home")
os.makedirs(home)
env = dict(os.environ)
env.update({"HOME": home, "XDG_CONFIG_HOME": os.path.join(home, "config"),
            "XDG_CACHE_HOME": os.path.join(home, "cache"), "GIT_CONFIG_NOSYSTEM": "1",
            "NO_COLOR": "1"})
env.pop("LCODE_MODEL", None)
env.pop("GIT_INDEX_FILE", None)
env.pop("GIT_DIR", None)


def check(name, cond, detail=""):
    results.append((name, bool(cond), detail))


def git(repo, *args, check_rc=True):
    p = subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True, env=env)
    if check_rc and p.returncode:
        raise RuntimeError(f"git {args}: {p.stderr}")
    return p


def lc(repo, *args):
    return subprocess.run([lcode, *args], cwd=repo, capture_output=True, text=True, env=env,
                          timeout=120)


def write(repo, rel, text):
    with open(os.path.join(repo, rel), "w") as f:
        f.write(text)


def read(repo, rel):
    with open(os.path.join(repo, rel)) as f:
        return f.read()


def edit_call(path, search, replace):
    import json
    return ("<tool_call>\n" + json.dumps({"name": "edit", "arguments": {
        "path": path, "search": search, "replace": replace}}) + "\n</tool_call>")


def new_repo(name, script_turns, request="return 2 instead of 1", extra_config=""):
    repo = os.path.join(top, name)
    os.makedirs(repo)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Test")
    git(repo, "config", "user.email", "test@example.com")
    write(repo, "a.py", "def f():\n    return 1\n")
    write(repo, "b.py", "x = 1\n")
    write(repo, "c.py", "y = 1\n")
    git(repo, "add", "a.py", "b.py", "c.py")
    git(repo, "commit", "-q", "-m", "init")
    os.makedirs(os.path.join(repo, ".lcode"))
    if request is not None:
        write(repo, ".lcode/config", f'pre-commit.request = "{request}"\n{extra_config}')
    script = os.path.join(top, name + ".script")
    with open(script, "w") as f:
        f.write("\n--- turn ---\n".join(script_turns))
    p = lc(repo, "hook", "install", "--", "--model", vocab, "--script", script)
    if p.returncode:
        raise RuntimeError(f"hook install: {p.stderr}")
    return repo


# 1. The agent's edit of a staged file goes into the commit; the index follows.
repo = new_repo("stage", [edit_call("a.py", "    return 1\n", "    return 2\n"), "Done."])
hook = os.path.join(repo, ".git", "hooks", "pre-commit")
check("hook install writes an executable hook",
      os.path.exists(hook) and os.stat(hook).st_mode & stat.S_IXUSR)
check("the hook runs 'lcode pre-commit'", "pre-commit" in open(hook).read())
write(repo, "a.py", "def f():\n    return 1\n\n# staged\n")
git(repo, "add", "a.py")
p = git(repo, "commit", "-m", "change a", check_rc=False)
check("git commit with the hook succeeds", p.returncode == 0, p.stderr)
committed = git(repo, "show", "HEAD:a.py").stdout
check("the agent's edit is in the commit", committed == "def f():\n    return 2\n\n# staged\n",
      repr(committed))
st = git(repo, "status", "--porcelain", "--untracked-files=no").stdout
check("nothing is left staged or unstaged after the commit", st == "", repr(st))
check("the commit's subject is the user's", git(repo, "log", "-1", "--format=%s").stdout.strip()
      == "change a")

# 2. A staged file with unstaged changes is skipped; its unstaged bytes survive.
repo = new_repo("skip", [edit_call("a.py", "    return 1\n", "    return 2\n"), "Done."])
write(repo, "a.py", "def f():\n    return 1\n\n# staged\n")
git(repo, "add", "a.py")
write(repo, "a.py", "def f():\n    return 1\n\n# staged\n# unstaged, keep me\n")
write(repo, "b.py", "x = 2\n")
git(repo, "add", "b.py")
p = git(repo, "commit", "-m", "skip a", check_rc=False)
check("skip: the commit goes on", p.returncode == 0, p.stderr)
check("skip: a.py is named as skipped", "skipped 'a.py'" in p.stderr, p.stderr)
check("skip: a.py is committed as the user staged it",
      git(repo, "show", "HEAD:a.py").stdout == "def f():\n    return 1\n\n# staged\n")
check("skip: the unstaged bytes of a.py survive",
      read(repo, "a.py") == "def f():\n    return 1\n\n# staged\n# unstaged, keep me\n",
      repr(read(repo, "a.py")))
check("skip: the edit of the skipped file is refused",
      "is not among the files this run may change" in p.stderr, p.stderr)

# 3. A request that does not finish stops the commit and leaves every file as it was.
turns = [edit_call("b.py", "x = 2\n", "x = 3\n")] * 3
repo = new_repo("fail", turns, extra_config="max-steps = 2\n")
write(repo, "b.py", "x = 2\n")
git(repo, "add", "b.py")
index_before = git(repo, "diff", "--cached").stdout
head_before = git(repo, "rev-parse", "HEAD").stdout
p = git(repo, "commit", "-m", "fail", check_rc=False)
check("fail: git commit exits non-zero", p.returncode != 0, p.stderr)
check("fail: the reason is given", "did not finish" in p.stderr, p.stderr)
check("fail: the agent had edited b.py, and that was undone",
      "ok edited b.py" in p.stderr and "changes were undone" in p.stderr, p.stderr)
check("fail: no commit was made", git(repo, "rev-parse", "HEAD").stdout == head_before)
check("fail: b.py is back byte for byte", read(repo, "b.py") == "x = 2\n", repr(read(repo, "b.py")))
check("fail: the index is as it was", git(repo, "diff", "--cached").stdout == index_before)
check("fail: a.py untouched", read(repo, "a.py") == "def f():\n    return 1\n")

# 4. An edit to a file that is not staged is refused; the staged one is still done.
turns = [edit_call("c.py", "y = 1\n", "y = 2\n"), edit_call("b.py", "x = 2\n", "x = 3\n"), "Done."]
repo = new_repo("refuse", turns)
write(repo, "b.py", "x = 2\n")
git(repo, "add", "b.py")
p = git(repo, "commit", "-m", "refuse", check_rc=False)
check("refuse: the commit goes on", p.returncode == 0, p.stderr)
check("refuse: the edit of c.py is refused",
      "'c.py' is not among the files this run may change" in p.stderr, p.stderr)
check("refuse: c.py unchanged", read(repo, "c.py") == "y = 1\n")
check("refuse: b.py's edit is committed", git(repo, "show", "HEAD:b.py").stdout == "x = 3\n")

# 5. No request configured: the commit is stopped with a reason.
repo = new_repo("norequest", ["Done."], request=None)
write(repo, "b.py", "x = 2\n")
git(repo, "add", "b.py")
p = git(repo, "commit", "-m", "no request", check_rc=False)
check("no request: git commit exits non-zero", p.returncode != 0)
check("no request: the message names pre-commit.request", "pre-commit.request" in p.stderr,
      p.stderr)

# 6. hook install leaves a foreign hook alone unless --force; uninstall removes only lcode's.
write(repo, ".git/hooks/pre-commit", "#!/bin/sh\nexit 0\n")
p = lc(repo, "hook", "install")
check("install refuses a foreign hook", p.returncode == 1 and "--force" in p.stderr, p.stderr)
check("the foreign hook is kept", read(repo, ".git/hooks/pre-commit") == "#!/bin/sh\nexit 0\n")
p = lc(repo, "hook", "uninstall")
check("uninstall refuses a foreign hook", p.returncode == 1)
p = lc(repo, "hook", "install", "--force")
check("install --force replaces it", p.returncode == 0 and "lcode" in read(repo, ".git/hooks/pre-commit"))
p = lc(repo, "hook", "uninstall")
check("uninstall removes lcode's hook",
      p.returncode == 0 and not os.path.exists(os.path.join(repo, ".git/hooks/pre-commit")))

print(f"1..{len(results)}")
for i, (name, ok, detail) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    if not ok and detail:
        for line in str(detail).splitlines()[:20]:
            print(f"# {line}")
shutil.rmtree(top, ignore_errors=True)
