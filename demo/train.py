#!/usr/bin/env python3
"""Train lcode's demo model on its corpus and write it as GGUF.

usage: train.py --corpus DIR --lcode PATH --out DIR [--minutes M] [--seed S]
                [--threads N] [--vocab-sessions N] [--resume CHECKPOINT]
                [--prompt-loss-weight W] [--copy-weight W] [--split-leads] [--lr LR]
                [--batch-tokens N]
                [--n-embd N] [--n-layer N] [--n-head N] [--n-head-kv N] [--n-ff N]

1. A byte-level BPE vocabulary (vocab.py; with --split-leads no token joins
   a word to the character before it) is learnt from the first
   --vocab-sessions sessions and written as a tokenizer-only GGUF.
2. Every session is tokenized by lcode itself (`lcode tokenize --special`),
   so training sees exactly the ids lcode produces at run time.
3. A qwen2-architecture transformer (RMSNorm, NeoX RoPE, grouped-query
   attention with Q/K/V biases, SwiGLU, tied embeddings) is trained with the
   loss on the model's own turns (what follows "<|im_start|>assistant\\n", up
   to and including <|im_end|>) and, weighted by --prompt-loss-weight (default
   0), on the requests and tool outputs after the shared system turn, for a
   fixed wall-clock budget, with AdamW and a cosine learning rate over that
   budget. The tokens the model must copy without an induction cue
   (positions.copy_positions) weigh 1 + --copy-weight (default 0).
4. The weights are written to OUT/lcode-demo.gguf (Q8_0 matrices, F32 norms and
   biases) with the tokenizer and the training facts in the metadata; the loss
   curve goes to OUT/train-log.tsv.

Needs Debian's python3-torch, python3-numpy and python3-regex.
"""
import argparse
import json
import math
import os
import random
import subprocess
import sys
import time


