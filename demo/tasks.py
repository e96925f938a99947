"""Synthetic repositories, requests and expert sessions for lcode's demo model.

Each task is a small generated repository (Python or C files with realistic
identifiers), a request, and the session an expert would run through lcode:
the model's messages in lcode's ReAct format and the observations lcode's
tools give back, rendered exactly as lcode renders them for a model with the
compact prompt profile (ChatML turns, tool results in <tool_response>).

    import tasks
    t = tasks.make_task(rng, kind)      # kind: rename, docstring, unused_import,
                                        #       run_tests, explain
    t.files       {path: text}          the repository before the request
    t.request     the user's request
    t.turns       the model's messages, in order (the last one is the answer)
    t.observations  the tool results between them
    t.expected    {path: text} after a successful run (None: nothing changes)
    t.answer_must  a text the final answer must contain (None: no check)

Observation formats follow lcode's tools (tools/fs.c, tools/tool.c):
read_file numbers lines as "N| text" with N right-aligned to the width of the
file's last line number; search prints "path:line:text"; edit reports
"edited PATH: block 1 at line L (exact match): A line(s) replaced by B" and
shows the changed lines with two lines of context before and one after;
shell prints "exit status N" and the command's output. tests/test_demo_render.py
checks these against the real program byte for byte.
"""
import os
import random
import subprocess
import tempfile

VERBS = """load save parse build compute read write format render update merge split
check validate normalize convert fetch send encode decode resolve collect count filter
sort group find create delete apply scale clamp round reset flush open close lookup
register dispatch schedule compress expand hash sign verify""".split()
NOUNS = """config settings user account order invoice item price total record entry
report header token session cache buffer path file name date time message request
response payload value matrix vector score rating bucket queue event handler option
column row table index key label color shape point range limit offset window""".split()
ADJS = """raw full last first next max min new old local remote default clean""".split()
MODULES = """utils helpers models billing reports storage network parser config
inventory schedule metrics auth cache render geometry text dates""".split()
DIRS = ["", "", "src/", "app/", "lib/", "tools/"]
STDLIB = ["os", "sys", "re", "json", "math", "time", "random", "string", "shutil",
          "logging", "itertools", "functools", "collections", "textwrap"]
C_HEADERS = ["stdio.h", "stdlib.h", "string.h", "stdint.h", "math.h", "ctype.h"]
SENTENCE_VERBS = ["Return", "Compute", "Build", "Check", "Parse", "Format", "Count",
                  "Convert", "Find", "Update"]


def ident(rng, parts=2, taken=()):
    """A fresh snake_case identifier that is no substring of any taken one."""
    for _ in range(1000):
        words = [rng.choice(VERBS)] + [rng.choice(NOUNS) for _ in range(parts - 1)]
        if rng.random() < 0.2:
            words.insert(1, rng.choice(ADJS))
        name = "_".join(words)
        if all(name not in t and t not in name for t in taken):
            return name
    raise RuntimeError("no fresh identifier")


def arg_names(rng, n):
    names = rng.sample(NOUNS, n)
    return [n if n not in ("range", "hash", "round", "open", "filter") else n + "_" for n in names]


def sentence(rng, name, args):
    """A one-line docstring for a function."""
    words = name.split("_")
    obj = " ".join(words[1:])
    verb = rng.choice(SENTENCE_VERBS)
    tail = rng.choice(["", " from %s" % args[0], " for the given %s" % args[0].rstrip("_")])
    return "%s the %s%s." % (verb, obj, tail)


# --- Python files -----------------------------------------------------------

PY_BODIES = [
    ["result = {a} + {b}", "return result"],
    ["if {a} is None:", "    return {b}", "return {a}"],
    ["total = 0", "for value in {a}:", "    total += value", "return total * {b}"],
    ["return [x for x in {a} if x != {b}]"],
    ["return {{'{a}': {a}, '{b}': {b}}}"],
    ["text = str({a})", "return text.strip() + str({b})"],
    ["return max({a}, {b})"],
    ["values = list({a})", "values.append({b})", "return values"],
]


