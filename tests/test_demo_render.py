#!/usr/bin/env python3
"""The demo model's training renderer and lcode agree byte for byte.

usage: test_demo_render.py LCODE      (TAP output)

demo/tasks.py renders synthetic sessions the way the demo model is trained on
them. Here each of a set of tasks is run for real: a git repository with the
task's files, lcode with a script speaking the expert's turns (--script), the
real tools producing the observations, and --dump-prompt writing what the
model saw. That text must equal the training renderer's, byte for byte. The
system turn must also equal demo/system.txt, the one the committed demo
model was trained with: a change to the compact prompt profile that would
leave the model prompted differently from its training fails here.
"""
import os
import random
import re
import subprocess
import sys
import tempfile

SRC = os.environ.get("LC_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(SRC, "demo"))
sys.path.insert(0, os.path.join(SRC, "tests"))
import corpus  # noqa: E402
import gguf_writer  # noqa: E402
import positions  # noqa: E402
import tasks  # noqa: E402
import vocab  # noqa: E402

lcode = os.path.abspath(sys.argv[1])
results = []


def check(name, ok, detail=""):
    results.append((name, bool(ok), detail))


def first_difference(a, b):
    n = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
    return "at byte %d: lcode %r, renderer %r" % (n, a[max(0, n - 40):n + 40],
                                                   b[max(0, n - 40):n + 40])


with tempfile.TemporaryDirectory() as d:
    vocab_gguf = os.path.join(d, "vocab.gguf")
    corpus.write_vocab_gguf(vocab_gguf, corpus.bootstrap_vocab())
    rng = random.Random(20261122)
    kinds = sorted(tasks.KINDS)
    system = None
    for i in range(2 * len(kinds)):
        t = tasks.make_task(rng, kinds[i % len(kinds)])
        repo = os.path.join(d, "repo%d" % i)
        os.makedirs(repo)
        corpus.git_repo(t.files, repo)
        script = os.path.join(d, "script%d" % i)
        with open(script, "w") as f:
            f.write("\n--- turn ---\n".join(t.turns))
        dump = os.path.join(d, "dump%d" % i)
        p = subprocess.run([lcode, "--model", vocab_gguf, "--script", script, "-m", t.request,
                            "--approval", "full-auto", "--no-sandbox", "--dump-prompt", dump],
                           cwd=repo, capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            check("%s task %d runs" % (t.kind, i), False, p.stderr.strip()[-300:])
            continue
        got = open(dump).read()
        system = got[:got.index("<|im_start|>user\n")]
        want = tasks.render_session(system, t)
        # unittest reports its own run time, and a failure's traceback the
        # directory the tests ran in; those may differ.
        got, want = (re.sub(r'tests? in \d+\.\d+s', "tests in Ns",
                            re.sub(r'File "[^"]*/', 'File "', x)) for x in (got, want))
        check("%s task %d: lcode renders what the training renderer renders" % (t.kind, i),
              got == want, "" if got == want else first_difference(got, want))
        if t.expected:
            same = all(open(os.path.join(repo, p)).read() == text
                       for p, text in t.expected.items())
            check("%s task %d: the repository ends as expected" % (t.kind, i), same)
    # The pre-commit hook words the request itself (src/cmd_pre_commit.c); the
    # corpus's pre-commit sessions must carry that wording. The task's file is
    # staged over an empty committed one, so it is the file the hook runs on.
    for kind in ("rename", "docstring", "unused_import"):
        t = tasks.make_task(rng, kind)
        configured = t.request
        t.request = tasks.pre_commit_request(configured, sorted(t.expected))
        repo = os.path.join(d, "pre-commit-" + kind)
        corpus.git_repo(dict(t.files, **{p: "" for p in t.expected}), repo)
        for p, text in t.files.items():
            with open(os.path.join(repo, p), "w") as f:
                f.write(text)
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
        os.makedirs(os.path.join(repo, ".lcode"))
        with open(os.path.join(repo, ".lcode", "config"), "w") as f:
            f.write('pre-commit.request = "%s"\n' % configured.replace("\\", "\\\\")
                    .replace('"', '\\"'))
        script = os.path.join(d, "script-pre-commit-" + kind)
        with open(script, "w") as f:
            f.write("\n--- turn ---\n".join(t.turns))
        dump = os.path.join(d, "dump-pre-commit-" + kind)
        p = subprocess.run([lcode, "pre-commit", "--model", vocab_gguf, "--script", script,
                            "--dump-prompt", dump], cwd=repo, capture_output=True, text=True,
                           timeout=120)
        if p.returncode != 0 or not os.path.exists(dump):
            check("pre-commit %s task runs" % kind, False, p.stderr.strip()[-300:])
            continue
        got = open(dump).read()
        want = tasks.render_session(got[:got.index("<|im_start|>user\n")], t)
        check("pre-commit %s task: lcode renders what the training renderer renders" % kind,
              got == want, "" if got == want else first_difference(got, want))
    # With split_leads, the vocabulary learnt from rendered sessions never
    # joins a word to the character before it, except "_" (demo/vocab.py).
    import regex
    v = vocab.train([tasks.render_session(system or "", tasks.make_task(rng, k))
                     for k in sorted(tasks.KINDS) for _ in range(4)], 600, split_leads=True)
    b2u = {c: b for b, c in vocab.bytes_to_unicode().items()}
    text = [bytes(b2u[c] for c in tok).decode("utf-8", "replace")
            for tok, ty in zip(v.tokens, v.types) if ty == 1]
    joined = [x for x in text if regex.fullmatch(r"[^\p{L}\p{N}_]+\p{L}.*", x)]
    check("split_leads: the vocabulary joins no word to what leads it (%d tokens)" % len(text),
          len(text) > 300 and not joined, "joined: %r" % joined[:10])
    # copy_positions (train.py --copy-weight), on ids worked by hand: of the
    # model's tokens (the last five), only the 2 after 8 is a token seen before
    # (at 1) whose pair with the token before it, (8, 2), has not been; 8 is not
    # content, 3 follows 2 as before, 4 has not been seen.
    got = positions.copy_positions([1, 2, 3, 9, 8, 2, 3, 8, 4], [0, 0, 0, 0, 1, 1, 1, 1, 1],
                                   {1, 2, 3, 4})
    check("copy_positions: marks only the seen token after a new pair (hand-worked)",
          list(got) == [0, 0, 0, 0, 0, 1, 0, 0, 0], str(list(got)))
    # On a rendered rename, with the committed model's vocabulary: the first
    # token of the name the search copies from the request is marked.
    trained = os.path.join(SRC, "demo", "system.txt")
    model = os.path.join(SRC, "demo", "lcode-demo.gguf")
    if os.path.exists(model) and os.path.exists(trained):
        def tokenize(text):
            out = subprocess.run([lcode, "tokenize", "--model", model, "--special", "-"],
                                 input=text, capture_output=True, text=True, check=True)
            return [int(x) for x in out.stdout.split()]
        meta = gguf_writer.read_gguf(model).metadata
        content = positions.content_ids(meta["tokenizer.ggml.tokens"],
                                        meta["tokenizer.ggml.token_type"])
        t = tasks.make_task(random.Random(910101), "rename")
        text = tasks.render_session(open(trained).read(), t)
        ids = tokenize(text)
        header = tokenize("<|im_start|>assistant\n")
        im_end, = tokenize("<|im_end|>")
        own = positions.loss_mask(ids, header, im_end)
        marks = positions.copy_positions(ids, own, content)
        at = len(tokenize(text[:text.index("pattern:") + len("pattern:")]))
        check("copy_positions: the first token of the name a rename searches for is marked "
              "(%r, %.1f %% of the model's tokens marked)" % (
                  meta["tokenizer.ggml.tokens"][ids[at]], 100.0 * marks.sum() / own.sum()),
              marks[at] == 1 and 0 < marks.sum() < own.sum() / 3)
    if system is not None and os.path.exists(trained):
        check("the system turn is the one the demo model was trained with",
              system == open(trained).read())

print("1..%d" % len(results))
for i, (name, ok, detail) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
    if not ok and detail:
        print("# " + detail.replace("\n", "\n# "))
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