def blas_environment():
    """Set up OpenBLAS and OpenMP for training, unless the user did.

    Torch's OpenMP threads spin while OpenBLAS's own threads run a product, and
    the two fight for the cores: OMP_WAIT_POLICY=PASSIVE made a training step
    1.8x faster here (0.80 s instead of 1.43 s for 9 sessions of 220 tokens).

    OpenBLAS picks its kernels from the CPU model; on a model it does not know
    (virtual machines that report a generic "Intel Xeon Processor") it falls
    back to generic kernels: a 2000x256 by 256x704 product ran at 28 GFLOP/s
    instead of 199 on one core here. Must run before numpy or torch loads them.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if "OPENBLAS_CORETYPE" in os.environ:
        return
    try:
        flags = set(open("/proc/cpuinfo").read().split("flags", 1)[1].split("\n", 1)[0].split())
    except (OSError, IndexError):
        return
    if {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= flags:
        os.environ["OPENBLAS_CORETYPE"] = "SkylakeX"
    elif {"avx2", "fma"} <= flags:
        os.environ["OPENBLAS_CORETYPE"] = "Haswell"


blas_environment()
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import vocab as vocabmod  # noqa: E402
from positions import content_ids, copy_positions, loss_mask  # noqa: E402
from corpus import CORPUS_VERSION, write_vocab_gguf  # noqa: E402
from gguf_writer import GGUFWriter  # noqa: E402
import quants  # noqa: E402

CONFIG = dict(n_vocab=2048, n_embd=256, n_layer=4, n_head=4, n_head_kv=2, n_ff=704,
              n_ctx=2048, rope_base=10000.0, eps=1e-6)


# --- the model (written from the Qwen2 architecture: Llama with Q/K/V biases) ---

class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_neox(x, pos, base):
    """Rotate the two halves of each head (llama.cpp's NeoX mode). x: (B, H, T, D)."""
    d = x.shape[-1]
    inv = base ** (-torch.arange(0, d // 2, dtype=torch.float32) * 2.0 / d)
    ang = pos[:, None].float() * inv[None, :]          # (T, D/2)
    cos, sin = ang.cos(), ang.sin()
    x1, x2 = x[..., : d // 2], x[..., d // 2:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        hd = c["n_embd"] // c["n_head"]
        self.hd = hd
        self.attn_norm = RMSNorm(c["n_embd"], c["eps"])
        self.q = nn.Linear(c["n_embd"], c["n_head"] * hd, bias=True)
        self.k = nn.Linear(c["n_embd"], c["n_head_kv"] * hd, bias=True)
        self.v = nn.Linear(c["n_embd"], c["n_head_kv"] * hd, bias=True)
        self.o = nn.Linear(c["n_head"] * hd, c["n_embd"], bias=False)
        self.ffn_norm = RMSNorm(c["n_embd"], c["eps"])
        self.gate = nn.Linear(c["n_embd"], c["n_ff"], bias=False)
        self.up = nn.Linear(c["n_embd"], c["n_ff"], bias=False)
        self.down = nn.Linear(c["n_ff"], c["n_embd"], bias=False)

    def qkv(self, x, pos):
        B, T, _ = x.shape
        c = self.c
        h = self.attn_norm(x)
        q = self.q(h).view(B, T, c["n_head"], self.hd).transpose(1, 2)
        k = self.k(h).view(B, T, c["n_head_kv"], self.hd).transpose(1, 2)
        v = self.v(h).view(B, T, c["n_head_kv"], self.hd).transpose(1, 2)
        q, k = rope_neox(q, pos, c["rope_base"]), rope_neox(k, pos, c["rope_base"])
        rep = c["n_head"] // c["n_head_kv"]
        return q, k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)

    def finish(self, x, q, k, v, mask):
        B, T, _ = x.shape
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd) + mask
        y = F.softmax(att, dim=-1) @ v
        x = x + self.o(y.transpose(1, 2).reshape(B, T, -1))
        h = self.ffn_norm(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))

    def forward(self, x, pos, mask):
        q, k, v = self.qkv(x, pos)
        return self.finish(x, q, k, v, mask)

    def forward_shared(self, xp, xr, pos_p, pos_r, mask_p, mask_r):
        """xp: (1, P, n_embd), a prefix every row of xr: (B, T, n_embd) continues."""
        qp, kp, vp = self.qkv(xp, pos_p)
        qr, kr, vr = self.qkv(xr, pos_r)
        B = xr.shape[0]
        k = torch.cat([kp.expand(B, -1, -1, -1), kr], dim=2)
        v = torch.cat([vp.expand(B, -1, -1, -1), vr], dim=2)
        return self.finish(xp, qp, kp, vp, mask_p), self.finish(xr, qr, k, v, mask_r)


class Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embd = nn.Embedding(c["n_vocab"], c["n_embd"])
        self.blocks = nn.ModuleList(Block(c) for _ in range(c["n_layer"]))
        self.norm = RMSNorm(c["n_embd"], c["eps"])
        nn.init.normal_(self.embd.weight, std=0.02)
        for b in self.blocks:
            for lin in (b.q, b.k, b.v, b.o, b.gate, b.up, b.down):
                nn.init.normal_(lin.weight, std=0.02)
            nn.init.normal_(b.o.weight, std=0.02 / math.sqrt(2 * c["n_layer"]))
            nn.init.normal_(b.down.weight, std=0.02 / math.sqrt(2 * c["n_layer"]))
            for lin in (b.q, b.k, b.v):
                nn.init.zeros_(lin.bias)

    def forward(self, ids):
        T = ids.shape[1]
        pos = torch.arange(T)
        mask = torch.full((T, T), float("-inf")).triu(1)
        x = self.embd(ids)
        for b in self.blocks:
            x = b(x, pos, mask)
        return self.norm(x) @ self.embd.weight.T

    def forward_shared(self, prefix, ids, where=None):
        """Logits of ids: (B, T), each row continuing the same prefix: (P,).

        Equal to forward(cat(prefix, row))[P:] for every row, but the prefix (the
        system turn every session starts with) is computed once per batch, not
        once per session. With where (a (B, T) bool mask), only the logits of
        those positions, as (N, n_vocab): the loss needs no others.
        """
        P, T = prefix.shape[0], ids.shape[1]
        pos_p, pos_r = torch.arange(P), torch.arange(P, P + T)
        mask_p = torch.full((P, P), float("-inf")).triu(1)
        mask_r = torch.cat([torch.zeros(T, P), torch.full((T, T), float("-inf")).triu(1)], 1)
        xp, xr = self.embd(prefix[None, :]), self.embd(ids)
        for b in self.blocks:
            xp, xr = b.forward_shared(xp, xr, pos_p, pos_r, mask_p, mask_r)
        if where is not None:
            xr = xr[where]
        return self.norm(xr) @ self.embd.weight.T


# --- data ------------------------------------------------------------------

def tokenize_all(lcode, vocab_gguf, texts, eos):
    """Token ids of each text, by lcode, in batches separated by <|endoftext|>."""
    out = []
    for i in range(0, len(texts), 400):
        chunk = texts[i:i + 400]
        joined = "<|endoftext|>".join(chunk) + "<|endoftext|>"
        p = subprocess.run([lcode, "tokenize", "--model", vocab_gguf, "--special", "-"],
                           input=joined.encode(), capture_output=True, check=True)
        ids = [int(x) for x in p.stdout.split()]
        cur = []
        for t in ids:
            if t == eos:
                out.append(cur)
                cur = []
            else:
                cur.append(t)
        assert len(out) == i + len(chunk), (len(out), i + len(chunk))
    return out


def batches(seqs, masks, max_tokens, rng):
    """Batches of sessions of similar length, at most max_tokens tokens each."""
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    out, cur, cur_len = [], [], 0
    for i in order:
        L = len(seqs[i])
        if cur and (len(cur) + 1) * max(cur_len, L) > max_tokens:
            out.append(cur)
            cur, cur_len = [], 0
        cur.append(i)
        cur_len = max(cur_len, L)
    if cur:
        out.append(cur)
    rng.shuffle(out)
    return out


def to_tensors(idx, seqs, masks, pad, prompt_weight, copies, copy_weight):
    """Ids (B, T) padded with pad, each position's loss weight (B, T): 1 on the
    model's own tokens (1 + copy_weight where copies marks them), prompt_weight
    on the others, 0 on padding; and the masks (B, T) of the model's own tokens
    and of the copies."""
    T = max(len(seqs[i]) for i in idx)
    x = torch.full((len(idx), T), pad, dtype=torch.long)
    w = torch.zeros((len(idx), T))
    own = torch.zeros((len(idx), T), dtype=torch.bool)
    cp = torch.zeros((len(idx), T), dtype=torch.bool)
    for r, i in enumerate(idx):
        x[r, :len(seqs[i])] = torch.tensor(seqs[i])
        m, c = torch.from_numpy(masks[i]), torch.from_numpy(copies[i])
        w[r, :len(seqs[i])] = m * (1 + copy_weight * c) + prompt_weight * (1 - m)
        own[r, :len(seqs[i])] = m > 0
        cp[r, :len(seqs[i])] = c > 0
    return x, w, own, cp


# --- export ------------------------------------------------------------------

def export(model, v, path, facts):
    c = model.c
    w = GGUFWriter(version=3, alignment=32)
    w.add_string("general.architecture", "qwen2")
    w.add_string("general.name", "lcode-demo")
    w.add_string("general.description",
                 "lcode's demonstration model, trained on synthetic lcode sessions; "
                 "not a substitute for a real model")
    w.add_u32("qwen2.block_count", c["n_layer"])
    w.add_u32("qwen2.context_length", c["n_ctx"])
    w.add_u32("qwen2.embedding_length", c["n_embd"])
    w.add_u32("qwen2.feed_forward_length", c["n_ff"])
    w.add_u32("qwen2.attention.head_count", c["n_head"])
    w.add_u32("qwen2.attention.head_count_kv", c["n_head_kv"])
    w.add_f32("qwen2.rope.freq_base", c["rope_base"])
    w.add_f32("qwen2.attention.layer_norm_rms_epsilon", c["eps"])
    w.add_u32("general.file_type", 7)  # mostly Q8_0
    vocabmod.add_to_gguf(w, v, c["n_ctx"])
    for k, val in facts.items():
        w.add_string("lcode.demo." + k, str(val))

    def mat(name, t):
        a = t.detach().float().numpy().astype(np.float32)
        # Q8_0 (32-element blocks, ggml's layout): lcode's fastest kernels, 0.4 % error.
        w.add_tensor(name, list(a.shape[::-1]), quants.type_id("Q8_0"),
                     quants.quantize("Q8_0", a.reshape(-1)))

    def vec(name, t):
        w.add_tensor_f32(name, t.detach().float().numpy().astype(np.float32))

    mat("token_embd.weight", model.embd.weight)
    vec("output_norm.weight", model.norm.weight)
    for i, b in enumerate(model.blocks):
        p = "blk.%d." % i
        vec(p + "attn_norm.weight", b.attn_norm.weight)
        mat(p + "attn_q.weight", b.q.weight)
        vec(p + "attn_q.bias", b.q.bias)
        mat(p + "attn_k.weight", b.k.weight)
        vec(p + "attn_k.bias", b.k.bias)
        mat(p + "attn_v.weight", b.v.weight)
        vec(p + "attn_v.bias", b.v.bias)
        mat(p + "attn_output.weight", b.o.weight)
        vec(p + "ffn_norm.weight", b.ffn_norm.weight)
        mat(p + "ffn_gate.weight", b.gate.weight)
        mat(p + "ffn_up.weight", b.up.weight)
        mat(p + "ffn_down.weight", b.down.weight)
    w.write(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--lcode", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=85.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--vocab-sessions", type=int, default=3000)
    ap.add_argument("--batch-tokens", type=int, default=2048,
                    help="tokens per batch, not counting the shared system turn")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--prompt-loss-weight", type=float, default=0.0,
                    help="loss weight of the tokens the model does not write (requests, "
                    "tool outputs) relative to its own, whose copies of names and lines "
                    "are examples of copying (default 0: its own turns only)")
    ap.add_argument("--copy-weight", type=float, default=0.0,
                    help="extra loss weight of the tokens the model copies without an "
                    "induction cue, such as the first token of a name from the request "
                    "(positions.copy_positions; default 0: weighted as its other tokens)")
    ap.add_argument("--split-leads", action="store_true",
                    help="a vocabulary that never joins a word to the character before it "
                    "(vocab.pieces)")
    ap.add_argument("--save-minutes", type=float, default=10.0,
                    help="write the checkpoint and the GGUF this often while training")
    for key in ("n_embd", "n_layer", "n_head", "n_head_kv", "n_ff"):
        ap.add_argument("--" + key.replace("_", "-"), type=int, default=CONFIG[key],
                        help="the model's %s (default %d)" % (key, CONFIG[key]))
    ap.add_argument("--resume", help="a checkpoint.pt of an earlier run: same vocabulary, "
                    "weights and optimizer state; training goes on for --minutes more")
    a = ap.parse_args()
    for key in ("n_embd", "n_layer", "n_head", "n_head_kv", "n_ff"):
        CONFIG[key] = getattr(a, key)
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)
    t0 = time.time()

    texts = [json.loads(l)["text"] for l in open(os.path.join(a.corpus, "train.jsonl"))]
    try:
        with open(os.path.join(a.corpus, "corpus.json")) as f:
            corpus_options = json.dumps(json.load(f), sort_keys=True)
    except OSError:
        corpus_options = "unrecorded"
    ckpt = torch.load(a.resume) if a.resume else None
    if ckpt:
        v = vocabmod.Vocab(ckpt["tokens"], ckpt["types"], ckpt["merges"])
    else:
        v = vocabmod.train(texts[:a.vocab_sessions], CONFIG["n_vocab"], a.split_leads)
    vocab_gguf = os.path.join(a.out, "vocab.gguf")
    write_vocab_gguf(vocab_gguf, v, CONFIG["n_ctx"])
    print("vocabulary: %d tokens, %d merges (%.0f s)" % (len(v.tokens), len(v.merges),
                                                           time.time() - t0), flush=True)
    seqs = tokenize_all(a.lcode, vocab_gguf, texts, v.eos)
    header = subprocess.run([a.lcode, "tokenize", "--model", vocab_gguf, "--special",
                             "<|im_start|>assistant\n"], capture_output=True, check=True)
    header = [int(x) for x in header.stdout.split()]
    keep = [i for i, s in enumerate(seqs) if len(s) <= CONFIG["n_ctx"]]
    seqs = [seqs[i] for i in keep]
    masks = [loss_mask(s, header, v.im_end) for s in seqs]
    # Every session starts with the same system turn: train on the rest of each
    # session against that prefix, computed once per batch (Model.forward_shared).
    P = len(seqs[0])
    for s_ in seqs:
        while P and s_[:P] != seqs[0][:P]:
            P -= 1
    prefix = torch.tensor(seqs[0][:P])
    assert all(m[:P].sum() == 0 for m in masks), "the shared prefix holds trained tokens"
    seqs = [s_[P:] for s_ in seqs]
    masks = [m[P:] for m in masks]
    content = content_ids(v.tokens, v.types)
    copies = [copy_positions(s_, m, content) for s_, m in zip(seqs, masks)]
    n_copy = int(sum(c.sum() for c in copies))
    n_tok = sum(len(s) for s in seqs)
    n_train = int(sum(m.sum() for m in masks))
    print("sessions: %d (%d dropped as too long), %d tokens after the %d-token shared "
          "prefix, %d trained on, %d of them copies (%.0f s)" % (
              len(seqs), len(texts) - len(seqs), n_tok, P, n_train, n_copy, time.time() - t0),
          flush=True)
    check = Model(dict(CONFIG, n_vocab=len(v.tokens)))
    with torch.no_grad():
        rows = [seqs[0][:40], seqs[1][:40]]
        full = check(torch.tensor([prefix.tolist() + r for r in rows]))[:, P:]
        shared = check.forward_shared(prefix, torch.tensor(rows))
        assert (full - shared).abs().max().item() < 1e-4, (full - shared).abs().max()

    CONFIG["n_vocab"] = len(v.tokens)
    model = Model(CONFIG)
    if ckpt:
        model.load_state_dict(ckpt["model"])
    n_params = sum(p.numel() for p in model.parameters())
    print("model: %d parameters" % n_params, flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95))
    step0, seen0 = 0, 0
    if ckpt:
        opt.load_state_dict(ckpt["opt"])
        step0, seen0 = ckpt["step"], ckpt["seen"]
    budget = a.minutes * 60.0
    start = time.time()
    log = open(os.path.join(a.out, "train-log.tsv"), "w")
    log.write("step\tseconds\ttokens\tloss\tcopy_loss\tlr\n")
    step, seen, epoch, ema, ema_copy = step0, seen0, 0, None, None

    def save(el):
        """Write checkpoint.pt (resumable), lcode-demo.gguf and train-facts.json."""
        total = el + (ckpt.get("seconds", 0) if ckpt else 0)
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                    "seen": seen, "seconds": total, "tokens": v.tokens, "types": v.types,
                    "merges": v.merges}, os.path.join(a.out, "checkpoint.pt"))
        facts = {"corpus_version": CORPUS_VERSION, "seed": a.seed, "steps": step,
                 "train_seconds": int(total), "tokens_seen": seen,
                 "final_loss": "%.4f" % ema, "parameters": n_params,
                 "command": " ".join(sys.argv), "corpus": corpus_options}
        export(model, v, os.path.join(a.out, "lcode-demo.gguf"), facts)
        with open(os.path.join(a.out, "train-facts.json"), "w") as f:
            json.dump(facts, f, indent=1)
        return total

    next_save = a.save_minutes * 60.0
    done = False
    while not done:
        epoch += 1
        for idx in batches(seqs, masks, a.batch_tokens, rng):
            frac = (time.time() - start) / budget
            if frac >= 1.0:
                done = True
                break
            warm = 1.0 if ckpt else min(1.0, (step + 1) / 50)
            lr = a.lr * warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
            for g in opt.param_groups:
                g["lr"] = lr
            x, w, own, cp = to_tensors(idx, seqs, masks, v.eos, a.prompt_loss_weight,
                                       copies, a.copy_weight)
            # Logits only where a loss is taken; the one reported is the
            # model's own turns' (weight 1), comparable across weightings.
            where = w[:, 1:] > 0
            logits = model.forward_shared(prefix, x[:, :-1], where)
            ce = F.cross_entropy(logits, x[:, 1:][where], reduction="none")
            wt = w[:, 1:][where]
            own_where = own[:, 1:][where]
            opt.zero_grad()
            (ce * wt).sum().div(wt.sum()).backward()
            loss = ce[own_where].mean().detach()
            cp_where = cp[:, 1:][where]
            if cp_where.any():
                lc = ce[cp_where].mean().item()
                ema_copy = lc if ema_copy is None else 0.95 * ema_copy + 0.05 * lc
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            seen += int(x.numel())
            ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
            if step % 25 == 0:
                el = time.time() - start
                log.write("%d\t%.0f\t%d\t%.4f\t%.4f\t%.5f\n" % (step, el, seen, ema,
                                                              ema_copy or 0, lr))
                log.flush()
                print("step %d epoch %d  %.0f s  %.0f tok/s  loss %.4f  copies %.4f  lr %.5f" % (
                    step, epoch, el, (seen - seen0) / el, ema, ema_copy or 0, lr), flush=True)
                if el >= next_save:
                    # A run stopped early still leaves its latest weights.
                    save(el)
                    next_save += a.save_minutes * 60.0
    el = save(time.time() - start)
    print("trained %d steps in %.0f s, loss %.4f; wrote %s" % (
        step, el, ema, os.path.join(a.out, "lcode-demo.gguf")), flush=True)


if __name__ == "__main__":
    main()