class PyFunc:
    def __init__(self, name, args, body, doc):
        self.name, self.args, self.body, self.doc = name, args, body, doc

    def lines(self):
        out = ["def %s(%s):" % (self.name, ", ".join(self.args))]
        if self.doc:
            out.append('    """%s"""' % self.doc)
        out += ["    " + line for line in self.body]
        return out


def make_py_module(rng, taken, n_funcs=None, with_doc=0.6):
    n_funcs = n_funcs or rng.randint(2, 4)
    imports = sorted(rng.sample(STDLIB, rng.randint(1, 3)))
    funcs = []
    for _ in range(n_funcs):
        name = ident(rng, rng.choice([2, 2, 3]), taken)
        taken.append(name)
        args = arg_names(rng, rng.randint(1, 2))
        if len(args) == 1:
            args.append("factor")
        template = rng.choice(PY_BODIES)
        body = [line.format(a=args[0], b=args[1]) for line in template]
        doc = sentence(rng, name, args) if rng.random() < with_doc else None
        funcs.append(PyFunc(name, args, body, doc))
    # Later functions call earlier ones, so names occur more than once.
    calls = []
    for i in range(1, len(funcs)):
        if rng.random() < 0.6:
            callee = funcs[rng.randrange(i)]
            funcs[i].body.insert(0, "%s = %s(%s)" % (
                rng.choice(["first", "base", "prepared", "previous"]),
                callee.name, ", ".join(funcs[i].args[:len(callee.args)] or ["None"])))
            calls.append(callee.name)
    return imports, funcs


def render_py(imports, funcs, main_call=None):
    lines = ["import %s" % m for m in imports] + [""]
    for f in funcs:
        lines += [""] + f.lines() + [""]
    if main_call:
        lines += ["", 'if __name__ == "__main__":', "    print(%s)" % main_call]
    while lines and lines[-1] == "":
        lines.pop()
    while lines and lines[0] == "":
        lines.pop(0)
    return "\n".join(lines) + "\n"


# --- C files ----------------------------------------------------------------

C_BODIES = [
    ["return {a} + {b};"],
    ["if ({a} < {b})", "\treturn {b};", "return {a};"],
    ["int total = 0;", "for (int i = 0; i < {a}; i++)", "\ttotal += {b};", "return total;"],
    ["return {a} * {b} - 1;"],
]


def make_c_file(rng, taken):
    headers = sorted(rng.sample(C_HEADERS, rng.randint(1, 3)))
    funcs = []
    for _ in range(rng.randint(2, 4)):
        name = ident(rng, 2, taken)
        taken.append(name)
        a, b = arg_names(rng, 2)
        body = [line.format(a=a, b=b) for line in rng.choice(C_BODIES)]
        funcs.append((name, "int %s(int %s, int %s)" % (name, a, b), body, (a, b)))
    lines = ["#include <%s>" % h for h in headers] + [""]
    for i, (name, sig, body, args) in enumerate(funcs):
        lines += ["", sig, "{"]
        if i > 0 and rng.random() < 0.6:
            callee = funcs[rng.randrange(i)][0]
            lines.append("\tint base = %s(%s, %s);" % (callee, args[0], args[1]))
            lines.append("\t(void)base;")
        lines += ["\t" + line for line in body] + ["}"]
    text = "\n".join(lines).strip("\n") + "\n"
    return text, [f[0] for f in funcs], {f[0]: f[1] for f in funcs}


# --- lcode's observation formats -------------------------------------------

def obs_read_file(text):
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        return "[empty file]\n"
    width = len(str(len(lines)))
    return "".join("%*d| %s\n" % (width, i + 1, line) for i, line in enumerate(lines))


