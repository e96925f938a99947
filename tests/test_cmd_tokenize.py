"""`lcode tokenize` against llama.cpp's tokenizer conformance data.

The expected ids are the .out lines of $LC_SHARED_DATA/vocab (made by the
models' Hugging Face tokenizers, without BOS, special tokens not parsed).
Usage: test_cmd_tokenize.py LCODE. Prints TAP.
"""
import os
import subprocess
import sys

lcode = sys.argv[1]
vocab = os.path.join(os.environ.get("LC_SHARED_DATA", "../shared/data"), "vocab")
SEP = "\n__ggml_vocab_test__\n"
results = []


def check(name, ok, detail=""):
    results.append((name, ok, detail))


def cases(name):
    with open(os.path.join(vocab, f"ggml-vocab-{name}.gguf.inp"), encoding="utf-8") as f:
        raw = f.read()
    with open(os.path.join(vocab, f"ggml-vocab-{name}.gguf.out"), encoding="utf-8") as f:
        out = [line.split() for line in f.read().split("\n")]
    texts, pos = [], 0
    while pos < len(raw):
        nxt = raw.find(SEP, pos)
        if nxt < 0:
            texts.append(raw[pos:])
            break
        texts.append(raw[pos:nxt])
        pos = nxt + len(SEP)
    return list(zip(texts, out))


# one thread for the BLAS library each lcode process loads: the test starts many
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1")


def run(*args, stdin=None):
    p = subprocess.run([lcode, "tokenize", *args], input=stdin, capture_output=True, env=ENV)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def model(name):
    return os.path.join(vocab, f"ggml-vocab-{name}.gguf")


# A case on the command line, and every fifth case of two vocabularies through stdin.
qwen = cases("qwen2")
text, want = next((t, w) for t, w in qwen if t == "Hello, world!")
rc, out, err = run("--model", model("qwen2"), text)
check("qwen2 'Hello, world!' from the command line", rc == 0 and out.split() == want,
      f"rc={rc} out={out!r} want={want} err={err!r}")

bad = []
for name in ("llama-bpe", "llama-spm"):
    for text, want in cases(name)[::5]:
        rc, out, err = run("-m", model(name), "-", stdin=text.encode("utf-8"))
        if rc != 0 or out.split() != want:
            bad.append((name, text, out, want, err))
check("llama-bpe and llama-spm cases through stdin", not bad, repr(bad[:3]))

# --pieces: one line per token, the pieces put together give the text back.
rc, out, err = run("--pieces", "-m", model("gpt-2"), "Hello world")
lines = out.rstrip("\n").split("\n")
check("--pieces prints id<TAB>piece lines",
      rc == 0 and [l.split("\t")[1] for l in lines] == ["Hello", " world"]
      and [l.split("\t")[0] for l in lines] == next(w for t, w in cases("gpt-2") if t == "Hello world"),
      repr(out))

# --bos adds BOS only for a model that asks for it: Llama 3 (128000), not GPT-2.
rc, out, err = run("--bos", "-m", model("llama-bpe"), "Hello world")
check("--bos on Llama 3 puts 128000 first", rc == 0 and out.split() == ["128000", "9906", "1917"],
      repr(out))
rc, out, err = run("--bos", "-m", model("gpt-2"), "Hello world")
check("--bos on GPT-2 adds nothing", rc == 0 and out.split() == ["15496", "995"], repr(out))

# --special: Qwen2's <|im_start|> is 151644 (tokenizer_config.json).
rc, out, err = run("--special", "-m", model("qwen2"), "<|im_start|>")
check("--special reads <|im_start|> as one id", rc == 0 and out.split() == ["151644"], repr(out))
rc, out, err = run("-m", model("qwen2"), "<|im_start|>")
check("without --special it is text", rc == 0 and len(out.split()) > 1, repr(out))

# Errors and exit statuses.
rc, out, err = run("-m", "/nonexistent/model.gguf", "x")
check("a missing model file exits 3", rc == 3 and err.startswith("lcode: "), repr(err))
rc, out, err = run("x")
check("no --model is a usage error", rc == 2, repr(err))
rc, out, err = run("--help")
check("--help exits 0", rc == 0 and "--special" in out, repr(out))

print(f"1..{len(results)}")
for i, (name, ok, detail) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    if not ok:
        print(f"# {detail}")
