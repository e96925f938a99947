#!/usr/bin/env python3
"""TAP test of `lcode generate` and `lcode perplexity` on a tiny random model.

    test_gen_ppl.py LCODE

The model is written by make_model.py (llama, F32 weights, n_embd 64, the tiny
byte-level vocabulary with <|endoftext|> = 264 as BOS and EOS, add_bos true).
The reference is ref_forward.py (NumPy, float64, written from the papers),
run with ggml=True so that it rounds keys and values to binary16 as lcode's
KV cache does; the rest of the difference is f32 summation order. For F32
weights tests/test_model.py holds lcode's logits within TOL = 2e-3 * std of
the reference's logits; the bounds below are derived from that.

generate:
  - the same seed gives the same text; seeds 1 and 2 at temperature 1 (top-k,
    top-p and min-p off) give different texts;
  - --temp 0 prints the prompt followed by the pieces of the reference's
    greedy tokens, up to its first end-of-generation token;
  - standard error has the prefill and decode lines with their token counts
    and a tokens/s figure.

perplexity, llama.cpp's llama-perplexity method (tools/perplexity/
perplexity.cpp, perplexity()): the text is tokenized once with BOS; it is cut
into K = floor(n_tokens / n_ctx) windows w_k = t[k n_ctx : (k + 1) n_ctx]
(the rest dropped), w_k[0] replaced by BOS; each window is evaluated from an
empty cache and only its second half is scored:

    nll_{k,j} = -log softmax(logits_k[j])[w_k[j + 1]],  n_ctx/2 <= j < n_ctx - 1
    N = K (n_ctx - 1 - n_ctx/2),   mu = (1/N) sum nll,   PPL = exp(mu)
    SE = PPL * sqrt((mean(nll^2) - mu^2) / (N - 1))

Bounds: |d logit| <= TOL * std(logits) = e gives |d nll| <= 2e = delta (the
log-sum-exp moves by at most e); so |d ln PPL| <= delta, and the standard
deviation of the nll moves by at most delta (Minkowski), so
|d SE| <= (PPL (e^delta - 1) sd + PPL e^delta delta) / sqrt(N - 1). The
printed values are rounded to 4 and 5 decimals. The test also checks that
these bounds are tight enough to tell the method from two near variants
(scoring every position; not putting BOS first in later windows).

A text shorter than 2 * n_ctx tokens is refused, as llama-perplexity refuses
it ("you need at least 2*n_ctx tokens").
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import math  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_writer  # noqa: E402
import make_model  # noqa: E402
import ref_forward  # noqa: E402

TOL_F32 = 2e-3  # tests/test_model.py, F32 weights
BOS = 264        # make_model's tiny vocabulary: <|endoftext|>
N_CTX = 32
# Letters that take part in no merge of the tiny vocabulary, so that a text
# of these is one token per byte (checked below with lcode tokenize).
ALPHABET = b"bcdfgkmpqsuvwxyz"

results = []


def check(name, cond, detail=""):
    results.append((name, bool(cond), detail))


def run(lcode, *args):
    return subprocess.run([lcode, *args], capture_output=True, timeout=300)


def pieces(path):
    """Token id -> bytes, from the model's own tokenizer.ggml.tokens (GPT-2 byte map)."""
    u2b = {c: b for b, c in make_model.bytes_to_unicode().items()}
    toks = gguf_writer.read_gguf(path).metadata["tokenizer.ggml.tokens"]
    return [bytes(u2b[c] for c in t) if all(c in u2b for c in t) else b"" for t in toks]


def tokenize(lcode, model, text):
    r = run(lcode, "tokenize", "--model", model, "--bos", text)
    if r.returncode != 0:
        raise RuntimeError("lcode tokenize: " + r.stderr.decode())
    return [int(x) for x in r.stdout.split()]