def obs_search(files, pattern_text, path=None):
    """search for a literal identifier-like pattern (no regex metacharacters)."""
    out = []
    for p in sorted(files):
        if path and p != path:
            continue
        for i, line in enumerate(files[p].split("\n")[:-1] if files[p].endswith("\n")
                                 else files[p].split("\n")):
            if pattern_text in line:
                out.append("%s:%d:%s\n" % (p, i + 1, line))
    return "".join(out) if out else "[no matches]\n"


def obs_edit(path, new_text, line, old_count, new_count):
    head = "edited %s: block 1 at line %d (exact match): %d line%s replaced by %d\n" % (
        path, line, old_count, "" if old_count == 1 else "s", new_count)
    lines = new_text.split("\n")
    first = line - 2 if line > 2 else 1
    last = min(line + new_count + 1, first + 30)
    shown = ""
    for n in range(first, last + 1):
        if n - 1 >= len(lines) or (n - 1 == len(lines) - 1 and lines[-1] == ""):
            break
        shown += "%d| %s\n" % (n, lines[n - 1][:200])
    return head + shown


def apply_line_edit(text, old_line, new_lines):
    """Replace the one line equal to old_line by new_lines; return (text, line_no)."""
    lines = text.split("\n")
    idx = [i for i, l in enumerate(lines) if l == old_line]
    assert len(idx) == 1, (old_line, idx)
    i = idx[0]
    lines[i:i + 1] = new_lines
    return "\n".join(lines), i + 1


def block(text):
    return "<<<\n%s\n>>>\n" % text if text != "" else "<<<\n>>>\n"


def act_edit(path, search, replace):
    return "Action: edit\npath: %s\nsearch:\n%s" % (path, block(search)) + \
        "replace:\n%s" % block(replace)


class Task:
    def __init__(self, kind, files, request):
        self.kind, self.files, self.request = kind, dict(files), request
        # Tests leave __pycache__ behind; a real repository ignores it.
        self.files.setdefault(".gitignore", "__pycache__/\n")
        self.turns, self.observations = [], []
        self.expected, self.answer_must = None, None
        self.needs_shell = False


# --- the tasks --------------------------------------------------------------

def task_rename(rng):
    taken = []
    if rng.random() < 0.7:
        imports, funcs = make_py_module(rng, taken)
        # Make sure the renamed function is used somewhere else too.
        target = rng.choice(funcs)
        main_call = "%s(%s)" % (target.name, ", ".join(["1"] * len(target.args)))
        path = rng.choice(DIRS) + rng.choice(MODULES) + ".py"
        text = render_py(imports, funcs, main_call)
        name = target.name
    else:
        text, names, _ = make_c_file(rng, taken)
        path = rng.choice(DIRS) + rng.choice(MODULES) + ".c"
        name = rng.choice(names)
    new = ident(rng, 2, taken + [name])
    files = {path: text}
    t = Task("rename", files, rng.choice([
        "Rename the function %s to %s in %s." % (name, new, path),
        "rename %s to %s in %s" % (name, new, path),
        "In %s, rename %s to %s." % (path, name, new),
        "Please rename `%s` to `%s` in %s" % (name, new, path),
    ]))
    t.turns.append("Action: search\npattern: %s\npath: %s\n" % (name, path))
    t.observations.append(obs_search(files, name, path))
    cur = text
    hits = [l for l in text.split("\n") if name in l]
    for line in hits:
        new_line = line.replace(name, new)
        t.turns.append(act_edit(path, line, new_line))
        cur, at = apply_line_edit(cur, line, [new_line])
        t.observations.append(obs_edit(path, cur, at, 1, 1))
    t.turns.append("Renamed %s to %s in %s (%d place%s)." % (
        name, new, path, len(hits), "" if len(hits) == 1 else "s"))
    t.expected = {path: cur}
    return t


