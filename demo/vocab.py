"""A byte-level BPE vocabulary for the demo model, trained on its corpus.

The vocabulary is GPT-2 style (bytes mapped to printable code points, merges
by rank) with the "qwen2" pre-tokenizer, which lcode implements; the corpus
is split the same way before merges are counted. Special tokens: ChatML's
<|im_start|> and <|im_end|>, and <|endoftext|>.

    import vocab
    v = vocab.train(texts, n_vocab=2048)      # -> Vocab(tokens, types, merges, ...)
    vocab.add_to_gguf(writer, v)               # tokenizer.* and chat template keys

Needs Debian's python3-regex (for \\p{L}); used for training only.
"""
import collections
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from make_model import bytes_to_unicode  # noqa: E402  (GPT-2's byte map)

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

# llama.cpp's LLAMA_VOCAB_PRE_TYPE_QWEN2 pattern (src/llama-vocab.cpp).
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


class Vocab:
    def __init__(self, tokens, types, merges):
        self.tokens, self.types, self.merges = tokens, types, merges
        self.eos = tokens.index("<|endoftext|>")
        self.im_start = tokens.index("<|im_start|>")
        self.im_end = tokens.index("<|im_end|>")


def pieces(texts, split_leads=False):
    """Word frequencies after the special-token split and the qwen2 pre-tokenizer.

    The pre-tokenizer lets one non-letter lead a run of letters (" find",
    "(find", "`find", '"Find'). With split_leads, such a word is counted as
    its lead and its letters apart, so no merge joins them: a word is then the
    same tokens wherever it stands, and a model can copy a name from the
    request, a search result or a file by repeating token ids, without
    learning that " find" and "`find" spell the same word (the demo model,
    with joined tokens, copies a name's later tokens far better than its
    first). "_" stays joined: it leads the second and later words of an
    identifier ("_vector"), wherever that identifier stands. It costs about
    38 % more tokens on the demo corpus.
    """
    import regex
    pat = regex.compile(QWEN2_PATTERN)
    lead = regex.compile(r"[^\r\n\p{L}\p{N}_]\p{L}+")
    special = regex.compile("|".join(regex.escape(s) for s in SPECIALS))
    b2u = bytes_to_unicode()
    counts = collections.Counter()
    for text in texts:
        for part in special.split(text):
            for m in pat.finditer(part):
                w = m.group(0)
                for x in ((w[0], w[1:]) if split_leads and lead.fullmatch(w) else (w,)):
                    counts["".join(b2u[b] for b in x.encode("utf-8"))] += 1
    return counts


def train(texts, n_vocab=2048, split_leads=False):
    """Learn n_vocab - 256 - len(SPECIALS) merges, most frequent pair first
    (split_leads: see pieces)."""
    b2u = bytes_to_unicode()
    base = [b2u[b] for b in range(256)]
    words = [(list(w), c) for w, c in pieces(texts, split_leads).items()]
    pair_count = collections.Counter()
    where = collections.defaultdict(set)
    for i, (syms, c) in enumerate(words):
        for a, b in zip(syms, syms[1:]):
            pair_count[(a, b)] += c
            where[(a, b)].add(i)
    merges, tokens = [], base[:]
    n_merges = n_vocab - 256 - len(SPECIALS)
    while len(merges) < n_merges and pair_count:
        (a, b), c = max(pair_count.items(), key=lambda kv: (kv[1], kv[0]))
        if c < 2:
            break
        merges.append(a + " " + b)
        tokens.append(a + b)
        for i in list(where[(a, b)]):
            syms, cnt = words[i]
            for x, y in zip(syms, syms[1:]):
                pair_count[(x, y)] -= cnt
                if pair_count[(x, y)] <= 0:
                    del pair_count[(x, y)]
                where[(x, y)].discard(i)
            out, j = [], 0
            while j < len(syms):
                if j + 1 < len(syms) and syms[j] == a and syms[j + 1] == b:
                    out.append(a + b)
                    j += 2
                else:
                    out.append(syms[j])
                    j += 1
            words[i] = (out, cnt)
            for x, y in zip(out, out[1:]):
                pair_count[(x, y)] += cnt
                where[(x, y)].add(i)
    tokens += SPECIALS
    types = [1] * (len(tokens) - len(SPECIALS)) + [3] * len(SPECIALS)
    return Vocab(tokens, types, merges)


def add_to_gguf(w, v, n_ctx):
    from gguf_writer import T
    w.add_string("tokenizer.ggml.model", "gpt2")
    w.add_string("tokenizer.ggml.pre", "qwen2")
    w.add_array("tokenizer.ggml.tokens", T.STRING, v.tokens)
    w.add_array("tokenizer.ggml.token_type", T.INT32, v.types)
    w.add_array("tokenizer.ggml.merges", T.STRING, v.merges)
    w.add_u32("tokenizer.ggml.bos_token_id", v.eos)
    w.add_u32("tokenizer.ggml.eos_token_id", v.im_end)
    w.add_u32("tokenizer.ggml.padding_token_id", v.eos)
    w.add_bool("tokenizer.ggml.add_bos_token", False)
    w.add_string("tokenizer.chat_template", CHAT_TEMPLATE)
    # How lcode must prompt this model: its ReAct format and the compact profile.
    w.add_string("lcode.call_format", "react")
    w.add_string("lcode.prompt_profile", "compact")