def test_generate(lcode, model, ref, piece):
    prompt = "xyzzy"
    ids = tokenize(lcode, model, prompt)
    check("the prompt is BOS and one token per byte", ids == [BOS] + list(prompt.encode()),
          repr(ids))
    n = 24
    sampled = ["--temp", "1", "--top-k", "0", "--top-p", "1", "--min-p", "0", "-n", str(n)]

    a = run(lcode, "generate", "-m", model, "-p", prompt, "--seed", "7", *sampled)
    b = run(lcode, "generate", "-m", model, "-p", prompt, "--seed", "7", *sampled)
    check("generate at temperature 1 runs", a.returncode == 0 and b.returncode == 0,
          (a.stderr + b.stderr).decode())
    check("the same seed gives the same text", a.stdout == b.stdout and len(a.stdout) > 6,
          repr((a.stdout, b.stdout)))
    s1 = run(lcode, "generate", "-m", model, "-p", prompt, "--seed", "1", *sampled)
    s2 = run(lcode, "generate", "-m", model, "-p", prompt, "--seed", "2", *sampled)
    check("seeds 1 and 2 give different texts",
          s1.returncode == 0 and s2.returncode == 0 and s1.stdout != s2.stdout,
          repr((s1.stdout, s2.stdout)))

    g = run(lcode, "generate", "-m", model, "-p", prompt, "--temp", "0", "-n", str(n))
    want, margins = ref_forward.greedy(ref, ids, n, ggml=True)
    cut = want.index(BOS) if BOS in want else n  # BOS is also EOS: generation stops
    logit_spread = float(ref_forward.forward(ref, ids + want[:cut]).std())
    # The reference's choices are clear: no step is a tie that TOL could flip.
    check("the reference's greedy choices are clear (margin > 2 TOL std)",
          min(margins[:min(cut + 1, n)]) > 2 * TOL_F32 * logit_spread,
          "smallest margin %.4g, 2 TOL std %.4g" % (min(margins[:min(cut + 1, n)]),
                                                     2 * TOL_F32 * logit_spread))
    text = prompt.encode() + b"".join(piece[t] for t in want[:cut]) + b"\n"
    check("--temp 0 prints the prompt and the reference's greedy tokens",
          g.returncode == 0 and g.stdout == text,
          "lcode %r\n# want  %r (tokens %s)" % (g.stdout, text, want))

    err = g.stderr.decode()
    m = re.search(r"prefill (\d+) tokens in [\d.]+ s \(([\d.]+) tokens/s\)", err)
    check("stderr has the prefill tokens/s line",
          m is not None and int(m.group(1)) == len(ids) and float(m.group(2)) > 0, err)
    m = re.search(r"generated (\d+) tokens; decode (\d+) tokens in [\d.]+ s "
                  r"\(([\d.]+) tokens/s\)", err)
    # Each generated token is evaluated except the last of -n N (nothing follows
    # it); a stop at EOS evaluated every token before it.
    n_eval = cut if cut < n else n - 1
    check("stderr has the decode tokens/s line",
          m is not None and int(m.group(1)) == cut and int(m.group(2)) == n_eval
          and float(m.group(3)) > 0, err)

    r = run(lcode, "generate", "-p", prompt)
    check("generate without --model is a usage error (2)", r.returncode == 2, r.stderr.decode())