def task_docstring(rng):
    taken = []
    if rng.random() < 0.7:
        imports, funcs = make_py_module(rng, taken, with_doc=0.3)
        bare = [f for f in funcs if not f.doc] or funcs
        target = rng.choice(bare)
        target.doc = None
        path = rng.choice(DIRS) + rng.choice(MODULES) + ".py"
        text = render_py(imports, funcs)
        doc = sentence(rng, target.name, target.args)
        def_line = target.lines()[0]
        files = {path: text}
        t = Task("docstring", files, rng.choice([
            'Add the docstring "%s" to %s in %s.' % (doc, target.name, path),
            'add a docstring to %s in %s: "%s"' % (target.name, path, doc),
            'Give the function %s in %s the one-line docstring "%s"' % (target.name, path, doc),
        ]))
        t.turns.append("Action: search\npattern: def %s\npath: %s\n" % (target.name, path))
        t.observations.append(obs_search(files, "def " + target.name, path))
        new_lines = [def_line, '    """%s"""' % doc]
        t.turns.append(act_edit(path, def_line, "\n".join(new_lines)))
        cur, at = apply_line_edit(text, def_line, new_lines)
        t.observations.append(obs_edit(path, cur, at, 1, 2))
        t.turns.append("Added the docstring to %s in %s." % (target.name, path))
    else:
        text, names, sigs = make_c_file(rng, taken)
        path = rng.choice(DIRS) + rng.choice(MODULES) + ".c"
        name = rng.choice(names)
        doc = sentence(rng, name, ["value"])
        files = {path: text}
        t = Task("docstring", files, rng.choice([
            'Add the comment "%s" above the function %s in %s.' % (doc, name, path),
            'add a comment to %s in %s: "%s"' % (name, path, doc),
        ]))
        t.turns.append("Action: search\npattern: int %s\\(\npath: %s\n" % (name, path))
        t.observations.append(obs_search(files, "int %s(" % name, path))
        sig = sigs[name]
        new_lines = ["/* %s */" % doc, sig]
        t.turns.append(act_edit(path, sig, "\n".join(new_lines)))
        cur, at = apply_line_edit(text, sig, new_lines)
        t.observations.append(obs_edit(path, cur, at, 1, 2))
        t.turns.append("Added the comment above %s in %s." % (name, path))
    t.expected = {path: cur}
    return t


def task_unused_import(rng):
    taken = []
    imports, funcs = make_py_module(rng, taken)
    unused = rng.choice(imports)
    path = rng.choice(DIRS) + rng.choice(MODULES) + ".py"
    text = render_py(imports, funcs)
    files = {path: text}
    line = "import " + unused
    t = Task("unused_import", files, rng.choice([
        "Remove the unused import %s from %s." % (unused, path),
        "delete the unused import of %s in %s" % (unused, path),
        "%s imports %s but never uses it; remove that import." % (path, unused),
    ]))
    t.turns.append("Action: search\npattern: import %s\npath: %s\n" % (unused, path))
    t.observations.append(obs_search(files, "import " + unused, path))
    t.turns.append(act_edit(path, line, ""))
    cur, at = apply_line_edit(text, line, [])
    t.observations.append(obs_edit(path, cur, at, 1, 0))
    t.turns.append("Removed the unused import %s from %s." % (unused, path))
    t.expected = {path: cur}
    return t


def run_unittest(files):
    """Run the repository's tests the way the session does; return the observation."""
    with tempfile.TemporaryDirectory() as d:
        for p, text in files.items():
            full = os.path.join(d, p)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w") as f:
                f.write(text)
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        p = subprocess.run(["sh", "run_tests.sh"], cwd=d, capture_output=True, text=True,
                           env=env, timeout=60)
        # lcode's executor interleaves both streams on one pipe; unittest writes
        # only to stderr, so the order is the same.
        return p.returncode, "exit status %d\n%s%s" % (p.returncode, p.stdout, p.stderr)


