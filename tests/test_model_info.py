#!/usr/bin/env python3
"""`lcode model-info FILE` against files whose facts this script knows on its own.

usage: test_model_info.py LCODE      (TAP output)

A model with random quantized weights is written with tests/gguf_writer.py; the
expected numbers (parameter count, type mix, sizes) are computed here from what was
written. A file of ggml types lcode has no kernels for (IQ2_XXS, IQ4_NL, TQ1_0, sized
from ggml's ggml-common.h) is listed with those types named as unsupported, and
running such a model names the tensor and its type; type ids ggml removed or never
had are refused by name or number. The llama.cpp vocabulary files in $LC_SHARED_DATA/vocab are read with the
writer module's independent Python reader.
"""
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gguf_writer import GGUFWriter, QTYPES, QTYPE_ID, T, read_gguf, tensor_nbytes  # noqa: E402
import make_model  # noqa: E402

lcode = sys.argv[1]
results = []


def check(name, cond, detail=""):
    results.append((name, bool(cond), detail))


def run(*args):
    p = subprocess.run([lcode, "model-info", *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def fields(out):
    d = {}
    for line in out.splitlines():
        k, _, v = line.partition(":")
        d[k.strip()] = v.strip()
    return d


def count_label(n):
    """The rule lcode(1) gives: one decimal, K/M/B/T by powers of 1000."""
    for div, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= div:
            return f"{n / div:.1f}{unit}"
    return str(n)


rng = np.random.default_rng(7)
with tempfile.TemporaryDirectory() as tmp:
    # A random-weight model: shapes and types chosen here, bytes random.
    spec = ([("blk.%d.attn_q.weight" % i, [256, 8], "Q4_K") for i in range(3)] +
            [("blk.%d.ffn_down.weight" % i, [256, 4], "Q6_K") for i in range(2)] +
            [("blk.%d.attn_norm.weight" % i, [256], "F32") for i in range(4)] +
            [("token_embd.weight", [2048, 600], "Q4_0"), ("output.weight", [64, 3], "Q8_0"),
             ("rope_freqs.weight", [32], "F16")])
    w = GGUFWriter(version=3, alignment=32)
    w.add_string("general.architecture", "qwen2")
    w.add_u32("qwen2.context_length", 32768)
    w.add_string("tokenizer.ggml.model", "gpt2")
    w.add_array("tokenizer.ggml.tokens", T.STRING, ["t%d" % i for i in range(1234)])
    w.add_string("tokenizer.chat_template",
                 "{% for m in messages %}{{ '<|start_header_id|>' + m['role'] }}{% endfor %}")
    for name, ne, tname in spec:
        q = QTYPE_ID[tname]
        w.add_tensor(name, ne, q, rng.integers(0, 256, tensor_nbytes(q, ne), np.uint8))
    model = os.path.join(tmp, "model.gguf")
    w.write(model)

    params = sum(int(np.prod(ne)) for _, ne, _ in spec)
    mix = {}
    for _, _, tname in spec:
        mix[tname] = mix.get(tname, 0) + 1
    mix_s = ", ".join(f"{t}: {c}" for t, c in
                      sorted(mix.items(), key=lambda kv: (-kv[1], QTYPE_ID[kv[0]])))
    size = os.path.getsize(model)

    rc, out, err = run(model)
    f = fields(out)
    check("model: exit 0", rc == 0, f"rc={rc} err={err}")
    check("model: architecture", f.get("architecture") == "qwen2", out)
    check("model: parameter count", f.get("parameters") == f"{count_label(params)} ({params})",
          f"want {count_label(params)} ({params}), got {f.get('parameters')}")
    check("model: parameter label is in millions", count_label(params).endswith("M"))
    check("model: tensor count", f.get("tensors") == str(len(spec)), out)
    check("model: tensor types sorted by count", f.get("tensor types") == mix_s,
          f"want {mix_s!r}, got {f.get('tensor types')!r}")
    check("model: context length", f.get("context length") == "32768", out)
    check("model: vocabulary", f.get("vocabulary") == "gpt2, 1234 tokens", out)
    check("model: chat template", f.get("chat template") == "llama3", out)
    check("model: file size", f.get("file size", "").startswith(f"{size} bytes"), out)
    check("model: gguf version", f.get("gguf version") == "3", out)
    check("model: no unsupported types", f.get("unsupported") == "none", out)

    # ggml types lcode has no kernels for: listed by model-info, named when run.
    # Block sizes from ggml's src/ggml-common.h (the static_asserts): IQ2_XXS
    # 16 = 256 elements in 2 + 2*32 bytes, IQ4_NL 20 = 32 in 2 + 16, TQ1_0 34 =
    # 256 in 2 + 4 + 48.
    ggml_types = {"IQ2_XXS": (16, 256, 66), "IQ4_NL": (20, 32, 18), "TQ1_0": (34, 256, 54)}
    exotic = [("blk.0.attn_q.weight", [256, 4], "IQ2_XXS"),
              ("blk.0.attn_k.weight", [256, 2], "IQ2_XXS"),
              ("blk.0.ffn_up.weight", [64, 2], "IQ4_NL"),
              ("blk.0.ffn_down.weight", [256, 1], "TQ1_0"),
              ("blk.0.attn_norm.weight", [256], "F32")]
    def exotic_tensor(w, name, ne, tname):
        if tname not in ggml_types:
            q = QTYPE_ID[tname]
            w.add_tensor(name, ne, q, rng.integers(0, 256, tensor_nbytes(q, ne), np.uint8))
            return
        q, bs, ts = ggml_types[tname]
        # gguf_writer's size table has lcode's types only: add the tensor as is.
        w.tensors.append((name, list(ne), q, rng.integers(0, 256, int(np.prod(ne)) // bs * ts,
                                                           np.uint8).tobytes()))

    w = GGUFWriter(version=3, alignment=32)
    w.add_string("general.architecture", "llama")
    for name, ne, tname in exotic:
        exotic_tensor(w, name, ne, tname)
    iq = os.path.join(tmp, "iq.gguf")
    w.write(iq)
    rc, out, err = run(iq)
    f = fields(out)
    check("ggml types lcode cannot run: listed, exit 0",
          rc == 0 and f.get("tensor types") == "IQ2_XXS: 2, F32: 1, IQ4_NL: 1, TQ1_0: 1"
          and f.get("tensors") == "5", f"rc={rc} {out} {err}")
    check("ggml types lcode cannot run: named as such",
          f.get("unsupported") == "IQ2_XXS, IQ4_NL, TQ1_0 (lcode cannot run this file)", out)
    # A complete model (make_model.py) with its attn_q weights replaced by IQ2_XXS.
    runnable = os.path.join(tmp, "runnable.gguf")
    make_model.write(runnable, qtype="F32", n_embd=256, n_layer=1, n_head=4, n_head_kv=2,
                     n_ff=256)
    g = read_gguf(runnable)
    w = GGUFWriter(version=3, alignment=32)
    for key, val in g.metadata.items():
        if key != "general.alignment":
            vt = g.types[key]
            if isinstance(vt, tuple):
                w.add_array(key, vt[1], val)
            else:
                w.add_value(key, vt, val)
    for name in g.tensor_order:
        t = g.tensors[name]
        if name == "blk.0.attn_q.weight":
            exotic_tensor(w, name, [int(x) for x in t.ne], "IQ2_XXS")
        else:
            w.add_tensor(name, list(t.ne), t.qtype, bytes(t.data))
    w.write(runnable)
    p = subprocess.run([lcode, "generate", "--model", runnable, "-p", "x"], capture_output=True,
                       text=True, timeout=60)
    check("running it names the tensor and its type",
          p.returncode == 3 and "tensor 'blk.0.attn_q.weight' has type IQ2_XXS" in p.stderr
          and "has tensor type 16" not in p.stderr, f"rc={p.returncode} {p.stderr!r}")

    # Ids without a size: removed from ggml (31 was Q4_0_4_4), or past ggml's last.
    for tid, want in ((31, "tensor type 31 (Q4_0_4_4), which ggml removed"),
                      (4242, "tensor type 4242, unknown to lcode")):
        w = GGUFWriter(version=3, alignment=32)
        w.tensors.append(("t", [32], tid, bytes(32)))
        bad = os.path.join(tmp, "bad.gguf")
        w.write(bad)
        rc, out, err = run(bad)
        check(f"tensor type {tid}: refused with its name", rc == 3 and out == "" and want in err,
              f"rc={rc} err={err!r}")

    # Version 2, no optional keys at all.
    w = GGUFWriter(version=2)
    w.add_tensor("x", [4, 4], QTYPE_ID["F16"], bytes(32))
    v2 = os.path.join(tmp, "v2.gguf")
    w.write(v2)
    rc, out, err = run(v2)
    f = fields(out)
    check("v2: exit 0 with unknowns", rc == 0 and f.get("gguf version") == "2" and
          f.get("architecture") == "unknown" and f.get("parameters") == "16 (16)" and
          f.get("chat template") == "none" and f.get("tensor types") == "F16: 1", out + err)

    # Not usable: one line on stderr, nothing on stdout, exit 3.
    trunc = os.path.join(tmp, "trunc.gguf")
    with open(model, "rb") as src, open(trunc, "wb") as dst:
        dst.write(src.read(size - 1))
    text = os.path.join(tmp, "text.gguf")
    with open(text, "w") as t:
        t.write("not a model\n")
    for label, path in (("truncated", trunc), ("text", text),
                        ("missing", os.path.join(tmp, "nope.gguf"))):
        rc, out, err = run(path)
        check(f"{label}: exit 3 with one line", rc == 3 and out == "" and
              err.startswith("lcode: ") and err.count("\n") == 1, f"rc={rc} err={err!r}")

rc, out, err = run()
check("no FILE: usage error", rc == 2 and out == "" and "--help" in err, f"rc={rc}")
rc, out, err = run("a", "b")
check("two FILEs: usage error", rc == 2, f"rc={rc}")
rc, out, err = run("--help")
check("--help", rc == 0 and out.startswith("usage: lcode model-info"), out)

# Files written by llama.cpp.
vocab = os.path.join(os.environ.get("LC_SHARED_DATA", ""), "vocab")
files = sorted(glob.glob(os.path.join(vocab, "*.gguf")))
check("vocab files present", len(files) >= 7, vocab)
for path in files:
    g = read_gguf(path)
    arch = g.metadata["general.architecture"]
    tmpl = g.metadata.get("tokenizer.chat_template")
    fam = "none" if tmpl is None else ("chatml" if "<|im_start|>" in tmpl else "?")
    rc, out, err = run(path)
    f = fields(out)
    name = os.path.basename(path)
    want = {
        "architecture": arch,
        "context length": str(g.metadata.get(f"{arch}.context_length", "unknown")),
        "vocabulary": f"{g.metadata['tokenizer.ggml.model']}, "
                      f"{len(g.metadata['tokenizer.ggml.tokens'])} tokens",
        "chat template": fam,
        "parameters": "0 (0)",
        "file size": f"{os.path.getsize(path)} bytes",
    }
    bad = {k: (v, f.get(k)) for k, v in want.items()
           if not (f.get(k, "") == v or (k == "file size" and f.get(k, "").startswith(v)))}
    check(f"{name}: facts", rc == 0 and not bad, f"rc={rc} {bad}")

print(f"1..{len(results)}")
for i, (name, ok, detail) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    if not ok and detail:
        for line in str(detail).splitlines():
            print(f"# {line}")
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
