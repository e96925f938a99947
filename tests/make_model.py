#!/usr/bin/env python3
"""Write random-weight GGUF models for lcode's forward-pass tests.

    import make_model
    make_model.write(path, arch="llama", qtype="Q4_K", tied=False, rope_freqs=False,
                     n_embd=256, n_layer=2, n_head=4, n_head_kv=2, n_ff=512,
                     head_dim=None, n_ctx=512, seed=0, vocab=None, random_blocks=False,
                     add_bos=False, rope_base=10000.0, eps=1e-5, rope_scaling=None,
                     rope_scaling_factor=1.0, embd_std=1.0)

arch: "llama", "qwen2" (Q/K/V biases) or "qwen3" (attn_q_norm / attn_k_norm,
head_dim may differ from n_embd / n_head through <arch>.attention.key_length).
qtype: the type of every 2-D weight (token_embd, output, attn_*, ffn_*), by
name: F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K Q4_K Q5_K Q6_K. As
llama.cpp's llama-quant.cpp does, a K type on a tensor whose rows are not a
multiple of 256 falls back to another type (Q4_K -> Q5_0, Q5_K -> Q5_1,
Q6_K -> Q8_0, Q2_K/Q3_K -> IQ4_NL in llama.cpp, which lcode does not have:
Q4_0 here), and to F16 when that type's block does not divide the row either.
1-D tensors (norms, biases, rope_freqs) are F32, as llama.cpp's converter
writes them.

Hyperparameters written to the metadata: <arch>.rope.freq_base (rope_base),
<arch>.attention.layer_norm_rms_epsilon (eps) and, with rope_scaling="linear",
<arch>.rope.scaling.type = "linear" and <arch>.rope.scaling.factor
(rope_scaling_factor), as llama.cpp's converter writes a Hugging Face
rope_scaling {"type": "linear", "factor": F} (DeepSeek-Coder 6.7B: factor 4).

Weights are Gaussian with std 1/sqrt(fan_in) (unit-variance activations),
embeddings N(0, embd_std^2) (default 1; a small embd_std makes the first
RMSNorm's mean square comparable to eps, so that eps matters), norms 1 + N(0, 0.1^2); the output projection is scaled up
(std 4/sqrt(n_embd)) so that logits are spread and greedy choices are clear.
With random_blocks=True the quantized tensors are random valid blocks from
quants.py instead (fast, for big benchmark models).

vocab: None gives a tiny GPT-2 style byte-level vocabulary of its own (256
byte tokens, a few merges, <|endoftext|> as BOS and EOS, BOS added to a
text only with add_bos=True); or a path to a llama.cpp vocab-only
GGUF (e.g. $LC_SHARED_DATA/vocab/ggml-vocab-qwen2.gguf) whose tokenizer.*
metadata is copied.

Command line:
    make_model.py OUT.gguf [--arch A] [--qtype T] [--tied] [--rope-freqs]
        [--n-embd N] [--n-layer N] [--n-head N] [--n-head-kv N] [--n-ff N]
        [--head-dim N] [--ctx N] [--vocab FILE] [--seed S] [--random-blocks]
        [--rope-base B] [--eps E] [--rope-scaling linear --rope-scaling-factor F]
        [--embd-std S]
        [--qwen05b]     (Qwen2.5-0.5B shape: 896, 24 layers, 14/2 heads, FFN 4864,
                         tied output, rope base 1e6, eps 1e-6)
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_writer  # noqa: E402
from gguf_writer import GGUFWriter, T  # noqa: E402
import quants  # noqa: E402

QTYPE_IDS = {"F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q5_0": 6, "Q5_1": 7, "Q8_0": 8,
             "Q2_K": 10, "Q3_K": 11, "Q4_K": 12, "Q5_K": 13, "Q6_K": 14, "BF16": 30}
BLOCK = {"F32": 1, "F16": 1, "BF16": 1, "Q4_0": 32, "Q4_1": 32, "Q5_0": 32, "Q5_1": 32,
         "Q8_0": 32, "Q2_K": 256, "Q3_K": 256, "Q4_K": 256, "Q5_K": 256, "Q6_K": 256}
FALLBACK = {"Q4_K": "Q5_0", "Q5_K": "Q5_1", "Q6_K": "Q8_0", "Q2_K": "Q4_0", "Q3_K": "Q4_0"}


def tensor_type(qtype, n_cols):
    """The type a tensor with rows of n_cols gets (llama-quant.cpp's fallback)."""
    if n_cols % BLOCK[qtype] == 0:
        return qtype
    t = FALLBACK.get(qtype, "F16")
    return t if n_cols % BLOCK[t] == 0 else "F16"


def bytes_to_unicode():
    """GPT-2's byte -> printable character map (openai/gpt-2 encoder.py)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def add_tiny_vocab(w, add_bos=False):
    b2u = bytes_to_unicode()
    tokens = [b2u[b] for b in range(256)]
    merges = [("Ġ", "t"), ("h", "e"), ("i", "n"), ("Ġt", "he"), ("e", "r"), ("a", "n"),
              ("o", "n"), ("Ġ", "a")]
    tokens += [a + b for a, b in merges]
    tokens.append("<|endoftext|>")
    types = [1] * (len(tokens) - 1) + [3]
    w.add_string("tokenizer.ggml.model", "gpt2")
    w.add_string("tokenizer.ggml.pre", "default")
    w.add_array("tokenizer.ggml.tokens", T.STRING, tokens)
    w.add_array("tokenizer.ggml.token_type", T.INT32, types)
    w.add_array("tokenizer.ggml.merges", T.STRING, [a + " " + b for a, b in merges])
    w.add_u32("tokenizer.ggml.bos_token_id", len(tokens) - 1)
    w.add_u32("tokenizer.ggml.eos_token_id", len(tokens) - 1)
    w.add_bool("tokenizer.ggml.add_bos_token", add_bos)
    return len(tokens)


def copy_vocab(w, path):
    f = gguf_writer.read_gguf(path)
    n = None
    for key, val in f.metadata.items():
        if not key.startswith("tokenizer."):
            continue
        vt = f.types[key]
        if isinstance(vt, tuple):
            w.add_array(key, vt[1], val)
        else:
            w.add_value(key, vt, val)
        if key == "tokenizer.ggml.tokens":
            n = len(val)
    return n


def write(path, arch="llama", qtype="F32", tied=False, rope_freqs=False, n_embd=256, n_layer=2,
          n_head=4, n_head_kv=2, n_ff=512, head_dim=None, n_ctx=512, seed=0, vocab=None,
          random_blocks=False, rope_base=10000.0, eps=1e-5, add_bos=False, rope_scaling=None,
          rope_scaling_factor=1.0, embd_std=1.0):
    rng = np.random.default_rng(seed)
    w = GGUFWriter(version=3, alignment=32)
    w.add_string("general.architecture", arch)
    w.add_string("general.name", "lcode random %s %s" % (arch, qtype))
    w.add_u32(arch + ".block_count", n_layer)
    w.add_u32(arch + ".context_length", n_ctx)
    w.add_u32(arch + ".embedding_length", n_embd)
    w.add_u32(arch + ".feed_forward_length", n_ff)
    w.add_u32(arch + ".attention.head_count", n_head)
    w.add_u32(arch + ".attention.head_count_kv", n_head_kv)
    w.add_f32(arch + ".rope.freq_base", rope_base)
    w.add_f32(arch + ".attention.layer_norm_rms_epsilon", eps)
    if rope_scaling:
        w.add_string(arch + ".rope.scaling.type", rope_scaling)
        w.add_f32(arch + ".rope.scaling.factor", rope_scaling_factor)
    hd = head_dim or n_embd // n_head
    if head_dim:
        w.add_u32(arch + ".attention.key_length", hd)
        w.add_u32(arch + ".attention.value_length", hd)
    w.add_u32(arch + ".rope.dimension_count", hd)
    n_vocab = copy_vocab(w, vocab) if vocab else add_tiny_vocab(w, add_bos)

    def mat(name, n_in, n_out, std=None, scale=1.0):
        t = tensor_type(qtype, n_in)
        if random_blocks and BLOCK[t] > 1:
            data = quants.random_blocks(QTYPE_IDS[t], n_out * n_in // BLOCK[t], rng)
        else:
            s = std if std is not None else scale / np.sqrt(n_in)
            a = (rng.standard_normal((n_out, n_in)) * s).astype(np.float32)
            data = quants.quantize(QTYPE_IDS[t], a.reshape(-1))
        w.add_tensor(name, [n_in, n_out], QTYPE_IDS[t], bytes(data))

    def vec(name, n, mean=1.0, std=0.1):
        w.add_tensor_f32(name, (mean + std * rng.standard_normal(n)).astype(np.float32))

    mat("token_embd.weight", n_embd, n_vocab, std=embd_std)
    vec("output_norm.weight", n_embd)
    if not tied:
        mat("output.weight", n_embd, n_vocab, scale=4.0)
    if rope_freqs:
        # Llama 3.1 style: factor 1 for high frequencies rising to 8 for low ones.
        w.add_tensor_f32("rope_freqs.weight", np.linspace(1.0, 8.0, hd // 2).astype(np.float32))
    for i in range(n_layer):
        p = "blk.%d." % i
        vec(p + "attn_norm.weight", n_embd)
        mat(p + "attn_q.weight", n_embd, n_head * hd)
        mat(p + "attn_k.weight", n_embd, n_head_kv * hd)
        mat(p + "attn_v.weight", n_embd, n_head_kv * hd)
        mat(p + "attn_output.weight", n_head * hd, n_embd)
        if arch == "qwen2":
            vec(p + "attn_q.bias", n_head * hd, 0.0, 0.3)
            vec(p + "attn_k.bias", n_head_kv * hd, 0.0, 0.3)
            vec(p + "attn_v.bias", n_head_kv * hd, 0.0, 0.3)
        if arch == "qwen3":
            vec(p + "attn_q_norm.weight", hd)
            vec(p + "attn_k_norm.weight", hd)
        vec(p + "ffn_norm.weight", n_embd)
        mat(p + "ffn_gate.weight", n_embd, n_ff)
        mat(p + "ffn_up.weight", n_embd, n_ff)
        mat(p + "ffn_down.weight", n_ff, n_embd)
    w.write(path)
    return n_vocab


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--arch", default="llama")
    ap.add_argument("--qtype", default="F32")
    ap.add_argument("--tied", action="store_true")
    ap.add_argument("--rope-freqs", action="store_true")
    ap.add_argument("--n-embd", type=int, default=256)
    ap.add_argument("--n-layer", type=int, default=2)
    ap.add_argument("--n-head", type=int, default=4)
    ap.add_argument("--n-head-kv", type=int, default=2)
    ap.add_argument("--n-ff", type=int, default=512)
    ap.add_argument("--head-dim", type=int)
    ap.add_argument("--ctx", type=int, default=512)
    ap.add_argument("--vocab")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--random-blocks", action="store_true")
    ap.add_argument("--rope-base", type=float, default=10000.0)
    ap.add_argument("--eps", type=float, default=1e-5)
    ap.add_argument("--rope-scaling", choices=["linear"])
    ap.add_argument("--rope-scaling-factor", type=float, default=1.0)
    ap.add_argument("--embd-std", type=float, default=1.0)
    ap.add_argument("--qwen05b", action="store_true")
    a = ap.parse_args()
    kw = dict(arch=a.arch, qtype=a.qtype, tied=a.tied, rope_freqs=a.rope_freqs,
              n_embd=a.n_embd, n_layer=a.n_layer, n_head=a.n_head, n_head_kv=a.n_head_kv,
              n_ff=a.n_ff, head_dim=a.head_dim, n_ctx=a.ctx, seed=a.seed, vocab=a.vocab,
              random_blocks=a.random_blocks, rope_base=a.rope_base, eps=a.eps,
              rope_scaling=a.rope_scaling, rope_scaling_factor=a.rope_scaling_factor,
              embd_std=a.embd_std)
    if a.qwen05b:
        kw.update(arch="qwen2", n_embd=896, n_layer=24, n_head=14, n_head_kv=2, n_ff=4864,
                  tied=True, rope_base=1000000.0, eps=1e-6, n_ctx=32768)
    write(a.out, **kw)


if __name__ == "__main__":
    main()