def task_run_tests(rng):
    taken = []
    imports, funcs = make_py_module(rng, taken, n_funcs=2)
    mod = rng.choice(MODULES)
    f = funcs[0]
    tests = ["import unittest", "", "import %s" % mod, "", "",
             "class Test%s(unittest.TestCase):" % mod.capitalize()]
    n_tests = rng.randint(1, 3)
    failing = rng.random() < 0.4
    for i in range(n_tests):
        tests.append("    def test_%s_%d(self):" % (f.name, i + 1))
        bad = failing and i == n_tests - 1
        tests.append("        self.assertEqual(%d, %d)" % (i + 2, i + 2 + (1 if bad else 0)))
        tests.append("")
    tests += ["", 'if __name__ == "__main__":', "    unittest.main()"]
    files = {mod + ".py": render_py(imports, funcs),
             "test_%s.py" % mod: "\n".join(tests) + "\n",
             "run_tests.sh": "python3 -m unittest -q\n"}
    t = Task("run_tests", files, rng.choice([
        "Run the tests and tell me the result.", "run the tests", "Do the tests pass?",
        "Please run the test suite.",
    ]))
    t.needs_shell = True
    t.turns.append("Action: shell\ncommand: sh run_tests.sh\n")
    rc, obs = run_unittest(files)
    t.observations.append(obs)
    ran = [l for l in obs.split("\n") if l.startswith("Ran ")]
    summary = ran[0] if ran else "no tests ran"
    if rc == 0:
        t.turns.append("The tests pass (%s)." % summary)
        t.answer_must = "pass"
    else:
        last = [l for l in obs.split("\n") if l.startswith("FAILED")]
        t.turns.append("The tests fail (%s, %s)." % (summary, last[0] if last else "FAILED"))
        t.answer_must = "fail"
    return t


def task_explain(rng):
    taken = []
    imports, funcs = make_py_module(rng, taken, with_doc=1.0)
    target = rng.choice(funcs)
    path = rng.choice(DIRS) + rng.choice(MODULES) + ".py"
    text = render_py(imports, funcs)
    files = {path: text}
    t = Task("explain", files, rng.choice([
        "What does %s in %s do?" % (target.name, path),
        "what does the function %s do? It is in %s" % (target.name, path),
        "Explain %s from %s." % (target.name, path),
    ]))
    t.turns.append("Action: read_file\npath: %s\n" % path)
    t.observations.append(obs_read_file(text))
    # The docstring in quotes, so its first word is the token the file has
    # after its opening quotes (after ": " it would be another, " Return").
    t.turns.append('The function %s: "%s"' % (target.name, target.doc))
    t.answer_must = target.doc
    return t


def pre_commit_request(request, paths):
    """The request as `lcode pre-commit` gives it to the model over the staged
    files paths (build_request in src/cmd_pre_commit.c)."""
    return ("%s\n\nThis is a pre-commit pass over the files staged for commit. You may "
            "change only these files: %s. Do not change any other file: such edits are "
            "refused." % (request, ", ".join(paths)))


KINDS = {
    "rename": task_rename,
    "docstring": task_docstring,
    "unused_import": task_unused_import,
    "run_tests": task_run_tests,
    "explain": task_explain,
}


def make_task(rng, kind=None):
    kind = kind or rng.choice(sorted(KINDS))
    return KINDS[kind](rng)


# --- rendering: lcode's ChatML rendering of a whole session ----------------

def render_session(system_block, task):
    """The conversation as lcode renders it after the request (lc_agent_render)."""
    out = [system_block, "<|im_start|>user\n%s<|im_end|>\n" % task.request]
    for i, turn in enumerate(task.turns):
        out.append("<|im_start|>assistant\n%s<|im_end|>\n" % turn)
        if i < len(task.observations):
            out.append("<|im_start|>user\n<tool_response>\n%s\n</tool_response><|im_end|>\n"
                       % task.observations[i])
    return "".join(out)