def ref_perplexity(ref, ids, n_ctx, score_all=False, bos_first=True):
    """llama-perplexity's windows over ids (BOS already first): (PPL, SE, running, N, delta)."""
    nll, running, delta = [], [], 0.0
    first = 0 if score_all else n_ctx // 2
    for k in range(len(ids) // n_ctx):
        w = list(ids[k * n_ctx:(k + 1) * n_ctx])
        if bos_first:
            w[0] = BOS
        lg = ref_forward.forward(ref, w, ggml=True)
        delta = max(delta, 2 * TOL_F32 * float(lg.std()))
        for j in range(first, n_ctx - 1):
            z = lg[j] - lg[j].max()
            nll.append(math.log(np.exp(z).sum()) - z[w[j + 1]])
        running.append(math.exp(sum(nll) / len(nll)))
    a = np.array(nll)
    mu, n = a.mean(), len(a)
    ppl = math.exp(mu)
    se = ppl * math.sqrt((np.mean(a * a) - mu * mu) / (n - 1))
    return ppl, se, running, n, delta, float(a.std())


def test_perplexity(lcode, model, ref, tmp):
    rng = np.random.default_rng(42)
    n_bytes = 3 * N_CTX + 6  # with BOS: 3 windows and 7 tokens left over
    text = bytes(ALPHABET[i] for i in rng.integers(0, len(ALPHABET), n_bytes))
    ids = tokenize(lcode, model, text.decode())
    check("the text is BOS and one token per byte", ids == [BOS] + list(text), repr(ids[:8]))
    path = os.path.join(tmp, "text.txt")
    with open(path, "wb") as f:
        f.write(text)

    r = run(lcode, "perplexity", "-m", model, "-f", path, "--ctx", str(N_CTX))
    out, err = r.stdout.decode(), r.stderr.decode()
    check("perplexity runs", r.returncode == 0, err)
    ppl, se, running, n, delta, sd = ref_perplexity(ref, ids, N_CTX)
    check("perplexity uses 3 windows of %d" % N_CTX,
          "%d tokens, 3 windows of %d" % (len(ids), N_CTX) in err, err)
    m = re.search(r"Final estimate: PPL = ([\d.]+) \+/- ([\d.]+)", out)
    got_ppl, got_se = (float(m.group(1)), float(m.group(2))) if m else (float("nan"),) * 2
    d_ppl = abs(math.log(got_ppl) - math.log(ppl)) if m else float("inf")
    bound_ppl = delta + 5e-5 / ppl
    check("PPL agrees with the NumPy windows (|d ln PPL| <= delta)", d_ppl <= bound_ppl,
          "lcode %s, reference %.6f, |d ln PPL| %.3g, bound %.3g" % (
              m and m.group(1), ppl, d_ppl, bound_ppl))
    bound_se = (ppl * math.expm1(delta) * sd + ppl * math.exp(delta) * delta) / \
        math.sqrt(n - 1) + 5e-6
    check("standard error agrees with the NumPy windows", abs(got_se - se) <= bound_se,
          "lcode %s, reference %.6f, |d| %.3g, bound %.3g" % (
              m and m.group(2), se, abs(got_se - se), bound_se))
    run_got = [float(x) for x in re.findall(r"\[\d+\]([\d.]+)", out)]
    check("running estimates per window agree",
          len(run_got) == 3 and all(abs(math.log(g) - math.log(w)) <= bound_ppl
                                    for g, w in zip(run_got, running)),
          "lcode %s, reference %s" % (run_got, ["%.4f" % x for x in running]))
    # The bounds can tell the method from its near variants.
    for what, kw in (("scoring every position", dict(score_all=True)),
                     ("keeping each window's first token", dict(bos_first=False))):
        alt = ref_perplexity(ref, ids, N_CTX, **kw)[0]
        check("the PPL bound tells the method from %s" % what,
              abs(math.log(alt) - math.log(ppl)) > 2 * bound_ppl,
              "variant %.6f, method %.6f, bound %.3g" % (alt, ppl, bound_ppl))

    # Exactly 2 n_ctx tokens (BOS + 2 n_ctx - 1 bytes) is enough; one fewer is not.
    for n_tok, ok in ((2 * N_CTX, True), (2 * N_CTX - 1, False)):
        with open(path, "wb") as f:
            f.write(text[:n_tok - 1])
        r = run(lcode, "perplexity", "-m", model, "-f", path, "--ctx", str(N_CTX))
        err = r.stderr.decode()
        if ok:
            check("a text of 2 n_ctx tokens is accepted (2 windows)",
                  r.returncode == 0 and "2 windows of %d" % N_CTX in err, err)
        else:
            check("a text of 2 n_ctx - 1 tokens is refused, the counts named",
                  r.returncode == 1 and r.stdout == b""
                  and "has %d tokens" % n_tok in err and "needs at least %d" % (2 * N_CTX) in err,
                  "rc=%d %s" % (r.returncode, err))


def main():
    lcode = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="lc-genppl-") as tmp:
        model = os.path.join(tmp, "tiny.gguf")
        make_model.write(model, arch="llama", qtype="F32", n_embd=64, n_layer=2, n_head=4,
                         n_head_kv=2, n_ff=128, seed=3, add_bos=True)
        ref = ref_forward.load(model)
        piece = pieces(model)
        for what, fn in (("generate", lambda: test_generate(lcode, model, ref, piece)),
                         ("perplexity", lambda: test_perplexity(lcode, model, ref, tmp))):
            try:
                fn()
            except Exception as e:  # one part's crash must not hide the other's results
                check("%s tests ran" % what, False, repr(e))
    print("1..%d" % len(results))
    for i, (name, ok, detail) in enumerate(results, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
        if detail and (not ok or os.environ.get("LC_TEST_VERBOSE")):
            print("# " + str(detail).replace("\n", "\n# "))
    return 0 if all(ok for _, ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
