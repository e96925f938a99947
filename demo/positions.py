"""Where training takes the demo model's loss, and how much each position weighs.

loss_mask and copy_positions work on one session's token ids, as lists of
ints, and return a float32 array of the same length. Torch-free, so tests can
check them without it.
"""
import numpy as np


def loss_mask(ids, header, im_end):
    """1 for the model's own tokens: after each assistant header, through <|im_end|>."""
    m = np.zeros(len(ids), np.float32)
    n, i = len(header), 0
    while i < len(ids):
        if ids[i:i + n] == header:
            j = i + n
            while j < len(ids) and ids[j] != im_end:
                m[j] = 1
                j += 1
            if j < len(ids):
                m[j] = 1
            i = j
        i += 1
    return m


def content_ids(tokens, types):
    """The ids of the normal tokens (type 1) that hold an ASCII letter or digit.
    tokens: the vocabulary's token strings (byte-level, so ASCII stays itself)."""
    return {i for i, (tok, ty) in enumerate(zip(tokens, types))
            if ty == 1 and any(ch.isascii() and ch.isalnum() for ch in tok)}


def copy_positions(ids, own, content):
    """1 where the model writes a token it cannot predict from the token before it
    by induction (that pair of tokens has not occurred earlier in the session)
    although the token itself has: the first token of a name copied from the
    request or a tool's output. content: content_ids of the vocabulary. These
    positions decide the tasks and are few (a name is one such token and then
    pairs that do repeat), so --copy-weight weights them more."""
    m = np.zeros(len(ids), np.float32)
    seen, pairs = set(), set()
    for j, t in enumerate(ids):
        if j and own[j] and t in content and t in seen and (ids[j - 1], t) not in pairs:
            m[j] = 1
        if j:
            pairs.add((ids[j - 1], t))
        seen.add(t)
    return m
