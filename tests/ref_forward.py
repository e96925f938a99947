#!/usr/bin/env python3
"""A NumPy reference forward pass (float64) for the GGUF models lcode runs.

Written from the architecture papers, not from lcode's C code:
  - Llama (Touvron et al. 2023, "LLaMA: Open and Efficient Foundation Language
    Models"; "Llama 2"): pre-norm RMSNorm (Zhang & Sennrich 2019), rotary
    position embedding (Su et al. 2021, "RoFormer", eq. 34: pairs (x_{2i},
    x_{2i+1}) rotated by pos * base^(-2i/d)), causal softmax attention
    (Vaswani et al. 2017) with grouped KV heads (Ainslie et al. 2023, "GQA"),
    SwiGLU feed-forward W2 (silu(W1 x) * W3 x) (Shazeer 2020).
  - Qwen2 (Qwen2 technical report): as Llama with biases on Q, K and V, RoPE
    on the two halves of each head (the GPT-NeoX layout: (x_i, x_{i+d/2})).
  - Qwen3 (Qwen3 technical report): as Qwen2 without biases, with RMSNorm over
    each head of Q and of K (weights attn_q_norm / attn_k_norm) before RoPE.
  - Llama 3.1 RoPE frequency factors: rope_freqs.weight divides each frequency.
  - Linear RoPE scaling, position interpolation (Chen et al. 2023,
    "Extending Context Window of Large Language Models via Positional
    Interpolation", eq. 3: f'(x, m) = f(x, m L / L')): position m becomes
    m / factor, from <arch>.rope.scaling.type = "linear" and
    <arch>.rope.scaling.factor (or the older <arch>.rope.scale_linear).

Hyperparameters come from the metadata, with the defaults of the GGUF
architecture definitions where a key is absent: RMSNorm epsilon
(<arch>.attention.layer_norm_rms_epsilon, 1e-5), RoPE base
(<arch>.rope.freq_base, 10000), RoPE scaling (none), output embedding tied
to token_embd when output.weight is absent.

GGUF conventions (llama.cpp's convert_hf_to_gguf.py): a weight of ne = [n_in,
n_out] is a matrix of n_out rows of n_in; llama's Q/K rows are permuted by the
converter so that the adjacent-pair RoPE applies to them.

The file is read by gguf_writer.read_gguf and every tensor dequantized by
quants.py, so this module shares no code with lcode's C runtime.

Use:
    import ref_forward
    m = ref_forward.load("model.gguf")
    logits = ref_forward.forward(m, [1, 2, 3])      # (3, n_vocab) float64
    toks, margins = ref_forward.greedy(m, [1, 2, 3], 64)

forward(m, tokens, ggml=True) also rounds where llama.cpp's CPU backend
rounds by design (activations converted to each weight's vec-dot type through
quants.py, binary16 keys and values); see forward().

Command line:
    ref_forward.py MODEL TOKENS [--greedy N] [--out FILE.npy] [--ggml]
TOKENS is a comma-separated list of ids. Prints the greedy tokens (and the
top-1 minus top-2 logit margin of each step) or writes the logits.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_writer  # noqa: E402
import quants  # noqa: E402


class Model:
    pass


def load(path):
    f = gguf_writer.read_gguf(path)
    md = f.metadata
    arch = md["general.architecture"]
    if arch not in ("llama", "qwen2", "qwen3"):
        raise ValueError("unsupported architecture " + arch)
    m = Model()
    m.arch = arch
    m.n_layer = int(md[arch + ".block_count"])
    m.n_embd = int(md[arch + ".embedding_length"])
    m.n_head = int(md[arch + ".attention.head_count"])
    m.n_head_kv = int(md.get(arch + ".attention.head_count_kv", m.n_head))
    m.head_dim = int(md.get(arch + ".attention.key_length", m.n_embd // m.n_head))
    m.n_rot = int(md.get(arch + ".rope.dimension_count", m.head_dim))
    m.eps = float(md.get(arch + ".attention.layer_norm_rms_epsilon", 1e-5))
    m.base = float(md.get(arch + ".rope.freq_base", 10000.0))
    m.neox = arch != "llama"
    # Linear RoPE scaling divides every position by the factor.
    m.pos_factor = 1.0
    st = md.get(arch + ".rope.scaling.type")
    if st is not None:
        if st == "linear":
            m.pos_factor = float(md.get(arch + ".rope.scaling.factor", 1.0))
        elif st != "none":
            raise ValueError("unsupported RoPE scaling " + st)
    elif arch + ".rope.scale_linear" in md:
        m.pos_factor = float(md[arch + ".rope.scale_linear"])

    m.types = {}

    def t(name):
        info = f.tensors[name]
        m.types[name] = quants.type_name(info.qtype)
        ne = [int(x) for x in info.ne]
        n = int(np.prod(ne))
        a = np.asarray(quants.dequantize(info.qtype, info.data, n), dtype=np.float64)
        return a.reshape(ne[1], ne[0]) if len(ne) >= 2 and ne[1] > 1 else a

    def opt(name):
        return t(name) if name in f.tensors else None

    m.tok_embd = t("token_embd.weight")
    m.output = opt("output.weight")
    if m.output is None:
        m.output = m.tok_embd
        m.types["output.weight"] = m.types["token_embd.weight"]
    m.output_norm = t("output_norm.weight")
    m.rope_freqs = opt("rope_freqs.weight")
    m.layers = []
    for i in range(m.n_layer):
        p = "blk.%d." % i
        L = {k: opt(p + k + ".weight") for k in (
            "attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "attn_q_norm",
            "attn_k_norm", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down")}
        for k in ("attn_q", "attn_k", "attn_v"):
            L[k + ".bias"] = opt(p + k + ".bias")
        L["types"] = {k: m.types.get(p + k + ".weight") for k in list(L)}
        m.layers.append(L)
    m.n_vocab = m.tok_embd.shape[0]
    return m


def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rope(m, x, pos):
    """x: (T, H, hd); rotate the first n_rot elements of every head."""
    half = m.n_rot // 2
    inv = m.base ** (-2.0 * np.arange(half) / m.n_rot)
    if m.rope_freqs is not None:
        inv = inv / m.rope_freqs
    ang = (pos / m.pos_factor)[:, None] * inv[None, :]    # (T, half)
    c, s = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    y = x.copy()
    if m.neox:
        a, b = x[..., :half], x[..., half:2 * half]
        y[..., :half] = a * c - b * s
        y[..., half:2 * half] = a * s + b * c
    else:
        a, b = x[..., 0:2 * half:2], x[..., 1:2 * half:2]
        y[..., 0:2 * half:2] = a * c - b * s
        y[..., 1:2 * half:2] = a * s + b * c
    return y


def _to_dot_type(x, wtype):
    """x rounded as ggml-cpu converts activations for a weight of type wtype."""
    vt = quants.vec_dot_type(wtype)
    if vt == "F32":
        return x
    flat = np.ascontiguousarray(x, dtype=np.float32).reshape(-1)
    return np.asarray(quants.dequantize(vt, quants.quantize(vt, flat), flat.size),
                      dtype=np.float64).reshape(x.shape)


def _f16(x):
    return x.astype(np.float16).astype(np.float64)


def forward(m, tokens, ggml=False):
    """Logits (T, n_vocab) for the whole sequence, positions 0..T-1.

    ggml=False: float64 throughout, the model as the papers define it.
    ggml=True: also round where llama.cpp's CPU backend rounds by design -
    each activation row converted to its weight's vec-dot type (Q8_0, Q8_1,
    Q8_K, F16, BF16: quants.quantize then quants.dequantize) before a matrix
    product, and keys and values stored as binary16 (the F16 KV cache). The
    rest stays float64, so what remains between this and an f32
    implementation is summation order.
    """
    def mm(x, L, name):
        w = L[name] if L is not None else m.output
        if ggml:
            x = _to_dot_type(x, L["types"][name] if L is not None else m.types["output.weight"])
        return x @ w.T

    tokens = np.asarray(tokens, dtype=np.int64)
    T = len(tokens)
    pos = np.arange(T, dtype=np.float64)
    x = m.tok_embd[tokens].copy()
    hd, H, Hkv = m.head_dim, m.n_head, m.n_head_kv
    mask = np.triu(np.full((T, T), -np.inf), k=1)
    for L in m.layers:
        h = rms_norm(x, L["attn_norm"], m.eps)
        q = mm(h, L, "attn_q")
        k = mm(h, L, "attn_k")
        v = mm(h, L, "attn_v")
        if L["attn_q.bias"] is not None:
            q = q + L["attn_q.bias"]
            k = k + L["attn_k.bias"]
            v = v + L["attn_v.bias"]
        q = q.reshape(T, H, hd)
        k = k.reshape(T, Hkv, hd)
        v = v.reshape(T, Hkv, -1)
        if L["attn_q_norm"] is not None:
            q = rms_norm(q, L["attn_q_norm"], m.eps)
            k = rms_norm(k, L["attn_k_norm"], m.eps)
        q = rope(m, q, pos)
        k = rope(m, k, pos)
        if ggml:
            k, v = _f16(k), _f16(v)
        out = np.empty((T, H, v.shape[2]))
        g = H // Hkv
        for hh in range(H):
            s = q[:, hh, :] @ k[:, hh // g, :].T / np.sqrt(hd) + mask
            s = np.exp(s - s.max(axis=1, keepdims=True))
            s /= s.sum(axis=1, keepdims=True)
            out[:, hh, :] = s @ v[:, hh // g, :]
        x = x + mm(out.reshape(T, -1), L, "attn_output")
        h = rms_norm(x, L["ffn_norm"], m.eps)
        a = mm(h, L, "ffn_gate")
        f = a / (1.0 + np.exp(-a)) * mm(h, L, "ffn_up")
        x = x + mm(f, L, "ffn_down")
    return mm(rms_norm(x, m.output_norm, m.eps), None, "output")


def greedy(m, prompt, n, ggml=False):
    """n tokens by argmax (lowest id on ties), and each step's top-1 - top-2 margin."""
    toks = list(prompt)
    out, margins = [], []
    for _ in range(n):
        lg = forward(m, toks, ggml)[-1]
        best = int(np.argmax(lg))
        srt = np.sort(lg)
        out.append(best)
        margins.append(float(srt[-1] - srt[-2]))
        toks.append(best)
    return out, margins


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("tokens")
    ap.add_argument("--greedy", type=int, default=0)
    ap.add_argument("--out")
    ap.add_argument("--ggml", action="store_true", help="round as llama.cpp's CPU backend")
    a = ap.parse_args()
    m = load(a.model)
    toks = [int(t) for t in a.tokens.split(",")]
    if a.greedy:
        out, margins = greedy(m, toks, a.greedy, a.ggml)
        print(" ".join(map(str, out)))
        print(" ".join("%.4f" % x for x in margins))
    else:
        lg = forward(m, toks, a.ggml)
        if a.out:
            np.save(a.out, lg)
        else:
            print(lg)


if __name__ == "__main__":
    main()
