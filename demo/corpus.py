#!/usr/bin/env python3
"""Generate the demo model's corpus: synthetic lcode sessions, rendered as lcode renders them.

usage: corpus.py --lcode PATH --out DIR [--train N] [--heldout N] [--seed S] [-j N]
                 [--mix even|copy] [--pre-commit-share F]

Writes DIR/system.txt (the system turn, taken from lcode itself with
--dump-prompt, so the system prompt, tool list and ReAct instructions are
byte for byte what lcode shows the model at run time), DIR/train.jsonl (one
rendered session per line: {"kind", "text"}) and DIR/heldout.jsonl (tasks
for evaluation, never rendered into training: {"kind", "files", "request",
"expected", "answer_must", "needs_shell"}), and DIR/corpus.json (the options
that made it, which train.py records in the model). Training and held-out tasks come
from different random streams, and a held-out task whose request or files
equal a training task's is dropped.
"""
import argparse
import hashlib
import json
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import tasks  # noqa: E402
import vocab  # noqa: E402
from gguf_writer import GGUFWriter  # noqa: E402

# 1: the first corpus. 2: the explain answer quotes the docstring.
CORPUS_VERSION = 2

# The kinds of the training sessions, cycled through in order (--mix). "even":
# one of each. "copy": three each of the kinds whose decisive tokens are copied
# from the request or a tool's output (a new name, a docstring's text, an
# answer read from a file), the hard ones for a small model, and one each of
# the other two.
MIXES = {
    "even": sorted(tasks.KINDS),
    "copy": ["docstring"] * 3 + ["explain"] * 3 + ["rename"] * 3 + ["run_tests", "unused_import"],
}


def write_vocab_gguf(path, v, n_ctx=2048):
    """A tokenizer-only GGUF: enough for lcode's scripted backend."""
    w = GGUFWriter(version=3, alignment=32)
    w.add_string("general.architecture", "qwen2")
    w.add_string("general.name", "lcode-demo")
    w.add_u32("qwen2.context_length", n_ctx)
    vocab.add_to_gguf(w, v, n_ctx)
    w.write(path)


def bootstrap_vocab():
    """Bytes, the specials and one merge: a vocabulary lcode accepts, for rendering."""
    b2u = vocab.bytes_to_unicode()
    tokens = [b2u[b] for b in range(256)] + ["ab"] + vocab.SPECIALS
    types = [1] * 257 + [3] * len(vocab.SPECIALS)
    return vocab.Vocab(tokens, types, ["a b"])


def git_repo(files, root):
    for p, text in files.items():
        full = os.path.join(root, p)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)
    env = dict(os.environ, GIT_AUTHOR_NAME="demo", GIT_AUTHOR_EMAIL="demo@example.com",
               GIT_COMMITTER_NAME="demo", GIT_COMMITTER_EMAIL="demo@example.com")
    for cmd in (["git", "init", "-q"], ["git", "config", "user.name", "demo"],
                ["git", "config", "user.email", "demo@example.com"],
                ["git", "add", "-A"], ["git", "commit", "-qm", "init"]):
        subprocess.run(cmd, cwd=root, check=True, env=env, capture_output=True)


def system_block(lcode, model):
    """The system turn as lcode renders it for this model."""
    with tempfile.TemporaryDirectory() as d:
        repo = os.path.join(d, "repo")
        os.makedirs(repo)
        git_repo({"README.md": "demo\n"}, repo)
        script = os.path.join(d, "script")
        with open(script, "w") as f:
            f.write("ok")
        dump = os.path.join(d, "dump")
        subprocess.run([lcode, "--model", model, "--script", script, "-m", "x",
                        "--dump-prompt", dump, "--no-commit"], cwd=repo, check=True,
                       capture_output=True)
        text = open(dump).read()
    return text[:text.index("<|im_start|>user\n")]


def train_task(args):
    """Training task i: its own random stream, so the corpus does not depend on -j."""
    seed, i, system, mix, pre_commit_share = args
    t = tasks.make_task(random.Random(seed * 1_000_003 + i), mix[i % len(mix)])
    # Some edit requests arrive as the pre-commit hook words them, over the
    # files the task changes (its own stream, so the tasks stay as they were).
    if t.expected and pre_commit_share > 0 and \
            random.Random(seed * 1_000_033 + i).random() < pre_commit_share:
        t.request = tasks.pre_commit_request(t.request, sorted(t.expected))
    return digest(t), json.dumps({"kind": t.kind, "text": tasks.render_session(system, t)})


def digest(task):
    return hashlib.sha256(json.dumps([task.request, task.files], sort_keys=True)
                          .encode()).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lcode", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--train", type=int, default=20000)
    ap.add_argument("--heldout", type=int, default=150)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--mix", choices=sorted(MIXES), default="even",
                    help="the kinds of the training sessions (default even)")
    ap.add_argument("--pre-commit-share", type=float, default=0.0,
                    help="the share of file-changing sessions whose request is worded "
                    "as lcode pre-commit words it (default 0)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    boot = os.path.join(a.out, "bootstrap-vocab.gguf")
    write_vocab_gguf(boot, bootstrap_vocab())
    system = system_block(a.lcode, boot)
    with open(os.path.join(a.out, "system.txt"), "w") as f:
        f.write(system)

    kinds = sorted(tasks.KINDS)
    seen = set()
    with open(os.path.join(a.out, "train.jsonl"), "w") as f, \
            multiprocessing.Pool(a.jobs) as pool:
        work = ((a.seed, i, system, MIXES[a.mix], a.pre_commit_share)
                for i in range(a.train))
        for d, line in pool.imap(train_task, work, chunksize=64):
            seen.add(d)
            f.write(line + "\n")
    rng = random.Random(10_000_019 + a.seed)
    kept = 0
    with open(os.path.join(a.out, "heldout.jsonl"), "w") as f:
        while kept < a.heldout:
            t = tasks.make_task(rng, kinds[kept % len(kinds)])
            if digest(t) in seen:
                continue
            f.write(json.dumps({"kind": t.kind, "files": t.files, "request": t.request,
                                "expected": t.expected, "answer_must": t.answer_must,
                                "needs_shell": t.needs_shell, "turns": t.turns}) + "\n")
            kept += 1
    with open(os.path.join(a.out, "corpus.json"), "w") as f:
        json.dump({"version": CORPUS_VERSION, "seed": a.seed, "train": a.train,
                   "mix": a.mix, "pre_commit_share": a.pre_commit_share}, f)
    print("corpus v%d: %d training sessions, %d held-out tasks in %s" % (
        CORPUS_VERSION, a.train, kept, a.out))


if __name__ == "__main__":
    main()
